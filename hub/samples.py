"""Sample data for the demo: a realistic fortnight of support coordination invoices."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from hub.batches import BatchIn

PARTICIPANTS = [
    ("P-001", "Alex Chen", "alex.chen@example.com"),
    ("P-002", "Priya Natarajan", "priya.n@example.com"),
    ("P-003", "Tom O'Brien", None),
    ("P-004", "Mia Rossi", "mia.rossi@example.com"),
    ("P-005", "Kwame Mensah", "kwame@example.com"),
    ("P-006", "Sofía García", "sofia.garcia@example.com"),
]
SERVICES = [
    ("07_002_0106_8_3", "Support coordination", "100.14"),
    ("07_004_0132_8_3", "Specialist support coordination", "190.54"),
    ("07_001_0106_8_3", "Support connection", "65.09"),
]
#: A charge outside the participant's plan, on which GST applies.
GST_SERVICE = ("ADMIN-REPORT", "Report for a third party (not NDIS-funded)", "85.00")


def sample_batch(today: dt.date, count: int = 5, *, seed: int | None = None) -> BatchIn:
    """A batch of ``count`` invoices with unique numbers, dated ``today``."""
    rng = random.Random(seed)
    stamp = dt.datetime.now(dt.UTC).strftime("%H%M%S")
    invoices = []
    for n in range(count):
        ref, name, email = PARTICIPANTS[n % len(PARTICIPANTS)]
        code, description, price = rng.choice(SERVICES)
        lines: list[dict[str, str]] = [
            {
                "description": description,
                "item_code": code,
                "quantity": str(rng.choice([1, 1.5, 2, 3])),
                "unit_price": price,
                "tax": "gst_free",
            }
        ]
        if n % 3 == 2:  # now and then, something GST applies to
            code, description, price = GST_SERVICE
            lines.append(
                {
                    "description": description,
                    "item_code": code,
                    "quantity": "1",
                    "unit_price": price,
                    "tax": "gst",
                }
            )
        invoices.append(
            {
                "number": f"S{today:%y%m%d}-{stamp}-{n + 1:03d}",
                "participant": {"id": ref, "name": name, "email": email},
                "issue_date": today.isoformat(),
                "due_date": (today + dt.timedelta(days=14)).isoformat(),
                "currency": "AUD",
                "lines": lines,
            }
        )
    reference = f"Sample fortnight {today:%d %b %Y} {stamp}"
    return BatchIn.model_validate({"reference": reference, "invoices": invoices})


def batch_document(count: int, prefix: str = "INV", *, participants: int = 25) -> dict[str, Any]:
    """An API batch body of ``count`` invoices over a few participants and item codes.

    Invoice numbers are ``{prefix}-00000`` upwards; tests, drills and benchmarks use it.
    """
    codes = [code for code, _description, _price in SERVICES]
    return {
        "reference": f"{prefix} batch of {count}",
        "invoices": [
            {
                "number": f"{prefix}-{n:05d}",
                "participant": {
                    "id": f"P-{n % participants:03d}",
                    "name": f"Participant {n % participants:03d}",
                    "email": f"p{n % participants}@example.com",
                },
                "issue_date": "2026-11-23",
                "due_date": "2026-12-07",
                "currency": "AUD",
                "lines": [
                    {
                        "description": "Support coordination",
                        "item_code": codes[n % 3],
                        "quantity": "1.5",
                        "unit_price": "100.14",
                    },
                    {
                        "description": "Travel",
                        "item_code": codes[(n + 1) % 3],
                        "quantity": "1",
                        "unit_price": "12.50",
                    },
                ],
            }
            for n in range(count)
        ],
    }
