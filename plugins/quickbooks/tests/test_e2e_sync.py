"""Invoice batches pushed to QuickBooks end to end: exactly once, whatever fails."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from hub_support import (
    browser,
    connected,
    emulator,
    emulator_options,
    hub_base_url,
    hub_plugin_env,
    hub_plugins,
    live_hub,
    run_worker,
    wait_for,
)

import hub.jobs
from hub.models import Job, SyncLink
from hub.samples import batch_document
from hub.testing import csrf_from

# The same invoices drills and benchmarks push.
make_batch = batch_document


@pytest.fixture
def api(live_hub: str, hub_org: dict[str, Any]):
    with httpx.Client(
        base_url=live_hub,
        timeout=60,
        headers={"Authorization": f"Bearer {hub_org['api_key']}"},
    ) as client:
        yield client


@pytest.fixture
def fast_retries(monkeypatch):
    """Retries after a fraction of a second instead of seconds to minutes."""
    monkeypatch.setattr(hub.jobs, "BACKOFF_BASE", 0.05)


def batch_state(api: httpx.Client, batch_id: int) -> dict[str, Any]:
    return api.get(f"/api/v1/invoice-batches/{batch_id}").json()


def wait_synced(api: httpx.Client, batch_id: int, timeout: float = 120) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        body = batch_state(api, batch_id)
        state = body["integrations"]["quickbooks"]["sync_state"]
        settled = ("synced", "partially_synced", "failed", "needs_attention")
        return body if state in settled else None

    return wait_for(done, timeout=timeout, every=0.2)


def test_batch_of_250_is_pushed_exactly_once(api, connected, emulator, browser):
    created = api.post("/api/v1/invoice-batches", json=make_batch(250))
    assert created.status_code == 201
    batch_id = created.json()["id"]
    body = wait_synced(api, batch_id)
    assert body["integrations"]["quickbooks"]["sync_state"] == "synced"
    assert all(i["integrations"]["quickbooks"]["remote_id"] for i in body["invoices"])
    assert emulator.count("Invoice") == 250
    assert emulator.count("Customer") == 25
    assert emulator.count("Item") == 3
    # QuickBooks' totals match Coordinoter's, to the cent.
    invoice = body["invoices"][7]
    assert invoice["integrations"]["quickbooks"]["remote_number"] == invoice["number"]
    page = browser.get(f"/invoice-batches/{batch_id}").text
    assert "Synced" in page and f"#{invoice['number']}" in page


def test_batch_before_connection_is_shown_and_pushed_only_by_an_admin(
    api, browser, emulator, hub_db
):
    early = api.post("/api/v1/invoice-batches", json=make_batch(3, prefix="OLD")).json()
    from hub_support import connect_quickbooks

    connect_quickbooks(browser)
    later = api.post("/api/v1/invoice-batches", json=make_batch(2, prefix="NEW")).json()
    wait_synced(api, later["id"])
    assert emulator.count("Invoice") == 2
    page = browser.get(f"/invoice-batches/{early['id']}").text
    assert "Not synced: created before QuickBooks Online was connected" in page
    assert "Push to QuickBooks Online" in page
    browser.post(
        f"/invoice-batches/{early['id']}/push/quickbooks", data={"csrf_token": csrf_from(page)}
    )
    wait_synced(api, early["id"])
    assert emulator.count("Invoice") == 5


def test_faults_never_duplicate_anything(api, connected, emulator, fast_retries, hub_db):
    emulator.control(
        "POST",
        "faults",
        json={
            "rules": [
                {"kind": "500", "share": 0.10, "path": "/v3/"},
                {"kind": "429", "share": 0.05, "path": "/v3/", "retry_after": 0.2},
                {"kind": "drop", "share": 0.04, "path": "/v3/"},
                {"kind": "timeout", "share": 0.03, "path": "/v3/", "hang_seconds": 3},
            ]
        },
    )
    batch_id = api.post("/api/v1/invoice-batches", json=make_batch(120)).json()["id"]
    # The access token expires in the middle of the push.
    wait_for(lambda: emulator.count("Invoice") > 0, timeout=60)
    emulator.control("POST", "clock", json={"advance_seconds": 3700})
    body = wait_synced(api, batch_id, timeout=240)
    assert body["integrations"]["quickbooks"]["sync_state"] == "synced"
    assert emulator.count("Invoice") == 120
    assert emulator.count("Customer") == 25
    stats = emulator.stats()
    assert sum(stats["injected_faults"].values()) > 0
    assert stats["token_grants"].get("refresh_token", 0) >= 1


@pytest.fixture
def hub_plugin_env(emulator) -> dict[str, str]:
    from hub_support import CLIENT_ID, CLIENT_SECRET, VERIFIER

    return {
        "QUICKBOOKS_CLIENT_ID": CLIENT_ID,
        "QUICKBOOKS_CLIENT_SECRET": CLIENT_SECRET,
        "QUICKBOOKS_WEBHOOK_VERIFIER_TOKEN": VERIFIER,
        "QUICKBOOKS_ENVIRONMENT": emulator.base_url,
        "QUICKBOOKS_TIMEOUT_SECONDS": "1",
        "HUB_JOB_LEASE_SECONDS": "4",
    }


def test_refused_invoice_does_not_block_the_others(api, connected, emulator, browser, hub_services):
    realm = emulator.realm_id
    # The accountant already used two of the numbers for another customer's invoices:
    # QuickBooks keeps each number once, so those two cannot be created.
    listed = emulator.control("GET", f"companies/{realm}/objects/TaxCode")
    codes = {code["Name"]: code["Id"] for code in listed}
    line = {
        "DetailType": "SalesItemLineDetail",
        "Amount": 10,
        "SalesItemLineDetail": {"TaxCodeRef": {"value": codes["GST-free"]}},
    }
    with httpx.Client(base_url=emulator.base_url) as http:
        token = _token(hub_services, connected)
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        other = http.post(
            f"/v3/company/{realm}/customer?minorversion=75",
            json={"DisplayName": "Someone Else"},
            headers=headers,
        )
        assert other.status_code == 200, other.text
        for number in ("INV-00001", "INV-00004"):
            answer = http.post(
                f"/v3/company/{realm}/invoice?minorversion=75",
                json={"DocNumber": number, "Line": [line],
                      "CustomerRef": {"value": other.json()["Customer"]["Id"]}},
                headers=headers,
            )
            assert answer.status_code == 200, answer.text
    batch = make_batch(6, participants=3)
    body = wait_synced(api, api.post("/api/v1/invoice-batches", json=batch).json()["id"])
    assert body["integrations"]["quickbooks"]["sync_state"] == "partially_synced"
    states = {i["number"]: i["integrations"]["quickbooks"] for i in body["invoices"]}
    refused = [n for n, s in states.items() if s["sync_state"] == "failed"]
    assert refused == ["INV-00001", "INV-00004"]
    assert "already has an invoice numbered INV-00001" in states["INV-00001"]["error"]
    assert states["INV-00001"]["fix_in"] == "invoice"
    assert emulator.count("Invoice") == 6  # the accountant's two and four of ours
    page = browser.get(f"/invoice-batches/{body['id']}").text
    assert "Retry refused invoices" in page and states["INV-00001"]["error"][:30] in page
    connection_page = browser.get("/integrations/quickbooks").text
    assert "Not in QuickBooks Online yet" in connection_page and "INV-00001" in connection_page


def _token(services, connection_id: int) -> str:
    """The hub's current access token, to look at QuickBooks as the hub sees it."""
    return asyncio.run(services.vault.access_token(connection_id))


def qbo_invoice(emulator, services, connection_id: int, remote_id: str) -> dict[str, Any]:
    realm = emulator.realm_id
    answer = emulator.http.get(
        f"/v3/company/{realm}/invoice/{remote_id}",
        headers={
            "Authorization": f"Bearer {_token(services, connection_id)}",
            "Accept": "application/json",
        },
    )
    return dict(answer.json()["Invoice"])


def test_update_and_void_round_trips_including_a_stale_sync_token(
    api, connected, emulator, hub_services
):
    body = wait_synced(api, api.post("/api/v1/invoice-batches", json=make_batch(2)).json()["id"])
    invoice = body["invoices"][0]
    remote_id = invoice["integrations"]["quickbooks"]["remote_id"]
    # Someone edits the invoice in QuickBooks first: our SyncToken is now stale.
    before = qbo_invoice(emulator, hub_services, connected, remote_id)
    emulator.http.post(
        f"/v3/company/{emulator.realm_id}/invoice?minorversion=75",
        json={
            "Id": remote_id,
            "SyncToken": before["SyncToken"],
            "sparse": True,
            "CustomerMemo": {"value": "edited in QuickBooks"},
        },
        headers={
            "Authorization": f"Bearer {_token(hub_services, connected)}",
            "Accept": "application/json",
        },
    ).raise_for_status()
    patched = api.patch(
        f"/api/v1/invoices/{invoice['id']}",
        json={"due_date": "2026-12-21", "memo": "changed in Coordinoter"},
    )
    assert patched.status_code == 200
    wait_for(
        lambda: qbo_invoice(emulator, hub_services, connected, remote_id)["DueDate"] == "2026-12-21"
    )
    after = qbo_invoice(emulator, hub_services, connected, remote_id)
    assert after["PrivateNote"] == "changed in Coordinoter"
    assert int(after["SyncToken"]) >= int(before["SyncToken"]) + 2
    api.post(f"/api/v1/invoices/{invoice['id']}/void").raise_for_status()
    wait_for(lambda: qbo_invoice(emulator, hub_services, connected, remote_id)["TotalAmt"] == 0)
    assert emulator.count("Invoice") == 2  # changed and voided, never duplicated


def _worker(env_base: dict[str, str], log: Path | None = None) -> subprocess.Popen[bytes]:
    """A ``hub worker`` process on the test's database, logging to ``log``."""
    hub_command = str(Path(sys.executable).parent / "hub")
    output = log.open("ab") if log else subprocess.DEVNULL
    return subprocess.Popen(
        [hub_command, "--log-level", "INFO", "worker", "--concurrency", "4"],
        env={**os.environ, **env_base},
        stdout=output,
        stderr=output,
    )


@pytest.fixture
def worker_env(hub_settings) -> dict[str, str]:
    return dict(hub_settings.environ)


@pytest.mark.slow
@pytest.mark.parametrize("run_worker", [False])
def test_worker_killed_mid_batch_loses_and_duplicates_nothing(
    api, connected, emulator, worker_env, hub_db, run_worker
):
    emulator.control("POST", "latency", json={"ms": 50})
    batch_id = api.post("/api/v1/invoice-batches", json=make_batch(150)).json()["id"]
    first = _worker(worker_env)
    try:
        wait_for(lambda: emulator.count("Invoice") >= 30, timeout=120)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    with hub_db.read_session() as session:
        running = session.exec(sa.select(Job.state).where(Job.kind == "push_batch")).scalar_one()
    assert running == "running"  # left behind, leased to a dead worker
    second = _worker(worker_env)
    try:
        body = wait_synced(api, batch_id, timeout=180)
    finally:
        second.terminate()
        second.wait(timeout=20)
    assert body["integrations"]["quickbooks"]["sync_state"] == "synced"
    assert emulator.count("Invoice") == 150
    assert emulator.count("Customer") == 25


@pytest.mark.slow
@pytest.mark.parametrize("run_worker", [False])
def test_two_workers_share_one_queue_without_running_a_job_twice(
    api, connected, emulator, worker_env, hub_db, run_worker, tmp_path
):
    emulator.control("POST", "latency", json={"ms": 20})
    batch_ids = [
        api.post("/api/v1/invoice-batches", json=make_batch(20, prefix=f"W{n}")).json()["id"]
        for n in range(6)
    ]
    logs = [tmp_path / "worker-1.log", tmp_path / "worker-2.log"]
    workers = [_worker(worker_env, logs[0]), _worker(worker_env, logs[1])]
    try:
        for batch_id in batch_ids:
            assert wait_synced(api, batch_id)["integrations"]["quickbooks"]["sync_state"] == (
                "synced"
            )
    finally:
        for worker in workers:
            worker.terminate()
            worker.wait(timeout=20)
    assert emulator.count("Invoice") == 120
    with hub_db.read_session() as session:
        jobs = session.exec(
            sa.select(Job.last_error, Job.attempts, Job.state).where(Job.kind == "push_batch")
        ).all()
        synced_links = session.exec(
            sa.select(sa.func.count()).select_from(SyncLink).where(SyncLink.kind == "invoice")
        ).scalar_one()
    assert [s for _, _, s in jobs] == ["succeeded"] * 6
    text = "".join(log.read_text() for log in logs)
    # Both workers did some of the work, and neither ever took a job over from the
    # other (which happens only when a lease runs out while its holder still runs).
    assert "job" in logs[0].read_text() or "job" in logs[1].read_text()
    assert "taking it over" not in text, text
    assert " ERROR " not in text, text  # no job failed, e.g. on a deadlock between workers
    assert synced_links == 120
