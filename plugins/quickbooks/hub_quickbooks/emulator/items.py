"""Rules of QuickBooks' Item and Account lists, and the chart a new company starts with."""

from __future__ import annotations

from . import faults
from .company import name_key
from .entities import Context, check_name, copy_fields
from .values import JsonObject, bool_of, date_of, decimal_of, ref_id, text_of

ACCOUNT_CLASSIFICATION = {
    "Bank": "Asset",
    "Other Current Asset": "Asset",
    "Fixed Asset": "Asset",
    "Other Asset": "Asset",
    "Accounts Receivable": "Asset",
    "Equity": "Equity",
    "Expense": "Expense",
    "Other Expense": "Expense",
    "Cost of Goods Sold": "Expense",
    "Accounts Payable": "Liability",
    "Credit Card": "Liability",
    "Long Term Liability": "Liability",
    "Other Current Liability": "Liability",
    "Income": "Revenue",
    "Other Income": "Revenue",
}

ITEM_TYPES = ("Inventory", "Service", "NonInventory", "Group", "Category")

#: The chart of accounts every new company starts with: (name, type, sub-type).
DEFAULT_ACCOUNTS = (
    ("Services", "Income", "ServiceFeeIncome"),
    ("Sales of Product Income", "Income", "SalesOfProductIncome"),
    ("Accounts Receivable (A/R)", "Accounts Receivable", "AccountsReceivable"),
    ("Undeposited Funds", "Other Current Asset", "UndepositedFunds"),
    ("Cost of Goods Sold", "Cost of Goods Sold", "SuppliesMaterialsCogs"),
    ("Inventory Asset", "Other Current Asset", "Inventory"),
)


# --- Item --------------------------------------------------------------------------------

_ITEM_FIELDS = (
    ("Description", "text:4000"),
    ("PurchaseDesc", "text:1000"),
    ("Sku", "text:100"),
    ("UnitPrice", "number"),
    ("PurchaseCost", "number"),
    ("SalesTaxIncluded", "bool"),
    ("PurchaseTaxIncluded", "bool"),
)


def build_item(ctx: Context, data: JsonObject, existing: JsonObject | None) -> JsonObject:
    """An Item: unique Name, a known Type, and the accounts its Type needs."""
    name = text_of(data, "Name", maximum=100)
    if name is None:
        raise faults.required("Name")
    check_name(name, "Name")
    item_type = text_of(data, "Type") or (existing or {}).get("Type") or "Service"
    if item_type not in ITEM_TYPES:
        raise faults.invalid_enum("Type", item_type)
    if existing is not None and existing.get("Type") != item_type:
        raise faults.business("The type of an item can't be changed.")
    obj: JsonObject = {"Name": name, "Type": item_type}
    parent = ctx.lookup("Item", data, "ParentRef")
    full_name = name
    if parent is not None:
        if parent.get("Type") != "Category":
            raise faults.business("An item's parent must be a category.")
        obj["ParentRef"] = {"value": parent["Id"], "name": parent["FullyQualifiedName"]}
        obj["SubItem"] = True
        obj["Level"] = int(parent.get("Level") or 0) + 1
        full_name = f"{parent['FullyQualifiedName']}:{name}"
    obj["FullyQualifiedName"] = full_name
    holder = ctx.company.item_names.get(name_key(full_name))
    if holder is not None and (existing is None or holder != existing["Id"]):
        raise faults.duplicate_name(holder)
    obj["Active"] = bool_of(data, "Active", True)
    if item_type == "Category":
        return obj
    obj.update(copy_fields(data, _ITEM_FIELDS))
    obj.setdefault("UnitPrice", 0)
    obj.setdefault("PurchaseCost", 0)
    if ctx.company.profile.us_model:
        obj["Taxable"] = bool_of(data, "Taxable", False)  # US only (12.2.5); else ignored
    for key in ("SalesTaxCodeRef", "PurchaseTaxCodeRef"):
        code = ctx.lookup("TaxCode", data, key)
        if code is not None:
            obj[key] = {"value": code["Id"], "name": code["Name"]}
    accounts = ["IncomeAccountRef"] if item_type != "Group" else []
    if item_type == "Inventory":
        accounts += ["ExpenseAccountRef", "AssetAccountRef"]
    elif data.get("ExpenseAccountRef") is not None:
        accounts.append("ExpenseAccountRef")
    for key in accounts:
        account = ctx.lookup("Account", data, key, required=True)
        assert account is not None
        obj[key] = {"value": account["Id"], "name": account["FullyQualifiedName"]}
    obj["TrackQtyOnHand"] = bool_of(data, "TrackQtyOnHand", False)
    if item_type == "Inventory":
        if not obj["TrackQtyOnHand"]:
            raise faults.required("TrackQtyOnHand")
        if data.get("QtyOnHand") is None:
            raise faults.required("QtyOnHand")
        start = date_of(data, "InvStartDate")
        if start is None:
            raise faults.required("InvStartDate")
        obj["QtyOnHand"] = float(decimal_of(data["QtyOnHand"], "QtyOnHand"))
        obj["InvStartDate"] = start.isoformat()
    return obj


# --- Account -----------------------------------------------------------------------------

_ACCOUNT_FIELDS = (("Description", "text:100"), ("AcctNum", "text:20"))


def build_account(ctx: Context, data: JsonObject, existing: JsonObject | None) -> JsonObject:
    """An Account: unique Name and a known AccountType."""
    name = text_of(data, "Name", maximum=100)
    if name is None:
        raise faults.required("Name")
    check_name(name, "Name")
    account_type = text_of(data, "AccountType")
    if account_type is None:
        raise faults.required("AccountType")
    if account_type not in ACCOUNT_CLASSIFICATION:
        raise faults.invalid_enum("AccountType", account_type)
    obj: JsonObject = {"Name": name}
    parent = ctx.lookup("Account", data, "ParentRef")
    full_name = name
    if parent is not None:
        obj["SubAccount"] = True
        obj["ParentRef"] = {"value": parent["Id"]}
        full_name = f"{parent['FullyQualifiedName']}:{name}"
    else:
        obj["SubAccount"] = False
    holder = ctx.company.account_names.get(name_key(full_name))
    if holder is not None and (existing is None or holder != existing["Id"]):
        raise faults.duplicate_name(holder)
    obj["FullyQualifiedName"] = full_name
    obj["Active"] = bool_of(data, "Active", True)
    obj["Classification"] = ACCOUNT_CLASSIFICATION[account_type]
    obj["AccountType"] = account_type
    sub_type = text_of(data, "AccountSubType")
    if sub_type is not None:
        obj["AccountSubType"] = sub_type
    obj.update(copy_fields(data, _ACCOUNT_FIELDS))
    obj["CurrentBalance"] = (existing or {}).get("CurrentBalance", 0)
    obj["CurrentBalanceWithSubAccounts"] = (existing or {}).get(
        "CurrentBalanceWithSubAccounts", 0
    )
    obj["CurrencyRef"] = (existing or {}).get("CurrencyRef") or ctx.currency_ref(
        ref_id(data, "CurrencyRef"), "account"
    )
    return obj
