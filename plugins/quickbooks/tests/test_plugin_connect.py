"""The QuickBooks plugin as the host sees it: listing, authorize URL and callback."""

from __future__ import annotations

import base64
import importlib.metadata
import inspect
import re
from urllib.parse import parse_qsl, urlsplit

import httpx
import hub_quickbooks
import pytest
from hub_quickbooks import plugin
from plugin_support import plugin_config
from pytest_httpx import HTTPXMock

from hub.errors import AuthRevoked, Rejected, StartupError, Transient
from hub.hookspecs import PER_INTEGRATION_HOOKS
from hub.types import AuthorizeContext, CallbackContext, PluginConfig, TokenSet

INTUIT_AUTHORIZE = "https://appcenter.intuit.com/connect/oauth2"
INTUIT_TOKEN = "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"
INTUIT_REVOKE = "https://developer.api.intuit.com/v2/oauth2/tokens/revoke"
REALM = "9341453474484455"


def test_the_entry_point_names_this_plugin():
    [entry] = [ep for ep in importlib.metadata.entry_points(group="hub") if ep.name == "quickbooks"]
    assert entry.load() is plugin
    assert hub_quickbooks.__version__ == "0.1.0"


def test_every_hook_of_the_contract_is_implemented():
    implemented = {
        name
        for name, fn in inspect.getmembers(plugin, inspect.isfunction)
        if hasattr(fn, "hub_impl")
    }
    assert implemented == set(PER_INTEGRATION_HOOKS)


def test_info_with_no_configuration_is_a_complete_sandbox_listing():
    info = plugin.integration_info(config=PluginConfig("quickbooks", {}, "http://hub"))

    assert info.slug == "quickbooks"
    assert info.name == "QuickBooks Online"
    assert info.environment == "sandbox"
    assert info.oauth.authorize_url == INTUIT_AUTHORIZE
    assert info.oauth.token_url == INTUIT_TOKEN
    assert info.oauth.revoke_url == INTUIT_REVOKE
    assert info.oauth.scopes == ("com.intuit.quickbooks.accounting",)
    assert info.oauth.token_auth_method == "client_secret_basic"
    assert info.oauth.refresh_expiry_field == "x_refresh_token_expires_in"
    assert info.callback_params == ("realmId",)
    assert info.capabilities.webhooks and info.capabilities.two_way
    assert info.capabilities.reconciliation
    assert (info.rate_limits.max_concurrent, info.rate_limits.per_minute) == (10, 500)
    assert info.rate_limits.per_second == 10
    [batch_limit] = info.rate_limits.paths
    assert batch_limit.per_minute == 40
    assert re.search(batch_limit.pattern, f"/v3/company/{REALM}/batch")
    assert not re.search(batch_limit.pattern, f"/v3/company/{REALM}/invoice")
    assert info.help_url and info.help_url.startswith("https://developer.intuit.com/")
    assert info.docs_url.startswith("https://")


def test_the_logo_is_an_svg_data_uri():
    info = plugin.integration_info(config=plugin_config())

    prefix = "data:image/svg+xml;base64,"
    assert info.logo.startswith(prefix)
    svg = base64.b64decode(info.logo[len(prefix) :]).decode()
    assert svg.startswith("<svg") and "</svg>" in svg


def test_production_uses_intuit_urls_and_says_production():
    info = plugin.integration_info(config=plugin_config(ENVIRONMENT="production"))

    assert info.environment == "production"
    assert info.oauth.authorize_url == INTUIT_AUTHORIZE


def test_an_emulator_url_points_every_endpoint_at_it():
    info = plugin.integration_info(config=plugin_config(ENVIRONMENT="http://127.0.0.1:8001/"))

    assert info.environment == "sandbox"
    assert info.oauth.authorize_url == "http://127.0.0.1:8001/connect/oauth2"
    assert info.oauth.token_url == "http://127.0.0.1:8001/oauth2/v1/tokens/bearer"
    assert info.oauth.revoke_url == "http://127.0.0.1:8001/v2/oauth2/tokens/revoke"


def test_limits_can_be_switched_off_only_against_an_emulator():
    emulator = plugin_config(ENVIRONMENT="http://127.0.0.1:8001", RATE_LIMITS="off")
    info = plugin.integration_info(config=emulator)
    assert info.rate_limits.per_second is None and not info.rate_limits.paths

    for environment in ("sandbox", "production"):
        with pytest.raises(StartupError) as caught:
            plugin.integration_info(
                config=plugin_config(ENVIRONMENT=environment, RATE_LIMITS="off")
            )
        assert "only allowed with an emulator" in str(caught.value)
    with pytest.raises(StartupError, match="QUICKBOOKS_RATE_LIMITS='none'"):
        plugin.integration_info(config=plugin_config(RATE_LIMITS="none"))


def test_an_unknown_environment_stops_startup_with_the_fix():
    with pytest.raises(StartupError) as caught:
        plugin.integration_info(config=plugin_config(ENVIRONMENT="staging"))

    assert "QUICKBOOKS_ENVIRONMENT" in str(caught.value)
    assert "sandbox" in str(caught.value) and "production" in str(caught.value)


# --- authorize -----------------------------------------------------------------------


def authorize_context(**overrides) -> AuthorizeContext:
    config = plugin_config(CLIENT_ID="CID")
    values = {
        "config": config,
        "info": plugin.integration_info(config=config),
        "state": "xyz",
        "redirect_uri": "http://localhost:8000/callback",
        "client_id": "CID",
        "scopes": ("com.intuit.quickbooks.accounting", "openid", "email"),
        **overrides,
    }
    return AuthorizeContext(**values)


@pytest.mark.anyio
async def test_the_authorize_url_is_the_one_intuit_oauth_builds():
    redirect = await plugin.authorize(ctx=authorize_context())

    # Captured from intuit-oauth 1.2.6 (QUICKBOOKS.md 1.3).
    assert redirect.url == (
        "https://appcenter.intuit.com/connect/oauth2?client_id=CID&response_type=code"
        "&scope=com.intuit.quickbooks.accounting+openid+email"
        "&redirect_uri=http%3A%2F%2Flocalhost%3A8000%2Fcallback&state=xyz"
    )


@pytest.mark.anyio
async def test_pkce_parameters_are_added_only_with_a_challenge():
    redirect = await plugin.authorize(ctx=authorize_context(code_challenge="abc123"))

    query = dict(parse_qsl(urlsplit(redirect.url).query))
    assert query["code_challenge"] == "abc123"
    assert query["code_challenge_method"] == "S256"
    assert "code_challenge" not in (await plugin.authorize(ctx=authorize_context())).url


# --- callback ------------------------------------------------------------------------

COMPANY_INFO = re.compile(
    re.escape(f"https://sandbox-quickbooks.api.intuit.com/v3/company/{REALM}/companyinfo/{REALM}")
    + r"\?minorversion=75$"
)


class Exchange:
    def __init__(self, error: Exception | None = None) -> None:
        self.codes: list[str] = []
        self.error = error

    async def __call__(self, code: str) -> TokenSet:
        self.codes.append(code)
        if self.error is not None:
            raise self.error
        return TokenSet(access_token="at-1", refresh_token="rt-1", expires_at=None)


def callback_context(http, params, exchange=None, **config) -> CallbackContext:
    plugin_cfg = plugin_config(CLIENT_ID="CID", **config)
    return CallbackContext(
        config=plugin_cfg,
        info=plugin.integration_info(config=plugin_cfg),
        params=params,
        redirect_uri="http://localhost:8000/callback",
        exchange_code=exchange or Exchange(),
        http=http,
    )


@pytest.mark.anyio
async def test_callback_exchanges_the_code_and_names_the_company(httpx_mock: HTTPXMock):
    httpx_mock.add_response(
        url=COMPANY_INFO,
        json={"CompanyInfo": {"CompanyName": "Sandbox Company_AU_1", "Id": "1"}, "time": "t"},
    )
    exchange = Exchange()
    async with httpx.AsyncClient() as http:
        account = await plugin.callback(
            ctx=callback_context(http, {"code": "C0DE", "state": "s", "realmId": REALM}, exchange)
        )

    assert exchange.codes == ["C0DE"]
    assert account.external_account_id == REALM
    assert account.display_name == "Sandbox Company_AU_1"
    assert account.environment == "sandbox"
    assert account.tokens.access_token == "at-1"
    assert httpx_mock.get_request().headers["authorization"] == "Bearer at-1"


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"code": "C0DE", "state": "s"}, "missing_realm_id"),
        ({"code": "C0DE", "state": "s", "realmId": "abc"}, "invalid_realm_id"),
        ({"state": "s", "realmId": REALM}, "missing_code"),
    ],
)
async def test_an_unusable_callback_is_rejected_before_exchanging(params, code):
    exchange = Exchange()
    async with httpx.AsyncClient() as http:
        with pytest.raises(Rejected) as caught:
            await plugin.callback(ctx=callback_context(http, params, exchange))

    assert caught.value.code == code
    assert "Start the connection again" in caught.value.message
    assert exchange.codes == []


@pytest.mark.anyio
async def test_a_refused_company_read_means_no_access(httpx_mock: HTTPXMock):
    httpx_mock.add_response(
        url=COMPANY_INFO, status_code=403, json={}, headers={"intuit_tid": "1-abc"}
    )
    async with httpx.AsyncClient() as http:
        with pytest.raises(AuthRevoked) as caught:
            await plugin.callback(ctx=callback_context(http, {"code": "C0DE", "realmId": REALM}))

    assert caught.value.support_reference == "1-abc"
    assert len(httpx_mock.get_requests()) == 1  # a fresh token is not refreshed


@pytest.mark.anyio
async def test_quickbooks_down_during_callback_is_transient(httpx_mock: HTTPXMock, monkeypatch):
    monkeypatch.setattr("hub_quickbooks.client.QUICK_RETRY_DELAY", 0.0)
    httpx_mock.add_response(url=COMPANY_INFO, status_code=503, text="down", is_reusable=True)
    async with httpx.AsyncClient() as http:
        with pytest.raises(Transient):
            await plugin.callback(ctx=callback_context(http, {"code": "C", "realmId": REALM}))


@pytest.mark.anyio
async def test_an_unreachable_token_endpoint_is_transient():
    exchange = Exchange(httpx.ConnectError("refused"))
    async with httpx.AsyncClient() as http:
        with pytest.raises(Transient):
            await plugin.callback(
                ctx=callback_context(http, {"code": "C", "realmId": REALM}, exchange)
            )


@pytest.mark.anyio
async def test_a_production_callback_reads_from_the_production_host(httpx_mock: HTTPXMock):
    httpx_mock.add_response(
        url=re.compile(r"https://quickbooks\.api\.intuit\.com/v3/company/.*"),
        json={"CompanyInfo": {"LegalName": "Legal Pty Ltd"}},
    )
    async with httpx.AsyncClient() as http:
        account = await plugin.callback(
            ctx=callback_context(http, {"code": "C", "realmId": REALM}, ENVIRONMENT="production")
        )

    assert account.environment == "production"
    assert account.display_name == "Legal Pty Ltd"
