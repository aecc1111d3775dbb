"""Run policies from the settings: how model calls are made (concurrency, retries, timeout,
backoff) and how drift against the baseline is judged."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

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


class DriftMode(StrEnum):
    WARN = "warn"
    FAIL = "fail"
    OFF = "off"


@dataclass(frozen=True)
class DriftPolicy:
    mode: DriftMode = DriftMode.WARN
    tolerance: float = 0.1
    """A single-sample case whose score drops by more than this has regressed."""
    alpha: float = 0.05
    """Significance level for sampled cases, after adjustment across the run."""
