"""Which provider events the host hands to the plugin, and which it knows already."""

from __future__ import annotations

import datetime as dt

import pytest

from hub.inbound import _echoes
from hub.models import Connection, SyncLink, WebhookEvent

PUSHED = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def connection(hub_db, hub_org):
    with hub_db.session() as session:
        row = Connection(
            organization_id=hub_org["id"],
            integration="fakeledger",
            status="connected",
            external_account_id="A1",
        )
        session.add(row)
        session.flush()
        session.add_all(
            [
                # Created by a push: the host knows the state the provider made.
                SyncLink(
                    connection_id=row.id,
                    kind="invoice",
                    local_key="1",
                    remote_id="101",
                    remote_version="0",
                    remote_updated_at=PUSHED,
                    state="synced",
                ),
                # Found by its number: the host has not seen its state.
                SyncLink(
                    connection_id=row.id,
                    kind="invoice",
                    local_key="2",
                    remote_id="102",
                    remote_version="3",
                    state="synced",
                ),
                # A customer shares the id space of nothing the filter looks at.
                SyncLink(
                    connection_id=row.id,
                    kind="customer",
                    local_key="P-1",
                    remote_id="103",
                    remote_updated_at=PUSHED,
                    state="synced",
                ),
            ]
        )
        session.flush()
        session.expunge(row)
        return row


def event(n: int, entity: str, entity_id: str, operation: str, seconds: int = 0) -> WebhookEvent:
    return WebhookEvent(
        id=n,
        integration="fakeledger",
        external_account_id="A1",
        entity=entity,
        entity_id=entity_id,
        operation=operation,
        occurred_at=PUSHED + dt.timedelta(seconds=seconds),
        dedupe_key=f"k{n}",
    )


def skipped(hub_db, connection, *events: WebhookEvent) -> set[int | None]:
    with hub_db.read_session() as session:
        return _echoes(session, connection, list(events))


def test_the_echo_of_a_push_is_not_read_again(hub_db, connection):
    assert skipped(hub_db, connection, event(1, "Invoice", "101", "create")) == {1}
    assert skipped(hub_db, connection, event(2, "invoice", "101", "create", -5)) == {2}


def test_the_creation_of_an_invoice_the_host_does_not_link_is_none_of_its_business(
    hub_db, connection
):
    assert skipped(hub_db, connection, event(1, "Invoice", "999", "create")) == {1}


def test_events_that_may_tell_something_new_are_kept(hub_db, connection):
    kept = [
        event(1, "Invoice", "101", "create", seconds=2),  # a state after the push's
        event(2, "Invoice", "102", "create"),  # found, never seen
        event(3, "Invoice", "101", "update"),  # an update may come in the same second
        event(4, "Invoice", "101", "void"),
        event(5, "Invoice", "101", "delete"),
        event(6, "Customer", "103", "create"),  # only invoices are filtered
        event(7, "Payment", "101", "create"),
    ]

    assert skipped(hub_db, connection, *kept) == set()
