"""Pytest fixtures around the loopback OpenAI-compatible server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.loopback import LoopbackServer

__all__ = ["TEST_API_KEY", "openai_env", "openai_server"]

TEST_API_KEY = "sk-test-SECRET-abc123"


@pytest.fixture
def openai_server() -> Iterator[LoopbackServer]:
    """A started loopback server, stopped after the test."""
    with LoopbackServer() as server:
        yield server


@pytest.fixture
def openai_env(
    openai_server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[LoopbackServer]:
    """The loopback server, with OPENAI_BASE_URL and OPENAI_API_KEY pointing at it."""
    monkeypatch.setenv("OPENAI_BASE_URL", openai_server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", TEST_API_KEY)
    yield openai_server
