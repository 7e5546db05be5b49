"""Loading and connecting, through the host and against the emulator."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import hub
import pytest
from hub.errors import Rejected
from hub.plugins import PluginHost
from hub.settings import Settings

from hub_example_ledger import plugin

pytestmark = pytest.mark.anyio


def test_host_loads_and_lists_the_plugin() -> None:
    host = PluginHost(Settings.from_env({}), plugins={"example_ledger": plugin})
    [integration] = host.integrations
    assert integration.slug == "example_ledger"
    assert integration.info.name == "Example Ledger"
    assert integration.version == "0.1.0"
    assert set(integration.hooks) == set(hub.hookspecs.PER_INTEGRATION_HOOKS)


def test_configuration_comes_from_prefixed_variables() -> None:
    env = {"EXAMPLE_LEDGER_BASE_URL": "http://127.0.0.1:8001/",
           "EXAMPLE_LEDGER_ENVIRONMENT": "sandbox"}
    host = PluginHost(Settings.from_env(env), plugins={"example_ledger": plugin})
    info = host.integrations[0].info
    assert info.oauth.token_url == "http://127.0.0.1:8001/oauth/token"
    assert info.environment == "sandbox"


def test_listed_on_manage_integrations(admin_client: Any) -> None:
    page = admin_client.get("/integrations")
    assert page.status_code == 200
    assert "Example Ledger" in page.text


def test_hub_webhook_route_checks_the_signature(hub_client: Any) -> None:
    def post(body: bytes, signed: bytes) -> int:
        signature = hmac.new(b"test-webhook-secret", signed, hashlib.sha256).hexdigest()
        headers = {"x-example-signature": signature}
        return int(hub_client.post("/webhooks/example_ledger", content=body,
                                   headers=headers).status_code)

    body = b'{"events": []}'
    assert (post(body, body), post(body + b" ", body), post(b"{", b"{")) == (200, 401, 400)


async def test_authorize_url_carries_state_and_pkce(host: PluginHost, call: Any) -> None:
    integration = host.integrations[0]
    ctx = hub.AuthorizeContext(
        config=integration.config, info=integration.info, state="s-42",
        redirect_uri="http://hub.test/cb", client_id="client-7", scopes=("invoices",),
        code_challenge="challenge",
    )
    url = urlsplit((await call("authorize", ctx=ctx)).url)
    assert f"{url.scheme}://{url.netloc}{url.path}" == integration.info.oauth.authorize_url
    assert {k: v[0] for k, v in parse_qs(url.query).items()} == {
        "response_type": "code", "client_id": "client-7", "redirect_uri": "http://hub.test/cb",
        "scope": "invoices", "state": "s-42", "code_challenge": "challenge",
        "code_challenge_method": "S256",
    }


async def test_callback_exchanges_the_code(account: hub.ConnectedAccount) -> None:
    assert account.external_account_id == "ledger-1"
    assert account.display_name == "Example Ledger Demo Company"
    assert account.environment == "production"
    assert account.tokens.access_token and account.tokens.refresh_token


async def test_callback_without_code_is_rejected(host: PluginHost, call: Any) -> None:
    integration = host.integrations[0]

    async def exchange_code(code: str) -> hub.TokenSet:
        raise AssertionError("nothing to exchange without a code")

    async with httpx.AsyncClient() as http:
        ctx = hub.CallbackContext(
            config=integration.config, info=integration.info, params={"state": "s"},
            redirect_uri="http://hub.test/cb", exchange_code=exchange_code, http=http,
        )
        with pytest.raises(Rejected, match="no code"):
            await call("callback", ctx=ctx)
