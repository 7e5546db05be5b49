"""Typed objects that cross the boundary between the host and its plugins.

Everything here is a frozen dataclass. The host builds the *context* objects and
passes them to hooks; plugins build and return the *result* objects. Plugins never
see a database session or a raw web request: only these.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from hub.tax import line_amount, line_tax

if TYPE_CHECKING:
    import httpx

Environment = Literal["sandbox", "production"]
InvoiceStatus = Literal["open", "partially_paid", "paid", "void"]
ChangeOperation = Literal["create", "update", "delete", "void", "merge", "emailed"]
#: How GST applies to an invoice line: ``gst`` (10% on top of the unit price) or
#: ``gst_free``. These are Coordinoter's words; a connection's mapping says which tax
#: code of the provider stands for each.
TaxTreatment = Literal["gst", "gst_free"]
TAX_TREATMENTS: tuple[TaxTreatment, ...] = ("gst", "gst_free")
#: Where the fix for a problem is made: the connection's mapping page, the invoice in
#: Coordinoter, or the provider's own books.
FixPlace = Literal["mapping", "invoice", "provider"]


# --- describing an integration ------------------------------------------------------


@dataclass(frozen=True)
class OAuthEndpoints:
    """Where and how a provider speaks OAuth 2.0 (authorization code grant)."""

    authorize_url: str
    token_url: str
    revoke_url: str | None = None
    scopes: tuple[str, ...] = ()
    #: How the client authenticates at the token endpoint (RFC 6749 section 2.3).
    token_auth_method: Literal["client_secret_basic", "client_secret_post"] = "client_secret_basic"
    #: Whether the host should send a PKCE challenge (RFC 7636, S256).
    pkce: bool = False
    #: Name of the token-response field that says how long the refresh token lives,
    #: in seconds, when the provider sends one (QuickBooks: ``x_refresh_token_expires_in``).
    refresh_expiry_field: str | None = "refresh_token_expires_in"
    #: Refresh this long before the access token expires.
    refresh_leeway_seconds: int = 300


@dataclass(frozen=True)
class PathLimit:
    """An extra per-minute limit for requests whose URL path matches ``pattern``."""

    pattern: str
    per_minute: int


@dataclass(frozen=True)
class RateLimits:
    """Limits the host enforces per external account, across every worker process.

    Applied by the ``http`` client the host hands to plugins, so a plugin's
    requests simply wait their turn instead of being throttled by the provider.
    """

    max_concurrent: int = 10
    per_minute: int = 500
    per_second: int | None = None
    #: Narrower limits for some endpoints (QuickBooks: ``/batch`` at 40 a minute).
    paths: tuple[PathLimit, ...] = ()


@dataclass(frozen=True)
class Capabilities:
    """What an integration can do beyond connecting."""

    webhooks: bool = False
    two_way: bool = False
    reconciliation: bool = False


@dataclass(frozen=True)
class IntegrationInfo:
    """How an integration presents itself; returned once by ``integration_info``."""

    slug: str
    name: str
    description: str
    #: Image URL or ``data:`` URI shown in Manage Integrations.
    logo: str
    docs_url: str
    oauth: OAuthEndpoints
    #: Query parameters of the OAuth callback the host must keep (QuickBooks: realmId).
    callback_params: tuple[str, ...] = ()
    capabilities: Capabilities = field(default_factory=Capabilities)
    rate_limits: RateLimits = field(default_factory=RateLimits)
    #: Where the "help" link next to an error points.
    help_url: str | None = None
    #: The environment connections are made in ("sandbox" or "production").
    environment: Environment = "production"


#: Fields of ``IntegrationInfo`` that must be non-empty for a plugin to load.
REQUIRED_INFO_FIELDS = ("slug", "name", "description", "logo", "docs_url", "oauth")


@dataclass(frozen=True)
class PluginConfig:
    """A plugin's configuration: the environment variables named after its slug.

    For the slug ``quickbooks`` the host collects every ``QUICKBOOKS_*`` variable,
    keyed without the prefix (``CLIENT_ID``, ``WEBHOOK_VERIFIER_TOKEN`` ...).
    """

    slug: str
    values: Mapping[str, str]
    #: The hub's public URL (``HUB_BASE_URL``) without a trailing slash.
    base_url: str

    def get(self, key: str, default: str | None = None) -> str | None:
        """Return one value, or ``default`` when unset or empty."""
        value = self.values.get(key)
        return value if value else default

    @property
    def client_id(self) -> str | None:
        """The OAuth client id (``<SLUG>_CLIENT_ID``)."""
        return self.get("CLIENT_ID")

    @property
    def client_secret(self) -> str | None:
        """The OAuth client secret (``<SLUG>_CLIENT_SECRET``)."""
        return self.get("CLIENT_SECRET")


# --- connecting ------------------------------------------------------------------------


@dataclass(frozen=True)
class AuthorizeContext:
    """What the host supplies to ``authorize``."""

    config: PluginConfig
    info: IntegrationInfo
    state: str
    redirect_uri: str
    client_id: str
    scopes: tuple[str, ...]
    #: PKCE S256 challenge, when ``info.oauth.pkce`` is set.
    code_challenge: str | None = None


@dataclass(frozen=True)
class AuthorizationRedirect:
    """Where to send the browser to grant access."""

    url: str


@dataclass(frozen=True)
class TokenSet:
    """OAuth tokens as the host stores them (encrypted) and hands them out."""

    access_token: str
    refresh_token: str | None
    expires_at: dt.datetime | None
    refresh_expires_at: dt.datetime | None = None
    scope: str | None = None

    def __repr__(self) -> str:  # never print a token, not even in a traceback
        return f"TokenSet(expires_at={self.expires_at!r}, scope={self.scope!r})"


@dataclass(frozen=True)
class CallbackContext:
    """What the host supplies to ``callback``."""

    config: PluginConfig
    info: IntegrationInfo
    #: Every query parameter of the callback request (``code``, ``state``, ``realmId`` ...).
    params: Mapping[str, str]
    redirect_uri: str
    #: Exchanges the authorization code for tokens at ``info.oauth.token_url``
    #: (authlib's OAuth client over httpx, with client authentication and PKCE
    #: already applied) and returns them.
    exchange_code: Callable[[str], Awaitable[TokenSet]]
    #: An HTTP client with the host's timeouts, metrics and limits.
    http: httpx.AsyncClient


@dataclass(frozen=True)
class ConnectedAccount:
    """The outcome of a successful ``callback``."""

    external_account_id: str
    display_name: str
    environment: Environment
    tokens: TokenSet


# --- acting for a connection ------------------------------------------------------------


@dataclass(frozen=True)
class RemoteRef:
    """A remote object known to the host: its id and version (QuickBooks: SyncToken).

    ``remote_updated_at`` is when the provider last changed the object, as the
    provider reports it (QuickBooks: ``MetaData.LastUpdatedTime``). Set it on an
    invoice that ``sync_batch`` has just *created* from the host's data: the host then
    knows the provider's state at that time without reading it, and skips the
    webhook that only reports the creation (see :class:`ChangeEvent`). Leave it
    unset for an object found rather than created, whose state the host has not seen.
    """

    remote_id: str
    remote_version: str | None = None
    remote_updated_at: dt.datetime | None = None


@dataclass(frozen=True)
class ConnectionContext:
    """What every hook acting for one connection receives."""

    config: PluginConfig
    info: IntegrationInfo
    connection_id: int
    external_account_id: str
    environment: Environment
    #: Returns a valid access token; the host refreshes it when needed. Pass
    #: ``force_refresh=True`` after the provider answered 401 to the current one.
    access_token: Callable[..., Awaitable[str]]
    #: An HTTP client with the host's timeouts, metrics and per-account limits.
    http: httpx.AsyncClient
    #: Links the host already holds, keyed by ``(kind, local_key)``; kinds are the
    #: plugin's own (QuickBooks: ``customer`` by participant id, ``item`` by item code).
    links: Mapping[tuple[str, str], RemoteRef] = field(default_factory=dict)
    #: The connection's mapping: field key -> the provider value an admin chose (or the
    #: plugin suggested), for the fields ``mapping_choices`` declared. A field with no
    #: value is absent.
    mapping: Mapping[str, str] = field(default_factory=dict)
    #: What ``mapping_choices`` last learnt about the account (``MappingChoices.facts``).
    account_facts: Mapping[str, str] = field(default_factory=dict)


# Names in the design; one shape serves all of them.
SyncContext = ConnectionContext


# --- mapping Coordinoter's words to the provider's ----------------------------------


@dataclass(frozen=True)
class MappingOption:
    """One thing of the provider's an admin may pick (a tax code, an account ...)."""

    #: What the provider calls it in references (QuickBooks: the Id). Stored as chosen.
    value: str
    #: How the provider's own screens name it.
    label: str
    #: A short description for the choice ("10% on sales").
    detail: str = ""
    #: For tax codes: the rate it charges on sales, in percent.
    rate: Decimal | None = None


@dataclass(frozen=True)
class MappingField:
    """One question of the mapping page: which of the provider's things stands for ours.

    Keys are the plugin's own, stable across versions. The host stores the chosen
    ``value`` per connection; ``suggested`` is the plugin's choice from the options'
    properties (a tax code's rate, an account's type), never from hard-coded ids, and
    is ``None`` when it cannot choose safely.
    """

    key: str
    label: str
    options: tuple[MappingOption, ...]
    help: str = ""
    suggested: str | None = None
    #: Whether pushing needs a value. A field that does not apply to this account (no
    #: GST registration, say) is not required.
    required: bool = True
    #: For a tax code field, the treatment it maps, and the rate (percent) that
    #: treatment charges in Coordinoter, so the page can warn about a mismatch.
    treatment: TaxTreatment | None = None
    expected_rate: Decimal | None = None


@dataclass(frozen=True)
class MappingChoices:
    """What ``mapping_choices`` returns: the questions, facts and notes for one account."""

    fields: tuple[MappingField, ...]
    #: Facts later hooks need (home currency, tax model ...), plain strings. The host
    #: keeps them with the mapping and hands them back as ``ctx.account_facts``.
    facts: Mapping[str, str] = field(default_factory=dict)
    #: Sentences for the mapping page, for things worth knowing about this account.
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ParticipantPayload:
    """A participant (the party billed), as the provider needs it."""

    id: str
    name: str
    email: str | None = None


@dataclass(frozen=True)
class LinePayload:
    """One invoice line; ``unit_price`` is before GST."""

    description: str
    item_code: str
    quantity: Decimal
    unit_price: Decimal
    tax: TaxTreatment = "gst_free"

    @property
    def amount(self) -> Decimal:
        """Quantity times unit price, rounded half up to cents (as QuickBooks rounds)."""
        return line_amount(self.quantity, self.unit_price)

    @property
    def tax_amount(self) -> Decimal:
        """The GST Coordinoter expects on this line: 10% of its amount, rounded per line."""
        return line_tax(self.amount, self.tax)


@dataclass(frozen=True)
class InvoicePayload:
    """One invoice to push, with the key that makes pushing it idempotent."""

    id: int
    number: str
    participant: ParticipantPayload
    issue_date: dt.date
    due_date: dt.date
    currency: str
    lines: tuple[LinePayload, ...]
    #: Stable across retries of the same push, derived from the invoice, never random;
    #: a new one after the provider has answered about it (a refusal, then a retry).
    idempotency_key: str
    memo: str | None = None
    voided: bool = False
    #: Set when this invoice was already pushed (a retry after a crash).
    remote: RemoteRef | None = None

    @property
    def subtotal(self) -> Decimal:
        """The sum of the lines, before GST."""
        return sum((line.amount for line in self.lines), Decimal("0.00"))

    @property
    def tax(self) -> Decimal:
        """The GST Coordinoter expects: each line's GST, rounded per line, summed."""
        return sum((line.tax_amount for line in self.lines), Decimal("0.00"))

    @property
    def total(self) -> Decimal:
        """What the participant owes: subtotal plus GST."""
        return self.subtotal + self.tax


@dataclass(frozen=True)
class BatchPayload:
    """An invoice batch to push."""

    id: int
    reference: str
    invoices: tuple[InvoicePayload, ...]


@dataclass(frozen=True)
class RecordError:
    """Why one record failed. ``retryable`` errors are tried again by the host.

    ``message`` is for the person who fixes it: a sentence saying what happened and
    what to do. ``provider_detail`` keeps the provider's own words (its raw fault),
    shown as a detail for support, never as the reason.
    """

    code: str
    message: str
    retryable: bool = False
    support_reference: str | None = None
    provider_detail: str | None = None
    fix_in: FixPlace | None = None


@dataclass(frozen=True)
class InvoiceTotals:
    """An invoice's amounts as the provider computed them (in the invoice's currency)."""

    subtotal: Decimal
    tax: Decimal
    total: Decimal


@dataclass(frozen=True)
class InvoiceResult:
    """The outcome of pushing one invoice: a remote ref, or an error."""

    invoice_id: int
    remote: RemoteRef | None = None
    #: The provider's human-facing number (QuickBooks: DocNumber).
    remote_number: str | None = None
    error: RecordError | None = None
    #: Subtotal, tax and total as the provider computed them, when it said.
    totals: InvoiceTotals | None = None


@dataclass(frozen=True)
class InvoiceProblem:
    """Why one invoice is held back before pushing, and where it is fixed.

    ``message`` says what is wrong and what to do, in plain words, to a person who
    knows Coordinoter and their books but not the provider's API.
    """

    invoice_id: int
    code: str
    message: str
    fix_in: FixPlace = "invoice"


@dataclass(frozen=True)
class LinkUpdate:
    """A mapping the plugin created or found (a customer, an item ...)."""

    kind: str
    local_key: str
    remote: RemoteRef


@dataclass(frozen=True)
class BatchSyncResult:
    """What ``sync_batch`` returns: one result per invoice, plus new links."""

    invoices: tuple[InvoiceResult, ...]
    links: tuple[LinkUpdate, ...] = ()


@dataclass(frozen=True)
class SyncOutcome:
    """What ``push_invoice_change`` returns."""

    remote: RemoteRef | None = None
    error: RecordError | None = None
    links: tuple[LinkUpdate, ...] = ()
    #: The invoice's amounts after the change, as the provider computed them.
    totals: InvoiceTotals | None = None
    #: The provider's human-facing number after the change, when it said.
    remote_number: str | None = None


# --- changes coming back ----------------------------------------------------------------


@dataclass(frozen=True)
class WebhookDelivery:
    """One HTTP request to ``POST /webhooks/{slug}``, exactly as received."""

    config: PluginConfig
    #: Header names in lower case.
    headers: Mapping[str, str]
    #: The exact bytes of the body: verify signatures over these, never a re-encoding.
    body: bytes
    received_at: dt.datetime


@dataclass(frozen=True)
class ChangeEvent:
    """One change in the provider, from a webhook or reconciliation.

    ``entity`` is the provider's name for the object. For an ``invoice`` (any case)
    the host matches ``entity_id`` to its invoice links and keeps ``create`` events
    from the plugin unless they may tell it something: not for an invoice it does
    not link, nor for one whose state it has seen since (the echo of its own push).
    """

    external_account_id: str
    entity: str
    entity_id: str
    operation: ChangeOperation
    occurred_at: dt.datetime
    #: Equal for deliveries of the same change; the host stores each key once.
    dedupe_key: str


@dataclass(frozen=True)
class ChangeSet:
    """What ``pull_changes`` returns: changes since a cursor and the next cursor."""

    events: tuple[ChangeEvent, ...]
    cursor: dt.datetime


@dataclass(frozen=True)
class InvoiceUpdate:
    """The state of one remote invoice to apply to the local invoice it is linked to."""

    remote_id: str
    status: InvoiceStatus
    amount_paid: Decimal
    balance: Decimal
    remote_version: str | None = None
    remote_updated_at: dt.datetime | None = None
    deleted: bool = False
    total: Decimal | None = None
    #: Subtotal, tax and total as the provider now has them, when it said.
    totals: InvoiceTotals | None = None


@dataclass(frozen=True)
class EmulatorOptions:
    """Options for ``provider_emulator``; ``extra`` holds provider-specific ones."""

    auto_consent: bool = False
    webhook_url: str | None = None
    verifier_token: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
