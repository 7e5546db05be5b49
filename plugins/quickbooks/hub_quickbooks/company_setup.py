"""Reading how a company is set up: country, tax model, currency, tax codes, accounts.

Everything comes back in one ``/batch`` request of five queries: one metered
("CorePlus") call instead of five (QUICKBOOKS.md 12.5, 12.6.1). Tax codes and rates
are not in change data capture, so the host keeps what this reads until an admin
asks for it again.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from hub.errors import Transient
from hub_quickbooks.client import QuickBooksClient
from hub_quickbooks.errors import error_for_fault, parse_fault
from hub_quickbooks.mapping import JsonObject, money
from hub_quickbooks.profile import TaxModel

_QUERIES = {
    "info": ("CompanyInfo", "SELECT * FROM CompanyInfo"),
    "prefs": ("Preferences", "SELECT * FROM Preferences"),
    "codes": ("TaxCode", "SELECT * FROM TaxCode MAXRESULTS 1000"),
    "rates": ("TaxRate", "SELECT * FROM TaxRate MAXRESULTS 1000"),
    "accounts": (
        "Account",
        "SELECT * FROM Account WHERE AccountType = 'Income' MAXRESULTS 1000",
    ),
}


@dataclass(frozen=True)
class TaxCode:
    """A tax code usable on sales, with the rate it charges in percent (None: unknown)."""

    id: str
    name: str
    description: str
    sales_rate: Decimal | None


@dataclass(frozen=True)
class IncomeAccount:
    """An account new items may book their sales to."""

    id: str
    name: str
    sub_type: str


@dataclass(frozen=True)
class CompanySetup:
    """What the plugin needs to know about a company before it pushes to it."""

    name: str
    country: str
    tax_model: TaxModel
    home_currency: str
    multicurrency: bool
    custom_txn_numbers: bool
    #: Active codes that can go on a sales line (a purchases-only code cannot).
    sales_tax_codes: tuple[TaxCode, ...]
    income_accounts: tuple[IncomeAccount, ...]


async def read_setup(client: QuickBooksClient) -> CompanySetup:
    """Read the company's setup in one batch request."""
    items = [{"bId": bid, "Query": sql} for bid, (_, sql) in _QUERIES.items()]
    # A fresh requestid: QuickBooks replays answers to a repeated one for a day, and
    # these are reads whose answer must be current.
    answers, tid = await client.batch(
        items, request_id=f"setup-{uuid.uuid4().hex}", subject="the company's settings"
    )
    rows: dict[str, list[JsonObject]] = {}
    for bid, (entity, _) in _QUERIES.items():
        answer = answers.get(bid)
        if answer is None:
            raise Transient(
                "QuickBooks' answer about the company's settings was incomplete; "
                "it will be read again.",
                support_reference=tid,
            )
        fault = parse_fault(answer)
        if fault is not None:
            raise error_for_fault(
                fault, subject="the company's settings", status_code=200, support_reference=tid
            )
        response = answer.get("QueryResponse") or {}
        found = response.get(entity) if isinstance(response, Mapping) else None
        rows[bid] = [row for row in found or [] if isinstance(row, dict)]
    return setup_from(rows["info"], rows["prefs"], rows["codes"], rows["rates"], rows["accounts"])


def setup_from(
    info_rows: Sequence[JsonObject],
    pref_rows: Sequence[JsonObject],
    code_rows: Sequence[JsonObject],
    rate_rows: Sequence[JsonObject],
    account_rows: Sequence[JsonObject],
) -> CompanySetup:
    """A ``CompanySetup`` from the rows of the five queries (a pure function)."""
    info = info_rows[0] if info_rows else {}
    prefs = pref_rows[0] if pref_rows else {}
    tax_prefs = _object(prefs.get("TaxPrefs"))
    currency_prefs = _object(prefs.get("CurrencyPrefs"))
    sales_prefs = _object(prefs.get("SalesFormsPrefs"))
    country = str(info.get("Country") or "").strip().upper()
    home = _object(currency_prefs.get("HomeCurrency")).get("value")
    tax_model: TaxModel
    # The US model (TAX/NON on lines, one group per invoice) is for US companies,
    # and for any company on automated sales tax (QUICKBOOKS.md 12.6.2).
    if country in ("US", "USA") or "PartnerTaxEnabled" in tax_prefs:
        tax_model = "us"
    elif tax_prefs.get("UsingSalesTax") is False:
        tax_model = "none"  # not registered for GST: QuickBooks ignores tax codes
    else:
        tax_model = "global"
    rates = {str(row.get("Id")): row for row in rate_rows}
    return CompanySetup(
        name=str(info.get("CompanyName") or info.get("LegalName") or "").strip(),
        country=country,
        tax_model=tax_model,
        home_currency=str(home or "").upper(),
        multicurrency=currency_prefs.get("MultiCurrencyEnabled") is True,
        custom_txn_numbers=sales_prefs.get("CustomTxnNumbers") is not False,
        sales_tax_codes=tuple(
            code
            for row in sorted(code_rows, key=_id_order)
            if (code := _sales_code(row, rates)) is not None
        ),
        income_accounts=tuple(
            IncomeAccount(
                str(row["Id"]), str(row.get("Name") or ""), str(row.get("AccountSubType") or "")
            )
            for row in sorted(account_rows, key=_id_order)
            if row.get("Active") is not False and row.get("Id") is not None
        ),
    )


def _sales_code(row: JsonObject, rates: Mapping[str, JsonObject]) -> TaxCode | None:
    """The code as a sales tax code, or None when it cannot go on a sales line."""
    if row.get("Active") is False or row.get("Id") is None:
        return None
    details = _object(row.get("SalesTaxRateList")).get("TaxRateDetail") or []
    if not isinstance(details, list) or not details:
        return None  # a purchases-only code: QuickBooks fails to calculate tax with it
    total: Decimal | None = Decimal(0)
    for detail in details:
        ref = _object(_object(detail).get("TaxRateRef")).get("value")
        rate = rates.get(str(ref))
        if rate is None or total is None:
            total = None
            continue
        total += money(rate.get("RateValue"))
    return TaxCode(
        id=str(row["Id"]),
        name=str(row.get("Name") or ""),
        description=str(row.get("Description") or ""),
        sales_rate=total,
    )


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _id_order(row: Mapping[str, Any]) -> tuple[int, str]:
    text = str(row.get("Id") or "")
    return (int(text), text) if text.isdigit() else (1 << 62, text)
