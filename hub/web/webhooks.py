"""``POST /webhooks/{slug}``: verify, store, answer at once; process later in jobs."""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hub import metrics
from hub.db import utcnow
from hub.errors import WebhookRejected
from hub.inbound import reject_delivery
from hub.types import WebhookDelivery
from hub.web.common import digits, hub_state, plain

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024


async def _body(request: Request) -> bytes | None:
    declared = request.headers.get("content-length")
    size = digits(declared, most=12)
    if declared is not None and (size is None or size > MAX_BODY):
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


async def receive(request: Request) -> Response:
    """Verify a provider's webhook over its exact bytes and put it in the inbox."""
    state = hub_state(request)
    slug = request.path_params["slug"]
    if not state.plugins.has_hook(slug, "handle_webhook"):
        raise HTTPException(404, "Not Found")  # the same answer as any unknown path
    body = await _body(request)
    if body is None:
        metrics.WEBHOOK_DELIVERIES.labels(slug, "too_large").inc()
        return plain(413, "Payload Too Large")
    integration = state.plugins.get(slug)
    assert integration is not None
    delivery = WebhookDelivery(
        config=integration.config,
        headers={k.lower(): v for k, v in request.headers.items()},
        body=body,
        received_at=utcnow(),
    )
    try:
        events = state.plugins.hook(slug, "handle_webhook")(delivery=delivery)
    except WebhookRejected as err:
        if err.status_code == 401:
            # Unauthenticated: nothing is stored, only counted.
            metrics.WEBHOOK_DELIVERIES.labels(slug, "bad_signature").inc()
            return plain(401, "Unauthorized")
        metrics.WEBHOOK_DELIVERIES.labels(slug, "malformed").inc()
        reason = err.message
        await state.db.run(lambda session: reject_delivery(session, slug, body, reason))
        return plain(400, "Bad Request")
    events = list(events or [])
    await state.services.inbox.store(slug, body, events)
    metrics.WEBHOOK_DELIVERIES.labels(slug, "accepted").inc()
    return plain(200, "OK")


routes = [Route("/webhooks/{slug}", receive, methods=["POST"])]
