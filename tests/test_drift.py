"""Drift classification of one case against its baseline entry."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_promptcheck.drift import (
    NEW_CASE,
    Effect,
    Significance,
    adjust,
    classify,
    raw_significance,
)
from pytest_promptcheck.policy import DriftPolicy
from tests.entries import make_entry

POLICY = DriftPolicy()


entry = make_entry


def test_no_baseline_is_new() -> None:
    assert classify(None, entry(), POLICY) is NEW_CASE


def test_nothing_changed_is_same() -> None:
    drift = classify(entry(), entry(), POLICY)
    assert drift.effect is Effect.SAME and drift.causes == () and not drift.unexplained


@pytest.mark.parametrize(
    ("change", "cause"),
    [
        ({"request": "r2"}, "prompt changed"),
        ({"model": "openai:b"}, "model changed"),
        ({"params": {"temperature": 1}}, "params changed"),
        ({"checks": "c2"}, "checks changed"),
    ],
)
def test_each_change_is_named_as_the_cause(change: dict[str, Any], cause: str) -> None:
    drift = classify(entry(), entry(**change), POLICY)
    assert drift.causes == (cause,)


def test_a_new_reported_model_or_fingerprint_behind_the_same_name_is_a_model_change() -> None:
    assert classify(entry(reported="a-1"), entry(reported="a-2"), POLICY).causes == (
        "model changed",
    )
    assert classify(entry(fingerprint="fp1"), entry(fingerprint="fp2"), POLICY).causes == (
        "model changed",
    )
    # a provider that stops sending the field has not changed the model
    assert classify(entry(fingerprint="fp1"), entry(), POLICY).causes == ()


def test_another_llama_cpp_build_of_a_local_model_is_named_as_the_local_build() -> None:
    old = entry(["slow"], model="local:gemma-3-270m", fingerprint="llama.cpp 0.3.36 AVX2 AVX512")
    new = entry(["weak"], 0, model="local:gemma-3-270m", fingerprint="llama.cpp 0.3.36 AVX2")
    drift = classify(old, new, POLICY)
    assert drift.cause_text == (
        "model changed (local build: llama.cpp 0.3.36 AVX2 AVX512 → llama.cpp 0.3.36 AVX2)"
    )
    assert not drift.unexplained


def test_a_pyproject_provider_of_type_local_is_named_as_the_local_build_too() -> None:
    """[tool.promptcheck.providers.mine] type = "local": its prefix is not 'local:'."""
    old = entry(["slow"], model="mine:model.gguf", fingerprint="llama.cpp 0.3.36 AVX512")
    new = entry(["weak"], 0, model="mine:model.gguf", fingerprint="llama.cpp 0.3.36 AVX2")
    assert classify(old, new, POLICY).cause_text == (
        "model changed (local build: llama.cpp 0.3.36 AVX512 → llama.cpp 0.3.36 AVX2)"
    )


def test_several_causes_at_once() -> None:
    drift = classify(entry(), entry(request="r2", model="openai:b"), POLICY)
    assert drift.causes == ("prompt changed", "model changed")
    assert drift.cause_text == "prompt changed, model changed (openai:a → openai:b)"


def test_details_name_the_version_and_the_params_that_moved() -> None:
    old = entry(params={"temperature": 0, "max_tokens": 5}, version="1")
    new = entry(request="r2", params={"temperature": 0.7, "max_tokens": 5}, version="2")
    drift = classify(old, new, POLICY)
    assert drift.cause_text == "prompt changed (version 1 → 2), params changed (temperature)"


def test_single_sample_verdict_flips() -> None:
    regressed = classify(entry(), entry(["warm"], 0, model="openai:b"), POLICY)
    assert regressed.effect is Effect.REGRESSED
    assert regressed.reason == "passed → failed, score 1.00 → 0.00"
    assert classify(entry(["warm"], 0), entry(), POLICY).effect is Effect.IMPROVED


def test_single_sample_score_moves() -> None:
    drop = classify(entry(score=1.0), entry(["cool"], score=0.8), POLICY)
    assert drop.effect is Effect.REGRESSED and "beyond the tolerance 0.1" in drop.reason
    small = classify(entry(score=1.0), entry(["cool"], score=0.95), POLICY)
    assert small.effect is Effect.CHANGED
    loose = classify(entry(score=1.0), entry(["cool"], score=0.8), DriftPolicy(tolerance=0.3))
    assert loose.effect is Effect.CHANGED


def test_output_moved_with_nothing_changed_is_unexplained_drift() -> None:
    drift = classify(entry(["cold"]), entry(["Cold."]), POLICY)
    assert drift.effect is Effect.CHANGED and drift.unexplained
    assert drift.line().startswith("changed (no change): output moved")


def test_sampled_case_is_called_only_when_significant() -> None:
    base = entry(["yes"] * 20, 18)
    same_rate = classify(base, entry(["yes"] * 20, 18), POLICY)
    assert same_rate.effect is Effect.SAME
    small_drop = classify(base, entry(["yes"] * 20, 16), POLICY)
    assert small_drop.effect is Effect.CHANGED
    sharp_drop = classify(base, entry(["yes"] * 20, 6), POLICY)
    assert sharp_drop.effect is Effect.REGRESSED
    assert sharp_drop.p_value is not None and sharp_drop.p_value < 0.05
    assert "pass rate 18/20 → 6/20" in sharp_drop.reason
    assert classify(entry(["y"] * 20, 6), base, POLICY).effect is Effect.IMPROVED


def test_adjustment_across_the_run_raises_p_values() -> None:
    base, now = entry(["y"] * 20, 18), entry(["y"] * 20, 12)
    raw = raw_significance(base, now)
    assert raw.regression < 0.05
    lone = classify(base, now, POLICY, raw)
    assert lone.effect is Effect.REGRESSED
    # 99 other cases that dropped a little (16/20 → 12/20 could reach significance) dilute it
    others = {f"case{i}": (16, 20, 12, 20) for i in range(99)}
    adjusted = adjust({**others, "moved": (18, 20, 12, 20)}, 0.05)["moved"]
    assert adjusted.regression > raw.regression
    crowded = classify(base, now, POLICY, adjusted)
    assert crowded.effect is Effect.CHANGED


def test_unchanged_cases_that_cannot_reach_significance_do_not_dilute() -> None:
    # With 36 passes in 40 samples, the smallest possible regression p-value is 0.0265 (16/20
    # now): below 0.05 / 1 but above 0.05 / 2, so the family is 2 cases, not 100.
    unchanged = {f"case{i}": (18, 20, 18, 20) for i in range(99)}
    adjusted = adjust({**unchanged, "moved": (18, 20, 6, 20)}, 0.05)
    assert adjusted["moved"].family == 2
    raw = raw_significance(entry(["y"] * 20, 18), entry(["y"] * 20, 6))
    assert adjusted["moved"].regression == pytest.approx(raw.regression * 2)
    assert adjusted["case0"].regression == 1.0


def test_significance_is_used_as_given() -> None:
    called = classify(entry(["y"] * 20, 18), entry(["y"] * 20, 17), POLICY, Significance(0.01, 1))
    assert called.effect is Effect.REGRESSED
