"""Plugin discovery, validation at startup, and per-integration dispatch."""

from __future__ import annotations

import importlib.metadata
import types

import pytest

from hub import hookimpl
from hub.errors import NotImplementedByPlugin, PluginError
from hub.plugins import PluginHost
from hub.settings import Settings
from tests.fakeplugin import FakeLedger


def settings(**env: str) -> Settings:
    return Settings.from_env(env)


def test_installed_quickbooks_plugin_is_discovered_by_entry_point():
    host = PluginHost(settings())
    quickbooks = host.get("quickbooks")
    assert quickbooks is not None
    assert quickbooks.info.name == "QuickBooks Online"
    assert quickbooks.version == importlib.metadata.version("hub-quickbooks")
    assert "hub_quickbooks.plugin" in quickbooks.source
    assert {"authorize", "callback", "handle_webhook", "sync_batch"} <= set(quickbooks.hooks)


def test_allow_list_and_disabled_list():
    assert PluginHost(settings(HUB_LOAD_PLUGINS="nothing-else")).integrations == []
    assert PluginHost(settings(HUB_DISABLED_PLUGINS="quickbooks")).get("quickbooks") is None
    assert PluginHost(settings(HUB_LOAD_PLUGINS="quickbooks")).get("quickbooks") is not None


def test_slug_must_equal_entry_point_name():
    with pytest.raises(PluginError, match="differs from its entry-point name") as err:
        PluginHost(settings(), plugins={"other": FakeLedger()})
    assert err.value.plugin == "other"
    assert "HUB_DISABLED_PLUGINS=other" in str(err.value)


def test_duplicate_slugs_are_refused():
    with pytest.raises(PluginError, match="duplicate slug 'fakeledger'"):
        PluginHost(settings(), plugins=[FakeLedger(), FakeLedger()])


def test_missing_required_info_is_refused():
    class Nameless(FakeLedger):
        @hookimpl
        def integration_info(self, config):  # type: ignore[no-untyped-def]
            import dataclasses

            return dataclasses.replace(super().integration_info(config), name="", docs_url="")

    with pytest.raises(PluginError, match="missing name, docs_url"):
        PluginHost(settings(), plugins={"fakeledger": Nameless()})


def test_misspelled_hook_fails_validation_naming_the_plugin():
    class Typo(FakeLedger):
        @hookimpl
        def sync_batches(self, ctx, batch):  # type: ignore[no-untyped-def]
            return None

    with pytest.raises(PluginError, match="'fakeledger': invalid hook implementation"):
        PluginHost(settings(), plugins={"fakeledger": Typo()})


def test_plugin_without_integration_info_is_refused():
    module = types.ModuleType("empty_plugin")
    with pytest.raises(PluginError, match="does not implement integration_info"):
        PluginHost(settings(), plugins={"empty": module})


def test_plugin_that_fails_to_import_is_named(monkeypatch):
    class BrokenEntryPoint:
        name = "broken"
        value = "broken_plugin.plugin"
        dist = None

        def load(self):  # type: ignore[no-untyped-def]
            raise ImportError("No module named 'broken_plugin'")

    real = importlib.metadata.entry_points

    def entry_points(**kwargs):  # type: ignore[no-untyped-def]
        found = list(real(**kwargs))
        return [*found, BrokenEntryPoint()] if kwargs.get("group") == "hub" else found

    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)
    with pytest.raises(PluginError, match="'broken': failed to import"):
        PluginHost(settings())
    # ... and the hub starts without it when it is disabled.
    host = PluginHost(settings(HUB_DISABLED_PLUGINS="broken"))
    assert host.get("quickbooks") is not None


@pytest.mark.anyio
async def test_hooks_reach_only_the_owning_plugin():
    calls: list[str] = []

    class Recording(FakeLedger):
        @hookimpl
        async def authorize(self, ctx):  # type: ignore[no-untyped-def]
            calls.append(self.slug)
            return await super().authorize(ctx)

    host = PluginHost(
        settings(),
        plugins={"alpha": Recording("alpha", "Alpha"), "beta": Recording("beta", "Beta")},
    )
    from hub.types import AuthorizeContext

    beta = host.get("beta")
    ctx = AuthorizeContext(beta.config, beta.info, "s", "http://x/cb", "cid", ("ledger",))
    redirect = await host.hook("beta", "authorize")(ctx=ctx)
    assert calls == ["beta"]
    assert redirect.url.startswith("https://fake.example/oauth/authorize")


def test_missing_hook_is_a_clear_error():
    host = PluginHost(settings(), plugins={"fakeledger": FakeLedger()})
    with pytest.raises(NotImplementedByPlugin, match="does not implement sync_batch"):
        host.hook("fakeledger", "sync_batch")


def test_plugin_configuration_comes_from_prefixed_environment():
    host = PluginHost(
        settings(FAKELEDGER_CLIENT_ID="abc", FAKELEDGER_CLIENT_SECRET="xyz", OTHER_CLIENT_ID="no"),
        plugins={"fakeledger": FakeLedger()},
    )
    config = host.get("fakeledger").config
    assert config.client_id == "abc" and config.client_secret == "xyz"
    assert "OTHER_CLIENT_ID" not in config.values and "CLIENT_ID" in config.values


def test_hub_plugins_command_lists_quickbooks_with_version(capsys):
    from hub.cli import main

    assert main(["plugins"]) == 0
    out = capsys.readouterr().out
    version = importlib.metadata.version("hub-quickbooks")
    assert f"quickbooks  QuickBooks Online  {version}" in out
