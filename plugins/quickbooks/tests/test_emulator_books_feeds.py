"""Batch, change data capture and ``requestid`` replays in the emulator's books."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from books_support import REALM, Ledger


@pytest.fixture
def ledger() -> Ledger:
    return Ledger()


# --- batch ---------------------------------------------------------------------------------


def test_batch_of_30_with_one_failure(ledger: Ledger) -> None:
    ledger.customer("Taken")
    items = [
        {"bId": str(uuid.uuid4()), "operation": "create", "Customer": {"DisplayName": f"C{n}"}}
        for n in range(28)
    ]
    items.insert(5, {"bId": "dup", "operation": "create", "Customer": {"DisplayName": "Taken"}})
    items.append({"bId": "q", "Query": "SELECT COUNT(*) FROM Customer"})
    assert len(items) == 30
    ledger.changes.clear()
    answer = ledger.post("batch", {"BatchItemRequest": items})
    assert answer.status == 200 and list(answer.json) == ["BatchItemResponse", "time"]
    responses = answer.json["BatchItemResponse"]
    assert [r["bId"] for r in responses] == [item["bId"] for item in items]
    failed = responses[5]
    assert list(failed) == ["Fault", "bId"]
    assert list(failed["Fault"]) == ["type", "Error"]
    assert failed["Fault"]["type"] == "ValidationFault"
    assert failed["Fault"]["Error"][0]["code"] == "6240"
    created = [r["Customer"] for r in responses if "Customer" in r]
    assert len(created) == 28 and created[0]["DisplayName"] == "C0"
    assert len({c["Id"] for c in created}) == 28
    # Items run in order, so the query sees the 28 new customers.
    assert responses[-1]["QueryResponse"] == {"totalCount": 29}
    assert [c.operation for c in ledger.changes] == ["Create"] * 28
    assert ledger.books.counts()[REALM]["Customer"] == 29


def test_batch_of_31_is_refused_whole(ledger: Ledger) -> None:
    items = [
        {"bId": str(n), "operation": "create", "Customer": {"DisplayName": f"C{n}"}}
        for n in range(31)
    ]
    answer = ledger.post("batch", {"BatchItemRequest": items})
    assert answer.status == 400 and answer.code == "1040"
    assert answer.json["Fault"]["type"] == "ValidationFault"
    assert ledger.books.counts()[REALM]["Customer"] == 0 and ledger.changes == []


def test_batch_updates_deletes_and_voids(ledger: Ledger) -> None:
    customer, item = ledger.basics()
    first = ledger.invoice(customer["Id"], item["Id"], 10)
    second = ledger.invoice(customer["Id"], item["Id"], 20)
    answer = ledger.post(
        "batch",
        {
            "BatchItemRequest": [
                {"bId": "u", "operation": "update",
                 "Customer": {"Id": customer["Id"], "SyncToken": "0", "sparse": True,
                              "Notes": "batch"}},
                {"bId": "d", "operation": "delete",
                 "Invoice": {"Id": first["Id"], "SyncToken": "0"}},
                {"bId": "v", "operation": "update", "optionsData": "void",
                 "Invoice": {"Id": second["Id"], "SyncToken": "0"}},
                {"bId": "s", "operation": "update",
                 "Invoice": {"Id": second["Id"], "SyncToken": "0", "sparse": True}},
                {"bId": "x", "operation": "merge", "Customer": {"Id": "1"}},
                {"bId": "y", "operation": "create"},
                {"bId": "z", "operation": "create", "Widget": {}},
            ]
        },
    )  # fmt: skip
    assert answer.status == 200
    by_bid = {r["bId"]: r for r in answer.json["BatchItemResponse"]}
    assert by_bid["u"]["Customer"]["Notes"] == "batch"
    assert by_bid["d"]["Invoice"] == {"status": "Deleted", "domain": "QBO", "Id": first["Id"]}
    assert by_bid["v"]["Invoice"]["PrivateNote"] == "Voided"
    assert by_bid["s"]["Fault"]["Error"][0]["code"] == "5010"
    for bid in ("x", "y", "z"):
        assert by_bid[bid]["Fault"]["Error"][0]["code"] == "500"
    assert [(c.entity, c.operation) for c in ledger.changes[-3:]] == [
        ("Customer", "Update"),
        ("Invoice", "Delete"),
        ("Invoice", "Void"),
    ]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({}, "2020"),
        ({"BatchItemRequest": "nope"}, "2010"),
        ([1, 2], "2010"),
    ],
)
def test_batch_bodies_that_cannot_be_read(ledger: Ledger, body: object, code: str) -> None:
    answer = ledger.post("batch", body)
    assert answer.status == 400 and answer.code == code


def test_batch_items_that_are_not_objects_fail_alone(ledger: Ledger) -> None:
    answer = ledger.post(
        "batch",
        {"BatchItemRequest": ["junk", {"bId": "ok", "Query": "SELECT * FROM Customer"},
                              {"bId": "bad", "Query": 7}]},
    )  # fmt: skip
    assert answer.status == 200
    responses = answer.json["BatchItemResponse"]
    assert responses[0]["Fault"]["Error"][0]["code"] == "2010" and "bId" not in responses[0]
    assert responses[1] == {"bId": "ok", "QueryResponse": {}}
    assert responses[2]["Fault"]["Error"][0]["code"] == "2010"


# --- change data capture ----------------------------------------------------------------------


def _cdc(ledger: Ledger, entities: str, since: str) -> list[dict]:
    answer = ledger.get("cdc", entities=entities, changedSince=since, minorversion="75")
    assert answer.status == 200, answer.raw
    assert list(answer.json) == ["CDCResponse", "time"]
    return list(answer.json["CDCResponse"][0]["QueryResponse"])


def test_cdc_lists_changes_then_tombstones(ledger: Ledger) -> None:
    customer, item = ledger.basics()
    old = ledger.invoice(customer["Id"], item["Id"], 10)
    ledger.advance(3600)
    mark = ledger.now
    doomed = ledger.invoice(customer["Id"], item["Id"], 20)
    ledger.advance(10)
    ledger.post("invoice", {"Id": doomed["Id"], "SyncToken": "0"}, operation="delete")
    ledger.advance(10)
    ledger.post(
        "invoice", {"Id": old["Id"], "SyncToken": "0", "sparse": True, "DueDate": "2025-04-30"}
    )
    since = mark.isoformat()
    blocks = _cdc(ledger, "Invoice,Customer", since)
    assert len(blocks) == 2
    invoices = blocks[0]["Invoice"]
    assert [row["Id"] for row in invoices] == [old["Id"], doomed["Id"]]
    assert invoices[0]["DueDate"] == "2025-04-30"
    tombstone = invoices[1]
    assert tombstone == {
        "domain": "QBO",
        "status": "Deleted",
        "Id": doomed["Id"],
        "MetaData": {"LastUpdatedTime": "2025-03-01T05:00:10-08:00"},
    }
    assert blocks[0]["startPosition"] == 1 and blocks[0]["maxResults"] == 2
    assert blocks[1] == {}  # no customer changed since the mark
    everything = _cdc(ledger, "customer,Invoice,Customer", "2025-03-01")
    assert [next(iter(block)) for block in everything] == ["Customer", "Invoice"]


def test_cdc_timestamps_in_every_spelling(ledger: Ledger) -> None:
    ledger.customer("Acme")  # 2025-03-01T12:00:00Z
    for since in (
        "2025-03-01T12:00:00",  # python-quickbooks' naive UTC
        "2025-03-01T04:00:00-08:00",
        "2025-03-01T23:00:00 11:00",  # node-quickbooks: '+' arrives as a space
        "2025-03-01T12:00:00Z",
    ):
        assert list(_cdc(ledger, "Customer", since)[0]) == ["Customer", "startPosition",
                                                            "maxResults"], since  # fmt: skip
    assert _cdc(ledger, "Customer", "2025-03-01T12:00:01Z") == [{}]


def test_cdc_window_is_30_days(ledger: Ledger) -> None:
    too_old = (ledger.now - dt.timedelta(days=30, seconds=1)).isoformat()
    answer = ledger.get("cdc", entities="Customer", changedSince=too_old)
    assert answer.status == 400 and answer.code == "500"
    assert "older than fixed days" in answer.fault()["Detail"]
    ok = (ledger.now - dt.timedelta(days=29)).isoformat()
    assert ledger.get("cdc", entities="Customer", changedSince=ok).status == 200


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"changedSince": "2025-03-01"}, "2020"),
        ({"entities": "Customer"}, "2020"),
        ({"entities": "Customer", "changedSince": "yesterday"}, "2010"),
        ({"entities": "Widget", "changedSince": "2025-03-01"}, "500"),
    ],
)
def test_cdc_faults(ledger: Ledger, params: dict[str, str], code: str) -> None:
    answer = ledger.get("cdc", **params)
    assert answer.status == 400 and answer.code == code


def test_cdc_answers_at_most_1000_objects(ledger: Ledger) -> None:
    items = [
        {"bId": str(n), "operation": "create", "Customer": {"DisplayName": f"Customer {b}-{n}"}}
        for b in range(34)
        for n in range(30)
    ]
    for start in range(0, len(items), 30):
        assert ledger.post("batch", {"BatchItemRequest": items[start : start + 30]}).status == 200
    blocks = _cdc(ledger, "Customer,Invoice", "2025-03-01")
    assert blocks[0]["maxResults"] == 1000 and len(blocks[0]["Customer"]) == 1000
    assert blocks[1] == {}


# --- requestid --------------------------------------------------------------------------------


def test_requestid_replays_the_first_answer_without_writing_again(ledger: Ledger) -> None:
    first = ledger.post("customer", {"DisplayName": "Once"}, requestid="req-1")
    ledger.advance(5)
    second = ledger.post("customer", {"DisplayName": "Once"}, requestid="req-1")
    assert second.raw == first.raw and second.status == 200
    assert ledger.books.counts()[REALM]["Customer"] == 1 and len(ledger.changes) == 1
    # Even a different body gets the stored answer: the id names the operation.
    third = ledger.post("customer", {"DisplayName": "Other"}, requestid="req-1")
    assert third.raw == first.raw
    # Another id writes; another company has its own ids.
    assert ledger.post("customer", {"DisplayName": "Twice"}, requestid="req-2").status == 200
    ledger.books.add_company("222", "Other Co")
    other = ledger.call("POST", "customer", {"DisplayName": "Once"}, realm="222", requestid="req-1")
    assert other.status == 200 and other.raw != first.raw
    assert ledger.books.counts()["222"]["Customer"] == 1


def test_requestid_replays_faults_and_batches(ledger: Ledger) -> None:
    ledger.customer("Taken")
    refused = ledger.post("customer", {"DisplayName": "Taken"}, requestid="r-fault")
    again = ledger.post("customer", {"DisplayName": "Taken"}, requestid="r-fault")
    assert refused.status == again.status == 400 and refused.raw == again.raw
    batch = {"BatchItemRequest": [
        {"bId": "a", "operation": "create", "Customer": {"DisplayName": "Batched"}}]}
    first = ledger.post("batch", batch, requestid="r-batch")
    ledger.advance(1)
    second = ledger.post("batch", batch, requestid="r-batch")
    assert first.raw == second.raw and first.status == 200
    assert ledger.books.counts()[REALM]["Customer"] == 2


def test_requestid_is_kept_for_a_day(ledger: Ledger) -> None:
    first = ledger.post("customer", {"DisplayName": "Once"}, requestid="req-1")
    ledger.advance(23 * 3600)
    assert ledger.post("customer", {"DisplayName": "Once"}, requestid="req-1").raw == first.raw
    ledger.advance(3601)
    late = ledger.post("customer", {"DisplayName": "Once"}, requestid="req-1")
    assert late.code == "6240"


def test_reads_ignore_requestid(ledger: Ledger) -> None:
    ledger.customer("Acme")
    first = ledger.get("customer/1", requestid="g-1")
    ledger.post("customer", {"Id": "1", "SyncToken": "0", "sparse": True, "Notes": "new"})
    second = ledger.get("customer/1", requestid="g-1")
    assert second.json["Customer"]["Notes"] == "new" and first.raw != second.raw


def test_requestid_longer_than_50_is_refused(ledger: Ledger) -> None:
    long_id = "r" * 51
    answer = ledger.post("customer", {"DisplayName": "Too long"}, requestid=long_id)
    assert answer.status == 400
    assert answer.fault() == {
        "Message": "A business validation error has occurred while processing your request",
        "Detail": "Business Validation Error: You cannot enter more than 50 characters in the "
                  f"request_id field. You tried entering {long_id}, which is 51 characters.",
        "code": "6000",
        "element": "",
    }  # fmt: skip
    assert ledger.books.counts()[REALM]["Customer"] == 0
    assert ledger.post("customer", {"DisplayName": "Fits"}, requestid="r" * 50).status == 200


def test_batch_items_fail_when_requestid_and_bid_pass_50(ledger: Ledger) -> None:
    request_id = "b" * 32
    items = [
        {"bId": "x" * 18, "operation": "create", "Customer": {"DisplayName": "Fits"}},
        {"bId": "y" * 19, "operation": "create", "Customer": {"DisplayName": "Too long"}},
    ]
    answer = ledger.post("batch", {"BatchItemRequest": items}, requestid=request_id)
    assert answer.status == 200
    fits, too_long = answer.json["BatchItemResponse"]
    assert fits["Customer"]["DisplayName"] == "Fits"
    error = too_long["Fault"]["Error"][0]
    assert too_long["bId"] == "y" * 19 and error["code"] == "6000"
    assert error["Detail"].endswith(
        f"You tried entering {request_id}{'y' * 19}, which is 51 characters."
    )
    # Without a requestid a bId may be as long as the client likes.
    plain = ledger.post("batch", {"BatchItemRequest": [
        {"bId": "z" * 60, "operation": "create", "Customer": {"DisplayName": "No rid"}}]})
    assert "Customer" in plain.json["BatchItemResponse"][0]
