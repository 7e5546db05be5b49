"""How the QuickBooks integration presents itself to the hub."""

from __future__ import annotations

import base64
import functools
from pathlib import Path

from hub.errors import StartupError
from hub.types import (
    Capabilities,
    IntegrationInfo,
    OAuthEndpoints,
    PathLimit,
    PluginConfig,
    RateLimits,
)
from hub_quickbooks.environment import Endpoints, resolve

SLUG = "quickbooks"
ACCOUNTING_SCOPE = "com.intuit.quickbooks.accounting"
DOCS_URL = "https://developer.intuit.com/app/developer/qbo/docs/get-started"
HELP_URL = (
    "https://developer.intuit.com/app/developer/qbo/docs/develop/"
    "authentication-and-authorization/faq"
)

#: Intuit's published limits per company and app (requests a minute and a second,
#: concurrent requests, batch requests a minute).
RATE_LIMITS = RateLimits(
    max_concurrent=10,
    per_minute=500,
    per_second=10,
    paths=(PathLimit(pattern="/batch", per_minute=40),),
)


#: What ``QUICKBOOKS_RATE_LIMITS=off`` leaves: requests limited only by the machine.
UNLIMITED = RateLimits(max_concurrent=10_000, per_minute=10_000_000)


def rate_limits(config: PluginConfig, endpoints: Endpoints) -> RateLimits:
    """Intuit's limits, unless ``QUICKBOOKS_RATE_LIMITS=off`` against an emulator.

    Switching them off serves to measure the hub's own costs against an emulator
    started with ``--no-limits``; Intuit's servers always get their limits.
    """
    setting = (config.get("RATE_LIMITS") or "intuit").strip().lower()
    if setting == "intuit":
        return RATE_LIMITS
    if setting == "off" and endpoints.emulator_url is not None:
        return UNLIMITED
    if setting == "off":
        raise StartupError(
            "QUICKBOOKS_RATE_LIMITS=off is only allowed with an emulator "
            "(QUICKBOOKS_ENVIRONMENT set to its URL): Intuit throttles a company that "
            "goes over its limits for a minute at a time."
        )
    raise StartupError(
        f"QUICKBOOKS_RATE_LIMITS={setting!r} is not understood: set it to 'intuit' "
        "(the default) or, with an emulator, 'off'"
    )


@functools.cache
def logo_data_uri() -> str:
    """The logo as a ``data:`` URI, so the listing needs no static file."""
    svg = Path(__file__).with_name("logo.svg").read_bytes()
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode()


def integration_info(config: PluginConfig) -> IntegrationInfo:
    """The integration's description, from ``QUICKBOOKS_*`` settings (all optional)."""
    endpoints = resolve(config)
    return IntegrationInfo(
        slug=SLUG,
        name="QuickBooks Online",
        description=(
            "Send invoice batches to QuickBooks Online as invoices, and bring payments, "
            "voids and deletions made there back to Coordinoter."
        ),
        logo=logo_data_uri(),
        docs_url=DOCS_URL,
        oauth=OAuthEndpoints(
            authorize_url=endpoints.authorize_url,
            token_url=endpoints.token_url,
            revoke_url=endpoints.revoke_url,
            scopes=(ACCOUNTING_SCOPE,),
            token_auth_method="client_secret_basic",
            pkce=False,
            refresh_expiry_field="x_refresh_token_expires_in",
        ),
        callback_params=("realmId",),
        capabilities=Capabilities(webhooks=True, two_way=True, reconciliation=True),
        rate_limits=rate_limits(config, endpoints),
        help_url=HELP_URL,
        environment=endpoints.environment,
    )
