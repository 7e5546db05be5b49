"""Sample data for the demo: a realistic fortnight of support coordination invoices."""

from __future__ import annotations

import datetime as dt
import random

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


def sample_batch(today: dt.date, count: int = 5, *, seed: int | None = None) -> BatchIn:
    """A batch of ``count`` invoices with unique numbers, dated ``today``."""
    rng = random.Random(seed)
    stamp = dt.datetime.now(dt.UTC).strftime("%H%M%S")
    invoices = []
    for n in range(count):
        ref, name, email = PARTICIPANTS[n % len(PARTICIPANTS)]
        code, description, price = rng.choice(SERVICES)
        invoices.append(
            {
                "number": f"S{today:%y%m%d}-{stamp}-{n + 1:03d}",
                "participant": {"id": ref, "name": name, "email": email},
                "issue_date": today.isoformat(),
                "due_date": (today + dt.timedelta(days=14)).isoformat(),
                "currency": "AUD",
                "lines": [
                    {
                        "description": description,
                        "item_code": code,
                        "quantity": str(rng.choice([1, 1.5, 2, 3])),
                        "unit_price": price,
                    }
                ],
            }
        )
    reference = f"Sample fortnight {today:%d %b %Y} {stamp}"
    return BatchIn.model_validate({"reference": reference, "invoices": invoices})
