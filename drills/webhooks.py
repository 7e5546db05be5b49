"""Webhook helpers for the drills: a recording relay, signing, and legacy payloads."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx


def sign(token: str, body: bytes) -> str:
    """``intuit-signature``: base64 of HMAC-SHA256 over the exact body."""
    return base64.b64encode(hmac.new(token.encode(), body, hashlib.sha256).digest()).decode()


def legacy_body(
    realm: str, entity: str, entity_id: str, operation: str, when: dt.datetime
) -> bytes:
    """One QuickBooks (legacy format) notification of one change."""
    stamp = when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{when.microsecond // 1000:03d}Z"
    )
    return json.dumps(
        {
            "eventNotifications": [
                {
                    "realmId": realm,
                    "dataChangeEvent": {
                        "entities": [
                            {"name": entity, "id": entity_id, "operation": operation,
                             "lastUpdated": stamp}
                        ]
                    },
                }
            ]
        },
        separators=(",", ":"),
    ).encode()


def changes_in(body: bytes) -> set[tuple[str, str, str, str, str]]:
    """The distinct (realm, entity, id, operation, lastUpdated) a legacy delivery names."""
    found = set()
    for notification in json.loads(body)["eventNotifications"]:
        for entity in notification["dataChangeEvent"]["entities"]:
            found.add(
                (
                    notification["realmId"], entity["name"], entity["id"],
                    entity["operation"], entity["lastUpdated"],
                )
            )
    return found


class Relay:
    """Stands between QuickBooks and the hub: forwards each delivery and keeps a copy."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.deliveries: list[tuple[bytes, str]] = []
        self.lock = threading.Lock()
        self.client = httpx.Client(timeout=10)
        relay = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                signature = self.headers.get("intuit-signature", "")
                with relay.lock:
                    relay.deliveries.append((body, signature))
                try:
                    answer = relay.client.post(
                        relay.target,
                        content=body,
                        headers={"intuit-signature": signature,
                                 "content-type": "application/json"},
                    )
                    status = answer.status_code
                except httpx.HTTPError:
                    status = 502
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass  # the drill reports what matters

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/relay"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def captured(self) -> list[tuple[bytes, str]]:
        """Every delivery seen so far, in arrival order."""
        with self.lock:
            return list(self.deliveries)

    def close(self) -> None:
        """Stop relaying."""
        self.server.shutdown()
        self.server.server_close()
        self.client.close()


def send_all(
    url: str, requests: list[tuple[bytes, dict[str, str]]], *, senders: int = 8
) -> list[int]:
    """POST every prepared request, ``senders`` at a time; the statuses in order."""
    statuses: list[int] = [0] * len(requests)
    position = iter(range(len(requests)))
    lock = threading.Lock()

    def sender() -> None:
        with httpx.Client(timeout=30) as client:
            while True:
                with lock:
                    index = next(position, None)
                if index is None:
                    return
                body, headers = requests[index]
                try:
                    statuses[index] = client.post(url, content=body, headers=headers).status_code
                except httpx.HTTPError:
                    statuses[index] = -1

    threads = [threading.Thread(target=sender) for _ in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses
