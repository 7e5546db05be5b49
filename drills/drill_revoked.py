"""Drill 5: the company revokes the hub's access in the middle of a push, then reconnects.

Part of a batch is in QuickBooks when every grant the hub holds for the company is
revoked (what "Disconnect" inside QuickBooks does). The connection must turn to
``needs_reconnect`` and its work must park, not fail or spin; a batch created
meanwhile must wait too. After the admin reconnects the same company, everything
completes, exactly once.
"""

from __future__ import annotations

import argparse
import time

from checks import audit_push, make_batch, record_push_audit, wait_batches
from harness import Stack
from results import DrillResult, drill_main, wait_for

NAME = "revoked"
TITLE = "Access revoked at QuickBooks mid-batch, then reconnected"
PARKED_SECONDS = 4.0


def run(result: DrillResult, args: argparse.Namespace) -> None:
    """Revoke mid-push, watch the work park, reconnect, check QuickBooks."""
    count = 200 if args.quick else 400
    later = 50
    result.done = (
        f"A batch of {count} invoices is being pushed (50 ms per request) when the company "
        "revokes every grant of the hub's app. A second batch of "
        f"{later} is created while the connection waits for a reconnect; "
        f"{PARKED_SECONDS:g} s later the admin reconnects the same company through the "
        "consent page."
    )
    with Stack(NAME, result, postgres=args.postgres) as stack:
        realm = stack.emulator.first_realm()
        stack.serve()
        org = stack.org("Drill Revoked")
        connection_id = stack.connect(org)
        stack.emulator.control("POST", "latency", json={"ms": 50})
        first = org.push(make_batch(count, "RV"))
        wait_for(
            lambda: stack.emulator.count("Invoice", realm) >= count // 5,
            "a fifth of the batch in QuickBooks",
            timeout=120,
            every=0.1,
        )
        revoked = stack.emulator.control(
            "POST", f"companies/{realm}/revoke", json={"client_id": stack.client_id}
        )["revoked"]
        revoked_at = time.monotonic()
        result.check(revoked >= 1, f"the company revoked the hub's grant ({revoked})")

        def status() -> str | None:
            found = stack.scalar("SELECT status FROM connection WHERE id = :i", i=connection_id)
            return str(found) if found == "needs_reconnect" else None

        wait_for(status, "the connection needs a reconnect", timeout=60, every=0.2)
        result.figures["seconds until the hub noticed"] = round(
            time.monotonic() - revoked_at, 1
        )
        second = org.push(make_batch(later, "RVL"))
        held = stack.emulator.count("Invoice", realm)
        time.sleep(PARKED_SECONDS)
        after_wait = stack.emulator.count("Invoice", realm)
        states = stack.job_states("push_batch")
        result.figures["invoices in QuickBooks when access ended"] = held
        result.figures["push jobs while waiting"] = states
        result.check(
            after_wait == held,
            f"nothing is pushed while access is revoked ({held} then {after_wait})",
        )
        result.check(
            states.get("parked", 0) == 2 and states.get("dead", 0) == 0,
            f"both push jobs are parked, none dead ({states})",
        )
        views = [org.batch(first), org.batch(second)]
        result.check(
            all(v["integrations"]["quickbooks"]["sync_state"] != "synced" for v in views),
            "neither batch shows as synced while parked",
        )
        page = org.browser.get("/integrations").text
        result.check(
            "Reconnect needed" in page and ">Reconnect<" in page,
            "Manage Integrations says “Reconnect needed” and offers Reconnect",
        )
        org.connect()
        reconnected = time.monotonic()
        result.check(
            stack.scalar("SELECT status FROM connection WHERE id = :i", i=connection_id)
            == "connected",
            "the same connection is live again after reconnecting",
        )
        views = wait_batches(org, [first, second], timeout=240)
        result.recovery_seconds = time.monotonic() - reconnected
        result.recovery_note = "from the reconnect to both batches synced"
        result.check(
            all(v["integrations"]["quickbooks"]["sync_state"] == "synced" for v in views),
            "both batches are synced",
        )
        record_push_audit(result, audit_push(stack, realm, views))
        result.check(stack.job_states().get("dead", 0) == 0, "no job is dead")


if __name__ == "__main__":
    drill_main(NAME, TITLE, run)
