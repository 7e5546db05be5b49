"""Fixtures: the plugin in a host, its emulator, and a connection made as the hub makes one."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import secrets
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

# Import the plugin from this folder even when it is not installed.
PLUGIN_DIR = str(Path(__file__).resolve().parent.parent)
if PLUGIN_DIR not in sys.path:
    sys.path.insert(0, PLUGIN_DIR)

import hub  # noqa: E402
from hub.errors import AuthRevoked  # noqa: E402
from hub.plugins import PluginHost  # noqa: E402
from hub.settings import Settings  # noqa: E402

from hub_example_ledger import plugin  # noqa: E402
from hub_example_ledger.client import DEFAULT_BASE_URL  # noqa: E402

SLUG = "example_ledger"
CLIENT_ID, CLIENT_SECRET, WEBHOOK_SECRET = "test-client", "test-secret", "test-webhook-secret"
REDIRECT_URI = f"http://hub.test/integrations/{SLUG}/callback"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def hub_plugin_env() -> dict[str, str]:
    """This plugin's configuration (also used by the ``hub`` pytest plugin's fixtures)."""
    return {"EXAMPLE_LEDGER_CLIENT_ID": CLIENT_ID, "EXAMPLE_LEDGER_CLIENT_SECRET": CLIENT_SECRET,
            "EXAMPLE_LEDGER_WEBHOOK_SECRET": WEBHOOK_SECRET}


@pytest.fixture
def hub_plugins() -> dict[str, object]:
    """The plugins the ``hub`` pytest plugin's app fixtures load: this one only."""
    return {SLUG: plugin}


@pytest.fixture
def host(hub_plugin_env: dict[str, str], hub_plugins: dict[str, object]) -> PluginHost:
    return PluginHost(Settings.from_env(hub_plugin_env), plugins=hub_plugins)


@pytest.fixture
def call(host: PluginHost) -> Any:
    """``call(hook, **kwargs)`` reaches the plugin through the host, as the hub does."""
    return lambda name, **kwargs: host.hook(SLUG, name)(**kwargs)


@pytest.fixture
async def http(call: Any) -> AsyncIterator[httpx.AsyncClient]:
    options = hub.EmulatorOptions(
        verifier_token=WEBHOOK_SECRET,
        extra={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "page_size": 2},
    )
    app = call("provider_emulator", options=options)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=DEFAULT_BASE_URL) as client:
        yield client


async def token_request(
    http: httpx.AsyncClient, info: hub.IntegrationInfo, form: dict[str, str]
) -> hub.TokenSet:
    """What the host's OAuth client does at the token endpoint."""
    response = await http.post(info.oauth.token_url, data=form, auth=(CLIENT_ID, CLIENT_SECRET))
    if response.status_code != 200:
        raise AuthRevoked(f"token endpoint refused: {response.text}")
    body = response.json()
    return hub.TokenSet(body["access_token"], body["refresh_token"], expires_at=None)


@pytest.fixture
async def account(host: PluginHost, http: httpx.AsyncClient) -> hub.ConnectedAccount:
    """Connect through the emulator's consent page (auto-approved) with PKCE."""
    integration = host.get(SLUG)
    assert integration is not None
    info, config = integration.info, integration.config
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    ctx = hub.AuthorizeContext(
        config=config, info=info, state="state-1", redirect_uri=REDIRECT_URI, client_id=CLIENT_ID,
        scopes=info.oauth.scopes, code_challenge=challenge.rstrip(b"=").decode(),
    )
    redirect = await host.hook(SLUG, "authorize")(ctx=ctx)
    consent = await http.get(redirect.url)
    params = dict(parse_qsl(urlsplit(consent.headers["location"]).query))
    assert params["state"] == "state-1"

    async def exchange_code(code: str) -> hub.TokenSet:
        form = {"grant_type": "authorization_code", "code": code,
                "redirect_uri": REDIRECT_URI, "code_verifier": verifier}
        return await token_request(http, info, form)

    callback = hub.CallbackContext(
        config=config, info=info, params=params, redirect_uri=REDIRECT_URI,
        exchange_code=exchange_code, http=http,
    )
    connected: hub.ConnectedAccount = await host.hook(SLUG, "callback")(ctx=callback)
    return connected


@pytest.fixture
async def connection(
    host: PluginHost, http: httpx.AsyncClient, account: hub.ConnectedAccount
) -> hub.ConnectionContext:
    """A connected ledger whose access tokens refresh like the host's vault does."""
    integration = host.get(SLUG)
    assert integration is not None
    tokens = [account.tokens]

    async def access_token(force_refresh: bool = False) -> str:
        if force_refresh:
            form = {"grant_type": "refresh_token", "refresh_token": tokens[-1].refresh_token or ""}
            tokens.append(await token_request(http, integration.info, form))
        return tokens[-1].access_token

    ctx = hub.ConnectionContext(
        config=integration.config, info=integration.info, connection_id=1,
        external_account_id=account.external_account_id, environment=account.environment,
        access_token=access_token, http=http,
    )
    # As the host does after connecting: the plugin's suggestions are the mapping.
    choices = await host.hook(SLUG, "mapping_choices")(ctx=ctx)
    mapping = {f.key: f.suggested for f in choices.fields if f.suggested is not None}
    return dataclasses.replace(ctx, mapping=mapping, account_facts=dict(choices.facts))
