"""A company's Preferences: one object (Id "1") the rules of other entities read.

Preferences is read-only through the emulator's API; what an accountant changes in
QuickBooks' settings is changed with the edit control (``edits``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .company import Company
from .regions import RegionProfile
from .values import JsonObject

PREFERENCES_ID = "1"


@dataclass(frozen=True)
class CompanySetup:
    """Choices made when a company is opened (the control's ``preferences``)."""

    multicurrency: bool = False
    using_sales_tax: bool = True
    #: The emulator assumes "Custom transaction numbers" is on, as the hub's plugin relies
    #: on its own invoice numbers and on QuickBooks refusing a duplicate (6140, 12.4),
    #: which only happens with the setting on.
    custom_txn_numbers: bool = True


def preferences_body(
    profile: RegionProfile, setup: CompanySetup, default_terms: str, group_code: str | None
) -> JsonObject:
    """The Preferences of a new company (shape after RUBYFIX ``preferences.xml``)."""
    tax_prefs: JsonObject = {"UsingSalesTax": setup.using_sales_tax}
    if group_code is not None:
        # US only. PartnerTaxEnabled stays absent: "Sandbox companies currently do not
        # support the automated sales tax engine" (12.2.5).
        tax_prefs["TaxGroupCodeRef"] = {"value": group_code}
    message = "Thank you for your business and have a great day!"
    return {
        "AccountingInfoPrefs": {
            "UseAccountNumbers": False,
            "TrackDepartments": False,
            "ClassTrackingPerTxn": False,
            "ClassTrackingPerTxnLine": False,
            "FirstMonthOfFiscalYear": profile.fiscal_month,
            "TaxYearMonth": profile.fiscal_month,
            "CustomerTerminology": "Customers",
        },
        "ProductAndServicesPrefs": {
            "ForSales": True,
            "ForPurchase": True,
            "QuantityWithPriceAndRate": True,
            "QuantityOnHand": False,
        },
        "SalesFormsPrefs": {
            "CustomTxnNumbers": setup.custom_txn_numbers,
            "AllowDeposit": True,
            "AllowDiscount": True,
            "AllowEstimates": True,
            "AllowServiceDate": True,
            "AllowShipping": False,
            "AutoApplyCredit": True,
            "AutoApplyPayments": True,
            "DefaultTerms": {"value": default_terms},
            "EmailCopyToCompany": False,
            "ETransactionEnabledStatus": "NotApplicable",
            "IPNSupportEnabled": False,
            "UsingPriceLevels": False,
            "DefaultCustomerMessage": message,
        },
        "VendorAndPurchasesPrefs": {"TrackingByCustomer": False, "BillableExpenseTracking": False},
        "TimeTrackingPrefs": {
            "UseServices": False,
            "BillCustomers": True,
            "ShowBillRateToAll": False,
            "WorkWeekStartDate": "Monday",
            "MarkTimeEntriesBillable": True,
        },
        "TaxPrefs": tax_prefs,
        "CurrencyPrefs": {
            "MultiCurrencyEnabled": setup.multicurrency,
            "HomeCurrency": {"value": profile.currency},
        },
        "ReportPrefs": {"ReportBasis": "Accrual", "CalcAgingReportFromTxnDate": False},
        "OtherPrefs": {
            "NameValue": [
                {"Name": "SalesFormsPrefs.DefaultCustomerMessage", "Value": message},
                {"Name": "DateFormat", "Value": profile.date_format[0]},
                {"Name": "DateFormatMnemonic", "Value": profile.date_format[1]},
                {"Name": "WarnDuplicateCheckNumber", "Value": "true"},
                {"Name": "WarnDuplicateBillNumber", "Value": "false"},
                {"Name": "WarnDuplicateJournalNumber", "Value": "false"},
            ]
        },
    }


def preferences(company: Company) -> JsonObject:
    """The company's Preferences object ({} before it has one)."""
    return company.get("Preferences", PREFERENCES_ID) or {}


def _pref(company: Company, group: str, name: str, default: Any) -> Any:
    value = (preferences(company).get(group) or {}).get(name)
    return default if value is None else value


def using_sales_tax(company: Company) -> bool:
    """``TaxPrefs.UsingSalesTax``."""
    return bool(_pref(company, "TaxPrefs", "UsingSalesTax", True))


def multicurrency(company: Company) -> bool:
    """``CurrencyPrefs.MultiCurrencyEnabled``."""
    return bool(_pref(company, "CurrencyPrefs", "MultiCurrencyEnabled", False))


def custom_txn_numbers(company: Company) -> bool:
    """``SalesFormsPrefs.CustomTxnNumbers``."""
    return bool(_pref(company, "SalesFormsPrefs", "CustomTxnNumbers", True))


def default_terms(company: Company) -> str | None:
    """The Id in ``SalesFormsPrefs.DefaultTerms``."""
    ref = _pref(company, "SalesFormsPrefs", "DefaultTerms", None)
    return str(ref["value"]) if isinstance(ref, dict) and ref.get("value") else None


def check_change(current: JsonObject, changes: JsonObject) -> None:
    """What QuickBooks' settings screens refuse (12.3); raises ValueError.

    The home currency "cannot be changed", and multicurrency "cannot be disabled once
    it's been enabled".
    """
    currency = changes.get("CurrencyPrefs")
    if currency is None:
        return
    if not isinstance(currency, dict):
        raise ValueError("CurrencyPrefs must be an object")
    before = current.get("CurrencyPrefs") or {}
    if "HomeCurrency" in currency and currency["HomeCurrency"] != before.get("HomeCurrency"):
        raise ValueError("the home currency of a company cannot be changed")
    enabled = currency.get("MultiCurrencyEnabled", before.get("MultiCurrencyEnabled"))
    if not isinstance(enabled, bool):
        raise ValueError("MultiCurrencyEnabled must be true or false")
    if before.get("MultiCurrencyEnabled") and not enabled:
        raise ValueError("multicurrency cannot be turned off once it is on")
