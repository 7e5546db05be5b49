"""The consent page and the company page, clicked through in a real Chromium."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from emulator_support import ACCOUNTING, RunningEmulator, running_emulator
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from hub.servers import serve_in_thread

CHROMIUM = "/usr/bin/chromium"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs the system Chromium"),
]


@pytest.fixture
def callback_url() -> Iterator[str]:
    """A stand-in for the app's redirect URI, which shows what it received."""

    async def callback(request: Request) -> Response:
        return PlainTextResponse(f"callback received: {request.url.query}")

    app = Starlette(routes=[Route("/callback", callback)])
    with serve_in_thread(app) as base:
        yield f"{base}/callback"


@pytest.fixture
def browser_page() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu",
                  "--disable-background-networking"],
        )
        try:
            page = browser.new_page()
            page.set_default_timeout(15_000)
            yield page
        finally:
            browser.close()


@pytest.fixture
def consenting(
    callback_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[RunningEmulator]:
    options = {"auto_consent": False, "redirect_uris": [callback_url]}
    with running_emulator(monkeypatch, **options) as emu:
        emu.redirect_uri = callback_url
        yield emu


def test_user_picks_a_company_and_connects(consenting: RunningEmulator, browser_page: Any) -> None:
    second = consenting.control("POST", "companies", json={"name": "Bondi Bakery"})["realm_id"]
    auth = consenting.auth_client()
    page = browser_page
    page.goto(auth.get_authorization_url(ACCOUNTING))
    page.get_by_label("Company").select_option(label=f"Bondi Bakery ({second})")
    page.get_by_role("button", name="Connect").click()
    page.wait_for_url(f"{consenting.redirect_uri}?*")
    assert "callback received" in page.text_content("body")

    query = {k: v[0] for k, v in parse_qs(urlparse(page.url).query).items()}
    assert query["realmId"] == second
    assert query["state"] == auth.state_token
    auth.get_bearer_token(query["code"], realm_id=query["realmId"])
    info = consenting.http.get(
        f"/v3/company/{second}/companyinfo/{second}",
        headers={"Authorization": f"Bearer {auth.access_token}"},
    )
    assert info.status_code == 200


def test_user_cancels(consenting: RunningEmulator, browser_page: Any) -> None:
    auth = consenting.auth_client()
    page = browser_page
    page.goto(auth.get_authorization_url(ACCOUNTING))
    assert page.get_by_role("heading").first.text_content().startswith("Connect")
    page.get_by_role("button", name="Cancel").click()
    page.wait_for_url(f"{consenting.redirect_uri}?*")
    query = parse_qs(urlparse(page.url).query)
    assert query["error"] == ["access_denied"]
    assert query["state"] == [auth.state_token]
    assert "code" not in query


def test_accountant_records_a_payment_on_the_company_page(
    consenting: RunningEmulator, browser_page: Any, callback_url: str
) -> None:
    realm = consenting.realm_id
    auth = consenting.auth_client()
    token = consenting.http.post(
        "/oauth2/v1/tokens/bearer",
        data={"grant_type": "authorization_code", "redirect_uri": callback_url,
              "code": approve(consenting, auth.get_authorization_url(ACCOUNTING))},
        auth=(consenting.client_id, consenting.client_secret),
    ).json()["access_token"]
    customer = consenting.api(token, "POST", "customer", json={"DisplayName": "Page Customer"})
    query = "select * from Account where AccountType = 'Income'"
    income = consenting.api(token, "GET", "query", params={"query": query})
    item = consenting.api(token, "POST", "item", json={
        "Name": "Page item", "Type": "Service",
        "IncomeAccountRef": {"value": income.json()["QueryResponse"]["Account"][0]["Id"]},
    })
    gst = consenting.tax_code(token, "GST")
    invoice = consenting.api(token, "POST", "invoice", json={
        "DocNumber": "INV-PAGE-1",
        "CustomerRef": {"value": customer.json()["Customer"]["Id"]},
        "Line": [{"Amount": 90.45, "DetailType": "SalesItemLineDetail",
                  "SalesItemLineDetail": {"ItemRef": {"value": item.json()["Item"]["Id"]},
                                          "TaxCodeRef": {"value": gst}}}],
    })
    assert invoice.status_code == 200, invoice.text  # 90.45 + 9.05 GST = 99.50

    page = browser_page
    page.goto(f"{consenting.base_url}/_emulator/")
    page.get_by_role("link", name="Sandbox Company_AU_1").click()
    assert page.locator("#country").text_content() == "AU"
    row = page.locator("#invoices tr", has_text="INV-PAGE-1")
    cells = row.locator("td.num").all_text_contents()
    assert cells[:3] == ["90.45", "9.05", "99.50"]  # subtotal, tax, total
    assert "Open" in row.text_content()
    row.get_by_label("Amount for invoice INV-PAGE-1").fill("40.00")
    row.get_by_role("button", name="Record").click()
    page.wait_for_url(f"{consenting.base_url}/_emulator/companies/{realm}?*")
    assert "Recorded a payment of 40.00" in page.get_by_role("status").text_content()
    row = page.locator("#invoices tr", has_text="INV-PAGE-1")
    assert "Partially paid" in row.text_content() and "59.50" in row.text_content()
    assert "INV-PAGE-1" in page.locator("#payments").text_content()

    row.get_by_label("Amount for invoice INV-PAGE-1").fill("1000")
    row.get_by_role("button", name="Record").click()
    page.wait_for_url(f"{consenting.base_url}/_emulator/companies/{realm}?*")
    assert page.get_by_role("alert").is_visible()


def approve(emu: RunningEmulator, url: str) -> str:
    """Click through the consent form without a browser; returns the code."""
    query = httpx.URL(url).params
    response = emu.http.post(
        "/connect/oauth2",
        data={**dict(query), "decision": "connect", "realm_id": emu.realm_id},
    )
    return httpx.URL(response.headers["location"]).params["code"]
