"""QuickBooks back to Coordinoter: webhooks, reconciliation, and no echo loops."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import hmac
import json
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from hub_support import (
    VERIFIER,
    browser,
    connected,
    emulator,
    emulator_options,
    hub_base_url,
    hub_plugin_env,
    hub_plugins,
    live_hub,
    run_worker,
    wait_for,
)
from test_e2e_sync import make_batch, wait_synced

from hub.inbox import InboxWriter
from hub.models import Activity, Job, WebhookDelivery, WebhookEvent
from hub.testing import csrf_from


@pytest.fixture
def api(live_hub: str, hub_org: dict[str, Any]):
    with httpx.Client(
        base_url=live_hub, timeout=60, headers={"Authorization": f"Bearer {hub_org['api_key']}"}
    ) as client:
        yield client


@pytest.fixture
def pushed(api, connected) -> list[dict[str, Any]]:
    """Three invoices pushed to QuickBooks; returns their API views."""
    created = api.post("/api/v1/invoice-batches", json=make_batch(3)).json()
    return list(wait_synced(api, created["id"])["invoices"])


def remote_id(invoice: dict[str, Any]) -> str:
    return str(invoice["integrations"]["quickbooks"]["remote_id"])


def invoice_now(api, invoice: dict[str, Any]) -> dict[str, Any]:
    return dict(api.get(f"/api/v1/invoices/{invoice['id']}").json())


def qbo(emulator, services, connection_id: int, method: str, path: str, **kwargs: Any) -> Any:
    """Call the Accounting API as an accountant's app would (with the hub's token)."""
    token = asyncio.run(services.vault.access_token(connection_id))
    response = emulator.http.request(
        method,
        f"/v3/company/{emulator.realm_id}/{path}",
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
        **kwargs,
    )
    response.raise_for_status()
    return response.json()


def test_payment_then_full_payment_show_in_coordinoter(api, pushed, emulator, browser):
    invoice = pushed[0]
    total = invoice["total"]
    emulator.pay(remote_id(invoice), "50.00")
    partly = wait_for(
        lambda: (v := invoice_now(api, invoice))["status"] == "partially_paid" and v, timeout=20
    )
    assert partly["amount_paid"] == "50.00"
    rest = f"{float(total) - 50:.2f}"
    assert partly["balance"] == rest
    emulator.pay(remote_id(invoice), rest)
    paid = wait_for(lambda: (v := invoice_now(api, invoice))["status"] == "paid" and v, timeout=20)
    assert paid["amount_paid"] == total and paid["balance"] == "0.00"
    history = browser.get("/integrations/quickbooks").text
    assert f"Payment received for invoice {invoice['number']}" in history
    assert f"Invoice {invoice['number']} is paid in full" in history


def test_void_and_delete_in_quickbooks(api, pushed, emulator, hub_services, connected, hub_db):
    voided, deleted = pushed[0], pushed[1]
    current = qbo(emulator, hub_services, connected, "GET", f"invoice/{remote_id(voided)}")
    qbo(
        emulator,
        hub_services,
        connected,
        "POST",
        "invoice?operation=void",
        json={"Id": remote_id(voided), "SyncToken": current["Invoice"]["SyncToken"]},
    )
    current = qbo(emulator, hub_services, connected, "GET", f"invoice/{remote_id(deleted)}")
    qbo(
        emulator,
        hub_services,
        connected,
        "POST",
        "invoice?operation=delete",
        json={"Id": remote_id(deleted), "SyncToken": current["Invoice"]["SyncToken"]},
    )
    wait_for(lambda: invoice_now(api, voided)["status"] == "void", timeout=20)
    gone = wait_for(lambda: (v := invoice_now(api, deleted))["deleted_remotely"] and v, timeout=20)
    assert gone["status"] == "open"  # kept, flagged, never dropped
    with hub_db.read_session() as session:
        messages = session.exec(sa.select(Activity.message)).scalars().all()
    assert any("was deleted in QuickBooks" in m for m in messages)
    assert any(f"Invoice {voided['number']} was voided" in m for m in messages)


def test_own_pushes_coming_back_cause_no_write_back(api, pushed, emulator, hub_db):
    # The push created customers, items and invoices: QuickBooks announced each one.
    wait_for(lambda: emulator.stats()["webhooks"].get("delivered", 0) > 0, timeout=20)
    wait_for(lambda: _count(hub_db, WebhookEvent, WebhookEvent.state == "pending") == 0, timeout=20)
    with hub_db.read_session() as session:
        kinds = session.exec(sa.select(Job.kind)).scalars().all()
        changed = session.exec(sa.select(Activity).where(Activity.kind == "invoice_changed")).all()
    assert "push_invoice_change" not in kinds
    assert changed == []
    assert all(invoice_now(api, i)["status"] == "open" for i in pushed)


def _count(hub_db, model, *where) -> int:
    with hub_db.read_session() as session:
        return int(
            session.exec(sa.select(sa.func.count()).select_from(model).where(*where)).one()[0]
        )


def signed(body: bytes, token: str = VERIFIER) -> dict[str, str]:
    digest = hmac.new(token.encode(), body, hashlib.sha256).digest()
    return {
        "intuit-signature": base64.b64encode(digest).decode(),
        "content-type": "application/json",
    }


def legacy(realm: str, entity_id: str, when: dt.datetime, operation: str = "Update") -> bytes:
    return json.dumps(
        {
            "eventNotifications": [
                {
                    "realmId": realm,
                    "dataChangeEvent": {
                        "entities": [
                            {
                                "name": "Invoice",
                                "id": entity_id,
                                "operation": operation,
                                "lastUpdated": when.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                            }
                        ]
                    },
                }
            ]
        }
    ).encode()


def test_duplicate_and_out_of_order_deliveries(api, pushed, emulator, live_hub, hub_db):
    invoice = pushed[2]
    emulator.pay(remote_id(invoice), "10.00")
    wait_for(lambda: invoice_now(api, invoice)["amount_paid"] == "10.00", timeout=20)
    before = _count(hub_db, WebhookEvent)
    # QuickBooks sends the same notification again, and an older one arrives late.
    old = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    for body in [legacy(emulator.realm_id, remote_id(invoice), old)] * 3:
        answer = httpx.post(f"{live_hub}/webhooks/quickbooks", content=body, headers=signed(body))
        assert answer.status_code == 200
    wait_for(lambda: _count(hub_db, WebhookEvent, WebhookEvent.state == "pending") == 0)
    assert _count(hub_db, WebhookEvent) == before + 1  # stored once
    assert invoice_now(api, invoice)["amount_paid"] == "10.00"  # nothing rolled back
    assert _count(hub_db, WebhookDelivery) >= 3


def test_unknown_company_is_recorded_unroutable_and_shown(live_hub, connected, hub_db, browser):
    body = legacy("1234567890123", "99", dt.datetime.now(dt.UTC))
    answer = httpx.post(f"{live_hub}/webhooks/quickbooks", content=body, headers=signed(body))
    assert answer.status_code == 200
    assert _count(hub_db, WebhookEvent, WebhookEvent.state == "unroutable") == 1
    page = browser.get("/integrations/quickbooks").text
    assert "not connected to any organization" in page


def test_bad_signature_is_401_and_stores_nothing(live_hub, connected, hub_db):
    body = legacy("1234567890123", "99", dt.datetime.now(dt.UTC))
    answer = httpx.post(
        f"{live_hub}/webhooks/quickbooks", content=body, headers=signed(body, "wrong-token")
    )
    assert answer.status_code == 401
    assert _count(hub_db, WebhookDelivery) == 0
    malformed = b"{not json"
    answer = httpx.post(
        f"{live_hub}/webhooks/quickbooks", content=malformed, headers=signed(malformed)
    )
    assert answer.status_code == 400
    assert _count(hub_db, WebhookDelivery, WebhookDelivery.state == "rejected") == 1


@pytest.mark.parametrize("emulator_options", [{"limits": False, "webhook_format": "cloudevents"}])
def test_cloudevents_format_works_the_same(api, pushed, emulator):
    invoice = pushed[0]
    emulator.pay(remote_id(invoice), invoice["total"])
    wait_for(lambda: invoice_now(api, invoice)["status"] == "paid", timeout=20)


def test_missed_webhook_is_recovered_by_reconciliation(api, pushed, emulator, browser, hub_db):
    # Webhooks stop reaching the hub (a network problem); a payment is made meanwhile.
    app = emulator.control("GET", "apps")[0]
    emulator.control(
        "POST",
        "apps",
        json={"client_id": app["client_id"], "webhook_url": "http://127.0.0.1:9/nowhere"},
    )
    invoice = pushed[1]
    emulator.pay(remote_id(invoice), invoice["total"])
    page = browser.get("/integrations/quickbooks").text
    browser.post("/integrations/quickbooks/reconcile", data={"csrf_token": csrf_from(page)})
    paid = wait_for(lambda: (v := invoice_now(api, invoice))["status"] == "paid" and v, timeout=30)
    assert paid["balance"] == "0.00"
    history = browser.get("/integrations/quickbooks").text
    assert "had not arrived by webhook" in history


def test_quickbooks_retries_when_the_hub_failed_once(api, pushed, emulator, monkeypatch):
    real_write = InboxWriter._write
    failures = {"left": 1}

    def flaky(self, group):  # type: ignore[no-untyped-def]
        if failures["left"]:
            failures["left"] -= 1
            raise RuntimeError("database briefly unavailable")
        return real_write(self, group)

    monkeypatch.setattr(InboxWriter, "_write", flaky)
    invoice = pushed[0]
    emulator.pay(remote_id(invoice), invoice["total"])
    wait_for(lambda: invoice_now(api, invoice)["status"] == "paid", timeout=30)
    assert failures["left"] == 0
    outcomes = emulator.stats()["webhooks"]
    assert outcomes.get("rejected", 0) >= 1, outcomes  # the hub's 500, then a retry
