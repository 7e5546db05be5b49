"""Webhooks: intuit-signature over the exact bytes, and both payload formats."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from hub_quickbooks import plugin
from hub_quickbooks.webhooks import signature
from plugin_support import plugin_config

from hub.errors import WebhookRejected
from hub.types import WebhookDelivery

TOKEN = "verify_me"

# QUICKBOOKS.md 4.2 (Intuit's sample), re-indented.
LEGACY = b"""{
 "eventNotifications":[
 {
  "realmId":"1185883450",
  "dataChangeEvent":
  {
   "entities":[
   { "name":"Customer", "id":"1", "operation":"Create", "lastUpdated":"2015-10-05T14:42:19-0700" },
   { "name":"Vendor",   "id":"1", "operation":"Create", "lastUpdated":"2015-10-05T14:42:19-0700" }]
  }
 }]
}"""

# QUICKBOOKS.md 4.3, verbatim.
CLOUD_EVENTS = b"""[
  {
    "specversion": "1.0",
    "id": "88cd52aa-33b6-4351-9aa4-47572edbd068",
    "source": "intuit.dsnBgbseACLLRZNxo2dfc4evmEJdxde58xeeYcZliOU=",
    "type": "qbo.account.created.v1",
    "datacontenttype": "application/json",
    "time": "2025-09-10T21:31:25.179851517Z",
    "intuitentityid": "1234",
    "intuitaccountid": "310687",
    "data": {}
  }
]"""


def delivery(body: bytes, sig: str | None = None, token: str | None = TOKEN) -> WebhookDelivery:
    headers = {"content-type": "application/json"}
    if sig is None and token:
        sig = signature(token, body)
    if sig is not None:
        headers["intuit-signature"] = sig
    values = {"WEBHOOK_VERIFIER_TOKEN": token} if token else {}
    return WebhookDelivery(
        config=plugin_config(**values),
        headers=headers,
        body=body,
        received_at=dt.datetime(2026, 11, 23, tzinfo=dt.UTC),
    )


def test_the_published_test_vector():
    expected = "nfPLN16u3vMvv08ghDs+dOkLuirEVDy5wAeG/lmM2OA="
    assert signature("verify_me", b'{"stuff":"5"}') == expected


def test_the_test_vector_passes_verification_then_fails_parsing():
    body = b'{"stuff":"5"}'
    signed = delivery(body, sig="nfPLN16u3vMvv08ghDs+dOkLuirEVDy5wAeG/lmM2OA=")

    with pytest.raises(WebhookRejected) as caught:
        plugin.handle_webhook(signed)

    assert caught.value.status_code == 400  # the signature was fine; the shape is not


def test_legacy_notifications_become_events():
    events = plugin.handle_webhook(delivery(LEGACY))

    assert [(e.external_account_id, e.entity, e.entity_id, e.operation) for e in events] == [
        ("1185883450", "Customer", "1", "create"),
        ("1185883450", "Vendor", "1", "create"),
    ]
    when = dt.datetime(2015, 10, 5, 21, 42, 19, tzinfo=dt.UTC)
    assert events[0].occurred_at == when
    assert events[0].dedupe_key == "1185883450:Customer:1:create:2015-10-05T21:42:19+00:00"


def test_cloud_events_become_events():
    events = plugin.handle_webhook(delivery(CLOUD_EVENTS))

    assert len(events) == 1
    event = events[0]
    assert (event.external_account_id, event.entity, event.entity_id, event.operation) == (
        "310687",
        "Account",
        "1234",
        "create",
    )
    assert event.occurred_at == dt.datetime(2025, 9, 10, 21, 31, 25, 179851, tzinfo=dt.UTC)
    assert event.dedupe_key == "310687:Account:1234:create:2025-09-10T21:31:25+00:00"


def test_both_formats_give_the_same_key_for_the_same_change():
    legacy = json.dumps(
        {
            "eventNotifications": [
                {
                    "realmId": "42",
                    "dataChangeEvent": {
                        "entities": [
                            {
                                "name": "Invoice",
                                "id": "130",
                                "operation": "Void",
                                "lastUpdated": "2026-11-23T09:00:00.000Z",
                            }
                        ]
                    },
                }
            ]
        }
    ).encode()
    cloud = json.dumps(
        [
            {
                "specversion": "1.0",
                "id": "e1",
                "type": "qbo.invoice.voided.v1",
                "time": "2026-11-23T09:00:00.000000000Z",
                "intuitentityid": "130",
                "intuitaccountid": "42",
                "data": {},
            }
        ]
    ).encode()

    [from_legacy] = plugin.handle_webhook(delivery(legacy))
    [from_cloud] = plugin.handle_webhook(delivery(cloud))

    assert from_legacy == from_cloud
    assert from_cloud.entity == "Invoice" and from_cloud.operation == "void"


def test_cloud_events_of_several_companies_and_operations():
    events = [
        {"type": f"qbo.{entity}.{verb}.v1", "time": "2026-11-23T09:00:00Z",
         "intuitentityid": str(n), "intuitaccountid": realm, "specversion": "1.0", "id": str(n)}
        for n, (entity, verb, realm) in enumerate(
            [("invoice", "updated", "1"), ("payment", "created", "2"),
             ("invoice", "deleted", "1"), ("invoice", "emailed", "1"),
             ("customer", "merged", "2"), ("invoice", "teleported", "1")]
        )
    ]

    parsed = plugin.handle_webhook(delivery(json.dumps(events).encode()))

    assert [(e.external_account_id, e.entity, e.operation) for e in parsed] == [
        ("1", "Invoice", "update"),
        ("2", "Payment", "create"),
        ("1", "Invoice", "delete"),
        ("1", "Invoice", "emailed"),
        ("2", "Customer", "merge"),
    ]


def test_an_empty_delivery_is_valid_and_says_nothing():
    assert plugin.handle_webhook(delivery(b"[]")) == []
    assert plugin.handle_webhook(delivery(b'{"eventNotifications": []}')) == []


@pytest.mark.parametrize(
    "tamper",
    [
        lambda body: body.replace(b"1185883450", b"1185883451"),
        lambda body: body + b" ",
        lambda body: json.dumps(json.loads(body)).encode(),  # same JSON, other bytes
    ],
    ids=["changed-realm", "trailing-space", "re-encoded"],
)
def test_tampered_bytes_are_refused_with_401(tamper):
    signed = signature(TOKEN, LEGACY)

    with pytest.raises(WebhookRejected) as caught:
        plugin.handle_webhook(delivery(tamper(LEGACY), sig=signed))

    assert caught.value.status_code == 401


@pytest.mark.parametrize(
    ("sig", "token"),
    [
        (None, None),  # no verifier token configured
        ("", TOKEN),  # empty header
        ("not base64!!", TOKEN),
        (signature("another-token", LEGACY), TOKEN),
    ],
    ids=["no-token", "empty", "not-base64", "wrong-key"],
)
def test_missing_or_wrong_signatures_are_refused_with_401(sig, token):
    signed = delivery(LEGACY, sig=sig, token=token)
    if sig is None:
        assert "intuit-signature" not in signed.headers

    with pytest.raises(WebhookRejected) as caught:
        plugin.handle_webhook(signed)

    assert caught.value.status_code == 401


def test_a_missing_header_is_refused_with_401():
    unsigned = WebhookDelivery(
        config=plugin_config(WEBHOOK_VERIFIER_TOKEN=TOKEN),
        headers={},
        body=LEGACY,
        received_at=dt.datetime(2026, 11, 23, tzinfo=dt.UTC),
    )

    with pytest.raises(WebhookRejected) as caught:
        plugin.handle_webhook(unsigned)

    assert caught.value.status_code == 401
    assert "missing" in caught.value.message


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"\xff\xfe",
        b'"a string"',
        b'{"something": "else"}',
        b'{"eventNotifications": {"realmId": "1"}}',
        b'{"eventNotifications": [{"dataChangeEvent": {"entities": []}}]}',
        b'{"eventNotifications": [{"realmId": "1", "dataChangeEvent": {"entities": '
        b'[{"name": "Invoice", "id": "1", "operation": "Update"}]}}]}',
        b'[{"type": "qbo.invoice.updated.v1", "intuitentityid": "1"}]',
        b'[{"type": "qbo.invoice.updated.v1", "intuitentityid": "1", "intuitaccountid": "2",'
        b' "time": "yesterday"}]',
        b"[1, 2]",
    ],
    ids=[
        "broken-json",
        "not-utf8",
        "string",
        "other-object",
        "notifications-not-a-list",
        "no-realm",
        "no-lastUpdated",
        "no-account",
        "bad-time",
        "not-events",
    ],
)
def test_malformed_bodies_with_a_valid_signature_are_refused_with_400(body):
    with pytest.raises(WebhookRejected) as caught:
        plugin.handle_webhook(delivery(body))

    assert caught.value.status_code == 400
