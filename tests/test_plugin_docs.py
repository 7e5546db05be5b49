"""docs/PLUGINS.md documents every hook exactly as hub/hookspecs.py declares it."""

from __future__ import annotations

import inspect
import pathlib

import pytest

from hub import docs_gen, hookspecs


@pytest.fixture
def section() -> str:
    return docs_gen.extract_section(docs_gen.DOCS_PATH.read_text(encoding="utf-8"))


def test_reference_matches_the_hookspecs(section: str) -> None:
    assert section == docs_gen.render_plugin_reference(), (
        "docs/PLUGINS.md is out of date with hub/hookspecs.py: run `python -m hub.docs_gen`"
    )


def test_every_per_integration_hook_is_documented(section: str) -> None:
    documented = docs_gen.documented_hooks(section)
    missing = [name for name in hookspecs.PER_INTEGRATION_HOOKS if name not in documented]
    assert not missing, f"hooks missing from docs/PLUGINS.md: {missing}"
    # Every declared hook is in the contract's list, so none goes undocumented.
    assert set(docs_gen.hook_names()) == set(hookspecs.PER_INTEGRATION_HOOKS)


def test_each_entry_carries_the_signature_and_docstring() -> None:
    entry = docs_gen.render_hook("sync_batch")
    assert (
        "async def sync_batch(ctx: ConnectionContext, batch: BatchPayload) -> "
        "BatchSyncResult" in entry
    )
    first_line = (inspect.getdoc(hookspecs.sync_batch) or "").splitlines()[0]
    assert first_line in entry
    text = entry.split("\n```\n", 1)[1]  # after the signature's code block
    assert "`RateLimited`" in text and ":class:" not in text and "``" not in text


def test_rewrite_touches_only_the_marked_section(tmp_path: pathlib.Path) -> None:
    doc = tmp_path / "PLUGINS.md"
    doc.write_text(f"# Guide\n\nprose\n\n{docs_gen.START}\nstale\n{docs_gen.END}\n\nafter\n")
    assert docs_gen.main(["--check", str(doc)]) == 1
    assert docs_gen.main([str(doc)]) == 0
    text = doc.read_text()
    assert text.startswith("# Guide\n\nprose\n\n") and text.endswith(f"{docs_gen.END}\n\nafter\n")
    assert docs_gen.extract_section(text) == docs_gen.render_plugin_reference()
    assert docs_gen.main(["--check", str(doc)]) == 0


def test_missing_markers_are_an_error(tmp_path: pathlib.Path) -> None:
    doc = tmp_path / "PLUGINS.md"
    doc.write_text("# Guide without markers\n")
    with pytest.raises(ValueError, match="hooks:start"):
        docs_gen.main([str(doc)])
