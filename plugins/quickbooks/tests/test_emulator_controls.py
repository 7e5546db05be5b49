"""The emulator's controls (``/_emulator/...``), its saved state and its robustness."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from emulator_support import (
    CLIENT_ID,
    RunningEmulator,
    running_emulator,
)


@pytest.fixture
def emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningEmulator]:
    """A running emulator with auto-consent, limits on and fast webhook retries."""
    with running_emulator(monkeypatch) as running:
        yield running



def test_apps_get_generated_keys_and_can_be_updated(emulator: RunningEmulator) -> None:
    created = emulator.http.post(
        "/_emulator/apps", json={"redirect_uris": ["http://localhost:9/cb"], "name": "Portal"}
    )
    assert created.status_code == 201
    app = created.json()
    assert app["client_id"].startswith("AB") and len(app["client_secret"]) == 40
    updated = emulator.http.post(
        "/_emulator/apps",
        json={"client_id": app["client_id"], "webhook_url": "http://localhost:9/hook",
              "webhook_format": "cloudevents"},
    )
    assert updated.status_code == 200
    assert updated.json()["client_secret"] == app["client_secret"]
    assert updated.json()["verifier_token"]  # made up, as Intuit's portal shows one
    listed = {a["client_id"]: a for a in emulator.control("GET", "apps")}
    assert listed[app["client_id"]]["webhook_format"] == "cloudevents"
    assert CLIENT_ID in listed


@pytest.mark.parametrize(
    "body",
    [{"redirect_uris": [1]}, {"webhook_format": "xml"}, {"redirect_uris": {"a": 1}}],
)
def test_bad_app_registrations_are_refused(emulator: RunningEmulator, body: object) -> None:
    assert emulator.http.post("/_emulator/apps", json=body).status_code == 400


def test_companies_are_created_and_listed(emulator: RunningEmulator) -> None:
    created = emulator.control("POST", "companies", json={"name": "Harbour Plumbing"})
    assert len(created["realm_id"]) == 16 and created["realm_id"].isdigit()
    names = [c["name"] for c in emulator.control("GET", "companies")]
    assert names == ["Sandbox Company_AU_1", "Harbour Plumbing"]
    assert emulator.http.post("/_emulator/companies", json={}).status_code == 400
    duplicate = emulator.http.post(
        "/_emulator/companies", json={"name": "Again", "realm_id": created["realm_id"]}
    )
    assert duplicate.status_code == 409


def test_clock_moves_forward(emulator: RunningEmulator) -> None:
    before = dt.datetime.fromisoformat(emulator.control("GET", "clock")["now"])
    moved = emulator.control("POST", "clock", json={"advance_seconds": 7 * 86_400})
    assert moved["offset_seconds"] == 7 * 86_400
    after = dt.datetime.fromisoformat(moved["now"])
    assert dt.timedelta(days=7) <= after - before < dt.timedelta(days=7, minutes=1)
    assert emulator.http.post("/_emulator/clock", json={"advance_seconds": "x"}).status_code == 400


def test_reset_forgets_everything(emulator: RunningEmulator) -> None:
    auth = emulator.connect()
    old_realm = emulator.realm_id
    emulator.control("POST", "clock", json={"advance_seconds": 100})
    emulator.control("POST", "limits", json={"app_per_second": 1})
    reset = emulator.control("POST", "reset")
    assert reset["apps"] == [CLIENT_ID]
    assert reset["companies"][0]["realm_id"] != old_realm
    assert emulator.control("GET", "clock")["offset_seconds"] == 0
    assert emulator.control("GET", "limits")["app_per_second"] == 10
    assert emulator.control("GET", "stats")["requests_total"] == 0
    assert emulator.api(auth.access_token, "GET", "companyinfo/1").status_code == 401

    empty = emulator.control("POST", "reset", json={"seed": False})
    assert empty == {"companies": [], "apps": []}


def test_company_revoke_disconnects_every_app(emulator: RunningEmulator) -> None:
    auth = emulator.connect()
    realm = emulator.realm_id
    assert emulator.control("POST", f"companies/{realm}/revoke") == {"revoked": 1}
    assert emulator.api(auth.access_token, "GET", f"companyinfo/{realm}").status_code == 401
    assert emulator.http.post("/_emulator/companies/123/revoke").status_code == 404


def test_stats_count_requests_and_grants(emulator: RunningEmulator) -> None:
    auth = emulator.connect()
    auth.refresh()
    emulator.api(auth.access_token, "GET", f"companyinfo/{emulator.realm_id}")
    emulator.api("nope", "GET", f"companyinfo/{emulator.realm_id}")
    stats = emulator.control("GET", "stats")
    assert stats["requests"]["GET /v3/company/{realmId}/companyinfo/{id}"] == {
        "200": 1, "401": 1
    }
    assert stats["token_grants"] == {"authorization_code": 1, "refresh_token": 1}
    assert emulator.realm_id in stats["objects"]
    assert not any(path.startswith("GET /_emulator") for path in stats["requests"])


def test_state_survives_a_restart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    state = tmp_path / "qbo-state.json"
    with running_emulator(monkeypatch, state_path=str(state)) as emu:
        auth = emu.connect()
        realm = emu.realm_id
        emu.control("POST", "clock", json={"advance_seconds": 60})
        created = emu.api(auth.access_token, "POST", "customer", json={"DisplayName": "Kept"})
        customer_id = created.json()["Customer"]["Id"]
    saved = json.loads(state.read_text())
    assert saved["version"] == 1

    with running_emulator(monkeypatch, state_path=str(state)) as emu:
        assert emu.realm_id == realm
        assert emu.control("GET", "clock")["offset_seconds"] == 60
        read = emu.api(auth.access_token, "GET", f"customer/{customer_id}")
        assert read.status_code == 200
        again = emu.auth_client()
        again.refresh(auth.refresh_token)  # the refresh token is still known
        assert again.refresh_token == auth.refresh_token
        assert emu.api(again.access_token, "GET", f"companyinfo/{realm}").status_code == 200


def test_a_state_file_from_before_regions_gains_tax_lists(tmp_path: Path) -> None:
    from hub_quickbooks.emulator.books import Books

    books = Books(lambda: dt.datetime(2025, 3, 1, tzinfo=dt.UTC))
    books.add_company("77", "Old Co")
    saved = books.to_dict()
    company = saved["companies"][0]
    del company["region"]
    company["country"], company["currency"] = "AU", "AUD"
    for entity in ("Preferences", "TaxCode", "TaxRate", "TaxAgency", "Term"):
        del company["objects"][entity]
    restored = Books.from_dict(saved, lambda: dt.datetime(2025, 3, 2, tzinfo=dt.UTC))
    assert restored.summary("77") == {"region": "AU", "country": "AU", "home_currency": "AUD"}
    answer = restored.handle("77", "POST", "query", {}, b"SELECT * FROM TaxCode", None)
    names = [code["Name"] for code in json.loads(answer.body)["QueryResponse"]["TaxCode"]]
    assert "GST-free" in names
    assert restored.handle("77", "GET", "preferences", {}, b"", None).status == 200


def test_unparseable_state_file_fails_loudly(tmp_path: Path) -> None:
    from hub_quickbooks.emulator import create_app

    state = tmp_path / "state.json"
    state.write_text('{"something": "else"}')
    with pytest.raises(ValueError, match="not a QuickBooks emulator state file"):
        create_app(state_path=str(state))


def test_html_index_lists_companies(emulator: RunningEmulator) -> None:
    page = emulator.http.get("/_emulator/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "Sandbox Company_AU_1" in page.text
    assert f"/_emulator/companies/{emulator.realm_id}" in page.text
    company = emulator.http.get(f"/_emulator/companies/{emulator.realm_id}")
    assert company.status_code == 200 and "Invoices" in company.text
    assert '<span id="country">AU</span>' in company.text
    assert '<span id="home-currency">AUD</span>' in company.text
    assert emulator.http.get("/_emulator/companies/42").status_code == 404
    uk = emulator.control("POST", "companies", json={"name": "Brit Ltd", "region": "UK"})
    page = emulator.http.get(f"/_emulator/companies/{uk['realm_id']}").text
    assert '<span id="region">UK</span>' in page and '<span id="country">GB</span>' in page


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("POST", "/_emulator/apps", {"content": b"{not json"}),
        ("POST", "/_emulator/companies", {"content": b"[]"}),
        ("POST", "/_emulator/clock", {"content": b"\xff\xfe"}),
        ("POST", "/_emulator/latency", {"json": {"ms": -5}}),
        ("POST", "/_emulator/webhooks", {"json": {"retry_scale": "fast"}}),
        ("POST", "/_emulator/oauth", {"json": {"access_token_ttl": 0}}),
        ("POST", "/_emulator/companies/1/invoices/1/payments", {"json": {"amount": "abc"}}),
        ("POST", "/_emulator/companies/1/invoices/1/payments", {"json": {"amount": "5"}}),
        ("GET", "/connect/oauth2?client_id=%ff%fe&scope=%00", {}),
        ("POST", "/connect/oauth2", {"content": b"\xff=\xfe"}),
        ("POST", "/oauth2/v1/tokens/bearer", {"content": b"a=%zz&&&=", "headers": {
            "Content-Type": "application/x-www-form-urlencoded"}}),
        ("GET", "/v1/openid_connect/userinfo", {"headers": {"Authorization": "Bearer x"}}),
        ("PUT", "/v3/company/1/invoice", {}),
        ("GET", "/v3/company/1", {}),
        ("GET", "/nowhere", {}),
    ],
)
def test_bad_input_never_gives_a_server_error(
    emulator: RunningEmulator, method: str, path: str, kwargs: dict[str, object]
) -> None:
    response = emulator.http.request(method, path, **kwargs)  # type: ignore[arg-type]
    assert 400 <= response.status_code < 500
    assert "Traceback" not in response.text


def test_root_leads_to_the_company_list(emulator: RunningEmulator) -> None:
    response = emulator.http.get("/")
    assert response.status_code == 302
    assert response.headers["location"] == "/_emulator/"
    assert isinstance(emulator.http, httpx.Client)
