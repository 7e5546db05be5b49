"""Changes coming back from QuickBooks: reading what changed, and reconciliation (CDC)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from hub.types import ChangeEvent, ChangeOperation, ChangeSet, InvoiceUpdate
from hub_quickbooks.batching import gather_all
from hub_quickbooks.client import QuickBooksClient
from hub_quickbooks.errors import NOT_FOUND, QuickBooksRejected
from hub_quickbooks.mapping import (
    JsonObject,
    change_event,
    chunks,
    deleted_invoice_update,
    invoice_update,
    linked_invoice_ids,
    parse_datetime,
    select_in,
)
from hub_quickbooks.references import IN_SIZE

log = logging.getLogger(__name__)

TRACKED = ("Invoice", "Payment")
#: QuickBooks' change data capture looks back at most 30 days; keep a margin for clocks.
CDC_WINDOW = dt.timedelta(days=30) - dt.timedelta(minutes=10)
#: At most this many objects come back from one CDC request.
CDC_MAX_OBJECTS = 1000


async def apply(client: QuickBooksClient, events: Sequence[ChangeEvent]) -> list[InvoiceUpdate]:
    """Read the invoices the events touch (directly or through a payment) and report them."""
    deleted: dict[str, dt.datetime | None] = {}
    invoice_ids: list[str] = []
    payment_ids: list[str] = []
    for event in events:
        if event.entity == "Invoice":
            if event.operation == "delete":
                previous = deleted.get(event.entity_id) or event.occurred_at
                deleted[event.entity_id] = max(previous, event.occurred_at)
            else:
                invoice_ids.append(event.entity_id)
        elif event.entity == "Payment" and event.operation != "delete":
            # A deleted payment cannot be read; QuickBooks reports the invoices whose
            # balance it changed as updated in their own right.
            payment_ids.append(event.entity_id)
    payments = await read_many(client, "Payment", payment_ids)
    for payment in payments.values():
        invoice_ids.extend(linked_invoice_ids(payment))
    wanted = [i for i in dict.fromkeys(invoice_ids) if i not in deleted]
    invoices = await read_many(client, "Invoice", wanted)
    missing = [i for i in wanted if i not in invoices]
    if missing:
        for remote_id, obj in zip(
            missing, await gather_all(*(_read_or_none(client, i) for i in missing)), strict=True
        ):
            if obj is None:
                deleted[remote_id] = _latest(events, remote_id)
            else:
                invoices[remote_id] = obj
    updates = [invoice_update(invoices[i]) for i in wanted if i in invoices]
    updates.extend(deleted_invoice_update(i, when) for i, when in deleted.items())
    return updates


async def read_many(
    client: QuickBooksClient, entity: str, ids: Sequence[str]
) -> dict[str, JsonObject]:
    """Objects by Id, read with ``Id IN (...)`` queries; absent ids are left out."""
    unique = list(dict.fromkeys(ids))
    if not unique:
        return {}
    pages = await gather_all(
        *(
            client.query(
                select_in(entity, "Id", group), subject=f"the changed {entity.lower()}s"
            )
            for group in chunks(unique, IN_SIZE)
        )
    )
    return {str(row["Id"]): row for page in pages for row in page if "Id" in row}


async def _read_or_none(client: QuickBooksClient, invoice_id: str) -> JsonObject | None:
    try:
        return await client.read("Invoice", invoice_id, subject=f"the invoice {invoice_id}")
    except QuickBooksRejected as err:
        if err.fault is not None and err.fault.has_code(NOT_FOUND):
            return None
        raise


def _latest(events: Sequence[ChangeEvent], entity_id: str) -> dt.datetime | None:
    times = [e.occurred_at for e in events if e.entity == "Invoice" and e.entity_id == entity_id]
    return max(times) if times else None


async def pull(client: QuickBooksClient, since: dt.datetime, *, now: dt.datetime) -> ChangeSet:
    """Invoice and Payment changes since ``since`` from change data capture."""
    if since.tzinfo is None:
        since = since.replace(tzinfo=dt.UTC)
    earliest = now - CDC_WINDOW
    if since < earliest:
        log.warning(
            "QuickBooks keeps changes for 30 days only; reconciling company %s from %s "
            "instead of %s",
            client.realm_id,
            earliest.isoformat(),
            since.isoformat(),
        )
        since = earliest
    body = await client.change_data_capture(
        TRACKED, since, subject="the changes made in QuickBooks"
    )
    events: list[ChangeEvent] = []
    count = 0
    for obj, entity in _cdc_objects(body):
        count += 1
        meta = obj.get("MetaData")
        updated = meta.get("LastUpdatedTime") if isinstance(meta, Mapping) else None
        if obj.get("Id") is None or not updated:
            continue
        deleted = str(obj.get("status", "")).lower() == "deleted"
        operation: ChangeOperation = "delete" if deleted else "update"
        events.append(
            change_event(
                client.realm_id, entity, str(obj["Id"]), operation, parse_datetime(str(updated))
            )
        )
    server_time = body.get("time")
    cursor = parse_datetime(str(server_time)) if server_time else now
    if count >= CDC_MAX_OBJECTS and events:
        # The answer was cut off: continue from the newest change it did include.
        cursor = max(event.occurred_at for event in events)
    return ChangeSet(events=tuple(events), cursor=cursor)


def _cdc_objects(body: Mapping[str, Any]) -> list[tuple[JsonObject, str]]:
    found: list[tuple[JsonObject, str]] = []
    for response in body.get("CDCResponse") or []:
        if not isinstance(response, Mapping):
            continue
        for block in response.get("QueryResponse") or []:
            if not isinstance(block, Mapping):
                continue
            for entity in TRACKED:
                for obj in block.get(entity) or []:
                    if isinstance(obj, dict):
                        found.append((obj, entity))
    return found
