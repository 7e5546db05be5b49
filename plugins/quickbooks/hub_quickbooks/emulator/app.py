"""The emulator as an ASGI app: routes, lifespan, and the per-request wrapper."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route
from starlette.types import Message, Receive, Scope, Send

from . import api, controls, oauth, pages
from .fault_injection import FaultRule
from .regions import region_of
from .runtime import Emulator
from .settings import EmulatorSettings, WebhookFormat
from .wire import (
    QBO_JSON,
    SERVICE_UNAVAILABLE_HTML,
    new_intuit_tid,
    system_fault,
    throttle_body,
)

logger = logging.getLogger(__name__)


class EmulatorApp(Starlette):
    """Starlette plus what every request gets: ``intuit_tid``, stats, injected faults."""

    emulator: Emulator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one connection event."""
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        emulator = self.emulator
        path: str = scope["path"]
        counted = not path.startswith("/_emulator")
        tid = new_intuit_tid().encode()
        status = 0

        async def send_traced(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [*message.get("headers", []), (b"intuit_tid", tid)]
                message = {**message, "headers": headers}
            await send(message)

        rule = emulator.faults.pick(path) if counted else None
        try:
            if rule is not None:
                emulator.stats.injected[rule.kind] += 1
                await _inject(rule, emulator, receive, send, send_traced)
            else:
                await super().__call__(scope, receive, send_traced)
        finally:
            if counted:
                emulator.stats.record(scope["method"], path, status)


async def _inject(
    rule: FaultRule, emulator: Emulator, receive: Receive, raw_send: Send, send: Send
) -> None:
    now = emulator.clock.now()
    if rule.kind == "500":
        await _respond(send, 500, system_fault(now), QBO_JSON)
    elif rule.kind == "503":
        await _respond(send, 503, SERVICE_UNAVAILABLE_HTML, "text/html")
    elif rule.kind == "429":
        body, content_type = throttle_body(now, emulator.limits.json_body)
        await _respond(send, 429, body, content_type, retry_after=rule.retry_after)
    elif rule.kind == "timeout":
        hang = rule.hang_seconds or emulator.settings.hang_seconds
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(_until_disconnect(receive), hang)
        await _drop(receive, raw_send)
    else:
        await _drop(receive, raw_send)


async def _respond(
    send: Send, status: int, body: bytes, content_type: str, *, retry_after: float | None = None
) -> None:
    headers = [
        (b"content-type", content_type.encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    if retry_after is not None:
        headers.append((b"retry-after", f"{retry_after:g}".encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _until_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def _drop(receive: Receive, raw_send: Send) -> None:
    """Close the connection without a response, as a crashed gateway would."""
    # ASGI has no "close" message. uvicorn's send is a bound method of the request
    # cycle, which holds the socket's transport; aborting it resets the connection.
    transport = getattr(getattr(raw_send, "__self__", None), "transport", None)
    if transport is None or not hasattr(transport, "abort"):
        raise ConnectionAbortedError("injected connection drop")
    transport.abort()
    # Let the server notice the lost connection so it does not try to answer.
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(_until_disconnect(receive), 1.0)


async def _home(request: Request) -> Response:
    return RedirectResponse("/_emulator/", status_code=302)


def build_app(settings: EmulatorSettings) -> EmulatorApp:
    """The ASGI app for ``settings``."""
    emulator = Emulator(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await emulator.start()
        try:
            yield
        finally:
            await emulator.stop()

    routes = [
        Route("/", _home, methods=["GET"]),
        Route("/_emulator", _home, methods=["GET"]),
        *oauth.routes,
        *api.routes,
        *pages.routes,
        *controls.routes,
    ]
    app = EmulatorApp(routes=routes, lifespan=lifespan)
    # QuickBooks does not redirect "/v3/company/1" to "/v3/company/1/"; neither do we.
    app.router.redirect_slashes = False
    app.emulator = emulator
    app.state.emulator = emulator
    return app


def create_app(
    *,
    auto_consent: bool = False,
    webhook_url: str | None = None,
    verifier_token: str | None = None,
    webhook_format: WebhookFormat = "legacy",
    state_path: str | None = None,
    limits: bool = True,
    aggregation_seconds: float | None = None,
    public_url: str | None = None,
    seed: bool = True,
    client_id: str | None = None,
    client_secret: str | None = None,
    redirect_uris: Sequence[str] | None = None,
    access_token_ttl: int = 3600,
    retry_scale: float = 1.0,
    hang_seconds: float = 130.0,
    region: str = "AU",
    latency_ms: float = 0.0,
    **extra: Any,
) -> Starlette:
    """Build a QuickBooks Online emulator (OAuth server, Accounting API, webhooks).

    ``region`` is the seeded company's (AU, US, UK or CA); ``latency_ms`` delays every
    Accounting API request. ``extra`` may set any other ``EmulatorSettings`` field (for
    example ``company_name``, ``tax_override`` or ``webhook_max_retries``).
    """
    if webhook_format not in ("legacy", "cloudevents"):
        raise ValueError('webhook_format must be "legacy" or "cloudevents"')
    if client_id and not client_secret:
        raise ValueError("client_secret is required with client_id")
    profile = region_of(region)
    if isinstance(latency_ms, bool) or not isinstance(latency_ms, int | float) or latency_ms < 0:
        raise ValueError("latency_ms must be a non-negative number")
    if extra.get("tax_override", "ignore") not in ("ignore", "honour"):
        raise ValueError('tax_override must be "ignore" or "honour"')
    settings = EmulatorSettings(
        auto_consent=auto_consent,
        webhook_url=webhook_url,
        verifier_token=verifier_token,
        webhook_format=webhook_format,
        state_path=state_path,
        limits=limits,
        aggregation_seconds=aggregation_seconds or 0.0,
        public_url=public_url,
        seed=seed,
        client_id=client_id,
        client_secret=client_secret,
        redirect_uris=tuple(redirect_uris or ()),
        access_token_ttl=access_token_ttl,
        retry_scale=retry_scale,
        hang_seconds=hang_seconds,
        region=profile.code,
        latency_ms=float(latency_ms),
        **extra,
    )
    return build_app(settings)
