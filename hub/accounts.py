"""Organizations, users and API keys: creation and verification."""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session, select

from hub.db import utcnow
from hub.models import ApiKey, Organization, Role, User

_hasher = PasswordHasher()  # argon2id with the library's recommended parameters
# Verifying against this keeps a login for an unknown email as slow as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))
API_KEY_PREFIX = "hub_"


def hash_password(password: str) -> str:
    """An argon2id hash of ``password``."""
    return _hasher.hash(password)


def get_or_create_organization(session: Session, name: str) -> Organization:
    """The organization called ``name``, created when missing."""
    org = session.exec(select(Organization).where(Organization.name == name)).first()
    if org is None:
        org = Organization(name=name)
        session.add(org)
        session.flush()
    return org


def create_user(
    session: Session, organization: Organization, email: str, password: str, *, admin: bool
) -> User:
    """Create a user; raises ValueError when the email is taken or the password too short."""
    email = email.strip().lower()
    if "@" not in email:
        raise ValueError(f"{email!r} is not an email address")
    if len(password) < 8:
        raise ValueError("the password must be at least 8 characters long")
    if session.exec(select(User).where(User.email == email)).first() is not None:
        raise ValueError(f"a user with email {email} already exists")
    assert organization.id is not None
    user = User(
        organization_id=organization.id,
        email=email,
        password_hash=hash_password(password),
        role=(Role.admin if admin else Role.member).value,
    )
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The user with these credentials, or None (same cost whichever part is wrong)."""
    email = email.strip().lower()
    # No address contains NUL (and PostgreSQL cannot compare with one): no such user.
    user = (
        None if "\x00" in email else session.exec(select(User).where(User.email == email)).first()
    )
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.last_login_at = utcnow()
    session.add(user)
    return user


def _key_hash(key: str) -> str:
    # API keys are 256-bit random strings, so a fast hash is enough (unlike passwords).
    return hashlib.sha256(key.encode()).hexdigest()


def create_api_key(session: Session, organization: Organization, name: str = "") -> str:
    """Create an API key and return it; only its hash is stored, so show it once."""
    assert organization.id is not None
    key = API_KEY_PREFIX + secrets.token_urlsafe(32)
    session.add(
        ApiKey(
            organization_id=organization.id,
            name=name,
            prefix=key[:10],
            key_hash=_key_hash(key),
        )
    )
    session.flush()
    return key


def find_api_key(session: Session, key: str) -> ApiKey | None:
    """The live API key matching ``key``, or None."""
    if not key.startswith(API_KEY_PREFIX):
        return None
    found = session.exec(select(ApiKey).where(ApiKey.key_hash == _key_hash(key))).first()
    if found is None or found.revoked_at is not None:
        return None
    return found
