"""What differs between QuickBooks Online companies of each country, as data.

A company's region decides its CompanyInfo country, home currency, fiscal year, and the
tax codes, rates and agencies it starts with (QUICKBOOKS.md 12.1). Only the lists' names,
rates and shapes live here; their Ids are the company's own (``taxlists``).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

#: US lines carry these pseudo codes, whose Ids are their names (QUICKBOOKS.md 12.1).
US_PSEUDO_CODES = ("TAX", "NON", "CustomSalesTax")


@dataclass(frozen=True)
class RateSpec:
    """One TaxRate: its name, percent and the agency (by name) it is paid to."""

    name: str
    percent: Decimal
    agency: str
    description: str = ""


@dataclass(frozen=True)
class CodeSpec:
    """One TaxCode: the rates (by name) it charges on sales and on purchases."""

    name: str
    description: str
    sales: tuple[str, ...] = ()
    purchases: tuple[str, ...] = ()


@dataclass(frozen=True)
class RegionProfile:
    """Everything a new company of one region starts with."""

    code: str  # AU, US, UK, CA
    country: str  # CompanyInfo.Country
    currency: str  # the home currency, fixed for life
    fiscal_month: str
    sandbox_name: str
    #: The tax's name in the missing-code Detail ("... have a GST rate before you save.").
    tax_word: str
    #: The locale in the help link QuickBooks appends to a tax-calculation Detail.
    locale: str
    date_format: tuple[str, str]  # OtherPrefs DateFormat and DateFormatMnemonic
    #: Effective date of every rate, as TaxRate.EffectiveTaxRate shows it.
    rates_since: str
    rates: tuple[RateSpec, ...]
    codes: tuple[CodeSpec, ...]
    #: The US model: lines carry TAX/NON, a group goes in TxnTaxCodeRef (12.2.5).
    us_model: bool = False

    def rate(self, name: str) -> RateSpec:
        """The rate spec called ``name``."""
        return next(rate for rate in self.rates if rate.name == name)

    @property
    def agencies(self) -> tuple[str, ...]:
        """Agency names, in the order their rates first name them."""
        return tuple(dict.fromkeys(rate.agency for rate in self.rates))


_ATO = "Australian Taxation Office"
_HMRC = "HMRC"
_CRA = "Canada Revenue Agency"
_BC = "Minister of Finance (BC)"


def _pct(text: str) -> Decimal:
    return Decimal(text)


# AU names come from Intuit's AU help (D-AUHELP) and the rate names an AU migrator matches in
# real companies (X2Q, QUICKBOOKS.md 12.1). Rate names the sources do not give (exports,
# capital) follow the same pattern and are an inference.
AU = RegionProfile(
    code="AU",
    country="AU",
    currency="AUD",
    fiscal_month="July",
    sandbox_name="Sandbox Company_AU_1",
    tax_word="GST",
    locale="en_AU",
    date_format=("Date Month Year separated by a slash", "DDMMYYYY_SEP_SLASH"),
    rates_since="2000-07-01",
    rates=(
        RateSpec("GST (sales)", _pct("10"), _ATO),
        RateSpec("GST free (sales)", _pct("0"), _ATO),
        RateSpec("GST free exports (sales)", _pct("0"), _ATO),
        RateSpec("GST on capital (purchases)", _pct("10"), _ATO),
        RateSpec("GST-free capital (purchases)", _pct("0"), _ATO),
        RateSpec("GST (purchases)", _pct("10"), _ATO),
        RateSpec("GST-free (purchases)", _pct("0"), _ATO),
        RateSpec("Input tax (sales)", _pct("0"), _ATO),
        RateSpec("Input tax (purchases)", _pct("0"), _ATO),
        RateSpec("N-T (Sales)", _pct("0"), _ATO),
        RateSpec("N-T (Purchases)", _pct("0"), _ATO),
    ),
    codes=(
        CodeSpec("GST", "GST", sales=("GST (sales)",)),
        CodeSpec("GST-free", "GST free", sales=("GST free (sales)",)),
        CodeSpec("GST-free exports", "GST free exports", sales=("GST free exports (sales)",)),
        CodeSpec("GST on capital", "GST on capital", purchases=("GST on capital (purchases)",)),
        CodeSpec(
            "GST-free capital", "GST free capital", purchases=("GST-free capital (purchases)",)
        ),
        CodeSpec("GST on non-capital", "GST on non-capital", purchases=("GST (purchases)",)),
        CodeSpec(
            "GST-free non-capital", "GST free non-capital", purchases=("GST-free (purchases)",)
        ),
        CodeSpec(
            "Input taxed",
            "Input taxed",
            sales=("Input tax (sales)",),
            purchases=("Input tax (purchases)",),
        ),
        CodeSpec(
            "Out of Scope", "Out of scope", sales=("N-T (Sales)",), purchases=("N-T (Purchases)",)
        ),
    ),
)

# UK: "20.0% S" with rates "SS-20.0"/"SP-20.0" is a capture (PHP-SDK#48); the other codes
# follow its pattern (an inference).
UK = RegionProfile(
    code="UK",
    country="GB",  # alpha-2, as the US capture writes "US" (12.1); an inference for the UK
    currency="GBP",
    fiscal_month="April",
    sandbox_name="Sandbox Company_UK_1",
    tax_word="VAT",
    locale="en_GB",
    date_format=("Date Month Year separated by a slash", "DDMMYYYY_SEP_SLASH"),
    rates_since="2011-01-04",
    rates=(
        RateSpec("SS-20.0", _pct("20"), _HMRC, "Standard sales"),
        RateSpec("SP-20.0", _pct("20"), _HMRC, "Standard purchases"),
        RateSpec("RS-5.0", _pct("5"), _HMRC, "Reduced sales"),
        RateSpec("RP-5.0", _pct("5"), _HMRC, "Reduced purchases"),
        RateSpec("ZS-0.0", _pct("0"), _HMRC, "Zero-rated sales"),
        RateSpec("ZP-0.0", _pct("0"), _HMRC, "Zero-rated purchases"),
        RateSpec("ES-0.0", _pct("0"), _HMRC, "Exempt sales"),
        RateSpec("EP-0.0", _pct("0"), _HMRC, "Exempt purchases"),
        RateSpec("NS-0.0", _pct("0"), _HMRC, "No VAT sales"),
        RateSpec("NP-0.0", _pct("0"), _HMRC, "No VAT purchases"),
    ),
    codes=(
        CodeSpec("20.0% S", "Standard", sales=("SS-20.0",), purchases=("SP-20.0",)),
        CodeSpec("5.0% R", "Reduced", sales=("RS-5.0",), purchases=("RP-5.0",)),
        CodeSpec("0.0% Z", "Zero-rated", sales=("ZS-0.0",), purchases=("ZP-0.0",)),
        CodeSpec("Exempt", "Exempt", sales=("ES-0.0",), purchases=("EP-0.0",)),
        CodeSpec("No VAT", "No VAT", sales=("NS-0.0",), purchases=("NP-0.0",)),
    ),
)

# CA: "GST/PST BC" (two sales rates) is from FYLE; rate names are an inference.
CA = RegionProfile(
    code="CA",
    country="CA",
    currency="CAD",
    fiscal_month="January",
    sandbox_name="Sandbox Company_CA_1",
    tax_word="GST/HST",
    locale="en_CA",
    date_format=("Year Month Date separated by a dash", "YYYYMMDD_SEP_DASH"),
    rates_since="2008-01-01",
    rates=(
        RateSpec("GST (sales)", _pct("5"), _CRA),
        RateSpec("GST (purchases)", _pct("5"), _CRA),
        RateSpec("HST ON (sales)", _pct("13"), _CRA),
        RateSpec("HST ON (purchases)", _pct("13"), _CRA),
        RateSpec("PST BC (sales)", _pct("7"), _BC),
        RateSpec("Zero-rated (sales)", _pct("0"), _CRA),
        RateSpec("Zero-rated (purchases)", _pct("0"), _CRA),
        RateSpec("Exempt (sales)", _pct("0"), _CRA),
        RateSpec("Exempt (purchases)", _pct("0"), _CRA),
        RateSpec("Out of Scope (sales)", _pct("0"), _CRA),
        RateSpec("Out of Scope (purchases)", _pct("0"), _CRA),
    ),
    codes=(
        CodeSpec("GST", "GST", sales=("GST (sales)",), purchases=("GST (purchases)",)),
        CodeSpec(
            "HST ON", "HST Ontario", sales=("HST ON (sales)",), purchases=("HST ON (purchases)",)
        ),
        CodeSpec(
            "GST/PST BC",
            "GST/PST British Columbia",
            sales=("GST (sales)", "PST BC (sales)"),
            purchases=("GST (purchases)",),
        ),
        CodeSpec(
            "Zero-rated",
            "Zero-rated",
            sales=("Zero-rated (sales)",),
            purchases=("Zero-rated (purchases)",),
        ),
        CodeSpec("Exempt", "Exempt", sales=("Exempt (sales)",), purchases=("Exempt (purchases)",)),
        CodeSpec(
            "Out of Scope",
            "Out of Scope",
            sales=("Out of Scope (sales)",),
            purchases=("Out of Scope (purchases)",),
        ),
    ),
)

# US: the pseudo codes TAX/NON/CustomSalesTax (RUBYFIX tax_codes.xml) plus one city group
# for TxnTaxDetail.TxnTaxCodeRef (12.2.5). The group's rates are made up.
US = RegionProfile(
    code="US",
    country="US",
    currency="USD",
    fiscal_month="January",
    sandbox_name="Sandbox Company_US_1",
    tax_word="sales tax",
    locale="en_US",
    date_format=("Month Date Year separated by a slash", "MMDDYYYY_SEP_SLASH"),
    rates_since="2013-01-01",
    rates=(
        RateSpec("AZ State tax", _pct("6.1"), "Arizona Dept. of Revenue", "Sales Tax"),
        RateSpec("Tucson City", _pct("1.9"), "City of Tucson", "Sales Tax"),
    ),
    codes=(CodeSpec("Tucson City", "Tucson City", sales=("AZ State tax", "Tucson City")),),
    us_model=True,
)

REGIONS: dict[str, RegionProfile] = {profile.code: profile for profile in (AU, US, UK, CA)}
#: Other spellings a control request may use.
_ALIASES = {"GB": "UK"}


def region_of(text: str) -> RegionProfile:
    """The profile for ``AU``/``US``/``UK``/``CA`` (any case; ``GB`` is the UK).

    Raises ValueError for anything else.
    """
    key = text.strip().upper()
    profile = REGIONS.get(_ALIASES.get(key, key))
    if profile is None:
        raise ValueError(f"region must be one of {', '.join(REGIONS)} (GB is accepted as UK)")
    return profile
