"""The hub and the QuickBooks emulator together, on real sockets, for end-to-end tests.

Fixtures build on ``hub.testing``: settings -> database -> services -> a live hub
(with its job worker) -> an admin logged in -> QuickBooks connected through the
emulator's consent flow.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import pytest
import sqlalchemy as sa
from hub_quickbooks.emulator import create_app as create_emulator

from hub.app import create_app
from hub.jobs import Worker
from hub.models import Connection
from hub.servers import free_port, serve_in_thread
from hub.services import Services
from hub.testing import TEST_PASSWORD, csrf_from

T = TypeVar("T")

CLIENT_ID = "ABe2eclient000000000000000000000000000000000000000"
CLIENT_SECRET = "e2esecret00000000000000000000000000000000"
VERIFIER = "e2e-verifier-token"


def wait_for(check: Callable[[], T], *, timeout: float = 30.0, every: float = 0.05) -> T:
    """Poll ``check`` until it returns something truthy; fail the test on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last: {result!r})")
        time.sleep(every)


@dataclass
class Emulator:
    """The running emulator and a client for its controls."""

    base_url: str
    http: httpx.Client

    def control(self, method: str, path: str, **kwargs: Any) -> Any:
        """Call a control route; fail the test on an error answer."""
        response = self.http.request(method, f"/_emulator/{path}", **kwargs)
        assert response.status_code < 400, response.text
        return response.json()

    @property
    def realm_id(self) -> str:
        """The first (seeded) company."""
        return str(self.control("GET", "companies")[0]["realm_id"])

    def stats(self) -> dict[str, Any]:
        """The emulator's counters."""
        return dict(self.control("GET", "stats"))

    def count(self, entity: str, realm: str | None = None) -> int:
        """Live objects of one kind in a company."""
        objects = self.stats()["objects"].get(realm or self.realm_id, {})
        return int(objects.get(entity, 0))

    def pay(self, invoice_id: str, amount: str, realm: str | None = None) -> Any:
        """Record a payment in QuickBooks, as an accountant would."""
        return self.control(
            "POST",
            f"companies/{realm or self.realm_id}/invoices/{invoice_id}/payments",
            json={"amount": amount},
        )


@pytest.fixture
def hub_base_url() -> str:
    """A real port, so the emulator can redirect browsers and post webhooks to the hub."""
    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture
def emulator_options() -> dict[str, Any]:
    """Options for the emulator; tests override to turn limits or formats on."""
    return {"limits": False}


@pytest.fixture
def emulator(hub_base_url: str, emulator_options: dict[str, Any]) -> Iterator[Emulator]:
    """The QuickBooks emulator, with this hub registered as an app."""
    app = create_emulator(
        **{
            "auto_consent": True,
            "aggregation_seconds": 0.0,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "redirect_uris": [f"{hub_base_url}/integrations/quickbooks/callback"],
            "webhook_url": f"{hub_base_url}/webhooks/quickbooks",
            "verifier_token": VERIFIER,
            "retry_scale": 0.01,
            **emulator_options,
        }
    )
    with serve_in_thread(app) as base_url, httpx.Client(base_url=base_url, timeout=30) as http:
        yield Emulator(base_url, http)


@pytest.fixture
def hub_plugins() -> Any:
    """Load installed plugins the way production does (QuickBooks by entry point)."""
    return None


@pytest.fixture
def hub_plugin_env(emulator: Emulator) -> dict[str, str]:
    """Point the QuickBooks plugin at the emulator."""
    return {
        "QUICKBOOKS_CLIENT_ID": CLIENT_ID,
        "QUICKBOOKS_CLIENT_SECRET": CLIENT_SECRET,
        "QUICKBOOKS_WEBHOOK_VERIFIER_TOKEN": VERIFIER,
        "QUICKBOOKS_ENVIRONMENT": emulator.base_url,
    }


@pytest.fixture
def run_worker() -> bool:
    """Whether the live hub runs its in-process job worker."""
    return True


@pytest.fixture
def live_hub(hub_settings: Any, hub_services: Services, hub_base_url: str,
             run_worker: bool) -> Iterator[str]:
    """The hub on a real socket at ``hub_base_url``, with a job worker unless disabled."""
    app = create_app(hub_settings, services=hub_services, run_worker=run_worker)
    port = int(hub_base_url.rsplit(":", 1)[1])
    with serve_in_thread(app, port=port) as base_url:
        yield base_url


@pytest.fixture
def browser(live_hub: str, hub_org: dict[str, Any]) -> Iterator[httpx.Client]:
    """A logged-in admin's browser session (plain HTTP, cookies kept)."""
    with httpx.Client(base_url=live_hub, timeout=30, follow_redirects=False) as client:
        page = client.get("/login")
        response = client.post(
            "/login",
            data={"email": hub_org["admin_email"], "password": TEST_PASSWORD,
                  "csrf_token": csrf_from(page.text)},
        )
        assert response.status_code == 303
        yield client


def connect_quickbooks(browser: httpx.Client, *, company: str | None = None) -> httpx.Response:
    """Click Connect to QuickBooks and follow the redirects through the emulator."""
    token = csrf_from(browser.get("/integrations").text)
    response = browser.post("/integrations/quickbooks/connect", data={"csrf_token": token})
    assert response.status_code == 303, response.text
    authorize = response.headers["location"]
    with httpx.Client(timeout=30, follow_redirects=False) as outside:
        if company is None:
            answer = outside.get(authorize)
        else:  # pick a company on the consent page, as a person would
            from urllib.parse import parse_qsl, urlsplit

            params = dict(parse_qsl(urlsplit(authorize).query))
            answer = outside.post(
                authorize.split("?")[0],
                data={**params, "realm_id": company, "decision": "connect"},
            )
    assert answer.status_code in (302, 303), answer.text
    callback = answer.headers["location"]
    assert callback.startswith(str(browser.base_url))
    return browser.get(callback.removeprefix(str(browser.base_url).rstrip("/")))


@pytest.fixture
def connected(browser: httpx.Client, hub_db: Any) -> int:
    """QuickBooks connected for the test organization; returns the connection id."""
    response = connect_quickbooks(browser)
    assert response.headers["location"] == "/integrations"
    with hub_db.read_session() as session:
        connection = session.exec(sa.select(Connection)).scalars().one()
        assert connection.status == "connected", connection.last_error
        return int(connection.id)


def run_jobs(services: Services, timeout: float = 60.0) -> None:
    """Run queued jobs in this thread until none is runnable."""
    asyncio.run(Worker(services, periodic=False).run_until_idle(timeout=timeout))


def now() -> dt.datetime:
    """Aware UTC now."""
    return dt.datetime.now(dt.UTC)
