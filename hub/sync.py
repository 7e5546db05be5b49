"""What jobs do: push batches and invoice changes, refresh tokens, housekeeping."""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from hub import metrics
from hub.connections import record_activity
from hub.context import INVOICE, connection_context, known_links, load_connection
from hub.db import utcnow
from hub.errors import Transient
from hub.jobs import enqueue, handler
from hub.mapping import ensure_choices
from hub.models import (
    BatchSync,
    BatchSyncState,
    Connection,
    Invoice,
    InvoiceBatch,
    InvoiceLine,
    Job,
    LinkState,
    Participant,
    SyncLink,
)
from hub.types import (
    BatchPayload,
    BatchSyncResult,
    InvoicePayload,
    InvoiceProblem,
    InvoiceTotals,
    LinePayload,
    LinkUpdate,
    ParticipantPayload,
    RecordError,
    RemoteRef,
    SyncOutcome,
)

if TYPE_CHECKING:
    from hub.services import Services

log = logging.getLogger(__name__)

#: Invoices handed to ``sync_batch`` per call; results are saved after each call, so
#: progress shows while a large batch is pushed and a crash repeats at most one chunk.
CHUNK = 500


# --- payloads -----------------------------------------------------------------------------


def invoice_payloads(
    session: Session, invoices: list[Invoice], connection_id: int
) -> list[InvoicePayload]:
    """Build plugin payloads for invoices, with their existing remote refs."""
    ids = [i.id for i in invoices]
    lines: dict[int, list[InvoiceLine]] = {}
    for line in session.exec(
        select(InvoiceLine)
        .where(col(InvoiceLine.invoice_id).in_(ids))
        .order_by(col(InvoiceLine.invoice_id), col(InvoiceLine.position))
    ).all():
        lines.setdefault(line.invoice_id, []).append(line)
    participants = {
        p.id: p
        for p in session.exec(
            select(Participant).where(col(Participant.id).in_({i.participant_id for i in invoices}))
        ).all()
    }
    links = {
        link.local_key: link
        for link in session.exec(
            select(SyncLink).where(
                SyncLink.connection_id == connection_id,
                SyncLink.kind == INVOICE,
                col(SyncLink.local_key).in_([str(i) for i in ids]),
            )
        ).all()
    }
    payloads = []
    for invoice in invoices:
        assert invoice.id is not None
        participant = participants[invoice.participant_id]
        link = links.get(str(invoice.id))
        payloads.append(
            InvoicePayload(
                id=invoice.id,
                number=invoice.number,
                participant=ParticipantPayload(
                    id=participant.external_ref, name=participant.name, email=participant.email
                ),
                issue_date=invoice.issue_date,
                due_date=invoice.due_date,
                currency=invoice.currency,
                lines=tuple(
                    LinePayload(
                        description=line.description,
                        item_code=line.item_code,
                        quantity=line.quantity,
                        unit_price=line.unit_price,
                        tax="gst" if line.tax == "gst" else "gst_free",
                    )
                    for line in lines.get(invoice.id, [])
                ),
                idempotency_key=idempotency_key(connection_id, invoice.id, link),
                memo=invoice.memo,
                voided=invoice.status == "void",
                remote=(
                    RemoteRef(link.remote_id, link.remote_version)
                    if link is not None and link.remote_id
                    else None
                ),
            )
        )
    return payloads


def idempotency_key(connection_id: int, invoice_id: int, link: SyncLink | None) -> str:
    """The key that makes pushing one invoice idempotent.

    The same for every try until the provider has answered about the invoice: a
    retry after a timeout or a crash carries it again, so nothing is made twice. It
    changes once an answer was recorded (a refusal, say), so that a push after the
    cause was fixed is a new request and not the first answer replayed.
    """
    attempts = link.attempts if link is not None else 0
    base = f"hub-{connection_id}-{invoice_id}"
    return f"{base}-{attempts}" if attempts else base


def later(known: dt.datetime | None, seen: dt.datetime | None) -> dt.datetime | None:
    """The later of two remote change times, either of which may be unknown."""
    if known is None or seen is None:
        return seen or known
    return max(known, seen)


def save_link_updates(
    session: Session, connection_id: int, updates: tuple[LinkUpdate, ...]
) -> None:
    """Upsert the customer/item links the plugin reported.

    One statement per link, in a fixed order, so two jobs of the same connection
    saving the same customer neither deadlock nor collide on the unique key.
    """
    if not updates:
        return
    now = utcnow()
    latest = {(u.kind, u.local_key): u for u in updates}
    rows = [
        {
            "connection_id": connection_id,
            "kind": kind,
            "local_key": local_key,
            "remote_id": update.remote.remote_id,
            "remote_version": update.remote.remote_version,
            "remote_updated_at": update.remote.remote_updated_at,
            "state": LinkState.synced.value,
            "attempts": 0,
            "synced_at": now,
            "updated_at": now,
        }
        for (kind, local_key), update in sorted(latest.items())
    ]
    insert = sqlite_insert if session.get_bind().dialect.name == "sqlite" else postgresql_insert
    statement = insert(SyncLink)
    statement = statement.on_conflict_do_update(
        index_elements=["connection_id", "kind", "local_key"],
        set_={
            "remote_id": statement.excluded.remote_id,
            "remote_version": statement.excluded.remote_version,
            "remote_updated_at": statement.excluded.remote_updated_at,
            "state": statement.excluded.state,
            "synced_at": statement.excluded.synced_at,
            "updated_at": statement.excluded.updated_at,
        },
    )
    session.execute(statement, rows)


# --- pushing batches ----------------------------------------------------------------------


_SETTLED = [LinkState.synced.value, LinkState.failed.value, LinkState.needs_attention.value]


def _pending_invoices(session: Session, batch_id: int, connection_id: int) -> list[int]:
    """Ids of a batch's invoices not yet synced, refused or held in this connection."""
    ids = session.exec(
        select(Invoice.id).where(Invoice.batch_id == batch_id).order_by(col(Invoice.id))
    ).all()
    settled = set(
        session.exec(
            select(SyncLink.local_key).where(
                SyncLink.connection_id == connection_id,
                SyncLink.kind == INVOICE,
                col(SyncLink.local_key).in_([str(i) for i in ids]),
                col(SyncLink.state).in_(_SETTLED),
            )
        ).all()
    )
    return [i for i in ids if i is not None and str(i) not in settled]


def _chunk_payloads(
    session: Session, ids: list[int], connection_id: int
) -> tuple[list[InvoicePayload], dict[int, int]]:
    """Payloads for some invoices, and their versions as read now.

    Only a chunk's invoices are ever loaded, so a worker's memory does not grow
    with the size of the batch.
    """
    invoices = list(
        session.exec(select(Invoice).where(col(Invoice.id).in_(ids)).order_by(col(Invoice.id)))
    )
    versions = {invoice.id or 0: invoice.version for invoice in invoices}
    return invoice_payloads(session, invoices, connection_id), versions


def _record_results(
    session: Session,
    connection: Connection,
    batch_sync_id: int,
    payloads: list[InvoicePayload],
    result: BatchSyncResult,
    versions: dict[int, int],
    held: Sequence[InvoiceProblem] = (),
) -> tuple[int, int, int]:
    """Save one chunk's outcome; return (synced, failed, retryable) counts.

    ``versions`` are the invoices' local versions as they were read for this push, so
    an edit made while the push ran is still seen as unpushed. ``held`` are the
    invoices the check kept back: nothing of them was sent.
    """
    assert connection.id is not None
    save_link_updates(session, connection.id, result.links)
    by_id = {r.invoice_id: r for r in result.invoices}
    problems = {problem.invoice_id: problem for problem in held}
    synced = failed = retryable = 0
    now = utcnow()
    existing = {
        link.local_key: link
        for link in session.exec(
            select(SyncLink).where(
                SyncLink.connection_id == connection.id,
                SyncLink.kind == INVOICE,
                col(SyncLink.local_key).in_([str(payload.id) for payload in payloads]),
            )
        ).all()
    }
    for payload in payloads:
        outcome = by_id.get(payload.id)
        link = existing.get(str(payload.id)) or SyncLink(
            connection_id=connection.id, kind=INVOICE, local_key=str(payload.id)
        )
        link.updated_at = now
        problem = problems.get(payload.id)
        if problem is not None:
            link.state = LinkState.needs_attention.value
            link.last_error = problem.message
            link.last_error_code = problem.code
            link.fix_in = problem.fix_in
            link.last_error_detail = link.support_reference = None
            session.add(link)
            continue
        link.attempts += 1
        if outcome is None:
            link.state = LinkState.pending.value
            link.last_error = "the plugin returned no result for this invoice"
            retryable += 1
        elif outcome.remote is not None:
            link.remote_id = outcome.remote.remote_id
            link.remote_version = outcome.remote.remote_version
            link.remote_updated_at = later(link.remote_updated_at, outcome.remote.remote_updated_at)
            link.remote_number = outcome.remote_number
            link.state = LinkState.synced.value
            clear_error(link)
            link.synced_at = now
            link.pushed_version = versions.get(payload.id, 1)
            store_totals(link, outcome.totals)
            synced += 1
        elif outcome.error is not None:
            record_error(link, outcome.error)
            if outcome.error.retryable:
                link.state = LinkState.pending.value
                retryable += 1
            else:
                link.state = LinkState.failed.value
                failed += 1
        session.add(link)
    batch_sync = session.get(BatchSync, batch_sync_id)
    assert batch_sync is not None
    batch_sync.updated_at = now
    session.add(batch_sync)
    return synced, failed, retryable


def record_error(link: SyncLink, error: RecordError) -> None:
    """Keep a refusal on its link: the sentence, the code, and the provider's words."""
    link.last_error = error.message
    link.last_error_code = error.code
    link.last_error_detail = error.provider_detail
    link.fix_in = error.fix_in
    link.support_reference = error.support_reference


def clear_error(link: SyncLink) -> None:
    """Forget a link's last error (it was pushed)."""
    link.last_error = link.last_error_code = link.last_error_detail = None
    link.fix_in = link.support_reference = None


def store_totals(link: SyncLink, totals: InvoiceTotals | None) -> None:
    """Keep an invoice's amounts as the provider computed them, when it said."""
    if totals is not None:
        link.remote_subtotal = totals.subtotal
        link.remote_tax = totals.tax
        link.remote_total = totals.total


def _refresh_counts(session: Session, batch_sync: BatchSync) -> None:
    keys = [
        str(i)
        for i in session.exec(
            select(Invoice.id).where(Invoice.batch_id == batch_sync.batch_id)
        ).all()
    ]
    states = session.exec(
        select(SyncLink.state).where(
            SyncLink.connection_id == batch_sync.connection_id,
            SyncLink.kind == INVOICE,
            col(SyncLink.local_key).in_(keys),
        )
    ).all()
    batch_sync.total = len(keys)
    batch_sync.synced = sum(1 for s in states if s == LinkState.synced.value)
    batch_sync.failed = sum(1 for s in states if s == LinkState.failed.value)
    batch_sync.held = sum(1 for s in states if s == LinkState.needs_attention.value)


@handler("push_batch")
async def push_batch(services: Services, job: Job) -> None:
    """Push every not-yet-synced invoice of a batch to one connection."""
    batch_id = int(job.payload["batch_id"])
    connection = load_connection(services, int(job.payload["connection_id"]))
    assert connection.id is not None
    hook = services.plugins.hook(connection.integration, "sync_batch")

    def start(session: Session) -> tuple[int, list[int], dict[tuple[str, str], RemoteRef]]:
        batch_sync = session.exec(
            select(BatchSync).where(
                BatchSync.batch_id == batch_id, BatchSync.connection_id == connection.id
            )
        ).one()
        batch_sync.state = BatchSyncState.running.value
        batch_sync.updated_at = utcnow()
        _refresh_counts(session, batch_sync)
        session.add(batch_sync)
        assert batch_sync.id is not None
        return (
            batch_sync.id,
            _pending_invoices(session, batch_id, connection.id or 0),
            known_links(session, connection.id or 0),
        )

    batch_sync_id, pending, links = await services.db.run(start)
    with services.db.read_session() as session:
        batch = session.get(InvoiceBatch, batch_id)
        reference = batch.reference if batch else ""
    if pending:
        await ensure_choices(services, connection)
    check = (
        services.plugins.hook(connection.integration, "check_batch")
        if services.plugins.has_hook(connection.integration, "check_batch")
        else None
    )
    retry_later = 0
    for offset in range(0, len(pending), CHUNK):
        payloads, versions = await services.db.read(
            functools.partial(
                _chunk_payloads,
                ids=pending[offset : offset + CHUNK],
                connection_id=connection.id or 0,
            )
        )
        held: Sequence[InvoiceProblem] = ()
        async with connection_context(services, connection, links) as ctx:
            if check is not None:
                held = _problems(
                    await check(ctx=ctx, batch=BatchPayload(batch_id, reference, tuple(payloads))),
                    payloads,
                )
            held_ids = {problem.invoice_id for problem in held}
            ready = tuple(payload for payload in payloads if payload.id not in held_ids)
            result = (
                await hook(ctx=ctx, batch=BatchPayload(batch_id, reference, ready))
                if ready
                else BatchSyncResult(invoices=())
            )
        if not isinstance(result, BatchSyncResult):
            raise Transient(f"the {connection.integration} plugin returned no batch result")
        counts = await services.db.run(
            functools.partial(
                _record_results,
                connection=connection,
                batch_sync_id=batch_sync_id,
                payloads=payloads,
                result=result,
                versions=versions,
                held=held,
            )
        )
        retry_later += counts[2]
        for update in result.links:
            links[(update.kind, update.local_key)] = update.remote
        await services.db.run(lambda s: _refresh_counts_by_id(s, batch_sync_id))
    await services.db.run(
        lambda s: _finish_batch(s, services, connection, batch_sync_id, reference)
    )
    await _push_edits_made_meanwhile(services, connection, batch_id)
    if retry_later:
        raise Transient(f"{retry_later} invoice(s) could not be pushed yet; retrying")


def _problems(answer: object, payloads: list[InvoicePayload]) -> list[InvoiceProblem]:
    """The check's problems, one per invoice of this chunk (others are ignored)."""
    if answer is None:
        return []
    if isinstance(answer, InvoiceProblem) or not isinstance(answer, Sequence):
        raise Transient("the plugin's check_batch returned something other than problems")
    wanted = {payload.id for payload in payloads}
    found: dict[int, InvoiceProblem] = {}
    for problem in answer:
        if not isinstance(problem, InvoiceProblem):
            raise Transient("the plugin's check_batch returned something other than problems")
        if problem.invoice_id in wanted:
            found.setdefault(problem.invoice_id, problem)
    return list(found.values())


def _refresh_counts_by_id(session: Session, batch_sync_id: int) -> None:
    batch_sync = session.get(BatchSync, batch_sync_id)
    if batch_sync is not None:
        _refresh_counts(session, batch_sync)
        batch_sync.updated_at = utcnow()
        session.add(batch_sync)


def _finish_batch(
    session: Session, services: Services, connection: Connection, batch_sync_id: int, reference: str
) -> None:
    batch_sync = session.get(BatchSync, batch_sync_id)
    assert batch_sync is not None
    _refresh_counts(session, batch_sync)
    integration = services.plugins.get(connection.integration)
    name = integration.info.name if integration else connection.integration
    now = utcnow()
    settled = batch_sync.synced + batch_sync.failed + batch_sync.held
    if batch_sync.synced == batch_sync.total:
        batch_sync.state = BatchSyncState.synced.value
        message = f"Pushed batch “{reference}”: {batch_sync.synced} invoice(s) in {name}."
        level = "info"
    elif settled == batch_sync.total:
        if batch_sync.held:
            batch_sync.state = BatchSyncState.needs_attention.value
        elif batch_sync.synced:
            batch_sync.state = BatchSyncState.partially_synced.value
        else:
            batch_sync.state = BatchSyncState.failed.value
        parts = []
        if batch_sync.failed:
            parts.append(f"{batch_sync.failed} refused by {name}")
        if batch_sync.held:
            parts.append(f"{batch_sync.held} held back to be fixed first")
        message = (
            f"Pushed batch “{reference}”: {batch_sync.synced} of {batch_sync.total} invoice(s); "
            f"{' and '.join(parts)} (see the batch for what to do)."
        )
        level = "error" if batch_sync.failed else "warning"
    else:
        session.add(batch_sync)
        return  # still pending: the job retries
    batch_sync.finished_at = batch_sync.updated_at = now
    session.add(batch_sync)
    created = session.exec(
        select(InvoiceBatch.created_at).where(InvoiceBatch.id == batch_sync.batch_id)
    ).first()
    if created is not None:
        metrics.SYNC_SECONDS.labels(connection.integration).observe((now - created).total_seconds())
    record_activity(session, connection, "batch_pushed", message, level=level)


async def _push_edits_made_meanwhile(
    services: Services, connection: Connection, batch_id: int
) -> None:
    """Invoices edited while their first push was under way get a change push."""

    def find(session: Session) -> None:
        rows = session.exec(
            select(Invoice, SyncLink)
            .join(SyncLink, col(SyncLink.local_key) == sa_cast_str(Invoice.id))
            .where(
                Invoice.batch_id == batch_id,
                SyncLink.connection_id == connection.id,
                SyncLink.kind == INVOICE,
                SyncLink.state == LinkState.synced.value,
            )
        ).all()
        for invoice, link in rows:
            if link.pushed_version is not None and invoice.version > link.pushed_version:
                enqueue_invoice_change(session, invoice, connection)

    await services.db.run(find)


def sa_cast_str(column: Any) -> Any:
    """``CAST(column AS VARCHAR)``, to join ids with link keys."""
    import sqlalchemy as sa

    return sa.cast(column, sa.String)


def enqueue_invoice_change(session: Session, invoice: Invoice, connection: Connection) -> None:
    """Queue pushing an invoice's latest edit (one live job per invoice and connection)."""
    enqueue(
        session,
        "push_invoice_change",
        {"invoice_id": invoice.id, "connection_id": connection.id},
        connection_id=connection.id,
        unique_key=f"push_invoice_change:{connection.id}:{invoice.id}",
    )


@handler("push_invoice_change")
async def push_invoice_change(services: Services, job: Job) -> None:
    """Push an edit or a void of an already-pushed invoice, until the newest is pushed.

    An edit made while this job runs finds the job already live (one per invoice and
    connection), so the job looks again after each push instead of ending.
    """
    invoice_id = int(job.payload["invoice_id"])
    connection = load_connection(services, int(job.payload["connection_id"]))
    while await _push_latest_change(services, connection, invoice_id):
        pass


async def _push_latest_change(services: Services, connection: Connection, invoice_id: int) -> bool:
    """Push the invoice's newest unpushed version; False when there was none to push."""

    def load(session: Session) -> tuple[InvoicePayload, SyncLink, int] | None:
        invoice = session.get(Invoice, invoice_id)
        link = session.exec(
            select(SyncLink).where(
                SyncLink.connection_id == connection.id,
                SyncLink.kind == INVOICE,
                SyncLink.local_key == str(invoice_id),
            )
        ).first()
        if invoice is None or link is None or link.state != LinkState.synced.value:
            return None  # not pushed yet: the batch push will carry the latest state
        if link.pushed_version is not None and link.pushed_version >= invoice.version:
            return None  # already pushed
        payload = invoice_payloads(session, [invoice], connection.id or 0)[0]
        return payload, link, invoice.version

    loaded = await services.db.read(load)
    if loaded is None:
        return False
    payload, link, version = loaded
    async with connection_context(services, connection) as ctx:
        outcome = await services.plugins.hook(connection.integration, "push_invoice_change")(
            ctx=ctx, invoice=payload, link=RemoteRef(link.remote_id or "", link.remote_version)
        )
    if not isinstance(outcome, SyncOutcome):
        raise Transient(f"the {connection.integration} plugin returned no outcome")

    def save(session: Session) -> None:
        row = session.get(SyncLink, link.id)
        assert row is not None and connection.id is not None
        save_link_updates(session, connection.id, outcome.links)
        row.updated_at = utcnow()
        if outcome.error is not None:
            record_error(row, outcome.error)
            record_activity(
                session,
                connection,
                "error",
                f"Could not update invoice {payload.number}: {outcome.error.message}",
                level="error",
                support_reference=outcome.error.support_reference,
            )
        else:
            if outcome.remote is not None:
                row.remote_version = outcome.remote.remote_version
            row.pushed_version = version
            clear_error(row)
            store_totals(row, outcome.totals)
            row.remote_number = outcome.remote_number or row.remote_number
            what = "voided" if payload.voided else "updated"
            record_activity(
                session, connection, "invoice_pushed", f"Invoice {payload.number} {what}."
            )
        session.add(row)

    await services.db.run(save)
    if outcome.error is not None:
        if outcome.error.retryable:
            raise Transient(outcome.error.message)
        return False  # refused: shown in the history; the next edit tries again
    return True


# --- tokens and housekeeping ---------------------------------------------------------------------


@handler("refresh_tokens")
async def refresh_tokens(services: Services, job: Job) -> None:
    """Keep-alive: refresh a connection's tokens so its refresh token never lapses."""
    connection = load_connection(services, int(job.payload["connection_id"]))
    assert connection.id is not None
    tokens = services.vault.tokens(connection)
    await services.vault.access_token(connection.id, stale=tokens.access_token if tokens else "")


@handler("prune")
async def prune(services: Services, job: Job) -> None:
    """Delete old rate-limit slots."""
    await asyncio.to_thread(services.limiter.prune)
