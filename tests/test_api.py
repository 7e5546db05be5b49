"""The JSON API: authentication, batch validation, idempotency, the before-connection rule."""

from __future__ import annotations

import copy
import datetime as dt

import pytest
import sqlalchemy as sa

from hub.models import Connection, Job

BATCH = {
    "reference": "2026-11 fortnight 2",
    "invoices": [
        {
            "number": "INV-1001",
            "participant": {"id": "P-001", "name": "Alex Chen", "email": "alex@example.com"},
            "issue_date": "2026-11-23",
            "due_date": "2026-12-07",
            "currency": "AUD",
            "lines": [
                {
                    "description": "Support coordination",
                    "item_code": "07_002_0106_8_3",
                    "quantity": "2",
                    "unit_price": "100.14",
                }
            ],
        }
    ],
}


def batch(**changes):
    body = copy.deepcopy(BATCH)
    invoice = body["invoices"][0]
    for path, value in changes.items():
        target = invoice
        parts = path.split("__")
        for part in parts[:-1]:
            target = target[int(part)] if part.isdigit() else target[part]
        if value is ...:
            del target[parts[-1]]
        else:
            target[parts[-1]] = value
    return body


def test_missing_and_unknown_keys_are_401_json(hub_client):
    response = hub_client.get("/api/v1/integrations")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert response.headers["www-authenticate"].startswith("Bearer")
    response = hub_client.get(
        "/api/v1/integrations", headers={"Authorization": "Bearer hub_not-a-real-key"}
    )
    assert response.status_code == 401


def test_create_batch_answers_201_with_sync_state(api_client):
    response = api_client.post("/api/v1/invoice-batches", json=BATCH)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["reference"] == "2026-11 fortnight 2"
    invoice = body["invoices"][0]
    assert invoice["total"] == "200.28"
    assert invoice["balance"] == "200.28" and invoice["amount_paid"] == "0.00"
    assert invoice["status"] == "open"
    assert invoice["integrations"]["fakeledger"]["sync_state"] == "not_connected"
    again = api_client.get(f"/api/v1/invoice-batches/{body['id']}").json()
    assert again["invoices"][0]["number"] == "INV-1001"
    one = api_client.get(f"/api/v1/invoices/{invoice['id']}").json()
    assert one["lines"][0]["unit_price"] == "100.14"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"lines__0__quantity": 2.5}, "invoices[0].lines[0].quantity"),
        ({"lines__0__quantity": "abc"}, "invoices[0].lines[0].quantity"),
        ({"lines__0__quantity": "0"}, "invoices[0].lines[0].quantity"),
        ({"lines__0__unit_price": "-1"}, "invoices[0].lines[0].unit_price"),
        ({"lines__0__unit_price": "1.123456"}, "invoices[0].lines[0].unit_price"),
        ({"issue_date": "2026-13-01"}, "invoices[0].issue_date"),
        ({"due_date": "2026-11-01"}, "invoices[0]"),
        ({"currency": "aud"}, "invoices[0].currency"),
        ({"lines": []}, "invoices[0].lines"),
        ({"number": ...}, "invoices[0].number"),
        ({"number": "X" * 101}, "invoices[0].number"),
        ({"lines__0__tax": "vat"}, "invoices[0].lines[0].tax"),
        ({"lines__0__tax": "GST"}, "invoices[0].lines[0].tax"),
        ({"lines__0__tax": 10}, "invoices[0].lines[0].tax"),
        ({"participant__name": ""}, "invoices[0].participant.name"),
        ({"participant__email": "not-an-email"}, "invoices[0].participant.email"),
        ({"colour": "blue"}, "invoices[0].colour"),
    ],
)
def test_validation_names_the_field(api_client, changes, field):
    response = api_client.post("/api/v1/invoice-batches", json=batch(**changes))
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert field in [d["field"] for d in error["details"]]
    assert api_client.get("/api/v1/invoice-batches/1").status_code == 404  # nothing stored


def test_malformed_json_is_400(api_client):
    response = api_client.post(
        "/api/v1/invoice-batches",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_json"


def test_empty_batch_is_refused(api_client):
    response = api_client.post("/api/v1/invoice-batches", json={"reference": "r", "invoices": []})
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "invoices"


def test_invoice_numbers_are_unique(api_client):
    twice = copy.deepcopy(BATCH)
    twice["invoices"].append(copy.deepcopy(BATCH["invoices"][0]))
    response = api_client.post("/api/v1/invoice-batches", json=twice)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "duplicate_invoice_number"
    assert api_client.post("/api/v1/invoice-batches", json=BATCH).status_code == 201
    response = api_client.post("/api/v1/invoice-batches", json=BATCH)
    assert response.status_code == 409
    assert response.json()["error"]["details"][0]["field"] == "invoices[0].number"


def test_oversized_body_is_413(api_client):
    huge = b'{"reference": "' + b"x" * (17 * 1024 * 1024) + b'"}'
    response = api_client.post(
        "/api/v1/invoice-batches", content=huge, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413


def test_idempotency_key_replays_the_first_result(api_client):
    headers = {"Idempotency-Key": "batch-2026-11-2"}
    first = api_client.post("/api/v1/invoice-batches", json=BATCH, headers=headers)
    second = api_client.post("/api/v1/invoice-batches", json=BATCH, headers=headers)
    assert first.status_code == 201 and second.status_code == 200
    assert second.headers["idempotent-replayed"] == "true"
    assert second.json()["id"] == first.json()["id"]
    other = api_client.post("/api/v1/invoice-batches", json=batch(number="INV-2"), headers=headers)
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "idempotency_key_reused"


def connect_fake(hub_db, org_id, *, at):
    with hub_db.session() as session:
        connection = Connection(
            organization_id=org_id,
            integration="fakeledger",
            status="connected",
            external_account_id="acct-1",
            external_account_name="Fake Co",
            environment="sandbox",
            connected_at=at,
        )
        session.add(connection)
        session.flush()
        return connection.id


def test_batches_before_the_connection_are_never_pushed(api_client, hub_db, hub_org):
    before = api_client.post("/api/v1/invoice-batches", json=BATCH).json()
    connect_fake(hub_db, hub_org["id"], at=dt.datetime.now(dt.UTC))
    after = api_client.post("/api/v1/invoice-batches", json=batch(number="INV-2")).json()
    old = api_client.get(f"/api/v1/invoice-batches/{before['id']}").json()
    assert old["integrations"]["fakeledger"]["sync_state"] == (
        "not_synced_created_before_connection"
    )
    assert old["invoices"][0]["integrations"]["fakeledger"]["sync_state"] == (
        "not_synced_created_before_connection"
    )
    assert after["integrations"]["fakeledger"]["sync_state"] == "queued"
    with hub_db.session() as session:
        jobs = session.exec(sa.select(Job.kind, Job.payload)).all()
    # Exactly one push job, for the batch created after connecting, written with it.
    assert [(kind, payload["batch_id"]) for kind, payload in jobs] == [("push_batch", after["id"])]


def test_patch_and_void(api_client):
    created = api_client.post("/api/v1/invoice-batches", json=BATCH).json()
    invoice_id = created["invoices"][0]["id"]
    patched = api_client.patch(
        f"/api/v1/invoices/{invoice_id}",
        json={
            "due_date": "2026-12-21",
            "memo": "Fortnight 2",
            "lines": [{"description": "d", "item_code": "c", "quantity": "1", "unit_price": "50"}],
        },
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["due_date"] == "2026-12-21" and patched.json()["total"] == "50.00"
    bad = api_client.patch(f"/api/v1/invoices/{invoice_id}", json={"due_date": "2020-01-01"})
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == "due_date"
    voided = api_client.post(f"/api/v1/invoices/{invoice_id}/void")
    assert voided.json()["status"] == "void" and voided.json()["balance"] == "0.00"
    again = api_client.patch(f"/api/v1/invoices/{invoice_id}", json={"memo": "x"})
    assert again.status_code == 409


def test_openapi_document(hub_client):
    spec = hub_client.get("/api/v1/openapi.json").json()
    assert spec["openapi"].startswith("3.1")
    assert "/invoice-batches" in spec["paths"] and "/invoices/{id}/void" in spec["paths"]
