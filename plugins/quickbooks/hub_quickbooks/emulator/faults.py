"""QuickBooks' Fault answers: the error codes, messages and details the books send.

Every refusal is an ``ApiError`` raised deep in the books and turned into the Fault JSON
QuickBooks writes (``{"Fault": {"Error": [...], "type": ...}, "time": ...}``).
"""

from __future__ import annotations

from typing import Any

INACTIVE_DETAIL = (
    "Something you're trying to use has been made inactive. "
    "Check the fields with accounts, customers, items, vendors or employees."
)
STALE_DETAIL = (
    "Stale Object Error : You and root were working on this at the same time. "
    "root finished before you did, so your work was not saved."
)


class ApiError(Exception):
    """A request QuickBooks refuses, with the code, message and detail it answers."""

    def __init__(
        self,
        code: str,
        message: str,
        detail: str,
        *,
        element: str = "",
        status: int = 400,
        kind: str = "ValidationFault",
    ) -> None:
        super().__init__(f"{code} {message}: {detail}")
        self.code = code
        self.message = message
        self.detail = detail
        self.element = element
        self.status = status
        self.kind = kind

    def error(self) -> dict[str, Any]:
        """One entry of ``Fault.Error``."""
        return {
            "Message": self.message,
            "Detail": self.detail,
            "code": self.code,
            "element": self.element,
        }

    def fault(self) -> dict[str, Any]:
        """The ``Fault`` object of a whole response."""
        return {"Error": [self.error()], "type": self.kind}

    def batch_fault(self) -> dict[str, Any]:
        """The ``Fault`` object of one batch item (QuickBooks writes ``type`` first there)."""
        return {"type": self.kind, "Error": [self.error()]}


def unsupported(operation: str) -> ApiError:
    """500 Unsupported Operation: a path, method or operation QuickBooks does not offer."""
    return ApiError("500", "Unsupported Operation", f"Operation {operation} is not supported.")


def no_resource(method: str) -> ApiError:
    """What QuickBooks answers for a path or method it has no handler for."""
    return unsupported(f"No resource method found for {method}, return 405 with Allow header")


def not_utf8() -> ApiError:
    """A body that is not UTF-8 (the wording of QuickBooks' XML parser)."""
    return unsupported(
        "com.sun.org.apache.xerces.internal.impl.io.MalformedByteSequenceException: "
        "Invalid byte 1 of 1-byte UTF-8 sequence."
    )


def invalid_property(detail: str, element: str = "") -> ApiError:
    """2010: a body or a field QuickBooks cannot read."""
    return ApiError(
        "2010",
        "Request has invalid or unsupported property",
        f"Property Name:{detail} specified is unsupported or invalid",
        element=element,
    )


def required(name: str) -> ApiError:
    """2020: a required field is missing."""
    return ApiError(
        "2020",
        "Required param missing, need to supply the required value for the API",
        f"Required parameter {name} is missing in the request",
        element=name,
    )


def string_length(name: str, maximum: int, supplied: int) -> ApiError:
    """2050: a text field longer than QuickBooks stores."""
    return ApiError(
        "2050",
        "String length is either shorter or longer than supported by specification",
        f"String length specified does not match the supported length. Min:0 Max:{maximum} "
        f"supported. Supplied length:{supplied}",
        element=name,
    )


def invalid_enum(name: str, value: object) -> ApiError:
    """2170: a value outside a field's enumeration."""
    return ApiError(
        "2170", "Invalid Enumeration", f"Invalid Enumeration : {value}", element=name
    )


def invalid_reference(name: str, value: object) -> ApiError:
    """2500: a reference to an object that does not exist."""
    return ApiError(
        "2500",
        "Invalid Reference Id",
        f"Invalid Reference Id : {INACTIVE_DETAIL}",
        element=name or f"Id={value}",
    )


def not_found() -> ApiError:
    """610: the object asked for does not exist, or a reference is inactive."""
    return ApiError("610", "Object Not Found", f"Object Not Found : {INACTIVE_DETAIL}")


def deleted() -> ApiError:
    """610 for a transaction that was deleted."""
    return ApiError(
        "610", "Object Not Found", "Object Not Found : Another user has deleted this transaction."
    )


def query_error(detail: str) -> ApiError:
    """4000: a query QuickBooks cannot parse or run."""
    return ApiError("4000", "Error parsing query", detail)


def query_invalid(detail: str) -> ApiError:
    """4001: a query that parses but asks for something QuickBooks does not allow (12.4)."""
    return ApiError("4001", "Invalid query", detail)


def stale() -> ApiError:
    """5010: the SyncToken sent is not the object's current one."""
    return ApiError("5010", "Stale Object Error", STALE_DETAIL)


def business(detail: str) -> ApiError:
    """6000: a business rule refuses the request."""
    return ApiError(
        "6000",
        "A business validation error has occurred while processing your request",
        f"Business Validation Error: {detail}",
    )


def missing_tax_code(tax_word: str) -> ApiError:
    """6000: a non-US sales line without a TaxCodeRef (12.2.3; the AU text is unverified)."""
    return business(f"Make sure all your transactions have a {tax_word} rate before you save.")


def tax_calculation(locale: str) -> ApiError:
    """6000: a tax code or amount the tax engine cannot apply (12.2.3).

    QuickBooks ends this Detail with a help link; the captured one (ruckus#369) is for
    en_CA, and the link for other locales is assumed to differ only in ``locale``.
    """
    return business(
        "We're sorry, QuickBooks encountered an error while calculating tax. Try reselecting "
        "the tax rate or reentering the product/service item and saving the form again. "
        "<a href='https://support.qbo.intuit.com/support/help-article.cfm?faq_id=5558&"
        f"locale={locale}' target=\"_blank\" title=\"Help\">Please click here for more "
        "information</a>"
    )


def invalid_us_line_code(supplied: str) -> ApiError:
    """6100: a US line TaxCodeRef other than TAX or NON (2015 capture, 12.2.3)."""
    return ApiError(
        "6100",
        "Invalid Line TaxCode in the request",
        f"Valid line TaxCodes for US should be TAX or NON. Supplied value: {supplied}",
        element="Line.SalesItemLineDetail.TaxCodeRef",
    )


def request_id_too_long(value: str) -> ApiError:
    """6000: a ``requestid`` over 50 characters (intuit/QuickBooks-V3-Java-SDK#180)."""
    return business(
        "You cannot enter more than 50 characters in the request_id field. "
        f"You tried entering {value}, which is {len(value)} characters."
    )


def amount_mismatch(supplied: object) -> ApiError:
    """6070: a line's Amount is not its Qty times its UnitPrice."""
    return ApiError(
        "6070",
        "Amount calculation incorrect in the request",
        f"Amount is not equal to Qty * UnitPrice. Supplied value:{supplied}",
        element="Line.Amount",
    )


def duplicate_name(existing_id: str) -> ApiError:
    """6240: the name is already used (newer QuickBooks names the holder's Id)."""
    return ApiError(
        "6240",
        "Duplicate Name Exists Error",
        f"The name supplied already exists. : Id={existing_id}",
    )


def duplicate_doc_number() -> ApiError:
    """6140: the DocNumber is already used by another transaction of the same kind."""
    return ApiError(
        "6140",
        "Duplicate Document Number Error",
        "Duplicate Document Number Error : You must specify a different number. "
        "This number has already been used.",
        element="DocNumber",
    )


def batch_too_large(size: int, limit: int) -> ApiError:
    """1040: more items in a batch than QuickBooks accepts."""
    return ApiError(
        "1040",
        "Batch size exceeds allowed limit",
        f"Batch size {size} exceeds the allowed limit of {limit}.",
    )


def system_failure() -> ApiError:
    """10000: QuickBooks' own failure, as an HTTP 500 SystemFault."""
    return ApiError(
        "10000",
        "An application error has occurred while processing your request",
        "System Failure Error: An unexpected error occurred while accessing or saving your "
        "data. Please wait a few minutes and try again.",
        status=500,
        kind="SystemFault",
    )
