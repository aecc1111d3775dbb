"""The plan: how many model calls the selected cases need, and how many the cache holds,
counted before any is made (the plan line, --collect-only, --promptcheck-max-calls)."""

from __future__ import annotations

from dataclasses import dataclass

from pytest_promptcheck.case_calls import CaseCalls
from pytest_promptcheck.client import ModelClient
from pytest_promptcheck.entry import BaselineEntry
from pytest_promptcheck.records import Completion, ModelRequest
from pytest_promptcheck.turns import plan_turns


def plan_calls(cases: list[CaseCalls], client: ModelClient) -> CallPlan:
    """A check's calls are known once the output they judge exists: for an output in the
    cache they are planned by their keys; for one still to be made, by their count."""
    keys = {client.key(r, s) for calls in cases for r, s in calls.prompt_jobs()}
    by_checks: set[str] = set()
    unknown = later_turns = 0
    for calls in cases:
        if calls.case.turns:
            turn_keys, count = _turn_keys(calls, client)
            keys |= turn_keys
            later_turns += count
        if calls.asking:
            known, count = _check_keys(calls, client)
            by_checks |= known
            unknown += count
    keys |= by_checks
    cached = sum(client.cache.holds(key) for key in keys)
    return CallPlan(len(keys) + unknown + later_turns, cached, len(by_checks) + unknown)


def _turn_keys(calls: CaseCalls, client: ModelClient) -> tuple[set[str], int]:
    """A multi-turn case's later turns: by key while the replies before them are cached."""
    keys: set[str] = set()
    unknown = 0
    for sample in range(calls.spec.samples):
        plan = plan_turns(client, calls.request, calls.case.turns, sample)
        keys |= plan.keys
        unknown += plan.unknown
    return keys, unknown


def _check_keys(calls: CaseCalls, client: ModelClient) -> tuple[set[str], int]:
    """The keys of the calls a case's checks make about its cached outputs, and how many
    calls they make about outputs not made yet."""
    keys: set[str] = set()
    unknown = 0
    per_sample = calls.planned_check_calls() // calls.spec.samples
    for request, sample in calls.prompt_jobs():
        completion = _judged(calls, client, request, sample)
        if completion is None:
            unknown += per_sample
            continue
        for wanted in calls.check_jobs(completion).values():
            if not isinstance(wanted, str):
                keys |= {client.key(r, s) for r, s in wanted}
    return keys, unknown


def _judged(
    calls: CaseCalls, client: ModelClient, request: ModelRequest, sample: int
) -> Completion | None:
    """The cached output the case's checks judge: with turns, the last turn's."""
    if calls.case.turns:
        return plan_turns(client, calls.request, calls.case.turns, sample).last
    return client.cache.get(client.key(request, sample))


@dataclass(frozen=True)
class CaseWork:
    """A collected case as the call phase sees it."""

    calls: CaseCalls
    baseline: BaselineEntry | None

    @property
    def sampled_with_baseline(self) -> bool:
        baseline = self.baseline
        return baseline is not None and (self.calls.spec.samples > 1 or baseline.tally.sampled)


@dataclass(frozen=True)
class CallPlan:
    total: int
    cached: int
    by_checks: int = 0
    """Calls that checks make about the outputs (judges, embeddings, plugins' checks)."""

    @property
    def live(self) -> int:
        return self.total - self.cached

    def describe(self) -> str:
        asked = f" ({self.by_checks} asked by checks)" if self.by_checks else ""
        return (
            f"promptcheck: {self.total} model calls{asked}: {self.live} live, "
            f"{self.cached} from cache"
        )
