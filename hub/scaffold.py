"""``hub new-plugin``: a new plugin distribution copied from ``plugins/_template``."""

from __future__ import annotations

import contextlib
import logging
import pathlib
import re

import hub
from hub.errors import HubError

log = logging.getLogger(__name__)

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{1,40}$")
TEMPLATE_SLUG = "example_ledger"
#: Folders and files that are build or test leftovers, never part of a new plugin.
SKIPPED = ("__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache")
SKIPPED_SUFFIXES = (".egg-info", ".pyc", ".pyo")


class ScaffoldError(HubError):
    """A plugin could not be generated; the message says why and what to do."""


def template_directory() -> pathlib.Path:
    """Where ``plugins/_template`` is, next to the ``hub`` package."""
    return pathlib.Path(hub.__file__).resolve().parent.parent / "plugins" / "_template"


def replacements(name: str) -> list[tuple[str, str]]:
    """The template's spellings of its slug, each paired with the new plugin's."""
    words = name.split("_")
    return [
        (TEMPLATE_SLUG, name),
        ("Example Ledger", " ".join(word.capitalize() for word in words if word)),
        (TEMPLATE_SLUG.upper(), name.upper()),
        (TEMPLATE_SLUG.replace("_", "-"), "-".join(word for word in words if word)),
    ]


def _rename(text: str, pairs: list[tuple[str, str]]) -> str:
    for old, new in pairs:
        text = text.replace(old, new)
    return text


def _skipped(path: pathlib.Path) -> bool:
    return path.name in SKIPPED or path.name.endswith(SKIPPED_SUFFIXES)


def create_plugin(name: str, directory: pathlib.Path) -> pathlib.Path:
    """Copy the template to ``directory/name`` as plugin ``name``; return the new folder."""
    if not NAME_PATTERN.match(name):
        raise ScaffoldError(
            f"invalid plugin name {name!r}: it must start with a lower-case letter, then "
            "1 to 40 lower-case letters, digits or underscores (regex "
            f"{NAME_PATTERN.pattern}), for example acme_books"
        )
    source = template_directory()
    if not (source / "pyproject.toml").is_file():
        raise ScaffoldError(
            f"the plugin template is missing: expected it at {source}. Run `hub new-plugin` "
            "from a source checkout of the hub (or reinstall it with `pip install -e .`)."
        )
    target = pathlib.Path(directory) / name
    if target.exists():
        raise ScaffoldError(
            f"{target} already exists; choose another name or --directory, or remove it first"
        )
    pairs = replacements(name)
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        if any(_skipped(pathlib.Path(part)) for part in relative.parts):
            continue
        destination = target / _rename(str(relative), pairs)
        if path.is_dir():
            destination.mkdir(parents=True, exist_ok=True)
            continue
        destination.parent.mkdir(parents=True, exist_ok=True)
        data = path.read_bytes()
        # Images and other binary files are copied as they are.
        with contextlib.suppress(UnicodeDecodeError):
            data = _rename(data.decode("utf-8"), pairs).encode("utf-8")
        destination.write_bytes(data)
        destination.chmod(path.stat().st_mode)
    log.info("created plugin %s in %s", name, target)
    return target
