"""GST as Coordinoter reckons it, and when a provider's figures differ from it.

Each line's amount is quantity times unit price (before GST), rounded half up to the
cent; a ``gst`` line's GST is 10% of that amount, rounded half up per line; an
invoice's GST is the sum of its lines' GST. That is how QuickBooks Online computes
tax outside the US ("always line by line"), so the two agree to the cent when the
mapping is right. Other providers may round once on the total instead, which can
differ by up to half a cent per line: that is still rounding, not a mismatch.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
HALF_CENT = Decimal("0.005")
ZERO = Decimal("0.00")
GST_RATE = Decimal("0.10")
#: The rate, in percent, each tax treatment charges (for comparing providers' codes).
TREATMENT_RATES = {"gst": Decimal("10"), "gst_free": Decimal("0")}


def line_amount(quantity: Decimal, unit_price: Decimal) -> Decimal:
    """Quantity times unit price, rounded half up to the cent."""
    return (quantity * unit_price).quantize(CENT, ROUND_HALF_UP)


def line_tax(amount: Decimal, treatment: str) -> Decimal:
    """The GST on a line of ``amount`` (before GST) with this treatment."""
    if treatment != "gst":
        return ZERO
    return (amount * GST_RATE).quantize(CENT, ROUND_HALF_UP)


def rounding_allowance(lines: int) -> Decimal:
    """How far two honest computations of an invoice's tax may drift apart.

    Rounding per line or once on the total moves each taxed line by at most half a
    cent, so an invoice of ``lines`` taxed lines may differ by that many half cents
    (at least a cent), and no more.
    """
    return max(CENT, (HALF_CENT * max(lines, 1)).quantize(CENT, ROUND_CEILING))


def differs(expected: Decimal, actual: Decimal, *, lines: int) -> bool:
    """Whether a provider's figure differs from Coordinoter's by more than rounding."""
    return abs(expected - actual) > rounding_allowance(lines)
