"""A connection's mapping: how Coordinoter's words become the provider's.

The plugin's ``mapping_choices`` hook answers the questions (which tax code for GST
lines, which income account ...), the account's options for each, and a suggestion
chosen from the options' properties. The host keeps that answer with the values in
force, so neither the mapping page nor a push has to ask the provider again:

* at connect, and whenever an admin refreshes, the choices are read anew; a value
  still among the options is kept, any other falls back to the suggestion;
* an admin's choice is checked against the options and saved; invoices held for a
  missing mapping are then checked and pushed again;
* before a push, choices are read once if the host holds none.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from sqlmodel import Session

from hub.batches import InputError, requeue_batches, reset_unpushed_links
from hub.connections import record_activity
from hub.context import connection_context
from hub.db import utcnow
from hub.errors import IntegrationError, Transient
from hub.models import Connection, ConnectionMapping
from hub.tax import TREATMENT_RATES
from hub.types import MappingChoices, MappingField, MappingOption

if TYPE_CHECKING:
    from hub.services import Services

log = logging.getLogger(__name__)

HOOK = "mapping_choices"


# --- the plugin's answer, stored as JSON --------------------------------------------------


def choices_to_json(choices: MappingChoices) -> dict[str, Any]:
    """A ``MappingChoices`` as JSON for the ``choices`` column."""
    return {
        "fields": [
            {
                "key": f.key,
                "label": f.label,
                "help": f.help,
                "suggested": f.suggested,
                "required": f.required,
                "treatment": f.treatment,
                "expected_rate": _text(f.expected_rate),
                "options": [
                    {"value": o.value, "label": o.label, "detail": o.detail, "rate": _text(o.rate)}
                    for o in f.options
                ],
            }
            for f in choices.fields
        ],
        "notes": list(choices.notes),
    }


def choices_from_json(data: Mapping[str, Any]) -> MappingChoices:
    """The ``MappingChoices`` saved by :func:`choices_to_json`."""
    fields = tuple(
        MappingField(
            key=str(f["key"]),
            label=str(f["label"]),
            help=str(f.get("help") or ""),
            suggested=f.get("suggested"),
            required=bool(f.get("required", True)),
            treatment=f.get("treatment"),
            expected_rate=_decimal(f.get("expected_rate")),
            options=tuple(
                MappingOption(
                    value=str(o["value"]),
                    label=str(o["label"]),
                    detail=str(o.get("detail") or ""),
                    rate=_decimal(o.get("rate")),
                )
                for o in f.get("options", [])
            ),
        )
        for f in data.get("fields", [])
    )
    return MappingChoices(fields=fields, notes=tuple(str(n) for n in data.get("notes", [])))


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _decimal(value: Any) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def merged_values(choices: MappingChoices, current: Mapping[str, str]) -> dict[str, str]:
    """The values in force after new choices: kept where still offered, else suggested."""
    values: dict[str, str] = {}
    for field in choices.fields:
        offered = {option.value for option in field.options}
        kept = current.get(field.key)
        if kept is not None and kept in offered:
            values[field.key] = kept
        elif field.suggested is not None and field.suggested in offered:
            values[field.key] = field.suggested
    return values


# --- reading the provider's choices ------------------------------------------------------


async def refresh_choices(services: Services, connection: Connection) -> ConnectionMapping | None:
    """Ask the plugin for the account's choices now and save them; None without the hook.

    Raises what the hook raises (the provider is down, access ended ...).
    """
    if not services.plugins.has_hook(connection.integration, HOOK):
        return None
    async with connection_context(services, connection) as ctx:
        choices = await services.plugins.hook(connection.integration, HOOK)(ctx=ctx)
    if not isinstance(choices, MappingChoices):
        raise Transient(f"the {connection.integration} plugin returned no mapping choices")

    def save(session: Session) -> ConnectionMapping:
        row = session.get(ConnectionMapping, connection.id)
        if row is None:
            row = ConnectionMapping(connection_id=connection.id or 0)
        before = dict(row.values or {})
        row.values = merged_values(choices, before)
        row.choices = choices_to_json(choices)
        row.facts = {str(k): str(v) for k, v in choices.facts.items()}
        row.loaded_at = utcnow()
        session.add(row)
        session.flush()
        if row.values != before:
            # A choice appeared (say, a tax code made active again): check held invoices.
            _requeue_held(session, connection)
        return row

    row: ConnectionMapping = await services.db.run(save)
    log.info("connection %s: mapping choices read", connection.id)
    return row


async def ensure_choices(services: Services, connection: Connection) -> None:
    """Read the account's choices once, if the host holds none yet (before a push)."""
    if not services.plugins.has_hook(connection.integration, HOOK):
        return
    row = await services.db.read(lambda session: session.get(ConnectionMapping, connection.id))
    if row is None or row.loaded_at is None:
        await refresh_choices(services, connection)


async def read_after_connect(services: Services, connection_id: int) -> MappingView | None:
    """Read a new connection's choices at once, so the confirmation can say what is missing.

    None when the plugin has no mapping or the provider could not be read now: the
    choices are then read before the first push.
    """
    connection = await services.db.read(lambda session: session.get(Connection, connection_id))
    if connection is None:
        return None
    try:
        row = await refresh_choices(services, connection)
    except IntegrationError as err:
        log.warning("reading mapping choices after connecting failed: %s", err.message)
        return None
    return mapping_view(row) if row is not None else None


# --- what an admin sees and changes --------------------------------------------------------


@dataclass(frozen=True)
class FieldView:
    """One question of the mapping page, with what is in force and any warning."""

    key: str
    label: str
    help: str
    required: bool
    value: str | None
    suggested: str | None
    options: tuple[MappingOption, ...]
    #: The chosen option's label, or None.
    chosen: str | None
    #: A reason to look again (a tax code whose rate is not the treatment's).
    warning: str | None

    @property
    def missing(self) -> bool:
        """Whether pushing needs this field and it has no value."""
        return self.required and self.value is None

    @property
    def phrase(self) -> str:
        """The label inside a sentence ("the tax code for GST lines")."""
        return self.label[:1].lower() + self.label[1:]


@dataclass(frozen=True)
class MappingView:
    """A connection's mapping as the page and the API show it."""

    loaded: bool
    loaded_at: str | None
    fields: tuple[FieldView, ...]
    notes: tuple[str, ...]

    @property
    def complete(self) -> bool:
        """Whether every field pushing needs has a value."""
        return self.loaded and not any(field.missing for field in self.fields)

    @property
    def missing(self) -> tuple[FieldView, ...]:
        """The fields pushing needs that have no value."""
        return tuple(field for field in self.fields if field.missing)

    @property
    def missing_phrase(self) -> str:
        """What is still to choose, as words in a sentence."""
        return " and ".join(field.phrase for field in self.missing)

    def to_json(self) -> dict[str, Any]:
        """The API's shape."""
        return {
            "loaded_at": self.loaded_at,
            "complete": self.complete,
            "notes": list(self.notes),
            "fields": [
                {
                    "key": f.key,
                    "label": f.label,
                    "help": f.help,
                    "required": f.required,
                    "value": f.value,
                    "suggested": f.suggested,
                    "warning": f.warning,
                    "options": [
                        {"value": o.value, "label": o.label, "detail": o.detail}
                        for o in f.options
                    ],
                }
                for f in self.fields
            ],
        }


def mapping_view(row: ConnectionMapping | None) -> MappingView:
    """What is in force for a connection, with the choices it was made from."""
    if row is None or row.loaded_at is None:
        return MappingView(loaded=False, loaded_at=None, fields=(), notes=())
    choices = choices_from_json(row.choices or {})
    values = row.values or {}
    views = []
    for field in choices.fields:
        value = values.get(field.key)
        option = next((o for o in field.options if o.value == value), None)
        views.append(
            FieldView(
                key=field.key,
                label=field.label,
                help=field.help,
                required=field.required,
                value=value if option is not None else None,
                suggested=field.suggested,
                options=field.options,
                chosen=option.label if option is not None else None,
                warning=_rate_warning(field, option),
            )
        )
    return MappingView(
        loaded=True,
        loaded_at=row.loaded_at.isoformat(),
        fields=tuple(views),
        notes=choices.notes,
    )


def _rate_warning(field: MappingField, option: MappingOption | None) -> str | None:
    """A warning when a tax code's rate is not what its treatment charges."""
    if option is None or option.rate is None or field.treatment is None:
        return None
    expected = field.expected_rate
    if expected is None:
        expected = TREATMENT_RATES.get(field.treatment)
    if expected is None or option.rate == expected:
        return None
    return (
        f"{option.label} charges {option.rate.normalize():f}%, but these lines carry "
        f"{expected.normalize():f}% in Coordinoter. The accounting system's totals will "
        "differ from Coordinoter's and each such invoice will be flagged."
    )


def save_values(
    session: Session,
    connection: Connection,
    submitted: Mapping[str, Any],
    *,
    user_id: int | None,
    name: str,
) -> int:
    """Save an admin's choices; check held invoices again. Returns how many were requeued.

    Every key must be a field of the mapping and every value one of its options (or
    empty, to clear a field that is not required): otherwise an ``InputError`` names
    each wrong field and nothing is saved.
    """
    row = session.get(ConnectionMapping, connection.id)
    if row is None or row.loaded_at is None:
        raise InputError(
            409,
            "mapping_not_loaded",
            f"The choices have not been read from {name} yet: refresh them first.",
        )
    choices = {field.key: field for field in choices_from_json(row.choices or {}).fields}
    values = dict(row.values or {})
    problems = []
    for key, raw in submitted.items():
        field = choices.get(key)
        if field is None:
            problems.append({"field": f"values.{key}", "message": "is not a mapping field"})
            continue
        if raw is None or raw == "":
            # Left unchosen is not a change; clearing what pushing needs is refused.
            if field.required and key in values:
                problems.append(
                    {"field": f"values.{key}", "label": field.label,
                     "message": "a choice is required"}
                )
            else:
                values.pop(key, None)
            continue
        if not isinstance(raw, str) or raw not in {o.value for o in field.options}:
            problems.append(
                {"field": f"values.{key}", "label": field.label,
                 "message": f"is not one of {name}'s options"}
            )
            continue
        values[key] = raw
    if problems:
        first = problems[0]
        raise InputError(422, "invalid", f"{first['field']}: {first['message']}", problems)
    if values != (row.values or {}):
        row.values = values
        row.changed_at = utcnow()
        row.changed_by_user_id = user_id
        session.add(row)
        labels = [
            f"{choices[key].label}: {_label(choices[key], value)}" for key, value in values.items()
        ]
        record_activity(
            session, connection, "mapping_changed", "Mapping changed. " + "; ".join(labels)
        )
    # Saved, changed or not: what waited for the mapping is checked again.
    return _requeue_held(session, connection)


def _requeue_held(session: Session, connection: Connection) -> int:
    """Check again, and push, the invoices held or refused for their mapping."""
    held = reset_unpushed_links(session, connection, fix_in="mapping")
    requeue_batches(session, connection, held)
    return len(held)


def _label(field: MappingField, value: str) -> str:
    return next((o.label for o in field.options if o.value == value), value)
