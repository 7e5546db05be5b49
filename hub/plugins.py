"""The plugin manager: discovery, validation and per-integration dispatch."""

from __future__ import annotations

import importlib.metadata
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import pluggy

from hub import hookspecs
from hub.errors import NotImplementedByPlugin, PluginError
from hub.settings import Settings
from hub.types import REQUIRED_INFO_FIELDS, IntegrationInfo, PluginConfig

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "hub"
SLUG_PATTERN = re.compile(r"^[a-z][a-z0-9_-]{1,62}$")


@dataclass(frozen=True)
class Integration:
    """One loaded plugin: its slug, description, configuration and version."""

    slug: str
    plugin: object
    info: IntegrationInfo
    config: PluginConfig
    version: str
    source: str
    hooks: tuple[str, ...]


class PluginHost:
    """Loads plugins, validates them, and calls a hook on the plugin owning a slug."""

    def __init__(
        self,
        settings: Settings,
        plugins: Sequence[object] | Mapping[str, object] | None = None,
    ) -> None:
        self.settings = settings
        self.pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self.pm.add_hookspecs(hookspecs)
        self._integrations: dict[str, Integration] = {}
        self._callers: dict[tuple[str, str], Callable[..., Any]] = {}
        if plugins is None:
            candidates = self._discover()
        elif isinstance(plugins, Mapping):
            candidates = [
                (slug, plugin, _version_of(plugin), "argument") for slug, plugin in plugins.items()
            ]
        else:
            candidates = [(None, plugin, _version_of(plugin), "argument") for plugin in plugins]
        for slug, plugin, version, source in candidates:
            self._load(slug, plugin, version, source)

    # --- loading ---------------------------------------------------------------------

    def _wanted(self, slug: str) -> bool:
        allow = self.settings.load_plugins
        if allow is not None and slug not in allow:
            return False
        return slug not in self.settings.disabled_plugins

    def _discover(self) -> list[tuple[str | None, object, str, str]]:
        found: list[tuple[str | None, object, str, str]] = []
        for ep in sorted(
            importlib.metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name
        ):
            if not self._wanted(ep.name):
                log.info("plugin %s skipped by HUB_LOAD_PLUGINS/HUB_DISABLED_PLUGINS", ep.name)
                continue
            try:
                plugin = ep.load()
            except Exception as err:
                raise PluginError(ep.name, f"failed to import {ep.value!r}: {err!r}") from err
            dist = ep.dist
            version = dist.version if dist is not None else _version_of(plugin)
            source = f"{dist.name if dist else '?'} ({ep.value})"
            found.append((ep.name, plugin, version, source))
        return found

    def _load(self, slug: str | None, plugin: object, version: str, source: str) -> None:
        label: str = slug or str(getattr(plugin, "__name__", type(plugin).__name__))
        try:
            # Unnamed plugins get pluggy's unique default name; the slug check follows.
            self.pm.register(plugin, name=slug)
            # Every hookimpl must match a hookspec (misspelled hooks fail here).
            self.pm.check_pending()
        except pluggy.PluginValidationError as err:
            self._unregister(plugin)
            raise PluginError(label, f"invalid hook implementation: {err}") from err
        except ValueError as err:  # already registered under that name
            raise PluginError(label, f"registered twice: {err}") from err
        caller = self.pm.subset_hook_caller(
            "integration_info", remove_plugins=[p for p in self.pm.get_plugins() if p is not plugin]
        )
        config = PluginConfig(
            slug=slug or label,
            values=self.settings.plugin_values(slug or label),
            base_url=self.settings.base_url,
        )
        try:
            info = caller(config=config)
        except PluginError:
            self._unregister(plugin)
            raise
        except Exception as err:
            self._unregister(plugin)
            raise PluginError(label, f"integration_info() failed: {err}") from err
        self._validate(label, slug, info)
        assert info is not None
        if info.slug in self._integrations:
            self._unregister(plugin)
            other = self._integrations[info.slug].source
            raise PluginError(label, f"duplicate slug {info.slug!r} (also provided by {other})")
        if slug is None:
            config = PluginConfig(
                slug=info.slug,
                values=self.settings.plugin_values(info.slug),
                base_url=self.settings.base_url,
            )
        hooks = tuple(sorted(impl_hook.name for impl_hook in self.pm.get_hookcallers(plugin) or []))
        self._integrations[info.slug] = Integration(
            slug=info.slug,
            plugin=plugin,
            info=info,
            config=config,
            version=version,
            source=source,
            hooks=hooks,
        )

    def _validate(self, label: str, slug: str | None, info: object) -> None:
        if info is None:
            self._unregister_label(label)
            raise PluginError(label, "does not implement integration_info()")
        if not isinstance(info, IntegrationInfo):
            self._unregister_label(label)
            raise PluginError(label, "integration_info() must return hub.IntegrationInfo")
        missing = [
            f.name
            for f in fields(info)
            if f.name in REQUIRED_INFO_FIELDS and not getattr(info, f.name)
        ]
        if missing:
            self._unregister_label(label)
            raise PluginError(label, f"integration_info() is missing {', '.join(missing)}")
        if not SLUG_PATTERN.match(info.slug):
            self._unregister_label(label)
            raise PluginError(label, f"slug {info.slug!r} must match {SLUG_PATTERN.pattern}")
        if slug is not None and info.slug != slug:
            self._unregister_label(label)
            raise PluginError(
                label, f"slug {info.slug!r} differs from its entry-point name {slug!r}"
            )

    def _unregister(self, plugin: object) -> None:
        if self.pm.is_registered(plugin):
            self.pm.unregister(plugin)

    def _unregister_label(self, label: str) -> None:
        known = {i.plugin for i in self._integrations.values()}
        for plugin in self.pm.get_plugins():
            if plugin not in known:  # the one being loaded
                self.pm.unregister(plugin)

    # --- use ---------------------------------------------------------------------------

    @property
    def integrations(self) -> list[Integration]:
        """Every loaded integration, sorted by display name."""
        return sorted(self._integrations.values(), key=lambda i: i.info.name.lower())

    def get(self, slug: str) -> Integration | None:
        """The integration with this slug, or None."""
        return self._integrations.get(slug)

    def __contains__(self, slug: object) -> bool:
        return slug in self._integrations

    def has_hook(self, slug: str, name: str) -> bool:
        """Whether the plugin owning ``slug`` implements hook ``name``."""
        integration = self._integrations.get(slug)
        return integration is not None and name in integration.hooks

    def hook(self, slug: str, name: str) -> Callable[..., Any]:
        """A caller for hook ``name`` that reaches only the plugin owning ``slug``.

        Raises :class:`NotImplementedByPlugin` when the plugin lacks that hook.
        """
        if name not in hookspecs.PER_INTEGRATION_HOOKS:
            raise ValueError(f"{name!r} is not a per-integration hook")
        key = (slug, name)
        caller = self._callers.get(key)
        if caller is None:
            integration = self._integrations[slug]
            if name not in integration.hooks:
                raise NotImplementedByPlugin(
                    f"the {integration.info.name} plugin does not implement {name}() yet"
                )
            others = [p for p in self.pm.get_plugins() if p is not integration.plugin]
            caller = self.pm.subset_hook_caller(name, remove_plugins=others)
            self._callers[key] = caller
        return caller

    def register_extra(self, plugin: object, slug: str | None = None) -> Integration:
        """Register one more plugin after startup (tests and ``hub new-plugin``)."""
        self._load(slug, plugin, _version_of(plugin), "argument")
        self._callers.clear()
        info_slug = slug or next(s for s, i in self._integrations.items() if i.plugin is plugin)
        return self._integrations[info_slug]

    def unregister(self, slug: str) -> None:
        """Remove a plugin (tests)."""
        integration = self._integrations.pop(slug)
        self._unregister(integration.plugin)
        self._callers.clear()


def _version_of(plugin: object) -> str:
    version = getattr(plugin, "__version__", None)
    if version is None:
        package = getattr(plugin, "__package__", None) or ""
        root = package.split(".")[0] if package else ""
        module = __import__(root) if root else None
        version = getattr(module, "__version__", None)
    return str(version) if version else "unknown"
