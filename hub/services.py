"""The hub's moving parts, built once per process and shared by web and worker."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from hub.db import Database
from hub.http import ProviderHttp
from hub.inbox import InboxWriter
from hub.oauth import OAuthFlow
from hub.plugins import PluginHost
from hub.ratelimit import AccountLimiter
from hub.settings import Settings
from hub.vault import TokenCipher, Vault


@dataclass
class Services:
    """Database, plugins, vault, HTTP and the flows built on them."""

    settings: Settings
    db: Database
    plugins: PluginHost
    vault: Vault
    limiter: AccountLimiter
    http: ProviderHttp
    oauth: OAuthFlow
    inbox: InboxWriter

    @classmethod
    def build(
        cls,
        settings: Settings,
        *,
        plugins: PluginHost | None = None,
        db: Database | None = None,
    ) -> Services:
        """Wire everything from settings (plugins and database may be given)."""
        settings.require_secrets()
        db = db or Database(settings.database_url)
        plugins = plugins or PluginHost(settings)
        vault = Vault(db, TokenCipher(settings.encryption_keys), plugins)
        limiter = AccountLimiter(
            db, slot_lease=dt.timedelta(seconds=2 * settings.job_lease_seconds)
        )
        http = ProviderHttp(limiter)
        return cls(
            settings=settings,
            db=db,
            plugins=plugins,
            vault=vault,
            limiter=limiter,
            http=http,
            oauth=OAuthFlow(db, plugins, vault, http),
            inbox=InboxWriter(db),
        )
