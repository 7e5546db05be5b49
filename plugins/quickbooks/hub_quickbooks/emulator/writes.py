"""Writes to one company: create, full and sparse update, delete, void and send.

Each write validates everything first, then commits, then settles what depends on it
(invoice balances, customer balances) and records the committed ``Change``s.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

from . import faults
from .catalog import DERIVED, NOTIFIED, SPARSE_INPUTS, SPECS, WRITABLE
from .company import Company
from .entities import Context
from .invoices import check_deletable_invoice, send_invoice, void_invoice
from .outcome import Change
from .payments import (
    payment_invoices,
    refresh_customer_balance,
    settle_invoices,
    void_payment,
)
from .rules import BookRules
from .values import (
    JsonObject,
    bool_of,
    clean,
    copy_json,
    copy_object,
    dump,
    meta_time,
    sync_token_of,
    text_of,
)

logger = logging.getLogger(__name__)

#: Keys of a body that are never copied into an object.
_SERVER_KEYS = frozenset({"Id", "SyncToken", "sparse", "domain", "MetaData", "status"})


def _body(data: Any) -> JsonObject:
    if not isinstance(data, dict):
        raise faults.invalid_property("the request body must be a JSON object")
    cleaned = clean(data)
    return cleaned if isinstance(cleaned, dict) else {}


@dataclass
class Writer:
    """Writes to one company at one moment."""

    company: Company
    now: dt.datetime  # whole seconds, UTC: what MetaData shows
    include: frozenset[str] = frozenset()
    changes: list[Change] = field(default_factory=list)
    rules: BookRules = field(default_factory=BookRules)

    @property
    def stamp(self) -> str:
        """This write's MetaData time."""
        return meta_time(self.now)

    def context(self) -> Context:
        """What the entity rules need."""
        return Context(self.company, self.now, self.now.date(), self.include, self.rules)

    def _record(self, entity: str, object_id: str, operation: str) -> None:
        if entity in NOTIFIED:
            self.changes.append(
                Change(self.company.realm_id, entity, object_id, operation, self.now)
            )

    # --- dispatch --------------------------------------------------------------------

    def dispatch(self, entity: str, operation: str, data: Any) -> JsonObject:
        """Run ``operation`` ("create", "update", "delete", "void", or "" to infer)."""
        body = _body(data)
        kind = SPECS[entity].kind
        if kind in ("tax", "settings"):
            # Read-only through the API (see catalog.SPECS).
            verb = operation or ("update" if body.get("Id") is not None else "create")
            raise faults.unsupported(verb.capitalize())
        if operation == "delete":
            return self.delete(entity, body)
        if operation == "void":
            return self.void(entity, body)
        if operation == "update" or (operation == "" and body.get("Id") is not None):
            return self.update(entity, body)
        if operation in ("", "create"):
            return self.create(entity, body)
        raise faults.unsupported(operation)

    # --- create and update -------------------------------------------------------------

    def create(self, entity: str, body: JsonObject) -> JsonObject:
        """A new object."""
        spec = SPECS[entity]
        if spec.kind == "company":
            raise faults.unsupported("Create")
        data = {key: value for key, value in body.items() if key not in _SERVER_KEYS}
        obj = spec.build(self.context(), data, None)
        object_id = self.company.new_id(entity)
        _finish(obj, object_id, "0", self.stamp, self.stamp)
        self.company.put(entity, obj)
        self._record(entity, object_id, "Create")
        self._settle(entity, None, obj)
        return obj

    def create_company_info(self, body: JsonObject) -> JsonObject:
        """The company's one CompanyInfo, made when the company is opened."""
        obj = SPECS["CompanyInfo"].build(self.context(), body, None)
        _finish(obj, self.company.new_id("CompanyInfo"), "0", self.stamp, self.stamp)
        self.company.put("CompanyInfo", obj)
        return obj

    def seed(self, entity: str, object_id: str, body: JsonObject) -> JsonObject:
        """Store an object a new company starts with, as given (no rules, no change)."""
        obj = copy_object(body)
        _finish(obj, object_id, "0", self.stamp, self.stamp)
        self.company.put(entity, obj)
        number = int(object_id) if object_id.isdigit() else 0
        self.company.next_ids[entity] = max(self.company.next_ids.get(entity, 1), number + 1)
        return obj

    def update(self, entity: str, body: JsonObject, *, operation: str = "Update") -> JsonObject:
        """A full update, or a sparse one when the body says ``"sparse": true``."""
        existing = self._current(entity, body)
        sparse = bool_of(body, "sparse", False)
        sent = {key: value for key, value in body.items() if key not in _SERVER_KEYS}
        if sparse:
            data = _sparse_base(entity, existing)
            data.update(sent)
        else:
            data = sent
        return self._rebuild(entity, existing, data, operation)

    def _rebuild(
        self, entity: str, existing: JsonObject, data: JsonObject, operation: str
    ) -> JsonObject:
        obj = SPECS[entity].build(self.context(), data, existing)
        _finish(
            obj,
            existing["Id"],
            _next_token(existing),
            existing["MetaData"]["CreateTime"],
            self.stamp,
        )
        self.company.put(entity, obj)
        self._record(entity, obj["Id"], operation)
        self._settle(entity, existing, obj)
        return obj

    def edit(self, entity: str, object_id: str, changes: JsonObject) -> JsonObject:
        """What a person changes in QuickBooks' own screens: no SyncToken, and settings or
        tax codes the API only reads may change too. Raises KeyError for no such object."""
        existing = self.company.get(entity, object_id)
        if existing is None:
            raise KeyError(object_id)
        if SPECS[entity].kind in ("tax", "settings"):
            obj = copy_object(existing)
            merge(obj, changes)
            _finish(
                obj,
                object_id,
                _next_token(existing),
                existing.get("MetaData", {}).get("CreateTime", self.stamp),
                self.stamp,
            )
            self.company.put(entity, obj)
            self._record(entity, object_id, "Update")
            return obj
        data = _sparse_base(entity, existing)
        merge(data, changes)
        return self._rebuild(entity, existing, clean(data) or {}, "Update")

    def _current(self, entity: str, body: JsonObject) -> JsonObject:
        """The stored object a write names, after the SyncToken check."""
        object_id = text_of(body, "Id")
        if object_id is None:
            raise faults.required("Id")
        existing = self.company.get(entity, object_id)
        if existing is None:
            if self.company.is_deleted(entity, object_id):
                raise faults.deleted()
            raise faults.not_found()
        token = sync_token_of(body)
        if token is None:
            raise faults.required("SyncToken")
        if token != existing["SyncToken"]:
            raise faults.stale()
        return existing

    # --- delete, void, send ------------------------------------------------------------

    def delete(self, entity: str, body: JsonObject) -> JsonObject:
        """Delete a transaction; name lists only ever become inactive."""
        if entity == "Term":
            # A Term "delete" answers the Term made inactive, SyncToken + 1 (12.4).
            return self.update(entity, {**body, "sparse": True, "Active": False},
                               operation="Delete")  # fmt: skip
        if SPECS[entity].kind != "transaction":
            raise faults.unsupported("Delete")
        existing = self._current(entity, body)
        if entity == "Invoice":
            check_deletable_invoice(existing, self.company)
        self.company.remove(entity, existing["Id"], self.stamp)
        self._record(entity, existing["Id"], "Delete")
        self._settle(entity, existing, None)
        return {"status": "Deleted", "domain": "QBO", "Id": existing["Id"]}

    def void(self, entity: str, body: JsonObject) -> JsonObject:
        """Void an invoice or a payment: amounts become zero, the record stays."""
        if entity not in ("Invoice", "Payment"):
            raise faults.unsupported("Void")
        existing = self._current(entity, body)
        obj = copy_object(existing)
        if entity == "Invoice":
            void_invoice(obj, self.company)
        else:
            void_payment(obj)
        _finish(
            obj,
            existing["Id"],
            _next_token(existing),
            existing["MetaData"]["CreateTime"],
            self.stamp,
        )
        self.company.put(entity, obj)
        self._record(entity, obj["Id"], "Void")
        self._settle(entity, existing, obj)
        return obj

    def send(self, invoice_id: str, send_to: str | None) -> JsonObject:
        """Email an invoice (``/invoice/{id}/send``)."""
        existing = self.company.get("Invoice", invoice_id)
        if existing is None:
            raise faults.not_found()
        obj = copy_object(existing)
        send_invoice(obj, send_to, self.now)
        _finish(
            obj,
            existing["Id"],
            _next_token(existing),
            existing["MetaData"]["CreateTime"],
            self.stamp,
        )
        self.company.put("Invoice", obj)
        self._record("Invoice", obj["Id"], "Emailed")
        return obj

    # --- consequences ------------------------------------------------------------------

    def _settle(self, entity: str, before: JsonObject | None, after: JsonObject | None) -> None:
        """Carry a committed write over to the invoices and customers it affects."""
        customers: set[str] = set()
        if entity == "Payment":
            touched = payment_invoices(before) | payment_invoices(after)
            for invoice in settle_invoices(self.company, touched, self.now):
                self._record("Invoice", invoice["Id"], "Update")
                customers.add(invoice["CustomerRef"]["value"])
        elif entity == "Invoice":
            for obj in (before, after):
                if obj is not None:
                    customers.add(obj["CustomerRef"]["value"])
        for customer_id in customers:
            refresh_customer_balance(self.company, customer_id)


def _sparse_base(entity: str, existing: JsonObject) -> JsonObject:
    """What a sparse change starts from: the stored object's writable properties."""
    writable = WRITABLE[entity]
    data = {k: copy_json(v) for k, v in existing.items() if k in writable and k not in DERIVED}
    for key, inputs in SPARSE_INPUTS.items():
        stored = existing.get(key)
        if key in writable and isinstance(stored, dict):
            kept = {name: copy_json(stored[name]) for name in inputs if name in stored}
            if kept:
                data[key] = kept
    return data


def merge(target: JsonObject, changes: JsonObject) -> None:
    """Apply ``changes`` to ``target`` in place: nested objects merge, the rest replaces."""
    for key, value in changes.items():
        if key in _SERVER_KEYS:
            continue
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            merge(target[key], value)
        else:
            target[key] = copy_json(value)


def _next_token(obj: JsonObject) -> str:
    return str(int(obj.get("SyncToken") or 0) + 1)


def _finish(obj: JsonObject, object_id: str, token: str, created: str, updated: str) -> None:
    """The fields QuickBooks puts on every object; a last check before it is stored."""
    try:
        dump(obj)
    except (TypeError, ValueError) as err:
        # A client value slipped through unconverted: refuse it rather than store it.
        logger.warning("refused an object that is not plain JSON: %s", err)
        raise faults.invalid_property(str(err)[:100]) from err
    obj["domain"] = "QBO"
    obj["sparse"] = False
    obj["Id"] = object_id
    obj["SyncToken"] = token
    obj["MetaData"] = {"CreateTime": created, "LastUpdatedTime": updated}
