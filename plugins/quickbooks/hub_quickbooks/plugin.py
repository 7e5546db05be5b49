"""The QuickBooks Online plugin: the hub's hooks, implemented for QuickBooks.

Each hook is a thin shell: the work lives in the modules it calls, which take a
:class:`~hub_quickbooks.client.QuickBooksClient` and can be tested on their own.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

import httpx

from hub import (
    AuthorizationRedirect,
    AuthorizeContext,
    BatchPayload,
    BatchSyncResult,
    CallbackContext,
    ChangeEvent,
    ChangeSet,
    ConnectedAccount,
    ConnectionContext,
    EmulatorOptions,
    IntegrationInfo,
    InvoicePayload,
    InvoiceProblem,
    InvoiceUpdate,
    MappingChoices,
    PluginConfig,
    RemoteRef,
    SyncOutcome,
    TokenSet,
    WebhookDelivery,
    hookimpl,
)
from hub.errors import Rejected, Transient
from hub_quickbooks import changes, checks, choices, info, sync, updates, webhooks
from hub_quickbooks.client import AccessToken, QuickBooksClient
from hub_quickbooks.company_setup import read_setup
from hub_quickbooks.environment import resolve
from hub_quickbooks.profile import profile_of

log = logging.getLogger(__name__)

_REALM_ID = re.compile(r"^\d{1,20}$")


@hookimpl
def integration_info(config: PluginConfig) -> IntegrationInfo:
    """Describe QuickBooks Online; works with no configuration at all (sandbox)."""
    return info.integration_info(config)


@hookimpl
async def authorize(ctx: AuthorizeContext) -> AuthorizationRedirect:
    """Intuit's authorize URL, with the parameters in the order intuit-oauth sends them."""
    params = {
        "client_id": ctx.client_id,
        "response_type": "code",
        "scope": " ".join(ctx.scopes),
        "redirect_uri": ctx.redirect_uri,
        "state": ctx.state,
    }
    if ctx.code_challenge:
        params["code_challenge"] = ctx.code_challenge
        params["code_challenge_method"] = "S256"
    return AuthorizationRedirect(url=f"{ctx.info.oauth.authorize_url}?{urlencode(params)}")


@hookimpl
async def callback(ctx: CallbackContext) -> ConnectedAccount:
    """Exchange the code, then read the company's name for the listing."""
    realm_id = (ctx.params.get("realmId") or "").strip()
    if not realm_id:
        raise Rejected(
            "QuickBooks did not say which company was connected (no realmId came back). "
            "Start the connection again from Manage Integrations.",
            code="missing_realm_id",
        )
    if not _REALM_ID.match(realm_id):
        raise Rejected(
            "QuickBooks sent a company id that is not a number. Start the connection again "
            "from Manage Integrations.",
            code="invalid_realm_id",
        )
    code = (ctx.params.get("code") or "").strip()
    if not code:
        raise Rejected(
            "QuickBooks did not send an authorization code back. Start the connection "
            "again from Manage Integrations.",
            code="missing_code",
        )
    endpoints = resolve(ctx.config)
    try:
        tokens = await ctx.exchange_code(code)
    except httpx.RequestError as err:
        raise Transient(
            "Could not reach QuickBooks to finish connecting; try again in a minute."
        ) from err
    client = QuickBooksClient(
        ctx.http,
        api_base=endpoints.api_base,
        realm_id=realm_id,
        access_token=_fixed_token(tokens),
        can_refresh=False,
    )
    company = await client.read("CompanyInfo", realm_id, subject="the company's details")
    name = str(company.get("CompanyName") or company.get("LegalName") or "").strip()
    return ConnectedAccount(
        external_account_id=realm_id,
        display_name=name or f"QuickBooks company {realm_id}",
        environment=endpoints.environment,
        tokens=tokens,
    )


@hookimpl
def handle_webhook(delivery: WebhookDelivery) -> Sequence[ChangeEvent]:
    """Verify ``intuit-signature`` over the exact bytes, then parse either format."""
    return webhooks.handle(delivery)


@hookimpl
async def mapping_choices(ctx: ConnectionContext) -> MappingChoices:
    """Tax codes, income accounts and customer naming, read in one batch request."""
    client = QuickBooksClient.for_connection(ctx)
    return choices.mapping_choices(await read_setup(client))


@hookimpl
async def check_batch(ctx: ConnectionContext, batch: BatchPayload) -> Sequence[InvoiceProblem]:
    """Numbers, currencies, tax codes, income account and inactive customers."""
    client = QuickBooksClient.for_connection(ctx)
    return await checks.check_batch(client, profile_of(ctx), ctx.links, batch)


@hookimpl
async def sync_batch(ctx: ConnectionContext, batch: BatchPayload) -> BatchSyncResult:
    """Push a batch: customers and items found or created, invoices created once."""
    client = QuickBooksClient.for_connection(ctx)
    return await sync.push_batch(
        client, ctx.links, batch, today=_today(), profile=profile_of(ctx)
    )


@hookimpl
async def apply_changes(
    ctx: ConnectionContext, events: Sequence[ChangeEvent]
) -> Sequence[InvoiceUpdate]:
    """Read the invoices (and payments) that changed and report their state."""
    client = QuickBooksClient.for_connection(ctx)
    return await changes.apply(client, events)


@hookimpl
async def push_invoice_change(
    ctx: ConnectionContext, invoice: InvoicePayload, link: RemoteRef
) -> SyncOutcome:
    """Void the remote invoice, or update it sparsely; one retry on a stale SyncToken."""
    client = QuickBooksClient.for_connection(ctx)
    return await updates.push_change(
        client, ctx.links, invoice, link, today=_today(), profile=profile_of(ctx)
    )


@hookimpl
async def pull_changes(ctx: ConnectionContext, since: dt.datetime) -> ChangeSet:
    """Invoice and Payment changes from QuickBooks' change data capture."""
    client = QuickBooksClient.for_connection(ctx)
    return await changes.pull(client, since, now=dt.datetime.now(dt.UTC))


@hookimpl
def provider_emulator(options: EmulatorOptions) -> Any:
    """The local QuickBooks emulator, as an ASGI app."""
    # Imported here: the emulator is only needed by tests, benchmarks and the demo.
    from hub_quickbooks.emulator import create_app

    return create_app(
        auto_consent=options.auto_consent,
        webhook_url=options.webhook_url,
        verifier_token=options.verifier_token,
        **dict(options.extra),
    )


def _fixed_token(tokens: TokenSet) -> AccessToken:
    # Tokens fresh from the exchange: there is nothing to refresh yet.
    async def access_token(*, force_refresh: bool = False) -> str:
        return tokens.access_token

    return access_token


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()
