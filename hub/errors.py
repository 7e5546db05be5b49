"""The hub's errors. Each class says what the host does when it is raised.

::

    HubError
    ├── StartupError            the hub refuses to start; the message says how to fix it
    │   └── PluginError         a plugin failed to load or validate; names the plugin
    └── IntegrationError        raised by plugins while acting for a connection
        ├── AuthRevoked         access ended: connection -> needs_reconnect, jobs parked
        ├── RateLimited         provider throttled: retry after ``retry_after`` seconds
        ├── Conflict            remote object changed meanwhile: re-read, then retry
        ├── Transient           provider down, timeout, 5xx: retry with backoff
        ├── Rejected            provider refused this record: show why, never retry
        ├── WebhookRejected     bad signature or body: 401 / 400, nothing stored
        └── NotImplementedByPlugin
                                the plugin does not offer this hook yet

A plugin's own errors subclass one of these, and always ``raise ... from err``.
"""

from __future__ import annotations


class HubError(Exception):
    """Base of every error the hub raises on purpose."""


class StartupError(HubError):
    """The hub cannot start; the message says what to do."""


class PluginError(StartupError):
    """A plugin failed to load or validate."""

    def __init__(self, plugin: str, problem: str) -> None:
        self.plugin = plugin
        self.problem = problem
        super().__init__(
            f"plugin {plugin!r}: {problem} "
            f"(fix the plugin, or set HUB_DISABLED_PLUGINS={plugin} to start without it)"
        )


class IntegrationError(HubError):
    """An error while talking to a provider on behalf of a connection.

    ``support_reference`` carries the provider's request id (QuickBooks: intuit_tid)
    so that a user can quote it to the provider's support.
    """

    def __init__(self, message: str, *, support_reference: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.support_reference = support_reference


class AuthRevoked(IntegrationError):
    """The provider no longer accepts this connection's tokens.

    The host marks the connection ``needs_reconnect``, parks its jobs (they resume
    after a reconnect) and tells the user to reconnect.
    """


class RateLimited(IntegrationError):
    """The provider throttled us; the host retries after ``retry_after`` seconds."""

    def __init__(
        self, message: str, *, retry_after: float = 60.0, support_reference: str | None = None
    ) -> None:
        super().__init__(message, support_reference=support_reference)
        self.retry_after = retry_after


class Conflict(IntegrationError):
    """The remote object changed since we read it; the host re-reads and retries."""


class Transient(IntegrationError):
    """A passing failure (5xx, timeout, dropped connection); retried with backoff."""


class Rejected(IntegrationError):
    """The provider refused this record; shown to the user, never retried as is."""

    def __init__(
        self, message: str, *, code: str = "rejected", support_reference: str | None = None
    ) -> None:
        super().__init__(message, support_reference=support_reference)
        self.code = code


class WebhookRejected(IntegrationError):
    """A webhook delivery failed verification (401) or could not be parsed (400)."""

    def __init__(self, message: str, *, status_code: int = 401) -> None:
        super().__init__(message)
        self.status_code = status_code


class NotImplementedByPlugin(IntegrationError):
    """The plugin does not implement this capability yet."""
