"""The JSON API for invoice batches and invoices."""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from hub.batch_views import batch_view, invoice_view
from hub.batches import (
    BatchIn,
    InputError,
    InvoicePatch,
    apply_patch,
    create_batch,
    fingerprint,
    parse,
    void_invoice,
)
from hub.models import Invoice, InvoiceBatch
from hub.web.api import api_key_required
from hub.web.common import MAX_ID, api_error, digits, hub_state, wake_worker

MAX_BODY = 16 * 1024 * 1024  # a 10,000-invoice batch fits comfortably


async def read_body(request: Request, limit: int = MAX_BODY) -> bytes:
    """The request body, refusing more than ``limit`` bytes (413) without reading it all."""
    declared = request.headers.get("content-length")
    size = digits(declared)
    if size is not None and size > limit:
        raise InputError(413, "payload_too_large", f"The body is larger than {limit} bytes.")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise InputError(413, "payload_too_large", f"The body is larger than {limit} bytes.")
        chunks.append(chunk)
    return b"".join(chunks)


def _error(err: InputError) -> Response:
    return api_error(err.status, err.code, err.message, err.details)


def _own(session: Session, model: Any, object_id: int, org_id: int) -> Any:
    row = session.get(model, object_id)
    if row is None or row.organization_id != org_id:
        return None  # another organization's id looks exactly like a missing one
    return row


def _id(request: Request) -> int | None:
    raw = str(request.path_params.get("id", ""))
    number = digits(raw)
    return number if number is not None and number <= MAX_ID else None


@api_key_required
async def create(request: Request, org_id: int) -> Response:
    """Create a batch; an ``Idempotency-Key`` makes retries return the first result."""
    state = hub_state(request)
    key = request.headers.get("idempotency-key")
    if key is not None and not (1 <= len(key) <= 200):
        return api_error(
            400, "invalid_idempotency_key", "Idempotency-Key must be 1-200 characters."
        )
    try:
        body = await read_body(request)
        batch_in: BatchIn = parse(BatchIn, body)
    except InputError as err:
        return _error(err)
    digest = fingerprint(body)

    def replay(session: Session) -> dict[str, Any] | InputError | None:
        if key is None:
            return None
        existing = session.exec(
            select(InvoiceBatch).where(
                InvoiceBatch.organization_id == org_id, InvoiceBatch.idempotency_key == key
            )
        ).first()
        if existing is None:
            return None
        if existing.request_fingerprint != digest:
            return InputError(
                409,
                "idempotency_key_reused",
                "This Idempotency-Key was already used with a different body.",
            )
        return batch_view(session, state.plugins, existing)

    def make(session: Session) -> dict[str, Any]:
        batch = create_batch(
            session, org_id, batch_in, idempotency_key=key, request_fingerprint=digest
        )
        session.flush()
        return batch_view(session, state.plugins, batch)

    found = await state.db.read(replay)
    if isinstance(found, InputError):
        return _error(found)
    if found is not None:
        return JSONResponse(found, status_code=200, headers={"Idempotent-Replayed": "true"})
    try:
        view = await state.db.run(make)
    except InputError as err:
        return _error(err)
    except IntegrityError:
        # A concurrent request with the same key (or number) won the race.
        found = await state.db.read(replay)
        if isinstance(found, dict):
            return JSONResponse(found, status_code=200, headers={"Idempotent-Replayed": "true"})
        return api_error(409, "conflict", "A conflicting batch was created at the same time.")
    wake_worker(request)
    return JSONResponse(
        view, status_code=201, headers={"Location": f"/api/v1/invoice-batches/{view['id']}"}
    )


@api_key_required
async def get_batch(request: Request, org_id: int) -> Response:
    """A batch with its invoices and their sync state."""
    state = hub_state(request)
    batch_id = _id(request)

    def load(session: Session) -> dict[str, Any] | None:
        batch = _own(session, InvoiceBatch, batch_id, org_id) if batch_id else None
        return batch_view(session, state.plugins, batch) if batch else None

    view = await state.db.read(load)
    if view is None:
        return api_error(404, "not_found", "There is no such invoice batch.")
    return JSONResponse(view)


@api_key_required
async def get_invoice(request: Request, org_id: int) -> Response:
    """An invoice with its lines, payment status and sync state."""
    state = hub_state(request)
    invoice_id = _id(request)

    def load(session: Session) -> dict[str, Any] | None:
        invoice = _own(session, Invoice, invoice_id, org_id) if invoice_id else None
        return invoice_view(session, state.plugins, invoice) if invoice else None

    view = await state.db.read(load)
    if view is None:
        return api_error(404, "not_found", "There is no such invoice.")
    return JSONResponse(view)


async def _change(request: Request, org_id: int, patch: InvoicePatch | None) -> Response:
    state = hub_state(request)
    invoice_id = _id(request)

    def change(session: Session) -> dict[str, Any] | None:
        invoice = _own(session, Invoice, invoice_id, org_id) if invoice_id else None
        if invoice is None:
            return None
        if patch is None:
            void_invoice(session, invoice)
        else:
            apply_patch(session, invoice, patch)
        return invoice_view(session, state.plugins, invoice)

    try:
        view = await state.db.run(change)
    except InputError as err:
        return _error(err)
    if view is None:
        return api_error(404, "not_found", "There is no such invoice.")
    wake_worker(request)
    return JSONResponse(view)


@api_key_required
async def patch_invoice(request: Request, org_id: int) -> Response:
    """Change due date, memo or lines; pushed where the invoice was pushed."""
    try:
        patch: InvoicePatch = parse(InvoicePatch, await read_body(request, 1024 * 1024))
    except InputError as err:
        return _error(err)
    return await _change(request, org_id, patch)


@api_key_required
async def void(request: Request, org_id: int) -> Response:
    """Void an invoice; pushed where the invoice was pushed."""
    return await _change(request, org_id, None)


routes = [
    Route("/api/v1/invoice-batches", create, methods=["POST"]),
    Route("/api/v1/invoice-batches/{id}", get_batch, methods=["GET"]),
    Route("/api/v1/invoices/{id}", get_invoice, methods=["GET"]),
    Route("/api/v1/invoices/{id}", patch_invoice, methods=["PATCH"]),
    Route("/api/v1/invoices/{id}/void", void, methods=["POST"]),
]
