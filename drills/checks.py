"""Batches to push, and the end-state checks against QuickBooks."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from harness import Stack
from portal import Org
from results import DrillResult, wait_for

from hub.samples import batch_document

make_batch = batch_document  # the same invoices the end-to-end tests push


FINISHED = ("synced", "partially_synced", "failed")


def wait_batches(org: Org, batch_ids: list[int], *, timeout: float) -> list[dict[str, Any]]:
    """Wait until every batch has finished syncing; returns their API views."""
    views: dict[int, dict[str, Any]] = {}

    def done() -> bool:
        for batch_id in batch_ids:
            if batch_id in views:
                continue
            view = org.batch(batch_id)
            if view["integrations"]["quickbooks"]["sync_state"] not in FINISHED:
                return False
            views[batch_id] = view
        return True

    wait_for(done, f"batches {batch_ids} of {org.name} synced", timeout=timeout, every=1.0)
    return [views[b] for b in batch_ids]


@dataclass
class PushAudit:
    """Hub invoices compared with the invoices QuickBooks holds."""

    records: int
    lost: int
    duplicated: int
    details: list[str]


def audit_push(
    stack: Stack, realm: str, views: list[dict[str, Any]], *, participants: int = 25
) -> PushAudit:
    """Every hub invoice synced once: in QuickBooks exactly once under its number and id."""
    invoices = [invoice for view in views for invoice in view["invoices"]]
    remote = stack.auditor.query(realm, "Invoice")
    by_number = Counter(str(obj.get("DocNumber")) for obj in remote)
    ids = {str(obj["Id"]): obj for obj in remote}
    lost = duplicated = 0
    details: list[str] = []
    for invoice in invoices:
        sync = invoice["integrations"]["quickbooks"]
        copies = by_number.get(invoice["number"], 0)
        if copies == 0 or sync["sync_state"] != "synced" or not sync["remote_id"]:
            lost += 1
            if len(details) < 5:
                details.append(f"{invoice['number']}: {copies} in QuickBooks, hub says {sync}")
            continue
        duplicated += copies - 1
        obj = ids.get(str(sync["remote_id"]))
        if obj is None or obj.get("DocNumber") != invoice["number"]:
            details.append(f"{invoice['number']}: remote id {sync['remote_id']} is not it")
        elif Decimal(str(obj["TotalAmt"])) != Decimal(invoice["total"]):
            details.append(f"{invoice['number']}: total {obj['TotalAmt']} != {invoice['total']}")
    ours = {invoice["number"] for invoice in invoices}
    strangers = sum(n for number, n in by_number.items() if number not in ours)
    if strangers:
        details.append(f"{strangers} invoice(s) in QuickBooks that the hub never had")
        duplicated += strangers
    customers = stack.auditor.query(realm, "Customer")
    names = Counter(str(c.get("DisplayName")) for c in customers)
    extra_customers = sum(n - 1 for n in names.values() if n > 1)
    if len(customers) != participants or extra_customers:
        details.append(f"{len(customers)} customers in QuickBooks for {participants} participants")
        duplicated += max(extra_customers, len(customers) - participants, 0)
    return PushAudit(len(invoices), lost, duplicated, details)


def record_push_audit(result: DrillResult, audit: PushAudit, *, label: str = "") -> None:
    """Add a push audit's numbers and its check to a result."""
    result.records += audit.records
    result.lost = (result.lost or 0) + audit.lost
    result.duplicated = (result.duplicated or 0) + audit.duplicated
    result.check(
        not audit.details and audit.lost == 0 and audit.duplicated == 0,
        f"{label}{audit.records} invoices each in QuickBooks exactly once, under the remote id "
        f"the hub recorded, with the same total; customers not duplicated"
        + (f" — problems: {'; '.join(audit.details)}" if audit.details else ""),
    )


def remote_paid(stack: Stack, realm: str) -> dict[str, Decimal]:
    """What QuickBooks says was paid on each invoice (total minus balance), by remote id."""
    return {
        str(obj["Id"]): Decimal(str(obj["TotalAmt"])) - Decimal(str(obj["Balance"]))
        for obj in stack.auditor.query(realm, "Invoice")
    }


def paid_shown(org: Org, batch_id: int) -> dict[int, Decimal]:
    """What the hub's API shows as paid on each invoice of a batch, by invoice id."""
    return {i["id"]: Decimal(i["amount_paid"]) for i in org.batch(batch_id)["invoices"]}
