"""The Accounting API behind the emulator's auth, driven with python-quickbooks.

The seeded company is Australian: invoice lines need a tax code from its own list.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from emulator_support import RunningEmulator, running_emulator
from quickbooks import QuickBooks
from quickbooks.batch import batch_create
from quickbooks.cdc import change_data_capture
from quickbooks.exceptions import QuickbooksException
from quickbooks.objects.account import Account
from quickbooks.objects.company_info import CompanyInfo
from quickbooks.objects.customer import Customer
from quickbooks.objects.detailline import SalesItemLine, SalesItemLineDetail
from quickbooks.objects.invoice import Invoice
from quickbooks.objects.item import Item
from quickbooks.objects.preferences import Preferences
from quickbooks.objects.taxcode import TaxCode
from quickbooks.objects.taxrate import TaxRate
from quickbooks.objects.term import Term


@pytest.fixture
def emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningEmulator]:
    """A running emulator with auto-consent; throttling (tested elsewhere) is off."""
    with running_emulator(monkeypatch, limits=False) as running:
        yield running


@pytest.fixture
def qb(emulator: RunningEmulator) -> QuickBooks:
    """python-quickbooks connected to the seeded company through intuit-oauth."""
    return emulator.quickbooks(emulator.connect())


def new_customer(qb: QuickBooks, name: str) -> Customer:
    customer = Customer()
    customer.DisplayName = name
    return customer.save(qb=qb)


def new_item(qb: QuickBooks, name: str) -> Item:
    income = Account.filter(AccountType="Income", qb=qb)
    item = Item()
    item.Name = name
    item.Type = "Service"
    item.UnitPrice = 150
    if income:
        item.IncomeAccountRef = income[0].to_ref()
    return item.save(qb=qb)


def gst_free(qb: QuickBooks) -> TaxCode:
    """The company's GST-free code, found by name: its Id is the company's own."""
    found = TaxCode.filter(Name="GST-free", qb=qb)
    assert len(found) == 1
    return found[0]


def invoice_for(
    customer: Customer, item: Item, amount: float, code: TaxCode | None
) -> Invoice:
    line = SalesItemLine()
    line.Amount = amount
    line.SalesItemLineDetail = SalesItemLineDetail()
    line.SalesItemLineDetail.ItemRef = item.to_ref()
    if code is not None:
        line.SalesItemLineDetail.TaxCodeRef = code.to_ref()
    invoice = Invoice()
    invoice.CustomerRef = customer.to_ref()
    invoice.Line.append(line)
    return invoice


def new_invoice(qb: QuickBooks, customer: Customer, item: Item, amount: float) -> Invoice:
    return invoice_for(customer, item, amount, gst_free(qb)).save(qb=qb)


def test_company_info(qb: QuickBooks, emulator: RunningEmulator) -> None:
    info = CompanyInfo.get(emulator.realm_id, qb=qb)
    assert info.CompanyName == "Sandbox Company_AU_1"
    assert info.Country == "AU" and info.FiscalYearStartMonth == "July"


def test_preferences_and_tax_lists(qb: QuickBooks) -> None:
    prefs = Preferences.get(qb=qb)
    assert prefs.CurrencyPrefs.HomeCurrency.value == "AUD"
    assert prefs.CurrencyPrefs.MultiCurrencyEnabled is False
    assert prefs.TaxPrefs.UsingSalesTax is True
    assert prefs.SalesFormsPrefs.CustomTxnNumbers is True
    codes = {code.Name: code for code in TaxCode.all(qb=qb)}
    assert {"GST", "GST-free", "GST on non-capital", "Out of Scope"} <= set(codes)
    rates = {rate.Id: rate for rate in TaxRate.all(qb=qb)}
    gst_rate = rates[codes["GST"].SalesTaxRateList.TaxRateDetail[0].TaxRateRef.value]
    assert gst_rate.Name == "GST (sales)" and float(gst_rate.RateValue) == 10
    assert codes["GST on non-capital"].SalesTaxRateList.TaxRateDetail == []
    terms = {term.Name: term for term in Term.all(qb=qb)}
    assert terms["Net 30"].DueDays == 30
    assert prefs.SalesFormsPrefs.DefaultTerms.value == terms["Net 30"].Id


def test_terms_are_created_and_used_through_python_quickbooks(qb: QuickBooks) -> None:
    term = Term()
    term.Name = "Net 7"
    term.DueDays = 7
    term = term.save(qb=qb)
    assert term.Type == "STANDARD" and term.Id
    invoice = invoice_for(new_customer(qb, "Termed Pty Ltd"), new_item(qb, "Termed"), 70.0,
                          gst_free(qb))  # fmt: skip
    invoice.TxnDate = "2025-06-02"
    invoice.SalesTermRef = term.to_ref()
    saved = invoice.save(qb=qb)
    assert saved.DueDate == "2025-06-09" and saved.SalesTermRef.value == term.Id


def test_invoice_without_a_tax_code_is_refused(qb: QuickBooks) -> None:
    customer = new_customer(qb, "No Code Pty Ltd")
    item = new_item(qb, "Uncoded service")
    with pytest.raises(QuickbooksException) as caught:
        invoice_for(customer, item, 50.0, None).save(qb=qb)
    assert caught.value.error_code == 6000
    assert caught.value.detail == (
        "Business Validation Error: Make sure all your transactions have a GST rate before "
        "you save."
    )
    gst = TaxCode.filter(Name="GST", qb=qb)[0]
    taxed = invoice_for(customer, item, 50.0, gst).save(qb=qb)
    assert float(taxed.TxnTaxDetail.TotalTax) == 5.0 and float(taxed.TotalAmt) == 55.0


def test_invoice_lifecycle(qb: QuickBooks, emulator: RunningEmulator) -> None:
    customer = new_customer(qb, "Lifecycle Pty Ltd")
    item = new_item(qb, "Consulting hours")
    created = new_invoice(qb, customer, item, 250.0)
    assert created.Id and created.SyncToken == "0"
    assert float(created.TotalAmt) == 250.0 and float(created.Balance) == 250.0
    assert created.Line[0].SalesItemLineDetail.TaxCodeRef.value == gst_free(qb).Id

    read = Invoice.get(created.Id, qb=qb)
    assert read.CustomerRef.value == customer.Id

    read.PrivateNote = "full update"
    updated = read.save(qb=qb)
    assert updated.SyncToken == "1"
    assert updated.PrivateNote == "full update"

    sparse = Invoice()
    sparse.Id, sparse.SyncToken, sparse.sparse = updated.Id, updated.SyncToken, True
    sparse.DueDate = "2031-01-31"
    after_sparse = sparse.save(qb=qb)
    assert after_sparse.DueDate == "2031-01-31"
    assert after_sparse.PrivateNote == "full update"  # untouched by the sparse update
    assert after_sparse.SyncToken == "2"

    with pytest.raises(QuickbooksException) as caught:
        read.save(qb=qb)  # still SyncToken 0 on the client side: stale
    assert caught.value.error_code == 5010

    voided = Invoice.get(created.Id, qb=qb)
    voided.void(qb=qb)
    after_void = Invoice.get(created.Id, qb=qb)
    assert float(after_void.TotalAmt) == 0 and float(after_void.Balance) == 0

    after_void.delete(qb=qb)
    with pytest.raises(QuickbooksException) as gone:
        Invoice.get(created.Id, qb=qb)
    assert gone.value.error_code == 610


def test_duplicate_names_are_refused(qb: QuickBooks) -> None:
    first = new_customer(qb, "Twin Pty Ltd")
    with pytest.raises(QuickbooksException) as caught:
        new_customer(qb, "Twin Pty Ltd")
    assert caught.value.error_code == 6240
    assert f"Id={first.Id}" in caught.value.detail

    new_item(qb, "Widget")
    with pytest.raises(QuickbooksException) as item_caught:
        new_item(qb, "Widget")
    assert item_caught.value.error_code == 6240


def test_queries_page_through_results(qb: QuickBooks) -> None:
    names = [f"Paged Customer {n:02d}" for n in range(25)]
    for name in names:
        new_customer(qb, name)
    seen: list[str] = []
    position = 1
    while True:
        page = Customer.query(
            "SELECT * FROM Customer WHERE DisplayName LIKE 'Paged Customer%' "
            f"ORDERBY DisplayName STARTPOSITION {position} MAXRESULTS 10",
            qb=qb,
        )
        seen += [c.DisplayName for c in page]
        if len(page) < 10:
            break
        position += 10
    assert seen == names
    assert Customer.count("DisplayName LIKE 'Paged Customer%'", qb=qb) == 25
    assert Customer.filter(DisplayName="Paged Customer 07", qb=qb)[0].DisplayName == names[7]


def test_batch_of_thirty_with_one_failure(qb: QuickBooks, emulator: RunningEmulator) -> None:
    new_customer(qb, "Batch Customer 13")
    customers = []
    for n in range(30):
        customer = Customer()
        customer.DisplayName = f"Batch Customer {n}"
        customers.append(customer)
    result = batch_create(customers, qb=qb)
    assert len(result.successes) == 29
    assert len(result.faults) == 1
    fault = result.faults[0]
    assert fault.Error[0].code == "6240"
    stats = emulator.control("GET", "stats")
    assert stats["objects"][emulator.realm_id]["Customer"] == 30


def test_cdc_reports_a_deleted_invoice(qb: QuickBooks, emulator: RunningEmulator) -> None:
    since = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    customer = new_customer(qb, "Change Data Ltd")
    invoice = new_invoice(qb, customer, new_item(qb, "CDC item"), 80.0)
    Invoice.get(invoice.Id, qb=qb).delete(qb=qb)
    response = change_data_capture([Invoice, Customer], since.isoformat(), qb=qb)
    deleted = [i for i in response.Invoice if i.Id == invoice.Id]
    assert deleted and deleted[0].status == "Deleted"
    assert customer.Id in [c.Id for c in response.Customer]


def test_requestid_replays_instead_of_writing_twice(
    qb: QuickBooks, emulator: RunningEmulator
) -> None:
    customer = Customer()
    customer.DisplayName = "Idempotent Ltd"
    first = customer.save(qb=qb, request_id="create-idempotent-1")
    again = Customer()
    again.DisplayName = "Idempotent Ltd"
    second = again.save(qb=qb, request_id="create-idempotent-1")
    assert second.Id == first.Id
    counts = emulator.control("GET", "stats")["objects"][emulator.realm_id]
    assert counts["Customer"] == 1


def test_payment_control_pays_an_invoice(qb: QuickBooks, emulator: RunningEmulator) -> None:
    customer = new_customer(qb, "Payer Pty Ltd")
    invoice = new_invoice(qb, customer, new_item(qb, "Payable"), 120.0)
    path = f"companies/{emulator.realm_id}/invoices/{invoice.Id}/payments"
    payment = emulator.http.post(f"/_emulator/{path}", json={"amount": "50.00"})
    assert payment.status_code == 201
    assert float(payment.json()["TotalAmt"]) == 50.0
    assert float(Invoice.get(invoice.Id, qb=qb).Balance) == 70.0
    too_much = emulator.http.post(f"/_emulator/{path}", json={"amount": "500.00"})
    assert too_much.status_code == 400
    missing = emulator.http.post(
        f"/_emulator/companies/{emulator.realm_id}/invoices/99999/payments",
        json={"amount": "1.00"},
    )
    assert missing.status_code == 404
