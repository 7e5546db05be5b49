"""The plugin end to end against the QuickBooks emulator on a real socket.

Connects through the emulator's OAuth server with plain httpx (auto consent), pushes
a 65-invoice batch twice, voids one invoice, records payments as an accountant would,
reads the results back through apply_changes and pull_changes, and verifies the
emulator's signed webhooks with handle_webhook.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from decimal import Decimal
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from hub_quickbooks import plugin
from hub_quickbooks.emulator import create_app
from hub_quickbooks.mapping import line_amount
from plugin_support import invoice, participant, plugin_config

from hub.servers import serve_in_thread
from hub.types import (
    AuthorizeContext,
    BatchPayload,
    CallbackContext,
    ChangeEvent,
    ConnectionContext,
    LinePayload,
    RemoteRef,
    TokenSet,
    WebhookDelivery,
)

CLIENT_ID = "ABhubplugintest00000000000000000000000000000000000"
CLIENT_SECRET = "hubpluginsecret000000000000000000000000"
REDIRECT_URI = "http://127.0.0.1:8000/integrations/quickbooks/callback"
VERIFIER = "plugin-test-verifier"
PEOPLE = [
    participant("P-001", "Alex Chen", "alex@example.com"),
    participant("P-002", "Alex Chen"),
    participant("P-003", "Sam O'Brien", "sam@example.com"),
    participant("P-004", "Priya Natarajan"),
]
TRAVEL = LinePayload("Provider travel", "07_799_0106_8_3", Decimal("12.5"), Decimal("0.97"))


class WebhookInbox:
    """A tiny ASGI receiver that keeps every delivery's exact bytes and headers."""

    def __init__(self) -> None:
        self.deliveries: list[tuple[dict[str, str], bytes]] = []
        self.arrived = threading.Event()

    async def __call__(self, scope, receive, send) -> None:  # type: ignore[no-untyped-def]
        if scope["type"] != "http":
            return
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        self.deliveries.append((headers, body))
        self.arrived.set()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})


@dataclass
class Connected:
    base_url: str
    realm_id: str
    tokens: TokenSet
    inbox: WebhookInbox
    #: What the host keeps after connecting: the plugin's suggested mapping and facts.
    mapping: dict[str, str] = field(default_factory=dict)
    facts: dict[str, str] = field(default_factory=dict)

    def stats(self) -> dict:
        return httpx.get(f"{self.base_url}/_emulator/stats", timeout=10).json()

    def count(self, entity: str) -> int:
        return int(self.stats()["objects"].get(self.realm_id, {}).get(entity, 0))


def exchange(base_url: str):
    async def exchange_code(code: str) -> TokenSet:
        async with httpx.AsyncClient(timeout=10) as http:
            response = await http.post(
                f"{base_url}/oauth2/v1/tokens/bearer",
                auth=(CLIENT_ID, CLIENT_SECRET),
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": REDIRECT_URI,
                },
                headers={"Accept": "application/json"},
            )
        response.raise_for_status()
        body = response.json()
        return TokenSet(
            access_token=body["access_token"],
            refresh_token=body["refresh_token"],
            expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=body["expires_in"]),
        )

    return exchange_code


@pytest.fixture(scope="module")
def emulator() -> Iterator[Connected]:
    inbox = WebhookInbox()
    with serve_in_thread(inbox) as inbox_url:
        app = create_app(
            auto_consent=True,
            webhook_url=f"{inbox_url}/webhooks/quickbooks",
            verifier_token=VERIFIER,
            limits=False,  # the host's limiter paces real pushes; it is not in this test
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            redirect_uris=[REDIRECT_URI],
        )
        with serve_in_thread(app) as base_url:
            connected = asyncio.run(connect(base_url, inbox))
            # As the host does right after connecting: the suggestions become the mapping.
            choices = hook(connected, "mapping_choices")
            connected.mapping = {
                f.key: f.suggested for f in choices.fields if f.suggested is not None
            }
            connected.facts = dict(choices.facts)
            yield connected


async def connect(base_url: str, inbox: WebhookInbox) -> Connected:
    config = plugin_config(
        CLIENT_ID=CLIENT_ID, CLIENT_SECRET=CLIENT_SECRET, ENVIRONMENT=base_url
    )
    info = plugin.integration_info(config=config)
    redirect = await plugin.authorize(
        ctx=AuthorizeContext(
            config=config,
            info=info,
            state="state-123",
            redirect_uri=REDIRECT_URI,
            client_id=CLIENT_ID,
            scopes=info.oauth.scopes,
        )
    )
    async with httpx.AsyncClient(timeout=10) as http:
        consent = await http.get(redirect.url)
        assert consent.status_code in (302, 303), consent.text
        params = dict(parse_qsl(urlsplit(consent.headers["location"]).query))
        assert params["state"] == "state-123"
        account = await plugin.callback(
            ctx=CallbackContext(
                config=config,
                info=info,
                params=params,
                redirect_uri=REDIRECT_URI,
                exchange_code=exchange(base_url),
                http=http,
            )
        )
    assert account.environment == "sandbox"
    assert account.display_name  # the company's name, read from companyinfo
    return Connected(base_url, account.external_account_id, account.tokens, inbox)


def hook(emulator: Connected, name: str, *args, links=None):
    config = plugin_config(
        CLIENT_ID=CLIENT_ID,
        CLIENT_SECRET=CLIENT_SECRET,
        ENVIRONMENT=emulator.base_url,
        WEBHOOK_VERIFIER_TOKEN=VERIFIER,
    )

    async def access_token(*, force_refresh: bool = False) -> str:
        return emulator.tokens.access_token

    async def go():
        async with httpx.AsyncClient(timeout=30) as http:
            ctx = ConnectionContext(
                config=config,
                info=plugin.integration_info(config=config),
                connection_id=1,
                external_account_id=emulator.realm_id,
                environment="sandbox",
                access_token=access_token,
                http=http,
                links=links or {},
                mapping=emulator.mapping,
                account_facts=emulator.facts,
            )
            return await getattr(plugin, name)(ctx, *args)

    return asyncio.run(go())


def batch_of(count: int) -> BatchPayload:
    invoices = []
    for n in range(1, count + 1):
        first = invoice(0, PEOPLE[0]).lines[0]
        invoices.append(
            invoice(n, PEOPLE[n % len(PEOPLE)], lines=(first, TRAVEL) if n % 5 == 0 else None)
        )
    return BatchPayload(id=1, reference="2026-11 fortnight 2", invoices=tuple(invoices))


@pytest.fixture(scope="module")
def pushed(emulator: Connected):
    batch = batch_of(65)
    result = hook(emulator, "sync_batch", batch)
    links = {(link.kind, link.local_key): link.remote for link in result.links}
    return batch, result, links


def test_a_65_invoice_batch_lands_exactly_once(emulator: Connected, pushed):
    batch, result, links = pushed

    assert [r.error for r in result.invoices] == [None] * 65
    assert emulator.count("Invoice") == 65
    assert {r.remote_number for r in result.invoices} == {inv.number for inv in batch.invoices}
    assert len({r.remote.remote_id for r in result.invoices if r.remote}) == 65
    assert {key for key in links if key[0] == "customer"} == {
        ("customer", p.id) for p in PEOPLE
    }
    assert ("item", TRAVEL.item_code) in links


def test_pushing_again_duplicates_nothing(emulator: Connected, pushed):
    batch, first, links = pushed
    customers = emulator.count("Customer")

    with_links = hook(emulator, "sync_batch", batch, links=links)
    without_links = hook(emulator, "sync_batch", batch)

    assert emulator.count("Invoice") == 65
    assert emulator.count("Customer") == customers
    assert [r.remote.remote_id for r in with_links.invoices if r.remote] == [
        r.remote.remote_id for r in first.invoices if r.remote
    ]
    assert [r.remote for r in without_links.invoices] == [r.remote for r in with_links.invoices]


def test_void_then_payments_come_back_as_updates(emulator: Connected, pushed):
    batch, result, links = pushed
    voided, part_paid, fully_paid = result.invoices[0], result.invoices[1], result.invoices[2]
    assert voided.remote and part_paid.remote and fully_paid.remote

    outcome = hook(
        emulator,
        "push_invoice_change",
        replace(batch.invoices[0], voided=True),
        voided.remote,
        links=links,
    )
    assert outcome.error is None and outcome.remote is not None
    assert outcome.remote.remote_version != voided.remote.remote_version

    total = batch.invoices[1].total
    pay = f"{emulator.base_url}/_emulator/companies/{emulator.realm_id}/invoices"
    paid = httpx.post(f"{pay}/{part_paid.remote.remote_id}/payments", json={"amount": "50.00"})
    assert paid.status_code == 201, paid.text
    payment = paid.json().get("Payment", paid.json())
    full = httpx.post(
        f"{pay}/{fully_paid.remote.remote_id}/payments",
        json={"amount": str(batch.invoices[2].total)},
    )
    assert full.status_code == 201, full.text

    now = dt.datetime.now(dt.UTC)
    events = [
        ChangeEvent(emulator.realm_id, "Invoice", voided.remote.remote_id, "void", now, "k1"),
        ChangeEvent(emulator.realm_id, "Payment", str(payment["Id"]), "create", now, "k2"),
        ChangeEvent(emulator.realm_id, "Invoice", fully_paid.remote.remote_id, "update", now, "k3"),
    ]
    updates = {u.remote_id: u for u in hook(emulator, "apply_changes", events)}

    assert updates[voided.remote.remote_id].status == "void"
    partial = updates[part_paid.remote.remote_id]
    assert partial.status == "partially_paid"
    assert partial.amount_paid == Decimal("50.00")
    assert partial.balance == total - Decimal("50.00")
    assert updates[fully_paid.remote.remote_id].status == "paid"
    assert updates[fully_paid.remote.remote_id].balance == Decimal("0")

    changes = hook(emulator, "pull_changes", now - dt.timedelta(hours=1))
    changed = {(e.entity, e.entity_id) for e in changes.events}
    assert ("Invoice", part_paid.remote.remote_id) in changed
    assert ("Invoice", voided.remote.remote_id) in changed
    assert changes.cursor.tzinfo is not None


def test_an_edit_is_pushed_as_a_sparse_update(emulator: Connected, pushed):
    batch, result, links = pushed
    target = result.invoices[10]
    assert target.remote is not None

    edited = replace(batch.invoices[10], memo="Corrected hours", lines=(TRAVEL,))
    outcome = hook(emulator, "push_invoice_change", edited, target.remote, links=links)

    assert outcome.error is None and outcome.remote is not None
    [update] = hook(
        emulator,
        "apply_changes",
        [
            ChangeEvent(
                emulator.realm_id,
                "Invoice",
                target.remote.remote_id,
                "update",
                dt.datetime.now(dt.UTC),
                "k4",
            )
        ],
    )
    assert update.total == line_amount(TRAVEL)
    assert update.remote_version == outcome.remote.remote_version


def test_the_emulators_webhooks_verify_and_parse(emulator: Connected, pushed):
    assert emulator.inbox.arrived.wait(10), "no webhook arrived"
    config = plugin_config(WEBHOOK_VERIFIER_TOKEN=VERIFIER)
    events = []
    for headers, body in list(emulator.inbox.deliveries):
        events.extend(
            plugin.handle_webhook(
                WebhookDelivery(
                    config=config,
                    headers=headers,
                    body=body,
                    received_at=dt.datetime.now(dt.UTC),
                )
            )
        )
    assert events
    assert {e.external_account_id for e in events} == {emulator.realm_id}
    assert any(e.entity == "Invoice" and e.operation == "create" for e in events)


def test_a_stale_link_version_is_re_read(emulator: Connected, pushed):
    batch, result, links = pushed
    target = result.invoices[20]
    assert target.remote is not None
    stale = RemoteRef(target.remote.remote_id, "0")
    first = replace(batch.invoices[20], memo="one")
    hook(emulator, "push_invoice_change", first, stale, links=links)

    outcome = hook(
        emulator, "push_invoice_change", replace(batch.invoices[20], memo="two"), stale, links=links
    )

    assert outcome.error is None and outcome.remote is not None
    assert int(outcome.remote.remote_version or 0) >= 2


def test_the_mapping_is_read_in_one_request_and_chosen_by_rate(emulator):
    before = emulator.stats()["metered"][emulator.realm_id]["coreplus"]
    choices = hook(emulator, "mapping_choices")
    after = emulator.stats()["metered"][emulator.realm_id]["coreplus"]

    assert after - before == 1  # one batch of queries: one metered call
    fields = {f.key: f for f in choices.fields}
    labels = {o.value: o.label for o in fields["tax.gst"].options}
    assert labels[fields["tax.gst"].suggested] == "GST"
    assert labels[fields["tax.gst_free"].suggested] == "GST-free"
    # Purchases-only codes cannot go on a sales line, so they are not offered.
    assert "GST on non-capital" not in labels.values()
    assert choices.facts["home_currency"] == "AUD"
    assert choices.facts["tax_model"] == "global"
