"""No user or API key of one organization can see or change another's data.

Every route of the app is listed below with how it is probed; a route added to the
app without a probe here fails ``test_every_route_is_probed``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa
from starlette.routing import Route
from starlette.testclient import TestClient

from hub.jobs import enqueue
from hub.models import Activity, Connection, Invoice, Job
from hub.testing import form_token, login, make_org
from tests.test_api import BATCH


@pytest.fixture
def two_orgs(hub_app, hub_db, hub_org) -> dict[str, Any]:
    """Org A (the test's) and org B, each with a batch, a connection and a dead job."""
    other = make_org(hub_db, "Beta Care")
    data: dict[str, Any] = {"a": hub_org, "b": other}
    for label, org in data.items():
        with hub_db.session() as session:
            connection = Connection(
                organization_id=org["id"],
                integration="fakeledger",
                status="connected",
                external_account_id=f"acct-{label}",
                external_account_name=f"Company {label}",
                environment="sandbox",
                connected_at=dt.datetime.now(dt.UTC),
            )
            session.add(connection)
            session.flush()
            session.add(
                Activity(
                    organization_id=org["id"],
                    connection_id=connection.id,
                    integration="fakeledger",
                    kind="connected",
                    message=f"secret history of {label}",
                )
            )
            job = enqueue(session, "push_batch", {}, connection_id=connection.id)
            job.state = "dead"
            org["connection_id"], org["job_id"] = connection.id, job.id
        with TestClient(hub_app, headers={"Authorization": f"Bearer {org['api_key']}"}) as api:
            body = dict(BATCH, reference=f"batch of {label}")
            body["invoices"] = [dict(BATCH["invoices"][0], number=f"INV-{label}")]
            created = api.post("/api/v1/invoice-batches", json=body).json()
        org["batch_id"] = created["id"]
        org["invoice_id"] = created["invoices"][0]["id"]
    return data


PROBES: dict[tuple[str, str], str] = {
    ("GET", "/healthz"): "public",
    ("GET", "/readyz"): "public",
    ("GET", "/metrics"): "public",
    ("GET", "/login"): "public",
    ("POST", "/login"): "public",
    ("POST", "/logout"): "session",
    ("GET", "/"): "session",
    ("GET", "/integrations"): "page-a-only",
    ("GET", "/integrations/{slug}"): "page-a-only",
    ("POST", "/integrations/{slug}/connect"): "own-org-action",
    ("GET", "/integrations/{slug}/callback"): "oauth-state",
    ("POST", "/integrations/{slug}/disconnect"): "own-org-action",
    ("POST", "/integrations/{slug}/reconcile"): "own-org-action",
    ("POST", "/integrations/{slug}/retry-failed"): "own-org-action",
    ("POST", "/integrations/{slug}/jobs/{job_id}/retry"): "b-id-404",
    ("GET", "/invoice-batches"): "page-a-only",
    ("POST", "/invoice-batches/sample"): "demo-only",
    ("GET", "/invoice-batches/{id}"): "b-id-404",
    ("POST", "/invoice-batches/{id}/push/{slug}"): "b-id-404",
    ("POST", "/invoice-batches/{id}/retry/{slug}"): "b-id-404",
    ("POST", "/webhooks/{slug}"): "public",
    ("GET", "/api/v1/integrations"): "api-a-only",
    ("GET", "/api/v1/openapi.json"): "public",
    ("POST", "/api/v1/invoice-batches"): "api-own-org",
    ("GET", "/api/v1/invoice-batches/{id}"): "api-b-id-404",
    ("GET", "/api/v1/invoices/{id}"): "api-b-id-404",
    ("PATCH", "/api/v1/invoices/{id}"): "api-b-id-404",
    ("POST", "/api/v1/invoices/{id}/void"): "api-b-id-404",
    ("GET", "/integrations/{slug}/mapping"): "page-a-only",
    ("POST", "/integrations/{slug}/mapping"): "own-org-action",
    ("POST", "/integrations/{slug}/mapping/refresh"): "own-org-action",
    ("GET", "/api/v1/integrations/{slug}/mapping"): "api-a-only",
    ("PATCH", "/api/v1/integrations/{slug}/mapping"): "api-own-org",
    ("POST", "/api/v1/integrations/{slug}/mapping/refresh"): "api-own-org",
    ("GET", "/settings"): "page-a-only",
    ("POST", "/settings"): "own-org-action",
    ("GET", "/api/v1/settings"): "api-a-only",
    ("PATCH", "/api/v1/settings"): "api-own-org",
}


def app_routes(app) -> set[tuple[str, str]]:
    found = set()
    for route in app.routes:
        if isinstance(route, Route):
            for method in route.methods or ():
                if method != "HEAD":
                    found.add((method, route.path))
    return found


def test_every_route_is_probed(hub_app):
    assert app_routes(hub_app) == set(PROBES)


def _path(template: str, b: dict[str, Any]) -> str:
    ids = {"{slug}": "fakeledger", "{job_id}": str(b["job_id"])}
    if "/invoices/" in template:
        ids["{id}"] = str(b["invoice_id"])
    else:
        ids["{id}"] = str(b["batch_id"])
    for key, value in ids.items():
        template = template.replace(key, value)
    return template


def test_org_a_cannot_reach_org_b(hub_app, hub_db, two_orgs):
    a, b = two_orgs["a"], two_orgs["b"]
    with (
        TestClient(hub_app, follow_redirects=False) as browser,
        TestClient(hub_app, headers={"Authorization": f"Bearer {a['api_key']}"}) as api,
    ):
        login(browser, a["admin_email"])
        for (method, template), kind in PROBES.items():
            path = _path(template, b)
            if kind == "b-id-404":
                response = browser.request(method, path, data={"csrf_token": form_token(browser)})
                assert response.status_code == 404, (method, template)
            elif kind == "api-b-id-404":
                response = api.request(method, path, json={"memo": "hijack"})
                assert response.status_code == 404, (method, template)
                assert "batch of b" not in response.text and "INV-b" not in response.text
            elif kind in ("page-a-only", "api-a-only"):
                client = browser if kind == "page-a-only" else api
                text = client.get(path).text
                assert "Company b" not in text and "batch of b" not in text, template
                assert "secret history of b" not in text
    # Nothing of B's changed.
    with hub_db.session() as session:
        invoice = session.get(Invoice, b["invoice_id"])
        assert invoice.memo is None and invoice.status == "open"
        assert session.get(Job, b["job_id"]).state == "dead"
        connection = session.get(Connection, b["connection_id"])
        assert connection.status == "connected"


def test_own_org_actions_touch_only_own_connection(hub_app, hub_db, two_orgs):
    a, b = two_orgs["a"], two_orgs["b"]
    with TestClient(hub_app, follow_redirects=False) as browser:
        login(browser, a["admin_email"])
        browser.post(
            "/integrations/fakeledger/disconnect", data={"csrf_token": form_token(browser)}
        )
    with hub_db.session() as session:
        statuses = dict(
            session.exec(sa.select(Connection.organization_id, Connection.status)).all()
        )
    assert statuses[a["id"]] == "disconnected"
    assert statuses[b["id"]] == "connected"


def test_api_batches_are_created_in_the_keys_org(hub_app, hub_db, two_orgs):
    with hub_db.session() as session:
        owners = session.exec(sa.select(Invoice.number, Invoice.organization_id)).all()
    assert dict(owners) == {"INV-a": two_orgs["a"]["id"], "INV-b": two_orgs["b"]["id"]}


def test_sample_batches_exist_only_in_the_demo(admin_client):
    response = admin_client.post(
        "/invoice-batches/sample", data={"csrf_token": form_token(admin_client)}
    )
    assert response.status_code == 404
