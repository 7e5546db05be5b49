"""Fixtures and helpers shared by the emulator's tests: a running emulator and clients."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from hub_quickbooks.emulator import create_app
from intuitlib.client import AuthClient
from intuitlib.enums import Scopes
from quickbooks import QuickBooks
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hub.servers import serve_in_thread

CLIENT_ID = "ABtestclient0000000000000000000000000000000000000000"
CLIENT_SECRET = "testsecret0000000000000000000000000000000"
REDIRECT_URI = "http://localhost:8000/callback"
ACCOUNTING = [Scopes.ACCOUNTING]
ACCOUNTING_OPENID = [Scopes.ACCOUNTING, Scopes.OPENID, Scopes.EMAIL, Scopes.PROFILE]


@dataclass
class RunningEmulator:
    """An emulator served on a real socket, with a plain HTTP client for its controls."""

    base_url: str
    http: httpx.Client
    app: Any
    client_id: str = CLIENT_ID
    client_secret: str = CLIENT_SECRET
    redirect_uri: str = REDIRECT_URI
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def discovery_url(self) -> str:
        """The sandbox discovery document, as intuit-oauth's ``environment``."""
        return f"{self.base_url}/.well-known/openid_sandbox_configuration/"

    @property
    def realm_id(self) -> str:
        """The seeded company."""
        return str(self.http.get("/_emulator/companies").json()[0]["realm_id"])

    def control(self, method: str, path: str, **kwargs: Any) -> Any:
        """Call a control route and return its JSON, failing the test on an error."""
        response = self.http.request(method, f"/_emulator/{path}", **kwargs)
        assert response.status_code < 400, response.text
        return response.json()

    def auth_client(self) -> AuthClient:
        """Intuit's own OAuth client pointed at this emulator."""
        return AuthClient(
            self.client_id, self.client_secret, self.redirect_uri, self.discovery_url
        )

    def authorize(self, auth: AuthClient, scopes: list[Scopes] | None = None) -> dict[str, str]:
        """Follow the authorization URL (auto-consent) and return the callback's query."""
        url = auth.get_authorization_url(scopes or ACCOUNTING)
        response = httpx.get(url)
        assert response.status_code == 302, response.text
        location = response.headers["location"]
        assert location.startswith(self.redirect_uri + "?")
        return {k: v[0] for k, v in parse_qs(urlparse(location).query).items()}

    def connect(self, scopes: list[Scopes] | None = None) -> AuthClient:
        """A fully connected intuit-oauth client (authorize, then exchange the code)."""
        auth = self.auth_client()
        callback = self.authorize(auth, scopes)
        assert callback["state"] == auth.state_token
        auth.get_bearer_token(callback["code"], realm_id=callback["realmId"])
        return auth

    def quickbooks(self, auth: AuthClient) -> QuickBooks:
        """python-quickbooks using ``auth``, its API base pointed at this emulator."""
        client = QuickBooks(
            auth_client=auth,
            refresh_token=auth.refresh_token,
            company_id=auth.realm_id,
            minorversion=75,
        )
        client.api_url_v3 = f"{self.base_url}/v3"
        client.sandbox_api_url_v3 = f"{self.base_url}/v3"
        return client

    def api(
        self, token: str, method: str, path: str, realm: str | None = None, **kwargs: Any
    ) -> httpx.Response:
        """A raw Accounting API request for the seeded company (or ``realm``)."""
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        headers.update(kwargs.pop("headers", {}))
        return self.http.request(
            method, f"/v3/company/{realm or self.realm_id}/{path}", headers=headers, **kwargs
        )

    def query(self, token: str, sql: str, realm: str | None = None) -> list[dict[str, Any]]:
        """The rows of one query (any entity)."""
        response = self.api(token, "GET", "query", realm, params={"query": sql})
        assert response.status_code == 200, response.text
        lists = [v for v in response.json()["QueryResponse"].values() if isinstance(v, list)]
        return lists[0] if lists else []

    def tax_code(self, token: str, name: str, realm: str | None = None) -> str:
        """The Id of the company's tax code called ``name``, read as a client must."""
        rows = self.query(token, f"SELECT * FROM TaxCode WHERE Name = '{name}'", realm)
        assert len(rows) == 1, rows
        return str(rows[0]["Id"])

    def connect_to(self, realm: str, scopes: list[Scopes] | None = None) -> AuthClient:
        """A connected intuit-oauth client for ``realm``, picked on the consent form."""
        auth = self.auth_client()
        url = auth.get_authorization_url(scopes or ACCOUNTING)
        form = {**dict(httpx.URL(url).params), "decision": "connect", "realm_id": realm}
        response = self.http.post("/connect/oauth2", data=form)
        assert response.status_code == 302, response.text
        params = httpx.URL(response.headers["location"]).params
        auth.get_bearer_token(params["code"], realm_id=params["realmId"])
        return auth

    def add_company(self, name: str, **fields: Any) -> str:
        """A new company (``region``, ``multicurrency``, ...); returns its realm id."""
        return str(self.control("POST", "companies", json={"name": name, **fields})["realm_id"])


@contextlib.contextmanager
def running_emulator(
    monkeypatch: pytest.MonkeyPatch, **options: Any
) -> Iterator[RunningEmulator]:
    """Serve an emulator with a test app registered; ``options`` go to create_app.

    Also lets requests-oauthlib (inside python-quickbooks) talk plain http to 127.0.0.1.
    """
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    options.setdefault("auto_consent", True)
    options.setdefault("client_id", CLIENT_ID)
    options.setdefault("client_secret", CLIENT_SECRET)
    options.setdefault("redirect_uris", [REDIRECT_URI])
    options.setdefault("retry_scale", 0.001)
    app = create_app(**options)
    with serve_in_thread(app) as base_url, httpx.Client(base_url=base_url, timeout=10) as http:
        yield RunningEmulator(base_url=base_url, http=http, app=app)


@dataclass
class Receiver:
    """A webhook endpoint that records deliveries and answers as planned."""

    url: str = ""
    deliveries: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    #: Status codes for the next answers (then 200); "slow" waits past the timeout.
    plan: list[int | str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[tuple[dict[str, str], bytes]]:
        """Every delivery so far, once there are at least ``count``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.deliveries) >= count:
                    return list(self.deliveries)
            time.sleep(0.01)
        raise AssertionError(f"expected {count} deliveries, got {len(self.deliveries)}")


@contextlib.contextmanager
def webhook_receiver() -> Iterator[Receiver]:
    """A running webhook endpoint that records what it is sent."""
    state = Receiver()

    async def hook(request: Request) -> Response:
        body = await request.body()
        with state.lock:
            state.deliveries.append((dict(request.headers), body))
            answer = state.plan.pop(0) if state.plan else 200
        if answer == "slow":
            await asyncio.sleep(1.0)
            return Response(status_code=200)
        return Response(status_code=int(answer))

    with serve_in_thread(Starlette(routes=[Route("/hook", hook, methods=["POST"])])) as base:
        state.url = f"{base}/hook"
        yield state
