"""Host test fixtures: a fake provider plugin instead of the installed ones."""

from __future__ import annotations

import pytest

from tests.fakeplugin import FakeLedger


@pytest.fixture
def fake_plugin() -> FakeLedger:
    """The fake provider plugin."""
    return FakeLedger()


@pytest.fixture
def hub_plugins(fake_plugin: FakeLedger) -> dict[str, object]:
    """Host tests load only the fake provider."""
    return {"fakeledger": fake_plugin}


@pytest.fixture
def hub_plugin_env() -> dict[str, str]:
    """Client credentials for the fake provider."""
    return {"FAKELEDGER_CLIENT_ID": "cid", "FAKELEDGER_CLIENT_SECRET": "csecret"}


@pytest.fixture
def anyio_backend() -> str:
    """Async tests run on asyncio, like the hub."""
    return "asyncio"
