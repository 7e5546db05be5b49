"""Currencies: the home currency, multicurrency, exchange rates and home amounts (12.3)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from . import faults
from .company import Company
from .preferences import multicurrency
from .values import JsonObject, decimal_of, money, stored_decimal

CURRENCY_NAMES = {
    "AUD": "Australian Dollar",
    "CAD": "Canadian Dollar",
    "EUR": "Euro",
    "GBP": "British Pound Sterling",
    "INR": "Indian Rupee",
    "JPY": "Japanese Yen",
    "NZD": "New Zealand Dollar",
    "SGD": "Singapore Dollar",
    "USD": "United States Dollar",
}

#: US dollars per unit of each currency. A fixed, made-up table (not market rates) that
#: gives a foreign transaction an ExchangeRate when the client sends none, so tests are
#: repeatable; QuickBooks would use its daily rate feed.
_USD_VALUE = {
    "AUD": Decimal("0.65"),
    "CAD": Decimal("0.73"),
    "EUR": Decimal("1.08"),
    "GBP": Decimal("1.27"),
    "INR": Decimal("0.012"),
    "JPY": Decimal("0.0067"),
    "NZD": Decimal("0.60"),
    "SGD": Decimal("0.74"),
    "USD": Decimal("1"),
}
_RATE_PLACES = Decimal("0.000001")


def currency_ref(code: str) -> JsonObject:
    """A CurrencyRef as QuickBooks writes it."""
    return {"value": code, "name": CURRENCY_NAMES.get(code, code)}


def checked_currency(company: Company, code: str | None, noun: str) -> str:
    """The currency a new customer or transaction may use (the home one by default).

    With multicurrency off, anything but the home currency is a 6000. No captured text
    exists for this refusal (12.3): the Detail is invented.
    """
    home = company.currency
    wanted = (code or home).strip().upper()
    if wanted == home:
        return home
    if not multicurrency(company):
        raise faults.business(
            f"Multicurrency isn't turned on for this company, so this {noun} has to be in {home}."
        )
    if wanted not in _USD_VALUE:
        # Invented wording: QuickBooks takes only currencies added to the company's list.
        raise faults.business(f"{wanted} isn't in this company's list of currencies.")
    return wanted


def exchange_rate(company: Company, data: JsonObject, code: str) -> Decimal:
    """``ExchangeRate``: home-currency units per one unit of ``code``.

    The home currency is always 1; python-quickbooks sends ``ExchangeRate: 1`` on every
    invoice, so 1 must pass even with multicurrency off. Any other rate for the home
    currency is refused (the stricter reading; the Detail is invented).
    """
    sent = None
    if data.get("ExchangeRate") is not None:
        sent = decimal_of(data["ExchangeRate"], "ExchangeRate")
        if sent <= 0:
            raise faults.business("The exchange rate must be more than zero.")
    if code == company.currency:
        if sent is not None and sent != 1:
            raise faults.business(f"The exchange rate of the home currency ({code}) is always 1.")
        return Decimal(1)
    if sent is not None:
        return sent
    return (_USD_VALUE[code] / _USD_VALUE[company.currency]).quantize(
        _RATE_PLACES, rounding=ROUND_HALF_UP
    )


def set_home_amounts(obj: JsonObject) -> None:
    """Fill HomeTotalAmt and HomeBalance of a transaction that has an ExchangeRate."""
    if "ExchangeRate" not in obj:
        return
    rate = stored_decimal(obj["ExchangeRate"])
    obj["HomeTotalAmt"] = money(stored_decimal(obj.get("TotalAmt")) * rate)
    obj["HomeBalance"] = money(stored_decimal(obj.get("Balance")) * rate)
