"""A small fake provider plugin the host tests load instead of a real one."""

from __future__ import annotations

from urllib.parse import urlencode

from hub import (
    AuthorizationRedirect,
    AuthorizeContext,
    CallbackContext,
    Capabilities,
    ConnectedAccount,
    IntegrationInfo,
    OAuthEndpoints,
    PluginConfig,
    hookimpl,
)
from hub.errors import Rejected

LOGO = "data:image/svg+xml;base64,PHN2ZyB4bWxucz0naHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmcnLz4="
TOKEN_URL = "https://fake.example/oauth/token"


class FakeLedger:
    """A provider at fake.example; tests answer its HTTP calls with pytest-httpx."""

    __version__ = "1.2.3"

    def __init__(self, slug: str = "fakeledger", name: str = "Fake Ledger") -> None:
        self.slug = slug
        self.name = name

    @hookimpl
    def integration_info(self, config: PluginConfig) -> IntegrationInfo:
        return IntegrationInfo(
            slug=self.slug,
            name=self.name,
            description="A ledger that only exists in tests.",
            logo=LOGO,
            docs_url="https://fake.example/docs",
            help_url="https://fake.example/help",
            oauth=OAuthEndpoints(
                authorize_url="https://fake.example/oauth/authorize",
                token_url=TOKEN_URL,
                revoke_url="https://fake.example/oauth/revoke",
                scopes=("ledger",),
            ),
            callback_params=("account",),
            capabilities=Capabilities(webhooks=True, two_way=True),
        )

    @hookimpl
    async def authorize(self, ctx: AuthorizeContext) -> AuthorizationRedirect:
        query = urlencode(
            {
                "client_id": ctx.client_id,
                "redirect_uri": ctx.redirect_uri,
                "state": ctx.state,
                "scope": " ".join(ctx.scopes),
                "response_type": "code",
            }
        )
        return AuthorizationRedirect(f"{ctx.info.oauth.authorize_url}?{query}")

    @hookimpl
    async def callback(self, ctx: CallbackContext) -> ConnectedAccount:
        account = ctx.params.get("account")
        if not account:
            raise Rejected("the callback did not say which account was chosen")
        tokens = await ctx.exchange_code(ctx.params["code"])
        response = await ctx.http.get(
            f"https://fake.example/api/{account}/info",
            headers={"Authorization": f"Bearer {tokens.access_token}"},
        )
        response.raise_for_status()
        return ConnectedAccount(
            external_account_id=account,
            display_name=response.json()["name"],
            environment="sandbox",
            tokens=tokens,
        )
