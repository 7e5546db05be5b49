"""The minimal reference endpoint for the webhook ingress benchmark.

A bare Starlette app that does what any webhook receiver must: verify the
``intuit-signature`` HMAC over the raw body and insert one row into SQLite, then
answer 200. The hub's ``POST /webhooks/quickbooks`` is measured against it.

Run: ``python bench/reference_webhook.py --port 8100 --db /tmp/ref.db --token T``
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import sqlite3
import threading

import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route


def build_app(db_path: str, token: str) -> Starlette:
    """The reference receiver."""
    # One connection and a lock: the simplest fast way to write SQLite from threads.
    lock = threading.Lock()
    shared: dict[str, sqlite3.Connection] = {}
    setup = sqlite3.connect(db_path)
    setup.execute("PRAGMA journal_mode=WAL")
    setup.execute(
        "CREATE TABLE IF NOT EXISTS delivery (id INTEGER PRIMARY KEY, received TEXT, body BLOB)"
    )
    setup.commit()
    setup.close()

    def insert(body: bytes) -> None:
        with lock:
            conn = shared.get("conn")
            if conn is None:
                conn = shared["conn"] = sqlite3.connect(
                    db_path, timeout=30, check_same_thread=False
                )
                conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(
                "INSERT INTO delivery (received, body) VALUES (datetime('now'), ?)", (body,)
            )
            conn.commit()

    async def receive(request: Request) -> PlainTextResponse:
        body = await request.body()
        expected = base64.b64encode(hmac.new(token.encode(), body, hashlib.sha256).digest())
        sent = request.headers.get("intuit-signature", "").encode()
        if not hmac.compare_digest(expected, sent):
            return PlainTextResponse("Unauthorized", status_code=401)
        await run_in_threadpool(insert, body)
        return PlainTextResponse("OK")

    return Starlette(routes=[Route("/webhooks/quickbooks", receive, methods=["POST"])])


def main() -> None:
    """Serve the reference endpoint."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--db", required=True)
    parser.add_argument("--token", required=True)
    args = parser.parse_args()
    uvicorn.run(
        build_app(args.db, args.token),
        host="127.0.0.1",
        port=args.port,
        log_level="warning",
        access_log=False,
    )


if __name__ == "__main__":
    main()
