"""Run policies from the settings: how model calls are made (concurrency, retries, timeout,
backoff) and how drift against the baseline is judged."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

DEFAULT_CONCURRENCY = 16
DEFAULT_TIMEOUT_S = 60.0
DEFAULT_CALL_DEADLINE_S = 120.0


@dataclass(frozen=True)
class CallPolicy:
    concurrency: int = DEFAULT_CONCURRENCY
    retries: int | None = None
    """At most this many retries of one call; None: retry until the call's deadline."""
    timeout_s: float = DEFAULT_TIMEOUT_S
    """One request."""
    call_deadline_s: float = DEFAULT_CALL_DEADLINE_S
    """One call, all its tries and waits from its first try on: no retry starts past it."""
    backoff_base_s: float = 0.1
    backoff_cap_s: float = 10.0
    breaker_failures: int = 40
    """Failures in a row, with no success, that open a provider's circuit."""
    breaker_dead_s: float = 20.0
    breaker_dead_failures: int = 5
    """...or this many failures in a row over at least this long: a suite of a few calls
    against a dead provider would otherwise wait out each call's deadline."""
    budget_ratio: float = 1.0
    budget_floor: int = 20
    """Retries may add at most ratio x the planned calls + floor to a run."""
    share: int = 1
    """How many runs share each provider (the shards of ``--promptcheck-shard``): this run
    takes 1/share of a provider's concurrency, at least 1."""


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
