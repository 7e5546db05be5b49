"""What a push needs to know about its company: the mapping in force and the setup facts.

The host keeps both (``ctx.mapping`` and ``ctx.account_facts``, from the last
``mapping_choices``); this module reads them back into one typed object.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from hub.types import ConnectionContext, TaxTreatment

#: Mapping field keys (stable: the host stores values under them).
TAX_FIELD = {"gst": "tax.gst", "gst_free": "tax.gst_free"}
INCOME_ACCOUNT = "income_account"
CUSTOMERS = "customers"

#: How participants become customers. Both look for the customer the hub linked
#: first, then for one named "<name> (<participant id>)".
#: ``participant_id``: otherwise create "<name> (<participant id>)": two participants
#: can never collide, and each is found again by its id.
#: ``name``: otherwise use a customer named exactly as the participant (when no other
#: participant of the batch shares the name), or create one under the plain name.
CustomerRule = Literal["participant_id", "name"]
CUSTOMER_RULES: tuple[CustomerRule, ...] = ("participant_id", "name")

TaxModel = Literal["global", "us", "none"]


@dataclass(frozen=True)
class CompanyProfile:
    """The mapping and setup facts of one company, as the push uses them."""

    name: str = ""
    tax_model: TaxModel = "global"
    home_currency: str = ""
    multicurrency: bool = False
    tax_codes: Mapping[TaxTreatment, str] = field(default_factory=dict)
    income_account: str | None = None
    customer_rule: CustomerRule = "participant_id"

    @property
    def label(self) -> str:
        """The company as the user knows it."""
        return f"the QuickBooks company “{self.name}”" if self.name else "the QuickBooks company"

    def tax_code(self, treatment: TaxTreatment) -> str | None:
        """The TaxCode Id mapped to a treatment, or None."""
        return self.tax_codes.get(treatment)

    def facts(self) -> dict[str, str]:
        """The setup facts as the host keeps them."""
        return {
            "company_name": self.name,
            "tax_model": self.tax_model,
            "home_currency": self.home_currency,
            "multicurrency": "true" if self.multicurrency else "false",
        }


def profile_from(
    mapping: Mapping[str, str], facts: Mapping[str, str]
) -> CompanyProfile:
    """The profile kept in a connection's mapping and facts."""
    model = facts.get("tax_model")
    rule = mapping.get(CUSTOMERS)
    codes: dict[TaxTreatment, str] = {}
    for treatment, key in TAX_FIELD.items():
        value = mapping.get(key)
        if value:
            codes[treatment] = value  # type: ignore[index]
    return CompanyProfile(
        name=facts.get("company_name", ""),
        tax_model=model if model in ("global", "us", "none") else "global",  # type: ignore[arg-type]
        home_currency=facts.get("home_currency", "").upper(),
        multicurrency=facts.get("multicurrency") == "true",
        tax_codes=codes,
        income_account=mapping.get(INCOME_ACCOUNT) or None,
        customer_rule=rule if rule in CUSTOMER_RULES else "participant_id",
    )


def profile_of(ctx: ConnectionContext) -> CompanyProfile:
    """The profile of the company a hook acts for."""
    return profile_from(ctx.mapping, ctx.account_facts)
