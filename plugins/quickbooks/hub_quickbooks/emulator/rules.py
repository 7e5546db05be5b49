"""Switches for what the sources leave open (QUICKBOOKS.md 12.8), set at start-up."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

TaxOverride = Literal["ignore", "honour"]


@dataclass(frozen=True)
class BookRules:
    """How the books decide where QuickBooks' behaviour is not yet verified."""

    #: Emit a TaxLine for a 0% rate (a GST-free line) as well as for taxed rates. 12.2.2
    #: says this is unverified; on is the default because a client must cope with it.
    zero_rate_tax_lines: bool = True
    #: What a client-supplied TxnTaxDetail does on a non-US invoice (12.2.4): "ignore"
    #: recomputes it (Teachworks, python-quickbooks#301); "honour" keeps the supplied
    #: TaxLine amounts and reports the difference as OverrideDeltaAmount.
    tax_override: TaxOverride = "ignore"
