"""Finding or creating the Customers and Items that invoices refer to.

A participant becomes a Customer whose DisplayName is the participant's name. When
two participants share a name, or the name already belongs to a customer linked to
someone else, the participant id is added ("Alex Chen (P-001)"), so the choice
depends only on the data and a retry makes the same one. Item codes become service
Items named after the code.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hub.types import (
    InvoicePayload,
    LinkUpdate,
    ParticipantPayload,
    RecordError,
    RemoteRef,
)
from hub_quickbooks.batching import Creation, create_all, gather_all
from hub_quickbooks.client import QuickBooksClient
from hub_quickbooks.errors import DUPLICATE_NAME, Fault, record_error_for_fault
from hub_quickbooks.mapping import (
    JsonObject,
    chunks,
    customer_body,
    disambiguated_name,
    display_name,
    item_body,
    item_name,
    remote_ref,
    select_in,
)

log = logging.getLogger(__name__)

CUSTOMER = "customer"
ITEM = "item"
#: Values per ``IN (...)`` list, to keep each query short.
IN_SIZE = 30

_EXISTING_ID = re.compile(r"\bId\s*=\s*(\d+)")


@dataclass
class References:
    """Customer and Item ids for a set of invoices, the links found, and failures."""

    customers: dict[str, str] = field(default_factory=dict)
    items: dict[str, str] = field(default_factory=dict)
    errors: dict[tuple[str, str], RecordError] = field(default_factory=dict)
    links: list[LinkUpdate] = field(default_factory=list)

    def error_for(self, invoice: InvoicePayload) -> RecordError | None:
        """Why ``invoice`` cannot be pushed (its customer or an item failed), or None."""
        error = self.errors.get((CUSTOMER, invoice.participant.id))
        if error is None:
            error = next(
                (
                    self.errors[(ITEM, line.item_code)]
                    for line in invoice.lines
                    if (ITEM, line.item_code) in self.errors
                ),
                None,
            )
        return error

    def link(self, kind: str, local_key: str, obj: Mapping[str, Any]) -> str:
        """Record that ``local_key`` maps to the QuickBooks object ``obj``."""
        ref = remote_ref(obj)
        self.links.append(LinkUpdate(kind, local_key, ref))
        (self.customers if kind == CUSTOMER else self.items)[local_key] = ref.remote_id
        return ref.remote_id


async def resolve(
    client: QuickBooksClient,
    links: Mapping[tuple[str, str], RemoteRef],
    invoices: Sequence[InvoicePayload],
    *,
    today: dt.date,
) -> References:
    """Find or create every customer and item ``invoices`` need."""
    refs = References()
    participants = list({inv.participant.id: inv.participant for inv in invoices}.values())
    codes = list(dict.fromkeys(line.item_code for inv in invoices for line in inv.lines))
    await gather_all(
        _customers(client, links, participants, refs, today),
        _items(client, links, codes, refs, today),
    )
    return refs


# --- customers ---------------------------------------------------------------------


async def _customers(
    client: QuickBooksClient,
    links: Mapping[tuple[str, str], RemoteRef],
    participants: Sequence[ParticipantPayload],
    refs: References,
    today: dt.date,
) -> None:
    # Which participant each known Customer Id belongs to.
    owners = {ref.remote_id: key for (kind, key), ref in links.items() if kind == CUSTOMER}
    pending: list[ParticipantPayload] = []
    for participant in participants:
        ref = links.get((CUSTOMER, participant.id))
        if ref is not None:
            refs.customers[participant.id] = ref.remote_id
        else:
            pending.append(participant)
    if not pending:
        return
    shared = Counter(_fold(display_name(p.name)) for p in participants)
    contested = {name for name, count in shared.items() if count > 1}
    names = [n for p in pending for n in (display_name(p.name), disambiguated_name(p))]
    found = await _find_by_name(client, "Customer", "DisplayName", names)

    def free(obj: Mapping[str, Any], participant: ParticipantPayload) -> bool:
        return owners.get(str(obj["Id"]), participant.id) == participant.id

    def take(participant: ParticipantPayload, obj: Mapping[str, Any]) -> None:
        owners[str(obj["Id"])] = participant.id
        refs.link(CUSTOMER, participant.id, obj)

    to_create: list[tuple[ParticipantPayload, str]] = []
    for participant in pending:
        plain, suffixed = display_name(participant.name), disambiguated_name(participant)
        own = found.get(_fold(suffixed))
        if own is not None and free(own, participant):
            take(participant, own)
            continue
        usable_plain = _fold(plain) not in contested
        same_name = found.get(_fold(plain))
        if usable_plain and same_name is not None and free(same_name, participant):
            take(participant, same_name)
            continue
        name = plain if usable_plain and same_name is None else suffixed
        to_create.append((participant, name))

    # Two rounds at most: a plain name QuickBooks says is taken is retried with the id.
    for _round in range(2):
        if not to_create:
            break
        creations = [
            Creation(p.id, customer_body(p, name), f"the customer {name!r}")
            for p, name in to_create
        ]
        answers = await create_all(client, "Customer", creations, today=today)
        retry: list[tuple[ParticipantPayload, str]] = []
        taken_by: dict[str, tuple[ParticipantPayload, str, Fault]] = {}
        for (participant, name), creation, answer in zip(
            to_create, creations, answers, strict=True
        ):
            if answer.obj is not None:
                take(participant, answer.obj)
                continue
            assert answer.fault is not None
            existing = _existing_id(answer.fault)
            if existing and owners.get(existing, participant.id) == participant.id:
                taken_by[existing] = (participant, name, answer.fault)
            elif answer.fault.has_code(DUPLICATE_NAME) and name != disambiguated_name(participant):
                retry.append((participant, disambiguated_name(participant)))
            else:
                refs.errors[(CUSTOMER, participant.id)] = record_error_for_fault(
                    answer.fault,
                    subject=creation.subject,
                    support_reference=answer.support_reference,
                )
        if taken_by:
            # The name belongs to an object the query did not show: a customer created
            # meanwhile (use it), or an inactive customer, a vendor or an employee.
            rows = await _find_by_id(client, "Customer", list(taken_by))
            for existing, (participant, name, fault) in taken_by.items():
                if existing in rows:
                    take(participant, rows[existing])
                elif name != disambiguated_name(participant):
                    retry.append((participant, disambiguated_name(participant)))
                else:
                    refs.errors[(CUSTOMER, participant.id)] = record_error_for_fault(
                        fault, subject=f"the customer {name!r}", support_reference=None
                    )
        to_create = retry
    for participant, name in to_create:
        refs.errors[(CUSTOMER, participant.id)] = RecordError(
            code=DUPLICATE_NAME,
            message=f"QuickBooks refused the customer {name!r}: the name is already used "
            "by another customer, vendor or employee.",
        )


# --- items ---------------------------------------------------------------------------


async def _items(
    client: QuickBooksClient,
    links: Mapping[tuple[str, str], RemoteRef],
    codes: Sequence[str],
    refs: References,
    today: dt.date,
) -> None:
    pending: list[str] = []
    for code in codes:
        ref = links.get((ITEM, code))
        if ref is not None:
            refs.items[code] = ref.remote_id
        else:
            pending.append(code)
    if not pending:
        return
    found = await _find_by_name(client, "Item", "Name", [item_name(c) for c in pending])
    to_create: list[str] = []
    for code in pending:
        obj = found.get(_fold(item_name(code)))
        if obj is None:
            to_create.append(code)
        elif obj.get("Type") == "Category":
            refs.errors[(ITEM, code)] = _category_error(code)
        else:
            refs.link(ITEM, code, obj)
    if not to_create:
        return
    account = await income_account(client)
    if account is None:
        for code in to_create:
            refs.errors[(ITEM, code)] = RecordError(
                code="no_income_account",
                message=f"Cannot create the item {item_name(code)!r} in QuickBooks: the "
                "company has no Income account. Create one in QuickBooks, then retry.",
            )
        return
    creations = [
        Creation(code, item_body(code, account), f"the item {item_name(code)!r}")
        for code in to_create
    ]
    answers = await create_all(client, "Item", creations, today=today)
    taken_by: dict[str, tuple[str, Fault]] = {}
    for code, creation, answer in zip(to_create, creations, answers, strict=True):
        if answer.obj is not None:
            refs.link(ITEM, code, answer.obj)
            continue
        assert answer.fault is not None
        existing = _existing_id(answer.fault)
        if existing:
            taken_by[existing] = (code, answer.fault)
        else:
            refs.errors[(ITEM, code)] = record_error_for_fault(
                answer.fault, subject=creation.subject, support_reference=answer.support_reference
            )
    if taken_by:
        rows = await _find_by_id(client, "Item", list(taken_by))
        for existing, (code, fault) in taken_by.items():
            obj = rows.get(existing)
            if obj is not None and obj.get("Type") != "Category":
                refs.link(ITEM, code, obj)
            else:
                refs.errors[(ITEM, code)] = record_error_for_fault(
                    fault, subject=f"the item {item_name(code)!r}", support_reference=None
                )


async def income_account(client: QuickBooksClient) -> str | None:
    """The Id of the Income account new items are attached to (a service one if any)."""
    rows = await client.query(
        "SELECT * FROM Account WHERE AccountType = 'Income'",
        subject="the company's income accounts",
    )
    if not rows:
        return None
    rows.sort(key=lambda row: ("service" not in str(row.get("Name", "")).lower(), _id(row)))
    return str(rows[0]["Id"])


def _category_error(code: str) -> RecordError:
    return RecordError(
        code="item_is_category",
        message=f"QuickBooks has a category named {item_name(code)!r}, so the item cannot be "
        "used on invoices. Rename the category in QuickBooks, then retry.",
    )


# --- lookups -----------------------------------------------------------------------


async def _find_by_name(
    client: QuickBooksClient, entity: str, field_name: str, names: Sequence[str]
) -> dict[str, JsonObject]:
    """Active objects whose ``field_name`` is one of ``names``, by case-folded name."""
    unique = list(dict.fromkeys(names))
    pages = await gather_all(
        *(
            client.query(
                select_in(entity, field_name, group),
                subject=f"the {entity.lower()}s already in QuickBooks",
            )
            for group in chunks(unique, IN_SIZE)
        )
    )
    found: dict[str, JsonObject] = {}
    # Lowest Id first, so the same object wins every time.
    for row in sorted((row for page in pages for row in page), key=_id):
        found.setdefault(_fold(str(row.get(field_name, ""))), row)
    return found


async def _find_by_id(
    client: QuickBooksClient, entity: str, ids: Sequence[str]
) -> dict[str, JsonObject]:
    pages = await gather_all(
        *(
            client.query(
                select_in(entity, "Id", group),
                subject=f"the {entity.lower()}s already in QuickBooks",
            )
            for group in chunks(list(ids), IN_SIZE)
        )
    )
    return {str(row["Id"]): row for page in pages for row in page}


def _existing_id(fault: Fault) -> str | None:
    """The Id a 6240 fault names ("The name supplied already exists. : Id=58")."""
    if not fault.has_code(DUPLICATE_NAME):
        return None
    for error in fault.errors:
        match = _EXISTING_ID.search(error.detail)
        if match:
            return match.group(1)
    return None


def _fold(name: str) -> str:
    # QuickBooks compares names without regard to case.
    return name.casefold()


def _id(row: Mapping[str, Any]) -> int:
    try:
        return int(str(row.get("Id")))
    except ValueError:
        return 0
