"""Pushing an edit or a void of an invoice QuickBooks already has."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Mapping

from hub.types import InvoicePayload, RemoteRef, SyncOutcome
from hub_quickbooks.client import QuickBooksClient
from hub_quickbooks.errors import QuickBooksRejected, StaleObject
from hub_quickbooks.mapping import JsonObject, invoice_sparse_update, invoice_totals, void_body
from hub_quickbooks.profile import CompanyProfile
from hub_quickbooks.references import resolve
from hub_quickbooks.refusals import explain

log = logging.getLogger(__name__)

Send = Callable[[RemoteRef], Awaitable[JsonObject]]


async def push_change(
    client: QuickBooksClient,
    links: Mapping[tuple[str, str], RemoteRef],
    invoice: InvoicePayload,
    link: RemoteRef,
    *,
    today: dt.date,
    profile: CompanyProfile,
) -> SyncOutcome:
    """Void or sparse-update the remote invoice ``link`` points at."""
    subject = f"the invoice {invoice.number}"
    if invoice.voided:
        return await void_invoice(client, link, subject=subject)
    refs = await resolve(client, links, [invoice], today=today, profile=profile)
    error = refs.error_for(invoice)
    if error is not None:
        return SyncOutcome(error=error, links=tuple(refs.links))
    customer_id = refs.customers[invoice.participant.id]

    async def update(ref: RemoteRef) -> JsonObject:
        body = invoice_sparse_update(invoice, ref, customer_id, refs.items, profile)
        return await client.create("Invoice", body, subject=subject)

    outcome = await with_current_version(client, link, update, subject=subject)
    return SyncOutcome(
        remote=outcome.remote,
        error=outcome.error,
        links=tuple(refs.links),
        totals=outcome.totals,
        remote_number=outcome.remote_number,
    )


async def void_invoice(client: QuickBooksClient, link: RemoteRef, *, subject: str) -> SyncOutcome:
    """Void a remote invoice (QuickBooks zeroes it and keeps it, marked "Voided")."""

    async def void(ref: RemoteRef) -> JsonObject:
        return await client.operation("Invoice", "void", void_body(ref), subject=subject)

    outcome = await with_current_version(client, link, void, subject=subject)
    # A voided invoice is zeroed: its amounts say nothing about the tax mapping.
    return SyncOutcome(remote=outcome.remote, error=outcome.error)


async def with_current_version(
    client: QuickBooksClient, link: RemoteRef, send: Send, *, subject: str
) -> SyncOutcome:
    """Send a write with the known SyncToken; on 5010 re-read and try once more.

    A second 5010 propagates as :class:`~hub.errors.Conflict`. A refusal (the
    invoice was deleted in QuickBooks, a validation fault) is returned as an error.
    """
    try:
        ref = link if link.remote_version is not None else await _current(client, link, subject)
        try:
            obj = await send(ref)
        except StaleObject:
            log.info("stale SyncToken for %s; re-reading it once", subject)
            obj = await send(await _current(client, link, subject))
    except QuickBooksRejected as err:
        if err.fault is None:
            return SyncOutcome(error=err.record_error())
        return SyncOutcome(
            error=explain(err.fault, subject=subject, support_reference=err.support_reference)
        )
    return SyncOutcome(
        remote=RemoteRef(str(obj["Id"]), _version(obj)),
        totals=invoice_totals(obj),
        remote_number=str(obj["DocNumber"]) if obj.get("DocNumber") else None,
    )


async def _current(client: QuickBooksClient, link: RemoteRef, subject: str) -> RemoteRef:
    obj = await client.read("Invoice", link.remote_id, subject=subject)
    return RemoteRef(str(obj["Id"]), _version(obj))


def _version(obj: JsonObject) -> str | None:
    version = obj.get("SyncToken")
    return None if version is None else str(version)
