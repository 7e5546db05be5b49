"""Webhooks, pushing invoices and reading changes back, against the emulator."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
from decimal import Decimal
from typing import Any

import httpx
import hub
import pytest
from hub.errors import AuthRevoked, Conflict, RateLimited, Rejected, Transient, WebhookRejected

from hub_example_ledger.client import check

pytestmark = pytest.mark.anyio
NOW = dt.datetime.now(dt.UTC)


def make_invoice(n: int, **changes: Any) -> hub.InvoicePayload:
    line = hub.LinePayload("Support coordination", "07_002", Decimal("2"), Decimal("100.14"))
    fields: dict[str, Any] = dict(
        id=n, number=f"INV-{n}", participant=hub.ParticipantPayload("P-1", "Alex Chen"),
        issue_date=dt.date(2026, 11, 23), due_date=dt.date(2026, 12, 7), currency="AUD",
        lines=(line,), idempotency_key=f"invoice-{n}",
    )
    return hub.InvoicePayload(**(fields | changes))


def delivery(ctx: hub.ConnectionContext, body: bytes, signature: str | None) -> Any:
    headers = {} if signature is None else {"x-example-signature": signature}
    return hub.WebhookDelivery(config=ctx.config, headers=headers, body=body, received_at=NOW)


def sign(ctx: hub.ConnectionContext, body: bytes) -> str:
    secret = ctx.config.get("WEBHOOK_SECRET") or ""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


async def webhook_events(call: Any, http: httpx.AsyncClient, ctx: hub.ConnectionContext) -> Any:
    """Every webhook the emulator sent, through handle_webhook."""
    sent = (await http.get("/_emulator/webhooks")).json()
    return [event for d in sent for event in
            call("handle_webhook", delivery=delivery(ctx, d["body"].encode(), d["signature"]))]


async def push(call: Any, ctx: hub.ConnectionContext, *invoices: hub.InvoicePayload) -> Any:
    batch = hub.BatchPayload(id=1, reference="2026-11", invoices=invoices)
    return await call("sync_batch", ctx=ctx, batch=batch)


async def pay(http: httpx.AsyncClient, remote: hub.RemoteRef, amount: str) -> None:
    """What an accountant does in Example Ledger: record a payment."""
    path = f"/_emulator/invoices/{remote.remote_id}/payments"
    (await http.post(path, json={"amount": amount})).raise_for_status()


async def test_sync_batch_is_idempotent(
    call: Any, http: httpx.AsyncClient, connection: hub.ConnectionContext
) -> None:
    batch = (make_invoice(1), make_invoice(2), make_invoice(3, lines=()))
    first, again = await push(call, connection, *batch), await push(call, connection, *batch)
    assert [r.remote for r in first.invoices] == [r.remote for r in again.invoices]
    ok, ok2, refused = first.invoices
    assert ok.remote and ok2.remote and ok.remote_number == "INV-1"
    assert refused.error and refused.error.code == "no_lines" and not refused.error.retryable
    assert refused.error.support_reference  # the provider's request id, for its support
    assert [(link.kind, link.local_key) for link in first.links] == [("customer", "P-1")]
    # Retried after a crash, with the remote already known: still nothing new.
    retried = await push(call, connection, make_invoice(1, remote=ok.remote))
    assert retried.invoices[0].remote == ok.remote
    token = await connection.access_token()
    listed = await http.get("/v1/ledgers/ledger-1/invoices", headers={"Authorization":
                                                                        f"Bearer {token}"})
    assert sorted(i["number"] for i in listed.json()["invoices"]) == ["INV-1", "INV-2"]


async def test_signed_webhook_is_accepted(
    call: Any, http: httpx.AsyncClient, connection: hub.ConnectionContext
) -> None:
    [result] = (await push(call, connection, make_invoice(1))).invoices
    [event] = await webhook_events(call, http, connection)
    assert (event.external_account_id, event.entity, event.entity_id, event.operation) == (
        "ledger-1", "invoice", result.remote.remote_id, "create")
    assert event.occurred_at.tzinfo is not None


@pytest.mark.parametrize("signature", [None, "", "0" * 64, "é"])
async def test_missing_or_wrong_signature_is_401(
    call: Any, connection: hub.ConnectionContext, signature: str | None
) -> None:
    with pytest.raises(WebhookRejected) as caught:
        call("handle_webhook", delivery=delivery(connection, b'{"events": []}', signature))
    assert caught.value.status_code == 401


async def test_tampered_bytes_are_401(call: Any, connection: hub.ConnectionContext) -> None:
    body = b'{"events": [], "note": "x"}'
    # The same JSON with other bytes fails too: the signature covers the raw body.
    for tampered in (body.replace(b"x", b"y"), body.replace(b": ", b":")):
        with pytest.raises(WebhookRejected) as caught:
            call("handle_webhook", delivery=delivery(connection, tampered, sign(connection, body)))
        assert caught.value.status_code == 401
    assert call("handle_webhook", delivery=delivery(connection, body, sign(connection, body))) == []


@pytest.mark.parametrize(
    "body", [b"not json", b"[]", b'{"events": [{"entity": "invoice"}]}', b"\xff\xfe"]
)
async def test_malformed_body_is_400(
    call: Any, connection: hub.ConnectionContext, body: bytes
) -> None:
    with pytest.raises(WebhookRejected) as caught:
        call("handle_webhook", delivery=delivery(connection, body, sign(connection, body)))
    assert caught.value.status_code == 400


async def test_push_invoice_change_retries_a_conflict_then_voids(
    call: Any, http: httpx.AsyncClient, connection: hub.ConnectionContext
) -> None:
    [pushed] = (await push(call, connection, make_invoice(1))).invoices
    assert pushed.remote is not None
    # An accountant records a payment meanwhile: our version "1" is now stale.
    await pay(http, pushed.remote, "50")
    edited = make_invoice(1, memo="corrected")
    outcome = await call("push_invoice_change", ctx=connection, invoice=edited, link=pushed.remote)
    assert outcome.remote.remote_version == "3"
    voided = await call("push_invoice_change", ctx=connection,
                        invoice=make_invoice(1, voided=True), link=outcome.remote)
    [update] = await call("apply_changes", ctx=connection,
                          events=(await webhook_events(call, http, connection))[-1:])
    assert (update.status, update.remote_version) == ("void", voided.remote.remote_version)


async def test_apply_changes_reads_payments_and_deletions(
    call: Any, http: httpx.AsyncClient, connection: hub.ConnectionContext
) -> None:
    first, second = (await push(call, connection, make_invoice(1), make_invoice(2))).invoices
    await pay(http, first.remote, "50")
    token = await connection.access_token()
    await http.delete(f"/v1/ledgers/ledger-1/invoices/{second.remote.remote_id}",
                      headers={"Authorization": f"Bearer {token}"})
    events = await webhook_events(call, http, connection)
    paid, deleted = await call("apply_changes", ctx=connection, events=events)
    assert (paid.status, paid.amount_paid, paid.balance) == (
        "partially_paid", Decimal("50"), Decimal("150.28"))
    assert paid.remote_version == "2" and paid.remote_updated_at is not None
    assert (deleted.remote_id, deleted.deleted) == (second.remote.remote_id, True)


async def test_pull_changes_pages_and_matches_webhook_keys(
    call: Any, http: httpx.AsyncClient, connection: hub.ConnectionContext
) -> None:
    since = dt.datetime.now(dt.UTC)
    await push(call, connection, *(make_invoice(n) for n in range(1, 4)))
    changes = await call("pull_changes", ctx=connection, since=since)  # 3 changes, 2 a page
    webhooks = await webhook_events(call, http, connection)
    assert [e.dedupe_key for e in changes.events] == [e.dedupe_key for e in webhooks]
    assert len(changes.events) == 3 and changes.cursor >= since
    later = await call("pull_changes", ctx=connection, since=changes.cursor)
    assert later.events == ()


async def test_expired_token_is_refreshed_and_revoked_access_raises(
    call: Any, http: httpx.AsyncClient, connection: hub.ConnectionContext
) -> None:
    await http.post("/_emulator/expire-tokens")
    assert (await push(call, connection, make_invoice(1))).invoices[0].remote is not None

    async def refused(force_refresh: bool = False) -> str:
        return "revoked-token"

    revoked = hub.ConnectionContext(**{**connection.__dict__, "access_token": refused})
    with pytest.raises(AuthRevoked):
        await push(call, revoked, make_invoice(2))


@pytest.mark.parametrize(("status", "error"), [
    (401, AuthRevoked), (409, Conflict), (422, Rejected), (429, RateLimited), (503, Transient),
])
def test_error_answers_map_to_hub_errors(status: int, error: type[Exception]) -> None:
    headers = {"x-request-id": "req-9", "retry-after": "7"}
    response = httpx.Response(status, headers=headers, json={"error": {"code": "c", "message":
                                                                       "m"}})
    with pytest.raises(error) as caught:
        check(response)
    assert getattr(caught.value, "support_reference", None) == "req-9"
    assert getattr(caught.value, "retry_after", 7.0) == 7.0


async def test_mapping_suggests_a_rate_per_treatment_by_its_rate(
    call: Any, connection: hub.ConnectionContext
) -> None:
    choices = await call("mapping_choices", ctx=connection)
    suggested = {field.key: field.suggested for field in choices.fields}
    # Two 0% rates: the GST-free one, not "BAS Excluded", is suggested.
    assert suggested == {"tax.gst": "tr-10", "tax.gst_free": "tr-0"}


async def test_gst_lines_are_taxed_and_the_totals_come_back(
    call: Any, connection: hub.ConnectionContext
) -> None:
    gst = hub.LinePayload("Report", "15_622", Decimal("1"), Decimal("193.99"), tax="gst")
    invoice = make_invoice(1, lines=(make_invoice(0).lines[0], gst))
    result = (await push(call, connection, invoice)).invoices[0]
    assert result.totals == hub.InvoiceTotals(Decimal("394.27"), Decimal("19.40"),
                                              Decimal("413.67"))
    assert result.totals.tax == invoice.tax and result.totals.total == invoice.total


async def test_the_check_holds_what_would_be_refused(
    call: Any, connection: hub.ConnectionContext
) -> None:
    unmapped = dataclasses.replace(connection, mapping={"tax.gst_free": "tr-0"})
    gst = hub.LinePayload("Report", "15_622", Decimal("1"), Decimal("193.99"), tax="gst")
    batch = hub.BatchPayload(id=1, reference="r", invoices=(
        make_invoice(1), make_invoice(2, lines=(gst,)), make_invoice(3, number="N" * 51),
    ))
    problems = await call("check_batch", ctx=unmapped, batch=batch)
    assert [(p.invoice_id, p.code, p.fix_in) for p in problems] == [
        (2, "tax_rate_not_mapped", "mapping"), (3, "number_too_long", "invoice"),
    ]
