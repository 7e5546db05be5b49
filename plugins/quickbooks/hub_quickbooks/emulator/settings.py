"""Start-up settings of the QuickBooks emulator."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from .rules import TaxOverride

WebhookFormat = Literal["legacy", "cloudevents"]

#: The issuer Intuit puts in its discovery document and ID tokens. Intuit's JavaScript
#: and PHP clients compare ID tokens against this exact string, so the emulator keeps it
#: even though every endpoint points at the emulator itself.
INTUIT_ISSUER = "https://oauth.platform.intuit.com/op/v1"


@dataclass
class EmulatorSettings:
    """How an emulator instance behaves; the arguments of ``create_app`` end up here."""

    auto_consent: bool = False
    #: Webhook target and verifier token for apps registered without their own.
    webhook_url: str | None = None
    verifier_token: str | None = None
    webhook_format: WebhookFormat = "legacy"
    #: JSON file the state is loaded from at start and saved to after each change.
    state_path: str | None = None
    #: False turns every throttle off (benchmarks, demos).
    limits: bool = True
    #: Seconds QuickBooks collects events per company before one delivery; 0 = at once.
    aggregation_seconds: float = 0.0
    #: Base URL clients use to reach the emulator; None = taken from each request.
    public_url: str | None = None
    #: Start with one sandbox company (and the app below, when given).
    seed: bool = True
    #: An app registered at start, as if created in Intuit's developer portal.
    client_id: str | None = None
    client_secret: str | None = None
    redirect_uris: tuple[str, ...] = ()
    #: The seeded company's region (AU, US, UK or CA) and name; None names it as Intuit
    #: names sandboxes ("Sandbox Company_AU_1").
    region: str = "AU"
    company_name: str | None = None
    #: Milliseconds every Accounting API request waits at start (``/_emulator/latency``).
    latency_ms: float = 0.0
    #: See ``rules.BookRules``.
    zero_rate_tax_lines: bool = True
    tax_override: TaxOverride = "ignore"
    access_token_ttl: int = 3600
    auth_code_ttl: int = 600
    #: Multiplies Intuit's webhook retry delays (10 s, 20 s, 30 s, 5 min, ...); tests use
    #: a small factor so a retry happens in milliseconds.
    retry_scale: float = 1.0
    #: Retries after the first webhook attempt before the delivery is given up.
    webhook_max_retries: int = 10
    #: Seconds a receiver has to answer 200 (Intuit: 3).
    webhook_timeout: float = 3.0
    #: Seconds an injected "timeout" fault holds the connection before closing it.
    hang_seconds: float = 130.0
    issuer: str = INTUIT_ISSUER
    #: Scopes the authorization endpoint accepts.
    known_scopes: frozenset[str] = field(
        default_factory=lambda: frozenset(
            {
                "com.intuit.quickbooks.accounting",
                "com.intuit.quickbooks.payment",
                "com.intuit.quickbooks.payroll",
                "com.intuit.quickbooks.payroll.timetracking",
                "com.intuit.quickbooks.payroll.benefits",
                "com.intuit.quickbooks.payroll.payslip.read",
                "openid",
                "profile",
                "email",
                "phone",
                "address",
                "intuit_name",
            }
        )
    )
