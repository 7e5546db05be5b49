"""QuickBooks' refusals told as sentences a person can act on.

Each refusal a user can meet on the push path (QUICKBOOKS.md 2.11, 12.2.3, 12.4)
becomes what happened and how to fix it, with where the fix is made; QuickBooks' own
words are kept as ``provider_detail`` for support. Anything else keeps QuickBooks'
words, which are still better than a code.
"""

from __future__ import annotations

import re

from hub.types import FixPlace, RecordError
from hub_quickbooks.errors import DUPLICATE_DOC_NUMBER, DUPLICATE_NAME, Fault

TAX_RATE_MISSING = re.compile(r"(GST|VAT|GST/HST|tax) rate before you save", re.I)
TAX_CALCULATION = re.compile(r"calculating tax", re.I)
CURRENCY = re.compile(r"currenc", re.I)
SUPPLIED_LENGTH = re.compile(r"Max:(\d+).*?Supplied length:(\d+)", re.S)


def explain(
    fault: Fault, *, subject: str, support_reference: str | None, number: str | None = None
) -> RecordError:
    """A refusal of ``subject`` ("the invoice INV-1", "the customer 'Alex Chen'")."""
    message, fix_in = _sentence(fault, subject, number)
    return RecordError(
        code=fault.code or "rejected",
        message=message,
        retryable=False,
        support_reference=support_reference,
        provider_detail=provider_detail(fault),
        fix_in=fix_in,
    )


def inactive_tax_code(
    fault: Fault, *, subject: str, code_name: str, support_reference: str | None
) -> RecordError:
    """QuickBooks refused ``subject`` because a mapped tax code was made inactive there."""
    return RecordError(
        code=fault.code or "610",
        message=f"QuickBooks refused {subject}: its tax code “{code_name}” has been made "
        "inactive in QuickBooks. Make it active again there, or choose another code on the "
        "mapping page; then it is sent again.",
        support_reference=support_reference,
        provider_detail=provider_detail(fault),
        fix_in="mapping",
    )


def provider_detail(fault: Fault) -> str:
    """QuickBooks' own words: each error's code, message and detail."""
    return "; ".join(
        f"{error.code} {error.describe()}".strip() for error in fault.errors
    ) or fault.type


def _sentence(fault: Fault, subject: str, number: str | None) -> tuple[str, FixPlace | None]:
    text = " ".join(f"{e.message} {e.detail} {e.element}" for e in fault.errors)
    what = subject[:1].upper() + subject[1:]
    if fault.has_code("6000") and TAX_RATE_MISSING.search(text):
        return (
            f"QuickBooks refused {subject}: it needs a tax code on every line, and one "
            "was missing. Choose the tax codes on the mapping page; then it is sent again.",
            "mapping",
        )
    if fault.has_code("6000") and TAX_CALCULATION.search(text):
        return (
            f"QuickBooks could not work out the tax on {subject} with the tax code chosen "
            "for its lines (perhaps a code meant for purchases). Choose a sales tax code "
            "on the mapping page; then it is sent again.",
            "mapping",
        )
    if "TaxCodeRef" in text and fault.has_code("2500", "610", "6100"):
        return (
            f"QuickBooks refused {subject}: the tax code chosen for its lines no longer "
            "exists or was made inactive. Choose another on the mapping page (read the "
            "choices again first); then it is sent again.",
            "mapping",
        )
    if fault.has_code("6000") and CURRENCY.search(text):
        return (
            f"QuickBooks refused {subject} because of its currency: the company does not "
            "use it, or the customer keeps another one. Change the invoice's currency in "
            "Coordinoter, or turn on multicurrency in QuickBooks, then retry.",
            "invoice",
        )
    if fault.has_code(DUPLICATE_NAME):
        return (
            f"QuickBooks already uses the name of {subject} for another customer, supplier "
            "or employee (perhaps an inactive one). Rename or reactivate it in QuickBooks, "
            "then retry.",
            "provider",
        )
    if fault.has_code(DUPLICATE_DOC_NUMBER):
        shown = f" {number}" if number else ""
        return (
            f"QuickBooks already has an invoice numbered{shown}. Give {subject} another "
            "number in Coordinoter (or renumber the other one in QuickBooks); then it is "
            "sent again.",
            "invoice",
        )
    if fault.has_code("2050"):
        lengths = SUPPLIED_LENGTH.search(text)
        field = next((e.element for e in fault.errors if e.element), "a text field")
        limit = (
            f" (at most {lengths.group(1)} characters, not {lengths.group(2)})" if lengths else ""
        )
        fix: FixPlace = "invoice" if "DocNumber" in field else "provider"
        return (
            f"QuickBooks refused {subject}: {field} is too long{limit}. Shorten it in "
            "Coordinoter; then it is sent again.",
            fix,
        )
    if fault.has_code("610") and "deleted" in text.lower():
        return (
            f"QuickBooks no longer has {subject}: it was deleted there, so this change "
            "could not be sent. The invoice is kept here.",
            "provider",
        )
    if fault.has_code("610", "2500"):
        return (
            f"{what} refers to something QuickBooks no longer has, or has made inactive: "
            "its customer, an item or a tax code. Make it active again in QuickBooks (or "
            "choose another tax code on the mapping page), then retry.",
            "provider",
        )
    return f"QuickBooks refused {subject}: {fault.describe()}", None
