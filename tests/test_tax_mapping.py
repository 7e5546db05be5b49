"""GST on invoice lines, the organization's default, a connection's mapping, the check.

A provider with tax codes (``TaxLedger``, in memory) is connected; the stories below
are what an organization sees through the API and the portal.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from typing import Any

import pytest
from starlette.testclient import TestClient

from hub.jobs import Worker
from hub.models import Connection
from hub.tax import differs, rounding_allowance
from hub.testing import form_token, login
from tests.fakeplugin import TaxLedger
from tests.test_api import BATCH

SLUG = "taxledger"


@pytest.fixture
def fake_plugin() -> TaxLedger:
    return TaxLedger()


@pytest.fixture
def hub_plugins(fake_plugin: TaxLedger) -> dict[str, object]:
    return {SLUG: fake_plugin}


@pytest.fixture
def hub_plugin_env() -> dict[str, str]:
    return {"TAXLEDGER_CLIENT_ID": "cid", "TAXLEDGER_CLIENT_SECRET": "secret"}


@pytest.fixture
def connected(hub_db, hub_org) -> int:
    """Tax Ledger connected for the organization an hour ago."""
    with hub_db.session() as session:
        connection = Connection(
            organization_id=hub_org["id"],
            integration=SLUG,
            status="connected",
            external_account_id="books-1",
            external_account_name="Acme Books",
            environment="sandbox",
            connected_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1),
        )
        session.add(connection)
        session.flush()
        return int(connection.id)


def run_jobs(services) -> None:
    asyncio.run(Worker(services, periodic=False).run_until_idle(timeout=30))


def line(tax: str | None = None, price: str = "100.14", qty: str = "2") -> dict[str, Any]:
    body = {"description": "Support", "item_code": "07_002", "quantity": qty, "unit_price": price}
    if tax is not None:
        body["tax"] = tax
    return body


def batch(*invoices: tuple[str, list[dict[str, Any]]]) -> dict[str, Any]:
    template = BATCH["invoices"][0]
    return {
        "reference": "2026-11 fortnight 2",
        "invoices": [dict(template, number=number, lines=lines) for number, lines in invoices],
    }


def quickbooks_view(api_client, invoice_id: int) -> dict[str, Any]:
    return api_client.get(f"/api/v1/invoices/{invoice_id}").json()["integrations"][SLUG]


# --- GST on lines -------------------------------------------------------------------------


def test_gst_is_added_per_line_and_gst_free_lines_carry_none(api_client):
    body = batch(("INV-1", [line("gst", "193.99", "1"), line("gst_free"), line(None, "0.05", "1")]))

    created = api_client.post("/api/v1/invoice-batches", json=body)

    assert created.status_code == 201, created.text
    invoice = created.json()["invoices"][0]
    # 193.99 + 200.28 + 0.05 before GST; GST only on the first line: 19.399 -> 19.40.
    assert (invoice["subtotal"], invoice["tax"], invoice["total"]) == ("394.32", "19.40", "413.72")
    assert invoice["balance"] == "413.72"
    lines = api_client.get(f"/api/v1/invoices/{invoice['id']}").json()["lines"]
    assert [(ln["tax"], ln["tax_amount"]) for ln in lines] == [
        ("gst", "19.40"), ("gst_free", "0.00"), ("gst_free", "0.00"),
    ]


def test_the_default_tax_is_the_organizations_and_changes_only_new_invoices(api_client):
    assert api_client.get("/api/v1/settings").json()["default_tax"] == "gst_free"
    before = api_client.post("/api/v1/invoice-batches", json=batch(("INV-1", [line()]))).json()

    changed = api_client.patch("/api/v1/settings", json={"default_tax": "gst"})

    assert changed.status_code == 200 and changed.json()["default_tax"] == "gst"
    after = api_client.post("/api/v1/invoice-batches", json=batch(("INV-2", [line()]))).json()
    assert after["invoices"][0]["tax"] == "20.03"
    again = api_client.get(f"/api/v1/invoice-batches/{before['id']}").json()
    assert again["invoices"][0]["tax"] == "0.00"


@pytest.mark.parametrize(
    ("body", "field"),
    [({"default_tax": "vat"}, "default_tax"), ({"timezone": "UTC"}, "timezone")],
)
def test_a_bad_setting_is_refused_naming_the_field(api_client, body, field):
    response = api_client.patch("/api/v1/settings", json=body)
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == field


def test_an_admin_sets_the_default_in_the_portal_and_a_member_cannot(
    hub_app, hub_org, api_client
):
    with TestClient(hub_app, follow_redirects=False) as admin:
        login(admin, hub_org["admin_email"])
        page = admin.get("/settings")
        assert "Default for lines that do not say" in page.text
        saved = admin.post(
            "/settings", data={"csrf_token": form_token(admin, "/settings"), "default_tax": "gst"}
        )
        assert saved.status_code == 303
    assert api_client.get("/api/v1/settings").json()["default_tax"] == "gst"
    with TestClient(hub_app, follow_redirects=False) as member:
        login(member, hub_org["member_email"])
        assert "An administrator can change this" in member.get("/settings").text
        refused = member.post(
            "/settings",
            data={"csrf_token": form_token(member, "/settings"), "default_tax": "gst_free"},
        )
        assert refused.status_code == 403


# --- the mapping and the check --------------------------------------------------------------


def test_invoices_wait_for_a_missing_mapping_and_go_once_it_is_chosen(
    api_client, hub_services, connected, fake_plugin
):
    created = api_client.post(
        "/api/v1/invoice-batches",
        json=batch(
            ("INV-GST", [line("gst")]),
            ("INV-FREE", [line("gst_free")]),
            ("INV-2026-11-FORTNIGHT-0001", [line("gst")]),
        ),
    ).json()
    gst, free, long_number = (i["id"] for i in created["invoices"])

    run_jobs(hub_services)

    assert fake_plugin.choice_reads == 1  # read once, before the first push
    assert quickbooks_view(api_client, gst)["sync_state"] == "synced"
    held = quickbooks_view(api_client, free)
    assert held["sync_state"] == "needs_attention" and held["fix_in"] == "mapping"
    assert held["error"] == "Choose the tax code for gst_free lines."
    assert quickbooks_view(api_client, long_number)["fix_in"] == "invoice"
    state = api_client.get(f"/api/v1/invoice-batches/{created['id']}").json()
    assert state["integrations"][SLUG]["sync_state"] == "needs_attention"
    assert state["integrations"][SLUG]["held"] == 2
    mapping = api_client.get(f"/api/v1/integrations/{SLUG}/mapping").json()
    assert mapping["complete"] is False
    fields = {f["key"]: f for f in mapping["fields"]}
    assert fields["tax.gst"]["value"] == "gst10" and fields["tax.gst_free"]["value"] is None

    chosen = api_client.patch(
        f"/api/v1/integrations/{SLUG}/mapping", json={"values": {"tax.gst_free": "free"}}
    )
    renumbered = api_client.patch(f"/api/v1/invoices/{long_number}", json={"number": "INV-0001"})
    run_jobs(hub_services)

    assert chosen.status_code == 200 and chosen.json()["complete"] is True
    assert renumbered.status_code == 200
    assert quickbooks_view(api_client, free)["sync_state"] == "synced"
    assert quickbooks_view(api_client, long_number)["remote_number"] == "INV-0001"
    assert fake_plugin.created["INV-FREE"] == {"codes": ["free"]}
    state = api_client.get(f"/api/v1/invoice-batches/{created['id']}").json()
    assert state["integrations"][SLUG]["sync_state"] == "synced"


def test_the_providers_totals_are_shown_and_a_difference_is_flagged(
    api_client, hub_services, connected, fake_plugin
):
    fake_plugin.suggest_free = True
    created = api_client.post(
        "/api/v1/invoice-batches", json=batch(("INV-1", [line("gst")]), ("INV-2", [line()]))
    ).json()
    run_jobs(hub_services)
    right, _ = (quickbooks_view(api_client, i["id"]) for i in created["invoices"])
    assert right["totals"] == {"subtotal": "200.28", "tax": "20.03", "total": "220.31"}
    assert right["totals_mismatch"] is False

    # An admin maps GST lines to a 0% code: the page warns, and the next push is flagged.
    mapping = api_client.patch(
        f"/api/v1/integrations/{SLUG}/mapping", json={"values": {"tax.gst": "oos"}}
    ).json()
    warning = next(f for f in mapping["fields"] if f["key"] == "tax.gst")["warning"]
    assert "charges 0%" in warning and "10%" in warning
    later = api_client.post("/api/v1/invoice-batches", json=batch(("INV-3", [line("gst")])))
    run_jobs(hub_services)
    wrong = quickbooks_view(api_client, later.json()["invoices"][0]["id"])
    assert wrong["totals"]["tax"] == "0.00" and wrong["totals_mismatch"] is True
    page = api_client.get(f"/api/v1/invoice-batches/{later.json()['id']}")
    assert page.status_code == 200


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"tax.nope": "free"}, "values.tax.nope"),
        ({"tax.gst": "not-a-code"}, "values.tax.gst"),
        ({"tax.gst": ""}, "values.tax.gst"),
    ],
)
def test_a_bad_mapping_is_refused_naming_the_field_and_changes_nothing(
    api_client, hub_services, connected, values, field
):
    assert api_client.post(f"/api/v1/integrations/{SLUG}/mapping/refresh").status_code == 200

    response = api_client.patch(f"/api/v1/integrations/{SLUG}/mapping", json={"values": values})

    assert response.status_code == 422, response.text
    assert response.json()["error"]["details"][0]["field"] == field
    mapping = api_client.get(f"/api/v1/integrations/{SLUG}/mapping").json()
    assert {f["key"]: f["value"] for f in mapping["fields"]}["tax.gst"] == "gst10"


def test_an_optional_field_can_be_cleared(api_client, connected):
    api_client.post(f"/api/v1/integrations/{SLUG}/mapping/refresh")
    set_ = api_client.patch(
        f"/api/v1/integrations/{SLUG}/mapping", json={"values": {"memo_prefix": "inv"}}
    ).json()
    cleared = api_client.patch(
        f"/api/v1/integrations/{SLUG}/mapping", json={"values": {"memo_prefix": None}}
    ).json()
    assert {f["key"]: f["value"] for f in set_["fields"]}["memo_prefix"] == "inv"
    assert {f["key"]: f["value"] for f in cleared["fields"]}["memo_prefix"] is None


def test_the_mapping_needs_a_connection_and_a_known_integration(api_client):
    assert api_client.get(f"/api/v1/integrations/{SLUG}/mapping").status_code == 409
    assert api_client.get("/api/v1/integrations/nope/mapping").status_code == 404
    bad = api_client.patch(
        f"/api/v1/integrations/{SLUG}/mapping",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert bad.status_code == 400


def test_the_mapping_page_shows_the_choices_and_an_admin_saves_them(
    hub_app, hub_org, connected, api_client
):
    with TestClient(hub_app, follow_redirects=False) as admin:
        login(admin, hub_org["admin_email"])
        page = admin.get(f"/integrations/{SLUG}/mapping").text
        # Read on first view: the options, the suggestion, what is still needed.
        assert "GST · 10%" in page and "(suggested)" in page
        assert "Invoices are waiting for a choice" in page
        assert "Tax Ledger keeps its books in AUD." in page
        token = form_token(admin, f"/integrations/{SLUG}/mapping")
        saved = admin.post(
            f"/integrations/{SLUG}/mapping",
            data={"csrf_token": token, "value.tax.gst": "gst10", "value.tax.gst_free": "free"},
        )
        assert saved.status_code == 303
        page = admin.get(f"/integrations/{SLUG}/mapping").text
        assert "Mapping saved." in page and "Invoices are waiting" not in page
        overview = admin.get(f"/integrations/{SLUG}").text
        assert "GST Free" in overview
    with TestClient(hub_app, follow_redirects=False) as member:
        login(member, hub_org["member_email"])
        page = member.get(f"/integrations/{SLUG}/mapping").text
        assert "Only an administrator can change the mapping." in page
        refused = member.post(
            f"/integrations/{SLUG}/mapping",
            data={"csrf_token": form_token(member), "value.tax.gst": "oos"},
        )
        assert refused.status_code == 403
    fields = api_client.get(f"/api/v1/integrations/{SLUG}/mapping").json()["fields"]
    assert {f["key"]: f["value"] for f in fields}["tax.gst"] == "gst10"


def test_a_wrong_choice_in_the_form_saves_nothing(hub_app, hub_org, connected, api_client):
    with TestClient(hub_app, follow_redirects=False) as admin:
        login(admin, hub_org["admin_email"])
        admin.get(f"/integrations/{SLUG}/mapping")
        admin.post(
            f"/integrations/{SLUG}/mapping",
            data={"csrf_token": form_token(admin), "value.tax.gst": "<script>"},
        )
        page = admin.get(f"/integrations/{SLUG}/mapping").text
        assert "Not saved: Tax code for lines with GST: is not one of Tax Ledger" in page
        assert "<script>" not in page
    fields = api_client.get(f"/api/v1/integrations/{SLUG}/mapping").json()["fields"]
    assert {f["key"]: f["value"] for f in fields}["tax.gst"] == "gst10"


# --- rounding ---------------------------------------------------------------------------------


def test_rounding_is_allowed_half_a_cent_a_line_and_no_more():
    from decimal import Decimal

    assert rounding_allowance(1) == Decimal("0.01")
    assert rounding_allowance(5) == Decimal("0.03")
    assert not differs(Decimal("10.00"), Decimal("10.01"), lines=1)
    assert differs(Decimal("10.00"), Decimal("10.02"), lines=1)
    assert not differs(Decimal("10.00"), Decimal("10.03"), lines=5)
    assert differs(Decimal("10.00"), Decimal("11.00"), lines=100)


def test_the_openapi_document_describes_tax_mapping_and_settings(hub_client):
    document = hub_client.get("/api/v1/openapi.json").json()
    line_schema = json.dumps(document)
    assert '"gst_free"' in line_schema
    assert "/integrations/{slug}/mapping" in document["paths"]
    assert "/settings" in document["paths"]


def test_a_field_left_unchosen_does_not_stop_saving_the_others(hub_app, hub_org, connected,
                                                               api_client):
    with TestClient(hub_app, follow_redirects=False) as admin:
        login(admin, hub_org["admin_email"])
        admin.get(f"/integrations/{SLUG}/mapping")  # reads the choices: GST-free has none
        saved = admin.post(
            f"/integrations/{SLUG}/mapping",
            data={"csrf_token": form_token(admin), "value.tax.gst": "oos",
                  "value.tax.gst_free": ""},
        )
        assert saved.status_code == 303
        assert "Mapping saved." in admin.get(f"/integrations/{SLUG}/mapping").text
    values = {f["key"]: f["value"] for f in
              api_client.get(f"/api/v1/integrations/{SLUG}/mapping").json()["fields"]}
    assert values["tax.gst"] == "oos" and values["tax.gst_free"] is None
