"""The HTTP clients the host hands to plugins: shared pool, timeouts, metrics, limits."""

from __future__ import annotations

import asyncio
import logging
import weakref
from typing import Any

import httpx

from hub import metrics
from hub.db import utcnow
from hub.ratelimit import AccountLimiter, Unlimited
from hub.types import RateLimits

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)


class _SharedTransport(httpx.AsyncBaseTransport):
    """Counts calls, applies per-account limits, and never closes the shared pool."""

    def __init__(
        self,
        inner: httpx.AsyncBaseTransport,
        integration: str,
        limiter: AccountLimiter | None,
        account_key: str | None,
        limits: RateLimits | None,
        unlimited: list[Unlimited] | None = None,
    ) -> None:
        self.inner = inner
        self.integration = integration
        self.limiter = limiter
        self.account_key = account_key
        self.limits = limits
        self.unlimited = unlimited

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.limiter and self.account_key and self.limits:
            async with self.limiter.slot(self.account_key, request.url.path, self.limits):
                return await self._send(request)
        if self.unlimited is not None:
            self.unlimited.append(Unlimited(utcnow(), request.url.path))
        return await self._send(request)

    async def _send(self, request: httpx.Request) -> httpx.Response:
        try:
            response = await self.inner.handle_async_request(request)
        except httpx.TimeoutException:
            metrics.PROVIDER_CALLS.labels(self.integration, "timeout").inc()
            raise
        except httpx.TransportError:
            metrics.PROVIDER_CALLS.labels(self.integration, "connection_error").inc()
            raise
        metrics.PROVIDER_CALLS.labels(self.integration, str(response.status_code)).inc()
        return response

    async def aclose(self) -> None:  # the pool outlives each plugin client
        return None


class ProviderHttp:
    """Makes ``httpx.AsyncClient``s for plugins over one connection pool per event loop."""

    def __init__(self, limiter: AccountLimiter | None = None) -> None:
        self.limiter = limiter
        self._pools: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, httpx.AsyncHTTPTransport
        ] = weakref.WeakKeyDictionary()

    def _pool(self) -> httpx.AsyncHTTPTransport:
        loop = asyncio.get_running_loop()
        pool = self._pools.get(loop)
        if pool is None:
            pool = httpx.AsyncHTTPTransport(
                limits=httpx.Limits(max_connections=200, max_keepalive_connections=50)
            )
            self._pools[loop] = pool
        return pool

    def client(
        self,
        integration: str,
        *,
        account_key: str | None = None,
        limits: RateLimits | None = None,
        unlimited: list[Unlimited] | None = None,
        **kwargs: Any,
    ) -> httpx.AsyncClient:
        """A client for one integration; with ``account_key`` and ``limits``, limited.

        Without them, requests are sent at once and, when ``unlimited`` is given,
        noted there, so they can be counted once the account is known
        (:meth:`~hub.ratelimit.AccountLimiter.count_past`).
        """
        transport = _SharedTransport(
            self._pool(), integration, self.limiter, account_key, limits, unlimited
        )
        return httpx.AsyncClient(
            transport=transport, timeout=DEFAULT_TIMEOUT, follow_redirects=False, **kwargs
        )

    async def aclose(self) -> None:
        """Close the pool of the running loop."""
        loop = asyncio.get_running_loop()
        pool = self._pools.pop(loop, None)
        if pool is not None:
            await pool.aclose()
