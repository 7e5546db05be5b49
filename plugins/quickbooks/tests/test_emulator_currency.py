"""Home currency and multicurrency (QUICKBOOKS.md 12.3)."""

from __future__ import annotations

import pytest
from books_support import REALM, Ledger
from hub_quickbooks.emulator.books import CompanySetup


def test_without_multicurrency_only_the_home_currency_is_taken() -> None:
    ledger = Ledger()
    refused = ledger.post("customer", {"DisplayName": "Kiwi Ltd", "CurrencyRef": {"value": "NZD"}})
    assert refused.status == 400 and refused.code == "6000"
    assert refused.fault()["Detail"] == (
        "Business Validation Error: Multicurrency isn't turned on for this company, so this "
        "customer has to be in AUD."
    )
    customer, item = ledger.basics()
    body = ledger.invoice_body(customer["Id"], item["Id"], 10, CurrencyRef={"value": "USD"})
    invoice = ledger.post("invoice", body)
    assert invoice.code == "6000" and "this transaction has to be in AUD" in invoice.fault()[
        "Detail"
    ]
    home = ledger.invoice(customer["Id"], item["Id"], 10, CurrencyRef={"value": "AUD"},
                          ExchangeRate=1)  # fmt: skip
    assert home["CurrencyRef"] == {"value": "AUD", "name": "Australian Dollar"}
    for key in ("ExchangeRate", "HomeTotalAmt", "HomeBalance"):
        assert key not in home
    odd_rate = ledger.invoice_body(customer["Id"], item["Id"], 10, ExchangeRate=1.5)
    assert ledger.post("invoice", odd_rate).code == "6000"


def test_with_multicurrency_a_foreign_customer_is_invoiced_in_its_currency() -> None:
    ledger = Ledger(setup=CompanySetup(multicurrency=True))
    item = ledger.item("Export consulting")
    kiwi = ledger.customer("Kiwi Ltd", CurrencyRef={"value": "NZD"})
    assert kiwi["CurrencyRef"] == {"value": "NZD", "name": "New Zealand Dollar"}
    body = ledger.invoice_body(kiwi["Id"], item["Id"], 100, ExchangeRate=0.9)
    invoice = ledger.ok(ledger.post("invoice", body), "Invoice")
    assert invoice["CurrencyRef"]["value"] == "NZD" and invoice["ExchangeRate"] == 0.9
    assert invoice["HomeTotalAmt"] == 90.0 and invoice["HomeBalance"] == 90.0
    # Without a rate, the emulator's fixed table gives one.
    defaulted = ledger.invoice(kiwi["Id"], item["Id"], 100)
    assert 0 < defaulted["ExchangeRate"] < 1 and defaulted["HomeTotalAmt"] < 100
    # The invoice's currency must be the customer's, and the customer's never changes.
    wrong = ledger.invoice_body(kiwi["Id"], item["Id"], 1, CurrencyRef={"value": "AUD"})
    assert ledger.post("invoice", wrong).code == "6000"
    change = ledger.post("customer", {"Id": kiwi["Id"], "SyncToken": "0", "sparse": True,
                                      "CurrencyRef": {"value": "AUD"}})  # fmt: skip
    assert change.code == "6000"
    # Payments lower HomeBalance too.
    ledger.books.record_payment(REALM, invoice["Id"], __import__("decimal").Decimal("50"))
    paid = ledger.ok(ledger.get(f"invoice/{invoice['Id']}"), "Invoice")
    assert paid["Balance"] == 50.0 and paid["HomeBalance"] == 45.0
    home = ledger.invoice(ledger.customer("Local Pty Ltd")["Id"], item["Id"], 10)
    assert home["ExchangeRate"] == 1 and home["HomeTotalAmt"] == 10.0


@pytest.mark.parametrize("code", ["XYZ", "BTC"])
def test_currencies_outside_the_list_are_refused(code: str) -> None:
    ledger = Ledger(setup=CompanySetup(multicurrency=True))
    answer = ledger.post("customer", {"DisplayName": "Odd", "CurrencyRef": {"value": code}})
    assert answer.code == "6000"


def test_multicurrency_turned_on_later_cannot_be_turned_off() -> None:
    ledger = Ledger()
    prefs = ledger.books.edit(REALM, "Preferences", "1",
                              {"CurrencyPrefs": {"MultiCurrencyEnabled": True}})  # fmt: skip
    assert prefs["CurrencyPrefs"] == {"MultiCurrencyEnabled": True,
                                      "HomeCurrency": {"value": "AUD"}}  # fmt: skip
    assert prefs["SyncToken"] == "1"
    assert ledger.customer("Yank Inc", CurrencyRef={"value": "USD"})["CurrencyRef"]["value"] \
        == "USD"  # fmt: skip
    with pytest.raises(ValueError, match="cannot be turned off"):
        ledger.books.edit(REALM, "Preferences", "1",
                          {"CurrencyPrefs": {"MultiCurrencyEnabled": False}})  # fmt: skip
    with pytest.raises(ValueError, match="home currency"):
        ledger.books.edit(REALM, "Preferences", "1",
                          {"CurrencyPrefs": {"HomeCurrency": {"value": "USD"}}})  # fmt: skip
