"""When to retry a failed call: backoff with full jitter, a run-wide retry budget, and a
circuit breaker per provider.

A call is retried until its deadline; the budget keeps a provider that fails often from
multiplying the run's calls; the breaker makes a provider that fails every call end the
run fast, with one error, instead of every call waiting out its deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Callable

from pytest_promptcheck.errors import PromptcheckError, ProviderError


def full_jitter(attempt: int, base_s: float, cap_s: float) -> float:
    """The wait before retry ``attempt`` (1-based): uniform in [0, min(cap, base * 2^(n-1))].

    "Full jitter" (Brooker, AWS Architecture Blog, "Exponential Backoff And Jitter", 2015):
    among the schemes compared there it spreads retries best and finishes soonest, and with a
    small base an unlucky call loses little time, which is what the wall time of a run under
    random faults hinges on.
    """
    return random.uniform(0.0, min(cap_s, base_s * 2 ** (attempt - 1)))


def describe(error: ProviderError) -> str:
    status = f"HTTP {error.status}" if error.status is not None else "no response"
    return f"{status}: {error.message}"


class CircuitOpenError(PromptcheckError):
    """The provider failed too many calls in a row; its other calls fail at once."""


class RetryBudgetError(PromptcheckError):
    """The run spent its retries; a failure is no longer retried."""


class CircuitBreaker:
    """Opens after ``threshold`` retryable failures in a row with no success between them, or
    after ``dead_failures`` in a row spread over ``dead_s`` seconds or more (few calls, each
    backing off, would take long to reach ``threshold``), and stays open for the rest of the
    run: the provider's waiting and later calls fail fast. A failure is one error object: the
    calls of a failed embeddings batch all fail with its one error, which counts once."""

    def __init__(
        self,
        provider: str,
        threshold: int,
        dead_s: float = float("inf"),
        dead_failures: int = 1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.provider = provider
        self.threshold = threshold
        self.dead_s = dead_s
        self.dead_failures = dead_failures
        self.failures = 0
        self._counted: ProviderError | None = None
        self._clock = clock
        self._first_failure_at = 0.0
        self.error: CircuitOpenError | None = None
        self._opened = asyncio.Event()

    def check(self) -> None:
        if self.error is not None:
            raise self.error

    def succeeded(self) -> None:
        self.failures = 0

    def failed(self, error: ProviderError) -> None:
        if error is self._counted:  # one failed batch fails each of its calls with one error
            return
        self._counted = error
        now = self._clock()
        if self.failures == 0:
            self._first_failure_at = now
        self.failures += 1
        failing_for_s = now - self._first_failure_at
        if self.error is None and self._dead(failing_for_s):
            over = "" if self.failures >= self.threshold else f" over {failing_for_s:.0f} s"
            self.error = CircuitOpenError(
                f"{self.provider}: provider unavailable: {self.failures} consecutive failures"
                f"{over} (last: {describe(error)}); circuit open"
            )
            self._opened.set()

    def _dead(self, failing_for_s: float) -> bool:
        if self.failures >= self.threshold:
            return True
        return self.failures >= self.dead_failures and failing_for_s >= self.dead_s

    async def sleep(self, seconds: float) -> None:
        """Wait before a retry, ending early if the circuit opens meanwhile."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._opened.wait(), seconds)


class RetryBudget:
    """Retries may add at most ``ratio`` x the planned calls plus ``floor`` to a run."""

    def __init__(self, ratio: float, floor: int) -> None:
        self.ratio = ratio
        self.floor = floor
        self.spent = 0
        self._counted: ProviderError | None = None

    def allowance(self, planned: int) -> int:
        return self.floor + int(self.ratio * planned)

    def take(self, planned: int, error: ProviderError) -> None:
        """Spend one retry for ``error``; the calls of a failed batch, which all share its
        error, retry on the one retry it cost."""
        if error is self._counted:
            return
        allowance = self.allowance(planned)
        if self.spent >= allowance:
            raise RetryBudgetError(
                f"{error.provider}: retry budget spent: {self.spent} retries in this run, "
                f"the most allowed for {planned} planned calls; the provider fails too often "
                f"(last: {describe(error)})"
            )
        self.spent += 1
        self._counted = error
