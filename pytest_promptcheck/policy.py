"""How model calls are made: concurrency, retries, timeout and backoff."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_CONCURRENCY = 16
DEFAULT_RETRIES = 4
DEFAULT_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class CallPolicy:
    concurrency: int = DEFAULT_CONCURRENCY
    retries: int = DEFAULT_RETRIES
    timeout_s: float = DEFAULT_TIMEOUT_S
    backoff_base_s: float = 0.25
    backoff_cap_s: float = 8.0
