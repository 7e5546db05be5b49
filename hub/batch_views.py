"""How batches and invoices look from outside: per-integration sync state and payments.

The same dictionaries feed the JSON API and the portal's pages.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, func, select

from hub.models import (
    BatchSync,
    BatchSyncState,
    Connection,
    ConnectionStatus,
    Invoice,
    InvoiceBatch,
    InvoiceLine,
    LinkState,
    Participant,
    SyncLink,
)
from hub.plugins import PluginHost
from hub.tax import differs

BEFORE_CONNECTION = BatchSyncState.not_synced_created_before_connection.value
STATE_LABELS = {
    "not_connected": "Not connected",
    "queued": "Queued",
    "running": "Pushing…",
    "synced": "Synced",
    "partially_synced": "Partly synced",
    "failed": "Failed",
    "refused": "Refused",
    "needs_attention": "Needs attention",
    BEFORE_CONNECTION: "Not synced: created before {name} was connected",
}


def _connections(session: Session, organization_id: int) -> dict[str, Connection]:
    return {
        c.integration: c
        for c in session.exec(
            select(Connection).where(Connection.organization_id == organization_id)
        ).all()
    }


def _batch_state(
    batch: InvoiceBatch, connection: Connection | None, batch_sync: BatchSync | None
) -> str:
    if batch_sync is not None:
        return batch_sync.state
    if connection is None or connection.status == ConnectionStatus.disconnected.value:
        return "not_connected"
    if connection.connected_at is None or batch.created_at < connection.connected_at:
        return BEFORE_CONNECTION
    return "queued"


def label(state: str, name: str) -> str:
    """A person's words for a sync state."""
    return STATE_LABELS.get(state, state).format(name=name)


def batch_integrations(
    session: Session, plugins: PluginHost, batch: InvoiceBatch
) -> dict[str, dict[str, Any]]:
    """Per installed integration: the batch's sync state and progress."""
    connections = _connections(session, batch.organization_id)
    syncs = {
        s.connection_id: s
        for s in session.exec(select(BatchSync).where(BatchSync.batch_id == batch.id)).all()
    }
    result: dict[str, dict[str, Any]] = {}
    for integration in plugins.integrations:
        connection = connections.get(integration.slug)
        batch_sync = syncs.get(connection.id) if connection and connection.id else None
        state = _batch_state(batch, connection, batch_sync)
        result[integration.slug] = {
            "name": integration.info.name,
            "sync_state": state,
            "label": label(state, integration.info.name),
            "total": batch_sync.total if batch_sync else None,
            "synced": batch_sync.synced if batch_sync else None,
            "failed": batch_sync.failed if batch_sync else None,
            "held": batch_sync.held if batch_sync else None,
            "error": batch_sync.last_error if batch_sync else None,
            "can_push": state in (BEFORE_CONNECTION,)
            and connection is not None
            and connection.status == ConnectionStatus.connected.value,
            "can_retry": bool(batch_sync and (batch_sync.failed or batch_sync.held)),
        }
    return result


def invoice_views(
    session: Session,
    plugins: PluginHost,
    batch: InvoiceBatch,
    invoices: list[Invoice],
    *,
    with_lines: bool = False,
) -> list[dict[str, Any]]:
    """Invoices with their payment status and per-integration sync state."""
    batch_states = batch_integrations(session, plugins, batch)
    connections = _connections(session, batch.organization_id)
    connection_ids = [c.id for c in connections.values()]
    keys = [str(i.id) for i in invoices]
    links: dict[tuple[int, str], SyncLink] = (
        {
            (link.connection_id, link.local_key): link
            for link in session.exec(
                select(SyncLink).where(
                    col(SyncLink.connection_id).in_(connection_ids),
                    SyncLink.kind == "invoice",
                    col(SyncLink.local_key).in_(keys),
                )
            ).all()
        }
        if keys and connection_ids
        else {}
    )
    participants = (
        {
            p.id: p
            for p in session.exec(
                select(Participant).where(
                    col(Participant.id).in_({i.participant_id for i in invoices})
                )
            ).all()
        }
        if invoices
        else {}
    )
    # Only taxed lines can round differently (each line's amount is fixed to the cent).
    # Only invoices with GST have taxed lines to count (most NDIS invoices have none).
    taxed = [i.id for i in invoices if i.tax]
    line_counts: dict[int, int] = (
        dict(
            session.exec(
                select(InvoiceLine.invoice_id, func.count())
                .where(col(InvoiceLine.invoice_id).in_(taxed), InvoiceLine.tax == "gst")
                .group_by(col(InvoiceLine.invoice_id))
            ).all()
        )
        if taxed
        else {}
    )
    lines: dict[int, list[InvoiceLine]] = {}
    if with_lines and invoices:
        for line in session.exec(
            select(InvoiceLine)
            .where(col(InvoiceLine.invoice_id).in_([i.id for i in invoices]))
            .order_by(col(InvoiceLine.position))
        ).all():
            lines.setdefault(line.invoice_id, []).append(line)
    views = []
    integrations = plugins.integrations  # sorted anew on each access
    for invoice in invoices:
        per_integration: dict[str, dict[str, Any]] = {}
        for integration in integrations:
            connection = connections.get(integration.slug)
            link = links.get((connection.id or 0, str(invoice.id))) if connection else None
            batch_state = batch_states[integration.slug]["sync_state"]
            if link is not None and link.state == LinkState.synced.value:
                state = "synced"
            elif link is not None and link.state == LinkState.failed.value:
                state = "failed"
            elif link is not None and link.state == LinkState.needs_attention.value:
                state = "needs_attention"
            elif batch_state in ("queued", "running") or link is not None:
                state = "running" if batch_state == "running" else "queued"
            else:
                state = batch_state
            problem = state in ("failed", "needs_attention")
            per_integration[integration.slug] = {
                "sync_state": state,
                "label": label("refused" if state == "failed" else state, integration.info.name),
                "remote_id": link.remote_id if link else None,
                "remote_number": link.remote_number if link else None,
                "error": link.last_error if link and (problem or state == "queued") else None,
                "error_code": link.last_error_code if link and problem else None,
                "error_detail": link.last_error_detail if link and problem else None,
                "fix_in": link.fix_in if link and problem else None,
                "support_reference": link.support_reference if link else None,
                **_remote_totals(
                    invoice,
                    link if state == "synced" else None,
                    line_counts.get(invoice.id or 0, 1),
                ),
            }
        participant = participants.get(invoice.participant_id)
        view: dict[str, Any] = {
            "id": invoice.id,
            "batch_id": invoice.batch_id,
            "number": invoice.number,
            "participant": {
                "id": participant.external_ref if participant else None,
                "name": participant.name if participant else None,
                "email": participant.email if participant else None,
            },
            "issue_date": invoice.issue_date.isoformat(),
            "due_date": invoice.due_date.isoformat(),
            "currency": invoice.currency,
            "memo": invoice.memo,
            "status": invoice.status,
            "subtotal": str(invoice.subtotal),
            "tax": str(invoice.tax),
            "total": str(invoice.total),
            "amount_paid": str(invoice.amount_paid),
            "balance": str(invoice.balance),
            "deleted_remotely": invoice.deleted_remotely,
            "integrations": per_integration,
        }
        if with_lines:
            view["lines"] = [
                {
                    "description": line.description,
                    "item_code": line.item_code,
                    "quantity": str(line.quantity.normalize()),
                    "unit_price": str(line.unit_price.normalize()),
                    "amount": str(line.amount),
                    "tax": line.tax,
                    "tax_amount": str(line.tax_amount),
                }
                for line in lines.get(invoice.id or 0, [])
            ]
        views.append(view)
    return views


def _remote_totals(invoice: Invoice, link: SyncLink | None, lines: int) -> dict[str, Any]:
    """The provider's subtotal, tax and total, and whether they differ from ours."""
    if link is None or link.remote_total is None:
        return {"totals": None, "totals_mismatch": False}
    remote = {
        "subtotal": link.remote_subtotal,
        "tax": link.remote_tax,
        "total": link.remote_total,
    }
    ours = {"subtotal": invoice.subtotal, "tax": invoice.tax, "total": invoice.total}
    mismatch = any(
        value is not None and differs(ours[key], value, lines=lines)
        for key, value in remote.items()
    )
    return {
        "totals": {key: None if value is None else str(value) for key, value in remote.items()},
        "totals_mismatch": mismatch,
    }


def batch_view(
    session: Session, plugins: PluginHost, batch: InvoiceBatch, *, with_lines: bool = False
) -> dict[str, Any]:
    """A batch with its invoices, as the API returns it."""
    invoices = list(
        session.exec(
            select(Invoice).where(Invoice.batch_id == batch.id).order_by(col(Invoice.id))
        ).all()
    )
    return {
        "id": batch.id,
        "reference": batch.reference,
        "created_at": batch.created_at.isoformat(),
        "integrations": batch_integrations(session, plugins, batch),
        "invoices": invoice_views(session, plugins, batch, invoices, with_lines=with_lines),
    }


def invoice_view(session: Session, plugins: PluginHost, invoice: Invoice) -> dict[str, Any]:
    """One invoice with its lines, as the API returns it."""
    batch = session.get(InvoiceBatch, invoice.batch_id)
    assert batch is not None
    return invoice_views(session, plugins, batch, [invoice], with_lines=True)[0]


def batch_summaries(
    session: Session, plugins: PluginHost, organization_id: int, *, limit: int = 100
) -> list[dict[str, Any]]:
    """The organization's newest batches with totals and per-integration state."""
    batches = session.exec(
        select(InvoiceBatch)
        .where(InvoiceBatch.organization_id == organization_id)
        .order_by(col(InvoiceBatch.created_at).desc(), col(InvoiceBatch.id).desc())
        .limit(limit)
    ).all()
    counts = (
        dict(
            session.exec(
                select(Invoice.batch_id, func.count())
                .where(col(Invoice.batch_id).in_([b.id for b in batches]))
                .group_by(col(Invoice.batch_id))
            ).all()
        )
        if batches
        else {}
    )
    return [
        {
            "id": batch.id,
            "reference": batch.reference,
            "created_at": batch.created_at,
            "invoice_count": counts.get(batch.id or 0, 0),
            "integrations": batch_integrations(session, plugins, batch),
        }
        for batch in batches
    ]
