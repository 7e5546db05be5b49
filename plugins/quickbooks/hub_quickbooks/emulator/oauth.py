"""The OAuth 2.0 / OpenID Connect server: discovery, consent, tokens, revoke, userinfo."""

from __future__ import annotations

import base64
import binascii
import hmac
import time
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from .registry import App
from .runtime import Emulator
from .tokens import TokenError, TokenSet
from .web import base_url, emulator_of, parse_form, parse_json_object, templates
from .wire import OAUTH_JSON, oauth_error, oauth_response

ACCOUNTING_SCOPE = "com.intuit.quickbooks.accounting"
DISCOVERY_PATHS = [
    f"/.well-known/{name}{slash}"
    for name in (
        "openid_configuration",
        "openid_sandbox_configuration",
        "openid-configuration",
        "openid-sandbox-configuration",
    )
    for slash in ("", "/")
]


# --- discovery and keys ----------------------------------------------------------------


async def discovery(request: Request) -> Response:
    """The OpenID configuration, every endpoint on the emulator's own origin."""
    origin = base_url(request)
    emulator = emulator_of(request)
    document = {
        "issuer": emulator.settings.issuer,
        "authorization_endpoint": f"{origin}/connect/oauth2",
        "token_endpoint": f"{origin}/oauth2/v1/tokens/bearer",
        "userinfo_endpoint": f"{origin}/v1/openid_connect/userinfo",
        "revocation_endpoint": f"{origin}/v2/oauth2/tokens/revoke",
        "jwks_uri": f"{origin}/op/v1/jwks",
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid", "email", "profile", "address", "phone"],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "claims_supported": ["aud", "exp", "iat", "iss", "realmid", "sub"],
    }
    return JSONResponse(document)


async def jwks(request: Request) -> Response:
    """The public key that verifies ID tokens."""
    return JSONResponse(emulator_of(request).signing_key.jwks())


# --- authorization (consent) -------------------------------------------------------------


class _AuthorizeRequest:
    """The validated parameters of an authorization request."""

    def __init__(self, app: App, redirect_uri: str, scopes: list[str], state: str | None):
        self.app = app
        self.redirect_uri = redirect_uri
        self.scopes = scopes
        self.state = state

    def redirect(self, **params: str) -> Response:
        """Send the browser back to the app with ``params`` (and the state)."""
        if self.state is not None:
            params["state"] = self.state
        separator = "&" if "?" in self.redirect_uri else "?"
        return RedirectResponse(self.redirect_uri + separator + urlencode(params), 302)


def _error_page(request: Request, status: int, title: str, detail: str) -> Response:
    return templates.TemplateResponse(
        request, "oauth_error.html", {"title": title, "detail": detail}, status_code=status
    )


def _validate(
    request: Request, emulator: Emulator, params: dict[str, str]
) -> _AuthorizeRequest | Response:
    app = emulator.registry.app(params.get("client_id", ""))
    if app is None:
        return _error_page(
            request, 400, "Invalid client", "The client_id is not registered with any app."
        )
    redirect_uri = params.get("redirect_uri", "")
    if redirect_uri not in app.redirect_uris:
        # Never send the user to an address the app did not register.
        return _error_page(
            request,
            400,
            "Invalid redirect URI",
            "The redirect_uri does not match any redirect URI registered for this app.",
        )
    scopes = params.get("scope", "").split()
    auth = _AuthorizeRequest(app, redirect_uri, scopes, params.get("state"))
    if params.get("response_type") != "code":
        return auth.redirect(
            error="unsupported_response_type",
            error_description="response_type must be code",
        )
    if not scopes:
        return auth.redirect(error="invalid_scope", error_description="scope is required")
    unknown = [s for s in scopes if s not in emulator.settings.known_scopes]
    if unknown:
        return auth.redirect(
            error="invalid_scope", error_description=f"Unknown scope: {unknown[0]}"
        )
    if not emulator.registry.companies:
        return _error_page(
            request, 400, "No company", "There is no company to connect; create one first."
        )
    return auth


def _approve(emulator: Emulator, auth: _AuthorizeRequest, realm_id: str) -> Response:
    code = emulator.tokens.issue_code(
        auth.app.client_id, auth.redirect_uri, realm_id, auth.scopes
    )
    emulator.mark_dirty()
    return auth.redirect(code=code, realmId=realm_id)


def _consent_page(
    request: Request, auth: _AuthorizeRequest, emulator: Emulator, status: int = 200
) -> Response:
    context = {
        "app": auth.app,
        "companies": list(emulator.registry.companies.items()),
        "scopes": auth.scopes,
        "fields": {
            "client_id": auth.app.client_id,
            "redirect_uri": auth.redirect_uri,
            "scope": " ".join(auth.scopes),
            "response_type": "code",
            **({"state": auth.state} if auth.state is not None else {}),
        },
    }
    return templates.TemplateResponse(request, "consent.html", context, status_code=status)


async def authorize(request: Request) -> Response:
    """``GET /connect/oauth2``: check the request, then ask the user (or auto-approve)."""
    emulator = emulator_of(request)
    checked = _validate(request, emulator, dict(request.query_params))
    if not isinstance(checked, _AuthorizeRequest):
        return checked
    if emulator.settings.auto_consent:
        return _approve(emulator, checked, next(iter(emulator.registry.companies)))
    return _consent_page(request, checked, emulator)


async def consent(request: Request) -> Response:
    """``POST /connect/oauth2``: the user clicked Connect or Cancel."""
    emulator = emulator_of(request)
    form = parse_form(await request.body())
    if form is None:
        return _error_page(request, 400, "Bad request", "The form could not be read.")
    checked = _validate(request, emulator, form)
    if not isinstance(checked, _AuthorizeRequest):
        return checked
    if form.get("decision") != "connect":
        return checked.redirect(error="access_denied")
    realm_id = form.get("realm_id", "")
    if realm_id not in emulator.registry.companies:
        return _consent_page(request, checked, emulator, status=400)
    return _approve(emulator, checked, realm_id)


# --- token endpoint ------------------------------------------------------------------------


def _client_credentials(request: Request, form: dict[str, str]) -> tuple[str, str] | None:
    header = request.headers.get("authorization")
    if header:
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        client_id, sep, secret = decoded.partition(":")
        return (client_id, secret) if sep else None
    if "client_id" in form and "client_secret" in form:
        return form["client_id"], form["client_secret"]
    return None


def _authenticate_client(
    request: Request, emulator: Emulator, form: dict[str, str]
) -> App | None:
    credentials = _client_credentials(request, form)
    if credentials is None:
        return None
    app = emulator.registry.app(credentials[0])
    if app is None or not hmac.compare_digest(
        app.client_secret.encode(), credentials[1].encode()
    ):
        return None
    return app


def _token_body(
    emulator: Emulator, app: App, tokens: TokenSet, include_hard_expiry: bool
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "token_type": "bearer",
        "access_token": tokens.access_token,
        "refresh_token": tokens.refresh_token,
        "expires_in": tokens.expires_in,
        "x_refresh_token_expires_in": tokens.refresh_expires_in,
    }
    if include_hard_expiry:
        body["x_refresh_token_hard_expires_in"] = tokens.hard_expires_in
    if "openid" in tokens.grant.scopes:
        body["id_token"] = _id_token(emulator, app, tokens)
    return body


def _id_token(emulator: Emulator, app: App, tokens: TokenSet) -> str:
    now = emulator.clock.timestamp()
    # Clients check "iat" against their own (real) clock, which an advanced emulator
    # clock must not put in the future.
    issued_at = int(min(now, time.time()))
    claims = {
        "sub": emulator.user_id,
        "aud": [app.client_id],
        "realmid": tokens.grant.realm_id,
        "auth_time": int(tokens.grant.created_at),
        "iss": emulator.settings.issuer,
        "exp": int(now) + 3600,
        "iat": issued_at,
    }
    return emulator.signing_key.sign(claims)


async def token(request: Request) -> Response:
    """``POST /oauth2/v1/tokens/bearer``: authorization_code and refresh_token grants."""
    emulator = emulator_of(request)
    content_type = request.headers.get("content-type", "")
    form = parse_form(await request.body())
    if form is None or not content_type.lower().startswith("application/x-www-form-urlencoded"):
        return oauth_error(400, "invalid_request")
    app = _authenticate_client(request, emulator, form)
    if app is None:
        return oauth_error(401, "invalid_client")
    grant_type = form.get("grant_type")
    try:
        if grant_type == "authorization_code":
            if not form.get("code"):
                return oauth_error(400, "invalid_request")
            tokens = emulator.tokens.exchange_code(
                app.client_id, form["code"], form.get("redirect_uri")
            )
        elif grant_type == "refresh_token":
            if not form.get("refresh_token"):
                return oauth_error(400, "invalid_request")
            tokens = emulator.tokens.refresh(app.client_id, form["refresh_token"])
        elif not grant_type:
            return oauth_error(400, "invalid_request")
        else:
            return oauth_error(400, "unsupported_grant_type")
    except TokenError as err:
        emulator.mark_dirty()  # a reused code revokes a grant
        return oauth_error(err.status, err.error, err.description)
    emulator.stats.token_grants[grant_type] += 1
    emulator.mark_dirty()
    include_hard = (
        request.headers.get("x-include-refresh-token-hard-expires-in", "").lower() == "true"
    )
    return oauth_response(200, _token_body(emulator, app, tokens, include_hard))


async def revoke(request: Request) -> Response:
    """``POST /v2/oauth2/tokens/revoke``: end the app's connection to the company."""
    emulator = emulator_of(request)
    body = await request.body()
    content_type = request.headers.get("content-type", "").lower()
    fields: dict[str, Any] | None
    if content_type.startswith("application/json"):
        fields = parse_json_object(body)
    else:
        fields = parse_form(body)
    form = {k: v for k, v in (fields or {}).items() if isinstance(v, str)}
    app = _authenticate_client(request, emulator, form)
    if app is None:
        return oauth_error(401, "invalid_client")
    value = form.get("token")
    if fields is None or not value:
        return oauth_error(400, "invalid_request")
    try:
        emulator.tokens.revoke(app.client_id, value)
    except TokenError as err:
        return oauth_error(err.status, err.error, err.description)
    emulator.mark_dirty()
    return Response(b"", status_code=200, media_type=OAUTH_JSON)


# --- userinfo --------------------------------------------------------------------------------


async def userinfo(request: Request) -> Response:
    """``GET /v1/openid_connect/userinfo``: who consented, as far as the scopes allow."""
    emulator = emulator_of(request)
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    grant, _reason = emulator.tokens.authenticate(value.strip())
    if scheme.lower() != "bearer" or grant is None:
        return oauth_error(401, "invalid_token")
    if "openid" not in grant.scopes:
        return oauth_error(403, "insufficient_scope")
    info: dict[str, Any] = {"sub": emulator.user_id}
    if "email" in grant.scopes:
        info.update(email="sandbox.user@example.com", emailVerified=True)
    if "profile" in grant.scopes:
        info.update(givenName="Sandbox", familyName="User")
    if "phone" in grant.scopes:
        info.update(phoneNumber="+61 2 5550 0100", phoneNumberVerified=False)
    if "address" in grant.scopes:
        info["address"] = {
            "streetAddress": "1 Market Street",
            "locality": "Sydney",
            "region": "NSW",
            "postalCode": "2000",
            "country": "AU",
        }
    return oauth_response(200, info)


routes = [
    *[Route(path, discovery, methods=["GET"]) for path in DISCOVERY_PATHS],
    Route("/op/v1/jwks", jwks, methods=["GET"]),
    Route("/connect/oauth2", authorize, methods=["GET"]),
    Route("/connect/oauth2", consent, methods=["POST"]),
    Route("/oauth2/v1/tokens/bearer", token, methods=["POST"]),
    Route("/v2/oauth2/tokens/revoke", revoke, methods=["POST"]),
    Route("/v1/openid_connect/userinfo", userinfo, methods=["GET"]),
]
