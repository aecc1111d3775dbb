"""Retries, backoff and Retry-After against the loopback server."""

from __future__ import annotations

import asyncio
import email.utils
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx2
import pytest

from pytest_promptcheck.cache import CacheMode, ResponseCache
from pytest_promptcheck.client import ModelClient
from pytest_promptcheck.errors import ProviderError
from pytest_promptcheck.policy import CallPolicy
from pytest_promptcheck.providers import ProviderSet
from pytest_promptcheck.providers.openai import retry_after_seconds
from pytest_promptcheck.records import Completion, ModelRequest
from pytest_promptcheck.retrying import CircuitBreaker, CircuitOpenError, RetryBudgetError
from tests.loopback import LoopbackServer, disconnect, hang, malformed, rate_limit, rules, status

REQUEST = ModelRequest("openai:m", None, "refund?", {}, {})
FAST = CallPolicy(retries=2, backoff_base_s=0.01, backoff_cap_s=0.05, timeout_s=5)


@pytest.fixture
def server(openai_env: LoopbackServer) -> LoopbackServer:
    openai_env.set_model("m", rules({"refund": "billing"}))
    return openai_env


def run(
    tmp_path: Path, policy: CallPolicy = FAST, count: int = 1
) -> tuple[list[Completion], ModelClient]:
    client = ModelClient(
        ProviderSet({}, tmp_path, policy.timeout_s), ResponseCache(tmp_path, CacheMode.OFF), policy
    )

    async def go() -> list[Completion]:
        try:
            return await asyncio.gather(*(client.sample(REQUEST, i) for i in range(count)))
        finally:
            await client.providers.aclose()

    return asyncio.run(go()), client


def failure(tmp_path: Path, policy: CallPolicy = FAST) -> ProviderError:
    with pytest.raises(ProviderError) as info:
        run(tmp_path, policy)
    return info.value


@pytest.mark.parametrize(
    "fault", [status(500), status(503), rate_limit(), malformed(), disconnect()], ids=str
)
def test_a_fault_that_can_pass_is_retried(
    tmp_path: Path, server: LoopbackServer, fault: object
) -> None:
    server.inject(fault)  # type: ignore[arg-type]
    (completion,), client = run(tmp_path)
    assert completion.text == "billing"
    assert len(server.completion_requests) == 2
    assert client.stats.retried == 1


@pytest.mark.parametrize("code", [400, 401, 403, 404, 422])
def test_a_fault_that_cannot_pass_fails_at_once(
    tmp_path: Path, server: LoopbackServer, code: int
) -> None:
    server.inject(status(code))
    error = failure(tmp_path)
    assert (error.status, error.tries) == (code, 1)
    assert len(server.completion_requests) == 1


def test_the_error_after_the_last_retry_says_how_many_tries(
    tmp_path: Path, server: LoopbackServer
) -> None:
    server.inject(status(502), status(502), status(502))
    error = failure(tmp_path)
    assert str(error).startswith("openai: HTTP 502 after 3 tries: ")


def test_throttling_without_end_still_fails(tmp_path: Path, server: LoopbackServer) -> None:
    throttled = rate_limit(retry_after="0.01")
    server.inject(throttled, throttled, throttled)
    error = failure(tmp_path)
    assert (error.status, error.tries) == (429, 3)


def test_a_429_without_retry_after_is_a_failure_like_the_others(
    tmp_path: Path, server: LoopbackServer
) -> None:
    server.inject(rate_limit(), status(500), status(500))
    error = failure(tmp_path)
    assert (error.status, error.tries) == (500, 3)


def test_a_timeout_is_retried(tmp_path: Path, server: LoopbackServer) -> None:
    server.inject(hang(5))
    (completion,), _ = run(tmp_path, CallPolicy(retries=1, timeout_s=0.3, backoff_base_s=0.01))
    assert completion.text == "billing"


def test_retry_after_seconds_is_waited(tmp_path: Path, server: LoopbackServer) -> None:
    server.inject(rate_limit(retry_after="0.4"))
    started = time.perf_counter()
    run(tmp_path)
    assert time.perf_counter() - started >= 0.4


def test_retry_after_ms_is_waited(tmp_path: Path, server: LoopbackServer) -> None:
    server.inject(rate_limit(retry_after_ms=300))
    started = time.perf_counter()
    run(tmp_path)
    assert time.perf_counter() - started >= 0.3


def test_dense_429s_with_retry_after_pause_every_call_to_the_provider(
    tmp_path: Path, server: LoopbackServer
) -> None:
    server.inject(*[rate_limit(retry_after="0.3")] * 4)
    run(tmp_path, CallPolicy(concurrency=1, retries=1), count=5)
    starts = sorted(r.started for r in server.completion_requests)
    fourth_429, later = starts[3], starts[4:]
    assert len(later) == 5
    assert all(t - fourth_429 >= 0.27 for t in later)


def test_a_lone_429_with_retry_after_holds_back_only_its_own_call(
    tmp_path: Path, server: LoopbackServer
) -> None:
    server.inject(rate_limit(retry_after="30"))  # the first call would wait 30 s
    client = ModelClient(
        ProviderSet({}, tmp_path, 5), ResponseCache(tmp_path, CacheMode.OFF), CallPolicy()
    )

    async def go() -> Completion:
        first = asyncio.ensure_future(client.sample(REQUEST, 0))
        try:
            while client.stats.retried == 0 and not first.done():  # until it got its 429
                await asyncio.sleep(0.01)
            assert not first.done()  # it backs off
            return await asyncio.wait_for(client.sample(REQUEST, 1), 5)
        finally:
            first.cancel()
            await asyncio.gather(first, return_exceptions=True)
            await client.providers.aclose()

    assert asyncio.run(go()).text == "billing"


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"retry-after": "2"}, 2.0),
        ({"retry-after": "1.5"}, 1.5),
        ({"retry-after-ms": "250"}, 0.25),
        ({"retry-after": "2", "retry-after-ms": "100"}, 0.1),
        ({"retry-after": "3600"}, 60.0),
        ({"retry-after": "soon"}, None),
        ({}, None),
    ],
)
def test_retry_after_header_forms(headers: dict[str, str], seconds: float | None) -> None:
    assert retry_after_seconds(httpx2.Headers(headers)) == seconds


def test_retry_after_http_date() -> None:
    in_ten = email.utils.formatdate(time.time() + 10, usegmt=True)
    waited = retry_after_seconds(httpx2.Headers({"retry-after": in_ten}))
    assert waited is not None and 8 <= waited <= 10


def test_concurrency_bounds_requests_in_flight(tmp_path: Path, server: LoopbackServer) -> None:
    server.latency_ms = 50
    run(tmp_path, CallPolicy(concurrency=4), count=20)
    assert server.max_in_flight == 4


# until the deadline, within the budget, while the circuit is closed

QUICK = CallPolicy(backoff_base_s=0.005, backoff_cap_s=0.02, timeout_s=5)


def outcomes(tmp_path: Path, policy: CallPolicy, count: int) -> list[object]:
    client = ModelClient(
        ProviderSet({}, tmp_path, policy.timeout_s), ResponseCache(tmp_path, CacheMode.OFF), policy
    )

    async def go() -> list[object]:
        try:
            calls = (client.sample(REQUEST, i) for i in range(count))
            return list(await asyncio.gather(*calls, return_exceptions=True))
        finally:
            await client.providers.aclose()

    return asyncio.run(go())


def test_without_a_cap_a_call_outlasts_many_faults(tmp_path: Path, server: LoopbackServer) -> None:
    server.inject(*[status(503)] * 12)
    (completion,), client = run(tmp_path, QUICK)
    assert completion.text == "billing"
    assert client.stats.retried == 12


def test_a_call_is_retried_until_its_deadline(tmp_path: Path, server: LoopbackServer) -> None:
    server.fault_rate, server.fault_kinds = 1.0, [status(503)]
    policy = replace(QUICK, call_deadline_s=0.5, breaker_failures=10_000, budget_floor=10_000)
    error = failure(tmp_path, policy)
    assert error.status == 503 and error.tries == len(server.completion_requests) > 5
    assert "the next would start past the 0.5 s call deadline" in str(error)


def test_the_circuit_opens_after_failures_in_a_row_and_later_calls_send_nothing(
    tmp_path: Path, server: LoopbackServer
) -> None:
    server.fault_rate, server.fault_kinds = 1.0, [status(503)]
    got = outcomes(tmp_path, replace(QUICK, concurrency=1, breaker_failures=5), count=20)
    assert len(server.completion_requests) == 5
    assert all(isinstance(error, CircuitOpenError) for error in got)
    assert {str(error) for error in got} == {
        "openai: provider unavailable: 5 consecutive failures "
        "(last: HTTP 503: Service Unavailable); circuit open"
    }


def test_a_success_closes_the_count_of_failures_in_a_row(
    tmp_path: Path, server: LoopbackServer
) -> None:
    server.inject(*[status(503)] * 4, hang(0), *[status(503)] * 4)  # hang(0): a success
    got = outcomes(tmp_path, replace(QUICK, concurrency=1, breaker_failures=5), count=3)
    assert len(server.completion_requests) == 11
    assert [c.text for c in got] == ["billing"] * 3  # type: ignore[attr-defined]


def test_a_spent_retry_budget_is_a_clear_error(tmp_path: Path, server: LoopbackServer) -> None:
    server.inject(*[status(503)] * 3)
    got = outcomes(tmp_path, replace(QUICK, budget_ratio=0, budget_floor=2), count=1)
    assert len(server.completion_requests) == 3
    (error,) = got
    assert isinstance(error, RetryBudgetError)
    assert str(error).startswith("openai: retry budget spent: 2 retries in this run")
    assert "(last: HTTP 503: Service Unavailable)" in str(error)


def unavailable() -> ProviderError:
    """A new failure each time: the breaker counts one error object once."""
    return ProviderError("openai", "Service Unavailable", status=503, retryable=True)


def test_the_circuit_opens_when_few_calls_have_failed_for_long() -> None:
    """A suite of a few calls against a dead provider: each backs off, so 40 failures in a row
    would take minutes; failures in a row spread over dead_s open the circuit."""
    now = [0.0]
    breaker = CircuitBreaker("openai", 40, dead_s=20.0, dead_failures=5, clock=lambda: now[0])
    for _ in range(4):
        now[0] += 10.0
        breaker.failed(unavailable())
    breaker.check()  # 4 failures over 30 s: fewer than dead_failures
    now[0] += 1.0
    breaker.failed(unavailable())
    with pytest.raises(CircuitOpenError) as info:
        breaker.check()
    assert str(info.value) == (
        "openai: provider unavailable: 5 consecutive failures over 31 s "
        "(last: HTTP 503: Service Unavailable); circuit open"
    )


def test_a_success_restarts_the_clock_of_the_circuit() -> None:
    now = [0.0]
    breaker = CircuitBreaker("openai", 40, dead_s=20.0, dead_failures=2, clock=lambda: now[0])
    breaker.failed(unavailable())
    now[0] += 30.0
    breaker.succeeded()
    breaker.failed(unavailable())
    now[0] += 5.0
    breaker.failed(unavailable())
    breaker.check()  # two failures in a row, but over 5 s only


@pytest.mark.parametrize("header", ["retry-after", "retry-after-ms"])
@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_a_retry_after_that_is_not_a_finite_number_is_ignored(header: str, value: str) -> None:
    """'nan' would make every wait and the deadline test meaningless (no backoff at all)."""
    assert retry_after_seconds(httpx2.Headers({header: value})) is None


def test_a_calls_deadline_starts_with_its_first_try_not_its_wait_for_a_place(
    tmp_path: Path, server: LoopbackServer
) -> None:
    """One place, 8 calls of 0.1 s: the last waits 0.7 s for its place, longer than the 0.5 s
    deadline, and must still get its retry."""
    server.inject(*[hang(0.1)] * 7, status(503))
    policy = replace(QUICK, concurrency=1, call_deadline_s=0.5)
    got = outcomes(tmp_path, policy, count=8)
    assert [c.text for c in got] == ["billing"] * 8  # type: ignore[attr-defined]
    assert len(server.completion_requests) == 9


class _BrokenProvider:
    """A provider from a plugin with a bug: its call raises something that is not a
    ProviderError."""

    name = "broken"

    def identity(self, request: ModelRequest) -> dict[str, str]:
        return {}

    async def complete(self, request: ModelRequest, sample: int) -> Completion:
        raise KeyError("choices")

    async def aclose(self) -> None:
        pass


class _WithBrokenProvider(ProviderSet):
    def get(self, prefix: str) -> Any:
        return _BrokenProvider() if prefix == "broken" else super().get(prefix)


def test_an_exception_a_provider_lets_through_is_the_calls_clean_error(tmp_path: Path) -> None:
    client = ModelClient(
        _WithBrokenProvider({}, tmp_path), ResponseCache(tmp_path, CacheMode.OFF), QUICK
    )
    request = ModelRequest(model="broken:m", messages=None, prompt="hi")
    with pytest.raises(ProviderError) as info:
        asyncio.run(client.sample(request, 0))
    assert (
        str(info.value) == "broken: no response after 1 try: unexpected error: KeyError: 'choices'"
    )
