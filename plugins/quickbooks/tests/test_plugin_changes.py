"""Changes both ways: apply_changes, pull_changes and push_invoice_change."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from decimal import Decimal

import httpx
import pytest
from hub_quickbooks import plugin
from hub_quickbooks.mapping import change_event
from hub_quickbooks.webhooks import signature
from plugin_support import (
    REALM,
    FakeCompany,
    connection_context,
    invoice,
    participant,
    plugin_config,
)

from hub.errors import AuthRevoked, Conflict
from hub.types import ChangeEvent, RemoteRef, WebhookDelivery

SAM = participant("P-003", "Sam Lee")
WHEN = dt.datetime(2026, 11, 23, 18, 0, tzinfo=dt.UTC)
STAMP = "2026-11-23T10:00:00-08:00"


def run(company: FakeCompany, hook: str, *args, links=None, **kwargs):
    async def go():
        async with company.client() as http:
            ctx = connection_context(http, links=links)
            return await getattr(plugin, hook)(ctx, *args, **kwargs)

    return asyncio.run(go())


def event(entity: str, entity_id: str, operation: str = "update") -> ChangeEvent:
    return change_event(REALM, entity, entity_id, operation, WHEN)  # type: ignore[arg-type]


def stored_invoice(company: FakeCompany, total: str, balance: str, **extra):
    fields = {
        "DocNumber": "INV-1001",
        "CustomerRef": {"value": "1"},
        "MetaData": {"LastUpdatedTime": STAMP},
        **extra,
    }
    return company.add("Invoice", TotalAmt=Decimal(total), Balance=Decimal(balance), **fields)


# --- apply_changes -------------------------------------------------------------------


def test_an_invoice_event_reads_the_invoice():
    company = FakeCompany()
    stored = stored_invoice(company, "200.28", "150.28", SyncToken="3")

    [update] = run(company, "apply_changes", [event("Invoice", stored["Id"])])

    assert update.remote_id == stored["Id"]
    assert update.status == "partially_paid"
    assert update.amount_paid == Decimal("50.00")
    assert update.balance == Decimal("150.28")
    assert update.remote_version == "3"
    assert update.remote_updated_at == WHEN


def test_a_payment_event_reads_the_invoices_it_pays():
    company = FakeCompany()
    paid = stored_invoice(company, "100", "0")
    part = stored_invoice(company, "100", "60", DocNumber="INV-1002")
    payment = company.add(
        "Payment",
        TotalAmt=Decimal("140"),
        Line=[
            {"Amount": 100, "LinkedTxn": [{"TxnId": paid["Id"], "TxnType": "Invoice"}]},
            {"Amount": 40, "LinkedTxn": [{"TxnId": part["Id"], "TxnType": "Invoice"}]},
        ],
    )

    updates = run(company, "apply_changes", [event("Payment", payment["Id"], "create")])

    assert {(u.remote_id, u.status, u.amount_paid) for u in updates} == {
        (paid["Id"], "paid", Decimal("100")),
        (part["Id"], "partially_paid", Decimal("40")),
    }


def test_a_voided_invoice_is_reported_void():
    company = FakeCompany()
    stored = stored_invoice(company, "0", "0", PrivateNote="Voided", SyncToken="1")

    [update] = run(company, "apply_changes", [event("Invoice", stored["Id"], "void")])

    assert update.status == "void"


def test_a_deleted_invoice_is_reported_without_reading_it():
    company = FakeCompany()

    [update] = run(company, "apply_changes", [event("Invoice", "777", "delete")])

    assert update.remote_id == "777"
    assert update.deleted is True
    assert update.remote_updated_at == WHEN
    assert company.requests == []


def test_an_invoice_quickbooks_cannot_find_is_reported_deleted():
    company = FakeCompany()

    [update] = run(company, "apply_changes", [event("Invoice", "778")])

    assert update.remote_id == "778" and update.deleted is True
    assert any(r.url.path.endswith("/invoice/778") for r in company.requests)


def test_many_invoice_events_are_read_with_few_queries():
    company = FakeCompany()
    ids = [stored_invoice(company, "10", "10", DocNumber=f"N{n}")["Id"] for n in range(45)]
    events = [event("Invoice", i) for i in ids] + [event("Invoice", ids[0], "emailed")]

    updates = run(company, "apply_changes", events)

    assert sorted(u.remote_id for u in updates) == sorted(ids)
    assert len(company.requests) == 2  # Id IN (...) for 30, then for 15


def test_other_entities_are_ignored():
    company = FakeCompany()

    assert run(company, "apply_changes", [event("Customer", "1"), event("Vendor", "2")]) == []
    assert company.requests == []


# --- pull_changes ----------------------------------------------------------------------


def test_reconciliation_lists_invoice_and_payment_changes():
    company = FakeCompany()
    stored = stored_invoice(company, "10", "10")
    payment = company.add("Payment", MetaData={"LastUpdatedTime": STAMP})
    company.objects["Invoice"]["900"] = {
        "Id": "900",
        "status": "Deleted",
        "domain": "QBO",
        "MetaData": {"LastUpdatedTime": STAMP},
    }
    since = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)

    changes = run(company, "pull_changes", since)

    assert {(e.entity, e.entity_id, e.operation) for e in changes.events} == {
        ("Invoice", stored["Id"], "update"),
        ("Invoice", "900", "delete"),
        ("Payment", payment["Id"], "update"),
    }
    assert all(e.external_account_id == REALM for e in changes.events)
    assert changes.cursor == WHEN  # QuickBooks' own time of the answer
    [request] = company.requests
    assert request.url.params["entities"] == "Invoice,Payment"
    assert dt.datetime.fromisoformat(request.url.params["changedSince"]) == since.replace(
        microsecond=0
    )


def test_reconciliation_never_asks_for_more_than_30_days():
    company = FakeCompany()
    long_ago = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)

    run(company, "pull_changes", long_ago)

    changed_since = dt.datetime.fromisoformat(company.requests[0].url.params["changedSince"])
    assert dt.datetime.now(dt.UTC) - changed_since < dt.timedelta(days=30)


def test_a_webhook_and_reconciliation_of_one_change_share_a_dedupe_key():
    company = FakeCompany()
    stored = stored_invoice(company, "10", "10")
    body = json.dumps(
        {
            "eventNotifications": [
                {
                    "realmId": REALM,
                    "dataChangeEvent": {
                        "entities": [
                            {
                                "name": "Invoice",
                                "id": stored["Id"],
                                "operation": "Update",
                                "lastUpdated": "2026-11-23T18:00:00.000Z",
                            }
                        ]
                    },
                }
            ]
        }
    ).encode()
    [from_webhook] = plugin.handle_webhook(
        WebhookDelivery(
            config=plugin_config(WEBHOOK_VERIFIER_TOKEN="tok"),
            headers={"intuit-signature": signature("tok", body)},
            body=body,
            received_at=WHEN,
        )
    )
    changes = run(company, "pull_changes", WHEN - dt.timedelta(hours=1))

    assert from_webhook.dedupe_key in {e.dedupe_key for e in changes.events}


# --- push_invoice_change -----------------------------------------------------------------


def pushed(company: FakeCompany, **extra):
    customer = company.add("Customer", DisplayName="Sam Lee")
    item = company.add("Item", Name="07_002_0106_8_3", Type="Service")
    stored = stored_invoice(
        company, "200.28", "200.28", CustomerRef={"value": customer["Id"]}, **extra
    )
    links = {
        ("customer", SAM.id): RemoteRef(customer["Id"], "0"),
        ("item", "07_002_0106_8_3"): RemoteRef(item["Id"], "0"),
    }
    return stored, links


def test_an_edit_is_a_sparse_update_with_the_known_synctoken():
    company = FakeCompany()
    stored, links = pushed(company)
    edited = invoice(1, SAM, memo="corrected")

    outcome = run(
        company, "push_invoice_change", edited, RemoteRef(stored["Id"], "0"), links=links
    )

    assert outcome.error is None
    assert outcome.remote == RemoteRef(stored["Id"], "1")
    [request] = company.requests
    body = json.loads(request.content)
    assert body["sparse"] is True and body["SyncToken"] == "0"
    assert stored["PrivateNote"] == "corrected"


def test_a_stale_synctoken_is_re_read_and_retried_once():
    company = FakeCompany()
    stored, links = pushed(company, SyncToken="4")

    outcome = run(
        company, "push_invoice_change", invoice(1, SAM), RemoteRef(stored["Id"], "2"), links=links
    )

    assert outcome.remote == RemoteRef(stored["Id"], "5")
    assert [r.method for r in company.requests] == ["POST", "GET", "POST"]


def test_a_second_stale_answer_is_a_conflict():
    company = FakeCompany()
    stored, links = pushed(company)

    def always_stale(request: httpx.Request):
        if request.method == "POST":
            stored["SyncToken"] = str(int(stored["SyncToken"]) + 1)  # someone keeps editing
        return None

    company.intercept = always_stale
    with pytest.raises(Conflict):
        run(company, "push_invoice_change", invoice(1, SAM), RemoteRef(stored["Id"]), links=links)


def test_a_void_voids_the_remote_invoice():
    company = FakeCompany()
    stored, links = pushed(company)

    outcome = run(
        company,
        "push_invoice_change",
        invoice(1, SAM, voided=True),
        RemoteRef(stored["Id"], "0"),
        links=links,
    )

    assert outcome.remote == RemoteRef(stored["Id"], "1")
    assert company.requests[0].url.params["operation"] == "void"
    assert json.loads(company.requests[0].content) == {"Id": stored["Id"], "SyncToken": "0"}
    assert stored["PrivateNote"] == "Voided"


def test_an_edit_of_an_invoice_deleted_in_quickbooks_is_an_error_not_a_crash():
    company = FakeCompany()
    _stored, links = pushed(company)

    outcome = run(
        company, "push_invoice_change", invoice(1, SAM), RemoteRef("999", "0"), links=links
    )

    assert outcome.remote is None
    assert outcome.error is not None and outcome.error.code == "610"
    assert outcome.error.message.startswith(
        "QuickBooks no longer has the invoice INV-1001: it was deleted there"
    )
    assert outcome.error.provider_detail == "610 Object Not Found : deleted"


def test_revoked_access_during_an_edit_is_raised():
    company = FakeCompany()
    stored, links = pushed(company)
    company.intercept = lambda request: httpx.Response(401, json={})

    with pytest.raises(AuthRevoked):
        run(company, "push_invoice_change", invoice(1, SAM), RemoteRef(stored["Id"]), links=links)


def test_a_production_connection_refuses_a_sandbox_configuration():
    company = FakeCompany()

    async def go():
        async with company.client() as http:
            ctx = connection_context(http)
            production = type(ctx)(**{**ctx.__dict__, "environment": "production"})
            return await plugin.apply_changes(production, [event("Invoice", "1")])

    with pytest.raises(AuthRevoked) as caught:
        asyncio.run(go())
    assert "Reconnect" in caught.value.message
    assert company.requests == []
