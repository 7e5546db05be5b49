"""GST and the mapping end to end: the hub, the QuickBooks plugin and a strict emulator.

The emulator's default company is Australian, with the tax codes such a company has
(ids of its own) and QuickBooks' refusal of a sales line without a tax code. Each
story is what a support coordinator's business sees in Coordinoter and in QuickBooks.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import httpx
import sqlalchemy as sa
from hub_quickbooks.client import QuickBooksClient
from hub_support import (
    browser,
    connect_quickbooks,
    connected,
    emulator,
    emulator_options,
    hub_base_url,
    hub_plugin_env,
    hub_plugins,
    live_hub,
    run_worker,
    wait_for,
)
from test_e2e_sync import api, fast_retries, wait_synced

from hub.context import connection_context, load_connection
from hub.models import Connection
from hub.testing import csrf_from

SUPPORT = {"description": "Support coordination", "item_code": "07_002_0106_8_3",
           "quantity": "2", "unit_price": "100.14"}
REPORT = {"description": "Plan review report (not NDIS-funded)", "item_code": "ADMIN-REPORT",
          "quantity": "1", "unit_price": "193.99", "tax": "gst"}


def invoice(number: str, *lines: dict[str, Any], who: tuple[str, str] = ("P-001", "Alex Chen"),
            currency: str = "AUD") -> dict[str, Any]:
    return {
        "number": number,
        "participant": {"id": who[0], "name": who[1]},
        "issue_date": "2026-11-23",
        "due_date": "2026-12-07",
        "currency": currency,
        "lines": list(lines) or [SUPPORT],
    }


def push(api: httpx.Client, *invoices: dict[str, Any]) -> dict[str, Any]:
    created = api.post("/api/v1/invoice-batches", json={"reference": "fortnight", "invoices":
                                                          list(invoices)})
    assert created.status_code == 201, created.text
    return created.json()


def in_quickbooks(services, connection_id: int, *calls: tuple[str, Any]) -> list[Any]:
    """Read from the connected company with the plugin's client, as a job would."""

    async def read() -> list[Any]:
        connection = load_connection(services, connection_id)
        async with connection_context(services, connection) as ctx:
            client = QuickBooksClient.for_connection(ctx)
            answers = []
            for kind, argument in calls:
                if kind == "query":
                    answers.append(await client.query(argument, subject="test"))
                else:
                    answers.append(await client.read(kind, argument, subject="test"))
            return answers

    return asyncio.run(read())


def sync_of(body: dict[str, Any], number: str) -> dict[str, Any]:
    found = next(i for i in body["invoices"] if i["number"] == number)
    return {**found["integrations"]["quickbooks"], "invoice": found}


def test_gst_and_gst_free_lines_get_the_companys_codes_and_quickbooks_totals_match(
    api, connected, hub_services, browser
):
    batch = push(api, invoice("INV-1", SUPPORT, REPORT), invoice("INV-2"))
    body = wait_synced(api, batch["id"])
    assert body["integrations"]["quickbooks"]["sync_state"] == "synced"
    mixed = sync_of(body, "INV-1")

    codes, remote = in_quickbooks(
        hub_services, connected,
        ("query", "SELECT * FROM TaxCode"), ("Invoice", mixed["remote_id"]),
    )
    names = {row["Id"]: row["Name"] for row in codes}
    sales_lines = [ln for ln in remote["Line"] if ln["DetailType"] == "SalesItemLineDetail"]
    assert [names[ln["SalesItemLineDetail"]["TaxCodeRef"]["value"]] for ln in sales_lines] == [
        "GST-free", "GST",
    ]
    # QuickBooks' GST is 10% of the GST line, and its totals include it.
    assert Decimal(str(remote["TxnTaxDetail"]["TotalTax"])) == Decimal("19.40")
    assert Decimal(str(remote["TotalAmt"])) == Decimal("413.67") == Decimal(
        str(remote["Balance"])
    )
    # Coordinoter shows the same figures as its own, and no difference.
    ours = mixed["invoice"]
    assert (ours["subtotal"], ours["tax"], ours["total"]) == ("394.27", "19.40", "413.67")
    assert mixed["totals"] == {"subtotal": "394.27", "tax": "19.40", "total": "413.67"}
    assert mixed["totals_mismatch"] is False
    page = browser.get(f"/invoice-batches/{batch['id']}").text
    assert "413.67" in page and "incl. GST 19.40" in page


def test_two_participants_with_the_same_name_both_sync(api, connected, emulator, hub_services):
    batch = push(
        api,
        invoice("INV-1", who=("P-001", "Alex Chen")),
        invoice("INV-2", who=("P-002", "Alex Chen")),
    )
    body = wait_synced(api, batch["id"])

    assert body["integrations"]["quickbooks"]["sync_state"] == "synced"
    (customers,) = in_quickbooks(
        hub_services, connected, ("query", "SELECT * FROM Customer WHERE DisplayName LIKE 'Alex%'")
    )
    assert sorted(c["DisplayName"] for c in customers) == ["Alex Chen (P-001)", "Alex Chen (P-002)"]


def test_an_over_long_number_is_held_with_a_reason_and_goes_once_renumbered(
    api, connected, emulator
):
    batch = push(api, invoice("NDIS-2026-11-FORTNIGHT-0001"), invoice("INV-2"))
    body = wait_synced(api, batch["id"])

    held = sync_of(body, "NDIS-2026-11-FORTNIGHT-0001")
    assert held["sync_state"] == "needs_attention" and held["fix_in"] == "invoice"
    assert "27 characters; QuickBooks allows at most 21" in held["error"]
    assert emulator.count("Invoice") == 1  # nothing was sent for it
    assert body["integrations"]["quickbooks"]["sync_state"] == "needs_attention"

    renumbered = api.patch(f"/api/v1/invoices/{held['invoice']['id']}", json={"number": "N-0001"})
    assert renumbered.status_code == 200, renumbered.text
    body = wait_for(
        lambda: (b := api.get(f"/api/v1/invoice-batches/{batch['id']}").json())["integrations"][
            "quickbooks"]["sync_state"] == "synced" and b,
        timeout=60,
    )
    assert sync_of(body, "N-0001")["remote_number"] == "N-0001"
    assert emulator.count("Invoice") == 2

    # A pushed invoice renumbered in Coordinoter is renumbered in QuickBooks too.
    pushed = sync_of(body, "INV-2")
    assert api.patch(f"/api/v1/invoices/{pushed['invoice']['id']}",
                     json={"number": "INV-2B"}).status_code == 200
    wait_for(
        lambda: sync_of(api.get(f"/api/v1/invoice-batches/{batch['id']}").json(), "INV-2B")[
            "remote_number"] == "INV-2B",
        timeout=60,
    )
    assert emulator.count("Invoice") == 2


def test_a_currency_the_company_does_not_use_is_held(api, connected, emulator):
    batch = push(api, invoice("INV-NZ", currency="NZD"))
    held = sync_of(wait_synced(api, batch["id"]), "INV-NZ")
    assert held["sync_state"] == "needs_attention"
    assert "is in NZD" in held["error"] and "works only in AUD" in held["error"]
    assert emulator.count("Invoice") == 0


def test_pushing_waits_for_a_tax_code_the_hub_cannot_choose_and_goes_once_chosen(
    api, browser, emulator, hub_db
):
    # The company's GST-free code was made inactive: the 0% codes left (exports, out of
    # scope, input taxed) are not for GST-free supplies, so the hub does not guess.
    codes = tax_codes(emulator)
    gst_free = codes["GST-free"]
    edit(emulator, "TaxCode", gst_free, {"Active": False})
    connect_quickbooks(browser)
    listing = browser.get("/integrations").text
    assert "One more step: choose the tax code for GST-free lines" in listing
    assert "Not chosen yet: the tax code for GST-free lines" in listing

    batch = push(api, invoice("INV-1", SUPPORT), invoice("INV-2", REPORT))
    body = wait_synced(api, batch["id"])
    held, pushed = sync_of(body, "INV-1"), sync_of(body, "INV-2")
    assert pushed["sync_state"] == "synced"  # GST lines have their code
    assert held["sync_state"] == "needs_attention" and held["fix_in"] == "mapping"
    assert "no QuickBooks tax code is chosen for GST-free lines" in held["error"]
    page = browser.get(f"/invoice-batches/{batch['id']}").text
    assert 'href="/integrations/quickbooks/mapping"' in page

    # The accountant makes it active again; an admin reads the choices and picks it.
    edit(emulator, "TaxCode", gst_free, {"Active": True})
    mapping_page = browser.get("/integrations/quickbooks/mapping").text
    browser.post("/integrations/quickbooks/mapping/refresh",
                 data={"csrf_token": csrf_from(mapping_page)})
    saved = browser.post(
        "/integrations/quickbooks/mapping",
        data={"csrf_token": csrf_from(mapping_page), "value.tax.gst_free": gst_free},
    )
    assert saved.status_code == 303
    body = wait_for(
        lambda: (b := api.get(f"/api/v1/invoice-batches/{batch['id']}").json())["integrations"][
            "quickbooks"]["sync_state"] == "synced" and b,
        timeout=60,
    )
    assert sync_of(body, "INV-1")["totals_mismatch"] is False


def test_a_refusal_is_told_plainly_and_retry_succeeds_after_the_fix(
    api, browser, connected, emulator, fast_retries
):
    codes = tax_codes(emulator)
    # After the mapping was chosen, the GST code is made inactive in QuickBooks.
    edit(emulator, "TaxCode", codes["GST"], {"Active": False})
    batch = push(api, invoice("INV-1", REPORT))
    refused = sync_of(wait_synced(api, batch["id"]), "INV-1")

    assert refused["sync_state"] == "failed"
    assert "its tax code “GST” has been made inactive in QuickBooks" in refused["error"]
    assert refused["fix_in"] == "mapping" and refused["error_detail"]
    assert emulator.count("Invoice") == 0

    edit(emulator, "TaxCode", codes["GST"], {"Active": True})
    page = browser.get(f"/invoice-batches/{batch['id']}").text
    assert "Details for support" in page
    retried = browser.post(f"/invoice-batches/{batch['id']}/retry/quickbooks",
                           data={"csrf_token": csrf_from(page)})
    assert retried.status_code == 303, retried.text
    body = wait_for(
        lambda: (b := api.get(f"/api/v1/invoice-batches/{batch['id']}").json())["integrations"][
            "quickbooks"]["sync_state"] == "synced" and b,
        timeout=60,
    )
    assert sync_of(body, "INV-1")["totals"]["tax"] == "19.40"


def test_a_us_company_keeps_working(api, browser, emulator, hub_db):
    us = emulator.control("POST", "companies", json={"name": "Sandbox Company_US_2",
                                                      "region": "US"})
    connect_quickbooks(browser, company=us["realm_id"])
    with hub_db.read_session() as session:
        connection = session.execute(sa.select(Connection)).scalars().one()
    assert connection.external_account_id == us["realm_id"]

    batch = push(
        api,
        invoice("INV-US", currency="USD"),
        invoice("INV-US-GST", REPORT, currency="USD"),
        invoice("INV-US-AUD"),
    )
    body = wait_synced(api, batch["id"])

    assert sync_of(body, "INV-US")["sync_state"] == "synced"
    assert emulator.count("Invoice", us["realm_id"]) == 1
    # There is no GST in the US: the hub does not guess a code for it.
    held = sync_of(body, "INV-US-GST")
    assert held["sync_state"] == "needs_attention" and held["fix_in"] == "mapping"
    # A US company works in US dollars.
    assert "works only in USD" in sync_of(body, "INV-US-AUD")["error"]


# --- the emulator's controls ----------------------------------------------------------------


def tax_codes(emulator, realm: str | None = None) -> dict[str, str]:
    """The seeded company's tax codes, name -> Id, as an accountant sees them."""
    rows = emulator.control("GET", f"companies/{realm or emulator.realm_id}/objects/TaxCode")
    return {row["Name"]: row["Id"] for row in rows}


def edit(emulator, entity: str, object_id: str, changes: dict[str, Any]) -> Any:
    """What an accountant changes inside QuickBooks."""
    return emulator.control(
        "POST",
        f"companies/{emulator.realm_id}/edit",
        json={"entity": entity, "id": object_id, "changes": changes},
    )


__all__ = [
    "api", "browser", "connected", "emulator", "emulator_options", "fast_retries",
    "hub_base_url", "hub_plugin_env", "hub_plugins", "live_hub", "run_worker",
]


def test_a_multicurrency_company_takes_another_currency_in_a_customer_of_its_own(
    api, browser, emulator, hub_services, hub_db
):
    company = emulator.control(
        "POST", "companies", json={"name": "Multi Co", "region": "AU", "multicurrency": True}
    )
    connect_quickbooks(browser, company=company["realm_id"])
    with hub_db.read_session() as session:
        connection_id = session.execute(sa.select(Connection.id)).scalars().one()

    first = push(api, invoice("INV-NZ-1", currency="NZD", who=("P-009", "Kiri Walker")))
    body = wait_synced(api, first["id"])
    pushed = sync_of(body, "INV-NZ-1")
    assert pushed["sync_state"] == "synced"
    (remote,) = in_quickbooks(hub_services, connection_id, ("Invoice", pushed["remote_id"]))
    assert remote["CurrencyRef"]["value"] == "NZD"
    assert "HomeTotalAmt" in remote and Decimal(str(remote["ExchangeRate"])) > 0

    # The same participant billed in AUD: QuickBooks keeps one currency per customer.
    second = push(api, invoice("INV-AU-1", who=("P-009", "Kiri Walker")))
    held = sync_of(wait_synced(api, second["id"]), "INV-AU-1")
    assert held["sync_state"] == "needs_attention"
    assert "uses NZD, and QuickBooks keeps one currency per customer" in held["error"]
