"""Token storage: encryption at rest, and single-flight refresh across processes.

Tokens are encrypted with Fernet (``HUB_ENCRYPTION_KEYS``, newest first). Plugins get
an access token only from ``ctx.access_token()``, which lands here. A refresh takes
the connection's row lock (PostgreSQL ``SELECT ... FOR UPDATE``; on SQLite the
database write lock of an IMMEDIATE transaction), re-reads the stored tokens, and
refreshes only if nobody else did meanwhile, so a rotated refresh token is never
lost and two refreshes never race.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import warnings
import weakref
from collections.abc import Sequence
from typing import Any

import authlib.deprecate  # noqa: F401  (installs authlib's warning filter before ours)
import httpx

with warnings.catch_warnings():
    # authlib announces at import that it prefers httpx2; the hub uses httpx on purpose.
    warnings.simplefilter("ignore")
    from authlib.integrations.base_client.errors import OAuthError
    from authlib.integrations.httpx_client import AsyncOAuth2Client, OAuth2Client
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlmodel import Session, select

from hub import metrics
from hub.db import Database, utcnow
from hub.errors import AuthRevoked, StartupError, Transient
from hub.models import Connection, ConnectionStatus
from hub.plugins import PluginHost
from hub.types import IntegrationInfo, OAuthEndpoints, PluginConfig, TokenSet

__all__ = ["AsyncOAuth2Client", "OAuthError", "TokenCipher", "Vault"]

log = logging.getLogger(__name__)

TOKEN_TIMEOUT = httpx.Timeout(20.0, connect=5.0)


class TokenCipher:
    """Fernet encryption with key rotation (the first key encrypts, all decrypt)."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise StartupError("HUB_ENCRYPTION_KEYS is empty")
        try:
            self._fernet = MultiFernet([Fernet(key.encode()) for key in keys])
        except ValueError as err:
            raise StartupError(
                "HUB_ENCRYPTION_KEYS holds a value that is not a Fernet key (32 url-safe "
                "base64-encoded bytes); make one with python -c 'from cryptography.fernet "
                "import Fernet; print(Fernet.generate_key().decode())'"
            ) from err

    def encrypt(self, value: str) -> str:
        """Encrypt with the newest key."""
        return self._fernet.encrypt(value.encode()).decode()

    def decrypt(self, value: str) -> str:
        """Decrypt with whichever key encrypted it."""
        try:
            return self._fernet.decrypt(value.encode()).decode()
        except InvalidToken as err:
            raise StartupError(
                "a stored token cannot be decrypted with any key in HUB_ENCRYPTION_KEYS; "
                "was a key removed before `hub keys rotate` ran?"
            ) from err

    def rotate(self, value: str) -> str:
        """Re-encrypt under the newest key."""
        return self._fernet.rotate(value.encode()).decode()


def tokens_from_response(
    token: dict[str, Any], oauth: OAuthEndpoints, *, now: dt.datetime | None = None
) -> TokenSet:
    """Build a TokenSet from an OAuth token response."""
    now = now or utcnow()
    expires_in = token.get("expires_in")
    refresh_in = token.get(oauth.refresh_expiry_field) if oauth.refresh_expiry_field else None
    return TokenSet(
        access_token=str(token["access_token"]),
        refresh_token=token.get("refresh_token"),
        expires_at=now + dt.timedelta(seconds=int(expires_in)) if expires_in else None,
        refresh_expires_at=now + dt.timedelta(seconds=int(refresh_in)) if refresh_in else None,
        scope=token.get("scope"),
    )


def oauth_client(info: IntegrationInfo, config: PluginConfig, **kwargs: Any) -> OAuth2Client:
    """A synchronous authlib OAuth client for the token endpoint."""
    return OAuth2Client(
        client_id=config.client_id,
        client_secret=config.client_secret,
        token_endpoint_auth_method=info.oauth.token_auth_method,
        timeout=TOKEN_TIMEOUT,
        **kwargs,
    )


def support_reference(response: httpx.Response | None) -> str | None:
    """The provider's request id from a response, for support (QuickBooks: intuit_tid)."""
    if response is None:
        return None
    for header in ("intuit_tid", "x-request-id", "request-id"):
        if header in response.headers:
            return response.headers[header]
    return None


class Vault:
    """Stores tokens encrypted and hands out valid access tokens."""

    def __init__(self, db: Database, cipher: TokenCipher, plugins: PluginHost) -> None:
        self.db = db
        self.cipher = cipher
        self.plugins = plugins
        self._locks: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, dict[int, asyncio.Lock]
        ] = weakref.WeakKeyDictionary()

    # --- storing --------------------------------------------------------------------

    def store(self, connection: Connection, tokens: TokenSet) -> None:
        """Put ``tokens`` on ``connection`` (encrypted); the caller commits."""
        connection.access_token_enc = self.cipher.encrypt(tokens.access_token)
        connection.refresh_token_enc = (
            self.cipher.encrypt(tokens.refresh_token) if tokens.refresh_token else None
        )
        connection.access_expires_at = tokens.expires_at
        connection.refresh_expires_at = tokens.refresh_expires_at
        connection.scope = tokens.scope
        connection.updated_at = utcnow()

    def wipe(self, connection: Connection) -> None:
        """Forget a connection's tokens; the caller commits."""
        connection.access_token_enc = None
        connection.refresh_token_enc = None
        connection.access_expires_at = None
        connection.refresh_expires_at = None

    def tokens(self, connection: Connection) -> TokenSet | None:
        """The decrypted tokens of a connection, or None."""
        if not connection.access_token_enc:
            return None
        return TokenSet(
            access_token=self.cipher.decrypt(connection.access_token_enc),
            refresh_token=(
                self.cipher.decrypt(connection.refresh_token_enc)
                if connection.refresh_token_enc
                else None
            ),
            expires_at=connection.access_expires_at,
            refresh_expires_at=connection.refresh_expires_at,
            scope=connection.scope,
        )

    def rotate_keys(self, session: Session) -> int:
        """Re-encrypt every stored token under the newest key; return how many rows."""
        count = 0
        for connection in session.exec(select(Connection)).all():
            changed = False
            if connection.access_token_enc:
                connection.access_token_enc = self.cipher.rotate(connection.access_token_enc)
                changed = True
            if connection.refresh_token_enc:
                connection.refresh_token_enc = self.cipher.rotate(connection.refresh_token_enc)
                changed = True
            if changed:
                session.add(connection)
                count += 1
        return count

    # --- handing out ---------------------------------------------------------------------

    def _lock(self, connection_id: int) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        locks = self._locks.setdefault(loop, {})
        lock = locks.get(connection_id)
        if lock is None:
            lock = locks[connection_id] = asyncio.Lock()
        return lock

    def _fresh(self, connection: Connection, leeway: int) -> bool:
        expires = connection.access_expires_at
        return expires is None or expires - dt.timedelta(seconds=leeway) > utcnow()

    async def access_token(self, connection_id: int, *, stale: str | None = None) -> str:
        """A valid access token for the connection, refreshed when needed.

        ``stale`` is a token the provider just refused (401): it is refreshed unless
        another caller already replaced it.
        """
        connection = await self.db.read(lambda s: s.get(Connection, connection_id))
        if connection is None or connection.status != ConnectionStatus.connected.value:
            raise AuthRevoked("this connection is not active; reconnect it")
        integration = self.plugins.get(connection.integration)
        leeway = integration.info.oauth.refresh_leeway_seconds if integration else 300
        current = self.tokens(connection)
        if current is not None and stale is None and self._fresh(connection, leeway):
            return current.access_token
        async with self._lock(connection_id):
            return await asyncio.to_thread(self._refresh_locked, connection_id, stale, leeway)

    def _refresh_locked(self, connection_id: int, stale: str | None, leeway: int) -> str:
        with self.db.session() as session:
            statement = self.db.for_update(select(Connection).where(Connection.id == connection_id))
            connection = session.exec(statement).one()
            if connection.status != ConnectionStatus.connected.value:
                raise AuthRevoked(connection.last_error or "this connection needs reconnecting")
            tokens = self.tokens(connection)
            if tokens is not None:
                replaced = stale is not None and tokens.access_token != stale
                if replaced or (stale is None and self._fresh(connection, leeway)):
                    return tokens.access_token  # someone else refreshed meanwhile
            new = self._refresh(session, connection, tokens)
            return new.access_token

    def _refresh(
        self, session: Session, connection: Connection, tokens: TokenSet | None
    ) -> TokenSet:
        from hub.connections import mark_needs_reconnect, record_activity

        integration = self.plugins.get(connection.integration)
        if integration is None:
            raise Transient(f"the {connection.integration} plugin is not loaded")
        if tokens is None or not tokens.refresh_token:
            reason = "No refresh token is stored for this connection."
            mark_needs_reconnect(session, connection, reason)
            raise AuthRevoked(reason)
        oauth = integration.info.oauth
        client = oauth_client(integration.info, integration.config)
        try:
            with client:
                raw = client.refresh_token(oauth.token_url, refresh_token=tokens.refresh_token)
        except OAuthError as err:
            metrics.TOKEN_REFRESHES.labels(connection.integration, "refused").inc()
            reason = (
                f"{integration.info.name} refused to refresh access ({err.error}). "
                "Access was revoked or expired: reconnect to continue."
            )
            mark_needs_reconnect(session, connection, reason)
            session.commit()
            raise AuthRevoked(reason) from err
        except httpx.HTTPError as err:
            metrics.TOKEN_REFRESHES.labels(connection.integration, "error").inc()
            raise Transient(
                f"could not reach {integration.info.name} to refresh access: {err}"
            ) from err
        new = tokens_from_response(dict(raw), oauth)
        if new.refresh_token is None:  # some providers keep the old refresh token
            new = TokenSet(
                new.access_token,
                tokens.refresh_token,
                new.expires_at,
                new.refresh_expires_at or tokens.refresh_expires_at,
                new.scope or tokens.scope,
            )
        self.store(connection, new)
        connection.last_refresh_at = utcnow()
        session.add(connection)
        record_activity(session, connection, "refreshed", "Access token refreshed.")
        metrics.TOKEN_REFRESHES.labels(connection.integration, "ok").inc()
        log.info("refreshed tokens of connection %s", connection.id)
        return new
