from __future__ import annotations


def test_listing_shows_plugin(admin_client):
    page = admin_client.get("/integrations")
    assert page.status_code == 200
    assert "Fake Ledger" in page.text
    assert "Connect to Fake Ledger" in page.text


def test_api_listing(api_client):
    body = api_client.get("/api/v1/integrations").json()
    assert body["integrations"][0]["slug"] == "fakeledger"
    assert body["integrations"][0]["state"] == "not_connected"
