"""Schema, migrations and column types, on whichever database the tests run on."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

from hub import migrate
from hub.models import Invoice, InvoiceBatch, InvoiceLine, Organization, Participant


def test_migrations_match_the_models(hub_db):
    assert migrate.is_current(hub_db)
    with hub_db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, SQLModel.metadata) == []


def test_money_round_trips_exactly_and_times_stay_utc(hub_db):
    created = dt.datetime(2026, 11, 23, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=11)))
    with hub_db.session() as session:
        org = Organization(name="Money Co")
        session.add(org)
        session.flush()
        batch = InvoiceBatch(organization_id=org.id, reference="r", created_at=created)
        participant = Participant(organization_id=org.id, external_ref="P", name="P")
        session.add_all([batch, participant])
        session.flush()
        invoice = Invoice(
            organization_id=org.id,
            batch_id=batch.id,
            participant_id=participant.id,
            number="INV-1",
            issue_date=dt.date(2026, 11, 23),
            due_date=dt.date(2026, 12, 7),
            currency="AUD",
            total=Decimal("200.28"),
            balance=Decimal("0.10") + Decimal("0.20"),
        )
        session.add(invoice)
        session.flush()
        session.add(
            InvoiceLine(
                invoice_id=invoice.id,
                position=1,
                description="d",
                item_code="c",
                quantity=Decimal("2.5"),
                unit_price=Decimal("100.1234"),
                amount=Decimal("250.31"),
            )
        )
        ids = invoice.id, batch.id
    with hub_db.read_session() as session:
        invoice = session.get(Invoice, ids[0])
        assert invoice.total == Decimal("200.28") and isinstance(invoice.total, Decimal)
        assert invoice.balance == Decimal("0.30")
        line = session.exec(sa.select(InvoiceLine)).scalars().one()
        assert line.unit_price == Decimal("100.1234") and line.quantity == Decimal("2.5000")
        batch = session.get(InvoiceBatch, ids[1])
        assert batch.created_at == created and batch.created_at.tzinfo is not None
        assert batch.created_at.utcoffset() == dt.timedelta(0)


def test_sqlite_runs_in_wal_mode_with_foreign_keys(hub_db):
    if not hub_db.is_sqlite:
        return
    with hub_db.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_foreign_keys_are_enforced(hub_db):
    import pytest
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError), hub_db.session() as session:
        session.add(Participant(organization_id=999, external_ref="x", name="x"))
        session.flush()


def test_invoices_made_before_tax_existed_become_gst_free(tmp_path):
    from hub.db import Database

    db = Database(f"sqlite:///{tmp_path / 'old.db'}")
    migrate.upgrade(db, "0001")
    with db.engine.begin() as connection:
        connection.execute(sa.text(
            "INSERT INTO organization (id, name, created_at) VALUES (1, 'Old Co', '2026-01-01')"
        ))
        connection.execute(sa.text(
            "INSERT INTO invoicebatch (id, organization_id, reference, created_at) "
            "VALUES (1, 1, 'r', '2026-01-01')"
        ))
        connection.execute(sa.text(
            "INSERT INTO participant (id, organization_id, external_ref, name) "
            "VALUES (1, 1, 'P-1', 'Alex')"
        ))
        connection.execute(sa.text(
            "INSERT INTO invoice (id, organization_id, batch_id, participant_id, number, "
            "issue_date, due_date, currency, status, total, amount_paid, balance, "
            "deleted_remotely, version, created_at, updated_at) VALUES (1, 1, 1, 1, 'INV-1', "
            "'2026-01-01', '2026-01-15', 'AUD', 'open', '200.28', '0.00', '200.28', 0, 1, "
            "'2026-01-01', '2026-01-01')"
        ))
        connection.execute(sa.text(
            "INSERT INTO invoiceline (id, invoice_id, position, description, item_code, "
            "quantity, unit_price, amount) VALUES (1, 1, 1, 'x', 'c', '2', '100.14', '200.28')"
        ))

    migrate.upgrade(db)

    with db.session() as session:
        invoice = session.get(Invoice, 1)
        line = session.get(InvoiceLine, 1)
        org = session.get(Organization, 1)
        assert (invoice.subtotal, invoice.tax, invoice.total) == (
            Decimal("200.28"), Decimal("0.00"), Decimal("200.28")
        )
        assert (line.tax, line.tax_amount) == ("gst_free", Decimal("0.00"))
        assert org.default_tax == "gst_free"
    db.dispose()
