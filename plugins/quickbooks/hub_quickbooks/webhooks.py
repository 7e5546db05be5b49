"""QuickBooks webhooks: the ``intuit-signature`` check and both payload formats.

QuickBooks signs the exact body bytes with the app's verifier token (HMAC-SHA256,
base64). The body is either the legacy ``{"eventNotifications": [...]}`` object or,
for apps switched to the new format, a JSON array of CloudEvents; each delivery is
recognised on its own.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
from collections.abc import Mapping
from typing import Any

from hub.errors import WebhookRejected
from hub.types import ChangeEvent, ChangeOperation, WebhookDelivery
from hub_quickbooks.mapping import change_event, parse_datetime

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "intuit-signature"

_OPERATIONS: dict[str, ChangeOperation] = {
    "create": "create",
    "created": "create",
    "update": "update",
    "updated": "update",
    "delete": "delete",
    "deleted": "delete",
    "void": "void",
    "voided": "void",
    "merge": "merge",
    "merged": "merge",
    "emailed": "emailed",
    "email": "emailed",
}

# Entities QuickBooks sends webhooks for, keyed in lower case: CloudEvents spell the
# entity in lower case inside ``type`` while the API and the legacy format capitalise it.
_ENTITIES = {
    name.lower(): name
    for name in (
        "Account", "Bill", "BillPayment", "Budget", "Class", "CreditMemo", "Currency", "Customer",
        "Department", "Deposit", "Employee", "Estimate", "Invoice", "Item", "JournalCode",
        "JournalEntry", "Payment", "PaymentMethod", "Preferences", "Purchase", "PurchaseOrder",
        "RefundReceipt", "SalesReceipt", "TaxAgency", "Term", "TimeActivity", "Transfer",
        "Vendor", "VendorCredit",
    )
}


def signature(verifier_token: str, body: bytes) -> str:
    """The ``intuit-signature`` QuickBooks sends for ``body``."""
    digest = hmac.new(verifier_token.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def verify(delivery: WebhookDelivery) -> None:
    """Check the delivery's signature over its exact bytes; raise a 401 if it is wrong."""
    token = delivery.config.get("WEBHOOK_VERIFIER_TOKEN")
    if not token:
        raise WebhookRejected(
            "QUICKBOOKS_WEBHOOK_VERIFIER_TOKEN is not set, so no QuickBooks webhook can be "
            "verified; copy the verifier token from the app's Webhooks page.",
            status_code=401,
        )
    header = delivery.headers.get(SIGNATURE_HEADER)
    if not header:
        raise WebhookRejected("missing intuit-signature header", status_code=401)
    try:
        received = base64.b64decode(header.strip(), validate=True)
    except (binascii.Error, ValueError) as err:
        raise WebhookRejected("intuit-signature is not base64", status_code=401) from err
    expected = hmac.new(token.encode(), delivery.body, hashlib.sha256).digest()
    if not hmac.compare_digest(expected, received):
        raise WebhookRejected("intuit-signature does not match the body", status_code=401)


def parse(body: bytes) -> list[ChangeEvent]:
    """Parse a verified body (either format) into change events; raise a 400 if malformed."""
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError) as err:  # not JSON, not UTF-8, absurdly nested
        raise WebhookRejected("the body is not JSON", status_code=400) from err
    try:
        if isinstance(payload, list):
            return _cloud_events(payload)
        if isinstance(payload, dict) and "eventNotifications" in payload:
            return _legacy(payload)
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise WebhookRejected(f"malformed QuickBooks webhook: {err}", status_code=400) from err
    raise WebhookRejected(
        "not a QuickBooks webhook: expected eventNotifications or a CloudEvents array",
        status_code=400,
    )


def handle(delivery: WebhookDelivery) -> list[ChangeEvent]:
    """Verify, then parse, one delivery."""
    verify(delivery)
    return parse(delivery.body)


def _legacy(payload: Mapping[str, Any]) -> list[ChangeEvent]:
    events: list[ChangeEvent] = []
    for notification in _list(payload["eventNotifications"]):
        realm_id = _required_text(notification, "realmId")
        change = notification.get("dataChangeEvent") or {}
        for entity in _list(change.get("entities") or []):
            operation = _operation(_required_text(entity, "operation"))
            if operation is None:
                continue
            events.append(
                change_event(
                    realm_id,
                    _entity_name(_required_text(entity, "name")),
                    _required_text(entity, "id"),
                    operation,
                    parse_datetime(_required_text(entity, "lastUpdated")),
                )
            )
    return events


def _cloud_events(payload: list[Any]) -> list[ChangeEvent]:
    events: list[ChangeEvent] = []
    for event in payload:
        if not isinstance(event, Mapping):
            raise TypeError("an event is not an object")
        event_type = _required_text(event, "type")
        # qbo.<entity>.<past-tense operation>.v<n>
        parts = event_type.split(".")
        if len(parts) < 3 or parts[0] != "qbo":
            log.info("ignoring QuickBooks event of unknown type %s", event_type)
            continue
        operation = _operation(parts[2])
        if operation is None:
            continue
        events.append(
            change_event(
                _required_text(event, "intuitaccountid"),
                _entity_name(parts[1]),
                _required_text(event, "intuitentityid"),
                operation,
                parse_datetime(_required_text(event, "time")),
            )
        )
    return events


def _operation(raw: str) -> ChangeOperation | None:
    operation = _OPERATIONS.get(raw.strip().lower())
    if operation is None:
        # A new operation must not make QuickBooks retry the whole delivery forever.
        log.info("ignoring QuickBooks change with unknown operation %s", raw)
    return operation


def _entity_name(raw: str) -> str:
    name = raw.strip()
    return _ENTITIES.get(name.lower(), name[:1].upper() + name[1:])


def _list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise TypeError("expected a list")
    return value


def _required_text(obj: Any, key: str) -> str:
    if not isinstance(obj, Mapping):
        raise TypeError(f"expected an object holding {key}")
    value = obj.get(key)
    if value is None or value == "" or isinstance(value, dict | list):
        raise ValueError(f"{key} is missing")
    return str(value)
