"""A provider's settings: a ``[tool.promptcheck.providers.<name>]`` table or a built-in's
defaults. Its own module, so that providers read it without importing the set of providers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ProviderConfig:
    """A ``[tool.promptcheck.providers.<name>]`` table (or a built-in's defaults)."""

    name: str
    type: str
    base_url: str | None = None
    api_key_env: str | None = None
    max_concurrency: int | None = None
    price_per_1m_input: float | None = None
    price_per_1m_output: float | None = None
    options: dict[str, Any] = field(default_factory=dict)
