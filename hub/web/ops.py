"""Health, readiness and metrics for operators."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from hub import metrics, migrate
from hub.web.common import hub_state

log = logging.getLogger(__name__)


async def healthz(request: Request) -> Response:
    """The process is up."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    """The database answers and its schema is at the newest migration."""
    state = hub_state(request)

    def check() -> tuple[bool, str]:
        with state.db.engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
        if not migrate.is_current(state.db):
            return False, "database schema is not current: run `hub migrate`"
        return True, "ok"

    try:
        ok, detail = await state.db.read(lambda _session: check())
    except Exception as err:
        log.warning("readiness check failed: %s", err)
        ok, detail = False, f"database unreachable: {err.__class__.__name__}"
    return JSONResponse(
        {"status": "ok" if ok else "unavailable", "detail": detail},
        status_code=200 if ok else 503,
    )


async def metrics_endpoint(request: Request) -> Response:
    """Prometheus exposition."""
    body, content_type = metrics.render()
    return Response(body, media_type=content_type)


routes = [
    Route("/healthz", healthz, methods=["GET"]),
    Route("/readyz", readyz, methods=["GET"]),
    Route("/metrics", metrics_endpoint, methods=["GET"]),
]
