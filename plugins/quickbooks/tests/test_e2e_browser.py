"""The portal's main flows in a real browser (Debian's Chromium through Playwright)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hub_support import (
    emulator,
    hub_base_url,
    hub_plugin_env,
    hub_plugins,
    live_hub,
    run_worker,
    wait_for,
)
from test_e2e_sync import make_batch, wait_synced

from hub.testing import TEST_PASSWORD

CHROMIUM = "/usr/bin/chromium"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed"),
]


@pytest.fixture
def emulator_options() -> dict[str, Any]:
    """A person picks the company on the consent page."""
    return {"limits": False, "auto_consent": False}


@pytest.fixture
def page(live_hub: str) -> Iterator[Any]:
    """A fresh Chromium page."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        context = browser.new_context(viewport={"width": 1200, "height": 900})
        page = context.new_page()
        page.set_default_timeout(15_000)
        try:
            yield page
        finally:
            context.close()
            browser.close()


def log_in(page: Any, live_hub: str, email: str) -> None:
    page.goto(f"{live_hub}/integrations")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", TEST_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_hub}/integrations")


def test_connect_through_consent_page_then_disconnect(page, live_hub, hub_org, emulator):
    log_in(page, live_hub, hub_org["admin_email"])
    assert page.locator("h1").inner_text() == "Manage Integrations"
    page.click("text=Connect to QuickBooks")
    # Intuit's consent page (the emulator's): pick the company, click Connect.
    page.wait_for_url(f"{emulator.base_url}/connect/oauth2*")
    page.click("button[value=connect]")
    page.wait_for_url(f"{live_hub}/integrations")
    confirmation = page.locator(".flash-success").inner_text()
    assert "Connected to" in confirmation
    card = page.locator("li.integration[data-slug=quickbooks]")
    assert "Connected to" in card.locator(".badge").inner_text()
    page.on("dialog", lambda dialog: dialog.accept())
    card.locator("text=Disconnect").click()
    page.wait_for_url(f"{live_hub}/integrations")
    assert "Disconnected QuickBooks" in page.locator(".flash-success").inner_text()
    assert page.locator("text=Connect to QuickBooks").is_visible()


def test_cancel_on_consent_page_explains_with_help(page, live_hub, hub_org, emulator):
    log_in(page, live_hub, hub_org["admin_email"])
    page.click("text=Connect to QuickBooks")
    page.wait_for_url(f"{emulator.base_url}/connect/oauth2*")
    page.click("button[value=cancel]")
    page.wait_for_url(f"{live_hub}/integrations")
    error = page.locator(".flash-error")
    assert "You cancelled at QuickBooks" in error.inner_text()
    assert error.locator("a.help").get_attribute("href")


def test_listing_works_at_phone_width(page, live_hub, hub_org):
    page.set_viewport_size({"width": 375, "height": 800})
    log_in(page, live_hub, hub_org["admin_email"])
    card = page.locator("li.integration[data-slug=quickbooks]")
    box = card.bounding_box()
    assert box is not None and box["width"] <= 375
    assert page.evaluate("document.documentElement.scrollWidth") <= 375


def test_payment_recorded_in_quickbooks_appears_in_the_portal(page, live_hub, hub_org, emulator):
    log_in(page, live_hub, hub_org["admin_email"])
    page.click("text=Connect to QuickBooks")
    page.wait_for_url(f"{emulator.base_url}/connect/oauth2*")
    page.click("button[value=connect]")
    page.wait_for_url(f"{live_hub}/integrations")
    api = httpx.Client(base_url=live_hub, headers={"Authorization": f"Bearer {hub_org['api_key']}"})
    batch = api.post("/api/v1/invoice-batches", json=make_batch(2)).json()
    body = wait_synced(api, batch["id"])
    number = body["invoices"][0]["number"]
    # The accountant records the payment in QuickBooks.
    page.goto(f"{emulator.base_url}/_emulator/companies/{emulator.realm_id}")
    row = page.locator("#invoices tr", has_text=number)
    row.locator("button", has_text="Record").click()
    page.wait_for_load_state()
    # Coordinoter shows it within seconds (the batch page refreshes while it is open).
    page.goto(f"{live_hub}/invoice-batches/{batch['id']}")
    cell = page.locator(f"tr[data-number='{number}'] .badge-paid")
    deadline = 20
    while deadline and not cell.count():
        page.wait_for_timeout(500)
        page.reload()
        deadline -= 0.5
    assert cell.inner_text() == "Paid"


def accessibility_problems(page: Any) -> list[str]:
    """axe-core's serious and critical findings on the page, one line each."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        f"{violation['id']}: {node['target']}"
        for violation in results.response["violations"]
        if violation["impact"] in ("serious", "critical")
        for node in violation["nodes"]
    ]


def test_the_mapping_page_shows_the_companys_codes_and_warns_about_a_wrong_one(
    page, live_hub, hub_org, emulator
):
    log_in(page, live_hub, hub_org["admin_email"])
    page.click("text=Connect to QuickBooks")
    page.wait_for_url(f"{emulator.base_url}/connect/oauth2*")
    page.click("button[value=connect]")
    page.wait_for_url(f"{live_hub}/integrations")
    page.click("li.integration[data-slug=quickbooks] >> text=Details")
    page.click("text=See or change the mapping")
    page.wait_for_url(f"{live_hub}/integrations/quickbooks/mapping")

    gst = page.get_by_label("Tax code for lines with GST")
    free = page.get_by_label("Tax code for GST-free lines")
    # Chosen by rate at connect: the company's own GST and GST-free codes.
    assert gst.locator("option:checked").inner_text().startswith("GST · 10% on sales")
    assert "(suggested)" in gst.locator("option:checked").inner_text()
    assert free.locator("option:checked").inner_text().startswith("GST-free · 0% on sales")
    assert accessibility_problems(page) == []

    # A slip: GST lines mapped to a 0% code. Saved, and the page says what it means.
    gst.select_option(value=free.input_value())
    page.click("text=Save mapping")
    page.wait_for_url(f"{live_hub}/integrations/quickbooks/mapping")
    assert "Mapping saved." in page.locator(".flash-success").inner_text()
    warning = page.locator(".field .problem").first.inner_text()
    assert "charges 0%" in warning and "flagged" in warning

    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert accessibility_problems(page) == []


def test_on_a_phone_a_held_invoice_says_what_to_fix_on_screen(page, live_hub, hub_org, emulator):
    log_in(page, live_hub, hub_org["admin_email"])
    page.click("text=Connect to QuickBooks")
    page.wait_for_url(f"{emulator.base_url}/connect/oauth2*")
    page.click("button[value=connect]")
    page.wait_for_url(f"{live_hub}/integrations")
    api = httpx.Client(base_url=live_hub, headers={"Authorization": f"Bearer {hub_org['api_key']}"})
    body = make_batch(1)
    body["invoices"][0]["number"] = "NDIS-2026-11-FORTNIGHT-0001"
    batch = api.post("/api/v1/invoice-batches", json=body).json()
    wait_synced(api, batch["id"])

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_hub}/invoice-batches/{batch['id']}")
    reason = page.locator(".sync-cell .problem").first
    assert "QuickBooks allows at most 21" in reason.inner_text()
    box = reason.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert accessibility_problems(page) == []
