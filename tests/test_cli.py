"""The hub command: migrate, users, API keys, key rotation, new plugins."""

from __future__ import annotations

import hashlib

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from hub.cli import main
from hub.models import ApiKey, User
from hub.testing import login


@pytest.fixture
def cli_env(monkeypatch, hub_settings):
    for key, value in hub_settings.environ.items():
        monkeypatch.setenv(key, value)
    return hub_settings


def test_migrate_is_idempotent(cli_env, capsys):
    assert main(["migrate"]) == 0
    assert "already current" in capsys.readouterr().out


def test_users_create_then_log_in(cli_env, hub_db, hub_client, capsys):
    assert (
        main(
            [
                "users",
                "create",
                "--org",
                "Bright Care",
                "--email",
                "Lee@Bright.test",
                "--admin",
                "--password",
                "a long password",
            ]
        )
        == 0
    )
    assert "created admin lee@bright.test" in capsys.readouterr().out
    with hub_db.session() as session:
        user = session.exec(sa.select(User)).scalars().one()
        assert user.password_hash.startswith("$argon2id$")
    login(hub_client, "lee@bright.test", "a long password")
    assert "Manage Integrations" in hub_client.get("/integrations").text


def test_users_create_refuses_duplicates_and_short_passwords(cli_env, capsys):
    args = ["users", "create", "--org", "O", "--email", "a@b.test", "--password"]
    assert main([*args, "short"]) == 2
    assert "at least 8" in capsys.readouterr().err
    assert main([*args, "long enough pw"]) == 0
    assert main([*args, "long enough pw"]) == 2
    assert "already exists" in capsys.readouterr().err


def test_api_key_is_shown_once_and_stored_hashed(cli_env, hub_db, hub_app, capsys):
    from starlette.testclient import TestClient

    assert main(["api-keys", "create", "--org", "Keys Co"]) == 0
    key = capsys.readouterr().out.strip()
    assert key.startswith("hub_") and len(key) > 40
    with hub_db.session() as session:
        stored = session.exec(sa.select(ApiKey)).scalars().one()
    assert stored.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert key not in stored.key_hash
    with TestClient(hub_app, headers={"Authorization": f"Bearer {key}"}) as client:
        assert client.get("/api/v1/integrations").status_code == 200


def test_keys_rotate_reencrypts(cli_env, monkeypatch, hub_services, hub_org, capsys):
    from tests.test_vault import make_connection

    make_connection(hub_services, hub_org["id"])
    old = cli_env.encryption_keys[0]
    monkeypatch.setenv("HUB_ENCRYPTION_KEYS", f"{Fernet.generate_key().decode()},{old}")
    assert main(["keys", "rotate"]) == 0
    assert "1 connection(s)" in capsys.readouterr().out


def test_new_plugin_refuses_a_bad_name(tmp_path, capsys):
    assert main(["new-plugin", "Bad Name!", "--directory", str(tmp_path)]) == 2
    assert "hub:" in capsys.readouterr().err


def test_new_plugin_creates_a_plugin(tmp_path, capsys):
    assert main(["new-plugin", "zeta_books", "--directory", str(tmp_path)]) == 0
    assert (tmp_path / "zeta_books" / "pyproject.toml").exists()
    assert "created" in capsys.readouterr().out
