"""What every entity's rules share, and the rules of Customer, Vendor, Employee and
CompanyInfo.

A builder turns a cleaned request body into the object QuickBooks stores (without Id,
SyncToken and MetaData, which the books add), or raises the Fault QuickBooks answers.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import faults
from .company import Company, name_key
from .currency import checked_currency, currency_ref
from .rules import BookRules
from .values import (
    JsonObject,
    bool_of,
    date_of,
    decimal_of,
    list_of,
    object_of,
    plain,
    ref_id,
    text_of,
)

_FORBIDDEN_IN_NAMES = re.compile(r"[:\t\r\n]")
NAME_PARTS = ("Title", "GivenName", "MiddleName", "FamilyName", "Suffix")

DELIVERY_METHODS = ("Print", "Email", "None")


@dataclass
class Context:
    """What a builder may look at: the company, the time, and request options."""

    company: Company
    now: dt.datetime
    today: dt.date
    include: frozenset[str] = frozenset()
    rules: BookRules = field(default_factory=BookRules)

    def lookup(
        self, entity: str, data: JsonObject, element: str, *, required: bool = False
    ) -> JsonObject | None:
        """The object a reference field points at: 2020 missing, 2500 unknown, 610 inactive."""
        object_id = ref_id(data, element)
        if object_id is None:
            if required:
                raise faults.required(element)
            return None
        obj = self.company.get(entity, object_id)
        if obj is None:
            raise faults.invalid_reference(element, object_id)
        if obj.get("Active") is False:
            raise faults.not_found()
        return obj

    def currency_ref(self, code: str | None = None, noun: str = "transaction") -> JsonObject:
        """A CurrencyRef the company may use, its home currency by default (6000 if not)."""
        return currency_ref(checked_currency(self.company, code, noun))


Builder = Callable[[Context, JsonObject, "JsonObject | None"], JsonObject]


@dataclass(frozen=True)
class Spec:
    """How one entity behaves on the API."""

    name: str
    #: "name" (a name list: never deleted, inactive rows hidden from queries),
    #: "transaction", "company" (CompanyInfo: update only), "tax" (read-only name lists:
    #: TaxCode, TaxRate, TaxAgency) or "settings" (Preferences: read only).
    kind: str

    @property
    def hides_inactive(self) -> bool:
        """Whether queries skip inactive objects unless they filter on Active."""
        return self.kind in ("name", "tax")
    build: Builder


# --- copying plain fields ------------------------------------------------------------


def copy_fields(data: JsonObject, schema: Sequence[tuple[str, str]]) -> JsonObject:
    """The schema's fields present in ``data``, type-checked, as stored JSON."""
    out: JsonObject = {}
    for name, kind in schema:
        if data.get(name) is None:
            continue
        if kind.startswith("text"):
            limit = int(kind.split(":")[1]) if ":" in kind else None
            text = text_of(data, name, maximum=limit)
            if text is not None:
                out[name] = text
        elif kind == "object":
            out[name] = plain(object_of(data, name))
        elif kind == "bool":
            out[name] = bool_of(data, name, False)
        elif kind == "number":
            out[name] = float(decimal_of(data[name], name))
        elif kind == "date":
            day = date_of(data, name)
            if day is not None:
                out[name] = day.isoformat()
        elif kind == "ref":
            value = ref_id(data, name)
            if value is not None:
                out[name] = {"value": value}
        elif kind == "list":
            out[name] = plain(list_of(data, name))
    return out


def check_name(name: str, element: str) -> None:
    """QuickBooks keeps ':' for parent:child names and refuses tabs and new lines."""
    if _FORBIDDEN_IN_NAMES.search(name):
        raise faults.business(f"{element} can't contain a colon (:), a tab or a new line.")


def _address(ctx: Context, value: Any, previous: Any) -> Any:
    """An address keeps its Id across updates; a new one gets the next Id."""
    if not isinstance(value, dict):
        return value
    if "Id" not in value:
        if isinstance(previous, dict) and previous.get("Id"):
            value = {**value, "Id": previous["Id"]}
        else:
            value = {**value, "Id": ctx.company.new_address_id()}
    return value


# --- Customer, Vendor, Employee --------------------------------------------------------

_PARTY_COMMON = (
    ("Title", "text:16"),
    ("GivenName", "text:100"),
    ("MiddleName", "text:100"),
    ("FamilyName", "text:100"),
    ("Suffix", "text:16"),
    ("CompanyName", "text:100"),
    ("PrintOnCheckName", "text:110"),
    ("PrimaryEmailAddr", "object"),
    ("PrimaryPhone", "object"),
    ("Mobile", "object"),
    ("Fax", "object"),
    ("AlternatePhone", "object"),
    ("WebAddr", "object"),
)
_CUSTOMER_FIELDS = (
    *_PARTY_COMMON,
    ("BillAddr", "object"),
    ("ShipAddr", "object"),
    ("Notes", "text:2000"),
    ("ResaleNum", "text:16"),
    ("PreferredDeliveryMethod", "text"),
    ("BusinessNumber", "text"),
    ("GSTIN", "text"),
    ("GSTRegistrationType", "text"),
    ("PrimaryTaxIdentifier", "text"),
    ("TaxExemptionReasonId", "text"),
    ("BillWithParent", "bool"),
    ("PaymentMethodRef", "ref"),
    ("CustomerTypeRef", "ref"),
)
_VENDOR_FIELDS = (
    *_PARTY_COMMON,
    ("BillAddr", "object"),
    ("AcctNum", "text:100"),
    ("TaxIdentifier", "text"),
    ("Vendor1099", "bool"),
    ("TermRef", "ref"),
)
_EMPLOYEE_FIELDS = (
    *_PARTY_COMMON,
    ("PrimaryAddr", "object"),
    ("EmployeeNumber", "text:100"),
    ("Gender", "text"),
    ("BillableTime", "bool"),
    ("HiredDate", "date"),
    ("ReleasedDate", "date"),
    ("BirthDate", "date"),
)
_PARTY_FIELDS = {
    "Customer": _CUSTOMER_FIELDS,
    "Vendor": _VENDOR_FIELDS,
    "Employee": _EMPLOYEE_FIELDS,
}


def _display_name(data: JsonObject) -> str:
    name = text_of(data, "DisplayName", maximum=500)
    if name is None:
        parts = [text_of(data, part) for part in NAME_PARTS]
        name = " ".join(part for part in parts if part) or None
        if name is None:
            company = text_of(data, "CompanyName")
            if company is None:
                raise faults.required("DisplayName")
            name = company
        if len(name) > 500:
            raise faults.string_length("DisplayName", 500, len(name))
    check_name(name, "DisplayName")
    return name


def _unique_party_name(
    ctx: Context, name: str, entity: str, existing: JsonObject | None
) -> None:
    holder = ctx.company.party_names.get(name_key(name))
    if holder is not None and (existing is None or holder != (entity, existing["Id"])):
        raise faults.duplicate_name(holder[1])


def party_builder(entity: str) -> Builder:
    """The builder for Customer, Vendor or Employee."""
    schema = _PARTY_FIELDS[entity]

    def build(ctx: Context, data: JsonObject, existing: JsonObject | None) -> JsonObject:
        name = _display_name(data)
        _unique_party_name(ctx, name, entity, existing)
        obj = copy_fields(data, schema)
        for key in ("BillAddr", "ShipAddr", "PrimaryAddr"):
            if key in obj:
                obj[key] = _address(ctx, obj[key], (existing or {}).get(key))
        obj["DisplayName"] = name
        obj["FullyQualifiedName"] = name
        obj["Active"] = bool_of(data, "Active", True)
        obj.setdefault("PrintOnCheckName", obj.get("CompanyName") or name)
        if entity == "Customer":
            _customer_fields(ctx, data, existing, obj)
        elif entity == "Vendor":
            obj["Balance"] = 0
            obj["CurrencyRef"] = ctx.currency_ref(ref_id(data, "CurrencyRef"), "vendor")
        return obj

    return build


def _customer_fields(
    ctx: Context, data: JsonObject, existing: JsonObject | None, obj: JsonObject
) -> None:
    parent = ctx.lookup("Customer", data, "ParentRef")
    if parent is not None:
        if existing is not None and parent["Id"] == existing["Id"]:
            raise faults.business("A customer can't be its own parent.")
        obj["ParentRef"] = {"value": parent["Id"]}
        obj["Job"] = True
        obj["Level"] = int(parent.get("Level") or 0) + 1
        obj["FullyQualifiedName"] = f"{parent['FullyQualifiedName']}:{obj['DisplayName']}"
    else:
        obj["Job"] = False
        obj["BillWithParent"] = False
    method = obj.get("PreferredDeliveryMethod") or "Print"
    if method not in DELIVERY_METHODS:
        raise faults.invalid_enum("PreferredDeliveryMethod", method)
    obj["PreferredDeliveryMethod"] = method
    obj["Taxable"] = bool_of(data, "Taxable", True)
    if existing is not None and existing.get("CurrencyRef"):
        code = existing["CurrencyRef"]["value"]
        sent = ref_id(data, "CurrencyRef")
        if sent is not None and sent.upper() != code:
            raise faults.business("The currency of a customer can't be changed.")
        obj["CurrencyRef"] = dict(existing["CurrencyRef"])
    else:
        obj["CurrencyRef"] = ctx.currency_ref(ref_id(data, "CurrencyRef"), "customer")
    for key, entity in (("DefaultTaxCodeRef", "TaxCode"), ("SalesTermRef", "Term")):
        ref = ctx.lookup(entity, data, key)
        if ref is not None:
            obj[key] = {"value": ref["Id"]}
    # Balances belong to the invoices; the books keep them current.
    obj["Balance"] = (existing or {}).get("Balance", 0)
    obj["BalanceWithJobs"] = (existing or {}).get("BalanceWithJobs", 0)


# --- CompanyInfo -------------------------------------------------------------------------

_COMPANY_FIELDS = (
    ("CompanyName", "text:1024"),
    ("LegalName", "text:1024"),
    ("CompanyAddr", "object"),
    ("CustomerCommunicationAddr", "object"),
    ("LegalAddr", "object"),
    ("PrimaryPhone", "object"),
    ("Email", "object"),
    ("WebAddr", "object"),
    ("FiscalYearStartMonth", "text"),
    ("CompanyStartDate", "date"),
)


def build_company_info(
    ctx: Context, data: JsonObject, existing: JsonObject | None
) -> JsonObject:
    """CompanyInfo: a name is required; the country and languages are fixed."""
    if text_of(data, "CompanyName") is None:
        raise faults.required("CompanyName")
    obj = copy_fields(data, _COMPANY_FIELDS)
    obj.setdefault("LegalName", obj["CompanyName"])
    obj.setdefault("FiscalYearStartMonth", ctx.company.profile.fiscal_month)
    # Alpha-2, as the US capture writes "US" (12.1); "AU", "GB" and "CA" are inferences.
    obj["Country"] = ctx.company.country
    obj["SupportedLanguages"] = "en"
    obj["NameValue"] = [
        {"Name": "NeoEnabled", "Value": "true"},
        {"Name": "IndustryType", "Value": "Other"},
        {"Name": "OfferingSku", "Value": "QuickBooks Online Plus"},
        {"Name": "SubscriptionStatus", "Value": "SUBSCRIBED"},
    ]
    return obj


def company_info_body(name: str, country: str, start: dt.date) -> JsonObject:
    """The CompanyInfo request a new company is created from."""
    return {
        "CompanyName": name,
        "LegalName": name,
        "CompanyAddr": {"Line1": "1 Example Street", "Country": country},
        "Email": {"Address": "books@example.com"},
        "CompanyStartDate": start.isoformat(),
    }
