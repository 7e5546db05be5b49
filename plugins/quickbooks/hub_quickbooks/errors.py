"""QuickBooks faults, and the hub errors they become.

QuickBooks reports problems as a ``Fault`` object (``{"Fault": {"Error": [...], "type":
...}}``), in a lower-case variant on 401/403 and sometimes as XML (throttling). This
module reads all three shapes and decides what the host should do about each.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hub.errors import (
    AuthRevoked,
    Conflict,
    IntegrationError,
    RateLimited,
    Rejected,
    Transient,
)
from hub.types import RecordError

#: Codes that mean the token, the app or the user may no longer act for the company.
AUTH_CODES = frozenset({"100", "120", "3100", "3200"})
THROTTLE_CODE = "3001"
STALE_OBJECT = "5010"
NOT_FOUND = "610"
DUPLICATE_DOC_NUMBER = "6140"
DUPLICATE_NAME = "6240"

DEFAULT_RETRY_AFTER = 60.0

_XML_ERROR = re.compile(
    r"<Error\b[^>]*\bcode=\"(?P<code>[^\"]*)\"[^>]*>(?P<body>.*?)</Error>", re.S
)
_XML_TAG = r"<{0}>(?P<value>.*?)</{0}>"
_XML_FAULT_TYPE = re.compile(r"<Fault\b[^>]*\btype=\"(?P<type>[^\"]*)\"")
_THROTTLE_TEXT = re.compile(r"ThrottleExceeded|errorCode=0*3001\b")


@dataclass(frozen=True)
class FaultError:
    """One entry of a fault's ``Error`` list."""

    code: str
    message: str
    detail: str = ""
    element: str = ""

    def describe(self) -> str:
        """Message and detail as one sentence, without repeating the message."""
        message = self.message.strip()
        detail = " ".join(self.detail.split())
        if not detail or detail == message:
            return message or f"error {self.code}"
        if not message or detail.startswith(message):
            return detail
        return f"{message}: {detail}"


@dataclass(frozen=True)
class Fault:
    """A QuickBooks fault: its type and its errors (the first one decides)."""

    type: str
    errors: tuple[FaultError, ...]

    @property
    def code(self) -> str:
        """The code of the first error ("" when there is none)."""
        return self.errors[0].code if self.errors else ""

    def has_code(self, *codes: str) -> bool:
        """Whether any error carries one of ``codes``."""
        return any(error.code in codes for error in self.errors)

    def describe(self) -> str:
        """Every error's message and detail, for a person to read."""
        return "; ".join(error.describe() for error in self.errors) or self.type


class QuickBooksRejected(Rejected):
    """QuickBooks refused a request for a reason that retrying will not fix."""

    def __init__(
        self, message: str, *, fault: Fault | None, support_reference: str | None = None
    ) -> None:
        code = fault.code if fault is not None and fault.code else "rejected"
        super().__init__(message, code=code, support_reference=support_reference)
        self.fault = fault

    def record_error(self) -> RecordError:
        """This refusal as a per-record error the host shows and does not retry."""
        return RecordError(
            code=self.code, message=self.message, support_reference=self.support_reference
        )


class StaleObject(Conflict):
    """QuickBooks answered 5010: the object changed since its SyncToken was read."""


def parse_fault(body: Any) -> Fault | None:
    """Read a fault from a decoded JSON body, in either key casing; None if there is none."""
    if not isinstance(body, Mapping):
        return None
    fault = body.get("Fault", body.get("fault"))
    if not isinstance(fault, Mapping):
        return None
    raw_errors = fault.get("Error", fault.get("error")) or []
    if isinstance(raw_errors, Mapping):
        raw_errors = [raw_errors]
    errors = []
    for raw in raw_errors if isinstance(raw_errors, list) else []:
        if not isinstance(raw, Mapping):
            continue
        errors.append(
            FaultError(
                code=_text(raw.get("code")),
                message=_text(raw.get("Message", raw.get("message"))),
                detail=_text(raw.get("Detail", raw.get("detail"))),
                element=_text(raw.get("element")),
            )
        )
    return Fault(type=_text(fault.get("type")), errors=tuple(errors))


def parse_xml_fault(text: str) -> Fault | None:
    """Read a fault from an ``IntuitResponse`` XML body (throttling, old 401s)."""
    errors = []
    for match in _XML_ERROR.finditer(text):
        body = match.group("body")
        errors.append(
            FaultError(
                code=match.group("code"),
                message=_xml_value(body, "Message"),
                detail=_xml_value(body, "Detail"),
            )
        )
    if not errors:
        return None
    fault_type = _XML_FAULT_TYPE.search(text)
    return Fault(type=fault_type.group("type") if fault_type else "", errors=tuple(errors))


def is_throttle(fault: Fault | None, text: str = "") -> bool:
    """Whether a response says QuickBooks throttled the request."""
    if fault is not None and fault.has_code(THROTTLE_CODE):
        return True
    return bool(_THROTTLE_TEXT.search(text))


def retry_after_seconds(value: str | None, now: dt.datetime | None = None) -> float:
    """Parse a ``Retry-After`` header (seconds or an HTTP date); 60 s when absent."""
    if not value:
        return DEFAULT_RETRY_AFTER
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return DEFAULT_RETRY_AFTER
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    now = now or dt.datetime.now(dt.UTC)
    return max(0.0, (when - now).total_seconds())


def error_for_fault(
    fault: Fault, *, subject: str, status_code: int, support_reference: str | None
) -> IntegrationError:
    """The hub error for a fault QuickBooks returned about ``subject``."""
    reason = fault.describe()
    if fault.has_code(THROTTLE_CODE):
        return RateLimited(
            f"QuickBooks is throttling requests for this company: {reason}",
            support_reference=support_reference,
        )
    if fault.has_code(*AUTH_CODES) or fault.type.lower() in {
        "authenticationfault",
        "authorizationfault",
        "authentication",
    }:
        return AuthRevoked(
            f"QuickBooks no longer lets the hub act for this company ({reason}). "
            "Reconnect QuickBooks from Manage Integrations.",
            support_reference=support_reference,
        )
    if fault.has_code(STALE_OBJECT):
        return StaleObject(
            f"{_capital(subject)} was changed in QuickBooks meanwhile: {reason}",
            support_reference=support_reference,
        )
    if status_code >= 500 or fault.type.lower() == "systemfault":
        return Transient(
            f"QuickBooks failed while handling {subject}: {reason}",
            support_reference=support_reference,
        )
    return QuickBooksRejected(
        f"QuickBooks refused {subject}: {reason}",
        fault=fault,
        support_reference=support_reference,
    )


def record_error_for_fault(
    fault: Fault, *, subject: str, support_reference: str | None
) -> RecordError:
    """A per-record error for a fault on one item of a batch."""
    return RecordError(
        code=fault.code or "rejected",
        message=f"QuickBooks refused {subject}: {fault.describe()}",
        retryable=False,
        support_reference=support_reference,
    )


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _xml_value(body: str, tag: str) -> str:
    match = re.search(_XML_TAG.format(tag), body, re.S)
    return match.group("value").strip() if match else ""
