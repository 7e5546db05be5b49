"""An organization as the drills use it: its API key, and its admin's browser session."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

import httpx
from emulator import consent
from results import DrillFailure

PASSWORD = "drill-password-1234"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Org:
    """An organization with an admin, an API key and HTTP clients for both."""

    name: str
    email: str
    api_key: str
    base_url: str

    def __post_init__(self) -> None:
        self.api = httpx.Client(
            base_url=self.base_url,
            timeout=60,
            headers={"Authorization": f"Bearer {self.api_key}"},
        )
        self.browser = httpx.Client(base_url=self.base_url, timeout=60, follow_redirects=False)

    def get(self, path: str, *, attempts: int = 20) -> Any:
        """GET an API path, riding out a web process that is restarting."""
        for attempt in range(attempts):
            try:
                response = self.api.get(path)
            except httpx.TransportError:
                if attempt == attempts - 1:
                    raise
                time.sleep(0.5)
                continue
            if response.status_code < 500 or attempt == attempts - 1:
                response.raise_for_status()
                return response.json()
            time.sleep(0.5)
        raise AssertionError("unreachable")

    def login(self) -> None:
        """Log the admin in through the login form."""
        self.browser.cookies.clear()
        page = self.browser.get("/login")
        answer = self.browser.post(
            "/login",
            data={"email": self.email, "password": PASSWORD, "csrf_token": csrf_from(page.text)},
        )
        if answer.status_code != 303:
            raise DrillFailure(f"login as {self.email} failed: {answer.status_code}")

    def connect(self, realm: str | None = None) -> httpx.Response:
        """Click Connect (or Reconnect) to QuickBooks and follow the redirects."""
        token = csrf_from(self.browser.get("/integrations").text)
        response = self.browser.post("/integrations/quickbooks/connect", data={"csrf_token": token})
        if response.status_code != 303:
            raise DrillFailure(f"connect refused: {response.status_code} {response.text[:300]}")
        callback = consent(response.headers["location"], realm)
        base = str(self.browser.base_url).rstrip("/")
        if not callback.startswith(base):
            raise DrillFailure(f"the emulator redirected elsewhere: {callback}")
        return self.browser.get(callback.removeprefix(base))

    def push(self, batch: dict[str, Any]) -> int:
        """Create a batch through the API; returns its id."""
        response = self.api.post("/api/v1/invoice-batches", json=batch)
        if response.status_code != 201:
            raise DrillFailure(f"batch refused: {response.status_code} {response.text[:300]}")
        return int(response.json()["id"])

    def batch(self, batch_id: int) -> dict[str, Any]:
        """A batch as the API shows it."""
        return dict(self.get(f"/api/v1/invoice-batches/{batch_id}"))

    def close(self) -> None:
        """Close the HTTP clients."""
        self.api.close()
        self.browser.close()


def csrf_from(html: str) -> str:
    """The CSRF token in a page's forms."""
    match = _CSRF.search(html)
    if match is None:
        raise DrillFailure("the page has no form with a CSRF token")
    return match.group(1)
