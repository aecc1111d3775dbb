"""Budgets per sample: max_latency_ms, max_tokens, max_cost_usd."""

from __future__ import annotations

from pytest_promptcheck.checks.api import Verdict
from tests.checks.support import arg_error, sample, verdict

# --- budgets --------------------------------------------------------------------------------


def test_max_latency_within_limit() -> None:
    assert verdict("max_latency_ms", 8000, sample(latency_ms=1234.4)) == Verdict(
        True, 1.0, "max_latency_ms: 1234 ms, within the 8000 ms limit"
    )


def test_max_latency_over_limit() -> None:
    assert verdict("max_latency_ms", 1000, sample(latency_ms=1500)).reason == (
        "max_latency_ms: 1500 ms, over the 1000 ms limit"
    )


def test_budget_limit_itself_passes() -> None:
    assert verdict("max_latency_ms", 1000, sample(latency_ms=1000)) == Verdict(
        True, 1.0, "max_latency_ms: 1000 ms, within the 1000 ms limit"
    )


def test_max_latency_rejects_a_string() -> None:
    error = arg_error("max_latency_ms", "fast")
    assert error.message == 'expected a non-negative number, got the string "fast"'
    assert error.hint == "e.g. max_latency_ms: 8000"


def test_max_latency_rejects_a_boolean() -> None:
    assert arg_error("max_latency_ms", True).message.endswith("got the boolean true")


def test_max_tokens_uses_output_tokens_only() -> None:
    assert verdict("max_tokens", 200, sample(tokens_in=5000, tokens_out=200)).passed is True


def test_max_tokens_over_budget() -> None:
    assert verdict("max_tokens", 200, sample(tokens_out=250)).reason == (
        "max_tokens: 250 tokens, over the 200 tokens limit"
    )


def test_max_tokens_rejects_a_negative_budget() -> None:
    assert arg_error("max_tokens", -1).message.endswith("got the number -1")


def test_max_cost_within_budget() -> None:
    assert verdict("max_cost_usd", 0.01, sample(cost_usd=0.0012)).reason == (
        "max_cost_usd: $0.0012, within the $0.01 limit"
    )


def test_max_cost_over_budget() -> None:
    assert verdict("max_cost_usd", 0.001, sample(cost_usd=0.0012)).passed is False


def test_max_cost_unknown_fails() -> None:
    assert verdict("max_cost_usd", 1, sample(cost_usd=None)) == Verdict(
        False, 0.0, "cost unknown: no prices configured for this model", evaluated=False
    )
