"""Reading a company's setup, suggesting its mapping, checking a batch, explaining refusals."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from hub_quickbooks import plugin
from hub_quickbooks.choices import (
    mapping_choices,
    suggest_gst,
    suggest_gst_free,
    suggest_income_account,
)
from hub_quickbooks.company_setup import IncomeAccount, TaxCode, setup_from
from hub_quickbooks.errors import Fault, FaultError
from hub_quickbooks.profile import profile_from
from hub_quickbooks.refusals import explain
from plugin_support import (
    AU_FACTS,
    AU_MAPPING,
    FakeCompany,
    connection_context,
    invoice,
    participant,
)

from hub.types import BatchPayload, LinePayload, RemoteRef

SAM = participant("P-003", "Sam Lee")

# An Australian company's codes as QuickBooks presents them (QUICKBOOKS.md 12.1), with
# Ids of the company's own: scattered, never assumed.
AU_RATES = [
    {"Id": "31", "Name": "GST (sales)", "RateValue": 10},
    {"Id": "33", "Name": "GST free (sales)", "RateValue": 0},
    {"Id": "34", "Name": "GST (purchases)", "RateValue": 10},
    {"Id": "38", "Name": "Input tax (sales)", "RateValue": 0},
    {"Id": "40", "Name": "N-T (Sales)", "RateValue": 0},
]


def code(code_id: str, name: str, sales: list[str], active: bool = True) -> dict:
    details = [
        {"TaxRateRef": {"value": rate}, "TaxTypeApplicable": "TaxOnAmount"} for rate in sales
    ]
    return {
        "Id": code_id,
        "Name": name,
        "Active": active,
        "SalesTaxRateList": {"TaxRateDetail": details},
        "PurchaseTaxRateList": {"TaxRateDetail": []},
    }


AU_CODES = [
    code("17", "GST", ["31"]),
    code("19", "GST-free", ["33"]),
    code("21", "GST-free exports", ["33"]),
    code("23", "GST on non-capital", []),  # purchases only
    code("24", "Input taxed", ["38"]),
    code("26", "Out of Scope", ["40"]),
    code("28", "GST (old)", ["31"], active=False),
]
AU_PREFS = {
    "TaxPrefs": {"UsingSalesTax": True},
    "CurrencyPrefs": {"HomeCurrency": {"value": "AUD"}, "MultiCurrencyEnabled": False},
    "SalesFormsPrefs": {"CustomTxnNumbers": True},
}
ACCOUNTS = [
    {"Id": "4", "Name": "Sales", "AccountSubType": "SalesOfProductIncome"},
    {"Id": "9", "Name": "Discounts given", "AccountSubType": "DiscountsRefundsGiven"},
    {"Id": "12", "Name": "Support fees", "AccountSubType": "ServiceFeeIncome"},
]


def au_setup(**prefs):
    info = [{"CompanyName": "Sunrise Supports", "Country": "AU"}]
    return setup_from(info, [{**AU_PREFS, **prefs}], AU_CODES, AU_RATES, ACCOUNTS)


def test_an_australian_companys_codes_are_read_with_their_sales_rates():
    setup = au_setup()

    assert setup.tax_model == "global"
    assert setup.home_currency == "AUD" and not setup.multicurrency
    # Purchase-only and inactive codes cannot go on a sales line: not offered.
    assert [(c.id, c.name, c.sales_rate) for c in setup.sales_tax_codes] == [
        ("17", "GST", Decimal("10")),
        ("19", "GST-free", Decimal("0")),
        ("21", "GST-free exports", Decimal("0")),
        ("24", "Input taxed", Decimal("0")),
        ("26", "Out of Scope", Decimal("0")),
    ]


def test_the_mapping_is_suggested_by_rate_never_out_of_scope_or_exports():
    choices = mapping_choices(au_setup())

    suggested = {field.key: field.suggested for field in choices.fields}
    assert suggested == {
        "tax.gst": "17",
        "tax.gst_free": "19",
        "income_account": "12",
        "customers": "participant_id",
    }
    assert all(field.required for field in choices.fields)
    assert choices.facts == {
        "company_name": "Sunrise Supports",
        "tax_model": "global",
        "home_currency": "AUD",
        "multicurrency": "false",
    }


def tax_code(name: str, rate: str) -> TaxCode:
    return TaxCode(id=name, name=name, description="", sales_rate=Decimal(rate))


@pytest.mark.parametrize(
    ("codes", "gst", "gst_free"),
    [
        # Several 10% codes: "GST" itself wins; capital and import codes never do.
        (["GST:10", "GST on imports:10", "GST (capital):10"], "GST", None),
        (["GST 10%:10", "Adjustments:10"], "GST 10%", None),
        (["GST 10%:10", "GST (sales):10"], None, None),  # two candidates: an admin chooses
        # 0%: only a code named GST-free; not exports, not out of scope.
        (["GST Free:0", "Out of Scope:0", "Input taxed:0"], None, "GST Free"),
        (["GST free sales:0", "GST-free:0"], None, "GST-free"),
        (["GST-free exports:0", "Out of Scope:0"], None, None),
        (["Zero-rated:0", "Exempt:0"], None, None),
        ([], None, None),
    ],
)
def test_ambiguous_or_missing_codes_are_left_for_an_admin(codes, gst, gst_free):
    offered = [tax_code(*entry.split(":")) for entry in codes]
    assert (suggest_gst(offered) or tax_code("-", "0")).id == (gst or "-")
    assert (suggest_gst_free(offered) or tax_code("-", "0")).id == (gst_free or "-")


def test_the_income_account_prefers_service_fees_and_never_discounts():
    accounts = [IncomeAccount(a["Id"], a["Name"], a["AccountSubType"]) for a in ACCOUNTS]
    assert suggest_income_account(accounts).id == "12"
    assert suggest_income_account(accounts[:2]).id == "4"
    assert suggest_income_account(accounts[1:2]) is None


def test_a_company_not_set_up_for_gst_needs_no_tax_codes_and_is_told_why():
    choices = mapping_choices(au_setup(TaxPrefs={"UsingSalesTax": False}))

    fields = {field.key: field for field in choices.fields}
    assert not fields["tax.gst"].required and not fields["tax.gst_free"].required
    assert choices.facts["tax_model"] == "none"
    assert any("does not charge GST" in note for note in choices.notes)


def test_a_us_company_is_offered_taxable_or_not():
    info = [{"CompanyName": "Sandbox Company_US_1", "Country": "US"}]
    prefs = [{"CurrencyPrefs": {"HomeCurrency": {"value": "USD"}}}]
    choices = mapping_choices(setup_from(info, prefs, [], [], ACCOUNTS))

    fields = {field.key: field for field in choices.fields}
    assert [o.value for o in fields["tax.gst"].options] == ["TAX", "NON"]
    assert fields["tax.gst_free"].suggested == "NON"
    assert fields["tax.gst"].suggested is None  # there is no GST in the US
    assert choices.facts["tax_model"] == "us"


# --- the check ---------------------------------------------------------------------------


def run_check(company: FakeCompany, batch: BatchPayload, links=None, **facts: str):
    async def go():
        async with company.client() as http:
            ctx = connection_context(http, links=links, facts={**AU_FACTS, **facts})
            return await plugin.check_batch(ctx, batch)

    return asyncio.run(go())


def test_the_check_holds_what_quickbooks_would_refuse_and_says_where_to_fix_it():
    gst = LinePayload("Report", "15_622", Decimal("1"), Decimal("193.99"), "gst")
    batch = BatchPayload(
        id=1,
        reference="r",
        invoices=(
            invoice(1, SAM),
            invoice(2, SAM, number="NDIS-2026-11-FORTNIGHT-7"),
            invoice(3, SAM, lines=(gst,)),
        ),
    )
    company = FakeCompany()
    problems = run_check(company, batch)
    assert [p.invoice_id for p in problems] == [2]  # mapped: only the number is wrong

    async def unmapped():
        async with company.client() as http:
            mapping = {**AU_MAPPING, "tax.gst": ""}
            ctx = connection_context(http, mapping=mapping)
            return await plugin.check_batch(ctx, batch)

    problems = asyncio.run(unmapped())
    assert [(p.invoice_id, p.code, p.fix_in) for p in problems] == [
        (2, "number_too_long", "invoice"),
        (3, "tax_code_not_mapped", "mapping"),
    ]
    assert "24 characters; QuickBooks allows at most 21" in problems[0].message
    assert "no QuickBooks tax code is chosen for GST lines" in problems[1].message
    assert not company.requests  # nothing linked: nothing to read


def test_the_check_refuses_a_currency_the_company_does_not_use():
    nzd = invoice(1, SAM)
    nzd = type(nzd)(**{**nzd.__dict__, "currency": "NZD"})
    problems = run_check(FakeCompany(), BatchPayload(id=1, reference="r", invoices=(nzd,)))
    assert problems[0].code == "currency_not_used"
    assert "works only in AUD" in problems[0].message
    assert run_check(
        FakeCompany(), BatchPayload(id=1, reference="r", invoices=(nzd,)), multicurrency="true"
    ) == []


def test_gst_lines_wait_in_a_company_not_set_up_for_gst():
    gst = LinePayload("Report", "15_622", Decimal("1"), Decimal("193.99"), "gst")
    batch = BatchPayload(id=1, reference="r", invoices=(invoice(1, SAM, lines=(gst,)),
                                                         invoice(2, SAM)))
    problems = run_check(FakeCompany(), batch, tax_model="none")
    assert [(p.invoice_id, p.code, p.fix_in) for p in problems] == [
        (1, "company_charges_no_gst", "provider")
    ]


def test_the_check_finds_a_linked_customer_made_inactive_in_one_query():
    company = FakeCompany()
    inactive = company.add("Customer", DisplayName="Sam Lee (P-003)", Active=False)
    alex = company.add("Customer", DisplayName="Alex Chen (P-001)")
    links = {
        ("customer", "P-003"): RemoteRef(inactive["Id"], "0"),
        ("customer", "P-001"): RemoteRef(alex["Id"], "0"),
    }
    batch = BatchPayload(
        id=1, reference="r", invoices=(invoice(1, SAM), invoice(2, participant("P-001", "Alex")))
    )
    problems = run_check(company, batch, links=links)
    assert [(p.invoice_id, p.code, p.fix_in) for p in problems] == [
        (1, "customer_inactive", "provider")
    ]
    assert "Sam Lee (P-003)" in problems[0].message and "active again" in problems[0].message
    assert len(company.requests) == 1


# --- refusals in plain words ----------------------------------------------------------------


def fault(code: str, detail: str, element: str = "", message: str = "A validation error") -> Fault:
    return Fault("ValidationFault", (FaultError(code, message, detail, element),))


@pytest.mark.parametrize(
    ("refusal", "says", "fix_in"),
    [
        (
            fault("6000", "Business Validation Error: Make sure all your transactions have a "
                  "GST rate before you save."),
            "needs a tax code on every line",
            "mapping",
        ),
        (
            fault("6000", "Business Validation Error: We're sorry, QuickBooks encountered an "
                  "error while calculating tax. Try reselecting the tax rate"),
            "could not work out the tax",
            "mapping",
        ),
        (fault("2500", "Invalid Reference Id", "Line.SalesItemLineDetail.TaxCodeRef"),
         "tax code chosen for its lines no longer exists", "mapping"),
        (fault("6240", "The name supplied already exists. : Id=58"), "already uses the name",
         "provider"),
        (fault("6140", "Duplicate Document Number Error"), "already has an invoice numbered",
         "invoice"),
        (
            fault("2050", "String length specified does not match the supported length. "
                  "Min:0 Max:21 supported. Supplied length:24", "DocNumber"),
            "DocNumber is too long (at most 21 characters, not 24)",
            "invoice",
        ),
        (fault("6000", "Business Validation Error: Multicurrency isn't turned on for this "
               "company, so this transaction has to be in AUD."), "because of its currency",
         "invoice"),
        (fault("610", "Object Not Found : Something you're trying to use has been made "
               "inactive."), "made inactive", "provider"),
    ],
)
def test_each_refusal_on_the_push_path_is_a_sentence_with_the_fault_kept(refusal, says, fix_in):
    error = explain(refusal, subject="the invoice INV-1", support_reference="1-tid", number="INV-1")
    assert says in error.message
    assert error.fix_in == fix_in
    assert error.code == refusal.code and error.support_reference == "1-tid"
    assert error.provider_detail.startswith(refusal.code)
    assert refusal.errors[0].detail in error.provider_detail


def test_an_unknown_refusal_keeps_quickbooks_words():
    error = explain(fault("6999", "Something new"), subject="the invoice INV-1",
                    support_reference=None)
    assert error.message == (
        "QuickBooks refused the invoice INV-1: A validation error: Something new"
    )
    assert error.fix_in is None


def test_profile_defaults_are_safe_without_facts():
    profile = profile_from({}, {})
    assert profile.tax_model == "global" and profile.tax_code("gst") is None
    assert profile.customer_rule == "participant_id"
