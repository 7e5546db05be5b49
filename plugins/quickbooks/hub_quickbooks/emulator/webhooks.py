"""Webhook notifications, collected, signed and delivered as Intuit does.

Each committed change is queued for every app connected to the company. One worker per
(app, company) waits out the aggregation window, sends everything collected as one
signed POST and, until the receiver answers 200 within the time limit, retries on
Intuit's schedule; later events for that app and company wait behind it.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import hmac
import json
import logging
import uuid
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

from .registry import App
from .settings import EmulatorSettings

if TYPE_CHECKING:
    from .books import Change

logger = logging.getLogger(__name__)

#: Seconds between attempts (Intuit's "best practices" page); the last repeats.
RETRY_SCHEDULE = (10, 20, 30, 300, 1200, 7200, 14400, 21600)
CLOUDEVENTS_PER_POST = 100
_PAST_TENSE = {
    "Create": "created",
    "Update": "updated",
    "Delete": "deleted",
    "Merge": "merged",
    "Void": "voided",
    "Emailed": "emailed",
}


def intuit_signature(verifier_token: str, body: bytes) -> str:
    """Base64 of HMAC-SHA256 over the exact body, keyed with the verifier token."""
    digest = hmac.new(verifier_token.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def legacy_payload(realm_id: str, changes: list[Change]) -> dict[str, Any]:
    """One ``eventNotifications`` object for one company."""
    entities = [
        {
            "name": change.entity,
            "id": change.entity_id,
            "operation": change.operation,
            "lastUpdated": _millis_z(change.last_updated),
        }
        for change in changes
    ]
    return {
        "eventNotifications": [{"realmId": realm_id, "dataChangeEvent": {"entities": entities}}]
    }


def cloud_events(app: App, changes: list[Change]) -> list[dict[str, Any]]:
    """CloudEvents 1.0 objects, one per change."""
    source = "intuit." + base64.b64encode(hashlib.sha256(app.client_id.encode()).digest()).decode()
    return [
        {
            "specversion": "1.0",
            "id": str(uuid.uuid4()),
            "source": source,
            "type": (
                f"qbo.{change.entity.lower()}."
                f"{_PAST_TENSE.get(change.operation, change.operation.lower())}.v1"
            ),
            "datacontenttype": "application/json",
            "time": change.last_updated.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "intuitentityid": change.entity_id,
            "intuitaccountid": change.realm_id,
            "data": {},
        }
        for change in changes
    ]


def _millis_z(moment: dt.datetime) -> str:
    utc = moment.astimezone(dt.UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


@dataclass(frozen=True)
class DeliveryRecord:
    """One attempt, for the webhooks control."""

    url: str
    realm_id: str
    events: int
    attempt: int
    outcome: str
    status: int | None
    at: str


class WebhookSender:
    """Queues, workers and the HTTP client that deliver notifications."""

    def __init__(
        self,
        settings: EmulatorSettings,
        connected_apps: Callable[[str], set[str]],
        find_app: Callable[[str], App | None],
    ) -> None:
        self.settings = settings
        self.connected_apps = connected_apps
        self.find_app = find_app
        self.aggregation_seconds = settings.aggregation_seconds
        self.retry_scale = settings.retry_scale
        self.max_retries = settings.webhook_max_retries
        self.timeout = settings.webhook_timeout
        self.outcomes: Counter[str] = Counter()
        self.recent: deque[DeliveryRecord] = deque(maxlen=50)
        self._pending: dict[tuple[str, str], list[Change]] = {}
        self._wakeups: dict[tuple[str, str], asyncio.Event] = {}
        self._workers: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._client: httpx.AsyncClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    # --- configuration ---------------------------------------------------------------

    def target(self, app: App) -> tuple[str, str] | None:
        """Where and with which verifier token this app's notifications go."""
        url = app.webhook_url or self.settings.webhook_url
        token = app.verifier_token or self.settings.verifier_token
        if not url or token is None:
            return None
        return url, token

    def config(self) -> dict[str, Any]:
        """The adjustable knobs, as JSON."""
        return {
            "aggregation_seconds": self.aggregation_seconds,
            "retry_scale": self.retry_scale,
            "max_retries": self.max_retries,
            "timeout_seconds": self.timeout,
            "pending": sum(len(v) for v in self._pending.values()),
        }

    def configure(self, changes: dict[str, Any]) -> None:
        """Apply a control request; raises ValueError naming a bad field."""
        for key, value in changes.items():
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ValueError(f"{key} must be a non-negative number")
            if key == "aggregation_seconds":
                self.aggregation_seconds = float(value)
            elif key == "retry_scale":
                self.retry_scale = float(value)
            elif key == "max_retries":
                self.max_retries = int(value)
            elif key == "timeout_seconds" and value > 0:
                self.timeout = float(value)
            else:
                raise ValueError(f"unknown or invalid webhook setting {key!r}")

    # --- queueing ----------------------------------------------------------------------

    def on_change(self, change: Change) -> None:
        """Books listener: queue the change for every connected app with a webhook."""
        loop = self._loop
        if loop is not None and running_loop() is not loop:
            # A write made outside the server's event loop (a thread): hand it over.
            loop.call_soon_threadsafe(self._queue, change)
            return
        self._queue(change)

    def _queue(self, change: Change) -> None:
        for client_id in sorted(self.connected_apps(change.realm_id)):
            app = self.find_app(client_id)
            if app is None or self.target(app) is None:
                continue
            key = (client_id, change.realm_id)
            self._pending.setdefault(key, []).append(change)
            self._wake(key)

    def _wake(self, key: tuple[str, str]) -> None:
        event = self._wakeups.setdefault(key, asyncio.Event())
        event.set()
        if self._client is None:
            return  # not started yet; start() spawns the workers
        worker = self._workers.get(key)
        if worker is None or worker.done():
            self._workers[key] = asyncio.get_running_loop().create_task(
                self._work(key), name=f"webhooks:{key[1]}"
            )

    # --- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        """Open the HTTP client and start workers for anything already queued."""
        self._client = httpx.AsyncClient(follow_redirects=False)
        self._loop = asyncio.get_running_loop()
        for key in list(self._pending):
            self._wake(key)

    async def stop(self) -> None:
        """Cancel the workers and close the client (undelivered events are dropped)."""
        await self.cancel_workers()
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        self._loop = None

    async def cancel_workers(self) -> None:
        """Stop every worker and forget queued events."""
        workers = list(self._workers.values())
        for worker in workers:
            worker.cancel()
        for worker in workers:
            try:
                await worker
            except asyncio.CancelledError:
                pass
            except Exception:
                logger.exception("webhook worker failed")
        self._workers.clear()
        self._pending.clear()
        self._wakeups.clear()

    def reset_counters(self) -> None:
        """Forget delivery counts and history."""
        self.outcomes.clear()
        self.recent.clear()

    # --- delivering --------------------------------------------------------------------

    async def _work(self, key: tuple[str, str]) -> None:
        client_id, realm_id = key
        event = self._wakeups[key]
        while True:
            await event.wait()
            if self.aggregation_seconds > 0:
                await asyncio.sleep(self.aggregation_seconds)
            event.clear()
            changes = self._pending.pop(key, [])
            app = self.find_app(client_id)
            if not changes or app is None:
                continue
            for body in self._bodies(app, realm_id, changes):
                await self._deliver(app, realm_id, body)

    def _bodies(self, app: App, realm_id: str, changes: list[Change]) -> list[tuple[bytes, int]]:
        if app.webhook_format == "cloudevents":
            events = cloud_events(app, changes)
            chunks = [
                events[i : i + CLOUDEVENTS_PER_POST]
                for i in range(0, len(events), CLOUDEVENTS_PER_POST)
            ]
            return [(_dump(chunk), len(chunk)) for chunk in chunks]
        return [(_dump(legacy_payload(realm_id, changes)), len(changes))]

    async def _deliver(self, app: App, realm_id: str, body: tuple[bytes, int]) -> None:
        content, count = body
        attempt = 0
        while True:
            target = self.target(app)
            if target is None or self._client is None:
                return
            url, token = target
            headers = {
                "Content-Type": "application/json",
                "intuit-signature": intuit_signature(token, content),
            }
            status: int | None = None
            try:
                response = await self._client.post(
                    url, content=content, headers=headers, timeout=self.timeout
                )
                status = response.status_code
                outcome = "delivered" if status == 200 else "rejected"
            except httpx.TimeoutException:
                outcome = "timeout"
            except httpx.HTTPError:
                outcome = "unreachable"
            self.outcomes[outcome] += 1
            self.recent.append(
                DeliveryRecord(
                    url,
                    realm_id,
                    count,
                    attempt + 1,
                    outcome,
                    status,
                    dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
                )
            )
            if outcome == "delivered":
                return
            if attempt >= self.max_retries:
                self.outcomes["given_up"] += 1
                logger.warning("webhook to %s given up after %d attempts", url, attempt + 1)
                return
            delay = RETRY_SCHEDULE[min(attempt, len(RETRY_SCHEDULE) - 1)]
            attempt += 1
            await asyncio.sleep(delay * self.retry_scale)


def running_loop() -> asyncio.AbstractEventLoop | None:
    """The event loop running in this thread, or None in a plain thread."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _dump(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()
