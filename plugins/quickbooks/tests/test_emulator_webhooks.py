"""Webhook notifications from the emulator: payloads, signatures, aggregation, retries."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator

import pytest
from emulator_support import Receiver, RunningEmulator, running_emulator, webhook_receiver
from hub_quickbooks.emulator.webhooks import intuit_signature
from quickbooks import QuickBooks

VERIFIER = "verifier-token-for-tests"
VALIDATOR = QuickBooks(minorversion=75)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with webhook_receiver() as state:
        yield state


@pytest.fixture
def hooked(receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningEmulator]:
    options = {"webhook_url": receiver.url, "verifier_token": VERIFIER}
    with running_emulator(monkeypatch, **options) as emu:
        yield emu


def create_customer(emu: RunningEmulator, token: str, name: str) -> str:
    response = emu.api(token, "POST", "customer", json={"DisplayName": name})
    assert response.status_code == 200, response.text
    return str(response.json()["Customer"]["Id"])


def test_published_signature_test_vector() -> None:
    body = b'{"stuff":"5"}'
    expected = "nfPLN16u3vMvv08ghDs+dOkLuirEVDy5wAeG/lmM2OA="
    assert intuit_signature("verify_me", body) == expected
    assert VALIDATOR.validate_webhook_signature(body.decode(), expected, "verify_me")


def test_change_is_delivered_signed_in_legacy_format(
    hooked: RunningEmulator, receiver: Receiver
) -> None:
    auth = hooked.connect()
    customer_id = create_customer(hooked, auth.access_token, "Webhook Pty Ltd")
    headers, body = receiver.wait_for(1)[0]

    signature = headers["intuit-signature"]
    expected = base64.b64encode(hmac.new(VERIFIER.encode(), body, hashlib.sha256).digest())
    assert hmac.compare_digest(signature.encode(), expected)
    assert VALIDATOR.validate_webhook_signature(body.decode(), signature, VERIFIER)
    assert not VALIDATOR.validate_webhook_signature(body.decode(), signature, "other")
    assert headers["content-type"] == "application/json"

    notification = json.loads(body)["eventNotifications"][0]
    assert notification["realmId"] == hooked.realm_id
    entity = notification["dataChangeEvent"]["entities"][0]
    assert entity["name"] == "Customer"
    assert entity["id"] == customer_id
    assert entity["operation"] == "Create"
    assert entity["lastUpdated"].endswith("Z")
    assert hooked.control("GET", "stats")["webhooks"] == {"delivered": 1}


def test_receiver_error_is_retried(hooked: RunningEmulator, receiver: Receiver) -> None:
    receiver.plan = [500]
    auth = hooked.connect()
    create_customer(hooked, auth.access_token, "Retry Me Ltd")
    deliveries = receiver.wait_for(2)
    assert deliveries[0][1] == deliveries[1][1]  # the same notification, byte for byte
    assert deliveries[0][0]["intuit-signature"] == deliveries[1][0]["intuit-signature"]
    assert hooked.control("GET", "stats")["webhooks"] == {"rejected": 1, "delivered": 1}


def test_slow_receiver_counts_as_unacknowledged(
    hooked: RunningEmulator, receiver: Receiver
) -> None:
    hooked.control("POST", "webhooks", json={"timeout_seconds": 0.2})
    receiver.plan = ["slow"]
    auth = hooked.connect()
    create_customer(hooked, auth.access_token, "Slow Receiver Ltd")
    receiver.wait_for(2)
    # The receiver records the second delivery before it answers: wait for the answer.
    deadline = time.monotonic() + 5
    while "delivered" not in (outcomes := hooked.control("GET", "webhooks")["deliveries"]):
        assert time.monotonic() < deadline, outcomes
        time.sleep(0.01)
    assert outcomes["timeout"] == 1
    assert outcomes["delivered"] == 1


def test_delivery_is_given_up_after_the_retries(
    hooked: RunningEmulator, receiver: Receiver
) -> None:
    hooked.control("POST", "webhooks", json={"max_retries": 2})
    receiver.plan = [503, 503, 503, 503]
    auth = hooked.connect()
    create_customer(hooked, auth.access_token, "Never Acked Ltd")
    receiver.wait_for(3)
    deadline = time.monotonic() + 5
    while hooked.control("GET", "stats")["webhooks"].get("given_up") != 1:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert hooked.control("GET", "stats")["webhooks"] == {"rejected": 3, "given_up": 1}


def test_events_in_the_window_are_one_delivery(
    hooked: RunningEmulator, receiver: Receiver
) -> None:
    hooked.control("POST", "webhooks", json={"aggregation_seconds": 0.5})
    auth = hooked.connect()
    first = create_customer(hooked, auth.access_token, "Window One")
    second = create_customer(hooked, auth.access_token, "Window Two")
    _, body = receiver.wait_for(1)[0]
    entities = json.loads(body)["eventNotifications"][0]["dataChangeEvent"]["entities"]
    assert [e["id"] for e in entities] == [first, second]


def test_cloudevents_format_per_app(receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    with running_emulator(monkeypatch,
        webhook_url=receiver.url, verifier_token=VERIFIER, webhook_format="cloudevents"
    ) as emu:
        auth = emu.connect()
        customer_id = create_customer(emu, auth.access_token, "Cloud Events Ltd")
        headers, body = receiver.wait_for(1)[0]
        realm_id = emu.realm_id
    assert VALIDATOR.validate_webhook_signature(
        body.decode(), headers["intuit-signature"], VERIFIER
    )
    events = json.loads(body)
    assert isinstance(events, list) and len(events) == 1
    event = events[0]
    assert event["specversion"] == "1.0"
    assert event["type"] == "qbo.customer.created.v1"
    assert event["intuitentityid"] == customer_id
    assert event["intuitaccountid"] == realm_id
    assert event["source"].startswith("intuit.")
    assert event["data"] == {}


def test_only_connected_apps_are_notified(hooked: RunningEmulator, receiver: Receiver) -> None:
    other = hooked.control(
        "POST", "apps",
        json={"redirect_uris": ["http://localhost/x"], "webhook_url": receiver.url + "?other",
              "verifier_token": "other-token"},
    )
    assert other["client_id"] and other["client_secret"]
    auth = hooked.connect()
    create_customer(hooked, auth.access_token, "Only Mine Ltd")
    receiver.wait_for(1)
    auth.revoke()
    # After the disconnect nothing is sent: a fresh connection's change is the next one.
    auth = hooked.connect()
    create_customer(hooked, auth.access_token, "After Reconnect Ltd")
    deliveries = receiver.wait_for(2)
    time.sleep(0.2)
    assert len(receiver.deliveries) == 2
    assert all("intuit-signature" in headers for headers, _ in deliveries)
    names = [
        json.loads(body)["eventNotifications"][0]["dataChangeEvent"]["entities"][0]["id"]
        for _, body in deliveries
    ]
    assert len(set(names)) == 2


def test_payment_recorded_in_quickbooks_notifies_payment_and_invoice(
    hooked: RunningEmulator, receiver: Receiver
) -> None:
    auth = hooked.connect()
    customer_id = create_customer(hooked, auth.access_token, "Paying Customer")
    item = hooked.api(auth.access_token, "POST", "item", json={
        "Name": "Webhook service", "Type": "Service", "UnitPrice": 40,
        "IncomeAccountRef": income_account(hooked, auth.access_token),
    })
    assert item.status_code == 200, item.text
    gst = hooked.tax_code(auth.access_token, "GST")
    invoice = hooked.api(auth.access_token, "POST", "invoice", json={
        "CustomerRef": {"value": customer_id},
        "Line": [{"Amount": 40, "DetailType": "SalesItemLineDetail",
                  "SalesItemLineDetail": {"ItemRef": {"value": item.json()["Item"]["Id"]},
                                          "TaxCodeRef": {"value": gst}}}],
    })
    assert invoice.status_code == 200, invoice.text
    invoice_id = invoice.json()["Invoice"]["Id"]
    # Changes that queue while a delivery is in flight travel together, so count entities.
    assert len(wait_for_entities(receiver, 3)) == 3  # customer, item, invoice created

    assert invoice.json()["Invoice"]["Balance"] == 44.0  # 40 plus 10% GST
    hooked.control(
        "POST", f"companies/{hooked.realm_id}/invoices/{invoice_id}/payments",
        json={"amount": "44.00"},
    )
    entities = wait_for_entities(receiver, 5)[3:]
    assert {(e["name"], e["operation"]) for e in entities} == {
        ("Payment", "Create"), ("Invoice", "Update")
    }
    assert invoice_id in [e["id"] for e in entities if e["name"] == "Invoice"]


def income_account(emu: RunningEmulator, token: str) -> dict[str, str] | None:
    query = "select * from Account where AccountType = 'Income'"
    found = emu.api(token, "GET", "query", params={"query": query}).json()
    accounts = found.get("QueryResponse", {}).get("Account", [])
    return {"value": accounts[0]["Id"]} if accounts else None


def wait_for_entities(receiver: Receiver, count: int) -> list[dict[str, str]]:
    """Every entity notified so far, once there are at least ``count``."""
    deadline = time.monotonic() + 10
    while True:
        with receiver.lock:
            bodies = [body for _, body in receiver.deliveries]
        entities = [
            entity
            for body in bodies
            for notification in json.loads(body)["eventNotifications"]
            for entity in notification["dataChangeEvent"]["entities"]
        ]
        if len(entities) >= count:
            return entities
        assert time.monotonic() < deadline, f"only {len(entities)} entities notified"
        time.sleep(0.01)
