"""What happens inside QuickBooks and around the API: the edit control, companies of
each region, the metering counters and the start-up latency."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from emulator_support import Receiver, RunningEmulator, running_emulator, webhook_receiver
from hub_quickbooks.emulator import create_app

VERIFIER = "verifier-for-edits"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with webhook_receiver() as state:
        yield state


@pytest.fixture
def emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningEmulator]:
    with running_emulator(monkeypatch, limits=False) as running:
        yield running


def test_companies_of_each_region(emulator: RunningEmulator) -> None:
    seeded = emulator.control("GET", "companies")[0]
    assert seeded == {"realm_id": seeded["realm_id"], "name": "Sandbox Company_AU_1",
                      "region": "AU", "country": "AU", "home_currency": "AUD"}  # fmt: skip
    created = emulator.http.post("/_emulator/companies", json={
        "name": "London Ltd", "region": "gb", "realm_id": "123456789",
        "multicurrency": True, "preferences": {"custom_txn_numbers": False},
    })  # fmt: skip
    assert created.status_code == 201
    assert created.json() == {"realm_id": "123456789", "name": "London Ltd", "region": "UK",
                              "country": "GB", "home_currency": "GBP"}  # fmt: skip
    for region, country, currency in (("us", "US", "USD"), ("CA", "CA", "CAD")):
        answer = emulator.control("POST", "companies", json={"name": region, "region": region})
        assert (answer["country"], answer["home_currency"]) == (country, currency)
    listed = emulator.control("GET", "companies")
    assert [c["region"] for c in listed] == ["AU", "UK", "US", "CA"]
    for body, field in [
        ({"name": "X", "region": "NZ"}, "region"),
        ({"name": "X", "region": 5}, "region"),
        ({"name": "X", "multicurrency": "yes"}, "multicurrency"),
        ({"name": "X", "preferences": {"using_sales_tax": 1}}, "using_sales_tax"),
        ({"name": "X", "preferences": {"colour": True}}, "colour"),
        ({"name": "X", "country": "US"}, "country"),
    ]:
        refused = emulator.http.post("/_emulator/companies", json=body)
        assert refused.status_code == 400 and field in refused.json()["error"]
    auth = emulator.connect_to("123456789")
    prefs = emulator.api(auth.access_token, "GET", "preferences", "123456789").json()
    assert prefs["Preferences"]["CurrencyPrefs"]["MultiCurrencyEnabled"] is True
    assert prefs["Preferences"]["SalesFormsPrefs"]["CustomTxnNumbers"] is False


def test_seeded_region_and_latency_are_start_up_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with running_emulator(monkeypatch, region="US", latency_ms=25) as emu:
        assert emu.control("GET", "companies")[0]["name"] == "Sandbox Company_US_1"
        assert emu.control("GET", "latency") == {"ms": 25}
        emu.control("POST", "latency", json={"ms": 0})
        emu.control("POST", "reset")
        assert emu.control("GET", "latency") == {"ms": 25}  # back to the start-up value
    with pytest.raises(ValueError, match="region"):
        create_app(region="FR")
    with pytest.raises(ValueError, match="latency_ms"):
        create_app(latency_ms=-1)


def test_an_accountant_makes_a_tax_code_inactive(emulator: RunningEmulator) -> None:
    auth = emulator.connect()
    token = auth.access_token
    listed = emulator.control("GET", f"companies/{emulator.realm_id}/objects/TaxCode")
    gst = next(code["Id"] for code in listed if code["Name"] == "GST")
    assert gst == emulator.tax_code(token, "GST")
    edited = emulator.control("POST", f"companies/{emulator.realm_id}/edit",
                              json={"entity": "TaxCode", "id": gst,
                                    "changes": {"Active": False}})  # fmt: skip
    assert edited["Active"] is False and edited["SyncToken"] == "1"
    assert edited["MetaData"]["LastUpdatedTime"] >= edited["MetaData"]["CreateTime"]
    customer = emulator.api(token, "POST", "customer", json={"DisplayName": "Edit Test"})
    income = emulator.query(token, "SELECT * FROM Account WHERE AccountType = 'Income'")
    item = emulator.api(token, "POST", "item", json={
        "Name": "Edit item", "Type": "Service", "IncomeAccountRef": {"value": income[0]["Id"]}})
    invoice = emulator.api(token, "POST", "invoice", json={
        "CustomerRef": {"value": customer.json()["Customer"]["Id"]},
        "Line": [{"Amount": 10, "DetailType": "SalesItemLineDetail",
                  "SalesItemLineDetail": {"ItemRef": {"value": item.json()["Item"]["Id"]},
                                          "TaxCodeRef": {"value": gst}}}],
    })  # fmt: skip
    assert invoice.status_code == 400
    assert invoice.json()["Fault"]["Error"][0]["code"] == "610"
    # The accountant's own list still shows the inactive code; a client's default query not.
    again = emulator.control("GET", f"companies/{emulator.realm_id}/objects/taxcode")
    assert [c["Active"] for c in again if c["Id"] == gst] == [False]
    assert gst not in [c["Id"] for c in emulator.query(token, "SELECT * FROM TaxCode")]
    for path in (f"companies/{emulator.realm_id}/objects/Widget", "companies/42/objects/Term"):
        assert emulator.http.get(f"/_emulator/{path}").status_code == 404


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"entity": "TaxCode", "id": "99999", "changes": {}}, 404),
        ({"entity": "Widget", "id": "1", "changes": {}}, 404),
        ({"entity": "Customer", "changes": {}}, 400),
        ({"entity": "Preferences", "id": "1", "changes": []}, 400),
        ({"entity": "Preferences", "id": "1",
          "changes": {"CurrencyPrefs": {"HomeCurrency": {"value": "USD"}}}}, 400),
    ],
)
def test_edit_faults(emulator: RunningEmulator, body: dict[str, object], status: int) -> None:
    response = emulator.http.post(f"/_emulator/companies/{emulator.realm_id}/edit", json=body)
    assert response.status_code == status, response.text
    unknown = emulator.http.post("/_emulator/companies/42/edit",
                                 json={"entity": "Customer", "id": "1", "changes": {}})
    assert unknown.status_code == 404


def test_edit_of_a_customer_fires_a_webhook(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    options = {"webhook_url": receiver.url, "verifier_token": VERIFIER, "limits": False}
    with running_emulator(monkeypatch, **options) as emu:
        auth = emu.connect()
        created = emu.api(auth.access_token, "POST", "customer", json={"DisplayName": "Ed"})
        customer_id = created.json()["Customer"]["Id"]
        receiver.wait_for(1)
        edited = emu.control("POST", f"companies/{emu.realm_id}/edit", json={
            "entity": "customer", "id": customer_id, "changes": {"Notes": "called in"}})
        assert edited["Notes"] == "called in" and edited["SyncToken"] == "1"
        emu.control("POST", f"companies/{emu.realm_id}/edit", json={
            "entity": "TaxCode", "id": emu.tax_code(auth.access_token, "GST"),
            "changes": {"Description": "GST 10%"}})  # no webhook for tax codes
        _, body = receiver.wait_for(2)[1]
        entities = json.loads(body)["eventNotifications"][0]["dataChangeEvent"]["entities"]
        assert [(e["name"], e["id"], e["operation"]) for e in entities] == [
            ("Customer", customer_id, "Update")
        ]
        read = emu.api(auth.access_token, "GET", f"customer/{customer_id}").json()["Customer"]
        assert read["Notes"] == "called in"


def test_metering_counts_coreplus_and_core_calls(emulator: RunningEmulator) -> None:
    auth = emulator.connect()
    token = auth.access_token
    realm = emulator.realm_id
    emulator.api(token, "GET", f"companyinfo/{realm}")  # CorePlus
    emulator.api(token, "GET", "preferences")  # CorePlus
    emulator.api(token, "POST", "query", content=b"SELECT * FROM TaxCode",
                 headers={"Content-Type": "application/text"})  # CorePlus
    emulator.api(token, "GET", "cdc", params={"entities": "Customer",
                                              "changedSince": "2025-01-01"})  # CorePlus
    emulator.api(token, "POST", "customer", json={"DisplayName": "Metered"})  # Core
    emulator.api(token, "POST", "batch", json={"BatchItemRequest": [
        {"bId": "1", "operation": "create", "Customer": {"DisplayName": "B"}}]})  # Core
    emulator.api(token, "POST", "batch", json={"BatchItemRequest": [
        {"bId": "1", "operation": "create", "Customer": {"DisplayName": "C"}},
        {"bId": "2", "Query": "SELECT * FROM Customer"}]})  # CorePlus
    emulator.api(token, "POST", "customer", json={"DisplayName": "Metered"})  # Core (a 6240)
    metered = emulator.control("GET", "stats")["metered"]
    assert metered == {realm: {"coreplus": 5, "core": 3,
                               "apps": {emulator.client_id: {"coreplus": 5, "core": 3}}}}
    emulator.api("not-a-token", "GET", f"companyinfo/{realm}")  # refused before the service
    assert emulator.control("GET", "stats")["metered"] == metered
