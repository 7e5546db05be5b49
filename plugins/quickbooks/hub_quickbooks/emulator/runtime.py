"""The emulator's running state: books, apps, tokens, limits, faults, webhooks, stats."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import threading
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from .books import Books, CompanySetup
from .clock import Clock
from .fault_injection import FaultInjector
from .idtoken import SigningKey
from .limits import LimitSettings, Throttle
from .regions import region_of
from .registry import App, Registry, new_client_id, new_client_secret, new_realm_id
from .rules import BookRules
from .settings import EmulatorSettings
from .state import StateFile
from .stats import Stats
from .tokens import TokenStore
from .webhooks import WebhookSender, running_loop

if TYPE_CHECKING:
    from .books import Change

logger = logging.getLogger(__name__)
T = TypeVar("T")


#: Seconds between a change and the state file being written (changes come in bursts).
SAVE_DELAY = 0.2


@functools.cache
def _process_signing_key() -> SigningKey:
    # RSA key generation is slow; instances without a state file share one key.
    return SigningKey.generate()


class Emulator:
    """Everything one emulator instance knows; the web layer reads and changes it."""

    def __init__(self, settings: EmulatorSettings) -> None:
        self.settings = settings
        self.clock = Clock()
        self.registry = Registry()
        self.tokens = TokenStore(
            now=self.clock.timestamp,
            access_ttl=settings.access_token_ttl,
            code_ttl=settings.auth_code_ttl,
        )
        self.books = self._new_books()
        #: Held while the books are read or changed. Accounting API requests run the
        #: books in a worker thread, so the event loop stays free to take each new
        #: request (and count it against the limits) the moment it arrives, as
        #: Intuit's gateway does, however long another company's batch takes.
        self.books_lock = threading.RLock()
        self.limits = self._fresh_limits()
        self.throttle = Throttle(self.limits, self.clock.monotonic)
        self.faults = FaultInjector(self.clock.monotonic)
        self.stats = Stats()
        self.webhooks = WebhookSender(settings, self.tokens.connected_apps, self.registry.app)
        self.signing_key = _process_signing_key()
        self.user_id = str(uuid.uuid4())
        self.state_file = StateFile(settings.state_path) if settings.state_path else None
        self._unsaved = False
        self._wake_saver: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._saver: asyncio.Task[None] | None = None
        saved = self.state_file.load() if self.state_file else None
        if saved is not None:
            self.restore(saved)
            # The start-up app's keys come from the environment, which may have changed.
            self._register_startup_app()
        elif settings.seed:
            self.seed()

    # --- set-up ------------------------------------------------------------------------

    def _rules(self) -> BookRules:
        return BookRules(
            zero_rate_tax_lines=self.settings.zero_rate_tax_lines,
            tax_override=self.settings.tax_override,
        )

    def _new_books(self) -> Books:
        books = Books(self.clock.now, self._rules())
        books.listeners.append(self._on_change)
        return books

    def _fresh_limits(self) -> LimitSettings:
        return LimitSettings(enabled=self.settings.limits, latency_ms=self.settings.latency_ms)

    def seed(self) -> None:
        """One sandbox company and, when configured, the start-up app."""
        profile = region_of(self.settings.region)
        self.add_company(self.settings.company_name or profile.sandbox_name, region=profile.code)
        self._register_startup_app()

    def _register_startup_app(self) -> None:
        if self.settings.client_id:
            self.register_app(
                {
                    "client_id": self.settings.client_id,
                    "client_secret": self.settings.client_secret,
                    "redirect_uris": list(self.settings.redirect_uris),
                }
            )

    def reset(self, *, seed: bool | None = None) -> None:
        """Back to a fresh start: no data, no tokens, real time, default limits."""
        self.clock.reset()
        self.registry.apps.clear()
        self.registry.companies.clear()
        self.tokens.clear()
        self.books = self._new_books()
        fresh = self._fresh_limits()
        for name, value in vars(fresh).items():
            setattr(self.limits, name, value)
        self.throttle.clear()
        self.faults.clear()
        self.stats.clear()
        self.webhooks.reset_counters()
        self.webhooks.aggregation_seconds = self.settings.aggregation_seconds
        self.webhooks.retry_scale = self.settings.retry_scale
        if self.settings.seed if seed is None else seed:
            self.seed()
        self.mark_dirty()

    def add_company(
        self,
        name: str,
        *,
        realm_id: str | None = None,
        region: str = "AU",
        setup: CompanySetup | None = None,
    ) -> str:
        """Create a company; returns its realm id."""
        realm = realm_id or new_realm_id()
        while realm_id is None and realm in self.registry.companies:
            realm = new_realm_id()
        if realm in self.registry.companies:
            raise ValueError(f"company {realm} already exists")
        with self.books_lock:
            self.books.add_company(realm, name, region=region, setup=setup)
        self.registry.companies[realm] = name
        self.mark_dirty()
        return realm

    def register_app(self, spec: dict[str, Any]) -> tuple[App, bool]:
        """Create or update an app from a control request; returns it and if it is new."""
        client_id = spec.get("client_id") or new_client_id()
        existing = self.registry.app(str(client_id))
        uris = spec.get("redirect_uris", existing.redirect_uris if existing else [])
        if isinstance(uris, str):
            uris = [uris]
        if not isinstance(uris, list) or not all(isinstance(u, str) for u in uris):
            raise ValueError("redirect_uris must be a list of URLs")
        fmt = spec.get("webhook_format") or (
            existing.webhook_format if existing else self.settings.webhook_format
        )
        if fmt not in ("legacy", "cloudevents"):
            raise ValueError('webhook_format must be "legacy" or "cloudevents"')
        app = App(
            client_id=str(client_id),
            client_secret=str(
                spec.get("client_secret")
                or (existing.client_secret if existing else new_client_secret())
            ),
            redirect_uris=list(uris),
            name=str(spec.get("name") or (existing.name if existing else "Emulated app")),
            webhook_url=spec.get("webhook_url", existing.webhook_url if existing else None),
            verifier_token=spec.get(
                "verifier_token", existing.verifier_token if existing else None
            ),
            webhook_format=fmt,
        )
        if app.webhook_url and not (app.verifier_token or self.settings.verifier_token):
            # Intuit shows every app with a webhook a verifier token; make one up.
            app.verifier_token = str(uuid.uuid4())
        self.registry.apps[app.client_id] = app
        self.mark_dirty()
        return app, existing is None

    # --- persistence -------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """Everything worth keeping across a restart, as JSON."""
        self.tokens.purge()
        return {
            "clock_offset": self.clock.offset_seconds,
            "registry": self.registry.to_dict(),
            "tokens": self.tokens.to_dict(),
            "books": self.with_books(lambda books: books.to_dict()),
            "signing_key": self.signing_key.to_dict(),
            "user_id": self.user_id,
        }

    def restore(self, data: dict[str, Any]) -> None:
        """Load a ``snapshot``."""
        self.clock.offset_seconds = float(data.get("clock_offset", 0.0))
        registry = Registry.from_dict(data.get("registry", {}))
        self.registry.apps = registry.apps
        self.registry.companies = registry.companies
        self.tokens.load(data.get("tokens", {}))
        self.books = Books.from_dict(data["books"], self.clock.now, self._rules())
        self.books.listeners.append(self._on_change)
        if "signing_key" in data:
            self.signing_key = SigningKey.from_dict(data["signing_key"])
        self.user_id = str(data.get("user_id") or self.user_id)

    def with_books(self, use: Callable[[Books], T]) -> T:
        """``use(books)`` with the books to itself (from any thread)."""
        with self.books_lock:
            return use(self.books)

    def mark_dirty(self) -> None:
        """Something changed: save soon (when a state file is configured)."""
        if self.state_file is not None:
            self._unsaved = True
            wake = self._wake_saver
            if wake is not None and self._loop is not None and running_loop() is not self._loop:
                self._loop.call_soon_threadsafe(wake.set)  # a change made in a worker thread
            elif wake is not None:
                wake.set()

    def save_now(self) -> None:
        """Write the state file at once."""
        if self.state_file is not None:
            self._unsaved = False
            self.state_file.save(self.snapshot())

    async def _save_loop(self, wake: asyncio.Event) -> None:
        while True:
            await wake.wait()
            await asyncio.sleep(SAVE_DELAY)
            wake.clear()
            try:
                self.save_now()
            except OSError:
                logger.exception("could not save the emulator state")

    def _on_change(self, change: Change) -> None:
        self.webhooks.on_change(change)
        self.mark_dirty()

    # --- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        """Start background work: webhook delivery and state saving."""
        await self.webhooks.start()
        self._loop = asyncio.get_running_loop()
        if self.state_file is not None:
            self._wake_saver = asyncio.Event()
            if self._unsaved:
                self._wake_saver.set()
            self._saver = asyncio.get_running_loop().create_task(self._save_loop(self._wake_saver))

    async def stop(self) -> None:
        """Stop background work and save one last time."""
        await self.webhooks.stop()
        if self._saver is not None:
            self._saver.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._saver
            self._saver = None
        self._wake_saver = None
        self._loop = None
        self.save_now()
