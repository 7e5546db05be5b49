"""Authorization codes, grants and tokens, with QuickBooks' lifetimes and rotation.

Times are seconds since the epoch on the emulator's clock, so advancing the clock
expires codes and tokens without waiting.
"""

from __future__ import annotations

import base64
import secrets
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

#: Refresh tokens live 101 days from issue (Intuit's ``x_refresh_token_expires_in``).
REFRESH_TTL = 8_726_400
#: The refresh token value changes once it is this old; the old one lives this long more.
ROTATION_AGE = 86_400
OLD_REFRESH_GRACE = 86_400
#: No refresh token outlives its grant by more than five years (2025 policy).
HARD_CAP = 5 * 365 * 86_400

_JWE_HEADER = "eyJlbmMiOiJBMTI4Q0JDLUhTMjU2IiwiYWxnIjoiZGlyIn0"
_LOWER_ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"


class TokenError(Exception):
    """An OAuth error response: ``error`` code, optional description, HTTP status."""

    def __init__(self, error: str, description: str | None = None, status: int = 400) -> None:
        super().__init__(error)
        self.error = error
        self.description = description
        self.status = status


@dataclass
class AuthCode:
    """A single-use authorization code."""

    code: str
    client_id: str
    redirect_uri: str
    realm_id: str
    scopes: list[str]
    expires_at: float
    used: bool = False
    grant_id: str | None = None


@dataclass
class Grant:
    """What one consent created: an app's access to one company."""

    grant_id: str
    client_id: str
    realm_id: str
    scopes: list[str]
    created_at: float
    hard_expires_at: float
    refresh_token: str = ""
    revoked: bool = False


@dataclass
class RefreshToken:
    """One refresh token value of a grant."""

    value: str
    grant_id: str
    issued_at: float
    expires_at: float


@dataclass
class AccessToken:
    """One bearer token for the Accounting API."""

    value: str
    grant_id: str
    expires_at: float


@dataclass(frozen=True)
class TokenSet:
    """What the token endpoint hands out."""

    grant: Grant
    access_token: str
    expires_in: int
    refresh_token: str
    refresh_expires_in: int
    hard_expires_in: int


@dataclass
class TokenStore:
    """All codes, grants and tokens of the emulator."""

    now: Callable[[], float]
    access_ttl: int = 3600
    code_ttl: int = 600
    codes: dict[str, AuthCode] = field(default_factory=dict)
    grants: dict[str, Grant] = field(default_factory=dict)
    refresh_tokens: dict[str, RefreshToken] = field(default_factory=dict)
    access_tokens: dict[str, AccessToken] = field(default_factory=dict)

    # --- issuing ---------------------------------------------------------------------

    def issue_code(
        self, client_id: str, redirect_uri: str, realm_id: str, scopes: list[str]
    ) -> str:
        """Create an authorization code for a consent the user just gave."""
        expires_at = self.now() + self.code_ttl
        code = f"AB11{int(expires_at)}" + "".join(
            secrets.choice(_LOWER_ALNUM + "ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(36)
        )
        self.codes[code] = AuthCode(code, client_id, redirect_uri, realm_id, scopes, expires_at)
        return code

    def exchange_code(self, client_id: str, code: str, redirect_uri: str | None) -> TokenSet:
        """The authorization_code grant; a second use revokes what the first one gave."""
        auth = self.codes.get(code)
        if auth is None or auth.client_id != client_id:
            raise TokenError("invalid_grant")
        if auth.used:
            if auth.grant_id is not None:
                self._revoke_grant(auth.grant_id)
            raise TokenError("invalid_grant")
        if auth.expires_at <= self.now():
            raise TokenError("invalid_grant")
        if redirect_uri != auth.redirect_uri:
            raise TokenError("invalid_grant")
        auth.used = True
        now = self.now()
        grant = Grant(
            grant_id=uuid.uuid4().hex,
            client_id=client_id,
            realm_id=auth.realm_id,
            scopes=list(auth.scopes),
            created_at=now,
            hard_expires_at=now + HARD_CAP,
        )
        self.grants[grant.grant_id] = grant
        auth.grant_id = grant.grant_id
        self._new_refresh_token(grant, now)
        return self._token_set(grant, now)

    def refresh(self, client_id: str, value: str) -> TokenSet:
        """The refresh_token grant with Intuit's rotation rules."""
        now = self.now()
        presented = self.refresh_tokens.get(value)
        if presented is None or presented.expires_at <= now:
            raise TokenError("invalid_grant", "Incorrect or invalid refresh token")
        grant = self.grants.get(presented.grant_id)
        if (
            grant is None
            or grant.revoked
            or grant.client_id != client_id
            or grant.hard_expires_at <= now
        ):
            raise TokenError("invalid_grant", "Incorrect or invalid refresh token")
        current = self.refresh_tokens.get(grant.refresh_token)
        if current is None or now - current.issued_at >= ROTATION_AGE:
            if current is not None:
                current.expires_at = min(current.expires_at, now + OLD_REFRESH_GRACE)
            self._new_refresh_token(grant, now)
        return self._token_set(grant, now)

    # --- checking and revoking -------------------------------------------------------

    def authenticate(self, value: str) -> tuple[Grant | None, str]:
        """The grant behind a bearer token, or None and why not."""
        token = self.access_tokens.get(value)
        if token is None:
            return None, "unknown"
        grant = self.grants.get(token.grant_id)
        if grant is None or grant.revoked:
            return None, "revoked"
        if token.expires_at <= self.now():
            return None, "expired"
        return grant, "ok"

    def revoke(self, client_id: str, value: str) -> bool:
        """Revoke the grant (app and company) a refresh or access token belongs to."""
        token = self.refresh_tokens.get(value) or self.access_tokens.get(value)
        if token is None:
            return False
        grant = self.grants.get(token.grant_id)
        if grant is None:
            return False
        if grant.client_id != client_id:
            raise TokenError("invalid_request", "Token was not issued to this client")
        return self.revoke_connection(grant.realm_id, client_id) > 0

    def revoke_connection(self, realm_id: str, client_id: str | None = None) -> int:
        """End every live grant for a company (of one app, or of all): a disconnect."""
        revoked = 0
        for grant in self.grants.values():
            if grant.realm_id != realm_id or grant.revoked:
                continue
            if client_id is not None and grant.client_id != client_id:
                continue
            self._revoke_grant(grant.grant_id)
            revoked += 1
        return revoked

    def connected_apps(self, realm_id: str) -> set[str]:
        """Client ids holding a live grant for a company (webhooks go only to these)."""
        now = self.now()
        return {
            grant.client_id
            for grant in self.grants.values()
            if grant.realm_id == realm_id and not grant.revoked and grant.hard_expires_at > now
        }

    def purge(self) -> None:
        """Drop what can no longer be used, so the state file stays small."""
        now = self.now()
        self.codes = {k: c for k, c in self.codes.items() if c.expires_at > now - 86_400}
        self.access_tokens = {
            k: t for k, t in self.access_tokens.items() if t.expires_at > now - 86_400
        }
        self.refresh_tokens = {k: t for k, t in self.refresh_tokens.items() if t.expires_at > now}

    # --- persistence -----------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """JSON form for the state file."""
        return {
            "codes": [asdict(c) for c in self.codes.values()],
            "grants": [asdict(g) for g in self.grants.values()],
            "refresh_tokens": [asdict(t) for t in self.refresh_tokens.values()],
            "access_tokens": [asdict(t) for t in self.access_tokens.values()],
        }

    def load(self, data: dict[str, Any]) -> None:
        """Replace the contents with ``to_dict`` output."""
        self.codes = {c["code"]: AuthCode(**c) for c in data.get("codes", [])}
        self.grants = {g["grant_id"]: Grant(**g) for g in data.get("grants", [])}
        self.refresh_tokens = {
            t["value"]: RefreshToken(**t) for t in data.get("refresh_tokens", [])
        }
        self.access_tokens = {
            t["value"]: AccessToken(**t) for t in data.get("access_tokens", [])
        }

    def clear(self) -> None:
        """Forget everything."""
        self.codes.clear()
        self.grants.clear()
        self.refresh_tokens.clear()
        self.access_tokens.clear()

    # --- helpers ---------------------------------------------------------------------

    def _revoke_grant(self, grant_id: str) -> None:
        grant = self.grants.get(grant_id)
        if grant is None:
            return
        grant.revoked = True
        # Revoked tokens are kept (marked through the grant) so a later request can be
        # told its token was revoked rather than unknown; purge() drops them in time.

    def _new_refresh_token(self, grant: Grant, now: float) -> RefreshToken:
        expires_at = min(now + REFRESH_TTL, grant.hard_expires_at)
        value = (
            f"RT1-{secrets.randbelow(90) + 10}-H0-{int(expires_at)}"
            + "".join(secrets.choice(_LOWER_ALNUM) for _ in range(20))
        )
        token = RefreshToken(value, grant.grant_id, now, expires_at)
        self.refresh_tokens[value] = token
        grant.refresh_token = value
        return token

    def _token_set(self, grant: Grant, now: float) -> TokenSet:
        # Shaped like Intuit's compact JWE (header, empty key, IV, ciphertext, tag).
        value = ".".join([_JWE_HEADER, "", _b64(16), _b64(192), _b64(16)])
        self.access_tokens[value] = AccessToken(value, grant.grant_id, now + self.access_ttl)
        current = self.refresh_tokens[grant.refresh_token]
        return TokenSet(
            grant=grant,
            access_token=value,
            expires_in=self.access_ttl,
            refresh_token=current.value,
            refresh_expires_in=max(0, int(current.expires_at - now)),
            hard_expires_in=max(0, int(grant.hard_expires_at - now)),
        )


def _b64(length: int) -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(length)).rstrip(b"=").decode()
