"""Throttling, added latency and injected failures, as clients see them."""

from __future__ import annotations

import concurrent.futures
import json
from collections.abc import Iterator

import httpx
import pytest
from emulator_support import (
    RunningEmulator,
    running_emulator,
)
from intuitlib.exceptions import AuthClientError
from quickbooks.exceptions import QuickbooksException, SevereException
from quickbooks.objects.company_info import CompanyInfo


@pytest.fixture
def emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningEmulator]:
    """A running emulator with auto-consent, limits on and fast webhook retries."""
    with running_emulator(monkeypatch) as running:
        yield running



def company_info(emu: RunningEmulator, token: str) -> httpx.Response:
    return emu.api(token, "GET", f"companyinfo/{emu.realm_id}")


def test_per_second_limit_answers_429_in_xml(emulator: RunningEmulator) -> None:
    auth = emulator.connect()
    emulator.control("POST", "limits", json={"app_per_second": 2})
    statuses = [company_info(emulator, auth.access_token).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    throttled = company_info(emulator, auth.access_token)
    assert throttled.status_code == 429
    assert throttled.headers["content-type"].startswith("application/xml")
    assert throttled.headers["intuit_tid"]
    assert "<Error code=\"3001\" element=\"\">" in throttled.text
    assert "message=ThrottleExceeded; errorCode=003001; statusCode=429" in throttled.text

    # python-quickbooks cannot read the XML: it reports the raw body instead.
    client = emulator.quickbooks(auth)
    with pytest.raises(QuickbooksException) as caught:
        CompanyInfo.get(emulator.realm_id, qb=client)
    assert caught.value.error_code == 10000
    assert "ThrottleExceeded" in caught.value.message

    emulator.control("POST", "clock", json={"advance_seconds": 2})  # the second is over
    assert company_info(emulator, auth.access_token).status_code == 200
    stats = emulator.control("GET", "stats")
    assert stats["throttled"]["total"] == 3
    assert stats["throttled"]["by_company"] == {emulator.realm_id: 3}


def test_throttle_body_can_be_json(emulator: RunningEmulator) -> None:
    auth = emulator.connect()
    emulator.control("POST", "limits", json={"realm_per_minute": 1, "body": "json"})
    assert company_info(emulator, auth.access_token).status_code == 200
    throttled = company_info(emulator, auth.access_token)
    assert throttled.status_code == 429
    error = throttled.json()["Fault"]["Error"][0]
    assert error["code"] == "3001"
    assert error["Detail"] == "The request limit was reached.  Try again later"

    client = emulator.quickbooks(auth)
    with pytest.raises(QuickbooksException) as caught:  # code 3001 -> ValidationException
        CompanyInfo.get(emulator.realm_id, qb=client)
    assert caught.value.error_code == 3001


def test_per_minute_limit_is_per_company(emulator: RunningEmulator) -> None:
    auth = emulator.connect()
    emulator.control("POST", "limits", json={"realm_per_minute": 3, "app_per_second": None})
    statuses = [company_info(emulator, auth.access_token).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    emulator.control("POST", "clock", json={"advance_seconds": 61})
    assert company_info(emulator, auth.access_token).status_code == 200


def test_batch_limit_per_app(emulator: RunningEmulator) -> None:
    auth = emulator.connect()
    emulator.control("POST", "limits", json={"batch_app_per_minute": 1})
    body = {"BatchItemRequest": [{"bId": "1", "Query": "select * from Customer"}]}
    first = emulator.api(auth.access_token, "POST", "batch", json=body)
    second = emulator.api(auth.access_token, "POST", "batch", json=body)
    assert first.status_code != 429
    assert second.status_code == 429
    # Other requests are not batch requests and still go through.
    assert company_info(emulator, auth.access_token).status_code == 200


def parallel(emu: RunningEmulator, token: str, count: int) -> list[int]:
    with concurrent.futures.ThreadPoolExecutor(count) as pool:
        futures = [pool.submit(company_info, emu, token) for _ in range(count)]
        return sorted(f.result().status_code for f in futures)


def test_concurrency_limit_and_added_latency(emulator: RunningEmulator) -> None:
    auth = emulator.connect()
    emulator.control("POST", "latency", json={"ms": 600})
    emulator.control("POST", "limits", json={"app_concurrent": 2, "app_per_second": None})
    assert parallel(emulator, auth.access_token, 4) == [200, 200, 429, 429]
    stats = emulator.control("GET", "stats")
    assert stats["peak_concurrency"][emulator.realm_id] == 2


def test_latency_keeps_requests_concurrent(emulator: RunningEmulator) -> None:
    auth = emulator.connect()
    emulator.control("POST", "latency", json={"ms": 400})
    assert emulator.control("GET", "limits")["latency_ms"] == 400
    assert parallel(emulator, auth.access_token, 4) == [200] * 4
    # The waits overlapped: all four were in flight at once.
    assert emulator.control("GET", "stats")["peak_concurrency"][emulator.realm_id] == 4


def test_limits_off(monkeypatch: pytest.MonkeyPatch) -> None:
    with running_emulator(monkeypatch, limits=False) as emu:
        auth = emu.connect()
        assert emu.control("GET", "limits")["enabled"] is False
        statuses = {company_info(emu, auth.access_token).status_code for _ in range(25)}
        assert statuses == {200}


def test_limits_can_be_switched_off_at_run_time(emulator: RunningEmulator) -> None:
    auth = emulator.connect()
    emulator.control("POST", "limits", json={"app_per_second": 1})
    emulator.control("POST", "limits", json={"enabled": False})
    statuses = {company_info(emulator, auth.access_token).status_code for _ in range(5)}
    assert statuses == {200}


@pytest.mark.parametrize(
    "body",
    [{"app_per_second": -1}, {"nonsense": 1}, {"enabled": "yes"}, {"body": "yaml"}, [1, 2]],
)
def test_bad_limit_changes_are_refused(emulator: RunningEmulator, body: object) -> None:
    response = emulator.http.post("/_emulator/limits", content=json.dumps(body))
    assert response.status_code == 400
    assert response.json()["error"]


# --- injected failures -----------------------------------------------------------------------


def test_injected_503_then_normal_service(emulator: RunningEmulator) -> None:
    auth = emulator.connect()
    emulator.control("POST", "faults", json={"kind": "503", "path": "^/v3/", "count": 1})
    assert company_info(emulator, auth.access_token).status_code == 503
    assert company_info(emulator, auth.access_token).status_code == 200
    stats = emulator.control("GET", "stats")
    assert stats["injected_faults"] == {"503": 1}


def test_injected_500_reaches_python_quickbooks(emulator: RunningEmulator) -> None:
    auth = emulator.connect()
    emulator.control("POST", "faults", json={"kind": "500", "path": "/companyinfo/"})
    client = emulator.quickbooks(auth)
    with pytest.raises(SevereException) as caught:
        CompanyInfo.get(emulator.realm_id, qb=client)
    assert caught.value.error_code == 10000


def test_injected_429_and_path_filter(emulator: RunningEmulator) -> None:
    auth = emulator.connect()
    emulator.control("POST", "faults", json={"kind": "429", "path": "^/oauth2/"})
    assert company_info(emulator, auth.access_token).status_code == 200
    with pytest.raises(AuthClientError) as caught:
        auth.refresh()
    assert caught.value.status_code == 429


def test_dropped_connection(emulator: RunningEmulator) -> None:
    auth = emulator.connect()
    emulator.control("POST", "faults", json={"kind": "drop", "path": "^/v3/", "count": 1})
    with pytest.raises(httpx.TransportError):
        company_info(emulator, auth.access_token)
    assert company_info(emulator, auth.access_token).status_code == 200


def test_hanging_request_times_out_the_client(emulator: RunningEmulator) -> None:
    auth = emulator.connect()
    emulator.control(
        "POST", "faults",
        json={"kind": "timeout", "path": "^/v3/", "count": 1, "hang_seconds": 30},
    )
    realm = emulator.realm_id
    with (
        httpx.Client(base_url=emulator.base_url, timeout=0.5) as impatient,
        pytest.raises(httpx.ReadTimeout),
    ):
        impatient.get(
            f"/v3/company/{realm}/companyinfo/{realm}",
            headers={"Authorization": f"Bearer {auth.access_token}"},
        )
    assert company_info(emulator, auth.access_token).status_code == 200


def test_faults_with_a_share_duration_and_clear(emulator: RunningEmulator) -> None:
    auth = emulator.connect()
    added = emulator.control(
        "POST", "faults",
        json={"rules": [{"kind": "503", "share": 1.0, "duration_seconds": 60, "path": "^/v3/"}]},
    )
    assert added["rules"][0]["kind"] == "503"
    assert company_info(emulator, auth.access_token).status_code == 503
    emulator.control("POST", "clock", json={"advance_seconds": 61})
    assert company_info(emulator, auth.access_token).status_code == 200

    emulator.control("POST", "faults", json={"kind": "500", "path": "^/v3/"})
    assert company_info(emulator, auth.access_token).status_code == 500
    assert emulator.http.delete("/_emulator/faults").json() == {"rules": []}
    assert company_info(emulator, auth.access_token).status_code == 200


@pytest.mark.parametrize(
    "body",
    [{"kind": "404"}, {"kind": "500", "share": 2}, {"kind": "500", "path": "("},
     {"kind": "drop", "count": 0}, {"rules": "x"}],
)
def test_bad_fault_rules_are_refused(emulator: RunningEmulator, body: dict[str, object]) -> None:
    response = emulator.http.post("/_emulator/faults", json=body)
    assert response.status_code == 400
