"""The host's side of OAuth 2.0: states, PKCE, code exchange, callback, disconnect.

Provider facts (the authorize URL's shape, what to read after the exchange) come from
the plugin's ``authorize`` and ``callback`` hooks; everything else lives here.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import logging
import secrets
from dataclasses import dataclass
from typing import Any

import httpx
from sqlmodel import Session, select

from hub.connections import check_can_connect, forget_account, record_activity, resume_jobs
from hub.db import Database, utcnow
from hub.errors import AuthRevoked, IntegrationError, Rejected, Transient
from hub.http import ProviderHttp
from hub.jobs import enqueue
from hub.models import Connection, ConnectionStatus, OAuthState
from hub.plugins import Integration, PluginHost
from hub.ratelimit import Unlimited, account_key
from hub.types import (
    AuthorizeContext,
    CallbackContext,
    ConnectedAccount,
    TokenSet,
)
from hub.vault import (
    TOKEN_TIMEOUT,
    AsyncOAuth2Client,
    OAuthError,
    Vault,
    support_reference,
    tokens_from_response,
)

log = logging.getLogger(__name__)

STATE_LIFETIME = dt.timedelta(minutes=10)


class ConnectError(Exception):
    """Connecting failed; ``message`` says what happened and what to do."""

    def __init__(self, message: str, *, support_reference: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.support_reference = support_reference


@dataclass(frozen=True)
class Connected:
    """The outcome of a successful callback."""

    account_name: str
    reconnected: bool
    connection_id: int


def _hash(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


def redirect_uri(base_url: str, slug: str) -> str:
    """The callback URL registered with providers for an integration."""
    return f"{base_url}/integrations/{slug}/callback"


def check_configured(integration: Integration) -> None:
    """Refuse to start a connection the hub has no client credentials for."""
    prefix = integration.slug.upper()
    missing = [
        f"{prefix}_{key}"
        for key, value in (
            ("CLIENT_ID", integration.config.client_id),
            ("CLIENT_SECRET", integration.config.client_secret),
        )
        if not value
    ]
    if missing:
        raise ConnectError(
            f"{integration.info.name} is not set up on this hub yet: the administrator "
            f"must set {' and '.join(missing)} (from the app's keys in the "
            f"{integration.info.name} developer portal) and restart the hub."
        )


class OAuthFlow:
    """Starts and finishes connections for the portal's routes."""

    def __init__(self, db: Database, plugins: PluginHost, vault: Vault, http: ProviderHttp):
        self.db = db
        self.plugins = plugins
        self.vault = vault
        self.http = http

    async def start(
        self, integration: Integration, *, organization_id: int, user_id: int, session_id: str
    ) -> str:
        """Create a single-use state and return the provider URL to redirect to."""
        check_configured(integration)
        state = secrets.token_urlsafe(32)
        verifier = secrets.token_urlsafe(64) if integration.info.oauth.pkce else None
        challenge = (
            base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            .rstrip(b"=")
            .decode()
            if verifier
            else None
        )
        uri = redirect_uri(self.plugins.settings.base_url, integration.slug)
        now = utcnow()

        def save(session: Session) -> None:
            session.add(
                OAuthState(
                    state_hash=_hash(state),
                    session_id=session_id,
                    organization_id=organization_id,
                    user_id=user_id,
                    integration=integration.slug,
                    code_verifier=verifier,
                    redirect_uri=uri,
                    created_at=now,
                    expires_at=now + STATE_LIFETIME,
                )
            )

        await self.db.run(save)
        ctx = AuthorizeContext(
            config=integration.config,
            info=integration.info,
            state=state,
            redirect_uri=uri,
            client_id=integration.config.client_id or "",
            scopes=integration.info.oauth.scopes,
            code_challenge=challenge,
        )
        redirect = await self.plugins.hook(integration.slug, "authorize")(ctx=ctx)
        return str(redirect.url)

    async def _claim_state(
        self, integration: Integration, state: str | None, session_id: str
    ) -> OAuthState:
        """Check the state and mark it used, whatever happens next (single use)."""
        name = integration.info.name

        def claim(session: Session) -> OAuthState | str:
            if not state:
                return "The answer from {name} did not include the sign-in state."
            stored: OAuthState | None = session.exec(
                self.db.for_update(select(OAuthState).where(OAuthState.state_hash == _hash(state)))
            ).first()
            if stored is None or stored.integration != integration.slug:
                return "This sign-in answer does not match any connection attempt."
            if stored.used_at is not None:
                return "This sign-in answer was already used."
            if stored.session_id != session_id:
                return "This sign-in was started in another browser session."
            stored.used_at = utcnow()
            session.add(stored)
            if stored.expires_at < utcnow():
                return "The sign-in took longer than 10 minutes and expired."
            return stored

        outcome = await self.db.run(claim)
        if isinstance(outcome, str):
            raise ConnectError(
                outcome.format(name=name)
                + f" Nothing was changed. Click Connect to {name} to try again."
            )
        return outcome

    async def finish(
        self, integration: Integration, params: dict[str, str], *, session_id: str
    ) -> Connected:
        """Handle the provider's redirect back; raise ConnectError with a message."""
        name = integration.info.name
        stored = await self._claim_state(integration, params.get("state"), session_id)
        error = params.get("error")
        if error == "access_denied":
            raise ConnectError(
                f"You cancelled at {name}, so nothing was connected. "
                f"Click Connect to {name} when you are ready."
            )
        if error:
            detail = params.get("error_description") or error
            raise ConnectError(
                f"{name} did not grant access ({detail}). Try again; if it keeps "
                f"happening, check the app's settings in the {name} developer portal."
            )
        if not params.get("code"):
            raise ConnectError(f"{name} sent no authorization code. Try connecting again.")
        try:
            account = await self._call_callback(integration, stored, params)
            return await self.db.run(
                lambda session: self._save_connection(session, integration, stored, account)
            )
        except IntegrationError as err:
            log.warning(
                "connecting %s failed: %s (support reference %s)",
                integration.slug,
                err.message,
                err.support_reference,
            )
            if isinstance(err, Transient):
                message = (
                    f"{name} could not be reached or had a problem ({err.message}). "
                    "Wait a minute and try again."
                )
            elif isinstance(err, AuthRevoked):
                message = f"{name} refused the sign-in ({err.message}). Try connecting again."
            else:
                message = err.message
            raise ConnectError(message, support_reference=err.support_reference) from err

    async def _call_callback(
        self, integration: Integration, stored: OAuthState, params: dict[str, str]
    ) -> ConnectedAccount:
        oauth = integration.info.oauth
        last: dict[str, httpx.Response] = {}

        async def remember(response: httpx.Response) -> None:
            last["response"] = response

        async def exchange_code(code: str) -> TokenSet:
            client = AsyncOAuth2Client(
                client_id=integration.config.client_id,
                client_secret=integration.config.client_secret,
                token_endpoint_auth_method=oauth.token_auth_method,
                redirect_uri=stored.redirect_uri,
                timeout=TOKEN_TIMEOUT,
                event_hooks={"response": [remember]},
            )
            extra: dict[str, Any] = {}
            if stored.code_verifier:
                extra["code_verifier"] = stored.code_verifier
            try:
                async with client:
                    token = await client.fetch_token(
                        oauth.token_url, code=code, grant_type="authorization_code", **extra
                    )
            except OAuthError as err:
                raise AuthRevoked(
                    f"the authorization code was refused: {err.error}",
                    support_reference=support_reference(last.get("response")),
                ) from err
            except httpx.HTTPError as err:
                raise Transient(
                    f"the token exchange failed: {err.__class__.__name__}",
                    support_reference=support_reference(last.get("response")),
                ) from err
            except ValueError as err:  # a body that is not JSON
                raise Transient(
                    "the token endpoint answered with something that is not a token",
                    support_reference=support_reference(last.get("response")),
                ) from err
            return tokens_from_response(dict(token), oauth)

        # The account is known only once the plugin has answered, so the requests
        # it makes on the way are counted against the account's limits afterwards.
        sent: list[Unlimited] = []
        async with self.http.client(integration.slug, unlimited=sent) as http:
            ctx = CallbackContext(
                config=integration.config,
                info=integration.info,
                params=dict(params),
                redirect_uri=stored.redirect_uri,
                exchange_code=exchange_code,
                http=http,
            )
            account = await self.plugins.hook(integration.slug, "callback")(ctx=ctx)
        if not isinstance(account, ConnectedAccount):
            raise Rejected(f"the {integration.info.name} plugin returned no account")
        if self.http.limiter is not None:
            await self.http.limiter.count_past(
                account_key(integration.slug, account.external_account_id),
                sent,
                integration.info.rate_limits,
            )
        return account

    def _save_connection(
        self,
        session: Session,
        integration: Integration,
        stored: OAuthState,
        account: ConnectedAccount,
    ) -> Connected:
        existing = check_can_connect(
            session, stored.organization_id, integration.slug, account, integration.info.name
        )
        now = utcnow()
        reconnected = existing is not None and existing.status != "disconnected"
        connection = existing or Connection(
            organization_id=stored.organization_id, integration=integration.slug
        )
        if not reconnected:
            connection.connected_at = now
            connection.sync_cursor = now
        if existing is not None and existing.external_account_id not in (
            None,
            account.external_account_id,
        ):
            # Another company than before: its customers, items, tax codes and accounts
            # have ids of their own, so nothing learnt about the old one may be used.
            forget_account(session, existing)
        connection.status = ConnectionStatus.connected.value
        connection.external_account_id = account.external_account_id
        connection.external_account_name = account.display_name
        connection.environment = account.environment
        connection.last_error = None
        connection.last_error_at = None
        connection.support_reference = None
        connection.disconnected_at = None
        connection.last_refresh_at = now
        self.vault.store(connection, account.tokens)
        session.add(connection)
        session.flush()
        if connection.id is not None and self.plugins.has_hook(integration.slug, "pull_changes"):
            # Catch up on whatever changed in the provider while access was lost.
            enqueue(
                session,
                "reconcile",
                {"connection_id": connection.id},
                connection_id=connection.id,
                unique_key=f"reconcile:{connection.id}",
            )
        if reconnected:
            resumed = resume_jobs(session, connection)
            record_activity(
                session,
                connection,
                "reconnected",
                f"Reconnected to {account.display_name}."
                + (f" {resumed} task(s) on hold resumed." if resumed else ""),
            )
        else:
            record_activity(
                session,
                connection,
                "connected",
                f"Connected to {account.display_name} ({account.environment}).",
            )
        log.info(
            "connection %s connected to account %s", connection.id, account.external_account_id
        )
        return Connected(account.display_name, reconnected, connection.id or 0)

    async def disconnect(self, integration: Integration, organization_id: int) -> str | None:
        """Revoke at the provider and forget the tokens; return a warning if revoke failed."""

        def load(session: Session) -> Connection | None:
            return session.exec(
                select(Connection).where(
                    Connection.organization_id == organization_id,
                    Connection.integration == integration.slug,
                    Connection.status != ConnectionStatus.disconnected.value,
                )
            ).first()

        connection = await self.db.read(load)
        if connection is None:
            return None
        tokens = self.vault.tokens(connection)
        warning = None
        if tokens is not None and integration.info.oauth.revoke_url:
            warning = await self._revoke(integration, tokens)

        def forget(session: Session) -> None:
            row = session.get(Connection, connection.id)
            if row is None:
                return
            self.vault.wipe(row)
            row.status = ConnectionStatus.disconnected.value
            row.disconnected_at = utcnow()
            row.updated_at = utcnow()
            session.add(row)
            from hub.connections import park_jobs

            park_jobs(session, row)
            record_activity(
                session,
                row,
                "disconnected",
                f"Disconnected from {row.external_account_name}."
                + (f" {warning}" if warning else ""),
                level="warning" if warning else "info",
            )

        await self.db.run(forget)
        return warning

    async def _revoke(self, integration: Integration, tokens: TokenSet) -> str | None:
        name = integration.info.name
        revoke_url = integration.info.oauth.revoke_url
        assert revoke_url is not None
        client = AsyncOAuth2Client(
            client_id=integration.config.client_id,
            client_secret=integration.config.client_secret,
            revocation_endpoint_auth_method=integration.info.oauth.token_auth_method,
            timeout=TOKEN_TIMEOUT,
        )
        token = tokens.refresh_token or tokens.access_token
        hint = "refresh_token" if tokens.refresh_token else "access_token"
        try:
            async with client:
                response = await client.revoke_token(revoke_url, token=token, token_type_hint=hint)
        except httpx.HTTPError as err:
            log.warning("revoking at %s failed: %s", integration.slug, err)
            return (
                f"{name} could not be reached to revoke access; the tokens were deleted here. "
                f"To be sure, remove the app in {name}'s settings."
            )
        if response.status_code >= 400:
            log.warning(
                "revoking at %s answered %s (support reference %s)",
                integration.slug,
                response.status_code,
                support_reference(response),
            )
            return (
                f"{name} did not confirm revoking access (HTTP {response.status_code}); the "
                f"tokens were deleted here. To be sure, remove the app in {name}'s settings."
            )
        return None
