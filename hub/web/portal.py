"""Portal pages: Manage Integrations and a connection's page."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hub.connections import find_connection
from hub.listing import integration_listing
from hub.models import Activity
from hub.web.common import hub_state, redirect, render, require_viewer

HISTORY_LENGTH = 50


async def home(request: Request) -> Response:
    """The portal's front door is Manage Integrations."""
    return redirect("/integrations")


async def integrations(request: Request) -> Response:
    """Manage Integrations: every installed integration and its state."""
    viewer = await require_viewer(request)
    state = hub_state(request)
    listing = await state.db.read(
        lambda session: integration_listing(session, state.plugins, viewer.org_id)
    )
    return render(request, "integrations.html", {"viewer": viewer, "integrations": listing})


async def integration_page(request: Request) -> Response:
    """One integration: its connection, account, environment, and history."""
    viewer = await require_viewer(request)
    state = hub_state(request)
    slug = request.path_params["slug"]
    integration = state.plugins.get(slug)
    if integration is None:
        raise HTTPException(404, "There is no such integration.")

    def load(session: Session) -> dict[str, Any]:
        connection = find_connection(session, viewer.org_id, slug)
        history: list[Activity] = []
        if connection is not None:
            history = list(
                session.exec(
                    select(Activity)
                    .where(Activity.connection_id == connection.id)
                    .order_by(col(Activity.created_at).desc(), col(Activity.id).desc())
                    .limit(HISTORY_LENGTH)
                ).all()
            )
        return {"connection": connection, "history": history}

    data = await state.db.read(load)
    listing = await state.db.read(
        lambda session: integration_listing(session, state.plugins, viewer.org_id)
    )
    entry = next(item for item in listing if item["slug"] == slug)
    return render(
        request,
        "integration.html",
        {"viewer": viewer, "integration": integration, "entry": entry, **data},
    )


routes = [
    Route("/", home, methods=["GET"]),
    Route("/integrations", integrations, methods=["GET"]),
    Route("/integrations/{slug}", integration_page, methods=["GET"]),
]
