"""Changes coming back from providers: the inbox, routing, applying, reconciling.

A webhook delivery is stored and answered at once; a ``process_delivery`` job then
stores each event once (by its dedupe key), routes it by external account to its
connection, and an ``apply_events`` job per connection asks the plugin what
changed and updates local invoices. Applying is idempotent and ordered by the
provider's own version and time, so a late or repeated event never rolls an
invoice back. Applying never queues a push, so the hub's own writes coming back
as webhooks cannot loop.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from hub.connections import connection_for_account, record_activity
from hub.db import utcnow
from hub.errors import Transient
from hub.inbox import PROCESS_KIND, claim_received
from hub.jobs import enqueue, handler
from hub.models import (
    Connection,
    Invoice,
    InvoiceStatus,
    Job,
    JobState,
    SyncLink,
    WebhookDelivery,
    WebhookEvent,
)
from hub.sync import connection_context, load_connection
from hub.types import ChangeEvent, ChangeSet, InvoiceUpdate

if TYPE_CHECKING:
    from hub.services import Services

log = logging.getLogger(__name__)

APPLY_BATCH = 200
INBOX_BATCH = 200
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


def coalesced_enqueue(session: Session, kind: str, connection_id: int) -> None:
    """Queue a per-connection job unless one is already waiting to run."""
    waiting = session.exec(
        select(Job.id).where(
            Job.kind == kind,
            Job.connection_id == connection_id,
            col(Job.state).in_([JobState.queued.value, JobState.parked.value]),
        )
    ).first()
    if waiting is None:
        enqueue(session, kind, {"connection_id": connection_id}, connection_id=connection_id)


def reject_delivery(session: Session, integration: str, body: bytes, reason: str) -> None:
    """Keep an authentic but unusable delivery, with the reason, for an admin to see."""
    session.add(WebhookDelivery(integration=integration, body=body, state="rejected", error=reason))


@dataclass(frozen=True)
class Stored:
    """What storing a set of events did."""

    #: New events per connection id.
    per_connection: dict[int, int]
    #: New events per delivery id (webhooks only).
    per_delivery: dict[int, int]
    unroutable: dict[int | None, int]


def _insert_ignoring_duplicates(session: Session, rows: list[dict[str, Any]]) -> list[Any]:
    """Insert event rows; a row whose dedupe key exists already is skipped, not an error."""
    dialect = session.get_bind().dialect.name
    insert = sqlite_insert if dialect == "sqlite" else postgresql_insert
    statement = (
        insert(WebhookEvent)
        .on_conflict_do_nothing(index_elements=["integration", "dedupe_key"])
        .returning(col(WebhookEvent.delivery_id), col(WebhookEvent.connection_id))
    )
    returned: list[Any] = []
    for offset in range(0, len(rows), 500):
        returned.extend(session.execute(statement, rows[offset : offset + 500]).all())
    return returned


def store_events(
    session: Session,
    integration: str,
    events: Sequence[tuple[ChangeEvent, int | None]],
    *,
    source: str,
    connection: Connection | None = None,
) -> Stored:
    """Store (event, delivery id) pairs not seen before, routed to their connections.

    Routing is by external account id unless ``connection`` is given. Events whose
    dedupe key is already stored (a repeated or reordered delivery, or a change that
    reconciliation found first) are skipped; so are repeats within ``events``.
    """
    routes: dict[str, int | None] = {}
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    now = utcnow()
    for event, delivery_id in events:
        if event.dedupe_key in seen:
            continue
        seen.add(event.dedupe_key)
        account = event.external_account_id
        if connection is not None:
            target = connection.id
        else:
            if account not in routes:
                found = connection_for_account(session, integration, account)
                routes[account] = found.id if found else None
            target = routes[account]
        rows.append(
            {
                "delivery_id": delivery_id,
                "integration": integration,
                "connection_id": target,
                "external_account_id": account,
                "entity": event.entity,
                "entity_id": event.entity_id,
                "operation": event.operation,
                "occurred_at": event.occurred_at,
                "dedupe_key": event.dedupe_key,
                "source": source,
                "state": "pending" if target else "unroutable",
                "error": None,
                "created_at": now,
                "processed_at": None,
            }
        )
    stored = Stored({}, {}, {})
    for delivery_id, connection_id in _insert_ignoring_duplicates(session, rows) if rows else []:
        if delivery_id is not None:
            stored.per_delivery[delivery_id] = stored.per_delivery.get(delivery_id, 0) + 1
        if connection_id is None:
            stored.unroutable[delivery_id] = stored.unroutable.get(delivery_id, 0) + 1
        else:
            stored.per_connection[connection_id] = stored.per_connection.get(connection_id, 0) + 1
    if stored.unroutable:
        log.info("%s event(s) for accounts connected to no organization (unroutable)",
                 sum(stored.unroutable.values()))
    return stored


def _events_of(delivery: WebhookDelivery) -> list[ChangeEvent]:
    return [
        ChangeEvent(
            external_account_id=e["external_account_id"],
            entity=e["entity"],
            entity_id=e["entity_id"],
            operation=e["operation"],
            occurred_at=dt.datetime.fromisoformat(e["occurred_at"]),
            dedupe_key=e["dedupe_key"],
        )
        for e in delivery.events
    ]


@handler(PROCESS_KIND)
async def process_inbox(services: Services, job: Job) -> None:
    """Deduplicate and route received deliveries' events; queue applying them."""

    def process(session: Session) -> int:
        deliveries = claim_received(services.db, session, INBOX_BATCH)
        by_integration: dict[str, list[tuple[ChangeEvent, int | None]]] = {}
        for delivery in deliveries:
            by_integration.setdefault(delivery.integration, []).extend(
                (event, delivery.id) for event in _events_of(delivery)
            )
        touched: set[int] = set()
        news: dict[int, int] = {}
        unroutable: dict[int | None, int] = {}
        for integration, events in by_integration.items():
            stored = store_events(session, integration, events, source="webhook")
            touched.update(stored.per_connection)
            news.update(stored.per_delivery)
            unroutable.update(stored.unroutable)
        now = utcnow()
        for delivery in deliveries:
            delivery.state = "processed"
            delivery.processed_at = now
            delivery.new_event_count = news.get(delivery.id or 0, 0)
            delivery.unroutable_count = unroutable.get(delivery.id, 0)
            session.add(delivery)
        for connection_id in touched:
            coalesced_enqueue(session, "apply_events", connection_id)
        return len(deliveries)

    while await services.db.run(process) == INBOX_BATCH:
        pass


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
    if not services.plugins.has_hook(connection.integration, "apply_changes"):
        updates: Sequence[InvoiceUpdate] = []
    else:
        async with connection_context(services, connection) as ctx:
            updates = await services.plugins.hook(connection.integration, "apply_changes")(
                ctx=ctx, events=[event_from_row(r) for r in rows]
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
        link.updated_at = utcnow()
        session.add(link)
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
            session, connection.integration, [(e, None) for e in changes.events],
            source="reconcile", connection=row,
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
