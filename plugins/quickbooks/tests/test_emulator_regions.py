"""Companies of each region: CompanyInfo, Preferences, and tax lists with their own Ids."""

from __future__ import annotations

from typing import Any

import pytest
from books_support import REALM, Ledger
from hub_quickbooks.emulator.books import CompanySetup

#: What each region's company shows (QUICKBOOKS.md 12.1).
EXPECTED = {
    "AU": ("AU", "AUD", "July", "Australian Taxation Office"),
    "UK": ("GB", "GBP", "April", "HMRC"),
    "CA": ("CA", "CAD", "January", "Canada Revenue Agency"),
    "US": ("US", "USD", "January", "Arizona Dept. of Revenue"),
}


def sales_rates(ledger: Ledger, code: dict[str, Any]) -> list[tuple[str, float]]:
    """(rate name, percent) of a code's sales rates, joined on TaxRate.Id."""
    rates = {rate["Id"]: rate for rate in ledger.rows("SELECT * FROM TaxRate")}
    return [
        (rates[d["TaxRateRef"]["value"]]["Name"], rates[d["TaxRateRef"]["value"]]["RateValue"])
        for d in code["SalesTaxRateList"]["TaxRateDetail"]
    ]


def codes_by_name(ledger: Ledger) -> dict[str, dict[str, Any]]:
    rows = ledger.rows("SELECT * FROM TaxCode WHERE Active IN (true, false)")
    return {row["Name"]: row for row in rows}


@pytest.mark.parametrize("region", list(EXPECTED))
def test_company_info_and_preferences_follow_the_region(region: str) -> None:
    ledger = Ledger(region=region)
    country, currency, fiscal, agency = EXPECTED[region]
    info = ledger.ok(ledger.get(f"companyinfo/{REALM}"), "CompanyInfo")
    assert info["Country"] == country and info["FiscalYearStartMonth"] == fiscal
    prefs = ledger.ok(ledger.get("preferences", minorversion="75"), "Preferences")
    assert prefs["Id"] == "1" and prefs["SyncToken"] == "0" and "MetaData" in prefs
    assert prefs["CurrencyPrefs"] == {"MultiCurrencyEnabled": False,
                                      "HomeCurrency": {"value": currency}}  # fmt: skip
    assert prefs["AccountingInfoPrefs"]["TaxYearMonth"] == fiscal
    assert prefs["TaxPrefs"]["UsingSalesTax"] is True
    assert "PartnerTaxEnabled" not in prefs["TaxPrefs"]  # no AST in sandboxes (12.2.5)
    assert ("TaxGroupCodeRef" in prefs["TaxPrefs"]) is (region == "US")
    forms = prefs["SalesFormsPrefs"]
    assert forms["CustomTxnNumbers"] is True and forms["AllowDiscount"] is True
    terms = {t["Id"]: t["Name"] for t in ledger.rows("SELECT * FROM Term")}
    assert terms[forms["DefaultTerms"]["value"]] == "Net 30"
    names = [pair["Name"] for pair in prefs["OtherPrefs"]["NameValue"]]
    assert "WarnDuplicateCheckNumber" in names
    agencies = [a["DisplayName"] for a in ledger.rows("SELECT * FROM TaxAgency")]
    assert agency in agencies


def test_preferences_are_queryable_also_in_a_batch() -> None:
    ledger = Ledger()
    read = ledger.ok(ledger.get("preferences"), "Preferences")
    assert ledger.rows("SELECT * FROM Preferences") == [read]
    batch = ledger.post("batch", {"BatchItemRequest": [
        {"bId": "p", "Query": "SELECT * FROM Preferences"},
        {"bId": "t", "Query": "SELECT * FROM TaxCode WHERE Name = 'GST'"},
    ]})  # fmt: skip
    first, second = batch.json["BatchItemResponse"]
    assert first["QueryResponse"]["Preferences"] == [read]
    assert [code["Name"] for code in second["QueryResponse"]["TaxCode"]] == ["GST"]


def test_australian_codes_as_quickbooks_au_names_them() -> None:
    ledger = Ledger()
    codes = codes_by_name(ledger)
    assert set(codes) == {
        "GST", "GST-free", "GST-free exports", "GST on capital", "GST-free capital",
        "GST on non-capital", "GST-free non-capital", "Input taxed", "Out of Scope",
    }  # fmt: skip
    assert sales_rates(ledger, codes["GST"]) == [("GST (sales)", 10)]
    assert sales_rates(ledger, codes["GST-free"]) == [("GST free (sales)", 0)]
    assert sales_rates(ledger, codes["Out of Scope"]) == [("N-T (Sales)", 0)]
    assert sales_rates(ledger, codes["Input taxed"]) == [("Input tax (sales)", 0)]
    # Purchase-only codes have an empty sales list.
    for name in ("GST on non-capital", "GST-free non-capital", "GST on capital"):
        assert codes[name]["SalesTaxRateList"]["TaxRateDetail"] == []
        assert codes[name]["PurchaseTaxRateList"]["TaxRateDetail"]
    gst = codes["GST"]
    assert gst["Active"] is True and gst["Taxable"] is True and gst["TaxGroup"] is True
    assert gst["domain"] == "QBO" and gst["SyncToken"] == "0"
    detail = gst["SalesTaxRateList"]["TaxRateDetail"][0]
    assert detail["TaxTypeApplicable"] == "TaxOnAmount" and detail["TaxOrder"] == 0
    assert detail["TaxRateRef"]["name"] == "GST (sales)"
    rate = ledger.tax_rate("GST (sales)")
    assert rate["RateValue"] == 10 and rate["SpecialTaxType"] == "NONE"
    assert rate["DisplayType"] == "ReadOnly" and rate["EffectiveTaxRate"][0]["RateValue"] == 10
    agency = ledger.ok(ledger.get(f"taxagency/{rate['AgencyRef']['value']}"), "TaxAgency")
    assert agency["DisplayName"] == "Australian Taxation Office"


def test_uk_and_canadian_codes() -> None:
    uk = Ledger(region="UK")
    codes = codes_by_name(uk)
    assert {"20.0% S", "5.0% R", "0.0% Z", "Exempt", "No VAT"} <= set(codes)
    assert codes["20.0% S"]["Description"] == "Standard"
    assert sales_rates(uk, codes["20.0% S"]) == [("SS-20.0", 20)]
    assert codes["20.0% S"]["PurchaseTaxRateList"]["TaxRateDetail"][0]["TaxRateRef"]["name"] \
        == "SP-20.0"  # fmt: skip
    ca = Ledger(region="CA")
    codes = codes_by_name(ca)
    assert {"GST", "HST ON", "GST/PST BC", "Zero-rated", "Exempt", "Out of Scope"} <= set(codes)
    assert sales_rates(ca, codes["GST/PST BC"]) == [("GST (sales)", 5), ("PST BC (sales)", 7)]
    assert sales_rates(ca, codes["HST ON"]) == [("HST ON (sales)", 13)]


def test_us_pseudo_codes_and_a_tax_group() -> None:
    ledger = Ledger(region="US")
    codes = codes_by_name(ledger)
    for name in ("TAX", "NON", "CustomSalesTax"):
        assert codes[name]["Id"] == name
        assert ledger.ok(ledger.get(f"taxcode/{name}"), "TaxCode")["Name"] == name
    assert codes["NON"]["Taxable"] is False and codes["TAX"]["TaxGroup"] is False
    group = codes["Tucson City"]
    assert group["Id"].isdigit() and group["TaxGroup"] is True
    assert sales_rates(ledger, group) == [("AZ State tax", 6.1), ("Tucson City", 1.9)]
    prefs = ledger.ok(ledger.get("preferences"), "Preferences")
    assert prefs["TaxPrefs"]["TaxGroupCodeRef"] == {"value": group["Id"]}
    assert [c["Id"] for c in ledger.rows("SELECT * FROM TaxCode WHERE Id IN ('TAX', 'NON')")] \
        == ["NON", "TAX"]  # fmt: skip


def test_tax_ids_are_each_companys_own() -> None:
    first, second = Ledger(realm="9341000000000001"), Ledger(realm="9341000000000002")

    def ids(ledger: Ledger) -> dict[str, str]:
        found = {f"code:{n}": c["Id"] for n, c in codes_by_name(ledger).items()}
        found |= {f"rate:{r['Name']}": r["Id"] for r in ledger.rows("SELECT * FROM TaxRate")}
        return found

    one, two = ids(first), ids(second)
    assert one.keys() == two.keys() and one != two
    assert one["code:GST"] != two["code:GST"]
    assert all(value.isdigit() for value in one.values())
    # Ids leave gaps, so counting from 1 finds nothing to rely on.
    numbers = sorted(int(first.tax_code(name)) for name in codes_by_name(first))
    assert numbers != list(range(numbers[0], numbers[0] + len(numbers)))
    # The same realm always gets the same Ids (a restart must not renumber them).
    assert ids(Ledger(realm="9341000000000001")) == one


def test_tax_lists_are_read_only_and_not_in_cdc() -> None:
    ledger = Ledger()
    gst = ledger.tax_code("GST")
    assert ledger.get(f"taxcode/{gst}").status == 200
    for path, body, params in [
        ("taxcode", {"Name": "Mine"}, {}),
        ("taxcode", {"Id": gst, "SyncToken": "0", "sparse": True, "Active": False}, {}),
        ("taxrate", {"Name": "Mine", "RateValue": 3}, {}),
        ("taxagency", {"DisplayName": "Mine"}, {}),
        ("preferences", {"Id": "1", "SyncToken": "0", "sparse": True}, {}),
        ("taxcode", {"Id": gst, "SyncToken": "0"}, {"operation": "delete"}),
    ]:
        answer = ledger.post(path, body, **params)
        assert answer.status == 400 and answer.code == "500", (path, answer.raw)
        assert answer.fault()["Message"] == "Unsupported Operation"
    assert ledger.get("taxcode/99999").code == "610"
    cdc = ledger.get("cdc", entities="TaxCode", changedSince="2025-03-01")
    assert cdc.status == 400 and cdc.code == "500"
    assert ledger.get("cdc", entities="Preferences,Term", changedSince="2025-03-01").status == 200


def test_queries_hide_inactive_codes_unless_asked() -> None:
    ledger = Ledger()
    gst = ledger.tax_code("GST")
    ledger.books.edit(REALM, "TaxCode", gst, {"Active": False})
    active = [row["Name"] for row in ledger.rows("SELECT * FROM TaxCode")]
    assert "GST" not in active and "GST-free" in active
    assert "GST" in codes_by_name(ledger)
    assert [row["Name"] for row in ledger.rows(f"SELECT * FROM TaxCode WHERE Id IN ('{gst}') "
                                               "AND Active = false")] == ["GST"]  # fmt: skip


def test_company_setup_choices_show_in_preferences() -> None:
    setup = CompanySetup(multicurrency=True, using_sales_tax=False, custom_txn_numbers=False)
    ledger = Ledger(setup=setup)
    prefs = ledger.ok(ledger.get("preferences"), "Preferences")
    assert prefs["CurrencyPrefs"]["MultiCurrencyEnabled"] is True
    assert prefs["TaxPrefs"]["UsingSalesTax"] is False
    assert prefs["SalesFormsPrefs"]["CustomTxnNumbers"] is False
