"""A provider's settings: a ``[tool.promptcheck.providers.<name>]`` table or a built-in's
defaults. Its own module, so that providers read it without importing the set of providers."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any


@dataclass(frozen=True)
class ProviderConfig:
    """A ``[tool.promptcheck.providers.<name>]`` table (or a type's defaults, for a model id
    whose prefix is the type's name)."""

    name: str
    """The table's name: the prefix of the model ids it serves."""
    type: str
    base_url: str | None = None
    api_key_env: str | None = None
    """The name of the environment variable holding the key; never the key."""
    max_concurrency: int | None = None
    price_per_1m_input: float | None = None
    price_per_1m_output: float | None = None
    options: dict[str, Any] = field(default_factory=dict)
    """The table's other keys, each one the type declares (``registry.register(options=...)``)."""


COMMON_KEYS = frozenset(f.name for f in fields(ProviderConfig)) - {"name", "options"}
"""The keys every table may hold, whatever its type."""

CACHE_PRICE_KEYS = frozenset({"price_per_1m_cache_read", "price_per_1m_cache_write"})
"""Prices per 1M prompt-cache tokens read and written: options of the ``anthropic`` type, whose
usage reports them apart from other input tokens."""
