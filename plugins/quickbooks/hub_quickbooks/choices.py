"""The mapping page's questions for one company, and the answers chosen by properties.

Suggestions follow QUICKBOOKS.md 12.6.3. Tax codes are chosen by the rate they charge
on sales (Ids belong to each company and are never assumed); names only break ties
between codes of the same rate, because an Australian company has several 0% codes
that mean different things to the tax office:

* GST lines: a code charging 10% on sales, not one meant for capital purchases,
  adjustments or imports; "GST" itself when several fit.
* GST-free lines: a 0% code named GST-free, not the one for exports or capital.
  Never "Out of Scope" (kept off the BAS, but GST-free supplies belong on it) nor
  "Input taxed" (financial supplies), whatever their rate.

When nothing fits without doubt the field gets no suggestion: the host then holds
the invoices that need it until an admin chooses.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from decimal import Decimal

from hub.types import MappingChoices, MappingField, MappingOption, TaxTreatment
from hub_quickbooks.company_setup import CompanySetup, IncomeAccount, TaxCode
from hub_quickbooks.profile import (
    CUSTOMERS,
    INCOME_ACCOUNT,
    TAX_FIELD,
    CompanyProfile,
    CustomerRule,
)

TEN = Decimal("10")
ZERO = Decimal("0")

_NOT_FOR_GST = re.compile(r"capital|adjust|import|purchase", re.I)
_GST_FREE = re.compile(r"gst[\s-]*free", re.I)
_NOT_FOR_GST_FREE = re.compile(r"export|capital|purchase", re.I)
#: Income account sub-types, best first, for the account new items book sales to.
_ACCOUNT_PREFERENCE = ("ServiceFeeIncome", "OtherPrimaryIncome", "SalesOfProductIncome")
_NOT_FOR_SALES = frozenset({"DiscountsRefundsGiven", "UnappliedCashPaymentIncome"})

#: The US pseudo codes (QUICKBOOKS.md 12.2.5): the same Ids in every US company.
US_TAXABLE = "TAX"
US_NOT_TAXABLE = "NON"

CUSTOMER_OPTIONS: tuple[tuple[CustomerRule, str, str], ...] = (
    ("participant_id", "Name and participant ID", "“Alex Chen (P-001)”"),
    ("name", "Name only", "“Alex Chen”, with the ID only when names clash"),
)


def suggest_gst(codes: Sequence[TaxCode]) -> TaxCode | None:
    """The code for lines with 10% GST, if one fits without doubt."""
    fitting = [c for c in codes if c.sales_rate == TEN and not _NOT_FOR_GST.search(c.name)]
    return _one(fitting, lambda code: code.name.strip().casefold() == "gst")


def suggest_gst_free(codes: Sequence[TaxCode]) -> TaxCode | None:
    """The code for GST-free lines, if one fits without doubt."""
    fitting = [
        c
        for c in codes
        if c.sales_rate == ZERO
        and _GST_FREE.search(c.name)
        and not _NOT_FOR_GST_FREE.search(c.name)
    ]
    return _one(fitting, lambda code: _GST_FREE.fullmatch(code.name.strip()) is not None)


def suggest_income_account(accounts: Sequence[IncomeAccount]) -> IncomeAccount | None:
    """The account new items book their sales to: a service-fee income account if any."""
    usable = [a for a in accounts if a.sub_type not in _NOT_FOR_SALES]
    if not usable:
        return None

    def rank(account: IncomeAccount) -> tuple[int, int]:
        kind = (
            _ACCOUNT_PREFERENCE.index(account.sub_type)
            if account.sub_type in _ACCOUNT_PREFERENCE
            else len(_ACCOUNT_PREFERENCE)
        )
        return kind, 0 if "service" in account.name.casefold() else 1

    return min(usable, key=rank)  # Id order breaks the remaining ties


def _one(fitting: list[TaxCode], preferred: Callable[[TaxCode], bool]) -> TaxCode | None:
    """The only fitting code, or the only preferred one among several; else None."""
    if len(fitting) == 1:
        return fitting[0]
    best = [code for code in fitting if preferred(code)]
    return best[0] if len(best) == 1 else None


def mapping_choices(setup: CompanySetup) -> MappingChoices:
    """The questions, options, suggestions and facts for one company."""
    profile = CompanyProfile(
        name=setup.name,
        tax_model=setup.tax_model,
        home_currency=setup.home_currency,
        multicurrency=setup.multicurrency,
    )
    fields = [
        *_tax_fields(setup),
        _income_field(setup.income_accounts),
        MappingField(
            key=CUSTOMERS,
            label="Customer names for participants",
            help="A participant's customer is the one linked to it, else one named with the "
            "participant's ID in brackets, else a new one named as chosen here. With the ID "
            "in every name, two participants called the same never share a customer; "
            "“Name only” also uses customers already in QuickBooks under the same name.",
            options=tuple(
                MappingOption(rule, label, detail) for rule, label, detail in CUSTOMER_OPTIONS
            ),
            suggested="participant_id",
        ),
    ]
    return MappingChoices(
        fields=tuple(fields), facts=profile.facts(), notes=tuple(_notes(setup))
    )


def _tax_fields(setup: CompanySetup) -> list[MappingField]:
    labels: dict[TaxTreatment, tuple[str, Decimal]] = {
        "gst": ("Tax code for lines with GST", TEN),
        "gst_free": ("Tax code for GST-free lines", ZERO),
    }
    if setup.tax_model == "us":
        us_options = (
            MappingOption(US_TAXABLE, "Taxable", "Sales tax as QuickBooks works it out"),
            MappingOption(US_NOT_TAXABLE, "Non-taxable", "No sales tax"),
        )
        return [
            MappingField(
                key=TAX_FIELD[treatment],
                label=label,
                help="A US company has sales tax rather than GST: choose how these lines "
                "are marked.",
                options=us_options,
                suggested=US_NOT_TAXABLE if treatment == "gst_free" else None,
                treatment=treatment,
                expected_rate=rate,
            )
            for treatment, (label, rate) in labels.items()
        ]
    options = tuple(
        MappingOption(code.id, code.name, _rate_text(code.sales_rate), code.sales_rate)
        for code in setup.sales_tax_codes
    )
    suggestions = {
        "gst": suggest_gst(setup.sales_tax_codes),
        "gst_free": suggest_gst_free(setup.sales_tax_codes),
    }
    return [
        MappingField(
            key=TAX_FIELD[treatment],
            label=label,
            help=(
                "The 10% code QuickBooks uses on sales."
                if treatment == "gst"
                else "The 0% code for GST-free supplies (most NDIS supports), which "
                "QuickBooks reports on the BAS. Not “Out of Scope” or “Input taxed”."
            ),
            options=options,
            suggested=suggestion.id if (suggestion := suggestions[treatment]) else None,
            required=setup.tax_model == "global",
            treatment=treatment,
            expected_rate=rate,
        )
        for treatment, (label, rate) in labels.items()
    ]


def _income_field(accounts: Sequence[IncomeAccount]) -> MappingField:
    suggestion = suggest_income_account(accounts)
    return MappingField(
        key=INCOME_ACCOUNT,
        label="Income account for new items",
        help="When an invoice uses a support item QuickBooks does not have yet, the hub "
        "creates it as a service booked to this account.",
        options=tuple(
            MappingOption(a.id, a.name, _sub_type_text(a.sub_type)) for a in accounts
        ),
        suggested=suggestion.id if suggestion else None,
    )


def _notes(setup: CompanySetup) -> list[str]:
    notes = []
    if setup.tax_model == "none":
        notes.append(
            f"QuickBooks says “{setup.name}” does not charge GST (GST is not set up in "
            "it), so invoices are sent without tax codes, and invoices with GST lines "
            "are held. If the business is registered for GST, set up GST in QuickBooks "
            "(Taxes), then read the choices again."
        )
    if setup.tax_model == "us":
        notes.append(
            f"“{setup.name}” is a US company: its invoices carry US sales tax, not GST."
        )
    if not setup.custom_txn_numbers:
        notes.append(
            "Custom transaction numbers are off in QuickBooks, so it may number invoices "
            "itself. Turn them on (Account and settings, then Sales) to keep Coordinoter's "
            "invoice numbers."
        )
    if setup.multicurrency:
        notes.append(
            f"Multicurrency is on: each customer keeps one currency, and invoices in "
            f"another currency than {setup.home_currency} need a customer in that currency."
        )
    return notes


def _rate_text(rate: Decimal | None) -> str:
    if rate is None:
        return "rate unknown"
    return f"{rate.normalize():f}% on sales"


def _sub_type_text(sub_type: str) -> str:
    words = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", sub_type).lower()
    return words.capitalize() if words else ""
