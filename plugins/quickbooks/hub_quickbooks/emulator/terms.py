"""Rules of QuickBooks' sales terms (``Term``) and the due dates they give invoices."""

from __future__ import annotations

import calendar
import datetime as dt
from decimal import Decimal

from . import faults
from .company import name_key
from .entities import Context, check_name
from .values import JsonObject, bool_of, decimal_of, text_of

#: The terms a new company has, as (Name, DueDays); SalesFormsPrefs.DefaultTerms is Net 30.
SEEDED_TERMS = (("Due on receipt", 0), ("Net 15", 15), ("Net 30", 30), ("Net 60", 60))
DEFAULT_TERM = "Net 30"

# Limits are not in the sources; these are the values QuickBooks' term form allows.
_DAY_FIELDS = {
    "DueDays": (0, 999),
    "DiscountDays": (0, 999),
    "DayOfMonthDue": (1, 31),
    "DueNextMonthDays": (0, 31),
    "DiscountDayOfMonth": (1, 31),
}


def _whole(data: JsonObject, key: str) -> int | None:
    if data.get(key) is None:
        return None
    number = decimal_of(data[key], key)
    low, high = _DAY_FIELDS[key]
    if number != number.to_integral_value() or not low <= number <= high:
        # Invented wording: no captured Fault exists for an out-of-range term field.
        raise faults.business(f"{key} must be a whole number from {low} to {high}.")
    return int(number)


def build_term(ctx: Context, data: JsonObject, existing: JsonObject | None) -> JsonObject:
    """A Term: unique Name (31 characters), STANDARD (DueDays) or DATE_DRIVEN."""
    name = text_of(data, "Name", maximum=31)
    if name is None:
        raise faults.required("Name")
    check_name(name, "Name")
    for term in ctx.company.live("Term"):
        if name_key(term["Name"]) == name_key(name) and term["Id"] != (existing or {}).get("Id"):
            raise faults.duplicate_name(term["Id"])
    values = {key: _whole(data, key) for key in _DAY_FIELDS}
    obj: JsonObject = {"Name": name, "Active": bool_of(data, "Active", True)}
    keep: tuple[str, ...]
    # Type is read-only: STANDARD "if DueDays not null", else DATE_DRIVEN (D-REF).
    if values["DueDays"] is not None:
        if values["DayOfMonthDue"] is not None:
            raise faults.business("A term has either DueDays or DayOfMonthDue, not both.")
        obj["Type"] = "STANDARD"
        keep = ("DueDays", "DiscountDays")
    elif values["DayOfMonthDue"] is not None:
        obj["Type"] = "DATE_DRIVEN"
        keep = ("DayOfMonthDue", "DueNextMonthDays", "DiscountDayOfMonth")
    else:
        raise faults.required("DueDays")
    if data.get("DiscountPercent") is not None:
        percent = decimal_of(data["DiscountPercent"], "DiscountPercent")
        if not Decimal(0) <= percent <= Decimal(100):
            raise faults.business("DiscountPercent must be from 0 to 100.")
        obj["DiscountPercent"] = float(percent)
    for key in keep:
        if values[key] is not None:
            obj[key] = values[key]
    return obj


def _day_in(year: int, month: int, day: int) -> dt.date:
    return dt.date(year, month, min(day, calendar.monthrange(year, month)[1]))


def due_date(term: JsonObject, txn_date: dt.date) -> dt.date:
    """When an invoice dated ``txn_date`` on ``term`` falls due."""
    if term.get("Type") != "DATE_DRIVEN":
        return txn_date + dt.timedelta(days=int(term.get("DueDays") or 0))
    # DATE_DRIVEN: due on DayOfMonthDue; an invoice dated within DueNextMonthDays of that
    # day (or after it) is due the month after (D-REF; the boundary is an inference).
    day = int(term.get("DayOfMonthDue") or 1)
    due = _day_in(txn_date.year, txn_date.month, day)
    if (due - txn_date).days < int(term.get("DueNextMonthDays") or 0) or due < txn_date:
        year, month = divmod(txn_date.year * 12 + txn_date.month, 12)
        due = _day_in(year, month + 1, day)
    return due
