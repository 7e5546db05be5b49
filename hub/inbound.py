"""Changes coming back from providers: applying them, and reconciling what was missed.

The inbox (:mod:`hub.inbox`) stores each event once and routes it to its connection;
an ``apply_events`` job per connection then asks the plugin what changed and
updates local invoices. Applying is idempotent and ordered by the
provider's own version and time, so a late or repeated event never rolls an
invoice back. Applying never queues a push, so the hub's own writes coming back
as webhooks cannot loop.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlmodel import Session, col, select

from hub.connections import record_activity
from hub.context import INVOICE, connection_context, load_connection
from hub.db import utcnow
from hub.errors import Transient
from hub.inbox import store_events
from hub.jobs import handler
from hub.models import (
    Connection,
    Invoice,
    InvoiceStatus,
    Job,
    SyncLink,
    WebhookDelivery,
    WebhookEvent,
)
from hub.sync import store_totals
from hub.types import ChangeEvent, ChangeSet, InvoiceUpdate

if TYPE_CHECKING:
    from hub.services import Services

log = logging.getLogger(__name__)

APPLY_BATCH = 200
#: How far back reconciliation looks the first time, and at most (QuickBooks CDC: 30 days).
MAX_WINDOW = dt.timedelta(days=29)


def event_from_row(row: WebhookEvent) -> ChangeEvent:
    """A stored event as the plugin receives it."""
    return ChangeEvent(
        external_account_id=row.external_account_id,
        entity=row.entity,
        entity_id=row.entity_id,
        operation=row.operation,  # type: ignore[arg-type]
        occurred_at=row.occurred_at,
        dedupe_key=row.dedupe_key,
    )


def reject_delivery(session: Session, integration: str, body: bytes, reason: str) -> None:
    """Keep an authentic but unusable delivery, with the reason, for an admin to see."""
    session.add(WebhookDelivery(integration=integration, body=body, state="rejected", error=reason))


@handler("apply_events")
async def apply_events(services: Services, job: Job) -> None:
    """Apply a connection's pending events, a slice at a time, until none is left."""
    connection = load_connection(services, int(job.payload["connection_id"]))
    while True:

        def pending(session: Session) -> list[WebhookEvent]:
            return list(
                session.exec(
                    select(WebhookEvent)
                    .where(
                        WebhookEvent.connection_id == connection.id,
                        WebhookEvent.state == "pending",
                    )
                    .order_by(col(WebhookEvent.occurred_at), col(WebhookEvent.id))
                    .limit(APPLY_BATCH)
                ).all()
            )

        rows = await services.db.read(pending)
        if not rows:
            return
        await apply_rows(services, connection, rows)


async def apply_rows(services: Services, connection: Connection, rows: list[WebhookEvent]) -> None:
    """Ask the plugin what the events changed, then update invoices and mark events done."""
    echoes = await services.db.read(lambda session: _echoes(session, connection, rows))
    news = [row for row in rows if row.id not in echoes]
    if not news or not services.plugins.has_hook(connection.integration, "apply_changes"):
        updates: Sequence[InvoiceUpdate] = []
    else:
        async with connection_context(services, connection) as ctx:
            updates = await services.plugins.hook(connection.integration, "apply_changes")(
                ctx=ctx, events=[event_from_row(r) for r in news]
            )
        if updates is None:
            raise Transient(f"the {connection.integration} plugin returned no updates")
    ids = [r.id for r in rows]

    def save(session: Session) -> None:
        apply_updates(session, services, connection, updates)
        for row in session.exec(select(WebhookEvent).where(col(WebhookEvent.id).in_(ids))).all():
            row.state = "applied"
            row.processed_at = utcnow()
            session.add(row)

    await services.db.run(save)


def _echoes(session: Session, connection: Connection, rows: list[WebhookEvent]) -> set[int | None]:
    """Ids of events that report only the creation of an invoice, and tell nothing new.

    The creation of an invoice the host does not link is none of its business (an
    invoice made directly in the provider, or one of its own pushes whose result is
    not saved yet: the host knows what it sent). The creation of one it links is
    news only when the host has not seen a state since (an invoice found, not
    created). Reading those invoices would spend the account's limits on nothing.
    """
    creations = [
        row for row in rows if row.operation == "create" and row.entity.casefold() == INVOICE
    ]
    if not creations:
        return set()
    known = dict(
        session.exec(
            select(SyncLink.remote_id, SyncLink.remote_updated_at).where(
                SyncLink.connection_id == connection.id,
                SyncLink.kind == INVOICE,
                col(SyncLink.remote_id).in_({row.entity_id for row in creations}),
            )
        ).all()
    )
    return {
        row.id
        for row in creations
        if row.entity_id not in known or _seen_since(known[row.entity_id], row.occurred_at)
    }


def _seen_since(seen: dt.datetime | None, moment: dt.datetime) -> bool:
    return seen is not None and moment <= seen


def _newer(update: InvoiceUpdate, link: SyncLink) -> bool:
    """Whether ``update`` is newer than what the link last saw (never go back in time)."""
    if link.remote_version and update.remote_version:
        try:
            ours, theirs = int(link.remote_version), int(update.remote_version)
        except ValueError:
            ours = theirs = 0
        if theirs < ours:
            return False
    if link.remote_updated_at and update.remote_updated_at:
        return update.remote_updated_at >= link.remote_updated_at
    return True


def _money(value: Decimal) -> str:
    return f"{value:,.2f}"


def apply_updates(
    session: Session, services: Services, connection: Connection, updates: Sequence[InvoiceUpdate]
) -> int:
    """Apply invoice updates in order; return how many invoices changed."""
    integration = services.plugins.get(connection.integration)
    name = integration.info.name if integration else connection.integration
    changed = 0
    for update in sorted(
        updates, key=lambda u: u.remote_updated_at or dt.datetime.min.replace(tzinfo=dt.UTC)
    ):
        link = session.exec(
            services.db.for_update(
                select(SyncLink).where(
                    SyncLink.connection_id == connection.id,
                    SyncLink.kind == "invoice",
                    SyncLink.remote_id == update.remote_id,
                )
            )
        ).first()
        if link is None or not _newer(update, link):
            continue
        invoice = session.get(Invoice, int(link.local_key))
        if invoice is None:
            continue
        link.remote_version = update.remote_version or link.remote_version
        link.remote_updated_at = update.remote_updated_at or link.remote_updated_at
        if not update.deleted:
            store_totals(link, update.totals)
        link.updated_at = utcnow()
        session.add(link)
        unpushed = link.pushed_version is not None and invoice.version > link.pushed_version
        if unpushed and invoice.status == InvoiceStatus.void.value and not update.deleted:
            # Voided here, and the void is still on its way: the provider's view
            # predates it and must not undo it.
            continue
        message = _apply_to_invoice(invoice, update, name)
        if message is None:
            continue
        invoice.updated_at = utcnow()
        session.add(invoice)
        record_activity(session, connection, "invoice_changed", message)
        changed += 1
    return changed


def _apply_to_invoice(invoice: Invoice, update: InvoiceUpdate, name: str) -> str | None:
    """Change the invoice to match ``update``; return what happened, or None if nothing."""
    if update.deleted:
        if invoice.deleted_remotely:
            return None
        invoice.deleted_remotely = True
        return (
            f"Invoice {invoice.number} was deleted in {name}. It is kept here, marked as deleted."
        )
    before = (invoice.status, invoice.amount_paid, invoice.balance, invoice.deleted_remotely)
    invoice.deleted_remotely = False
    invoice.amount_paid = update.amount_paid
    invoice.balance = update.balance
    if update.status == InvoiceStatus.void.value and invoice.status != InvoiceStatus.void.value:
        invoice.voided_at = utcnow()
    invoice.status = update.status
    after = (invoice.status, invoice.amount_paid, invoice.balance, invoice.deleted_remotely)
    if after == before:
        return None
    if invoice.status == InvoiceStatus.void.value:
        return f"Invoice {invoice.number} was voided in {name}."
    if invoice.status == InvoiceStatus.paid.value:
        return f"Invoice {invoice.number} is paid in full ({_money(invoice.amount_paid)})."
    if invoice.amount_paid > before[1]:
        return (
            f"Payment received for invoice {invoice.number}: {_money(invoice.amount_paid)} paid, "
            f"{_money(invoice.balance)} still due."
        )
    return (
        f"Invoice {invoice.number} changed in {name}: {_money(invoice.amount_paid)} paid, "
        f"{_money(invoice.balance)} due ({invoice.status.replace('_', ' ')})."
    )


@handler("reconcile")
async def reconcile(services: Services, job: Job) -> None:
    """Catch up on changes whose webhooks were missed (``pull_changes`` since the cursor)."""
    connection = load_connection(services, int(job.payload["connection_id"]))
    if not services.plugins.has_hook(connection.integration, "pull_changes"):
        return
    now = utcnow()
    since = connection.sync_cursor or connection.connected_at or now
    since = max(since, now - MAX_WINDOW)
    async with connection_context(services, connection) as ctx:
        changes = await services.plugins.hook(connection.integration, "pull_changes")(
            ctx=ctx, since=since
        )
    if not isinstance(changes, ChangeSet):
        raise Transient(f"the {connection.integration} plugin returned no change set")

    def store(session: Session) -> int:
        row = session.get(Connection, connection.id)
        assert row is not None
        stored = store_events(
            session,
            connection.integration,
            [(e, None) for e in changes.events],
            source="reconcile",
            connection=row,
        )
        row.sync_cursor = changes.cursor
        session.add(row)
        found = stored.per_connection.get(connection.id or 0, 0)
        if found:
            record_activity(
                session,
                row,
                "reconciled",
                f"Caught up on {found} change(s) that had not arrived by webhook.",
            )
        return found

    if await services.db.run(store):
        await apply_events(services, job)
