"""A company's tax lists: TaxAgency, TaxRate and TaxCode objects, with Ids of its own.

QuickBooks gives each company its own Ids ("specific to the QuickBooks company file",
QUICKBOOKS.md 12.1): here they start at a per-company offset and leave gaps, drawn from a
generator seeded with the realm id, so no client can get away with hard-coding them.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from decimal import Decimal

from .company import Company
from .regions import US_PSEUDO_CODES, CodeSpec, RegionProfile
from .values import JsonObject

#: (entity, Id, object without SyncToken/MetaData) in the order they are stored.
Seed = tuple[str, str, JsonObject]


def _ids(realm_id: str, entity: str) -> Iterator[str]:
    rng = random.Random(f"{realm_id}/{entity}")
    number = rng.randint(2, 40)
    while True:
        yield str(number)
        number += rng.randint(1, 5)


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def _rate_list(names: tuple[str, ...], rate_ids: dict[str, str]) -> JsonObject:
    return {
        "TaxRateDetail": [
            {
                "TaxRateRef": {"value": rate_ids[name], "name": name},
                "TaxTypeApplicable": "TaxOnAmount",
                "TaxOrder": 0,
            }
            for name in names
        ]
    }


def _code(spec: CodeSpec, rate_ids: dict[str, str]) -> JsonObject:
    return {
        "Name": spec.name,
        "Description": spec.description,
        "Active": True,
        "Hidden": False,
        "Taxable": True,
        # Read-only; false only for the US pseudo codes TAX and NON (12.1).
        "TaxGroup": True,
        "SalesTaxRateList": _rate_list(spec.sales, rate_ids),
        "PurchaseTaxRateList": _rate_list(spec.purchases, rate_ids),
    }


def _pseudo_code(name: str) -> JsonObject:
    # As RUBYFIX tax_codes.xml shows them, with no rate lists. That 2013 capture has no
    # Active either; it is added so that "WHERE Active IN (true, false)" finds them.
    return {
        "Name": name,
        "Description": name,
        "Active": True,
        "Taxable": name != "NON",
        "TaxGroup": name == "CustomSalesTax",
    }


def tax_lists(profile: RegionProfile, realm_id: str) -> list[Seed]:
    """Every TaxAgency, TaxRate and TaxCode a new company of ``profile`` starts with."""
    seeds: list[Seed] = []
    agency_ids: dict[str, str] = {}
    numbers = _ids(realm_id, "TaxAgency")
    for name in profile.agencies:
        agency_ids[name] = next(numbers)
        seeds.append(
            (
                "TaxAgency",
                agency_ids[name],
                {
                    "DisplayName": name,
                    "TaxTrackedOnSales": True,
                    "TaxTrackedOnPurchases": not profile.us_model,
                },
            )
        )
    rate_ids: dict[str, str] = {}
    numbers = _ids(realm_id, "TaxRate")
    for rate in profile.rates:
        rate_ids[rate.name] = next(numbers)
        value = _number(rate.percent)
        seeds.append(
            (
                "TaxRate",
                rate_ids[rate.name],
                {
                    "Name": rate.name,
                    "Description": rate.description or rate.name,
                    "Active": True,
                    "RateValue": value,
                    "AgencyRef": {"value": agency_ids[rate.agency]},
                    "SpecialTaxType": "NONE",
                    "DisplayType": "ReadOnly",
                    "EffectiveTaxRate": [
                        {"RateValue": value, "EffectiveDate": f"{profile.rates_since}T00:00:00Z"}
                    ],
                },
            )
        )
    if profile.us_model:
        seeds += [("TaxCode", name, _pseudo_code(name)) for name in US_PSEUDO_CODES]
    numbers = _ids(realm_id, "TaxCode")
    seeds += [("TaxCode", next(numbers), _code(spec, rate_ids)) for spec in profile.codes]
    return seeds


def rate_refs(code: JsonObject, side: str) -> list[str]:
    """The TaxRate Ids of a code's ``SalesTaxRateList`` or ``PurchaseTaxRateList``."""
    details = (code.get(f"{side}TaxRateList") or {}).get("TaxRateDetail") or []
    return [str(d["TaxRateRef"]["value"]) for d in details if d.get("TaxRateRef")]


def sales_rates(company: Company, code: JsonObject) -> list[JsonObject]:
    """The TaxRate objects a code charges on sales (empty for a purchase-only code)."""
    rates = [company.get("TaxRate", rate_id) for rate_id in rate_refs(code, "Sales")]
    return [rate for rate in rates if rate is not None]


def group_code_id(seeds: list[Seed]) -> str | None:
    """The Id of the first real tax group among US seeds (TaxPrefs.TaxGroupCodeRef)."""
    for entity, object_id, _ in seeds:
        if entity == "TaxCode" and object_id.isdigit():
            return object_id
    return None
