"""Pytest fixtures for the hub and its plugins (registered as the ``hub`` pytest plugin).

They build on each other: settings -> database -> services -> app -> client ->
logged-in client. Tests run on SQLite by default, and on PostgreSQL when
``HUB_TEST_DATABASE_URL`` points at a server (a fresh database is created for the
test session and dropped after it).

A plugin's tests choose the plugins to load by overriding ``hub_plugins``::

    @pytest.fixture
    def hub_plugins():
        return {"acme": hub_acme.plugin}
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import sqlite3
import uuid
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from sqlalchemy.engine import make_url
from starlette.applications import Starlette
from starlette.testclient import TestClient

from hub import migrate
from hub.accounts import create_api_key, create_user, get_or_create_organization
from hub.db import Database
from hub.plugins import PluginHost
from hub.services import Services
from hub.settings import Settings

TEST_PASSWORD = "correct horse battery staple"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def postgres_url() -> str | None:
    """The PostgreSQL server tests should use, if any."""
    return os.environ.get("HUB_TEST_DATABASE_URL") or None


def create_database(server_url: str, name: str) -> str:
    """Create an empty PostgreSQL database next to ``server_url``; return its URL."""
    url = make_url(server_url)
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def drop_database(server_url: str, name: str) -> None:
    """Drop a database made by :func:`create_database`."""
    admin = sa.create_engine(make_url(server_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def _hub_db_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = postgres_url()
    if server:
        name = f"hub_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        url = create_database(server, name)
        db = Database(url)
        migrate.upgrade(db)
        db.dispose()
        yield url
        drop_database(server, name)
        return
    path = tmp_path_factory.mktemp("hub-template") / "template.db"
    db = Database(f"sqlite:///{path}")
    migrate.upgrade(db)
    db.dispose()
    # Fold the write-ahead log into the file so a plain copy is a complete database.
    raw = sqlite3.connect(path)
    raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw.close()
    yield str(path)


@pytest.fixture
def hub_database_url(_hub_db_template: str, tmp_path: Any) -> str:
    """A migrated, empty database for one test."""
    if postgres_url():
        db = Database(_hub_db_template, pool_size=1)
        with db.engine.begin() as connection:
            tables = [
                row[0]
                for row in connection.execute(
                    sa.text(
                        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                        "AND tablename != 'alembic_version'"
                    )
                )
            ]
            if tables:
                quoted = ", ".join(f'"{t}"' for t in tables)
                connection.execute(sa.text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))
            # A test may have moved the schema version (readiness checks); put it back.
            connection.execute(
                sa.text("UPDATE alembic_version SET version_num = :head"),
                {"head": migrate.head_revision(_hub_db_template)},
            )
        db.dispose()
        return _hub_db_template
    target = tmp_path / "hub.db"
    shutil.copyfile(_hub_db_template, target)
    return f"sqlite:///{target}"


@pytest.fixture
def hub_plugin_env() -> dict[str, str]:
    """Extra environment (plugin configuration such as ``QUICKBOOKS_CLIENT_ID``)."""
    return {}


@pytest.fixture
def hub_plugins() -> Any:
    """The plugins to load: None discovers installed ones; override with a list/dict."""
    return None


@pytest.fixture
def hub_base_url() -> str:
    """The hub's public URL in tests."""
    return "http://testserver"


@pytest.fixture
def hub_settings(
    hub_database_url: str, hub_plugin_env: Mapping[str, str], hub_base_url: str
) -> Settings:
    """Settings with fresh secrets and a per-test database."""
    environ = {
        "HUB_DATABASE_URL": hub_database_url,
        "HUB_SECRET_KEY": secrets.token_urlsafe(32),
        "HUB_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "HUB_BASE_URL": hub_base_url,
        **hub_plugin_env,
    }
    return Settings.from_env(environ)


@pytest.fixture
def hub_db(hub_settings: Settings) -> Iterator[Database]:
    """The test's database."""
    db = Database(hub_settings.database_url)
    yield db
    db.dispose()


@pytest.fixture
def hub_services(hub_settings: Settings, hub_db: Database, hub_plugins: Any) -> Services:
    """Database, plugins, vault and flows, wired."""
    host = PluginHost(hub_settings, plugins=hub_plugins)
    return Services.build(hub_settings, plugins=host, db=hub_db)


@pytest.fixture
def hub_app(hub_settings: Settings, hub_services: Services) -> Starlette:
    """The hub's ASGI app (no in-process worker: tests run jobs explicitly)."""
    from hub.app import create_app

    return create_app(hub_settings, services=hub_services)


@pytest.fixture
def hub_client(hub_app: Starlette, hub_base_url: str) -> Iterator[TestClient]:
    """An anonymous browser."""
    with TestClient(hub_app, base_url=hub_base_url, follow_redirects=False) as client:
        yield client


@pytest.fixture
def hub_org(hub_db: Database) -> dict[str, Any]:
    """An organization with an admin and a member (passwords: ``TEST_PASSWORD``)."""
    return make_org(hub_db, "Acme Support")


def make_org(db: Database, name: str) -> dict[str, Any]:
    """Create an organization with an admin, a member and an API key."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    with db.session() as session:
        org = get_or_create_organization(session, name)
        admin = create_user(session, org, f"admin@{slug}.test", TEST_PASSWORD, admin=True)
        member = create_user(session, org, f"member@{slug}.test", TEST_PASSWORD, admin=False)
        key = create_api_key(session, org, "tests")
        return {
            "id": org.id,
            "name": name,
            "admin_email": admin.email,
            "member_email": member.email,
            "admin_id": admin.id,
            "api_key": key,
        }


def csrf_from(html: str) -> str:
    """The CSRF token in a page's forms."""
    match = _CSRF.search(html)
    if match is None:
        raise AssertionError("the page has no form with a CSRF token")
    return match.group(1)


def login(client: TestClient, email: str, password: str = TEST_PASSWORD) -> TestClient:
    """Log ``client`` in through the login form; fails the test if it does not work."""
    page = client.get("/login")
    response = client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": csrf_from(page.text)},
    )
    assert response.status_code == 303, response.text
    return client


def form_token(client: TestClient, path: str = "/integrations") -> str:
    """A CSRF token for a logged-in client's next form post."""
    return csrf_from(client.get(path).text)


@pytest.fixture
def admin_client(hub_client: TestClient, hub_org: dict[str, Any]) -> TestClient:
    """A browser logged in as the organization's admin."""
    return login(hub_client, hub_org["admin_email"])


@pytest.fixture
def api_client(
    hub_app: Starlette, hub_org: dict[str, Any], hub_base_url: str
) -> Iterator[TestClient]:
    """A JSON API client with the organization's API key."""
    headers = {"Authorization": f"Bearer {hub_org['api_key']}"}
    with TestClient(hub_app, base_url=hub_base_url, headers=headers) as client:
        yield client
