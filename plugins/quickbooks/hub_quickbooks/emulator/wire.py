"""Small pieces of QuickBooks' wire format shared by the emulator's routes."""

from __future__ import annotations

import datetime as dt
import json
import os
import time
import zoneinfo
from typing import Any

from starlette.responses import Response

#: QuickBooks stamps responses in the data centre's local time (samples show -07:00).
QBO_ZONE = zoneinfo.ZoneInfo("America/Los_Angeles")
OAUTH_JSON = "application/json;charset=utf-8"
QBO_JSON = "application/json;charset=UTF-8"
QBO_XML = "application/xml;charset=UTF-8"


def new_intuit_tid() -> str:
    """A trace id shaped like Intuit's ``intuit_tid`` header (1-<8 hex>-<24 hex>)."""
    return f"1-{int(time.time()):08x}-{os.urandom(12).hex()}"


def qbo_time(moment: dt.datetime) -> str:
    """A response ``time`` value: local offset and milliseconds."""
    local = moment.astimezone(QBO_ZONE)
    return local.isoformat(timespec="milliseconds")


def oauth_response(status: int, body: dict[str, Any] | None) -> Response:
    """A token-endpoint style JSON answer (``application/json;charset=utf-8``)."""
    content = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
    return Response(
        content,
        status_code=status,
        media_type=OAUTH_JSON,
        headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
    )


def oauth_error(status: int, error: str, description: str | None = None) -> Response:
    """An OAuth error body as Intuit writes it (description first, when there is one)."""
    body: dict[str, Any] = {}
    if description:
        body["error_description"] = description
    body["error"] = error
    return oauth_response(status, body)


#: What Intuit's gateway adds to a 401 for a bad token (QBOAPI-VCR 401.yml, 12.4).
INVALID_TOKEN_CHALLENGE = 'Bearer realm="Intuit", error="invalid_token"'


def auth_fault(status: int, now: dt.datetime, detail: str | None) -> Response:
    """The lowercase ``fault`` body QuickBooks sends with 401 and 403.

    A 403 (a token without the accounting scope) says ``AuthorizationFailed`` with no
    detail (oauth-jsclient#2, node-quickbooks#154; 12.4 corrects the older
    ``ApplicationAuthorizationFailed``).
    """
    headers = {}
    if status == 401:
        message = "message=AuthenticationFailed; errorCode=003200; statusCode=401"
        code, kind = "3200", "AUTHENTICATION"
        headers["WWW-Authenticate"] = INVALID_TOKEN_CHALLENGE
    else:
        message = "message=AuthorizationFailed; errorCode=003100; statusCode=403"
        code, kind = "3100", "SERVICE"
    body: dict[str, Any] = {
        "warnings": None,
        "intuitObject": None,
        "fault": {
            "error": [{"message": message, "detail": detail, "code": code, "element": None}],
            "type": kind,
        },
        "report": None,
        "queryResponse": None,
        "batchItemResponse": [],
        "attachableResponse": [],
        "syncErrorResponse": None,
        "requestId": None,
        "time": int(now.timestamp() * 1000),
        "status": None,
        "cdcresponse": [],
    }
    return Response(
        json.dumps(body).encode(), status_code=status, media_type=QBO_JSON, headers=headers
    )


def wrong_realm_fault(now: dt.datetime) -> Response:
    """The 401 for a token used on another company: XML whatever the client accepts.

    Captured in intuit/oauth-jsclient#91 and #135; an Intuit engineer reproduced it "with
    the incorrect token/realm combination" (12.4).
    """
    xml = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        f'<IntuitResponse xmlns="http://schema.intuit.com/finance/v3" time="{qbo_time(now)}">'
        '<Fault type="AuthenticationFault"><Error code="100">'
        "<Message>General Authentication Error</Message>"
        "<Detail>AuthenticationErrorGeneral: SRV-110-Authentication Failure , statusCode: 401"
        "</Detail></Error></Fault></IntuitResponse>"
    )
    return Response(xml.encode(), status_code=401, media_type=QBO_XML)


THROTTLE_MESSAGE = "message=ThrottleExceeded; errorCode=003001; statusCode=429"
THROTTLE_DETAIL = "The request limit was reached.  Try again later"


def throttle_body(now: dt.datetime, as_json: bool) -> tuple[bytes, str]:
    """The 429 body: XML as QuickBooks sends it, or the JSON Fault when asked for."""
    stamp = qbo_time(now)
    if as_json:
        body = {
            "Fault": {
                "Error": [
                    {"Message": THROTTLE_MESSAGE, "Detail": THROTTLE_DETAIL, "code": "3001"}
                ],
                "type": "SERVICE",
            },
            "time": stamp,
        }
        return json.dumps(body).encode(), QBO_JSON
    xml = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<IntuitResponse xmlns="http://schema.intuit.com/finance/v3" time="{stamp}">'
        '<Fault type="SERVICE"><Error code="3001" element="">'
        f"<Message>{THROTTLE_MESSAGE}</Message><Detail>{THROTTLE_DETAIL}</Detail>"
        "</Error></Fault></IntuitResponse>"
    )
    return xml.encode(), QBO_XML


def system_fault(now: dt.datetime) -> bytes:
    """The body of an (injected) HTTP 500 from the Accounting API."""
    body = {
        "Fault": {
            "Error": [
                {
                    "Message": "An application error has occurred while processing your request",
                    "Detail": "System Failure Error: An unexpected error occurred while "
                    "accessing or saving your data. Please wait a few minutes and try again.",
                    "code": "10000",
                }
            ],
            "type": "SystemFault",
        },
        "time": qbo_time(now),
    }
    return json.dumps(body).encode()


SERVICE_UNAVAILABLE_HTML = (
    b"<html><head><title>503 Service Temporarily Unavailable</title></head><body>"
    b"<center><h1>503 Service Temporarily Unavailable</h1></center></body></html>"
)
