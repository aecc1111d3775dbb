"""Pytest fixtures around the loopback Messages API server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.loopback_anthropic import AnthropicServer
from tests.loopback_fixtures import TEST_API_KEY

__all__ = ["anthropic_env", "anthropic_server"]


@pytest.fixture
def anthropic_server() -> Iterator[AnthropicServer]:
    """A started loopback Messages API server, stopped after the test."""
    with AnthropicServer() as server:
        yield server


@pytest.fixture
def anthropic_env(
    anthropic_server: AnthropicServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[AnthropicServer]:
    """The server, with ANTHROPIC_BASE_URL and ANTHROPIC_API_KEY pointing at it."""
    monkeypatch.setenv("ANTHROPIC_BASE_URL", anthropic_server.base_url)
    monkeypatch.setenv("ANTHROPIC_API_KEY", TEST_API_KEY)
    yield anthropic_server
