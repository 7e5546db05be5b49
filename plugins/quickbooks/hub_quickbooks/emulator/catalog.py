"""The entities the books serve: their rules, URL names and queryable properties."""

from __future__ import annotations

from . import faults
from .entities import Context, Spec, build_company_info, party_builder
from .invoices import build_invoice
from .items import build_account, build_item
from .payments import build_payment
from .terms import build_term
from .values import JsonObject

_COMMON = ("Id", "SyncToken", "MetaData", "domain", "sparse")
_PARTY = (
    "DisplayName", "Title", "GivenName", "MiddleName", "FamilyName", "Suffix", "CompanyName",
    "PrintOnCheckName", "FullyQualifiedName", "PrimaryEmailAddr", "PrimaryPhone", "Mobile",
    "Fax", "AlternatePhone", "WebAddr", "Active", "Balance", "CurrencyRef",
)  # fmt: skip

_FIELDS: dict[str, tuple[str, ...]] = {
    "Customer": (
        *_PARTY, "BillAddr", "ShipAddr", "Notes", "ResaleNum", "PreferredDeliveryMethod",
        "BusinessNumber", "GSTIN", "GSTRegistrationType", "PrimaryTaxIdentifier",
        "TaxExemptionReasonId", "BillWithParent", "DefaultTaxCodeRef", "SalesTermRef",
        "PaymentMethodRef", "CustomerTypeRef", "ParentRef", "Job", "Level", "Taxable",
        "BalanceWithJobs", "IsProject",
    ),
    "Vendor": (*_PARTY, "BillAddr", "AcctNum", "TaxIdentifier", "Vendor1099", "TermRef"),
    "Employee": (
        *_PARTY, "PrimaryAddr", "EmployeeNumber", "Gender", "BillableTime", "HiredDate",
        "ReleasedDate", "BirthDate",
    ),
    "Item": (
        "Name", "Type", "FullyQualifiedName", "Active", "Description", "PurchaseDesc", "Sku",
        "UnitPrice", "PurchaseCost", "Taxable", "SalesTaxIncluded", "PurchaseTaxIncluded",
        "SalesTaxCodeRef", "PurchaseTaxCodeRef", "IncomeAccountRef", "ExpenseAccountRef",
        "AssetAccountRef", "TrackQtyOnHand", "QtyOnHand", "InvStartDate", "ParentRef",
        "SubItem", "Level",
    ),
    "Account": (
        "Name", "FullyQualifiedName", "Active", "Classification", "AccountType",
        "AccountSubType", "Description", "AcctNum", "SubAccount", "ParentRef",
        "CurrentBalance", "CurrentBalanceWithSubAccounts", "CurrencyRef",
    ),
    "CompanyInfo": (
        "CompanyName", "LegalName", "CompanyAddr", "CustomerCommunicationAddr", "LegalAddr",
        "PrimaryPhone", "Email", "WebAddr", "FiscalYearStartMonth", "CompanyStartDate",
        "Country", "SupportedLanguages", "NameValue",
    ),
    "Invoice": (
        "DocNumber", "TxnDate", "DueDate", "CurrencyRef", "CustomerRef", "Line",
        "TxnTaxDetail", "TotalAmt", "Balance", "Deposit", "ApplyTaxAfterDiscount",
        "PrintStatus", "EmailStatus", "GlobalTaxCalculation", "BillEmail", "BillEmailCc",
        "BillEmailBcc", "CustomerMemo", "PrivateNote", "SalesTermRef", "ClassRef",
        "DepartmentRef", "ShipDate", "TrackingNum", "AllowIPNPayment", "AllowOnlinePayment",
        "AllowOnlineCreditCardPayment", "AllowOnlineACHPayment", "CustomField", "BillAddr",
        "ShipAddr", "LinkedTxn", "DeliveryInfo", "ExchangeRate", "HomeTotalAmt", "HomeBalance",
    ),
    "Payment": (
        "CustomerRef", "TxnDate", "CurrencyRef", "TotalAmt", "UnappliedAmt", "ProcessPayment",
        "Line", "DepositToAccountRef", "PaymentRefNum", "PrivateNote", "PaymentMethodRef",
    ),
    "Term": (
        "Name", "Active", "Type", "DueDays", "DiscountPercent", "DiscountDays", "DayOfMonthDue",
        "DueNextMonthDays", "DiscountDayOfMonth",
    ),
    "TaxCode": (
        "Name", "Description", "Active", "Hidden", "Taxable", "TaxGroup", "SalesTaxRateList",
        "PurchaseTaxRateList", "TaxCodeConfigType",
    ),
    "TaxRate": (
        "Name", "Description", "Active", "RateValue", "AgencyRef", "SpecialTaxType",
        "DisplayType", "EffectiveTaxRate", "TaxReturnLineRef", "OriginalTaxRate",
    ),
    "TaxAgency": ("DisplayName", "TaxTrackedOnSales", "TaxTrackedOnPurchases"),
    "Preferences": (
        "AccountingInfoPrefs", "ProductAndServicesPrefs", "SalesFormsPrefs",
        "VendorAndPurchasesPrefs", "TimeTrackingPrefs", "TaxPrefs", "CurrencyPrefs",
        "ReportPrefs", "OtherPrefs", "EmailMessagesPrefs",
    ),
}  # fmt: skip


def _read_only(ctx: Context, data: JsonObject, existing: JsonObject | None) -> JsonObject:
    """Objects the API only reads (the Writer refuses writes before building)."""
    raise faults.unsupported("Update")



SPECS: dict[str, Spec] = {
    "Customer": Spec("Customer", "name", party_builder("Customer")),
    "Vendor": Spec("Vendor", "name", party_builder("Vendor")),
    "Employee": Spec("Employee", "name", party_builder("Employee")),
    "Item": Spec("Item", "name", build_item),
    "Account": Spec("Account", "name", build_account),
    "CompanyInfo": Spec("CompanyInfo", "company", build_company_info),
    "Invoice": Spec("Invoice", "transaction", build_invoice),
    "Payment": Spec("Payment", "transaction", build_payment),
    "Term": Spec("Term", "name", build_term),
    # QuickBooks creates tax codes and rates with its TaxService API (12.1), which the
    # emulator does not offer: through this API they, and agencies, are only read.
    "TaxCode": Spec("TaxCode", "tax", _read_only),
    "TaxRate": Spec("TaxRate", "tax", _read_only),
    "TaxAgency": Spec("TaxAgency", "tax", _read_only),
    "Preferences": Spec("Preferences", "settings", _read_only),
}

#: Lower-case name (URL segment, query FROM, CDC list) -> entity name.
BY_LOWER = {name.lower(): name for name in SPECS}

#: Entity -> lower-case property name -> property name.
PROPERTIES: dict[str, dict[str, str]] = {
    name: {prop.lower(): prop for prop in (*_COMMON, *fields)} for name, fields in _FIELDS.items()
}

#: Writable properties copied from a stored object into a sparse update.
WRITABLE: dict[str, frozenset[str]] = {
    name: frozenset(fields) for name, fields in _FIELDS.items()
}

#: Computed properties a sparse update does not carry over from the stored object: the
#: books recompute them (a stored TxnTaxDetail must not pass for a client's override).
DERIVED = frozenset({"TxnTaxDetail", "HomeTotalAmt", "HomeBalance"})
#: Client inputs inside a derived property that a sparse update does carry over: a US
#: invoice keeps its tax group (TxnTaxDetail.TxnTaxCodeRef, 12.2.5).
SPARSE_INPUTS = {"TxnTaxDetail": ("TxnTaxCodeRef",)}

#: Entities change data capture serves ("Not available for ... TaxAgency, TaxCode and
#: TaxRate", 2.9).
CDC_ENTITIES = frozenset(SPECS) - {"TaxCode", "TaxRate", "TaxAgency"}

#: Entities Intuit sends webhooks for (of those the emulator has); changes to others
#: (CompanyInfo, tax codes and rates) are not notified.
NOTIFIED = frozenset(
    {"Account", "Customer", "Employee", "Invoice", "Item", "Payment", "Preferences",
     "TaxAgency", "Term", "Vendor"}
)  # fmt: skip

#: Entities counted by ``Books.counts`` even when a company has none yet.
COUNTED = ("Customer", "Item", "Invoice", "Payment", "Vendor", "Employee", "Account")
