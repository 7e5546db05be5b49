"""The QuickBooks emulator's controls, its consent page, and an auditor app of our own."""

from __future__ import annotations

import secrets
import time
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
from results import DrillFailure

AUDITOR_REDIRECT = "http://127.0.0.1:9/drill-auditor"


class Emulator:
    """The QuickBooks emulator process and a client for its controls."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = httpx.Client(base_url=base_url, timeout=30)

    def control(self, method: str, path: str, **kwargs: Any) -> Any:
        """Call a control route; raise on an error answer."""
        response = self.http.request(method, f"/_emulator/{path}", **kwargs)
        if response.status_code >= 400:
            raise DrillFailure(f"emulator {method} {path}: {response.status_code} {response.text}")
        return response.json()

    def stats(self) -> dict[str, Any]:
        """The emulator's counters."""
        return dict(self.control("GET", "stats"))

    def count(self, entity: str, realm: str) -> int:
        """Live objects of one kind in a company."""
        return int(self.stats()["objects"].get(realm, {}).get(entity, 0))

    def pay(self, realm: str, invoice_id: str, amount: Decimal) -> dict[str, Any]:
        """Record a payment in QuickBooks, as an accountant would."""
        return dict(
            self.control(
                "POST",
                f"companies/{realm}/invoices/{invoice_id}/payments",
                json={"amount": str(amount)},
            )
        )

    def first_realm(self) -> str:
        """The seeded company."""
        return str(self.control("GET", "companies")[0]["realm_id"])

    def add_company(self, name: str) -> str:
        """A new empty company; returns its realm id."""
        return str(self.control("POST", "companies", json={"name": name})["realm_id"])


def consent(authorize_url: str, realm: str | None) -> str:
    """Approve an authorization request at the emulator; returns the redirect back."""
    with httpx.Client(timeout=30, follow_redirects=False) as outside:
        if realm is None:
            answer = outside.get(authorize_url)
        else:  # pick a company on the consent page, as a person would
            params = dict(parse_qsl(urlsplit(authorize_url).query))
            answer = outside.post(
                authorize_url.split("?")[0],
                data={**params, "realm_id": realm, "decision": "connect"},
            )
    if answer.status_code not in (302, 303):
        raise DrillFailure(f"consent at the emulator failed: {answer.status_code} {answer.text}")
    return str(answer.headers["location"])


class Auditor:
    """An app of the drill's own, connected to a company, to read what QuickBooks holds."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.client_id = "ABdrillauditor" + secrets.token_hex(18)
        self.secret = secrets.token_hex(20)
        emulator.control(
            "POST",
            "apps",
            json={
                "client_id": self.client_id,
                "client_secret": self.secret,
                "redirect_uris": [AUDITOR_REDIRECT],
                "name": "Drill auditor",
            },
        )
        self.tokens: dict[str, str] = {}

    def _token(self, realm: str) -> str:
        if realm not in self.tokens:
            query = httpx.QueryParams(
                client_id=self.client_id,
                redirect_uri=AUDITOR_REDIRECT,
                response_type="code",
                scope="com.intuit.quickbooks.accounting",
                state="audit",
            )
            back = consent(f"{self.emulator.base_url}/connect/oauth2?{query}", realm)
            code = dict(parse_qsl(urlsplit(back).query))["code"]
            answer = self.emulator.http.post(
                "/oauth2/v1/tokens/bearer",
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": AUDITOR_REDIRECT,
                },
                auth=(self.client_id, self.secret),
                headers={"Accept": "application/json"},
            )
            answer.raise_for_status()
            self.tokens[realm] = str(answer.json()["access_token"])
        return self.tokens[realm]

    def _get(self, realm: str, statement: str) -> httpx.Response:
        # The company may be throttled by the hub's own work, or failing on purpose.
        for _attempt in range(30):
            try:
                answer = self.emulator.http.get(
                    f"/v3/company/{realm}/query",
                    params={"query": statement, "minorversion": "75"},
                    headers={
                        "Authorization": f"Bearer {self._token(realm)}",
                        "Accept": "application/json",
                    },
                )
            except httpx.TransportError:
                time.sleep(1)
                continue
            if answer.status_code not in (429, 500, 502, 503):
                return answer
            time.sleep(2)
        raise DrillFailure(f"the auditor could not read company {realm}")

    def query(self, realm: str, entity: str) -> list[dict[str, Any]]:
        """Every live object of one kind in a company (paged, 1,000 at a time)."""
        found: list[dict[str, Any]] = []
        while True:
            start = len(found) + 1
            statement = f"select * from {entity} startposition {start} maxresults 1000"  # noqa: S608
            answer = self._get(realm, statement)
            answer.raise_for_status()
            page = answer.json()["QueryResponse"].get(entity, [])
            found.extend(page)
            if len(page) < 1000:
                return found
