"""Example Ledger's HTTP API: authenticated requests and the mapping of its errors."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
from hub import ConnectionContext, PluginConfig
from hub.errors import AuthRevoked, Conflict, RateLimited, Rejected, Transient

# TODO: your provider's API address. EXAMPLE_LEDGER_BASE_URL overrides it (sandbox, emulator).
DEFAULT_BASE_URL = "https://api.example-ledger.example"


def base_url(config: PluginConfig) -> str:
    """The provider's base URL for this hub's configuration."""
    return (config.get("BASE_URL") or DEFAULT_BASE_URL).rstrip("/")


def parse_time(value: str) -> dt.datetime:
    """An ISO 8601 time from the provider as an aware UTC datetime."""
    parsed = dt.datetime.fromisoformat(value)
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)


async def send(
    http: httpx.AsyncClient, method: str, url: str, token: str, **kwargs: Any
) -> httpx.Response:
    """One request with a bearer token; a network failure becomes ``Transient``."""
    headers = {"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
    try:
        return await http.request(method, url, headers=headers, **kwargs)
    except httpx.TransportError as err:  # timeouts, refused and dropped connections
        raise Transient(f"Example Ledger could not be reached ({type(err).__name__})") from err


def check(response: httpx.Response, *, allow: tuple[int, ...] = ()) -> httpx.Response:
    """Return a successful (or allowed) response; raise the matching hub error otherwise."""
    status = response.status_code
    if response.is_success or status in allow:
        return response
    # TODO: your provider's error format and request-id header (quoted to its support).
    reference = response.headers.get("x-request-id")
    try:
        error = response.json()["error"]
        code, message = str(error["code"]), str(error["message"])
    except (ValueError, KeyError, TypeError):
        code, message = f"http_{status}", f"Example Ledger answered HTTP {status}"
    if status in (401, 403):
        raise AuthRevoked(message, support_reference=reference)
    if status == 429:
        try:
            retry_after = float(response.headers.get("retry-after", "60"))
        except ValueError:  # an HTTP date; a minute is a safe wait
            retry_after = 60.0
        raise RateLimited(message, retry_after=retry_after, support_reference=reference)
    if status == 409:
        raise Conflict(message, support_reference=reference)
    if status >= 500:
        raise Transient(message, support_reference=reference)
    raise Rejected(message, code=code, support_reference=reference)


class LedgerApi:
    """Calls to one connected ledger, as its connection's context allows."""

    def __init__(self, ctx: ConnectionContext) -> None:
        self.ctx = ctx
        self.root = f"{base_url(ctx.config)}/v1/ledgers/{ctx.external_account_id}"

    async def call(
        self, method: str, path: str, *, allow: tuple[int, ...] = (), **kwargs: Any
    ) -> httpx.Response:
        """Request ``path`` under the ledger; on a 401 ask the host for a fresh token once."""
        url = self.root + path
        response = await send(self.ctx.http, method, url, await self.ctx.access_token(), **kwargs)
        if response.status_code == 401:  # the host refreshes tokens, never the plugin
            token = await self.ctx.access_token(force_refresh=True)
            response = await send(self.ctx.http, method, url, token, **kwargs)
        return check(response, allow=allow)
