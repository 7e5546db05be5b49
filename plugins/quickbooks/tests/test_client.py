"""QuickBooksClient at the HTTP boundary: headers, retries, and every error mapping."""

from __future__ import annotations

import json
import logging
import re
from decimal import Decimal

import httpx
import hub_quickbooks.client as client_module
import pytest
from hub_quickbooks.client import QuickBooksClient
from hub_quickbooks.errors import QuickBooksRejected
from plugin_support import API, COMPANY, REALM, TokenSource, fault
from pytest_httpx import HTTPXMock

from hub.errors import AuthRevoked, Conflict, RateLimited, Rejected, Transient

pytestmark = pytest.mark.anyio

INVOICE_URL = re.compile(re.escape(f"{COMPANY}/invoice/130") + r"\?minorversion=75$")
ANY_COMPANY_URL = re.compile(re.escape(COMPANY) + r"/.*")
TID = {"intuit_tid": "1-6566e9b5-0f4a2c1d"}

THROTTLED_XML = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<IntuitResponse xmlns="http://schema.intuit.com/finance/v3" time="2016-03-17T10:22:35.118-07:00">
  <Fault type="SERVICE">
    <Error code="3001" element="">
      <Message>message=ThrottleExceeded; errorCode=003001; statusCode=429</Message>
      <Detail>The request limit was reached.  Try again later</Detail>
    </Error>
  </Fault>
</IntuitResponse>"""

UNAUTHORIZED = {
    "warnings": None,
    "fault": {
        "error": [
            {
                "message": "message=AuthenticationFailed; errorCode=003200; statusCode=401",
                "detail": "Token expired: eyJ...",
                "code": "3200",
                "element": None,
            }
        ],
        "type": "AUTHENTICATION",
    },
    "time": 1730024394085,
}

FORBIDDEN = {
    "fault": {
        "error": [
            {
                "message": "message=ApplicationAuthorizationFailed; errorCode=003100; "
                "statusCode=403",
                "detail": "",
                "code": "3100",
            }
        ],
        "type": "SERVICE",
    }
}


@pytest.fixture
async def http():
    async with httpx.AsyncClient() as client:
        yield client


def make_client(http: httpx.AsyncClient, tokens: TokenSource | None = None) -> QuickBooksClient:
    return QuickBooksClient(
        http, api_base=API, realm_id=REALM, access_token=tokens or TokenSource("tok-1", "tok-2")
    )


async def read_invoice(client: QuickBooksClient) -> dict:
    return await client.read("Invoice", "130", subject="the invoice INV-1001")


async def test_a_read_sends_bearer_accept_minorversion_and_a_timeout(httpx_mock: HTTPXMock, http):
    httpx_mock.add_response(
        url=INVOICE_URL, json={"Invoice": {"Id": "130", "TotalAmt": 100.14}, "time": "t"}
    )

    obj = await read_invoice(make_client(http))

    assert obj["TotalAmt"] == Decimal("100.14")
    request = httpx_mock.get_request()
    assert request.method == "GET"
    assert request.headers["authorization"] == "Bearer tok-1"
    assert request.headers["accept"] == "application/json"
    assert request.extensions["timeout"]["read"] == 30.0


async def test_a_401_refreshes_once_and_retries(httpx_mock: HTTPXMock, http):
    tokens = TokenSource("old", "fresh")
    httpx_mock.add_response(url=INVOICE_URL, status_code=401, json=UNAUTHORIZED)
    httpx_mock.add_response(url=INVOICE_URL, json={"Invoice": {"Id": "130"}})

    obj = await read_invoice(make_client(http, tokens))

    assert obj["Id"] == "130"
    assert tokens.calls == [False, True]
    first, second = httpx_mock.get_requests()
    assert first.headers["authorization"] == "Bearer old"
    assert second.headers["authorization"] == "Bearer fresh"


async def test_a_second_401_means_access_was_revoked(httpx_mock: HTTPXMock, http):
    tokens = TokenSource("old", "fresh")
    httpx_mock.add_response(url=INVOICE_URL, status_code=401, json=UNAUTHORIZED, headers=TID)
    httpx_mock.add_response(url=INVOICE_URL, status_code=401, json=UNAUTHORIZED, headers=TID)

    with pytest.raises(AuthRevoked) as caught:
        await read_invoice(make_client(http, tokens))

    assert "Reconnect QuickBooks" in caught.value.message
    assert caught.value.support_reference == TID["intuit_tid"]
    assert tokens.calls == [False, True]


async def test_a_403_for_scope_means_reconnect(httpx_mock: HTTPXMock, http):
    httpx_mock.add_response(url=INVOICE_URL, status_code=403, json=FORBIDDEN, headers=TID)

    with pytest.raises(AuthRevoked) as caught:
        await read_invoice(make_client(http))

    assert "accounting scope" in caught.value.message
    assert "ApplicationAuthorizationFailed" in caught.value.message
    assert caught.value.support_reference == TID["intuit_tid"]


@pytest.mark.parametrize(
    ("headers", "expected"), [({"Retry-After": "17"}, 17.0), ({}, 60.0)], ids=["header", "default"]
)
async def test_a_429_is_rate_limited_even_with_an_xml_body(
    httpx_mock: HTTPXMock, http, headers, expected
):
    httpx_mock.add_response(
        url=INVOICE_URL,
        status_code=429,
        text=THROTTLED_XML,
        headers={**headers, **TID, "content-type": "application/xml"},
    )

    with pytest.raises(RateLimited) as caught:
        await read_invoice(make_client(http))

    assert caught.value.retry_after == expected
    assert caught.value.support_reference == TID["intuit_tid"]


async def test_an_old_style_throttle_fault_is_rate_limited_too(httpx_mock: HTTPXMock, http):
    httpx_mock.add_response(url=INVOICE_URL, status_code=403, text=THROTTLED_XML)

    with pytest.raises(RateLimited):
        await read_invoice(make_client(http))


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_server_errors_are_transient(httpx_mock: HTTPXMock, http, status, no_wait):
    httpx_mock.add_response(
        url=INVOICE_URL,
        status_code=status,
        text="<html>down</html>",
        headers=TID,
        is_reusable=True,
    )

    with pytest.raises(Transient) as caught:
        await read_invoice(make_client(http))

    # A read is sent again a couple of times before the failure goes to the host.
    assert len(httpx_mock.get_requests()) == 1 + client_module.QUICK_RETRIES
    assert f"HTTP {status}" in caught.value.message
    assert "INV-1001" in caught.value.message
    assert caught.value.support_reference == TID["intuit_tid"]


@pytest.mark.parametrize(
    "error",
    [
        httpx.ReadTimeout("timed out"),
        httpx.ConnectTimeout("timed out"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
        httpx.ConnectError("connection refused"),
        httpx.ReadError("connection reset"),
    ],
    ids=lambda e: type(e).__name__,
)
async def test_timeouts_and_dropped_connections_are_transient(
    httpx_mock: HTTPXMock, http, error, no_wait
):
    httpx_mock.add_exception(error, url=INVOICE_URL, is_reusable=True)

    with pytest.raises(Transient) as caught:
        await read_invoice(make_client(http))

    assert caught.value.__cause__ is error
    assert "INV-1001" in caught.value.message


async def test_a_passing_failure_is_retried_within_the_call(httpx_mock: HTTPXMock, http, no_wait):
    httpx_mock.add_response(url=INVOICE_URL, status_code=503, text="down")
    httpx_mock.add_response(url=INVOICE_URL, json={"Invoice": {"Id": "130"}, "time": "x"})
    assert (await read_invoice(make_client(http)))["Id"] == "130"


async def test_a_write_without_requestid_is_not_sent_twice(httpx_mock: HTTPXMock, http, no_wait):
    httpx_mock.add_response(method="POST", status_code=500, text="down")
    with pytest.raises(Transient):
        await make_client(http).request(
            "POST", "invoice", json_body={"Id": "1"}, subject="the invoice INV-1001"
        )
    assert len(httpx_mock.get_requests()) == 1


@pytest.fixture
def no_wait(monkeypatch):
    """Resend at once instead of after a short pause."""
    monkeypatch.setattr(client_module, "QUICK_RETRY_DELAY", 0.0)


async def test_a_validation_fault_is_rejected_with_the_reason(httpx_mock: HTTPXMock, http):
    httpx_mock.add_response(
        url=INVOICE_URL,
        status_code=400,
        json=fault("6000", "A business validation error has occurred", "Amount is wrong"),
        headers=TID,
    )

    with pytest.raises(Rejected) as caught:
        await read_invoice(make_client(http))

    assert isinstance(caught.value, QuickBooksRejected)
    assert caught.value.code == "6000"
    assert caught.value.message == (
        "QuickBooks refused the invoice INV-1001: "
        "A business validation error has occurred: Amount is wrong"
    )
    assert caught.value.support_reference == TID["intuit_tid"]


async def test_detail_repeating_the_message_is_said_once(httpx_mock: HTTPXMock, http):
    detail = "Duplicate Document Number Error : You must specify a different number."
    httpx_mock.add_response(
        url=INVOICE_URL,
        status_code=400,
        json=fault("6140", "Duplicate Document Number Error", detail),
    )

    with pytest.raises(Rejected) as caught:
        await read_invoice(make_client(http))

    assert caught.value.message == f"QuickBooks refused the invoice INV-1001: {detail}"


async def test_a_stale_synctoken_is_a_conflict(httpx_mock: HTTPXMock, http):
    httpx_mock.add_response(
        url=INVOICE_URL,
        status_code=400,
        json=fault("5010", "Stale Object Error", "Stale Object Error : You and root were working"),
    )

    with pytest.raises(Conflict) as caught:
        await read_invoice(make_client(http))

    assert "changed in QuickBooks meanwhile" in caught.value.message


async def test_a_fault_in_a_200_answer_is_still_a_refusal(httpx_mock: HTTPXMock, http):
    httpx_mock.add_response(url=INVOICE_URL, json=fault("610", "Object Not Found", "gone"))

    with pytest.raises(Rejected) as caught:
        await read_invoice(make_client(http))

    assert caught.value.code == "610"


async def test_a_404_without_a_fault_is_rejected(httpx_mock: HTTPXMock, http):
    httpx_mock.add_response(url=INVOICE_URL, status_code=404, text="<html>Not Found</html>")

    with pytest.raises(Rejected) as caught:
        await read_invoice(make_client(http))

    assert "HTTP 404" in caught.value.message


async def test_a_200_that_is_not_json_is_transient(httpx_mock: HTTPXMock, http):
    httpx_mock.add_response(url=INVOICE_URL, text="<html>maintenance</html>")

    with pytest.raises(Transient):
        await read_invoice(make_client(http))


async def test_a_system_fault_is_transient(httpx_mock: HTTPXMock, http):
    httpx_mock.add_response(
        url=INVOICE_URL,
        status_code=400,
        json=fault("10000", "An application error", "", "SystemFault"),
    )

    with pytest.raises(Transient):
        await read_invoice(make_client(http))


async def test_create_sends_decimal_amounts_as_exact_numbers(httpx_mock: HTTPXMock, http):
    httpx_mock.add_response(
        url=re.compile(re.escape(f"{COMPANY}/invoice?") + ".*"), json={"Invoice": {"Id": "1"}}
    )
    body = {"Line": [{"Amount": Decimal("200.28"), "SalesItemLineDetail": {"Qty": Decimal("2")}}]}

    await make_client(http).create("Invoice", body, subject="x", request_id="abc")

    request = httpx_mock.get_request()
    assert request.headers["content-type"] == "application/json"
    assert request.url.params["requestid"] == "abc"
    assert request.url.params["minorversion"] == "75"
    assert b'"Amount":200.28' in request.content
    assert b'"Qty":2' in request.content


async def test_query_posts_sql_and_follows_pages(httpx_mock: HTTPXMock, http):
    SQL = b"SELECT * FROM Customer WHERE Active = true"
    page = [{"Id": str(n)} for n in range(1000)]
    httpx_mock.add_response(
        url=re.compile(re.escape(f"{COMPANY}/query?") + ".*"),
        match_content=SQL + b" STARTPOSITION 1 MAXRESULTS 1000",
        json={"QueryResponse": {"Customer": page, "maxResults": 1000}},
    )
    httpx_mock.add_response(
        url=re.compile(re.escape(f"{COMPANY}/query?") + ".*"),
        match_content=SQL + b" STARTPOSITION 1001 MAXRESULTS 1000",
        json={"QueryResponse": {"Customer": [{"Id": "x"}], "maxResults": 1}},
    )

    rows = await make_client(http).query(SQL.decode(), subject="customers")

    assert len(rows) == 1001
    assert all(r.headers["content-type"] == "application/text" for r in httpx_mock.get_requests())


async def test_an_empty_query_answer_is_no_rows(httpx_mock: HTTPXMock, http):
    httpx_mock.add_response(url=ANY_COMPANY_URL, json={"QueryResponse": {}, "time": "t"})

    assert await make_client(http).query("SELECT * FROM Item", subject="items") == []


async def test_batch_answers_by_bid_with_the_intuit_tid(httpx_mock: HTTPXMock, http):
    httpx_mock.add_response(
        url=ANY_COMPANY_URL,
        json={
            "BatchItemResponse": [
                {"bId": "1", "Fault": fault("6240", "Duplicate Name Exists Error")["Fault"]},
                {"bId": "0", "Customer": {"Id": "5"}},
            ]
        },
        headers=TID,
    )

    answers, tid = await make_client(http).batch(
        [{"bId": "0"}, {"bId": "1"}], request_id="r-1", subject="customers"
    )

    assert answers["0"]["Customer"]["Id"] == "5"
    assert "Fault" in answers["1"]
    assert tid == TID["intuit_tid"]
    request = httpx_mock.get_request()
    assert request.url.path.endswith(f"/v3/company/{REALM}/batch")
    assert request.url.params["requestid"] == "r-1"
    assert json.loads(request.content) == {"BatchItemRequest": [{"bId": "0"}, {"bId": "1"}]}
    assert request.extensions["timeout"]["read"] == 60.0


async def test_no_token_is_ever_logged(httpx_mock: HTTPXMock, http, caplog):
    caplog.set_level(logging.DEBUG)
    tokens = TokenSource("secret-access-token-1", "secret-access-token-2")
    httpx_mock.add_response(url=INVOICE_URL, status_code=401, json=UNAUTHORIZED)
    httpx_mock.add_response(url=INVOICE_URL, status_code=401, json=UNAUTHORIZED)

    with pytest.raises(AuthRevoked) as caught:
        await read_invoice(make_client(http, tokens))

    assert "secret-access-token" not in caplog.text
    assert "secret-access-token" not in str(caught.value)
