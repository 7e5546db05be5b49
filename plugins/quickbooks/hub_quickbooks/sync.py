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
from hub_quickbooks.errors import DUPLICATE_DOC_NUMBER, NOT_FOUND
from hub_quickbooks.mapping import (
    JsonObject,
    chunks,
    invoice_body,
    invoice_totals,
    remote_ref,
    select_in,
)
from hub_quickbooks.profile import CompanyProfile
from hub_quickbooks.references import IN_SIZE, References, find_by_id, resolve
from hub_quickbooks.refusals import explain, inactive_tax_code
from hub_quickbooks.updates import void_invoice

log = logging.getLogger(__name__)


async def push_batch(
    client: QuickBooksClient,
    links: Mapping[tuple[str, str], RemoteRef],
    batch: BatchPayload,
    *,
    today: dt.date,
    profile: CompanyProfile,
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
    refs = (
        await resolve(client, links, pending, today=today, profile=profile)
        if pending
        else References()
    )
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

    created = await _create(client, to_create, refs, today, profile)
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
    profile: CompanyProfile,
) -> dict[int, InvoiceResult]:
    if not invoices:
        return {}
    creations = [
        Creation(
            inv.idempotency_key,
            invoice_body(inv, refs.customers[inv.participant.id], refs.items, profile),
            f"the invoice {inv.number}",
        )
        for inv in invoices
    ]
    answers = await create_all(client, "Invoice", creations, today=today)
    results: dict[int, InvoiceResult] = {}
    duplicates: list[tuple[InvoicePayload, RecordError]] = []
    inactive = [
        invoice
        for invoice, answer in zip(invoices, answers, strict=True)
        if answer.fault is not None and answer.fault.has_code(NOT_FOUND)
    ]
    # QuickBooks' "made inactive" names no field: a tax code, the customer or an item.
    # Which mapped codes are inactive is one query away, and only on this path.
    inactive_codes = await inactive_tax_codes(client, profile, inactive) if inactive else {}
    for invoice, creation, answer in zip(invoices, creations, answers, strict=True):
        if answer.obj is not None:
            results[invoice.id] = _result(invoice, answer.obj, created=True)
            continue
        assert answer.fault is not None
        code = next(
            (inactive_codes[c] for c in _codes_of(invoice, profile) if c in inactive_codes), None
        )
        if code is not None and answer.fault.has_code(NOT_FOUND):
            error = inactive_tax_code(
                answer.fault, subject=creation.subject, code_name=code,
                support_reference=answer.support_reference,
            )
        else:
            error = explain(
                answer.fault,
                subject=creation.subject,
                support_reference=answer.support_reference,
                number=invoice.number,
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


async def inactive_tax_codes(
    client: QuickBooksClient, profile: CompanyProfile, invoices: Sequence[InvoicePayload]
) -> dict[str, str]:
    """The mapped tax codes these invoices use that are inactive now: Id -> name."""
    ids = sorted({code for invoice in invoices for code in _codes_of(invoice, profile)})
    if not ids:
        return {}
    rows = await find_by_id(
        client, "TaxCode", ids, inactive_too=True, subject="the tax codes in use"
    )
    return {
        code_id: str(row.get("Name") or code_id)
        for code_id, row in rows.items()
        if row.get("Active") is False
    }


def _codes_of(invoice: InvoicePayload, profile: CompanyProfile) -> list[str]:
    return [code for line in invoice.lines if (code := profile.tax_code(line.tax))]


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
            message=f"QuickBooks already has an invoice numbered {invoice.number} for another "
            "customer"
            + (f" ({name})" if name else "")
            + ". Give this invoice another number in Coordinoter (or renumber the other in "
            "QuickBooks); then it is sent again.",
            fix_in="invoice",
        ),
    )


def _result(invoice: InvoicePayload, obj: Mapping[str, Any], *, created: bool) -> InvoiceResult:
    ref = remote_ref(obj)
    if not created:
        # Found, not made from this payload: the hub has not seen its current state.
        ref = RemoteRef(ref.remote_id, ref.remote_version)
    return InvoiceResult(
        invoice.id,
        remote=ref,
        remote_number=str(obj.get("DocNumber") or invoice.number),
        totals=invoice_totals(obj),
    )


def _about(invoice: InvoicePayload, error: RecordError) -> RecordError:
    """A customer or item failure, told as the reason this invoice was not pushed."""
    return RecordError(
        code=error.code,
        message=f"The invoice {invoice.number} was not sent: {error.message}",
        retryable=error.retryable,
        support_reference=error.support_reference,
        provider_detail=error.provider_detail,
        fix_in=error.fix_in,
    )


def _customer_of(row: Mapping[str, Any]) -> str | None:
    ref = row.get("CustomerRef")
    return str(ref.get("value")) if isinstance(ref, Mapping) else None


def _int(value: Any) -> int:
    try:
        return int(str(value))
    except ValueError:
        return 0
