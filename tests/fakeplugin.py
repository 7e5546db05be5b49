"""A small fake provider plugin the host tests load instead of a real one."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from urllib.parse import urlencode

from hub import (
    AuthorizationRedirect,
    AuthorizeContext,
    BatchPayload,
    BatchSyncResult,
    CallbackContext,
    Capabilities,
    ConnectedAccount,
    ConnectionContext,
    IntegrationInfo,
    InvoiceProblem,
    InvoiceResult,
    InvoiceTotals,
    MappingChoices,
    MappingField,
    MappingOption,
    OAuthEndpoints,
    PluginConfig,
    RemoteRef,
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


class TaxLedger(FakeLedger):
    """A provider with tax codes, a mapping and a check, kept in memory (no HTTP).

    Its codes: ``gst10`` (10%), ``free`` (0%, GST-free) and ``oos`` (0%, out of
    scope). It suggests ``gst10`` for GST lines and, unless ``suggest_free`` is set,
    nothing for GST-free ones: two 0% codes are one too many to choose from.
    """

    CODES = {"gst10": ("GST", Decimal("10")), "free": ("GST Free", Decimal("0")),
             "oos": ("Out of scope", Decimal("0"))}
    NUMBER_MAX = 21

    def __init__(self) -> None:
        super().__init__("taxledger", "Tax Ledger")
        self.suggest_free = False
        self.choice_reads = 0
        self.created: dict[str, dict[str, object]] = {}

    @hookimpl
    async def mapping_choices(self, ctx: ConnectionContext) -> MappingChoices:
        self.choice_reads += 1
        options = tuple(
            MappingOption(code, name, f"{rate}%", rate) for code, (name, rate) in self.CODES.items()
        )
        return MappingChoices(
            fields=(
                MappingField("tax.gst", "Tax code for lines with GST", options,
                             suggested="gst10", treatment="gst"),
                MappingField("tax.gst_free", "Tax code for GST-free lines", options,
                             suggested="free" if self.suggest_free else None,
                             treatment="gst_free"),
                MappingField("memo_prefix", "Memo prefix", (MappingOption("inv", "INV"),),
                             required=False),
            ),
            facts={"home_currency": "AUD"},
            notes=("Tax Ledger keeps its books in AUD.",),
        )

    @hookimpl
    async def check_batch(
        self, ctx: ConnectionContext, batch: BatchPayload
    ) -> Sequence[InvoiceProblem]:
        problems = []
        for invoice in batch.invoices:
            if len(invoice.number) > self.NUMBER_MAX:
                problems.append(InvoiceProblem(invoice.id, "number_too_long",
                                               f"{invoice.number} is too long", "invoice"))
                continue
            unmapped = sorted({line.tax for line in invoice.lines} - {
                key.removeprefix("tax.") for key in ctx.mapping if key.startswith("tax.")})
            if unmapped:
                problems.append(InvoiceProblem(
                    invoice.id, "tax_code_not_mapped",
                    f"Choose the tax code for {unmapped[0]} lines.", "mapping"))
        return problems

    @hookimpl
    async def sync_batch(self, ctx: ConnectionContext, batch: BatchPayload) -> BatchSyncResult:
        results = []
        for invoice in batch.invoices:
            cent = Decimal("0.01")
            taxes = [
                (line.amount * self.CODES[ctx.mapping[f"tax.{line.tax}"]][1] / 100).quantize(cent)
                for line in invoice.lines
            ]
            tax = sum(taxes, Decimal("0"))
            self.created[invoice.number] = {"codes": [ctx.mapping[f"tax.{ln.tax}"]
                                                      for ln in invoice.lines]}
            results.append(InvoiceResult(
                invoice.id,
                remote=RemoteRef(f"r-{invoice.id}", "0"),
                remote_number=invoice.number,
                totals=InvoiceTotals(invoice.subtotal, tax, invoice.subtotal + tax),
            ))
        return BatchSyncResult(invoices=tuple(results))
