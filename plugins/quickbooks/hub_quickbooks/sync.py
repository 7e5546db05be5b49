"""Pushing an invoice batch: customers and items first, then invoices via ``/batch``.

Nothing is ever created twice, whatever was interrupted before:

* an invoice the host already knows (``invoice.remote``) is not sent again;
* every other invoice is first looked up by DocNumber (the hub's invoice number),
  so a retry with different chunks still finds what an earlier attempt created;
* each batch request carries a ``requestid`` derived from its content, so a retry of
  the same request after a lost answer gets QuickBooks' first answer replayed;
* a 6140 (duplicate DocNumber) answer is resolved to the existing invoice.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from hub.types import (
    BatchPayload,
    BatchSyncResult,
    InvoicePayload,
    InvoiceResult,
    RecordError,
    RemoteRef,
)
from hub_quickbooks.batching import Creation, create_all, gather_all
from hub_quickbooks.client import QuickBooksClient
from hub_quickbooks.errors import DUPLICATE_DOC_NUMBER, record_error_for_fault
from hub_quickbooks.mapping import JsonObject, chunks, invoice_body, remote_ref, select_in
from hub_quickbooks.references import IN_SIZE, References, resolve
from hub_quickbooks.updates import void_invoice

log = logging.getLogger(__name__)


async def push_batch(
    client: QuickBooksClient,
    links: Mapping[tuple[str, str], RemoteRef],
    batch: BatchPayload,
    *,
    today: dt.date,
) -> BatchSyncResult:
    """Push every invoice of ``batch``; one result per invoice, in the batch's order."""
    results: dict[int, InvoiceResult] = {}
    pending: list[InvoicePayload] = []
    for invoice in batch.invoices:
        if invoice.remote is not None:
            results[invoice.id] = InvoiceResult(
                invoice.id, remote=invoice.remote, remote_number=invoice.number
            )
        else:
            pending.append(invoice)
    refs = await resolve(client, links, pending, today=today) if pending else References()
    ready: list[InvoicePayload] = []
    for invoice in pending:
        error = refs.error_for(invoice)
        if error is not None:
            results[invoice.id] = InvoiceResult(invoice.id, error=_about(invoice, error))
        else:
            ready.append(invoice)

    existing = await find_by_doc_number(client, [inv.number for inv in ready])
    to_create: list[InvoicePayload] = []
    for invoice in ready:
        found = _match(existing, invoice, refs)
        if found is None:
            to_create.append(invoice)
        else:
            results[invoice.id] = found

    created = await _create(client, to_create, refs, today)
    results.update(created)
    await _void_new(client, [inv for inv in to_create if inv.voided], results)
    refused = sum(1 for result in results.values() if result.error is not None)
    log.info(
        "batch %s: %d invoices, %d sent in this call, %d refused",
        batch.reference,
        len(batch.invoices),
        len(to_create),
        refused,
    )
    return BatchSyncResult(
        invoices=tuple(results[inv.id] for inv in batch.invoices), links=tuple(refs.links)
    )


async def find_by_doc_number(
    client: QuickBooksClient, numbers: Sequence[str]
) -> dict[str, list[JsonObject]]:
    """Invoices whose DocNumber is one of ``numbers``, grouped by DocNumber."""
    unique = list(dict.fromkeys(numbers))
    pages = await gather_all(
        *(
            client.query(
                select_in("Invoice", "DocNumber", group),
                subject="the invoices already in QuickBooks",
            )
            for group in chunks(unique, IN_SIZE)
        )
    )
    found: dict[str, list[JsonObject]] = {}
    for row in (row for page in pages for row in page):
        found.setdefault(str(row.get("DocNumber", "")), []).append(row)
    return found


async def _create(
    client: QuickBooksClient,
    invoices: Sequence[InvoicePayload],
    refs: References,
    today: dt.date,
) -> dict[int, InvoiceResult]:
    if not invoices:
        return {}
    creations = [
        Creation(
            inv.idempotency_key,
            invoice_body(inv, refs.customers[inv.participant.id], refs.items),
            f"the invoice {inv.number}",
        )
        for inv in invoices
    ]
    answers = await create_all(client, "Invoice", creations, today=today)
    results: dict[int, InvoiceResult] = {}
    duplicates: list[tuple[InvoicePayload, RecordError]] = []
    for invoice, creation, answer in zip(invoices, creations, answers, strict=True):
        if answer.obj is not None:
            results[invoice.id] = _result(invoice, answer.obj, created=True)
            continue
        assert answer.fault is not None
        error = record_error_for_fault(
            answer.fault, subject=creation.subject, support_reference=answer.support_reference
        )
        if answer.fault.has_code(DUPLICATE_DOC_NUMBER):
            duplicates.append((invoice, error))
        else:
            results[invoice.id] = InvoiceResult(invoice.id, error=error)
    if duplicates:
        # Created meanwhile (by an earlier attempt still in flight), or a number that
        # another customer's invoice uses.
        existing = await find_by_doc_number(client, [inv.number for inv, _ in duplicates])
        for invoice, error in duplicates:
            found = _match(existing, invoice, refs)
            results[invoice.id] = found or InvoiceResult(invoice.id, error=error)
    return results


async def _void_new(
    client: QuickBooksClient,
    invoices: Sequence[InvoicePayload],
    results: dict[int, InvoiceResult],
) -> None:
    """Void invoices that were voided in the hub before their first push."""
    targets: list[tuple[InvoicePayload, RemoteRef]] = []
    for invoice in invoices:
        remote = results[invoice.id].remote
        if remote is not None and results[invoice.id].error is None:
            targets.append((invoice, remote))
    outcomes = await gather_all(
        *(void_invoice(client, ref, subject=f"the invoice {inv.number}") for inv, ref in targets)
    )
    for (invoice, _ref), outcome in zip(targets, outcomes, strict=True):
        previous = results[invoice.id]
        results[invoice.id] = InvoiceResult(
            invoice.id,
            remote=outcome.remote or previous.remote,
            remote_number=previous.remote_number,
            error=outcome.error,
        )


def _match(
    existing: Mapping[str, list[JsonObject]], invoice: InvoicePayload, refs: References
) -> InvoiceResult | None:
    """The result for an invoice QuickBooks already has under its number, if any."""
    rows = existing.get(invoice.number)
    if not rows:
        return None
    customer_id = refs.customers[invoice.participant.id]
    own = sorted(
        (row for row in rows if _customer_of(row) == customer_id), key=lambda r: _int(r["Id"])
    )
    if own:
        return _result(invoice, own[0], created=False)
    other = rows[0].get("CustomerRef") or {}
    name = other.get("name") if isinstance(other, Mapping) else None
    return InvoiceResult(
        invoice.id,
        error=RecordError(
            code=DUPLICATE_DOC_NUMBER,
            message=f"QuickBooks refused the invoice {invoice.number}: QuickBooks already has "
            f"an invoice numbered {invoice.number} for another customer"
            + (f" ({name})" if name else "")
            + ". Renumber one of them, then retry.",
        ),
    )


def _result(invoice: InvoicePayload, obj: Mapping[str, Any], *, created: bool) -> InvoiceResult:
    ref = remote_ref(obj)
    if not created:
        # Found, not made from this payload: the hub has not seen its current state.
        ref = RemoteRef(ref.remote_id, ref.remote_version)
    return InvoiceResult(
        invoice.id, remote=ref, remote_number=str(obj.get("DocNumber") or invoice.number)
    )


def _about(invoice: InvoicePayload, error: RecordError) -> RecordError:
    """A customer or item failure, told as the reason this invoice was not pushed."""
    return RecordError(
        code=error.code,
        message=f"The invoice {invoice.number} was not sent: {error.message}",
        retryable=error.retryable,
        support_reference=error.support_reference,
    )


def _customer_of(row: Mapping[str, Any]) -> str | None:
    ref = row.get("CustomerRef")
    return str(ref.get("value")) if isinstance(ref, Mapping) else None


def _int(value: Any) -> int:
    try:
        return int(str(value))
    except ValueError:
        return 0
