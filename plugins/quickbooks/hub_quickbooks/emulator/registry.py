"""Apps registered with the emulator (as in Intuit's developer portal) and companies."""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass, field
from typing import Any

from .settings import WebhookFormat

WEBHOOK_FORMATS: tuple[WebhookFormat, ...] = ("legacy", "cloudevents")


@dataclass
class App:
    """One OAuth client: its keys, redirect URIs and webhook subscription."""

    client_id: str
    client_secret: str
    redirect_uris: list[str] = field(default_factory=list)
    name: str = "Emulated app"
    webhook_url: str | None = None
    verifier_token: str | None = None
    webhook_format: WebhookFormat = "legacy"

    def to_dict(self) -> dict[str, Any]:
        """JSON form, as stored and as the apps control returns it."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> App:
        """Rebuild from ``to_dict`` output."""
        return cls(
            client_id=str(data["client_id"]),
            client_secret=str(data["client_secret"]),
            redirect_uris=[str(uri) for uri in data.get("redirect_uris", [])],
            name=str(data.get("name") or "Emulated app"),
            webhook_url=data.get("webhook_url"),
            verifier_token=data.get("verifier_token"),
            webhook_format=data.get("webhook_format") or "legacy",
        )


def new_client_id() -> str:
    """A client id shaped like Intuit's (``AB`` plus 48 letters and digits)."""
    return "AB" + _alphanumeric(48)


def new_client_secret() -> str:
    """A client secret shaped like Intuit's (40 letters and digits)."""
    return _alphanumeric(40)


def new_realm_id() -> str:
    """A 16-digit company id like the ones sandbox companies get."""
    return "9341" + "".join(secrets.choice("0123456789") for _ in range(12))


def _alphanumeric(length: int) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(secrets.choice(alphabet) for _ in range(length))


class Registry:
    """Apps by client id and company names by realm id, in creation order."""

    def __init__(self) -> None:
        self.apps: dict[str, App] = {}
        self.companies: dict[str, str] = {}

    def app(self, client_id: str) -> App | None:
        """The app with this client id, if registered."""
        return self.apps.get(client_id)

    def to_dict(self) -> dict[str, Any]:
        """JSON form for the state file."""
        return {
            "apps": [app.to_dict() for app in self.apps.values()],
            "companies": [{"realm_id": r, "name": n} for r, n in self.companies.items()],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Registry:
        """Rebuild from ``to_dict`` output."""
        registry = cls()
        for item in data.get("apps", []):
            app = App.from_dict(item)
            registry.apps[app.client_id] = app
        for item in data.get("companies", []):
            registry.companies[str(item["realm_id"])] = str(item["name"])
        return registry
