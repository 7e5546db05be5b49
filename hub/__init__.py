"""Integration Hub: a plugin host that connects Coordinoter to accounting systems.

Plugin authors need only this module: ``from hub import hookimpl`` and the types.
"""

from __future__ import annotations

from hub.hookspecs import hookimpl
from hub.types import (
    AuthorizationRedirect,
    AuthorizeContext,
    BatchPayload,
    BatchSyncResult,
    CallbackContext,
    Capabilities,
    ChangeEvent,
    ChangeSet,
    ConnectedAccount,
    ConnectionContext,
    EmulatorOptions,
    IntegrationInfo,
    InvoicePayload,
    InvoiceResult,
    InvoiceUpdate,
    LinePayload,
    LinkUpdate,
    OAuthEndpoints,
    ParticipantPayload,
    PathLimit,
    PluginConfig,
    RateLimits,
    RecordError,
    RemoteRef,
    SyncContext,
    SyncOutcome,
    TokenSet,
    WebhookDelivery,
)

__version__ = "0.1.0"

__all__ = [
    "AuthorizationRedirect",
    "AuthorizeContext",
    "BatchPayload",
    "BatchSyncResult",
    "CallbackContext",
    "Capabilities",
    "ChangeEvent",
    "ChangeSet",
    "ConnectedAccount",
    "ConnectionContext",
    "EmulatorOptions",
    "IntegrationInfo",
    "InvoicePayload",
    "InvoiceResult",
    "InvoiceUpdate",
    "LinePayload",
    "LinkUpdate",
    "OAuthEndpoints",
    "ParticipantPayload",
    "PathLimit",
    "PluginConfig",
    "RateLimits",
    "RecordError",
    "RemoteRef",
    "SyncContext",
    "SyncOutcome",
    "TokenSet",
    "WebhookDelivery",
    "__version__",
    "hookimpl",
]
