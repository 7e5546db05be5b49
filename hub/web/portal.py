"""Portal pages: Manage Integrations and a connection's page."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hub.connections import find_connection
from hub.listing import integration_listing
from hub.mapping import mapping_view
from hub.models import (
    Activity,
    Connection,
    ConnectionMapping,
    Invoice,
    Job,
    JobState,
    LinkState,
    SyncLink,
    WebhookDelivery,
    WebhookEvent,
)
from hub.web.common import hub_state, redirect, render, require_viewer

HISTORY_LENGTH = 50
PROBLEMS_SHOWN = 50


def sync_problems(session: Session, connection: Connection, is_admin: bool) -> dict[str, Any]:
    """Refused invoices, dead jobs and (for admins) unusable deliveries, newest first."""
    failed = session.exec(
        select(SyncLink, Invoice)
        .join(Invoice, col(Invoice.id) == sa.cast(col(SyncLink.local_key), sa.Integer))
        .where(
            SyncLink.connection_id == connection.id,
            SyncLink.kind == "invoice",
            col(SyncLink.state).in_([LinkState.failed.value, LinkState.needs_attention.value]),
        )
        .order_by(col(SyncLink.updated_at).desc())
        .limit(PROBLEMS_SHOWN)
    ).all()
    dead = session.exec(
        select(Job)
        .where(Job.connection_id == connection.id, Job.state == JobState.dead.value)
        .order_by(col(Job.updated_at).desc())
        .limit(PROBLEMS_SHOWN)
    ).all()
    rejected: list[dict[str, Any]] = []
    if is_admin:
        for delivery in session.exec(
            select(WebhookDelivery)
            .where(
                WebhookDelivery.integration == connection.integration,
                WebhookDelivery.state == "rejected",
            )
            .order_by(col(WebhookDelivery.received_at).desc())
            .limit(10)
        ).all():
            rejected.append({"at": delivery.received_at, "reason": delivery.error})
        for event in session.exec(
            select(WebhookEvent)
            .where(
                WebhookEvent.integration == connection.integration,
                WebhookEvent.state == "unroutable",
            )
            .order_by(col(WebhookEvent.created_at).desc())
            .limit(10)
        ).all():
            rejected.append(
                {
                    "at": event.created_at,
                    "reason": f"{event.entity} {event.operation} for a company that is not "
                    "connected to any organization on this hub (ignored)",
                }
            )
        rejected.sort(key=lambda item: item["at"], reverse=True)
    return {
        "failed": [{"link": link, "invoice": invoice} for link, invoice in failed],
        "dead_jobs": list(dead),
        "rejected": rejected[:10],
    }


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
        problems: dict[str, Any] = {"failed": [], "dead_jobs": [], "rejected": []}
        mapping = None
        if connection is not None:
            problems = sync_problems(session, connection, viewer.user.is_admin)
            mapping = mapping_view(session.get(ConnectionMapping, connection.id))
            history = list(
                session.exec(
                    select(Activity)
                    .where(Activity.connection_id == connection.id)
                    .order_by(col(Activity.created_at).desc(), col(Activity.id).desc())
                    .limit(HISTORY_LENGTH)
                ).all()
            )
        return {"connection": connection, "history": history, "mapping": mapping, **problems}

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
