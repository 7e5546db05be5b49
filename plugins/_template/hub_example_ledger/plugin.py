"""Example Ledger for the Integration Hub: every hook of the plugin contract.

Example Ledger is a fictional provider; ``emulator.py`` stands in for its servers.
Each ``# TODO`` marks a fact to replace with your provider's.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import hub
from hub import hookimpl
from hub.errors import Rejected, StartupError, WebhookRejected
from hub.types import ChangeOperation, InvoiceStatus

from hub_example_ledger.client import LedgerApi, base_url, check, parse_time, send

log = logging.getLogger(__name__)

# TODO: your logo (an https URL or a data: URI).
LOGO = (
    "data:image/svg+xml;utf8,<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 32 32'>"
    "<rect width='32' height='32' rx='6' fill='%23355'/></svg>"
)
# TODO: how your provider names changes and invoice states.
OPERATIONS: dict[str, ChangeOperation] = {
    "created": "create", "updated": "update", "paid": "update", "voided": "void",
    "deleted": "delete",
}
STATUSES: dict[str, InvoiceStatus] = {
    "open": "open", "partially_paid": "partially_paid", "paid": "paid", "void": "void",
}
# TODO: how far back your provider's change feed reaches.
MAX_LOOKBACK = dt.timedelta(days=30)
# TODO: your provider's longest invoice number.
MAX_NUMBER = 50
#: The mapping's tax questions: treatment -> (field key, label, the rate it charges).
TAX_FIELDS: dict[hub.TaxTreatment, tuple[str, str, Decimal]] = {
    "gst": ("tax.gst", "Tax rate for lines with GST", Decimal("10")),
    "gst_free": ("tax.gst_free", "Tax rate for GST-free lines", Decimal("0")),
}


@hookimpl
def integration_info(config: hub.PluginConfig) -> hub.IntegrationInfo:
    """Describe Example Ledger: endpoints, capabilities and limits."""
    base = base_url(config)
    if not base.startswith(("https://", "http://")):
        raise StartupError(f"EXAMPLE_LEDGER_BASE_URL must be an http(s) URL, not {base!r}")
    return hub.IntegrationInfo(
        slug="example_ledger",
        name="Example Ledger",
        description="Push invoice batches to Example Ledger and follow their payments.",
        logo=LOGO,
        docs_url="https://example-ledger.example/docs",  # TODO: your provider's docs
        # TODO: your provider's OAuth endpoints, scopes, client authentication, PKCE.
        oauth=hub.OAuthEndpoints(
            authorize_url=f"{base}/oauth/authorize",
            token_url=f"{base}/oauth/token",
            revoke_url=f"{base}/oauth/revoke",
            scopes=("invoices", "customers"),
            token_auth_method="client_secret_basic",
            pkce=True,
        ),
        callback_params=("ledger_id",),
        capabilities=hub.Capabilities(webhooks=True, two_way=True, reconciliation=True),
        # TODO: your provider's published limits; the host keeps every account under them.
        rate_limits=hub.RateLimits(
            max_concurrent=5, per_minute=300, paths=(hub.PathLimit("/changes", 30),)
        ),
        environment="sandbox" if config.get("ENVIRONMENT") == "sandbox" else "production",
    )


@hookimpl
async def authorize(ctx: hub.AuthorizeContext) -> hub.AuthorizationRedirect:
    """The consent page URL, with the state and PKCE challenge the host made."""
    # TODO: the query parameters your provider's consent page expects.
    query = {
        "response_type": "code",
        "client_id": ctx.client_id,
        "redirect_uri": ctx.redirect_uri,
        "scope": " ".join(ctx.scopes),
        "state": ctx.state,
    }
    if ctx.code_challenge:
        query |= {"code_challenge": ctx.code_challenge, "code_challenge_method": "S256"}
    return hub.AuthorizationRedirect(url=f"{ctx.info.oauth.authorize_url}?{urlencode(query)}")


@hookimpl
async def callback(ctx: hub.CallbackContext) -> hub.ConnectedAccount:
    """Exchange the code and read the connected ledger's name."""
    code, ledger_id = ctx.params.get("code"), ctx.params.get("ledger_id")
    if not code or not ledger_id:
        raise Rejected(
            "Example Ledger sent no code or ledger_id back; try connecting again.",
            code="bad_callback",
        )
    tokens = await ctx.exchange_code(code)
    url = f"{base_url(ctx.config)}/v1/ledgers/{ledger_id}"
    ledger = check(await send(ctx.http, "GET", url, tokens.access_token)).json()
    return hub.ConnectedAccount(
        external_account_id=ledger_id,
        display_name=str(ledger["name"]),
        environment=ctx.info.environment,
        tokens=tokens,
    )


def change_event(record: Mapping[str, Any]) -> hub.ChangeEvent | None:
    """One change record (webhook or change feed) as an event; None if not tracked."""
    operation = OPERATIONS.get(record["action"])
    if record["entity"] != "invoice" or operation is None:
        return None
    # Webhooks and the change feed carry the same version for the same change, so
    # both give one dedupe key and the host applies the change once.
    key = f"{record['ledger_id']}:invoice:{record['entity_id']}:{record['version']}"
    return hub.ChangeEvent(
        external_account_id=str(record["ledger_id"]),
        entity="invoice",
        entity_id=str(record["entity_id"]),
        operation=operation,
        occurred_at=parse_time(record["occurred_at"]),
        dedupe_key=key,
    )


@hookimpl
def handle_webhook(delivery: hub.WebhookDelivery) -> Sequence[hub.ChangeEvent]:
    """Check the HMAC signature over the raw body, then parse the events."""
    # TODO: your provider's signature scheme, header and secret.
    secret = delivery.config.get("WEBHOOK_SECRET")
    if not secret:
        raise WebhookRejected("EXAMPLE_LEDGER_WEBHOOK_SECRET is not set", status_code=401)
    expected = hmac.new(secret.encode(), delivery.body, hashlib.sha256).hexdigest()
    given = delivery.headers.get("x-example-signature", "")
    if not hmac.compare_digest(expected.encode(), given.encode()):
        raise WebhookRejected("missing or wrong x-example-signature", status_code=401)
    try:
        records = json.loads(delivery.body)["events"]
        events = [change_event(record) for record in records]
    except (ValueError, KeyError, TypeError) as err:
        raise WebhookRejected(f"unreadable webhook body: {err!r}", status_code=400) from err
    return [event for event in events if event is not None]


@hookimpl
async def mapping_choices(ctx: hub.ConnectionContext) -> hub.MappingChoices:
    """The ledger's tax rates, and the one suggested for each treatment by its rate."""
    rates = (await LedgerApi(ctx).call("GET", "/tax-rates")).json()["tax_rates"]
    options = tuple(
        hub.MappingOption(r["id"], r["name"], f"{r['rate']}% on sales", Decimal(r["rate"]))
        for r in rates
    )
    fields = []
    for treatment, (key, label, rate) in TAX_FIELDS.items():
        # TODO: choose by your provider's properties of a rate, never by hard-coded ids.
        fitting = [o for o in options if o.rate == rate]
        if len(fitting) > 1:
            fitting = [o for o in fitting if treatment == "gst" or "free" in o.label.lower()]
        suggested = fitting[0].value if len(fitting) == 1 else None
        fields.append(hub.MappingField(key, label, options, suggested=suggested,
                                       treatment=treatment, expected_rate=rate))
    return hub.MappingChoices(fields=tuple(fields))


@hookimpl
async def check_batch(
    ctx: hub.ConnectionContext, batch: hub.BatchPayload
) -> Sequence[hub.InvoiceProblem]:
    """Hold invoices Example Ledger would refuse: numbers too long, tax rates not chosen."""
    problems = []
    for invoice in batch.invoices:
        keys = {line.tax: TAX_FIELDS[line.tax][0] for line in invoice.lines}
        missing = sorted(tax for tax, key in keys.items() if key not in ctx.mapping)
        if len(invoice.number) > MAX_NUMBER:
            problems.append(hub.InvoiceProblem(
                invoice.id, "number_too_long",
                f"The invoice number {invoice.number} is longer than Example Ledger allows "
                f"({MAX_NUMBER} characters). Give it a shorter number in Coordinoter.",
                fix_in="invoice",
            ))
        elif missing:
            problems.append(hub.InvoiceProblem(
                invoice.id, "tax_rate_not_mapped",
                f"Choose the Example Ledger tax rate for {' and '.join(missing)} lines on the "
                f"mapping page; invoice {invoice.number} is then sent by itself.",
                fix_in="mapping",
            ))
    return problems


def invoice_body(
    invoice: hub.InvoicePayload, customer_id: str, mapping: Mapping[str, str]
) -> dict[str, Any]:
    """The provider's JSON for an invoice (amounts as decimal strings)."""
    # TODO: map to your provider's invoice fields.
    return {
        "number": invoice.number,
        "customer_id": customer_id,
        "issue_date": invoice.issue_date.isoformat(),
        "due_date": invoice.due_date.isoformat(),
        "currency": invoice.currency,
        "memo": invoice.memo,
        "lines": [
            {"description": line.description, "item_code": line.item_code,
             "quantity": str(line.quantity), "unit_price": str(line.unit_price),
             "tax_rate_id": mapping.get(TAX_FIELDS[line.tax][0])}
            for line in invoice.lines
        ],
    }


def invoice_update(remote: Mapping[str, Any]) -> hub.InvoiceUpdate:
    """The provider's invoice as an update of the local one."""
    return hub.InvoiceUpdate(
        remote_id=str(remote["id"]),
        status=STATUSES.get(remote["status"], "open"),
        amount_paid=Decimal(remote["amount_paid"]),
        balance=Decimal(remote["balance"]),
        total=Decimal(remote["total"]),
        remote_version=str(remote["version"]),
        remote_updated_at=parse_time(remote["updated_at"]),
    )


def invoice_totals(remote: Mapping[str, Any]) -> hub.InvoiceTotals:
    """The invoice's amounts as Example Ledger worked them out."""
    return hub.InvoiceTotals(
        Decimal(remote["subtotal"]), Decimal(remote["tax"]), Decimal(remote["total"])
    )


def _ref(remote: Mapping[str, Any]) -> hub.RemoteRef:
    return hub.RemoteRef(remote_id=str(remote["id"]), remote_version=str(remote["version"]))


async def _customer(
    api: LedgerApi, participant: hub.ParticipantPayload, known: dict[str, hub.RemoteRef],
    links: list[hub.LinkUpdate],
) -> hub.RemoteRef:
    if participant.id in known:
        return known[participant.id]
    # TODO: if your provider forgets idempotency keys, search for the customer first.
    body = {"external_ref": participant.id, "name": participant.name, "email": participant.email}
    headers = {"Idempotency-Key": f"customer-{participant.id}"}
    ref = _ref((await api.call("POST", "/customers", json=body, headers=headers)).json())
    known[participant.id] = ref
    links.append(hub.LinkUpdate(kind="customer", local_key=participant.id, remote=ref))
    return ref


@hookimpl
async def sync_batch(ctx: hub.ConnectionContext, batch: hub.BatchPayload) -> hub.BatchSyncResult:
    """Create customers and invoices; safe to repeat thanks to idempotency keys."""
    api = LedgerApi(ctx)
    known = {key: ref for (kind, key), ref in ctx.links.items() if kind == "customer"}
    links: list[hub.LinkUpdate] = []
    results: list[hub.InvoiceResult] = []
    for invoice in batch.invoices:
        try:
            if invoice.remote is not None:  # pushed before a crash: read it, never recreate
                remote = (await api.call("GET", f"/invoices/{invoice.remote.remote_id}")).json()
            else:
                customer = await _customer(api, invoice.participant, known, links)
                body = invoice_body(invoice, customer.remote_id, ctx.mapping)
                headers = {"Idempotency-Key": invoice.idempotency_key}
                remote = (await api.call("POST", "/invoices", json=body, headers=headers)).json()
        except Rejected as err:  # this record only; the others still go
            error = hub.RecordError(err.code, err.message, support_reference=err.support_reference)
            results.append(hub.InvoiceResult(invoice_id=invoice.id, error=error))
            continue
        number = remote.get("number")
        results.append(hub.InvoiceResult(invoice.id, remote=_ref(remote), remote_number=number,
                                         totals=invoice_totals(remote)))
    return hub.BatchSyncResult(invoices=tuple(results), links=tuple(links))


@hookimpl
async def push_invoice_change(
    ctx: hub.ConnectionContext, invoice: hub.InvoicePayload, link: hub.RemoteRef
) -> hub.SyncOutcome:
    """Update or void a pushed invoice, retrying once on a version conflict."""
    api = LedgerApi(ctx)
    links: list[hub.LinkUpdate] = []
    path = f"/invoices/{link.remote_id}"
    if invoice.voided:
        method, path, body = "POST", f"{path}/void", {}
    else:
        known = {key: ref for (kind, key), ref in ctx.links.items() if kind == "customer"}
        customer = await _customer(api, invoice.participant, known, links)
        method, body = "PUT", invoice_body(invoice, customer.remote_id, ctx.mapping)
    response = await api.call(method, path, json={**body, "version": link.remote_version},
                              allow=(409,))
    if response.status_code == 409:  # changed in Example Ledger since: re-read, retry once
        current = (await api.call("GET", f"/invoices/{link.remote_id}")).json()
        # A second conflict raises Conflict (from check) and the host retries later.
        response = await api.call(method, path, json={**body, "version": current["version"]})
    remote = response.json()
    totals = None if invoice.voided else invoice_totals(remote)
    return hub.SyncOutcome(remote=_ref(remote), links=tuple(links), totals=totals)


@hookimpl
async def apply_changes(
    ctx: hub.ConnectionContext, events: Sequence[hub.ChangeEvent]
) -> Sequence[hub.InvoiceUpdate]:
    """Read each changed invoice once and report its current state."""
    api = LedgerApi(ctx)
    latest = {event.entity_id: event for event in events if event.entity == "invoice"}
    updates: list[hub.InvoiceUpdate] = []
    for remote_id, event in latest.items():
        response = await api.call("GET", f"/invoices/{remote_id}", allow=(404,))
        if response.status_code == 404:
            updates.append(hub.InvoiceUpdate(
                remote_id=remote_id, status="void", amount_paid=Decimal("0"),
                balance=Decimal("0"), remote_updated_at=event.occurred_at, deleted=True,
            ))
        else:
            updates.append(invoice_update(response.json()))
    return updates


@hookimpl
async def pull_changes(ctx: hub.ConnectionContext, since: dt.datetime) -> hub.ChangeSet:
    """Page through the change feed since ``since``."""
    api = LedgerApi(ctx)
    oldest = dt.datetime.now(dt.UTC) - MAX_LOOKBACK
    if since < oldest:
        log.warning("connection %s: changes before %s are out of reach", ctx.connection_id, oldest)
        since = oldest
    params = {"since": since.isoformat()}
    events: list[hub.ChangeEvent] = []
    cursor: dt.datetime | None = None
    while True:
        page = (await api.call("GET", "/changes", params=params)).json()
        cursor = cursor or parse_time(page["as_of"])  # the provider's "now" at the first page
        events.extend(e for e in map(change_event, page["changes"]) if e is not None)
        if not page.get("next_page_token"):
            return hub.ChangeSet(events=tuple(events), cursor=cursor)
        params["page_token"] = page["next_page_token"]


@hookimpl
def provider_emulator(options: hub.EmulatorOptions) -> Any:
    """A local Example Ledger for tests and demos."""
    from hub_example_ledger.emulator import create_app  # only tests and demos need it

    return create_app(options)
