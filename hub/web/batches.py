"""Portal pages for invoice batches: sync state, payments, push and retry."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hub.batch_views import batch_integrations, batch_summaries, invoice_views
from hub.batches import create_batch, queue_batch_push, reset_unpushed_links
from hub.connections import find_connection
from hub.models import ConnectionStatus, Invoice, InvoiceBatch
from hub.samples import sample_batch
from hub.web.common import (
    checked_form,
    digits,
    flash,
    hub_state,
    int_param,
    redirect,
    render,
    require_viewer,
    wake_worker,
)

PAGE_SIZE = 500


async def batch_list(request: Request) -> Response:
    """Every batch with its state per integration."""
    viewer = await require_viewer(request)
    state = hub_state(request)
    summaries = await state.db.read(
        lambda session: batch_summaries(session, state.plugins, viewer.org_id)
    )
    return render(
        request,
        "batches.html",
        {
            "viewer": viewer,
            "active": "batches",
            "batches": summaries,
            "integrations": state.plugins.integrations,
            "demo": state.settings.demo,
        },
    )


def _own_batch(session: Session, batch_id: int, org_id: int) -> InvoiceBatch:
    batch = session.get(InvoiceBatch, batch_id)
    if batch is None or batch.organization_id != org_id:
        raise HTTPException(404, "There is no such invoice batch.")
    return batch


async def batch_page(request: Request) -> Response:
    """One batch: each invoice's sync state and payment status, with progress."""
    viewer = await require_viewer(request)
    state = hub_state(request)
    batch_id = int_param(request, "id")
    raw_page = request.query_params.get("page", "1")
    page = digits(raw_page, most=6) or 1

    def load(session: Session) -> dict[str, Any]:
        batch = _own_batch(session, batch_id, viewer.org_id)
        total = session.exec(select(sa.func.count()).where(Invoice.batch_id == batch.id)).one()
        invoices = list(
            session.exec(
                select(Invoice)
                .where(Invoice.batch_id == batch.id)
                .order_by(col(Invoice.id))
                .offset((page - 1) * PAGE_SIZE)
                .limit(PAGE_SIZE)
            ).all()
        )
        return {
            "batch": batch,
            "integrations_state": batch_integrations(session, state.plugins, batch),
            "invoices": invoice_views(session, state.plugins, batch, invoices),
            "invoice_total": total,
            "page": page,
            "pages": max(1, -(-total // PAGE_SIZE)),
        }

    data = await state.db.read(load)
    running = any(
        s["sync_state"] in ("queued", "running") for s in data["integrations_state"].values()
    )
    return render(
        request,
        "batch.html",
        {
            "viewer": viewer,
            "active": "batches",
            "integrations": state.plugins.integrations,
            "refresh": running,
            **data,
        },
    )


async def push_batch(request: Request) -> Response:
    """An admin pushes a batch deliberately (e.g. one created before connecting)."""
    viewer = await require_viewer(request, admin=True)
    await checked_form(request)
    state = hub_state(request)
    batch_id = int_param(request, "id")
    slug = request.path_params["slug"]
    integration = state.plugins.get(slug)
    if integration is None:
        raise HTTPException(404, "There is no such integration.")

    def push(session: Session) -> str | None:
        batch = _own_batch(session, batch_id, viewer.org_id)
        connection = find_connection(session, viewer.org_id, slug)
        if connection is None or connection.status != ConnectionStatus.connected.value:
            return f"Connect {integration.info.name} first."
        queue_batch_push(session, batch, connection, user_id=viewer.user.id)
        return None

    problem = await state.db.run(push)
    if problem:
        flash(request, problem, level="error")
    else:
        flash(request, f"Pushing this batch to {integration.info.name}.", level="success")
        wake_worker(request)
    return redirect(f"/invoice-batches/{batch_id}")


async def retry_batch(request: Request) -> Response:
    """Try the invoices the provider refused again (after fixing their cause)."""
    viewer = await require_viewer(request)
    await checked_form(request)
    state = hub_state(request)
    batch_id = int_param(request, "id")
    slug = request.path_params["slug"]

    def retry(session: Session) -> int:
        batch = _own_batch(session, batch_id, viewer.org_id)
        connection = find_connection(session, viewer.org_id, slug)
        if connection is None or connection.status == ConnectionStatus.disconnected.value:
            return 0
        count = len(reset_unpushed_links(session, connection, batch_id=batch.id))
        if count:
            queue_batch_push(session, batch, connection)
        return count

    count = await state.db.run(retry)
    flash(request, f"Retrying {count} invoice(s)." if count else "Nothing to retry.")
    wake_worker(request)
    return redirect(f"/invoice-batches/{batch_id}")


async def create_sample(request: Request) -> Response:
    """Demo only: create a small sample batch as the Coordinoter portal would."""
    viewer = await require_viewer(request)
    await checked_form(request)
    state = hub_state(request)
    if not state.settings.demo:
        raise HTTPException(404, "Not found")
    sample = sample_batch(dt.date.today())
    batch = await state.db.run(lambda session: create_batch(session, viewer.org_id, sample))
    flash(request, f"Created sample batch “{sample.reference}”.", level="success")
    wake_worker(request)
    return redirect(f"/invoice-batches/{batch.id}")


routes = [
    Route("/invoice-batches", batch_list, methods=["GET"]),
    Route("/invoice-batches/sample", create_sample, methods=["POST"]),
    Route("/invoice-batches/{id}", batch_page, methods=["GET"]),
    Route("/invoice-batches/{id}/push/{slug}", push_batch, methods=["POST"]),
    Route("/invoice-batches/{id}/retry/{slug}", retry_batch, methods=["POST"]),
]
