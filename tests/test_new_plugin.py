"""``hub new-plugin``: a generated plugin is renamed throughout, loads, and passes its tests."""

from __future__ import annotations

import importlib
import os
import pathlib
import subprocess
import sys

import pytest

from hub.plugins import PluginHost
from hub.scaffold import ScaffoldError, create_plugin, template_directory
from hub.settings import Settings

TEMPLATE_SPELLINGS = ("example_ledger", "Example Ledger", "EXAMPLE_LEDGER", "example-ledger")


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    return create_plugin("acme_books", tmp_path_factory.mktemp("plugins"))


def test_nothing_of_the_template_name_remains(generated: pathlib.Path) -> None:
    files = [path for path in generated.rglob("*") if path.is_file()]
    assert {p.relative_to(generated).as_posix() for p in files} >= {
        "pyproject.toml",
        "README.md",
        "CHECKLIST.md",
        "hub_acme_books/__init__.py",
        "hub_acme_books/plugin.py",
        "hub_acme_books/emulator.py",
        "tests/conftest.py",
    }
    for path in [generated, *generated.rglob("*")]:
        assert not any(old.lower() in path.name.lower() for old in TEMPLATE_SPELLINGS), path
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            assert not [old for old in TEMPLATE_SPELLINGS if old in text], path
            assert "example ledger" not in text.lower(), path
    pyproject = (generated / "pyproject.toml").read_text()
    assert 'name = "hub-acme-books"' in pyproject
    assert 'acme_books = "hub_acme_books.plugin"' in pyproject
    plugin = (generated / "hub_acme_books" / "plugin.py").read_text()
    assert 'name="Acme Books"' in plugin and "ACME_BOOKS_WEBHOOK_SECRET" in plugin
    assert not list(generated.rglob("__pycache__"))


def test_generated_plugin_passes_its_own_tests(generated: pathlib.Path) -> None:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(generated), *filter(None, [env.get("PYTHONPATH")])])
    result = subprocess.run(
        [sys.executable, "-m", "pytest", str(generated / "tests"), "-q", "-p", "no:cacheprovider"],
        cwd=generated,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout and "failed" not in result.stdout


def test_host_loads_the_generated_plugin(
    generated: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(generated))
    module = importlib.import_module("hub_acme_books.plugin")
    host = PluginHost(Settings.from_env({}), plugins={"acme_books": module})
    integration = host.get("acme_books")
    assert integration is not None
    assert (integration.slug, integration.info.name) == ("acme_books", "Acme Books")
    assert integration.version == "0.1.0"


@pytest.mark.parametrize("name", ["Acme", "1acme", "a", "acme-books", "acme books", "a" * 42, ""])
def test_invalid_names_are_refused(tmp_path: pathlib.Path, name: str) -> None:
    with pytest.raises(ScaffoldError, match=r"\^\[a-z\]\[a-z0-9_\]\{1,40\}\$"):
        create_plugin(name, tmp_path)
    assert not any(tmp_path.iterdir())


def test_an_existing_directory_is_never_overwritten(tmp_path: pathlib.Path) -> None:
    (tmp_path / "acme_books").mkdir()
    (tmp_path / "acme_books" / "mine.txt").write_text("keep")
    with pytest.raises(ScaffoldError, match="already exists"):
        create_plugin("acme_books", tmp_path)
    assert [p.name for p in (tmp_path / "acme_books").iterdir()] == ["mine.txt"]


def test_a_missing_template_is_a_clear_error(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("hub.scaffold.template_directory", lambda: tmp_path / "nowhere")
    with pytest.raises(ScaffoldError, match="template is missing"):
        create_plugin("acme_books", tmp_path)
    assert template_directory().name == "_template"
