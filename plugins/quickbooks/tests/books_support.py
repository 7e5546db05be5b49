"""A test harness around the emulator's books: one company, a movable clock, changes seen."""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import Any

from hub_quickbooks.emulator.books import Books, Change, CompanySetup
from hub_quickbooks.emulator.rules import BookRules

REALM = "9130354335"
START = dt.datetime(2025, 3, 1, 12, 0, 0, 250000, tzinfo=dt.UTC)
META_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$")
ENVELOPE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}[+-]\d{2}:\d{2}$")


@dataclass
class Answer:
    """One response from the books, decoded."""

    status: int
    raw: bytes
    content_type: str

    @property
    def json(self) -> Any:
        """The body as JSON."""
        return json.loads(self.raw)

    def fault(self) -> dict[str, Any]:
        """The first Error of a Fault body."""
        body = self.json
        assert "Fault" in body, body
        return dict(body["Fault"]["Error"][0])

    @property
    def code(self) -> str:
        """The Fault's error code."""
        return str(self.fault()["code"])


#: The code the Ledger's invoice lines carry unless a test picks another: GST-free is 0%,
#: so totals stay what the amounts add up to.
LINE_CODE = {"AU": "GST-free", "UK": "0.0% Z", "CA": "Zero-rated", "US": None}


class Ledger:
    """The books with one company and helpers to call the API as a client would."""

    def __init__(
        self,
        realm: str = REALM,
        *,
        region: str = "AU",
        setup: CompanySetup | None = None,
        rules: BookRules | None = None,
    ) -> None:
        self.now = START
        self.realm = realm
        self.books = Books(lambda: self.now, rules)
        self.changes: list[Change] = []
        self.books.listeners.append(self.changes.append)
        self.books.add_company(realm, "Acme Pty Ltd", region=region, setup=setup)
        name = LINE_CODE[region]
        #: The TaxCodeRef value ``invoice_body`` puts on lines (None: send none).
        self.line_code = self.tax_code(name) if name else None

    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        self.now += dt.timedelta(seconds=seconds)

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        raw: bytes | None = None,
        content_type: str | None = "application/json",
        realm: str | None = None,
        **params: str,
    ) -> Answer:
        """One request; ``body`` is sent as JSON unless ``raw`` is given."""
        payload = raw if raw is not None else b"" if body is None else json.dumps(body).encode()
        response = self.books.handle(
            realm or self.realm, method, path, params, payload, content_type
        )
        assert isinstance(response.body, bytes)
        return Answer(response.status, response.body, response.content_type)

    def post(self, path: str, body: Any, **params: str) -> Answer:
        """POST a JSON body."""
        return self.call("POST", path, body, **params)

    def get(self, path: str, **params: str) -> Answer:
        """GET a path."""
        return self.call("GET", path, **params)

    def ok(self, answer: Answer, entity: str) -> dict[str, Any]:
        """The entity of a successful answer (fails the test otherwise)."""
        assert answer.status == 200, answer.raw
        return dict(answer.json[entity])

    def query(self, sql: str) -> Answer:
        """A query POSTed as application/text, as python-quickbooks sends it."""
        return self.call("POST", "query", raw=sql.encode(), content_type="application/text")

    def tax_code(self, name: str) -> str:
        """The Id of this company's tax code called ``name``, read as a client would."""
        rows = self.rows(f"SELECT * FROM TaxCode WHERE Name = '{name}' AND Active IN (true, false)")
        assert len(rows) == 1, (name, rows)
        return str(rows[0]["Id"])

    def tax_rate(self, name: str) -> dict[str, Any]:
        """This company's tax rate called ``name``."""
        rows = self.rows(f"SELECT * FROM TaxRate WHERE Name = '{name}'")
        assert len(rows) == 1, (name, rows)
        return rows[0]

    def rows(self, sql: str) -> list[dict[str, Any]]:
        """The rows a query returns (any entity)."""
        answer = self.query(sql)
        assert answer.status == 200, answer.raw
        response = answer.json["QueryResponse"]
        lists = [value for value in response.values() if isinstance(value, list)]
        return lists[0] if lists else []

    # --- making objects --------------------------------------------------------------

    def customer(self, name: str, **fields: Any) -> dict[str, Any]:
        """Create a customer."""
        return self.ok(self.post("customer", {"DisplayName": name, **fields}), "Customer")

    def item(self, name: str, **fields: Any) -> dict[str, Any]:
        """Create a service item earning into the default Services account."""
        body = {"Name": name, "Type": "Service", "IncomeAccountRef": {"value": "1"}, **fields}
        return self.ok(self.post("item", body), "Item")

    def line(self, item_id: str, amount: float, code: str | None = None) -> dict[str, Any]:
        """One sales line; ``code`` (a TaxCode Id) defaults to ``line_code``."""
        detail: dict[str, Any] = {"ItemRef": {"value": item_id}}
        code = code or self.line_code
        if code is not None:
            detail["TaxCodeRef"] = {"value": code}
        return {"DetailType": "SalesItemLineDetail", "Amount": amount,
                "SalesItemLineDetail": detail}  # fmt: skip

    def invoice_body(
        self, customer_id: str, item_id: str, *amounts: float, **fields: Any
    ) -> dict[str, Any]:
        """An invoice request with one sales line per amount."""
        return {
            "CustomerRef": {"value": customer_id},
            "Line": [self.line(item_id, amount) for amount in amounts],
            **fields,
        }

    def invoice(
        self, customer_id: str, item_id: str, *amounts: float, **fields: Any
    ) -> dict[str, Any]:
        """Create an invoice."""
        body = self.invoice_body(customer_id, item_id, *amounts, **fields)
        return self.ok(self.post("invoice", body), "Invoice")

    def basics(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """A customer and an item to invoice."""
        return self.customer("Amy's Bird Sanctuary"), self.item("Gardening")
