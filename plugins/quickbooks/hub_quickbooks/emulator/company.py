"""One company's books in memory: objects by entity and Id, with the indexes rules need."""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .regions import REGIONS, RegionProfile
from .values import JsonObject, copy_json, stored_decimal

#: Entities whose DisplayName shares one namespace (QuickBooks' "name list").
PARTY_ENTITIES = ("Customer", "Vendor", "Employee")
#: How long a ``requestid`` answer is kept for replay.
REPLAY_RETENTION = dt.timedelta(hours=24)


def name_key(name: str) -> str:
    """How QuickBooks compares names: case and surrounding space do not count."""
    return " ".join(name.split()).casefold()


@dataclass(frozen=True)
class Replay:
    """The first answer given to a ``requestid``, replayed byte for byte."""

    status: int
    body: bytes
    content_type: str
    stored_at: dt.datetime


class Company:
    """The books of one realm."""

    def __init__(self, realm_id: str, region: str) -> None:
        self.realm_id = realm_id
        self.region = region
        self.objects: dict[str, dict[str, JsonObject]] = {}
        self.next_ids: dict[str, int] = {}
        self.tombstones: dict[str, dict[str, str]] = {}
        self.replays: OrderedDict[str, Replay] = OrderedDict()
        self.next_doc_number = 1001
        self.next_address_id = 1
        # Indexes, rebuilt from the objects on load.
        self.party_names: dict[str, tuple[str, str]] = {}
        self.item_names: dict[str, str] = {}
        self.account_names: dict[str, str] = {}
        #: Invoice DocNumber (case-folded) -> Ids of the invoices using it.
        self.doc_numbers: dict[str, set[str]] = {}
        self.applied: dict[str, dict[str, Decimal]] = {}
        #: Customer Id -> what its invoices still await.
        self.open_balances: dict[str, Decimal] = {}

    @property
    def profile(self) -> RegionProfile:
        """What this company's country decides (tax model, currency, fiscal year)."""
        return REGIONS[self.region]

    @property
    def country(self) -> str:
        """CompanyInfo.Country."""
        return self.profile.country

    @property
    def currency(self) -> str:
        """The home currency ("cannot be changed", QUICKBOOKS.md 12.3)."""
        return self.profile.currency

    # --- objects -----------------------------------------------------------------------

    def new_id(self, entity: str) -> str:
        """The next Id of ``entity`` in this company ("1", "2", ...)."""
        number = self.next_ids.get(entity, 1)
        self.next_ids[entity] = number + 1
        return str(number)

    def new_address_id(self) -> str:
        """The next Id for a physical address."""
        number = self.next_address_id
        self.next_address_id += 1
        return str(number)

    def get(self, entity: str, object_id: str) -> JsonObject | None:
        """A live object, or None."""
        return self.objects.get(entity, {}).get(object_id)

    def live(self, entity: str) -> list[JsonObject]:
        """Every live object of one kind, in Id order."""
        return list(self.objects.get(entity, {}).values())

    def is_deleted(self, entity: str, object_id: str) -> bool:
        """Whether the object existed and was deleted."""
        return object_id in self.tombstones.get(entity, {})

    def put(self, entity: str, obj: JsonObject) -> None:
        """Insert or replace an object and keep the indexes right.

        Stored objects are never changed in place: a change is a new dict put here.
        """
        table = self.objects.setdefault(entity, {})
        previous = table.get(obj["Id"])
        if previous is not None:
            self._unindex(entity, previous)
        table[obj["Id"]] = obj
        self._index(entity, obj)

    def remove(self, entity: str, object_id: str, deleted_at: str) -> None:
        """Delete an object, leaving a tombstone for change data capture."""
        obj = self.objects.get(entity, {}).pop(object_id, None)
        if obj is not None:
            self._unindex(entity, obj)
        self.tombstones.setdefault(entity, {})[object_id] = deleted_at

    def _index(self, entity: str, obj: JsonObject) -> None:
        object_id = obj["Id"]
        if entity in PARTY_ENTITIES and obj.get("DisplayName"):
            self.party_names[name_key(obj["DisplayName"])] = (entity, object_id)
        elif entity == "Item" and obj.get("Name"):
            self.item_names[name_key(obj.get("FullyQualifiedName") or obj["Name"])] = object_id
        elif entity == "Account" and obj.get("Name"):
            self.account_names[name_key(obj.get("FullyQualifiedName") or obj["Name"])] = object_id
        elif entity == "Invoice":
            if obj.get("DocNumber"):
                self.doc_numbers.setdefault(obj["DocNumber"].casefold(), set()).add(object_id)
            customer = (obj.get("CustomerRef") or {}).get("value")
            if customer:
                self.open_balances[customer] = self.open_balances.get(
                    customer, Decimal(0)
                ) + stored_decimal(obj.get("Balance"))
        elif entity == "Payment":
            for invoice_id, amount in payment_links(obj).items():
                self.applied.setdefault(invoice_id, {})[object_id] = amount

    def _unindex(self, entity: str, obj: JsonObject) -> None:
        object_id = obj["Id"]
        if entity in PARTY_ENTITIES and obj.get("DisplayName"):
            key = name_key(obj["DisplayName"])
            if self.party_names.get(key) == (entity, object_id):
                del self.party_names[key]
        elif entity == "Item" and obj.get("Name"):
            key = name_key(obj.get("FullyQualifiedName") or obj["Name"])
            if self.item_names.get(key) == object_id:
                del self.item_names[key]
        elif entity == "Account" and obj.get("Name"):
            key = name_key(obj.get("FullyQualifiedName") or obj["Name"])
            if self.account_names.get(key) == object_id:
                del self.account_names[key]
        elif entity == "Invoice":
            number = str(obj.get("DocNumber") or "").casefold()
            holders = self.doc_numbers.get(number)
            if holders is not None:
                holders.discard(object_id)
                if not holders:
                    del self.doc_numbers[number]
            customer = (obj.get("CustomerRef") or {}).get("value")
            if customer:
                self.open_balances[customer] = self.open_balances.get(
                    customer, Decimal(0)
                ) - stored_decimal(obj.get("Balance"))
        elif entity == "Payment":
            for invoice_id in payment_links(obj):
                links = self.applied.get(invoice_id)
                if links is not None:
                    links.pop(object_id, None)
                    if not links:
                        del self.applied[invoice_id]

    def paid(self, invoice_id: str, *, without: str | None = None) -> Decimal:
        """What live payments (other than ``without``) apply to an invoice."""
        links = self.applied.get(invoice_id, {})
        return sum(
            (amount for payment_id, amount in links.items() if payment_id != without),
            Decimal(0),
        )

    # --- requestid replays ---------------------------------------------------------------

    def replay(self, request_id: str, now: dt.datetime) -> Replay | None:
        """The stored answer to ``request_id``, if it is still kept."""
        self._expire(now)
        return self.replays.get(request_id)

    def remember(self, request_id: str, replay: Replay) -> None:
        """Keep an answer for later replays of the same ``request_id``."""
        self.replays[request_id] = replay

    def _expire(self, now: dt.datetime) -> None:
        while self.replays:
            oldest = next(iter(self.replays.values()))
            if now - oldest.stored_at < REPLAY_RETENTION:
                return
            self.replays.popitem(last=False)

    # --- persistence -------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """This company as JSON."""
        return {
            "realm_id": self.realm_id,
            "region": self.region,
            "objects": copy_json(self.objects),
            "next_ids": dict(self.next_ids),
            "tombstones": copy_json(self.tombstones),
            "next_doc_number": self.next_doc_number,
            "next_address_id": self.next_address_id,
            "replays": {
                request_id: {
                    "status": replay.status,
                    "body": replay.body.decode("utf-8"),
                    "content_type": replay.content_type,
                    "stored_at": replay.stored_at.isoformat(),
                }
                for request_id, replay in self.replays.items()
            },
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Company:
        """A company saved by ``to_dict``."""
        company = cls(str(data["realm_id"]), _saved_region(data))
        company.next_ids = {str(k): int(v) for k, v in data.get("next_ids", {}).items()}
        company.tombstones = copy_json(data.get("tombstones", {}))
        company.next_doc_number = int(data.get("next_doc_number", 1001))
        company.next_address_id = int(data.get("next_address_id", 1))
        for entity, table in data.get("objects", {}).items():
            for obj in table.values():
                company.put(entity, copy_json(obj))
        for request_id, saved in data.get("replays", {}).items():
            company.replays[request_id] = Replay(
                status=int(saved["status"]),
                body=saved["body"].encode("utf-8"),
                content_type=str(saved["content_type"]),
                stored_at=dt.datetime.fromisoformat(saved["stored_at"]),
            )
        return company


def _saved_region(data: dict[str, Any]) -> str:
    # State files written before regions existed kept only the CompanyInfo country.
    region = str(data.get("region") or data.get("country") or "AU").upper()
    region = {"GB": "UK"}.get(region, region)
    return region if region in REGIONS else "AU"


def payment_links(payment: JsonObject) -> dict[str, Decimal]:
    """Invoice Id -> amount a payment applies to it, from its lines."""
    links: dict[str, Decimal] = {}
    for line in payment.get("Line") or []:
        for txn in line.get("LinkedTxn") or []:
            if txn.get("TxnType") == "Invoice" and txn.get("TxnId"):
                invoice_id = str(txn["TxnId"])
                links[invoice_id] = links.get(invoice_id, Decimal(0)) + stored_decimal(
                    line.get("Amount")
                )
    return links
