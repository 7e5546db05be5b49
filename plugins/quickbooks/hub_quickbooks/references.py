"""Finding or creating the Customers and Items that invoices refer to.

A participant becomes the Customer linked to it, else the one named with its id
("Alex Chen (P-001)"), else, by the mapping's rule (``profile.CustomerRule``):

* ``participant_id`` (the default): a new customer "Alex Chen (P-001)", a name no
  other participant can have, so two Alex Chens never collide;
* ``name``: a customer named exactly as the participant, when no other participant
  of the batch shares the name and no other participant holds it, else a new one
  under the plain name, with the id added when the name is shared or taken.

The choice depends only on the data, so a retry makes the same one. Item codes become
service Items named after the code, booked to the mapping's income account.
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
from hub_quickbooks.errors import DUPLICATE_NAME, Fault
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
from hub_quickbooks.profile import CompanyProfile
from hub_quickbooks.refusals import explain

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
    profile: CompanyProfile,
) -> References:
    """Find or create every customer and item ``invoices`` need."""
    refs = References()
    participants = list({inv.participant.id: inv.participant for inv in invoices}.values())
    currencies = {inv.participant.id: inv.currency.upper() for inv in invoices}
    codes = list(dict.fromkeys(line.item_code for inv in invoices for line in inv.lines))
    await gather_all(
        _customers(client, links, participants, refs, today, profile, currencies),
        _items(client, links, codes, refs, today, profile),
    )
    return refs


# --- customers ---------------------------------------------------------------------


async def _customers(
    client: QuickBooksClient,
    links: Mapping[tuple[str, str], RemoteRef],
    participants: Sequence[ParticipantPayload],
    refs: References,
    today: dt.date,
    profile: CompanyProfile,
    currencies: Mapping[str, str],
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
    by_name = profile.customer_rule == "name"
    shared = Counter(_fold(display_name(p.name)) for p in participants)
    contested = {name for name, count in shared.items() if count > 1}
    names = [disambiguated_name(p) for p in pending]
    if by_name:
        names += [display_name(p.name) for p in pending]
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
        usable_plain = by_name and _fold(plain) not in contested
        same_name = found.get(_fold(plain)) if by_name else None
        if usable_plain and same_name is not None and free(same_name, participant):
            take(participant, same_name)
            continue
        name = plain if usable_plain and same_name is None else suffixed
        to_create.append((participant, name))

    # Two rounds at most: a plain name QuickBooks says is taken is retried with the id.
    for _round in range(2):
        if not to_create:
            break
        # A customer keeps the currency it is created with; it matters only when the
        # company has more than one (QUICKBOOKS.md 12.3).
        creations = [
            Creation(
                p.id,
                customer_body(p, name, currencies.get(p.id) if profile.multicurrency else None),
                f"the customer “{name}”",
            )
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
                refs.errors[(CUSTOMER, participant.id)] = explain(
                    answer.fault,
                    subject=creation.subject,
                    support_reference=answer.support_reference,
                )
        if taken_by:
            # The name belongs to an object the query did not show: a customer created
            # meanwhile (use it), or an inactive customer, a vendor or an employee.
            rows = await find_by_id(client, "Customer", list(taken_by))
            for existing, (participant, name, fault) in taken_by.items():
                if existing in rows:
                    take(participant, rows[existing])
                elif name != disambiguated_name(participant):
                    retry.append((participant, disambiguated_name(participant)))
                else:
                    refs.errors[(CUSTOMER, participant.id)] = explain(
                        fault, subject=f"the customer “{name}”", support_reference=None
                    )
        to_create = retry
    for participant, name in to_create:
        refs.errors[(CUSTOMER, participant.id)] = RecordError(
            code=DUPLICATE_NAME,
            message=f"QuickBooks already uses the name “{name}” for another customer, "
            "supplier or employee (perhaps an inactive one), so the participant "
            f"{participant.id} has no customer. Rename or reactivate it in QuickBooks, "
            "then retry.",
            fix_in="provider",
        )


# --- items ---------------------------------------------------------------------------


async def _items(
    client: QuickBooksClient,
    links: Mapping[tuple[str, str], RemoteRef],
    codes: Sequence[str],
    refs: References,
    today: dt.date,
    profile: CompanyProfile,
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
    account = profile.income_account
    if account is None:
        for code in to_create:
            refs.errors[(ITEM, code)] = RecordError(
                code="income_account_not_mapped",
                message=f"Cannot create the item “{item_name(code)}” in QuickBooks: no "
                "income account is chosen for new items. Choose one on the mapping page, "
                "then retry.",
                fix_in="mapping",
            )
        return
    creations = [
        Creation(code, item_body(code, account), f"the item “{item_name(code)}”")
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
            refs.errors[(ITEM, code)] = explain(
                answer.fault, subject=creation.subject, support_reference=answer.support_reference
            )
    if taken_by:
        rows = await find_by_id(client, "Item", list(taken_by))
        for existing, (code, fault) in taken_by.items():
            obj = rows.get(existing)
            if obj is not None and obj.get("Type") != "Category":
                refs.link(ITEM, code, obj)
            else:
                refs.errors[(ITEM, code)] = explain(
                    fault, subject=f"the item “{item_name(code)}”", support_reference=None
                )


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


async def find_by_id(
    client: QuickBooksClient,
    entity: str,
    ids: Sequence[str],
    *,
    inactive_too: bool = False,
    subject: str | None = None,
) -> dict[str, JsonObject]:
    """Objects by Id, 30 Ids a query; active ones only unless ``inactive_too``."""
    # Naming Active in the query is what makes QuickBooks show inactive objects.
    where = "Active IN (true, false) AND " if inactive_too else ""
    pages = await gather_all(
        *(
            client.query(
                select_in(entity, "Id", group).replace(" WHERE ", f" WHERE {where}", 1),
                subject=subject or f"the {entity.lower()}s already in QuickBooks",
            )
            for group in chunks(list(dict.fromkeys(ids)), IN_SIZE)
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
