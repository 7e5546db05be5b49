"""The check before a push: what QuickBooks would refuse, or what would go in wrong.

Nothing is written. The only read is one query for the customers already linked to
the batch's participants (30 to a query), to find those made inactive in
QuickBooks: an invoice for an inactive customer is refused.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from hub.types import BatchPayload, InvoicePayload, InvoiceProblem, RemoteRef, TaxTreatment
from hub_quickbooks.client import QuickBooksClient
from hub_quickbooks.mapping import JsonObject
from hub_quickbooks.profile import CompanyProfile
from hub_quickbooks.references import CUSTOMER, ITEM, find_by_id

#: QuickBooks' limit on Invoice.DocNumber (QUICKBOOKS.md 12.4, fault 2050).
DOC_NUMBER_MAX = 21
TREATMENT_WORDS: dict[TaxTreatment, str] = {"gst": "GST", "gst_free": "GST-free"}


async def check_batch(
    client: QuickBooksClient,
    profile: CompanyProfile,
    links: Mapping[tuple[str, str], RemoteRef],
    batch: BatchPayload,
) -> list[InvoiceProblem]:
    """One problem for each invoice that must not be pushed yet, in batch order."""
    problems: dict[int, InvoiceProblem] = {}
    for invoice in batch.invoices:
        if invoice.remote is not None:
            continue  # already in QuickBooks: nothing to check before creating it
        problem = check_invoice(invoice, profile, links)
        if problem is not None:
            problems[invoice.id] = problem
    waiting = [i for i in batch.invoices if i.remote is None and i.id not in problems]
    customers = await linked_customers(client, links, waiting)
    for invoice in waiting:
        customer = customers.get(invoice.participant.id)
        if customer is not None:
            problem = _customer_problem(invoice, customer, profile)
            if problem is not None:
                problems[invoice.id] = problem
    return [problems[i.id] for i in batch.invoices if i.id in problems]


def check_invoice(
    invoice: InvoicePayload,
    profile: CompanyProfile,
    links: Mapping[tuple[str, str], RemoteRef],
) -> InvoiceProblem | None:
    """What is wrong with one invoice for this company, without asking QuickBooks."""
    number = invoice.number
    if len(number) > DOC_NUMBER_MAX:
        return InvoiceProblem(
            invoice.id,
            "number_too_long",
            f"The invoice number {number} has {len(number)} characters; QuickBooks allows "
            f"at most {DOC_NUMBER_MAX}. Give the invoice a shorter number in Coordinoter; "
            "it is then sent by itself.",
            fix_in="invoice",
        )
    currency = invoice.currency.upper()
    if profile.home_currency and currency != profile.home_currency and not profile.multicurrency:
        return InvoiceProblem(
            invoice.id,
            "currency_not_used",
            f"Invoice {number} is in {currency}, but {profile.label} works only in "
            f"{profile.home_currency}. Change the invoice's currency in Coordinoter, or turn "
            "on multicurrency in QuickBooks and read the mapping's choices again.",
            fix_in="invoice",
        )
    problem = _tax_problem(invoice, profile)
    if problem is not None:
        return problem
    new_items = [line.item_code for line in invoice.lines if (ITEM, line.item_code) not in links]
    if new_items and profile.income_account is None:
        return InvoiceProblem(
            invoice.id,
            "income_account_not_mapped",
            f"Invoice {number} uses the item {new_items[0]}, which the hub would create in "
            "QuickBooks, but no income account is chosen for new items. Choose one on the "
            "mapping page; the invoice is then sent by itself.",
            fix_in="mapping",
        )
    return None


def _tax_problem(invoice: InvoicePayload, profile: CompanyProfile) -> InvoiceProblem | None:
    used = sorted({line.tax for line in invoice.lines}, key=("gst", "gst_free").index)
    if profile.tax_model == "none":
        if "gst" in used:
            position = next(n for n, line in enumerate(invoice.lines, 1) if line.tax == "gst")
            return InvoiceProblem(
                invoice.id,
                "company_charges_no_gst",
                f"Invoice {invoice.number} has GST on line {position}, but {profile.label} is "
                "not set up for GST, so QuickBooks would leave the GST out. Set up GST in "
                "QuickBooks (Taxes) and read the mapping's choices again, or make the line "
                "GST-free in Coordinoter.",
                fix_in="provider",
            )
        return None
    missing = [treatment for treatment in used if profile.tax_code(treatment) is None]
    if not missing:
        return None
    words = " and ".join(TREATMENT_WORDS[t] for t in missing)
    return InvoiceProblem(
        invoice.id,
        "tax_code_not_mapped",
        f"Invoice {invoice.number} has {words} lines, and no QuickBooks tax code is chosen "
        f"for {words} lines yet. Choose it on the mapping page; the invoice is then sent "
        "by itself.",
        fix_in="mapping",
    )


async def linked_customers(
    client: QuickBooksClient,
    links: Mapping[tuple[str, str], RemoteRef],
    invoices: Sequence[InvoicePayload],
) -> dict[str, JsonObject]:
    """The customers (active or not) linked to the invoices' participants, by participant."""
    owners: dict[str, str] = {}
    for invoice in invoices:
        ref = links.get((CUSTOMER, invoice.participant.id))
        if ref is not None:
            owners[ref.remote_id] = invoice.participant.id
    if not owners:
        return {}
    rows = await find_by_id(
        client,
        "Customer",
        list(owners),
        inactive_too=True,
        subject="the customers linked to these participants",
    )
    return {owners[customer_id]: row for customer_id, row in rows.items() if customer_id in owners}


def _customer_problem(
    invoice: InvoicePayload, customer: JsonObject, profile: CompanyProfile
) -> InvoiceProblem | None:
    name = str(customer.get("DisplayName") or "")
    if customer.get("Active") is False:
        return InvoiceProblem(
            invoice.id,
            "customer_inactive",
            f"The customer “{name}” (participant {invoice.participant.id}) has been made "
            "inactive in QuickBooks, which refuses new invoices for it. Make it active "
            "again in QuickBooks (Customers, then “Include inactive”), then retry.",
            fix_in="provider",
        )
    currency = ((customer.get("CurrencyRef") or {}).get("value") or "").upper()
    if profile.multicurrency and currency and currency != invoice.currency.upper():
        return InvoiceProblem(
            invoice.id,
            "customer_currency",
            f"Invoice {invoice.number} is in {invoice.currency.upper()}, but the customer "
            f"“{name}” uses {currency}, and QuickBooks keeps one currency per customer. "
            "Change the invoice's currency in Coordinoter, then retry.",
            fix_in="invoice",
        )
    return None
