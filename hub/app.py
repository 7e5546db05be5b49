"""``create_app()``: the hub's ASGI application, with an explicit list of routes."""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import pathlib
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub import metrics
from hub.plugins import PluginHost
from hub.services import Services
from hub.settings import Settings
from hub.web import (
    api,
    api_invoices,
    auth,
    batches,
    mapping,
    oauth,
    ops,
    organization,
    portal,
    sync_actions,
    webhooks,
)
from hub.web.common import HubState, LoginRequired, api_error, redirect, render

log = logging.getLogger("hub.requests")

STATIC = pathlib.Path(__file__).resolve().parent / "static"
SESSION_MAX_AGE = 14 * 24 * 3600
SECURITY_HEADERS = [
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", b"frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
]


class RequestLogMiddleware:
    """Logs each request (path only: query strings can carry OAuth codes) and counts it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                # No other site may frame the portal (clickjacking its buttons).
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - started
            endpoint = scope.get("endpoint")
            route = getattr(endpoint, "__name__", "unmatched")
            metrics.REQUESTS.labels(scope["method"], route, str(status)).inc()
            metrics.REQUEST_SECONDS.labels(route).observe(elapsed)
            log.info("%s %s %s %.1fms", scope["method"], scope["path"], status, elapsed * 1000)


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith(("/api/", "/webhooks/"))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if _wants_json(request):
        codes = {
            400: "bad_request",
            401: "unauthorized",
            403: "forbidden",
            404: "not_found",
            405: "method_not_allowed",
            409: "conflict",
            413: "payload_too_large",
            422: "invalid",
            429: "rate_limited",
        }
        return api_error(exc.status_code, codes.get(exc.status_code, "error"), str(exc.detail))
    return render(
        request,
        "error.html",
        {"status": exc.status_code, "message": exc.detail},
        status_code=exc.status_code,
    )


async def _login_required(request: Request, exc: Exception) -> Response:
    return redirect(f"/login?next={quote(request.url.path)}")


async def _server_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    if _wants_json(request):
        return api_error(500, "internal_error", "Something went wrong on our side.")
    return render(
        request,
        "error.html",
        {"status": 500, "message": "Something went wrong on our side. Please try again."},
        status_code=500,
    )


def create_app(
    settings: Settings | None = None,
    *,
    plugins: Sequence[object] | Mapping[str, object] | None = None,
    services: Services | None = None,
    run_worker: bool = False,
) -> Starlette:
    """Build the hub: plugins loaded and validated, database opened, routes listed."""
    settings = settings or Settings.from_env()
    if services is None:
        host = PluginHost(settings, plugins=plugins)
        services = Services.build(settings, plugins=host)
    state = HubState(
        settings=settings,
        db=services.db,
        plugins=services.plugins,
        vault=services.vault,
        services=services,
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # Everything built so far lives as long as the process: keep the garbage
        # collector from walking it again and again (long pauses under load).
        gc.collect()
        gc.freeze()
        worker = None
        if run_worker:
            from hub.jobs import Worker

            worker = Worker(services, name="web")
            await worker.start()
            app.state.worker = worker
            services.inbox.on_work_queued = worker.wake
        try:
            yield
        finally:
            if worker is not None:
                await worker.stop()
            await services.http.aclose()

    routes: list[Any] = [
        *ops.routes,
        *auth.routes,
        *portal.routes,
        *oauth.routes,
        *api.routes,
        *api_invoices.routes,
        *batches.routes,
        *webhooks.routes,
        *sync_actions.routes,
        *mapping.routes,
        *organization.routes,
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(RequestLogMiddleware),
            Middleware(
                SessionMiddleware,
                secret_key=settings.secret_key or "",
                session_cookie="hub_session",
                max_age=SESSION_MAX_AGE,
                same_site="lax",
                https_only=settings.secure_cookies,
            ),
        ],
        exception_handlers={
            HTTPException: _http_error,
            LoginRequired: _login_required,
            Exception: _server_error,
        },
        lifespan=lifespan,
    )
    app.state.hub = state
    return app


def app_from_env() -> Starlette:
    """The factory ``hub serve`` gives uvicorn (one call per web process)."""
    return create_app(run_worker=os.environ.get("HUB_EMBEDDED_WORKER", "1") == "1")
