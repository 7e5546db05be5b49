"""Running requests side by side, and creating objects through ``/batch``."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from hub.errors import AuthRevoked, RateLimited, Transient
from hub_quickbooks.client import QuickBooksClient
from hub_quickbooks.errors import Fault, QuickBooksRejected, error_for_fault, parse_fault
from hub_quickbooks.mapping import JsonObject, chunks, request_id

T = TypeVar("T")

#: Payloads per batch request: Intuit's recommended maximum.
BATCH_SIZE = 30


async def gather_all(*awaitables: Awaitable[T]) -> list[T]:
    """Await everything concurrently; then raise the error that matters most, if any.

    Unlike a bare ``asyncio.gather``, no request is left running unobserved when
    another fails, and a revoked grant wins over a throttle, which wins over a
    passing failure.
    """
    results = await asyncio.gather(*awaitables, return_exceptions=True)
    errors = [result for result in results if isinstance(result, BaseException)]
    if errors:
        raise min(errors, key=_severity)
    return [result for result in results if not isinstance(result, BaseException)]


def _severity(error: BaseException) -> int:
    if isinstance(error, AuthRevoked):
        return 0
    if not isinstance(error, Exception):  # cancellation, interpreter exit
        return 1
    if isinstance(error, RateLimited):
        return 3
    if isinstance(error, Transient):
        return 4
    return 2


@dataclass(frozen=True)
class Creation:
    """What to create: a stable key (for the requestid), the body, and its name."""

    key: str
    body: JsonObject
    subject: str


@dataclass(frozen=True)
class Created:
    """The answer for one creation: the object, or the fault that refused it."""

    obj: JsonObject | None
    fault: Fault | None
    support_reference: str | None


async def create_all(
    client: QuickBooksClient,
    entity: str,
    creations: Sequence[Creation],
    *,
    today: dt.date,
) -> list[Created]:
    """Create objects through ``/batch``, 30 a request, requests side by side.

    Answers come back in the order of ``creations``. A fault that concerns the
    whole company (throttling, access, a system failure) is raised.
    """
    groups = chunks(list(creations), BATCH_SIZE)
    answers = await gather_all(*(_create_chunk(client, entity, group, today) for group in groups))
    return [created for group in answers for created in group]


async def _create_chunk(
    client: QuickBooksClient, entity: str, group: Sequence[Creation], today: dt.date
) -> list[Created]:
    items: list[dict[str, Any]] = [
        {"bId": str(index), "operation": "create", entity: creation.body}
        for index, creation in enumerate(group)
    ]
    rid = request_id(entity, [c.key for c in group], [c.body for c in group], today)
    subject = group[0].subject if len(group) == 1 else f"{len(group)} new {entity} records"
    answers, tid = await client.batch(items, request_id=rid, subject=subject)
    results: list[Created] = []
    for index, creation in enumerate(group):
        answer = answers.get(str(index))
        if answer is None:
            raise Transient(
                f"QuickBooks' batch answer says nothing about {creation.subject}; "
                "it will be tried again.",
                support_reference=tid,
            )
        obj = answer.get(entity)
        if isinstance(obj, dict) and obj.get("Id") is not None:
            results.append(Created(obj, None, tid))
            continue
        fault = parse_fault(answer) or Fault(type="", errors=())
        error = error_for_fault(
            fault, subject=creation.subject, status_code=200, support_reference=tid
        )
        if not isinstance(error, QuickBooksRejected):
            raise error
        results.append(Created(None, fault, tid))
    return results
