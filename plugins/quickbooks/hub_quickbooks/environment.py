"""Where a QuickBooks connection's OAuth and Accounting API requests go."""

from __future__ import annotations

from dataclasses import dataclass

from hub.errors import AuthRevoked, StartupError
from hub.types import Environment, PluginConfig

AUTHORIZE_URL = "https://appcenter.intuit.com/connect/oauth2"
TOKEN_URL = "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"
REVOKE_URL = "https://developer.api.intuit.com/v2/oauth2/tokens/revoke"
SANDBOX_API = "https://sandbox-quickbooks.api.intuit.com"
PRODUCTION_API = "https://quickbooks.api.intuit.com"

_ALIASES = {
    "sandbox": "sandbox",
    "sand": "sandbox",
    "production": "production",
    "prod": "production",
}


@dataclass(frozen=True)
class Endpoints:
    """The URLs of one QuickBooks environment (Intuit's, or a local emulator's)."""

    environment: Environment
    api_base: str
    authorize_url: str
    token_url: str
    revoke_url: str
    #: Set when ``QUICKBOOKS_ENVIRONMENT`` is the base URL of an emulator.
    emulator_url: str | None = None


def resolve(config: PluginConfig) -> Endpoints:
    """Read ``QUICKBOOKS_ENVIRONMENT`` (sandbox, production or an emulator URL)."""
    raw = (config.get("ENVIRONMENT") or "sandbox").strip()
    name = _ALIASES.get(raw.lower())
    if name == "production":
        return Endpoints("production", PRODUCTION_API, AUTHORIZE_URL, TOKEN_URL, REVOKE_URL)
    if name == "sandbox":
        return Endpoints("sandbox", SANDBOX_API, AUTHORIZE_URL, TOKEN_URL, REVOKE_URL)
    if raw.startswith(("http://", "https://")):
        base = raw.rstrip("/")
        return Endpoints(
            "sandbox",
            base,
            f"{base}/connect/oauth2",
            f"{base}/oauth2/v1/tokens/bearer",
            f"{base}/v2/oauth2/tokens/revoke",
            emulator_url=base,
        )
    raise StartupError(
        f"QUICKBOOKS_ENVIRONMENT={raw!r} is not understood: set it to 'sandbox', "
        "'production', or the base URL of a QuickBooks emulator such as http://127.0.0.1:8001"
    )


def api_base_for(config: PluginConfig, environment: Environment) -> str:
    """The Accounting API host for a connection made in ``environment``.

    A connection keeps the environment it was made in: its tokens belong to a company
    there, so a production connection never talks to a sandbox host or the reverse.
    """
    endpoints = resolve(config)
    if endpoints.environment != environment:
        raise AuthRevoked(
            f"This connection was made to a QuickBooks {environment} company, but the hub "
            f"is now configured for {endpoints.environment}. Reconnect QuickBooks from "
            "Manage Integrations to use the configured environment."
        )
    return endpoints.api_base
