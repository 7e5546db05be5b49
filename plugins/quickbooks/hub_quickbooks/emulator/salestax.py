"""Sales tax on invoices: the global (non-US) model and the US model (QUICKBOOKS.md 12.2).

The invoice builder hands over its sales lines; this module checks their tax codes, works
out each line's tax and returns the ``TxnTaxDetail`` QuickBooks would store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal

from . import faults
from .entities import Context
from .preferences import using_sales_tax
from .regions import US_PSEUDO_CODES
from .taxlists import sales_rates
from .values import (
    CENT,
    ZERO,
    JsonObject,
    bool_of,
    decimal_of,
    list_of,
    money,
    object_of,
    ref_id,
    round_cents,
    stored_decimal,
    text_of,
)

TAX_CALCULATIONS = ("TaxExcluded", "TaxInclusive", "NotApplicable")
LINE_CODE = "Line.SalesItemLineDetail.TaxCodeRef"
_HUNDRED = Decimal(100)


@dataclass
class SalesLine:
    """One SalesItemLineDetail line, as the tax engine needs it."""

    detail: JsonObject  # the stored SalesItemLineDetail; gets TaxCodeRef/TaxInclusiveAmt
    net: Decimal  # its Amount
    counts: bool  # it has an ItemRef, so its Amount is part of the subtotal
    code_id: str | None  # the TaxCodeRef sent
    gross: Decimal | None  # a non-zero TaxInclusiveAmt sent


@dataclass
class _RateTotal:
    """What one TaxRate adds up to over the invoice: one TaxLine."""

    percent: Decimal
    amount: Decimal = ZERO
    taxable: Decimal = ZERO
    override: Decimal | None = field(default=None)


@dataclass(frozen=True)
class TaxOutcome:
    """The invoice's tax: its total, its TxnTaxDetail, its GlobalTaxCalculation."""

    total: Decimal
    detail: JsonObject
    calculation: str | None


def allocate(total: Decimal, weights: list[Decimal]) -> list[Decimal]:
    """``total`` shared out in cents by ``weights``; remainders go to the largest fractions."""
    whole = sum(weights, ZERO)
    if total == 0 or whole <= 0 or any(weight < 0 for weight in weights):
        return [ZERO for _ in weights]
    raw = [total * weight / whole for weight in weights]
    parts = [value.quantize(CENT, rounding=ROUND_DOWN) for value in raw]
    left = int((total - sum(parts, ZERO)) / CENT)
    by_fraction = sorted(range(len(raw)), key=lambda i: raw[i] - parts[i], reverse=True)
    for index in by_fraction[: abs(left)]:
        parts[index] += CENT if left > 0 else -CENT
    return parts


def invoice_tax(
    ctx: Context, data: JsonObject, lines: list[SalesLine], discount: Decimal
) -> TaxOutcome:
    """Check the lines' tax codes and compute the invoice's tax."""
    if not using_sales_tax(ctx.company):
        # "ignored and not stored" when UsingSalesTax is false (12.2.4): no codes needed.
        return TaxOutcome(ZERO, {"TotalTax": 0}, None)
    if ctx.company.profile.us_model:
        return _us_tax(ctx, data, lines, discount)
    return _global_tax(ctx, data, lines, discount)


def _calculation(data: JsonObject) -> str | None:
    calculation = text_of(data, "GlobalTaxCalculation")
    if calculation is not None and calculation not in TAX_CALCULATIONS:
        raise faults.invalid_enum("GlobalTaxCalculation", calculation)
    return calculation


# --- the global model ------------------------------------------------------------------


def _line_rates(ctx: Context, line: SalesLine) -> list[JsonObject]:
    """The sales rates of a line's code: 2500 unknown, 610 inactive, 6000 purchase-only."""
    assert line.code_id is not None
    code = ctx.company.get("TaxCode", line.code_id)
    if code is None:
        # Unverified for non-US companies (12.2.3): 2500 is the inference, and it is
        # what the US pseudo codes TAX/NON get here, as they are not this company's Ids.
        raise faults.invalid_reference(LINE_CODE, line.code_id)
    if code.get("Active") is False:
        raise faults.not_found()  # "inactive codes may not be used" (12.1)
    rates = sales_rates(ctx.company, code)
    if not rates:
        # A purchase-only code (AU "GST on non-capital") on a sale (12.1, 12.2.3).
        raise faults.tax_calculation(ctx.company.profile.locale)
    line.detail["TaxCodeRef"] = {"value": code["Id"]}
    return rates


def _global_tax(
    ctx: Context, data: JsonObject, lines: list[SalesLine], discount: Decimal
) -> TaxOutcome:
    profile = ctx.company.profile
    # "By default QuickBooks assumes all prices exclude tax" (12.2.1).
    calculation = _calculation(data) or "TaxExcluded"
    if any(line.code_id is None for line in lines):
        raise faults.missing_tax_code(profile.tax_word)
    line_rates = [_line_rates(ctx, line) for line in lines]
    # A discount lowers what is taxed. QuickBooks does not document how; sharing it over the
    # sales lines pro rata (in cents that add up) is an inference.
    shares = allocate(discount, [line.net if line.counts else ZERO for line in lines])
    totals: dict[str, _RateTotal] = {}
    tax_total = ZERO
    for line, rates, share in zip(lines, line_rates, shares, strict=True):
        taxable = line.net - share if line.counts else ZERO
        percent = sum((stored_decimal(rate["RateValue"]) for rate in rates), ZERO)
        tax = _line_tax(ctx, calculation, line, taxable, percent, share)
        weights = [stored_decimal(rate["RateValue"]) for rate in rates]
        for rate, part in zip(rates, allocate(tax, weights), strict=True):
            total = totals.setdefault(rate["Id"], _RateTotal(stored_decimal(rate["RateValue"])))
            total.amount += part
            total.taxable += taxable
        line.detail["TaxInclusiveAmt"] = money(line.net + tax)
        tax_total += tax
    if calculation == "NotApplicable":
        return TaxOutcome(ZERO, {"TotalTax": 0}, calculation)
    if ctx.rules.tax_override == "honour":
        tax_total = _honour(ctx, data, totals, tax_total)
    tax_lines = [
        _tax_line(rate_id, total)
        for rate_id, total in totals.items()
        if total.percent != 0 or ctx.rules.zero_rate_tax_lines
    ]
    detail: JsonObject = {"TotalTax": money(tax_total)}
    if tax_lines:
        detail["TaxLine"] = tax_lines
    return TaxOutcome(tax_total, detail, calculation)


def _line_tax(
    ctx: Context,
    calculation: str,
    line: SalesLine,
    taxable: Decimal,
    percent: Decimal,
    share: Decimal,
) -> Decimal:
    """One line's tax, rounded to cents on its own (12.2.2: "always calculate line-by-line").

    Ties round half up: the tie rule is undocumented (12.8).
    """
    if calculation == "NotApplicable":
        # No tax, but the codes were still required above: the stricter reading.
        return ZERO
    exact = taxable * percent / _HUNDRED
    if calculation == "TaxInclusive" and line.gross is not None and line.counts and not share:
        # The API keeps Amount net and TaxInclusiveAmt gross, so the tax is their difference
        # (an inference from 12.2.1); a gross the rate cannot produce is refused.
        tax = line.gross - line.net
        if abs(tax - exact) > CENT:
            raise faults.tax_calculation(ctx.company.profile.locale)
        return tax
    return round_cents(exact)


def _tax_line(rate_id: str, total: _RateTotal) -> JsonObject:
    detail: JsonObject = {
        "TaxRateRef": {"value": rate_id},
        "PercentBased": True,
        "TaxPercent": _percent(total.percent),
        "NetAmountTaxable": money(total.taxable),
    }
    amount = total.amount
    if total.override is not None:
        detail["OverrideDeltaAmount"] = money(total.override - total.amount)
        amount = total.override
    return {"Amount": money(amount), "DetailType": "TaxLineDetail", "TaxLineDetail": detail}


def _percent(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def _honour(
    ctx: Context, data: JsonObject, totals: dict[str, _RateTotal], computed: Decimal
) -> Decimal:
    """``tax_override=honour``: keep supplied TaxLine amounts for the rates in use (12.2.4)."""
    supplied = object_of(data, "TxnTaxDetail") or {}
    changed = False
    for raw in list_of(supplied, "TaxLine"):
        if not isinstance(raw, dict) or raw.get("Amount") is None:
            continue
        detail = object_of(raw, "TaxLineDetail") or {}
        rate_id = ref_id(detail, "TaxRateRef")
        if rate_id not in totals:
            # "A non-US TaxRateRef must be in the line code's rate list" (12.2.2).
            raise faults.tax_calculation(ctx.company.profile.locale)
        totals[rate_id].override = round_cents(decimal_of(raw["Amount"], "TaxLine.Amount"))
        changed = True
    if not changed:
        return computed
    return sum((t.amount if t.override is None else t.override for t in totals.values()), ZERO)


# --- the US model ------------------------------------------------------------------------


def _us_tax(
    ctx: Context, data: JsonObject, lines: list[SalesLine], discount: Decimal
) -> TaxOutcome:
    """US lines carry TAX or NON (a missing code is NON); the group in TxnTaxCodeRef taxes
    the TAX lines (12.2.5)."""
    for line in lines:
        code = line.code_id or "NON"
        if code not in US_PSEUDO_CODES[:2]:
            raise faults.invalid_us_line_code(code)
        line.detail["TaxCodeRef"] = {"value": code}
    calculation = _calculation(data)
    group_id = ref_id(object_of(data, "TxnTaxDetail") or {}, "TxnTaxCodeRef")
    if group_id is None:
        return TaxOutcome(ZERO, {"TotalTax": 0}, calculation)
    group = ctx.company.get("TaxCode", group_id)
    if group is None:
        raise faults.invalid_reference("TxnTaxDetail.TxnTaxCodeRef", group_id)
    if group.get("Active") is False:
        raise faults.not_found()
    rates = sales_rates(ctx.company, group)
    if not group.get("TaxGroup") or not rates:
        raise faults.tax_calculation(ctx.company.profile.locale)
    taxed = [line.counts and line.detail["TaxCodeRef"]["value"] == "TAX" for line in lines]
    taxable = sum((line.net for line, yes in zip(lines, taxed, strict=True) if yes), ZERO)
    if bool_of(data, "ApplyTaxAfterDiscount", False):
        shares = allocate(discount, [line.net if line.counts else ZERO for line in lines])
        taxable -= sum((s for s, yes in zip(shares, taxed, strict=True) if yes), ZERO)
    # US sales tax is a rate on the taxable subtotal ("rate x the TAX lines", 12.2.5), one
    # TaxLine per rate of the group, each rounded half up.
    tax_lines = []
    total = ZERO
    for rate in rates:
        percent = stored_decimal(rate["RateValue"])
        amount = round_cents(taxable * percent / _HUNDRED)
        total += amount
        tax_lines.append(_tax_line(rate["Id"], _RateTotal(percent, amount=amount, taxable=taxable)))
    detail = {"TxnTaxCodeRef": {"value": group_id}, "TotalTax": money(total), "TaxLine": tax_lines}
    return TaxOutcome(total, detail, calculation)
