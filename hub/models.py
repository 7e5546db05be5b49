"""The hub's tables. The schema is created only by the Alembic migrations."""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import JSON, Field, SQLModel

from hub.db import Money, UTCDateTime, utcnow

ZERO = Decimal("0.00")


def _now_field(**kwargs: Any) -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, **kwargs)


def _time_field(**kwargs: Any) -> Any:
    return Field(default=None, sa_type=UTCDateTime, **kwargs)


def _money_field(default: Decimal = ZERO, scale: int = 2) -> Any:
    return Field(default=default, sa_type=Money(scale))


def _optional_money_field() -> Any:
    return Field(default=None, sa_type=Money(2))


class Role(enum.StrEnum):
    """What a user may do."""

    admin = "admin"
    member = "member"


class ConnectionStatus(enum.StrEnum):
    """Where a connection stands."""

    connected = "connected"
    needs_reconnect = "needs_reconnect"
    disconnected = "disconnected"


class InvoiceStatus(enum.StrEnum):
    """An invoice's payment status, as Coordinoter shows it."""

    open = "open"
    partially_paid = "partially_paid"
    paid = "paid"
    void = "void"


class BatchSyncState(enum.StrEnum):
    """Where pushing one batch to one connection stands."""

    queued = "queued"
    running = "running"
    synced = "synced"
    partially_synced = "partially_synced"
    failed = "failed"
    #: Everything settled, but some invoices are held before pushing (see LinkState).
    needs_attention = "needs_attention"
    not_synced_created_before_connection = "not_synced_created_before_connection"


class LinkState(enum.StrEnum):
    """Where one local object stands in one connection."""

    pending = "pending"
    synced = "synced"
    #: The provider refused it.
    failed = "failed"
    #: Held before pushing: the check found something to fix first (nothing was sent).
    needs_attention = "needs_attention"


class JobState(enum.StrEnum):
    """A job's life: queued -> running -> succeeded | queued (retry) | dead | parked."""

    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    dead = "dead"
    parked = "parked"


# --- people and access ------------------------------------------------------------------


class Organization(SQLModel, table=True):
    """A Coordinoter business; everything else belongs to one."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    #: The tax treatment of an invoice line that does not say (``hub.types.TaxTreatment``).
    default_tax: str = Field(default="gst_free", max_length=16)
    created_at: dt.datetime = _now_field()


class User(SQLModel, table=True):
    """A person who logs into the portal."""

    id: int | None = Field(default=None, primary_key=True)
    organization_id: int = Field(foreign_key="organization.id", index=True)
    email: str = Field(max_length=320, sa_column_kwargs={"unique": True})
    password_hash: str = Field(max_length=200)
    role: str = Field(default=Role.member.value, max_length=20)
    created_at: dt.datetime = _now_field()
    last_login_at: dt.datetime | None = _time_field()
    #: Sessions carry the value current at login; logging out bumps it, so a copy of
    #: any earlier session cookie stops working.
    session_epoch: int = 0

    @property
    def is_admin(self) -> bool:
        """Whether the user may connect and disconnect integrations."""
        return self.role == Role.admin.value


class ApiKey(SQLModel, table=True):
    """An organization's API key; only a hash of it is stored."""

    id: int | None = Field(default=None, primary_key=True)
    organization_id: int = Field(foreign_key="organization.id", index=True)
    name: str = Field(default="", max_length=200)
    prefix: str = Field(max_length=16)
    key_hash: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    created_at: dt.datetime = _now_field()
    last_used_at: dt.datetime | None = _time_field()
    revoked_at: dt.datetime | None = _time_field()


# --- connections ------------------------------------------------------------------------


class Connection(SQLModel, table=True):
    """One organization's connection to one integration."""

    __table_args__ = (
        sa.UniqueConstraint("organization_id", "integration"),
        # An external account belongs to at most one organization per integration;
        # that is how webhooks find their tenant.
        sa.Index(
            "ix_connection_account_live",
            "integration",
            "external_account_id",
            unique=True,
            sqlite_where=sa.text("status != 'disconnected'"),
            postgresql_where=sa.text("status != 'disconnected'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    organization_id: int = Field(foreign_key="organization.id", index=True)
    integration: str = Field(max_length=64)
    status: str = Field(default=ConnectionStatus.disconnected.value, max_length=32)
    external_account_id: str | None = Field(default=None, max_length=64)
    external_account_name: str | None = Field(default=None, max_length=300)
    environment: str | None = Field(default=None, max_length=20)
    access_token_enc: str | None = Field(default=None, sa_type=sa.Text)
    refresh_token_enc: str | None = Field(default=None, sa_type=sa.Text)
    access_expires_at: dt.datetime | None = _time_field()
    refresh_expires_at: dt.datetime | None = _time_field()
    scope: str | None = Field(default=None, max_length=500)
    connected_at: dt.datetime | None = _time_field()
    disconnected_at: dt.datetime | None = _time_field()
    last_refresh_at: dt.datetime | None = _time_field()
    last_error: str | None = Field(default=None, sa_type=sa.Text)
    last_error_at: dt.datetime | None = _time_field()
    support_reference: str | None = Field(default=None, max_length=100)
    #: Reconciliation cursor: the provider's time of the last complete pull.
    sync_cursor: dt.datetime | None = _time_field()
    created_at: dt.datetime = _now_field()
    updated_at: dt.datetime = _now_field()


class ConnectionMapping(SQLModel, table=True):
    """How a connection turns Coordinoter's words into the provider's, and its choices.

    ``choices`` and ``facts`` are what the plugin's ``mapping_choices`` last answered
    (kept so the page and every push need no extra calls to the provider); ``values``
    are what is in force: an admin's choices, else the plugin's suggestions.
    """

    connection_id: int = Field(foreign_key="connection.id", primary_key=True)
    values: dict[str, str] = Field(default_factory=dict, sa_type=JSON)
    choices: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    facts: dict[str, str] = Field(default_factory=dict, sa_type=JSON)
    loaded_at: dt.datetime | None = _time_field()
    changed_at: dt.datetime | None = _time_field()
    changed_by_user_id: int | None = Field(default=None, foreign_key="user.id")


class OAuthState(SQLModel, table=True):
    """A pending authorization: single-use, short-lived, bound to one browser session."""

    id: int | None = Field(default=None, primary_key=True)
    state_hash: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    session_id: str = Field(max_length=64)
    organization_id: int = Field(foreign_key="organization.id")
    user_id: int = Field(foreign_key="user.id")
    integration: str = Field(max_length=64)
    code_verifier: str | None = Field(default=None, max_length=200)
    redirect_uri: str = Field(max_length=500)
    created_at: dt.datetime = _now_field()
    expires_at: dt.datetime = Field(sa_type=UTCDateTime)
    used_at: dt.datetime | None = _time_field()


# --- the Coordinoter side -----------------------------------------------------------------


class Participant(SQLModel, table=True):
    """A person billed by the organization."""

    __table_args__ = (sa.UniqueConstraint("organization_id", "external_ref"),)

    id: int | None = Field(default=None, primary_key=True)
    organization_id: int = Field(foreign_key="organization.id", index=True)
    external_ref: str = Field(max_length=100)
    name: str = Field(max_length=200)
    email: str | None = Field(default=None, max_length=320)


class InvoiceBatch(SQLModel, table=True):
    """A set of invoices created together."""

    __table_args__ = (sa.UniqueConstraint("organization_id", "idempotency_key"),)

    id: int | None = Field(default=None, primary_key=True)
    organization_id: int = Field(foreign_key="organization.id", index=True)
    reference: str = Field(max_length=200)
    idempotency_key: str | None = Field(default=None, max_length=200)
    request_fingerprint: str | None = Field(default=None, max_length=64)
    created_at: dt.datetime = _now_field(index=True)


class Invoice(SQLModel, table=True):
    """One invoice; its status follows the accounting system's payments."""

    __table_args__ = (sa.UniqueConstraint("organization_id", "number"),)

    id: int | None = Field(default=None, primary_key=True)
    organization_id: int = Field(foreign_key="organization.id", index=True)
    batch_id: int = Field(foreign_key="invoicebatch.id", index=True)
    participant_id: int = Field(foreign_key="participant.id", index=True)
    number: str = Field(max_length=100)
    issue_date: dt.date
    due_date: dt.date
    currency: str = Field(max_length=3)
    memo: str | None = Field(default=None, max_length=4000)
    status: str = Field(default=InvoiceStatus.open.value, max_length=20)
    #: What Coordinoter expects: the lines before GST, their GST, and both together.
    subtotal: Decimal = _money_field()
    tax: Decimal = _money_field()
    total: Decimal = _money_field()
    amount_paid: Decimal = _money_field()
    balance: Decimal = _money_field()
    deleted_remotely: bool = False
    voided_at: dt.datetime | None = _time_field()
    #: Bumped on every local edit, so a push knows which version it carries.
    version: int = 1
    created_at: dt.datetime = _now_field()
    updated_at: dt.datetime = _now_field()


class InvoiceLine(SQLModel, table=True):
    """One line of an invoice."""

    id: int | None = Field(default=None, primary_key=True)
    invoice_id: int = Field(foreign_key="invoice.id", index=True)
    position: int
    description: str = Field(max_length=4000)
    item_code: str = Field(max_length=100)
    quantity: Decimal = _money_field(scale=4)
    unit_price: Decimal = _money_field(scale=4)
    #: Before GST.
    amount: Decimal = _money_field()
    #: ``hub.types.TaxTreatment``: gst or gst_free.
    tax: str = Field(default="gst_free", max_length=16)
    #: The GST Coordinoter expects on this line (rounded per line).
    tax_amount: Decimal = _money_field()


# --- sync ----------------------------------------------------------------------------------


class SyncLink(SQLModel, table=True):
    """A local object and its counterpart in one connection."""

    __table_args__ = (
        sa.UniqueConstraint("connection_id", "kind", "local_key"),
        sa.Index("ix_synclink_remote", "connection_id", "kind", "remote_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    connection_id: int = Field(foreign_key="connection.id")
    kind: str = Field(max_length=32)
    local_key: str = Field(max_length=100)
    remote_id: str | None = Field(default=None, max_length=64)
    remote_version: str | None = Field(default=None, max_length=32)
    remote_number: str | None = Field(default=None, max_length=64)
    remote_updated_at: dt.datetime | None = _time_field()
    state: str = Field(default=LinkState.pending.value, max_length=20)
    last_error: str | None = Field(default=None, sa_type=sa.Text)
    last_error_code: str | None = Field(default=None, max_length=64)
    #: The provider's own words for the last error, kept for support.
    last_error_detail: str | None = Field(default=None, sa_type=sa.Text)
    #: Where the last error is fixed: mapping, invoice or provider (``FixPlace``).
    fix_in: str | None = Field(default=None, max_length=16)
    support_reference: str | None = Field(default=None, max_length=100)
    #: An invoice's amounts as the provider computed them.
    remote_subtotal: Decimal | None = _optional_money_field()
    remote_tax: Decimal | None = _optional_money_field()
    remote_total: Decimal | None = _optional_money_field()
    attempts: int = 0
    #: The local ``Invoice.version`` last pushed, so edits are pushed exactly once.
    pushed_version: int | None = None
    synced_at: dt.datetime | None = _time_field()
    updated_at: dt.datetime = _now_field()


class BatchSync(SQLModel, table=True):
    """Pushing one batch to one connection."""

    __table_args__ = (sa.UniqueConstraint("batch_id", "connection_id"),)

    id: int | None = Field(default=None, primary_key=True)
    batch_id: int = Field(foreign_key="invoicebatch.id", index=True)
    connection_id: int = Field(foreign_key="connection.id", index=True)
    state: str = Field(max_length=48)
    total: int = 0
    synced: int = 0
    failed: int = 0
    held: int = 0
    last_error: str | None = Field(default=None, sa_type=sa.Text)
    pushed_by_user_id: int | None = Field(default=None, foreign_key="user.id")
    created_at: dt.datetime = _now_field()
    updated_at: dt.datetime = _now_field()
    finished_at: dt.datetime | None = _time_field()


class Job(SQLModel, table=True):
    """A unit of durable background work."""

    __table_args__ = (
        sa.Index("ix_job_claim", "state", "run_at"),
        sa.Index(
            "ix_job_unique_live",
            "unique_key",
            unique=True,
            sqlite_where=sa.text("state IN ('queued', 'running', 'parked')"),
            postgresql_where=sa.text("state IN ('queued', 'running', 'parked')"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=64)
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    state: str = Field(default=JobState.queued.value, max_length=20)
    connection_id: int | None = Field(default=None, foreign_key="connection.id", index=True)
    unique_key: str | None = Field(default=None, max_length=200)
    priority: int = 0
    attempts: int = 0
    max_attempts: int = 12
    run_at: dt.datetime = _now_field()
    locked_by: str | None = Field(default=None, max_length=100)
    #: Set when the job's work changed while it ran: it runs once more afterwards.
    rerun: bool = False
    lease_expires_at: dt.datetime | None = _time_field()
    last_error: str | None = Field(default=None, sa_type=sa.Text)
    created_at: dt.datetime = _now_field()
    updated_at: dt.datetime = _now_field()
    finished_at: dt.datetime | None = _time_field()


class PeriodicRun(SQLModel, table=True):
    """Marks that one periodic task was scheduled for one period (at most once)."""

    name: str = Field(primary_key=True, max_length=100)
    period: str = Field(primary_key=True, max_length=40)
    created_at: dt.datetime = _now_field()


class WebhookDelivery(SQLModel, table=True):
    """The inbox: one authentic webhook request, stored before it is answered."""

    id: int | None = Field(default=None, primary_key=True)
    integration: str = Field(max_length=64, index=True)
    #: processed (its events are stored and routed), or rejected (signed, but unusable).
    state: str = Field(default="processed", max_length=20)
    received_at: dt.datetime = _now_field(index=True)
    processed_at: dt.datetime | None = _time_field()
    event_count: int = 0
    error: str | None = Field(default=None, sa_type=sa.Text)
    body: bytes = Field(sa_type=sa.LargeBinary)


class WebhookEvent(SQLModel, table=True):
    """One change event from a webhook or reconciliation, stored once per dedupe key."""

    __table_args__ = (sa.UniqueConstraint("integration", "dedupe_key"),)

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: int | None = Field(
        default=None, foreign_key="webhookdelivery.id", ondelete="SET NULL"
    )
    integration: str = Field(max_length=64)
    connection_id: int | None = Field(default=None, foreign_key="connection.id", index=True)
    external_account_id: str = Field(max_length=64)
    entity: str = Field(max_length=64)
    entity_id: str = Field(max_length=64)
    operation: str = Field(max_length=20)
    occurred_at: dt.datetime = Field(sa_type=UTCDateTime)
    dedupe_key: str = Field(max_length=300)
    source: str = Field(default="webhook", max_length=20)
    state: str = Field(default="pending", max_length=20, index=True)
    error: str | None = Field(default=None, sa_type=sa.Text)
    created_at: dt.datetime = _now_field()
    processed_at: dt.datetime | None = _time_field()


class Activity(SQLModel, table=True):
    """What the user sees in an integration's history."""

    id: int | None = Field(default=None, primary_key=True)
    organization_id: int = Field(foreign_key="organization.id", index=True)
    connection_id: int | None = Field(default=None, foreign_key="connection.id", index=True)
    integration: str = Field(max_length=64)
    kind: str = Field(max_length=40)
    level: str = Field(default="info", max_length=10)
    message: str = Field(sa_type=sa.Text)
    support_reference: str | None = Field(default=None, max_length=100)
    created_at: dt.datetime = _now_field(index=True)


class RateLimitSlot(SQLModel, table=True):
    """Requests started per external account, for limits shared by every process."""

    __table_args__ = (sa.Index("ix_ratelimitslot_account_time", "account_key", "started_at"),)

    id: int | None = Field(default=None, primary_key=True)
    account_key: str = Field(max_length=140)
    bucket: str = Field(default="", max_length=40)
    started_at: dt.datetime = Field(sa_type=UTCDateTime)
    finished_at: dt.datetime | None = _time_field()
    lease_expires_at: dt.datetime = Field(sa_type=UTCDateTime)
