"""The plugin contract: every hook an integration plugin can implement.

A plugin is a module registered under the ``hub`` entry-point group; the entry
point's name is the integration's *slug*. The host calls each hook below only on
the plugin that owns the slug in question (``PluginManager.subset_hook_caller``),
so an implementation never needs to ask "is this for me?". Every hook is
``firstresult``: the owning plugin's answer is the answer.

Hooks receive frozen context objects from :mod:`hub.types` and return frozen
result objects. They never touch the database or a raw web request. Hooks that
talk to the provider are ``async def`` and use ``ctx.http`` (an
``httpx.AsyncClient`` with the host's timeouts, metrics and per-account limits)
and ``await ctx.access_token()``. The host refreshes tokens; a plugin never does.

Errors a hook raises come from :mod:`hub.errors` and tell the host what to do
next: :class:`~hub.errors.AuthRevoked`, :class:`~hub.errors.RateLimited`,
:class:`~hub.errors.Conflict`, :class:`~hub.errors.Transient`,
:class:`~hub.errors.Rejected`, :class:`~hub.errors.WebhookRejected`. Any other
exception is treated as a bug in the plugin: the job is retried with backoff and
the error is logged with its traceback.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import pluggy

from hub.types import (
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
    WebhookDelivery,
)

PROJECT_NAME = "hub"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec(firstresult=True)
def integration_info(config: PluginConfig) -> IntegrationInfo:  # type: ignore[empty-body]
    """Describe the integration: name, logo, OAuth endpoints, capabilities.

    Called once per plugin at startup, with the plugin's configuration (its
    ``<SLUG>_*`` environment variables and the hub's public URL). The result is
    validated: ``slug`` must equal the entry-point name, no two plugins may share a
    slug, and every field in :data:`hub.types.REQUIRED_INFO_FIELDS` must be set.
    A failure stops startup with an error naming the plugin.

    Must be fast and must not do network I/O. Raise
    :class:`~hub.errors.StartupError` when required configuration is missing and
    the integration cannot work at all.
    """


@hookspec(firstresult=True)
async def authorize(ctx: AuthorizeContext) -> AuthorizationRedirect:  # type: ignore[empty-body]
    """Return the provider URL to send the browser to, to grant access.

    Called when an admin clicks Connect (or Reconnect). The host has already
    created and stored ``ctx.state`` (single-use, bound to the browser session,
    organization and integration, ten-minute life), the PKCE challenge when the
    provider supports it, and the redirect URI of the host's callback route.
    Put those, ``ctx.client_id`` and ``ctx.scopes`` into the URL in the form the
    provider expects. Must not do network I/O.
    """


@hookspec(firstresult=True)
async def callback(ctx: CallbackContext) -> ConnectedAccount:  # type: ignore[empty-body]
    """Finish connecting: exchange the code and identify the external account.

    Called on ``GET /integrations/{slug}/callback`` after the host checked the
    state parameter and found no ``error`` parameter. Call
    ``await ctx.exchange_code(code)`` to obtain tokens (client authentication and
    PKCE are done by the host), read the account's display name from the
    provider, and return a :class:`~hub.types.ConnectedAccount` with the external
    account id (QuickBooks: ``realmId`` from ``ctx.params``) and the environment.

    Raise :class:`~hub.errors.Rejected` when the callback is unusable (missing
    parameters), :class:`~hub.errors.Transient` when the provider is down, and
    :class:`~hub.errors.AuthRevoked` when the provider refuses the code. The host
    turns each into a message on Manage Integrations.
    """


@hookspec(firstresult=True)
def handle_webhook(delivery: WebhookDelivery) -> Sequence[ChangeEvent]:  # type: ignore[empty-body]
    """Verify one webhook delivery and parse it into change events.

    Called on ``POST /webhooks/{slug}`` with the exact raw bytes of the body and
    the request headers (lower-case names), *before* anything is stored. Verify
    the provider's signature over ``delivery.body`` with a constant-time compare
    (``hmac.compare_digest``) first, then parse.

    Raise :class:`~hub.errors.WebhookRejected` with ``status_code=401`` for a
    missing or wrong signature and ``status_code=400`` for a body that cannot be
    parsed. Return one :class:`~hub.types.ChangeEvent` per change, each naming its
    external account, entity, id, operation, time and a dedupe key that is equal
    for repeated deliveries of the same change. Return an empty sequence for a
    valid delivery with nothing of interest.

    Synchronous and CPU-only: it runs on the request path, which must answer in
    milliseconds. No network I/O.
    """


@hookspec(firstresult=True)
async def sync_batch(ctx: ConnectionContext, batch: BatchPayload) -> BatchSyncResult:  # type: ignore[empty-body]
    """Push an invoice batch (or a slice of one) to the provider.

    Called by a job for each batch created after the connection was made, or
    pushed deliberately by an admin. Create or match what the invoices need
    (customers, items; ``ctx.links`` holds the mappings the host already knows),
    then create the invoices. Return one
    :class:`~hub.types.InvoiceResult` per invoice in ``batch.invoices`` and a
    :class:`~hub.types.LinkUpdate` for every mapping created or found.

    ``ctx.mapping`` holds the connection's mapping (see :func:`mapping_choices`):
    put the mapped tax code on every line by its ``tax`` treatment. When the provider
    reports the invoice's subtotal, tax and total on creation, return them as
    ``InvoiceResult.totals``; the host shows them and flags a difference from what
    Coordinoter expects. A refusal's ``RecordError.message`` says what happened and
    how to fix it in plain words; keep the provider's own words in
    ``provider_detail``.

    Must be idempotent: the host calls it again after a crash, timeout or retry,
    possibly for invoices the provider already created. Use each invoice's
    ``idempotency_key`` (and ``invoice.remote`` when set) so nothing is ever
    duplicated in the provider.

    A record the provider refuses gets an ``InvoiceResult`` with an ``error``
    (``retryable=False``) and does not stop the others. Raise
    :class:`~hub.errors.RateLimited`, :class:`~hub.errors.Transient` or
    :class:`~hub.errors.AuthRevoked` when the whole call should be retried or parked.
    """


@hookspec(firstresult=True)
async def mapping_choices(ctx: ConnectionContext) -> MappingChoices:  # type: ignore[empty-body]
    """Optional: list the account's choices for the connection's mapping page.

    The mapping says how Coordinoter's words become the account's: which tax code
    stands for each tax treatment, which income account new items use, how
    participants become customers. Return one :class:`~hub.types.MappingField` per
    question, with the account's options read from the provider, and a ``suggested``
    option chosen by the options' properties (a tax code's rate and purpose, an
    account's type), never by ids or constants: ids belong to each account. Leave
    ``suggested`` as ``None`` when no option fits without doubt; the host then holds
    the invoices that need the field, visibly, until an admin chooses. Mark a field
    ``required=False`` when it does not apply to this account.

    Put in ``facts`` what later hooks need to know about the account (home currency,
    tax model, settings), and in ``notes`` sentences worth showing an admin.

    Called right after a connection is made, when an admin refreshes the page's
    choices, and before a push when the host holds none. ``ctx.mapping`` holds the
    current values, if any. Reads only: must not write anything in the provider.
    Raise :class:`~hub.errors.Transient`, :class:`~hub.errors.RateLimited` or
    :class:`~hub.errors.AuthRevoked` as for any call.
    """


@hookspec(firstresult=True)
async def check_batch(  # type: ignore[empty-body]
    ctx: ConnectionContext, batch: BatchPayload
) -> Sequence[InvoiceProblem]:
    """Optional: check invoices against the mapping and the provider's rules, writing nothing.

    Called right before :func:`sync_batch`, with the same invoices and context
    (``ctx.mapping``, ``ctx.account_facts``, ``ctx.links``). Return one
    :class:`~hub.types.InvoiceProblem` for each invoice the provider would refuse or
    that would be pushed wrong: a tax treatment with no tax code mapped, a number
    longer than the provider allows, a currency the account does not use, a linked
    customer made inactive. Say what is wrong and what to do in plain words, and set
    ``fix_in`` to where the fix is made. One problem per invoice (the first that
    matters). Return an empty sequence when every invoice may go.

    The host holds those invoices as "needs attention" with the message, pushes the
    rest, and checks the held ones again when the mapping or the invoice changes, or
    when someone retries. May read from the provider (cheaply: the whole batch, not
    one request per invoice), never write.
    """


@hookspec(firstresult=True)
async def apply_changes(  # type: ignore[empty-body]
    ctx: ConnectionContext, events: Sequence[ChangeEvent]
) -> Sequence[InvoiceUpdate]:
    """Fetch what changed and translate it into updates of local invoices.

    Called by a job with events from ``handle_webhook`` or ``pull_changes`` that
    belong to this connection (already deduplicated by the host). Fetch the
    current state of each changed object from the provider (an event says only
    *that* something changed) and return an :class:`~hub.types.InvoiceUpdate` per
    affected invoice, including ``remote_version`` and ``remote_updated_at`` so the
    host never lets an older state overwrite a newer one. A deleted invoice is an
    update with ``deleted=True``. Events for entities the plugin does not track
    are ignored (return nothing for them).
    """


@hookspec(firstresult=True)
async def push_invoice_change(  # type: ignore[empty-body]
    ctx: ConnectionContext, invoice: InvoicePayload, link: RemoteRef
) -> SyncOutcome:
    """Push an edit or a void of an invoice that was already pushed.

    ``link`` holds the remote id and the version (QuickBooks: SyncToken) the host
    last saw. When ``invoice.voided`` is set, void the remote invoice; otherwise
    update it. On a version conflict re-read the remote object and retry once, or
    raise :class:`~hub.errors.Conflict`. Return the new remote version.
    """


@hookspec(firstresult=True)
async def pull_changes(ctx: ConnectionContext, since: dt.datetime) -> ChangeSet:  # type: ignore[empty-body]
    """Reconciliation: list what changed in the provider since ``since`` (UTC).

    Called periodically and after a reconnect, to catch changes whose webhooks
    were lost. Return the events and the cursor to pass next time (normally the
    provider's own notion of "now" at the time of the query). Respect the
    provider's limits on the window (QuickBooks CDC: at most 30 days back).
    """


@hookspec(firstresult=True)
def provider_emulator(options: EmulatorOptions) -> Any:
    """Optional: return an ASGI app that stands in for the provider locally.

    Used by ``hub emulator <slug>``, ``hub demo``, tests and benchmarks, so the
    host never imports a plugin's modules directly. Return ``None`` (or do not
    implement the hook) when the plugin has no emulator.
    """


#: Hooks the host calls on one plugin at a time, by slug.
PER_INTEGRATION_HOOKS = (
    "integration_info",
    "authorize",
    "callback",
    "handle_webhook",
    "mapping_choices",
    "check_batch",
    "sync_batch",
    "apply_changes",
    "push_invoice_change",
    "pull_changes",
    "provider_emulator",
)
