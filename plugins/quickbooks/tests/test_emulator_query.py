"""QuickBooks' query language in the emulator: parsing, filtering, ordering, paging."""

from __future__ import annotations

from decimal import Decimal

import pytest
from books_support import Ledger
from hub_quickbooks.emulator import faults
from hub_quickbooks.emulator.query import Condition, parse


@pytest.fixture
def ledger() -> Ledger:
    ledger = Ledger()
    for name in ("Zed Ltd", "O'Brien & Sons", "alpha co", "Beta Pty", "Gamma"):
        ledger.customer(name)
        ledger.advance(60)
    return ledger


def names(rows: list[dict]) -> list[str]:
    return [row.get("DisplayName") or row.get("Name") or row["Id"] for row in rows]


# --- parsing ----------------------------------------------------------------------------


def test_parse_reads_every_clause() -> None:
    query = parse(
        "select * from Invoice where Metadata.LastUpdatedTime >= '2024-01-01T00:00:00-08:00' "
        "and TotalAmt > '300.00' AND Id in ('1', '2') and DocNumber LIKE 'INV%' "
        "orderby TxnDate desc, Id startposition 11 maxresults 5"
    )
    assert query.entity == "Invoice" and not query.count
    assert query.where == (
        Condition(("Metadata", "LastUpdatedTime"), ">=", ("2024-01-01T00:00:00-08:00",)),
        Condition(("TotalAmt",), ">", ("300.00",)),
        Condition(("Id",), "IN", ("1", "2")),
        Condition(("DocNumber",), "LIKE", ("INV%",)),
    )
    assert query.order == ((("TxnDate",), True), (("Id",), False))
    assert (query.start, query.limit) == (11, 5)


def test_parse_literals_and_defaults() -> None:
    query = parse(r"SELECT COUNT(*) FROM Customer WHERE DisplayName = 'O\'Brien' AND Active = True")
    assert query.count and query.where[0].values == ("O'Brien",)
    assert query.where[1].values == (True,)
    assert parse("SELECT * FROM Item WHERE UnitPrice < 10.5").where[0].values == (Decimal("10.5"),)
    assert (parse("SELECT * FROM Item").start, parse("SELECT * FROM Item").limit) == (1, 100)
    assert parse("SELECT * FROM Item ORDER BY Name").order == ((("Name",), False),)
    assert parse("SELECT *, Sku FROM Item").fields == (("Sku",),)
    assert parse("SELECT Id, DisplayName FROM Customer").fields == (("Id",), ("DisplayName",))
    assert parse("SELECT * FROM Item MAXRESULTS 5 STARTPOSITION 3").start == 3


@pytest.mark.parametrize(
    "sql",
    [
        "",
        "SELEC * FROM Customer",
        "SELECT * Customer",
        "SELECT * FROM",
        "SELECT * FROM Customer WHERE",
        "SELECT * FROM Customer WHERE DisplayName = 'a' OR DisplayName = 'b'",
        "SELECT * FROM Customer WHERE DisplayName != 'a'",
        "SELECT * FROM Customer WHERE DisplayName = 'unterminated",
        "SELECT * FROM Customer WHERE Id IN ('1', '2'",
        "SELECT * FROM Customer MAXRESULTS ten",
        "SELECT * FROM Customer GROUP BY DisplayName",
        "SELECT * FROM Customer WHERE DisplayName LIKE 5",
        "SELECT COUNT(Id) FROM Customer",
        "SELECT * FROM Customer; DROP TABLE Customer",
        "SELECT * FROM Customer WHERE a = \"b\"",
    ],
)
def test_bad_queries_are_4000(sql: str) -> None:
    with pytest.raises(faults.ApiError) as caught:
        parse(sql)
    assert caught.value.code == "4000"


@pytest.mark.parametrize(
    ("sql", "detail"),
    [
        ("SELECT * FROM Customer MAXRESULTS 1001",
         "QueryValidationError: value 1001 is too large. Max allowed value is 1000"),
        ("SELECT * FROM Customer MAXRESULTS 1500",
         "QueryValidationError: value 1500 is too large. Max allowed value is 1000"),
        ("SELECT * FROM Customer MAXRESULTS 0",
         "QueryValidationError: value 0 is too small. Min allowed value is 1"),
        ("SELECT * FROM Customer STARTPOSITION 0",
         "QueryValidationError: value 0 is too small. Min allowed value is 1"),
    ],
)  # fmt: skip
def test_paging_out_of_range_is_refused_not_capped(sql: str, detail: str) -> None:
    with pytest.raises(faults.ApiError) as caught:
        parse(sql)
    assert caught.value.error() == {
        "Message": "Invalid query", "Detail": detail, "code": "4001", "element": ""
    }


# --- running ------------------------------------------------------------------------------


def test_get_and_post_queries_answer_alike(ledger: Ledger) -> None:
    sql = "SELECT * FROM Customer WHERE DisplayName = 'Gamma'"
    posted = ledger.query(sql)
    fetched = ledger.get("query", query=sql, minorversion="75")
    assert posted.raw == fetched.raw
    response = posted.json["QueryResponse"]
    assert list(response) == ["Customer", "startPosition", "maxResults"]
    assert response["startPosition"] == 1 and response["maxResults"] == 1
    assert names(response["Customer"]) == ["Gamma"]
    assert list(posted.json) == ["QueryResponse", "time"]


def test_no_rows_is_an_empty_query_response(ledger: Ledger) -> None:
    answer = ledger.query("SELECT * FROM Customer WHERE DisplayName = 'Nobody'")
    assert answer.status == 200 and answer.json["QueryResponse"] == {}
    assert ledger.query("select * from invoice").json["QueryResponse"] == {}


def test_count(ledger: Ledger) -> None:
    answer = ledger.query("SELECT COUNT(*) FROM Customer WHERE Active = True")
    assert answer.json["QueryResponse"] == {"totalCount": 5}
    zero = ledger.query("SELECT COUNT(*) FROM Customer WHERE DisplayName LIKE 'q%'")
    assert zero.json["QueryResponse"] == {"totalCount": 0}


def test_filters(ledger: Ledger) -> None:
    assert names(ledger.rows(r"SELECT * FROM Customer WHERE DisplayName = 'O\'Brien & Sons'")) == [
        "O'Brien & Sons"
    ]
    # Strings compare without regard to case, as QuickBooks does.
    assert names(ledger.rows("select * from customer where displayname = 'GAMMA'")) == ["Gamma"]
    assert names(ledger.rows("SELECT * FROM Customer WHERE DisplayName LIKE '%co%'")) == [
        "alpha co"
    ]
    assert names(ledger.rows("SELECT * FROM Customer WHERE DisplayName LIKE 'b%'")) == [
        "Beta Pty"
    ]
    assert names(ledger.rows("SELECT * FROM Customer WHERE Id in ('1', '3', '99')")) == [
        "Zed Ltd",
        "alpha co",
    ]
    assert names(ledger.rows("SELECT * FROM Customer WHERE Id > '3'")) == ["Beta Pty", "Gamma"]
    assert len(ledger.rows("SELECT * FROM Customer WHERE Active = true")) == 5
    assert ledger.rows("SELECT * FROM Customer WHERE Active = false") == []


def test_dates_compare_as_moments_across_offsets(ledger: Ledger) -> None:
    # Customers were made a minute apart from 2025-03-01T12:00:00Z.
    sql = (
        "SELECT * FROM Customer WHERE Metadata.LastUpdatedTime > '2025-03-01T12:01:30Z' "
        "AND MetaData.LastUpdatedTime <= '2025-03-01T22:03:00+10:00'"
    )
    assert names(ledger.rows(sql)) == ["alpha co", "Beta Pty"]
    ordered = ledger.rows(
        "SELECT * FROM Customer ORDER BY Metadata.LastUpdatedTime DESC MAXRESULTS 2"
    )
    assert names(ordered) == ["Gamma", "Beta Pty"]


def test_refs_and_numbers(ledger: Ledger) -> None:
    item = ledger.item("Gardening")
    for amount in (100, 350, 20):
        ledger.invoice("2", item["Id"], amount)
    ledger.invoice("3", item["Id"], 400)
    invoices = ledger.rows("SELECT * FROM Invoice WHERE CustomerRef = '2' AND TotalAmt > '99'")
    assert [row["TotalAmt"] for row in invoices] == [100.0, 350.0]
    by_name = ledger.rows("SELECT * FROM Invoice WHERE CustomerRef.name = 'alpha co'")
    assert [row["TotalAmt"] for row in by_name] == [400.0]
    ordered = ledger.rows("SELECT * FROM Invoice ORDERBY TotalAmt DESC")
    assert [row["TotalAmt"] for row in ordered] == [400.0, 350.0, 100.0, 20.0]
    assert len(ledger.rows("SELECT * FROM Invoice WHERE TotalAmt >= 350")) == 2
    assert len(ledger.rows("SELECT * FROM Invoice WHERE TxnDate = '2025-03-01'")) == 4


def test_order_and_paging(ledger: Ledger) -> None:
    by_name = ledger.rows("SELECT * FROM Customer ORDER BY DisplayName")
    assert names(by_name) == ["alpha co", "Beta Pty", "Gamma", "O'Brien & Sons", "Zed Ltd"]
    assert names(ledger.rows("SELECT * FROM Customer")) == [
        "Zed Ltd", "O'Brien & Sons", "alpha co", "Beta Pty", "Gamma",
    ]  # fmt: skip
    page = ledger.query("SELECT * FROM Customer ORDERBY DisplayName STARTPOSITION 2 MAXRESULTS 2")
    response = page.json["QueryResponse"]
    assert names(response["Customer"]) == ["Beta Pty", "Gamma"]
    assert response["startPosition"] == 2 and response["maxResults"] == 2
    last = ledger.query("SELECT * FROM Customer ORDERBY DisplayName STARTPOSITION 5 MAXRESULTS 2")
    assert last.json["QueryResponse"]["maxResults"] == 1
    beyond = ledger.query("SELECT * FROM Customer STARTPOSITION 6")
    assert beyond.json["QueryResponse"] == {}


def test_default_page_is_100_and_the_largest_1000(ledger: Ledger) -> None:
    item = ledger.item("Bulk")
    batch = [
        {"bId": str(n), "operation": "create",
         "Invoice": ledger.invoice_body("1", item["Id"], n + 1)}
        for n in range(30)
    ]  # fmt: skip
    for _ in range(5):
        assert ledger.post("batch", {"BatchItemRequest": batch}).status == 200
    assert len(ledger.rows("SELECT * FROM Invoice")) == 100
    assert len(ledger.rows("SELECT * FROM Invoice MAXRESULTS 1000")) == 150
    assert ledger.query("SELECT COUNT(*) FROM Invoice").json["QueryResponse"]["totalCount"] == 150


def test_selected_fields_still_return_whole_objects(ledger: Ledger) -> None:
    ledger.item("Gardening", Sku="G-1")
    rows = ledger.rows("SELECT *, Sku FROM Item")
    assert rows[0]["Sku"] == "G-1" and rows[0]["Name"] == "Gardening"
    assert ledger.rows("SELECT Id, DisplayName FROM Customer WHERE Id = '1'")[0]["Active"]


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM Customer WHERE Colour = 'red'",
        "SELECT * FROM Customer ORDER BY Colour",
        "SELECT Colour FROM Customer",
        "SELECT * FROM Customer WHERE",
    ],
)
def test_query_faults_over_the_api(ledger: Ledger, sql: str) -> None:
    answer = ledger.query(sql)
    assert answer.status == 400 and answer.code == "4000"
    assert answer.json["Fault"]["type"] == "ValidationFault"
    assert answer.fault()["Message"] == "Error parsing query"


def test_unknown_entity_is_an_invalid_context_declaration(ledger: Ledger) -> None:
    answer = ledger.query("SELECT * FROM Custmoer")
    assert answer.status == 400
    assert answer.json["Fault"] == {
        "Error": [{"Message": "Invalid query",
                   "Detail": "invalid context declaration: Custmoer",
                   "code": "4001", "element": ""}],
        "type": "ValidationFault",
    }  # fmt: skip
    over = ledger.query("SELECT * FROM Customer MAXRESULTS 1001")
    assert over.status == 400 and over.code == "4001"


def test_missing_query_is_a_fault(ledger: Ledger) -> None:
    assert ledger.get("query").code == "4000"
    bad_bytes = ledger.call("POST", "query", raw=b"\xff\xfe", content_type="application/text")
    assert bad_bytes.status == 400 and bad_bytes.code == "500"
