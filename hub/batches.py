"""Invoice batches: validating, creating, editing, and queueing them for sync."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from decimal import Decimal
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.functional_validators import BeforeValidator
from sqlmodel import Session, col, select

from hub.db import utcnow
from hub.jobs import enqueue
from hub.models import (
    BatchSync,
    BatchSyncState,
    Connection,
    ConnectionStatus,
    Invoice,
    InvoiceBatch,
    InvoiceLine,
    InvoiceStatus,
    LinkState,
    Organization,
    Participant,
    SyncLink,
)
from hub.tax import line_amount, line_tax

MAX_INVOICES = 10_000
MAX_LINES = 250
#: Coordinoter's invoice numbers may be longer than some providers allow (QuickBooks:
#: 21); the provider's check holds those with a reason instead of refusing the batch.
MAX_NUMBER = 100
CENT = Decimal("0.01")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# ISO 4217 codes QuickBooks Online accepts for multicurrency companies include these;
# a three-letter upper-case code is required, the provider refuses unknown ones.
_CURRENCY = re.compile(r"^[A-Z]{3}$")


def _exact_decimal(value: Any) -> Any:
    # Floats are inexact: 0.1 is not one tenth. Amounts travel as decimal strings.
    if isinstance(value, float):
        raise ValueError('send amounts as decimal strings, e.g. "100.14", not numbers')
    if isinstance(value, str) and not re.fullmatch(r"-?\d{1,12}(\.\d{1,4})?", value.strip()):
        raise ValueError("must be a decimal string with at most 4 decimal places")
    return value


Amount = Annotated[Decimal, BeforeValidator(_exact_decimal)]


class StrictModel(BaseModel):
    """A request body: unknown fields refused, text stripped, no NUL characters."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        # PostgreSQL cannot store NUL in text, and no invoice needs one.
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("must not contain NUL characters")
        return value


class LineIn(StrictModel):
    """One invoice line as the API accepts it."""

    description: str = Field(min_length=1, max_length=4000)
    item_code: str = Field(min_length=1, max_length=100)
    quantity: Amount = Field(gt=0)
    #: Before GST.
    unit_price: Amount = Field(ge=0)
    #: ``gst`` (10% on top of the unit price) or ``gst_free``; absent: the organization's
    #: default.
    tax: Literal["gst", "gst_free"] | None = None


class ParticipantIn(StrictModel):
    """The participant billed."""

    id: str = Field(min_length=1, max_length=100)
    name: str = Field(min_length=1, max_length=100)
    email: str | None = Field(default=None, max_length=100)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is not None and value != "" and not _EMAIL.match(value):
            raise ValueError("is not an email address")
        return value or None


class InvoiceIn(StrictModel):
    """One invoice as the API accepts it."""

    number: str = Field(min_length=1, max_length=MAX_NUMBER)
    participant: ParticipantIn
    issue_date: dt.date
    due_date: dt.date
    currency: str
    memo: str | None = Field(default=None, max_length=4000)
    lines: list[LineIn] = Field(min_length=1, max_length=MAX_LINES)

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        if not _CURRENCY.match(value):
            raise ValueError("must be a three-letter ISO 4217 code such as AUD")
        return value

    @model_validator(mode="after")
    def _dates(self) -> InvoiceIn:
        if self.due_date < self.issue_date:
            raise ValueError("due_date is before issue_date")
        return self


class BatchIn(StrictModel):
    """A batch as the API accepts it."""

    reference: str = Field(min_length=1, max_length=200)
    invoices: list[InvoiceIn] = Field(min_length=1, max_length=MAX_INVOICES)


class InvoicePatch(StrictModel):
    """What may change on an invoice after it was created."""

    number: str | None = Field(default=None, min_length=1, max_length=MAX_NUMBER)
    due_date: dt.date | None = None
    memo: str | None = Field(default=None, max_length=4000)
    lines: list[LineIn] | None = Field(default=None, min_length=1, max_length=MAX_LINES)


class InputError(Exception):
    """Bad input; ``details`` names each field and what is wrong with it."""

    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details


def field_errors(err: ValidationError) -> list[dict[str, str]]:
    """Pydantic's errors as ``[{"field": "invoices[0].lines[1].quantity", "message": ...}]``."""
    details = []
    for error in err.errors():
        path = ""
        for part in error["loc"]:
            path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
        message = error["msg"].removeprefix("Value error, ")
        details.append({"field": path or "body", "message": message})
    return details


def parse(model: type[BaseModel], body: bytes) -> Any:
    """Parse and validate a JSON body, raising InputError with field-level details."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as err:  # bad JSON, bad UTF-8, absurd nesting
        raise InputError(400, "malformed_json", f"The body is not valid JSON: {err}") from err
    if not isinstance(data, dict):
        raise InputError(400, "malformed_json", "The body must be a JSON object.")
    try:
        return model.model_validate(data)
    except ValidationError as err:
        details = field_errors(err)
        first = details[0]
        raise InputError(422, "invalid", f"{first['field']}: {first['message']}", details) from err


def fingerprint(body: bytes) -> str:
    """A hash of a request body, to tell a retried request from a different one."""
    return hashlib.sha256(body).hexdigest()


def default_tax(session: Session, organization_id: int) -> str:
    """The tax treatment of a line that does not say, for this organization."""
    organization = session.get(Organization, organization_id)
    return organization.default_tax if organization is not None else "gst_free"


def _line_values(line: LineIn, fallback: str) -> tuple[Decimal, str, Decimal]:
    """A line's amount before GST, its treatment, and its GST."""
    amount = line_amount(line.quantity, line.unit_price)
    treatment = line.tax or fallback
    return amount, treatment, line_tax(amount, treatment)


def _totals(lines: list[LineIn], fallback: str) -> tuple[Decimal, Decimal]:
    """An invoice's subtotal (before GST) and GST, from its lines."""
    values = [_line_values(line, fallback) for line in lines]
    subtotal = sum((amount for amount, _, _ in values), Decimal("0")).quantize(CENT)
    tax = sum((gst for _, _, gst in values), Decimal("0")).quantize(CENT)
    return subtotal, tax


def create_batch(
    session: Session,
    organization_id: int,
    batch_in: BatchIn,
    *,
    idempotency_key: str | None = None,
    request_fingerprint: str | None = None,
) -> InvoiceBatch:
    """Create a batch with its invoices, and queue its push to every live connection.

    Everything happens in the caller's transaction: the batch and its push jobs
    commit together, or neither does.
    """
    numbers = [invoice.number for invoice in batch_in.invoices]
    seen: set[str] = set()
    duplicates = [n for n in numbers if n in seen or seen.add(n)]  # type: ignore[func-returns-value]
    if duplicates:
        raise InputError(
            422,
            "duplicate_invoice_number",
            f"invoice number {duplicates[0]} appears more than once in the batch",
            [
                {"field": f"invoices[{numbers.index(n)}].number", "message": "duplicate"}
                for n in duplicates
            ],
        )
    taken = set(
        session.exec(
            select(Invoice.number).where(
                Invoice.organization_id == organization_id, col(Invoice.number).in_(numbers)
            )
        ).all()
    )
    if taken:
        raise InputError(
            409,
            "invoice_number_taken",
            f"invoice number {sorted(taken)[0]} already exists in this organization",
            [
                {"field": f"invoices[{numbers.index(n)}].number", "message": "already exists"}
                for n in sorted(taken)
            ],
        )
    now = utcnow()
    batch = InvoiceBatch(
        organization_id=organization_id,
        reference=batch_in.reference,
        idempotency_key=idempotency_key,
        request_fingerprint=request_fingerprint,
        created_at=now,
    )
    session.add(batch)
    session.flush()
    assert batch.id is not None
    participants = _upsert_participants(session, organization_id, batch_in)
    fallback = default_tax(session, organization_id)
    # Plain multi-row INSERTs: a batch may hold 10,000 invoices, and building an ORM
    # object for each (and each line) would cost more than storing them.
    invoice_rows = []
    for invoice_in in batch_in.invoices:
        subtotal, tax = _totals(invoice_in.lines, fallback)
        total = subtotal + tax
        invoice_rows.append(
            {
                "organization_id": organization_id,
                "batch_id": batch.id,
                "participant_id": participants[invoice_in.participant.id],
                "number": invoice_in.number,
                "issue_date": invoice_in.issue_date,
                "due_date": invoice_in.due_date,
                "currency": invoice_in.currency,
                "memo": invoice_in.memo,
                "status": InvoiceStatus.open.value,
                "subtotal": subtotal,
                "tax": tax,
                "total": total,
                "amount_paid": Decimal("0"),
                "balance": total,
                "deleted_remotely": False,
                "version": 1,
                "created_at": now,
                "updated_at": now,
            }
        )
    ids = session.execute(
        sa.insert(Invoice).returning(col(Invoice.id), sort_by_parameter_order=True),
        invoice_rows,
    ).scalars()
    line_rows = [
        _line_row(invoice_id, position, line, fallback)
        for invoice_id, invoice_in in zip(ids, batch_in.invoices, strict=True)
        for position, line in enumerate(invoice_in.lines, start=1)
    ]
    session.execute(sa.insert(InvoiceLine), line_rows)
    for connection in live_connections(session, organization_id):
        if connection.connected_at is not None and now >= connection.connected_at:
            queue_batch_push(session, batch, connection)
    return batch


def _upsert_participants(
    session: Session, organization_id: int, batch_in: BatchIn
) -> dict[str, int]:
    wanted = {i.participant.id: i.participant for i in batch_in.invoices}
    existing = {
        p.external_ref: p
        for p in session.exec(
            select(Participant).where(
                Participant.organization_id == organization_id,
                col(Participant.external_ref).in_(list(wanted)),
            )
        ).all()
    }
    rows: dict[str, Participant] = {}
    for ref, participant_in in wanted.items():
        participant = existing.get(ref) or Participant(
            organization_id=organization_id, external_ref=ref, name=participant_in.name
        )
        participant.name = participant_in.name
        participant.email = participant_in.email or participant.email
        session.add(participant)
        rows[ref] = participant
    session.flush()
    return {ref: participant.id for ref, participant in rows.items() if participant.id is not None}


def _add_lines(session: Session, invoice_id: int, lines: list[LineIn], fallback: str) -> None:
    for position, line in enumerate(lines, start=1):
        session.add(InvoiceLine(**_line_row(invoice_id, position, line, fallback)))


def _line_row(invoice_id: int, position: int, line: LineIn, fallback: str) -> dict[str, Any]:
    # The treatment is stored as resolved: changing the organization's default later
    # does not change invoices already made.
    amount, treatment, tax = _line_values(line, fallback)
    return {
        "invoice_id": invoice_id,
        "position": position,
        "description": line.description,
        "item_code": line.item_code,
        "quantity": line.quantity,
        "unit_price": line.unit_price,
        "amount": amount,
        "tax": treatment,
        "tax_amount": tax,
    }


def live_connections(session: Session, organization_id: int) -> list[Connection]:
    """The organization's connections that are not disconnected."""
    return list(
        session.exec(
            select(Connection).where(
                Connection.organization_id == organization_id,
                Connection.status != ConnectionStatus.disconnected.value,
            )
        ).all()
    )


def queue_batch_push(
    session: Session, batch: InvoiceBatch, connection: Connection, *, user_id: int | None = None
) -> BatchSync:
    """Record that a batch is to be pushed to a connection, and queue the job."""
    batch_sync = session.exec(
        select(BatchSync).where(
            BatchSync.batch_id == batch.id, BatchSync.connection_id == connection.id
        )
    ).first()
    if batch_sync is None:
        batch_sync = BatchSync(batch_id=batch.id or 0, connection_id=connection.id or 0, state="")
    batch_sync.state = BatchSyncState.queued.value
    batch_sync.pushed_by_user_id = user_id or batch_sync.pushed_by_user_id
    batch_sync.updated_at = utcnow()
    batch_sync.finished_at = None
    session.add(batch_sync)
    enqueue(
        session,
        "push_batch",
        {"batch_id": batch.id, "connection_id": connection.id},
        connection_id=connection.id,
        unique_key=f"push_batch:{connection.id}:{batch.id}",
    )
    return batch_sync


def apply_patch(session: Session, invoice: Invoice, patch: InvoicePatch) -> None:
    """Change an invoice locally and queue pushing the change where it was pushed."""
    if invoice.status == InvoiceStatus.void.value:
        raise InputError(409, "invoice_void", f"invoice {invoice.number} is void and cannot change")
    if invoice.deleted_remotely:
        raise InputError(
            409,
            "invoice_deleted_remotely",
            f"invoice {invoice.number} was deleted in the accounting system",
        )
    changes = patch.model_dump(exclude_unset=True)
    if not changes:
        raise InputError(422, "invalid", "nothing to change: send number, due_date, memo or lines")
    if "number" in changes:
        _renumber(session, invoice, patch.number)
    if "due_date" in changes:
        if patch.due_date is None or patch.due_date < invoice.issue_date:
            raise InputError(
                422,
                "invalid",
                "due_date: must be a date on or after issue_date",
                [{"field": "due_date", "message": "must be on or after issue_date"}],
            )
        invoice.due_date = patch.due_date
    if "memo" in changes:
        invoice.memo = patch.memo
    if patch.lines is not None:
        fallback = default_tax(session, invoice.organization_id)
        subtotal, tax = _totals(patch.lines, fallback)
        total = subtotal + tax
        if total < invoice.amount_paid:
            raise InputError(
                422,
                "invalid",
                f"lines: the new total {total} is less than the {invoice.amount_paid} already paid",
                [{"field": "lines", "message": "total below the amount already paid"}],
            )
        for line in session.exec(
            select(InvoiceLine).where(InvoiceLine.invoice_id == invoice.id)
        ).all():
            session.delete(line)
        session.flush()
        assert invoice.id is not None
        _add_lines(session, invoice.id, patch.lines, fallback)
        invoice.subtotal = subtotal
        invoice.tax = tax
        invoice.total = total
        invoice.balance = total - invoice.amount_paid
    _bump_and_push(session, invoice)


def _renumber(session: Session, invoice: Invoice, number: str | None) -> None:
    """Give an invoice a new number, unique in its organization."""
    if number is None:
        raise InputError(
            422, "invalid", "number: must not be null", [{"field": "number", "message": "null"}]
        )
    if number == invoice.number:
        return
    taken = session.exec(
        select(Invoice.id).where(
            Invoice.organization_id == invoice.organization_id, Invoice.number == number
        )
    ).first()
    if taken is not None:
        raise InputError(
            409,
            "invoice_number_taken",
            f"invoice number {number} already exists in this organization",
            [{"field": "number", "message": "already exists"}],
        )
    invoice.number = number


def void_invoice(session: Session, invoice: Invoice) -> None:
    """Void an invoice locally and queue voiding it where it was pushed."""
    if invoice.status == InvoiceStatus.void.value:
        return  # voiding twice changes nothing
    if invoice.amount_paid > 0:
        raise InputError(
            409,
            "invoice_paid",
            f"invoice {invoice.number} has payments of {invoice.amount_paid}; remove them in "
            "the accounting system before voiding",
        )
    invoice.status = InvoiceStatus.void.value
    invoice.voided_at = utcnow()
    invoice.balance = Decimal("0.00")
    _bump_and_push(session, invoice)


def _bump_and_push(session: Session, invoice: Invoice) -> None:
    from hub.sync import enqueue_invoice_change

    invoice.version += 1
    invoice.updated_at = utcnow()
    session.add(invoice)
    session.flush()
    for connection in live_connections(session, invoice.organization_id):
        enqueue_invoice_change(session, invoice, connection)
        if reset_unpushed_links(session, connection, [invoice.id or 0]):
            # Held or refused before: the edit may be the fix, so it is tried again.
            batch = session.get(InvoiceBatch, invoice.batch_id)
            if batch is not None:
                queue_batch_push(session, batch, connection)


def reset_unpushed_links(
    session: Session,
    connection: Connection,
    invoice_ids: list[int] | None = None,
    *,
    batch_id: int | None = None,
    fix_in: str | None = None,
) -> list[int]:
    """Mark held or refused invoices as pending again, to be checked and pushed anew.

    Limited to ``invoice_ids``, to the invoices of ``batch_id``, or to problems fixed
    in ``fix_in`` (``mapping`` after the mapping changed). Returns the invoices' ids.
    """
    query = select(SyncLink).where(
        SyncLink.connection_id == connection.id,
        SyncLink.kind == "invoice",
        col(SyncLink.state).in_([LinkState.failed.value, LinkState.needs_attention.value]),
    )
    if invoice_ids is not None:
        query = query.where(col(SyncLink.local_key).in_([str(i) for i in invoice_ids]))
    if batch_id is not None:
        keys = select(sa.cast(Invoice.id, sa.String)).where(Invoice.batch_id == batch_id)
        query = query.where(col(SyncLink.local_key).in_(keys))
    if fix_in is not None:
        query = query.where(SyncLink.fix_in == fix_in)
    links = session.exec(query).all()
    now = utcnow()
    for link in links:
        link.state = LinkState.pending.value
        link.updated_at = now
        session.add(link)
    return [int(link.local_key) for link in links]


def requeue_batches(session: Session, connection: Connection, invoice_ids: list[int]) -> int:
    """Queue a push of every batch holding one of ``invoice_ids``; return how many."""
    if not invoice_ids:
        return 0
    batch_ids = select(Invoice.batch_id).where(col(Invoice.id).in_(invoice_ids))
    batches = session.exec(select(InvoiceBatch).where(col(InvoiceBatch.id).in_(batch_ids))).all()
    for batch in batches:
        queue_batch_push(session, batch, connection)
    return len(batches)
