"""Buttons on a connection's page: check for changes now, retry refused and dead work."""

from __future__ import annotations

from sqlmodel import Session
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hub.batches import requeue_batches, reset_unpushed_links
from hub.connections import live_connection
from hub.jobs import enqueue, retry_job
from hub.models import Connection, Job
from hub.web.common import (
    checked_form,
    flash,
    hub_state,
    int_param,
    redirect,
    require_viewer,
    wake_worker,
)


async def _connection(request: Request) -> tuple[int, str]:
    viewer = await require_viewer(request)
    await checked_form(request)
    slug = request.path_params["slug"]
    if hub_state(request).plugins.get(slug) is None:
        raise HTTPException(404, "There is no such integration.")
    return viewer.org_id, slug


def _own_connection(session: Session, org_id: int, slug: str) -> Connection:
    connection = live_connection(session, org_id, slug)
    if connection is None:
        raise HTTPException(409, "This integration is not connected.")
    return connection


async def reconcile_now(request: Request) -> Response:
    """Look for changes in the provider now instead of at the next scheduled check."""
    org_id, slug = await _connection(request)

    def queue(session: Session) -> bool:
        connection = _own_connection(session, org_id, slug)
        return enqueue(
            session, "reconcile", {"connection_id": connection.id},
            connection_id=connection.id, unique_key=f"reconcile:{connection.id}",
        ) is not None

    queued = await hub_state(request).db.run(queue)
    flash(request, "Checking for changes now." if queued else "A check is already under way.")
    wake_worker(request)
    return redirect(f"/integrations/{slug}")


async def retry_failed(request: Request) -> Response:
    """Push every refused invoice again (after the cause was fixed)."""
    org_id, slug = await _connection(request)

    def retry(session: Session) -> int:
        connection = _own_connection(session, org_id, slug)
        invoice_ids = reset_unpushed_links(session, connection)
        requeue_batches(session, connection, invoice_ids)
        return len(invoice_ids)

    count = await hub_state(request).db.run(retry)
    flash(request, f"Retrying {count} invoice(s)." if count else "Nothing to retry.")
    wake_worker(request)
    return redirect(f"/integrations/{slug}")


async def retry_dead_job(request: Request) -> Response:
    """Run a job that gave up again, from its first attempt."""
    org_id, slug = await _connection(request)
    job_id = int_param(request, "job_id")

    def retry(session: Session) -> bool:
        connection = _own_connection(session, org_id, slug)
        job = session.get(Job, job_id)
        if job is None or job.connection_id != connection.id:
            raise HTTPException(404, "There is no such task.")
        return retry_job(session, job_id)

    retried = await hub_state(request).db.run(retry)
    flash(request, "Retrying the task." if retried else "That task is not waiting for a retry.")
    wake_worker(request)
    return redirect(f"/integrations/{slug}")


routes = [
    Route("/integrations/{slug}/reconcile", reconcile_now, methods=["POST"]),
    Route("/integrations/{slug}/retry-failed", retry_failed, methods=["POST"]),
    Route("/integrations/{slug}/jobs/{job_id}/retry", retry_dead_job, methods=["POST"]),
]
