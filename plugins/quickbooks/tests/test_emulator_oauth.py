"""The emulator's OAuth 2.0 / OpenID Connect server, driven with Intuit's own client."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import httpx
import jwt
import pytest
from emulator_support import (
    ACCOUNTING_OPENID,
    CLIENT_ID,
    CLIENT_SECRET,
    REDIRECT_URI,
    RunningEmulator,
    running_emulator,
)
from intuitlib.enums import Scopes
from intuitlib.exceptions import AuthClientError

DAY = 86_400


@pytest.fixture
def emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningEmulator]:
    """A running emulator with auto-consent, limits on and fast webhook retries."""
    with running_emulator(monkeypatch) as running:
        yield running



def basic(client_id: str = CLIENT_ID, secret: str = CLIENT_SECRET) -> dict[str, str]:
    token = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {token}", "Accept": "application/json"}


def refresh_raw(emu: RunningEmulator, refresh_token: str, **headers: str) -> httpx.Response:
    return emu.http.post(
        "/oauth2/v1/tokens/bearer",
        data={"grant_type": "refresh_token", "refresh_token": refresh_token},
        headers={**basic(), **headers},
    )


@pytest.mark.parametrize(
    "path",
    [
        "/.well-known/openid_configuration",
        "/.well-known/openid_configuration/",
        "/.well-known/openid_sandbox_configuration",
        "/.well-known/openid_sandbox_configuration/",
        "/.well-known/openid-configuration",
        "/.well-known/openid-configuration/",
        "/.well-known/openid-sandbox-configuration",
        "/.well-known/openid-sandbox-configuration/",
    ],
)
def test_discovery_documents_point_at_the_emulator(emulator: RunningEmulator, path: str) -> None:
    response = emulator.http.get(path)
    assert response.status_code == 200
    doc = response.json()
    origin = emulator.base_url
    assert doc["authorization_endpoint"] == f"{origin}/connect/oauth2"
    assert doc["token_endpoint"] == f"{origin}/oauth2/v1/tokens/bearer"
    assert doc["revocation_endpoint"] == f"{origin}/v2/oauth2/tokens/revoke"
    assert doc["jwks_uri"] == f"{origin}/op/v1/jwks"
    assert doc["userinfo_endpoint"].startswith(origin)
    assert doc["issuer"] == "https://oauth.platform.intuit.com/op/v1"
    assert response.headers["intuit_tid"].startswith("1-")


def test_public_url_is_used_in_discovery(monkeypatch: pytest.MonkeyPatch) -> None:
    with running_emulator(monkeypatch, public_url="https://qbo.example.test/") as emu:
        doc = emu.http.get("/.well-known/openid_configuration").json()
    assert doc["token_endpoint"] == "https://qbo.example.test/oauth2/v1/tokens/bearer"


def test_code_exchange_with_intuit_oauth(emulator: RunningEmulator) -> None:
    auth = emulator.auth_client()
    callback = emulator.authorize(auth)
    assert callback["realmId"] == emulator.realm_id
    assert len(callback["realmId"]) == 16 and callback["realmId"].isdigit()
    auth.get_bearer_token(callback["code"], realm_id=callback["realmId"])
    assert auth.access_token.startswith("eyJlbmMiOiJBMTI4Q0JDLUhTMjU2IiwiYWxnIjoiZGlyIn0..")
    assert auth.refresh_token.startswith("RT1-")
    assert auth.expires_in == 3600
    assert auth.x_refresh_token_expires_in == 8_726_400
    assert auth.id_token is None  # no openid scope, no ID token

    info = emulator.api(auth.access_token, "GET", f"companyinfo/{auth.realm_id}")
    assert info.status_code == 200
    assert info.headers["intuit_tid"]


def test_token_response_headers_and_shape(emulator: RunningEmulator) -> None:
    auth = emulator.auth_client()
    callback = emulator.authorize(auth)
    response = emulator.http.post(
        "/oauth2/v1/tokens/bearer",
        data={"grant_type": "authorization_code", "code": callback["code"],
              "redirect_uri": REDIRECT_URI},
        headers=basic(),
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json;charset=utf-8"
    assert response.headers["intuit_tid"]
    body = response.json()
    assert body["token_type"] == "bearer"
    assert set(body) == {
        "token_type", "access_token", "refresh_token", "expires_in", "x_refresh_token_expires_in"
    }


def test_id_token_is_validated_by_intuit_oauth(emulator: RunningEmulator) -> None:
    auth = emulator.connect(ACCOUNTING_OPENID)
    # intuit-oauth only keeps the ID token when its own validation passes.
    assert auth.id_token
    header_segment, payload_segment, _ = auth.id_token.split(".")
    assert not set("-_") & set(header_segment + payload_segment)
    jwks = jwt.PyJWKSet.from_dict(emulator.http.get("/op/v1/jwks").json())
    kid = jwt.get_unverified_header(auth.id_token)["kid"]
    claims = jwt.decode(
        auth.id_token, jwks[kid].key, algorithms=["RS256"], audience=CLIENT_ID,
        issuer="https://oauth.platform.intuit.com/op/v1",
    )
    assert claims["aud"] == [CLIENT_ID]
    assert claims["realmid"] == auth.realm_id

    user = auth.get_user_info().json()
    assert user["sub"] == claims["sub"]
    assert user["email"] and user["givenName"]


def test_client_secret_post_and_hard_expiry_header(emulator: RunningEmulator) -> None:
    auth = emulator.connect()
    response = emulator.http.post(
        "/oauth2/v1/tokens/bearer",
        data={"grant_type": "refresh_token", "refresh_token": auth.refresh_token,
              "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 200
    assert "x_refresh_token_hard_expires_in" not in response.json()

    response = refresh_raw(
        emulator, auth.refresh_token, **{"x-include-refresh-token-hard-expires-in": "true"}
    )
    hard = response.json()["x_refresh_token_hard_expires_in"]
    assert 5 * 365 * DAY - 60 < hard <= 5 * 365 * DAY


def test_refresh_rotation_follows_intuit(emulator: RunningEmulator) -> None:
    auth = emulator.connect()
    first_rt = auth.refresh_token

    emulator.control("POST", "clock", json={"advance_seconds": 3600})
    auth.refresh()
    assert auth.refresh_token == first_rt  # same value within ~24 hours
    # It counts down (allow a few seconds of real time passing during the test).
    assert 8_726_400 - 3610 < auth.x_refresh_token_expires_in <= 8_726_400 - 3600

    emulator.control("POST", "clock", json={"advance_seconds": DAY})
    auth.refresh()
    second_rt = auth.refresh_token
    assert second_rt != first_rt
    assert auth.x_refresh_token_expires_in == 8_726_400

    # The previous refresh token still works for 24 hours, then it is gone.
    emulator.control("POST", "clock", json={"advance_seconds": DAY - 120})
    assert refresh_raw(emulator, first_rt).status_code == 200
    emulator.control("POST", "clock", json={"advance_seconds": 240})
    gone = refresh_raw(emulator, first_rt)
    assert gone.status_code == 400
    assert gone.json() == {
        "error_description": "Incorrect or invalid refresh token",
        "error": "invalid_grant",
    }
    assert refresh_raw(emulator, second_rt).status_code == 200


def test_refresh_token_expires_after_101_days_unused(emulator: RunningEmulator) -> None:
    auth = emulator.connect()
    emulator.control("POST", "clock", json={"advance_seconds": 102 * DAY})
    with pytest.raises(AuthClientError) as caught:
        auth.refresh()
    assert caught.value.status_code == 400
    assert caught.value.intuit_tid


def test_grant_ends_after_five_years_even_when_used(emulator: RunningEmulator) -> None:
    auth = emulator.connect()
    for _ in range(19):  # refresh every 96 days: the rolling expiry never runs out
        emulator.control("POST", "clock", json={"advance_seconds": 96 * DAY})
        auth.refresh()
    emulator.control("POST", "clock", json={"advance_seconds": 96 * DAY})  # past 5 years
    with pytest.raises(AuthClientError):
        auth.refresh()


def test_access_token_expires_and_refresh_recovers(emulator: RunningEmulator) -> None:
    auth = emulator.connect()
    emulator.control("POST", "clock", json={"advance_seconds": 3601})
    expired = emulator.api(auth.access_token, "GET", f"companyinfo/{auth.realm_id}")
    assert expired.status_code == 401
    error = expired.json()["fault"]["error"][0]
    assert error["code"] == "3200"
    assert error["detail"].startswith("Token expired")
    assert expired.headers["www-authenticate"] == 'Bearer realm="Intuit", error="invalid_token"'
    auth.refresh()
    fresh = emulator.api(auth.access_token, "GET", f"companyinfo/{auth.realm_id}")
    assert fresh.status_code == 200


def test_access_token_lifetime_is_configurable(emulator: RunningEmulator) -> None:
    emulator.control("POST", "oauth", json={"access_token_ttl": 5})
    auth = emulator.connect()
    assert auth.expires_in == 5
    emulator.control("POST", "clock", json={"advance_seconds": 6})
    assert emulator.api(auth.access_token, "GET", f"companyinfo/{auth.realm_id}").status_code == 401


def test_reused_code_is_refused_and_revokes_its_tokens(emulator: RunningEmulator) -> None:
    auth = emulator.auth_client()
    callback = emulator.authorize(auth)
    auth.get_bearer_token(callback["code"], realm_id=callback["realmId"])
    with pytest.raises(AuthClientError) as caught:
        auth.get_bearer_token(callback["code"])
    assert caught.value.status_code == 400
    assert json.loads(caught.value.content) == {"error": "invalid_grant"}
    assert emulator.api(auth.access_token, "GET", "companyinfo/1").status_code == 401
    assert refresh_raw(emulator, auth.refresh_token).status_code == 400


def test_code_expires_and_needs_the_same_redirect_uri(emulator: RunningEmulator) -> None:
    auth = emulator.auth_client()
    callback = emulator.authorize(auth)
    wrong = emulator.http.post(
        "/oauth2/v1/tokens/bearer",
        data={"grant_type": "authorization_code", "code": callback["code"],
              "redirect_uri": "http://localhost:8000/other"},
        headers=basic(),
    )
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"

    late = emulator.authorize(auth)
    emulator.control("POST", "clock", json={"advance_seconds": 601})
    with pytest.raises(AuthClientError) as caught:
        auth.get_bearer_token(late["code"])
    assert caught.value.status_code == 400


@pytest.mark.parametrize(
    ("headers", "data", "status", "error"),
    [
        (basic(secret="wrong"), {"grant_type": "refresh_token", "refresh_token": "x"}, 401,
         "invalid_client"),
        (basic(client_id="nobody"), {"grant_type": "refresh_token", "refresh_token": "x"}, 401,
         "invalid_client"),
        ({"Authorization": "Basic %%%not-base64"}, {"grant_type": "refresh_token"}, 401,
         "invalid_client"),
        ({}, {"grant_type": "refresh_token", "refresh_token": "x"}, 401, "invalid_client"),
        (basic(), {"grant_type": "password", "username": "u"}, 400, "unsupported_grant_type"),
        (basic(), {}, 400, "invalid_request"),
        (basic(), {"grant_type": "authorization_code"}, 400, "invalid_request"),
        (basic(), {"grant_type": "refresh_token", "refresh_token": "RT1-nope"}, 400,
         "invalid_grant"),
        (basic(), {"grant_type": "authorization_code", "code": "AB11nope",
                   "redirect_uri": REDIRECT_URI}, 400, "invalid_grant"),
    ],
)
def test_token_endpoint_errors(
    emulator: RunningEmulator, headers: dict[str, str], data: dict[str, str], status: int,
    error: str,
) -> None:
    response = emulator.http.post("/oauth2/v1/tokens/bearer", data=data, headers=headers)
    assert response.status_code == status
    assert response.json()["error"] == error
    assert response.headers["content-type"] == "application/json;charset=utf-8"
    assert response.headers["intuit_tid"]


def test_token_endpoint_refuses_a_non_form_body(emulator: RunningEmulator) -> None:
    response = emulator.http.post(
        "/oauth2/v1/tokens/bearer", content=b"\xff\xfe{", headers={
            **basic(), "Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_request"}


def test_revoke_ends_the_connection(emulator: RunningEmulator) -> None:
    auth = emulator.connect()
    access_token, refresh_token = auth.access_token, auth.refresh_token
    assert auth.revoke() is True
    response = emulator.api(access_token, "GET", f"companyinfo/{auth.realm_id}")
    assert response.status_code == 401
    assert response.json()["fault"]["error"][0]["detail"].startswith("Token revoked")
    with pytest.raises(AuthClientError):
        auth.refresh(refresh_token)


def test_revoke_accepts_a_form_body_with_the_access_token(emulator: RunningEmulator) -> None:
    auth = emulator.connect()
    response = emulator.http.post(
        "/v2/oauth2/tokens/revoke", data={"token": auth.access_token}, headers=basic()
    )
    assert response.status_code == 200
    assert response.content == b""
    assert refresh_raw(emulator, auth.refresh_token).status_code == 400


def test_revoke_errors(emulator: RunningEmulator) -> None:
    no_client = emulator.http.post("/v2/oauth2/tokens/revoke", json={"token": "x"})
    assert no_client.status_code == 401
    no_token = emulator.http.post("/v2/oauth2/tokens/revoke", json={}, headers=basic())
    assert no_token.status_code == 400
    broken = emulator.http.post(
        "/v2/oauth2/tokens/revoke", content=b"[1,",
        headers={**basic(), "Content-Type": "application/json"},
    )
    assert broken.status_code == 400


def test_token_on_another_company_is_401_in_xml(emulator: RunningEmulator) -> None:
    auth = emulator.connect()
    other = emulator.control("POST", "companies", json={"name": "Other Pty Ltd"})["realm_id"]
    for realm in (other, "1234567890"):
        response = emulator.http.get(
            f"/v3/company/{realm}/companyinfo/{realm}",
            headers={"Authorization": f"Bearer {auth.access_token}",
                     "Accept": "application/json"},
        )  # fmt: skip
        # XML despite the JSON Accept, as captured (oauth-jsclient#91; 12.4).
        assert response.status_code == 401
        assert response.headers["content-type"].startswith("application/xml")
        assert response.text.startswith('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>')
        assert (
            '<Fault type="AuthenticationFault"><Error code="100">'
            "<Message>General Authentication Error</Message>"
            "<Detail>AuthenticationErrorGeneral: SRV-110-Authentication Failure , "
            "statusCode: 401</Detail></Error></Fault></IntuitResponse>"
        ) in response.text


def test_token_without_the_accounting_scope_is_403(emulator: RunningEmulator) -> None:
    auth = emulator.connect([Scopes.OPENID, Scopes.EMAIL])
    response = emulator.api(auth.access_token, "GET", f"companyinfo/{emulator.realm_id}")
    assert response.status_code == 403
    body = response.json()
    assert body["fault"] == {
        "error": [{
            "message": "message=AuthorizationFailed; errorCode=003100; statusCode=403",
            "detail": None,
            "code": "3100",
            "element": None,
        }],
        "type": "SERVICE",
    }  # fmt: skip


@pytest.mark.parametrize(
    "authorization", [None, "Bearer", "Basic abc", "bearer unknown-token"]
)
def test_api_without_a_valid_token_is_401(
    emulator: RunningEmulator, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization is not None else {}
    response = emulator.http.get(
        f"/v3/company/{emulator.realm_id}/companyinfo/1", headers=headers
    )
    assert response.status_code == 401
    assert response.json()["fault"]["type"] == "AUTHENTICATION"
    assert response.headers["intuit_tid"]


# --- authorization endpoint ----------------------------------------------------------------


def authorize_url(emu: RunningEmulator, **overrides: str | None) -> str:
    params: dict[str, str | None] = {
        "client_id": CLIENT_ID,
        "response_type": "code",
        "scope": "com.intuit.quickbooks.accounting",
        "redirect_uri": REDIRECT_URI,
        "state": "s1",
    }
    params.update(overrides)
    query = httpx.QueryParams({k: v for k, v in params.items() if v is not None})
    return f"/connect/oauth2?{query}"


def test_unknown_client_gets_an_error_page_not_a_redirect(emulator: RunningEmulator) -> None:
    response = emulator.http.get(authorize_url(emulator, client_id="nobody"))
    assert response.status_code == 400
    assert "location" not in response.headers
    assert "Invalid client" in response.text


def test_unregistered_redirect_uri_is_never_followed(emulator: RunningEmulator) -> None:
    for uri in ["https://evil.example/cb", REDIRECT_URI + "/", None]:
        response = emulator.http.get(authorize_url(emulator, redirect_uri=uri))
        assert response.status_code == 400
        assert "location" not in response.headers


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"response_type": None}, "unsupported_response_type"),
        ({"scope": ""}, "invalid_scope"),
        ({"scope": "com.intuit.quickbooks.accounting nonsense"}, "invalid_scope"),
    ],
)
def test_bad_authorization_requests_redirect_with_an_error(
    emulator: RunningEmulator, overrides: dict[str, str | None], error: str
) -> None:
    response = emulator.http.get(authorize_url(emulator, **overrides))
    assert response.status_code == 302
    query = httpx.URL(response.headers["location"]).params
    assert query["error"] == error
    assert query["state"] == "s1"
    assert "code" not in query


def test_consent_page_lists_companies_and_cancel_denies(monkeypatch: pytest.MonkeyPatch) -> None:
    with running_emulator(monkeypatch, auto_consent=False) as emu:
        second = emu.control("POST", "companies", json={"name": "Second Company"})["realm_id"]
        page = emu.http.get(authorize_url(emu))
        assert page.status_code == 200
        assert "Sandbox Company_AU_1" in page.text and "Second Company" in page.text

        form = {"client_id": CLIENT_ID, "redirect_uri": REDIRECT_URI, "response_type": "code",
                "scope": "com.intuit.quickbooks.accounting", "state": "s1"}
        cancel = emu.http.post("/connect/oauth2", data={**form, "decision": "cancel"})
        assert cancel.status_code == 302
        assert httpx.URL(cancel.headers["location"]).params["error"] == "access_denied"

        connect = emu.http.post(
            "/connect/oauth2", data={**form, "decision": "connect", "realm_id": second}
        )
        params = httpx.URL(connect.headers["location"]).params
        assert params["realmId"] == second and params["state"] == "s1" and params["code"]

        forged = emu.http.post(
            "/connect/oauth2",
            data={**form, "redirect_uri": "https://evil.example/", "decision": "connect",
                  "realm_id": second},
        )
        assert forged.status_code == 400 and "location" not in forged.headers
