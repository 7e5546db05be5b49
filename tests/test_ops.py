"""Health, readiness, metrics, and the startup checks."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from hub.cli import main


def test_healthz_and_readyz(hub_client):
    assert hub_client.get("/healthz").json() == {"status": "ok"}
    ready = hub_client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ok"


def test_readyz_fails_when_migrations_are_behind(hub_app, hub_db):
    with hub_db.engine.begin() as connection:
        connection.exec_driver_sql("UPDATE alembic_version SET version_num = 'older'")
    with TestClient(hub_app) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    assert "hub migrate" in response.json()["detail"]


def test_metrics_count_requests_and_webhooks(hub_client):
    hub_client.get("/healthz")
    hub_client.post("/webhooks/fakeledger", content=b"{}")
    text = hub_client.get("/metrics").text
    assert 'hub_http_requests_total{method="GET",route="healthz",status="200"}' in text
    assert "hub_webhook_deliveries_total" in text
    assert "hub_token_refreshes_total" in text


def test_request_log_has_no_query_strings(hub_client, caplog):
    caplog.set_level("INFO", logger="hub.requests")
    hub_client.get("/integrations/fakeledger/callback?code=SECRETCODE&state=S")
    assert "SECRETCODE" not in caplog.text
    assert "/integrations/fakeledger/callback" in caplog.text


@pytest.mark.parametrize(
    ("env", "missing"),
    [({}, "HUB_SECRET_KEY"), ({"HUB_SECRET_KEY": "x"}, "HUB_ENCRYPTION_KEYS")],
)
def test_serve_refuses_to_start_without_secrets(monkeypatch, capsys, env, missing):
    for name in ("HUB_SECRET_KEY", "HUB_ENCRYPTION_KEYS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main(["serve"]) == 2
    err = capsys.readouterr().err
    assert f"{missing} is not set" in err
    assert "python -c" in err  # says how to make one
