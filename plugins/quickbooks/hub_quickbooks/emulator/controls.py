"""``/_emulator/...``: JSON controls for tests, benchmarks and the demo."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .books import CompanySetup
from .regions import region_of
from .runtime import Emulator
from .web import emulator_of, parse_json_object


def _error(status: int, message: str) -> Response:
    return JSONResponse({"error": message}, status_code=status)


async def _body(request: Request) -> dict[str, Any] | Response:
    data = parse_json_object(await request.body())
    if data is None:
        return _error(400, "the body must be a JSON object")
    return data


def _app_json(emulator: Emulator, client_id: str) -> dict[str, Any]:
    app = emulator.registry.apps[client_id]
    data = app.to_dict()
    target = emulator.webhooks.target(app)
    data["effective_webhook_url"] = target[0] if target else None
    return data


async def reset(request: Request) -> Response:
    """Forget everything and start again (seeded unless ``{"seed": false}``)."""
    data = await _body(request)
    if isinstance(data, Response):
        return data
    emulator = emulator_of(request)
    await emulator.webhooks.cancel_workers()
    emulator.reset(seed=data.get("seed") if isinstance(data.get("seed"), bool) else None)
    return JSONResponse({"companies": _companies(emulator), "apps": list(emulator.registry.apps)})


async def apps(request: Request) -> Response:
    """List apps (GET) or register or update one (POST)."""
    emulator = emulator_of(request)
    if request.method == "GET":
        return JSONResponse([_app_json(emulator, cid) for cid in emulator.registry.apps])
    data = await _body(request)
    if isinstance(data, Response):
        return data
    try:
        app, created = emulator.register_app(data)
    except ValueError as err:
        return _error(400, str(err))
    return JSONResponse(_app_json(emulator, app.client_id), status_code=201 if created else 200)


def _company_json(emulator: Emulator, realm_id: str) -> dict[str, str]:
    summary = emulator.with_books(lambda books: books.summary(realm_id))
    return {"realm_id": realm_id, "name": emulator.registry.companies[realm_id], **summary}


def _companies(emulator: Emulator) -> list[dict[str, str]]:
    return [_company_json(emulator, realm_id) for realm_id in emulator.registry.companies]


_SETUP_KEYS = ("using_sales_tax", "custom_txn_numbers")
_COMPANY_KEYS = frozenset({"name", "region", "realm_id", "multicurrency", "preferences"})


def _setup(data: dict[str, Any]) -> CompanySetup:
    """The ``multicurrency`` and ``preferences`` of a company request; ValueError if bad."""
    multicurrency = data.get("multicurrency", False)
    if not isinstance(multicurrency, bool):
        raise ValueError("multicurrency must be true or false")
    preferences = data.get("preferences") or {}
    if not isinstance(preferences, dict):
        raise ValueError("preferences must be an object")
    choices: dict[str, bool] = {}
    for key, value in preferences.items():
        if key not in _SETUP_KEYS:
            raise ValueError(f"preferences.{key} is not a known preference")
        if not isinstance(value, bool):
            raise ValueError(f"preferences.{key} must be true or false")
        choices[key] = value
    return CompanySetup(multicurrency=multicurrency, **choices)


async def companies(request: Request) -> Response:
    """List companies (GET) or create one (POST ``{"name", "region"?, "realm_id"?,
    "multicurrency"?, "preferences"?}``)."""
    emulator = emulator_of(request)
    if request.method == "GET":
        return JSONResponse(_companies(emulator))
    data = await _body(request)
    if isinstance(data, Response):
        return data
    unknown = sorted(set(data) - _COMPANY_KEYS)
    if unknown:
        # "country" and "currency" were options once; the region decides both now.
        return _error(400, f"{unknown[0]} is not a company field (use region: AU, US, UK, CA)")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        return _error(400, "name is required")
    region = data.get("region", "AU")
    realm = data.get("realm_id")
    if realm is not None and (not isinstance(realm, str) or not realm.isdigit()):
        return _error(400, "realm_id must be a string of digits")
    try:
        if not isinstance(region, str):
            raise ValueError("region must be one of AU, US, UK, CA")
        profile = region_of(region)
        setup = _setup(data)
    except ValueError as err:
        return _error(400, str(err))
    try:
        realm_id = emulator.add_company(
            name.strip(), realm_id=realm, region=profile.code, setup=setup
        )
    except ValueError as err:
        return _error(409, str(err))
    return JSONResponse(_company_json(emulator, realm_id), status_code=201)


async def objects(request: Request) -> Response:
    """Every object of one entity in a company, inactive ones too (what QuickBooks' own
    lists show an accountant), in Id order."""
    emulator = emulator_of(request)
    realm_id = request.path_params["realm_id"]
    name = request.path_params["entity"]
    if not emulator.books.has_company(realm_id):
        return _error(404, f"no company {realm_id}")
    rows = emulator.with_books(lambda books: books.listing(realm_id, name))
    if rows is None:
        return _error(404, f"no entity {name}")
    return JSONResponse(rows)


async def edit(request: Request) -> Response:
    """What an accountant changes inside QuickBooks: ``{"entity", "id", "changes"}``.

    Applied as a sparse change without a SyncToken (settings and tax codes included),
    with the webhooks QuickBooks would send; answers the object.
    """
    emulator = emulator_of(request)
    data = await _body(request)
    if isinstance(data, Response):
        return data
    realm_id = request.path_params["realm_id"]
    entity, object_id, changes = data.get("entity"), data.get("id"), data.get("changes")
    if not isinstance(entity, str) or not isinstance(object_id, str | int):
        return _error(400, "entity and id are required")
    if not isinstance(changes, dict):
        return _error(400, "changes must be an object")
    if not emulator.books.has_company(realm_id):
        return _error(404, f"no company {realm_id}")
    try:
        obj = emulator.with_books(
            lambda books: books.edit(realm_id, entity, str(object_id), changes)
        )
    except KeyError:
        return _error(404, f"no {entity} {object_id} in company {realm_id}")
    except ValueError as err:
        return _error(400, str(err))
    emulator.mark_dirty()  # tax codes and settings send no webhook, so no change marks it
    return JSONResponse(obj)


async def clock(request: Request) -> Response:
    """Show the emulator's time (GET) or move it (POST ``{"advance_seconds": N}``)."""
    emulator = emulator_of(request)
    if request.method == "POST":
        data = await _body(request)
        if isinstance(data, Response):
            return data
        seconds = data.get("advance_seconds")
        if isinstance(seconds, bool) or not isinstance(seconds, int | float):
            return _error(400, "advance_seconds must be a number")
        emulator.clock.advance(float(seconds))
        emulator.mark_dirty()
    return JSONResponse(
        {
            "now": emulator.clock.now().isoformat(),
            "offset_seconds": emulator.clock.offset_seconds,
        }
    )


async def faults(request: Request) -> Response:
    """List (GET), add (POST) or clear (DELETE) injected failures."""
    emulator = emulator_of(request)
    if request.method == "DELETE":
        emulator.faults.clear()
    elif request.method == "POST":
        data = await _body(request)
        if isinstance(data, Response):
            return data
        specs = data.get("rules", [data])
        if not isinstance(specs, list) or not all(isinstance(s, dict) for s in specs):
            return _error(400, "rules must be a list of objects")
        try:
            added = [emulator.faults.add(spec).rule_id for spec in specs]
        except ValueError as err:
            return _error(400, str(err))
        return JSONResponse({"added": added, "rules": emulator.faults.describe()}, 201)
    return JSONResponse({"rules": emulator.faults.describe()})


async def limits(request: Request) -> Response:
    """Show (GET) or change (POST) the throttles; ``{"enabled": false}`` turns all off."""
    emulator = emulator_of(request)
    if request.method == "POST":
        data = await _body(request)
        if isinstance(data, Response):
            return data
        try:
            emulator.limits.update(data)
        except ValueError as err:
            return _error(400, str(err))
    return JSONResponse(emulator.limits.to_dict())


async def latency(request: Request) -> Response:
    """Show (GET) or set (POST ``{"ms": 50}``) the delay added to every API request."""
    emulator = emulator_of(request)
    if request.method == "POST":
        data = await _body(request)
        if isinstance(data, Response):
            return data
        try:
            emulator.limits.update({"latency_ms": data.get("ms")})
        except ValueError:
            return _error(400, "ms must be a non-negative number")
    return JSONResponse({"ms": emulator.limits.latency_ms})


async def webhooks(request: Request) -> Response:
    """Show (GET) or change (POST) aggregation, retry scale, retries and timeout."""
    emulator = emulator_of(request)
    if request.method == "POST":
        data = await _body(request)
        if isinstance(data, Response):
            return data
        try:
            emulator.webhooks.configure(data)
        except ValueError as err:
            return _error(400, str(err))
    return JSONResponse(
        {
            **emulator.webhooks.config(),
            "deliveries": dict(emulator.webhooks.outcomes),
            "recent": [vars(r) for r in emulator.webhooks.recent],
        }
    )


async def oauth_settings(request: Request) -> Response:
    """Show (GET) or change (POST) access-token and authorization-code lifetimes."""
    emulator = emulator_of(request)
    if request.method == "POST":
        data = await _body(request)
        if isinstance(data, Response):
            return data
        for key in data:
            value = data[key]
            if key not in ("access_token_ttl", "auth_code_ttl"):
                return _error(400, f"unknown setting {key!r}")
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                return _error(400, f"{key} must be a positive whole number of seconds")
        if "access_token_ttl" in data:
            emulator.tokens.access_ttl = data["access_token_ttl"]
        if "auth_code_ttl" in data:
            emulator.tokens.code_ttl = data["auth_code_ttl"]
    return JSONResponse(
        {
            "access_token_ttl": emulator.tokens.access_ttl,
            "auth_code_ttl": emulator.tokens.code_ttl,
        }
    )


async def record_payment(request: Request) -> Response:
    """What an accountant does in QuickBooks: record a payment against an invoice."""
    emulator = emulator_of(request)
    data = await _body(request)
    if isinstance(data, Response):
        return data
    realm_id = request.path_params["realm_id"]
    invoice_id = request.path_params["invoice_id"]
    try:
        amount = Decimal(str(data.get("amount")))
        txn_date = dt.date.fromisoformat(data["txn_date"]) if data.get("txn_date") else None
    except (InvalidOperation, ValueError, TypeError):
        return _error(400, "amount must be a decimal string and txn_date YYYY-MM-DD")
    if not amount.is_finite():
        return _error(400, "amount must be a finite number")
    if not emulator.books.has_company(realm_id):
        return _error(404, f"no company {realm_id}")
    try:
        payment = emulator.with_books(
            lambda books: books.record_payment(realm_id, invoice_id, amount, txn_date=txn_date)
        )
    except KeyError:
        return _error(404, f"no invoice {invoice_id} in company {realm_id}")
    except ValueError as err:
        return _error(400, str(err))
    return JSONResponse(payment, status_code=201)


async def revoke_company(request: Request) -> Response:
    """The user disconnects apps inside QuickBooks: every grant for the company ends."""
    emulator = emulator_of(request)
    data = await _body(request)
    if isinstance(data, Response):
        return data
    realm_id = request.path_params["realm_id"]
    if realm_id not in emulator.registry.companies:
        return _error(404, f"no company {realm_id}")
    client_id = data.get("client_id")
    if client_id is not None and not isinstance(client_id, str):
        return _error(400, "client_id must be a string")
    revoked = emulator.tokens.revoke_connection(realm_id, client_id)
    emulator.mark_dirty()
    return JSONResponse({"revoked": revoked})


async def stats(request: Request) -> Response:
    """Counters: requests, throttling, concurrency, grants, objects, webhooks."""
    emulator = emulator_of(request)
    return JSONResponse(
        {
            **emulator.stats.to_json(),
            "peak_concurrency": dict(emulator.throttle.peak_concurrency),
            "objects": emulator.with_books(lambda books: books.counts()),
            "webhooks": dict(emulator.webhooks.outcomes),
        }
    )


routes = [
    Route("/_emulator/reset", reset, methods=["POST"]),
    Route("/_emulator/apps", apps, methods=["GET", "POST"]),
    Route("/_emulator/companies", companies, methods=["GET", "POST"]),
    Route("/_emulator/clock", clock, methods=["GET", "POST"]),
    Route("/_emulator/faults", faults, methods=["GET", "POST", "DELETE"]),
    Route("/_emulator/limits", limits, methods=["GET", "POST"]),
    Route("/_emulator/latency", latency, methods=["GET", "POST"]),
    Route("/_emulator/webhooks", webhooks, methods=["GET", "POST"]),
    Route("/_emulator/oauth", oauth_settings, methods=["GET", "POST"]),
    Route(
        "/_emulator/companies/{realm_id}/invoices/{invoice_id}/payments",
        record_payment,
        methods=["POST"],
    ),
    Route("/_emulator/companies/{realm_id}/revoke", revoke_company, methods=["POST"]),
    Route("/_emulator/companies/{realm_id}/edit", edit, methods=["POST"]),
    Route("/_emulator/companies/{realm_id}/objects/{entity}", objects, methods=["GET"]),
    Route("/_emulator/stats", stats, methods=["GET"]),
]
