"""How the QuickBooks integration presents itself to the hub."""

from __future__ import annotations

import base64
import functools
from pathlib import Path

from hub.types import (
    Capabilities,
    IntegrationInfo,
    OAuthEndpoints,
    PathLimit,
    PluginConfig,
    RateLimits,
)
from hub_quickbooks.environment import resolve

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
        rate_limits=RATE_LIMITS,
        help_url=HELP_URL,
        environment=endpoints.environment,
    )
