"""Drill 8: a thousand malformed or unsigned deliveries mixed with good ones.

While payments recorded in QuickBooks arrive as real webhooks, 1,000 bad deliveries
(no signature, a wrong one, one that is not base64, a signed body that is not JSON,
signed JSON that is not a QuickBooks notification, a notification missing its
fields) are shuffled with good, correctly signed notifications and sent by
concurrent senders. Bad ones must be answered 401 (unauthenticated, nothing stored)
or 400 (signed but unusable, stored only as a counted rejection); every good one must
be applied.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import re
import threading
import time
from decimal import Decimal

import httpx
from checks import make_batch, paid_shown, remote_paid, wait_batches
from harness import Stack
from results import DrillResult, drill_main, wait_for
from webhooks import legacy_body, send_all, sign

NAME = "bad_webhooks"
TITLE = "1,000 malformed or unsigned deliveries mixed with good ones"


def bad_deliveries(token: str, realm: str) -> list[tuple[str, int, bytes, dict[str, str]]]:
    """(kind, expected status, body, headers) for 1,000 deliveries the hub must refuse."""
    json_type = {"content-type": "application/json"}
    when = dt.datetime(2026, 11, 23, tzinfo=dt.UTC)
    out: list[tuple[str, int, bytes, dict[str, str]]] = []
    for n in range(250):
        body = legacy_body(realm, "Invoice", str(900000 + n), "Update", when)
        out.append(("unsigned", 401, body, json_type))
    for n in range(250):
        body = legacy_body(realm, "Invoice", str(910000 + n), "Update", when)
        forged = {**json_type, "intuit-signature": sign("not-the-verifier-token", body)}
        out.append(("wrong signature", 401, body, forged))
    for n in range(100):
        body = legacy_body(realm, "Invoice", str(920000 + n), "Update", when)
        out.append(
            (
                "signature not base64",
                401,
                body,
                {**json_type, "intuit-signature": f"%%not-base64-{n}%%"},
            )
        )
    for n in range(150):
        body = b'{"eventNotifications": [{"realmId": ' + str(n).encode()
        out.append(
            ("signed, not JSON", 400, body, {**json_type, "intuit-signature": sign(token, body)})
        )
    for n in range(150):
        body = json.dumps({"hello": "world", "n": n}).encode()
        out.append(
            (
                "signed, not a notification",
                400,
                body,
                {**json_type, "intuit-signature": sign(token, body)},
            )
        )
    for n in range(100):
        body = json.dumps(
            {"eventNotifications": [{"dataChangeEvent": {"entities": [{"id": str(n)}]}}]}
        ).encode()
        out.append(
            (
                "signed, fields missing",
                400,
                body,
                {**json_type, "intuit-signature": sign(token, body)},
            )
        )
    return out


def run(result: DrillResult, args: argparse.Namespace) -> None:
    """Send the bad with the good, check answers, storage and amounts."""
    count = 30 if args.quick else 60
    result.done = (
        f"{count} invoices are pushed; one payment per invoice is recorded in QuickBooks "
        "(real, signed webhooks) while 1,000 bad deliveries — 250 unsigned, 250 with a "
        "wrong signature, 100 with a signature that is not base64, 150 signed but not "
        "JSON, 150 signed JSON that is not a notification, 100 signed notifications "
        f"missing fields — are shuffled with {count * 2} good signed notifications "
        "(Invoice updates of the pushed invoices) and sent by 16 concurrent senders."
    )
    with Stack(NAME, result, postgres=args.postgres) as stack:
        realm = stack.emulator.first_realm()
        stack.serve()
        org = stack.org("Drill Bad Webhooks")
        stack.connect(org)
        (view,) = wait_batches(org, [org.push(make_batch(count, "BW"))], timeout=120)
        invoices = view["invoices"]
        wait_for(
            lambda: (
                stack.emulator.control("GET", "webhooks")["pending"] == 0
                and _count(stack, "webhookevent WHERE state = 'pending'") == 0
            ),
            "the push's own notifications processed",
            timeout=60,
        )
        before = {
            "processed": _count(stack, "webhookdelivery WHERE state = 'processed'"),
            "rejected": _count(stack, "webhookdelivery WHERE state = 'rejected'"),
            "events": _count(stack, "webhookevent"),
            "delivered": stack.emulator.stats()["webhooks"].get("delivered", 0),
        }
        bad = bad_deliveries(stack.verifier, realm)
        start = dt.datetime.now(dt.UTC)
        good = []
        for n, invoice in enumerate(invoices * 2):
            body = legacy_body(
                realm,
                "Invoice",
                invoice["integrations"]["quickbooks"]["remote_id"],
                "Update",
                start + dt.timedelta(milliseconds=n),
            )
            good.append(
                (
                    "good",
                    200,
                    body,
                    {
                        "content-type": "application/json",
                        "intuit-signature": sign(stack.verifier, body),
                    },
                )
            )
        mixed = bad + good
        random.Random(8).shuffle(mixed)
        expected: dict[int, Decimal] = {}

        def pay() -> None:
            for position, invoice in enumerate(invoices):
                amount = Decimal("15.00") + Decimal(position) / 100
                stack.emulator.pay(
                    realm, invoice["integrations"]["quickbooks"]["remote_id"], amount
                )
                expected[invoice["id"]] = amount
                time.sleep(0.05)

        payer = threading.Thread(target=pay)
        payer.start()
        statuses = send_all(
            f"{stack.base_url}/webhooks/quickbooks",
            [(body, headers) for _, _, body, headers in mixed],
            senders=16,
        )
        payer.join()
        sent_at = time.monotonic()
        wrong: dict[str, int] = {}
        for (kind, want, _, _), got in zip(mixed, statuses, strict=True):
            if got != want:
                key = f"{kind}: {got} (want {want})"
                wrong[key] = wrong.get(key, 0) + 1
        result.check(not wrong, f"every delivery got the right answer {wrong or ''}".strip())

        def applied() -> bool:
            shown = paid_shown(org, view["id"])
            return all(shown.get(i) == a for i, a in expected.items()) and (
                _count(stack, "webhookevent WHERE state = 'pending'") == 0
            )

        wait_for(applied, "every good delivery applied", timeout=90)
        result.recovery_seconds = time.monotonic() - sent_at
        result.recovery_note = "from the last delivery sent to every good one applied"
        delivered = stack.emulator.stats()["webhooks"].get("delivered", 0) - before["delivered"]
        processed = _count(stack, "webhookdelivery WHERE state = 'processed'") - before["processed"]
        rejected = _count(stack, "webhookdelivery WHERE state = 'rejected'") - before["rejected"]
        signed_bad = sum(1 for _, want, _, _ in bad if want == 400)
        counters = _metrics(stack)
        result.figures["QuickBooks deliveries during the storm"] = delivered
        result.figures["hub webhook counters"] = counters
        result.records = len(good) + delivered + len(bad)
        result.check(
            processed == len(good) + delivered,
            f"stored deliveries: {processed} = {len(good)} good sent + {delivered} from "
            "QuickBooks, none of the bad",
        )
        result.check(
            rejected == signed_bad,
            f"stored rejections: {rejected} = the {signed_bad} signed but malformed ones",
        )
        leaked = _count(
            stack,
            "webhookevent e JOIN webhookdelivery d ON d.id = e.delivery_id "
            "WHERE d.state = 'rejected' OR (length(e.entity_id) = 6 AND e.entity_id LIKE '9%')",
        )
        result.check(leaked == 0, f"no event from a bad delivery was stored ({leaked})")
        result.check(
            counters.get("bad_signature", 0) == 600 and counters.get("malformed", 0) == 400,
            "the hub counted 600 bad signatures and 400 malformed bodies",
        )
        final = {i["id"]: i for i in org.batch(view["id"])["invoices"]}
        quickbooks = remote_paid(stack, realm)
        result.check(
            all(
                quickbooks[final[i]["integrations"]["quickbooks"]["remote_id"]]
                == Decimal(final[i]["amount_paid"])
                for i in expected
            ),
            "every invoice's amount paid equals QuickBooks'",
        )
        not_ok = sum(
            1
            for (_, want, _, _), got in zip(mixed, statuses, strict=True)
            if want == 200 and got != 200
        )
        result.lost = not_ok + sum(
            1 for i, a in expected.items() if Decimal(final[i]["amount_paid"]) < a
        )
        result.duplicated = (
            sum(1 for i, a in expected.items() if Decimal(final[i]["amount_paid"]) > a)
            + max(0, processed - len(good) - delivered)
            + max(0, rejected - signed_bad)
            + leaked
        )
        result.check(stack.job_states().get("dead", 0) == 0, "no job is dead")


def _count(stack: Stack, what: str) -> int:
    return int(stack.scalar(f"SELECT count(*) FROM {what}"))  # noqa: S608  (our own text)


def _metrics(stack: Stack) -> dict[str, int]:
    text = httpx.get(f"{stack.base_url}/metrics", timeout=10).text
    counters = {}
    for match in re.finditer(
        r'^hub_webhook_deliveries_total\{[^}]*outcome="([^"]+)"[^}]*\} ([0-9.e+]+)$',
        text,
        re.MULTILINE,
    ):
        counters[match.group(1)] = int(float(match.group(2)))
    return counters


if __name__ == "__main__":
    drill_main(NAME, TITLE, run)
