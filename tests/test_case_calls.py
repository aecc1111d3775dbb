"""What a case's checks ask of models: built from each output, bounded by what they declared,
and judged from the answers (a plugin check's bug is its verdict, never a crash)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pytest_promptcheck.case_calls import CaseCalls
from pytest_promptcheck.checks.api import Job, ModelCheck, SampleContext, Verdict
from pytest_promptcheck.checks.builtins import builtin_registry
from pytest_promptcheck.checks.registry import CheckRegistry
from pytest_promptcheck.project import Project
from pytest_promptcheck.records import Completion, ModelRequest
from pytest_promptcheck.scoring import CaseAnswers, score_case
from pytest_promptcheck.spec import load_spec

GRADER = "openai:grader"


def ask(ctx: SampleContext, count: int) -> list[Job]:
    request = ModelRequest(GRADER, None, f"grade: {ctx.text}")
    return [(request, index) for index in range(count)]


def registry_with(tmp_path: Path) -> CheckRegistry:
    registry = builtin_registry(Project.at(tmp_path))

    def asking(arg: Any, base_dir: Path) -> ModelCheck:
        def requests(ctx: SampleContext) -> list[Job]:
            if arg == "raise":
                raise RuntimeError("no grader today")
            return ask(ctx, 3 if arg == "greedy" else 2)

        def judge(ctx: SampleContext, answers: Sequence[Completion]) -> Verdict:
            said = [a.text for a in answers]
            return Verdict(said == ["yes", "yes"], 1.0, f"votes: {said}")

        return ModelCheck(calls=2, requests=requests, judge=judge, models=(GRADER,))

    registry.register("votes", asking)
    return registry


def calls_of(tmp_path: Path, arg: str, samples: int = 1) -> CaseCalls:
    path = tmp_path / "p.prompt.yaml"
    path.write_text(
        f"prompt: hi\nsamples: {samples}\n"
        f"cases: [{{expect: [{{contains: o}}, {{votes: {arg}}}]}}]\n"
    )
    spec = load_spec(path, registry_with(tmp_path))
    return CaseCalls(spec, spec.cases[0], spec.request(spec.cases[0], "openai:m"))


def out(text: str) -> Completion:
    return Completion(text=text, model_reported="m")


def test_only_the_asking_checks_ask_and_their_count_is_planned(tmp_path: Path) -> None:
    calls = calls_of(tmp_path, "fair", samples=3)
    assert [index for index, _ in calls.asking] == [1]
    assert calls.planned_check_calls() == 6
    jobs = calls.check_jobs(out("ok"))
    assert list(jobs) == [1]
    assert [(r.prompt, i) for r, i in jobs[1]] == [("grade: ok", 0), ("grade: ok", 1)]


def test_asking_for_more_calls_than_declared_fails_the_check_not_the_run(tmp_path: Path) -> None:
    jobs = calls_of(tmp_path, "greedy").check_jobs(out("ok"))
    assert jobs == {1: "asked for 3 model calls, more than the 2 it declared"}


def test_a_check_whose_requests_raise_is_judged_unevaluated(tmp_path: Path) -> None:
    calls = calls_of(tmp_path, "raise")
    asked = calls.check_jobs(out("ok"))
    assert asked == {1: "building its model calls raised RuntimeError: no grader today"}
    outcome = score_case(calls.spec, calls.case, CaseAnswers((out("ok"),), {(0, 1): asked[1]}))
    verdict = outcome.samples[0].checks[1].verdict
    assert (verdict.passed, verdict.evaluated) == (False, False)
    assert verdict.reason == "votes: building its model calls raised RuntimeError: no grader today"


def test_the_judge_sees_the_answers_in_the_order_asked(tmp_path: Path) -> None:
    calls = calls_of(tmp_path, "fair")
    answers = CaseAnswers((out("ok"),), {(0, 1): (out("yes"), out("no"))})
    verdict = score_case(calls.spec, calls.case, answers).samples[0].checks[1].verdict
    assert verdict.reason == "votes: ['yes', 'no']"
    assert not verdict.passed


def test_answers_never_made_fail_the_check_instead_of_passing(tmp_path: Path) -> None:
    calls = calls_of(tmp_path, "fair")
    verdict = score_case(calls.spec, calls.case, CaseAnswers((out("ok"),))).samples[0]
    assert not verdict.passed
    assert verdict.checks[1].verdict.reason == "votes: its model calls were not made"
