"""Configuration from the environment (``HUB_*`` and each plugin's ``<SLUG>_*``)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from hub.errors import StartupError

DEFAULT_DATABASE_URL = "sqlite:///var/hub.db"


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (value or "").split(",") if part.strip())


def _positive(value: str | None, default: float) -> float:
    if not value:
        return default
    try:
        number = float(value)
    except ValueError as err:
        raise StartupError(f"expected a number of seconds, got {value!r}") from err
    if number <= 0:
        raise StartupError(f"expected a positive number of seconds, got {value!r}")
    return number


@dataclass(frozen=True)
class Settings:
    """The hub's settings; build with :meth:`from_env`."""

    database_url: str = DEFAULT_DATABASE_URL
    secret_key: str | None = None
    encryption_keys: tuple[str, ...] = ()
    base_url: str = "http://127.0.0.1:8000"
    load_plugins: tuple[str, ...] | None = None
    disabled_plugins: tuple[str, ...] = ()
    #: ``hub demo`` sets this: the portal offers to create sample batches.
    demo: bool = False
    #: How long a claimed job stays leased without a heartbeat before another worker
    #: may take it over (``HUB_JOB_LEASE_SECONDS``).
    job_lease_seconds: float = 60.0
    #: Every environment variable, for plugins' ``<SLUG>_*`` configuration.
    environ: Mapping[str, str] = field(default_factory=dict, repr=False)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read settings from ``environ`` (default: ``os.environ``)."""
        env = dict(os.environ if environ is None else environ)
        load = env.get("HUB_LOAD_PLUGINS")
        return cls(
            database_url=env.get("HUB_DATABASE_URL") or DEFAULT_DATABASE_URL,
            secret_key=env.get("HUB_SECRET_KEY") or None,
            encryption_keys=_split(env.get("HUB_ENCRYPTION_KEYS")),
            base_url=(env.get("HUB_BASE_URL") or "http://127.0.0.1:8000").rstrip("/"),
            load_plugins=_split(load) if load is not None and load.strip() else None,
            disabled_plugins=_split(env.get("HUB_DISABLED_PLUGINS")),
            demo=env.get("HUB_DEMO") == "1",
            job_lease_seconds=_positive(env.get("HUB_JOB_LEASE_SECONDS"), 60.0),
            environ=env,
        )

    @property
    def secure_cookies(self) -> bool:
        """Cookies get the Secure flag when the hub is served over https."""
        return self.base_url.startswith("https://")

    def plugin_values(self, slug: str) -> dict[str, str]:
        """Return the ``<SLUG>_*`` variables for one plugin, keyed without the prefix."""
        prefix = slug.upper().replace("-", "_") + "_"
        return {k[len(prefix) :]: v for k, v in self.environ.items() if k.startswith(prefix)}

    def require_secrets(self) -> None:
        """Refuse to serve without the secrets, saying how to make them."""
        if not self.secret_key:
            raise StartupError(
                "HUB_SECRET_KEY is not set: it signs session cookies. Make one with\n"
                "  python -c 'import secrets; print(secrets.token_urlsafe(48))'\n"
                "and export HUB_SECRET_KEY=<that value>."
            )
        if not self.encryption_keys:
            raise StartupError(
                "HUB_ENCRYPTION_KEYS is not set: it encrypts OAuth tokens at rest. Make one "
                "with\n"
                "  python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'\n"
                "and export HUB_ENCRYPTION_KEYS=<that value> (comma-separated, newest first, "
                "to rotate keys)."
            )
