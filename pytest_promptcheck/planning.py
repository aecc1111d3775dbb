"""The plan: how many model calls the selected cases need, and how many the cache holds,
counted before any is made (the plan line, --collect-only, --promptcheck-max-calls)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pytest_promptcheck.case_calls import CaseCalls
from pytest_promptcheck.checks.api import Job
from pytest_promptcheck.client import ModelClient
from pytest_promptcheck.entry import BaselineEntry
from pytest_promptcheck.records import Completion, ModelRequest
from pytest_promptcheck.turns import plan_turns


def plan_calls(
    cases: list[CaseCalls], client: ModelClient, checks_known: Sequence[Job] = ()
) -> CallPlan:
    """A check's calls are known once the output they judge exists: for an output in the
    cache they are planned by their keys; for one still to be made, by their count.
    ``checks_known``: checks' calls known at collection (a judge's labelled outputs)."""
    keys = {client.key(r, s) for calls in cases for r, s in calls.prompt_jobs()}
    by_checks: set[str] = {client.key(r, s) for r, s in checks_known}
    unknown = later_turns = 0
    for calls in cases:
        if calls.case.turns:
            turn_keys, count = _turn_keys(calls, client)
            keys |= turn_keys
            later_turns += count
        if calls.asking and calls.flow is not None:  # its outputs are not cached prompt calls
            unknown += calls.planned_check_calls()
        elif calls.asking:
            known, count = _check_keys(calls, client)
            by_checks |= known
            unknown += count
    keys |= by_checks
    inner, unrecorded = _flow_keys(cases, client)
    inner -= keys
    cached = sum(client.cache.holds(key) for key in keys)
    inner_cached = sum(client.cache.holds(key) for key in inner)
    return CallPlan(
        len(keys) + len(inner) + unknown + later_turns,
        cached + inner_cached,
        len(by_checks) + unknown,
        in_flows=len(inner),
        flows_live=len(inner) - inner_cached,
        flows_unrecorded=unrecorded,
    )


def _flow_keys(cases: list[CaseCalls], client: ModelClient) -> tuple[set[str], int]:
    """A flow's calls are known only once it runs: the keys its cases' samples recorded last
    time, and how many flow cases have no record yet."""
    keys: set[str] = set()
    unrecorded = 0
    for calls in cases:
        if calls.flow is None:
            continue
        records = [calls.flow.recorded(sample) for sample in range(calls.spec.samples)]
        if any(record is None for record in records):
            unrecorded += 1
        keys |= {str(r.get("key")) for record in records for r in record or ()}
    return keys, unrecorded


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


@dataclass(frozen=True, slots=True)
class CaseWork:
    """A collected case as the call phase sees it (one per item, kept until the run ends)."""

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
    in_flows: int = 0
    """Calls inside flows, as their cases recorded them last time."""
    flows_live: int = 0
    """Of those, the calls the cache does not hold."""
    flows_unrecorded: int = 0
    """Flow cases with no record: their calls are not counted."""

    @property
    def live(self) -> int:
        return self.total - self.cached

    def describe(self) -> str:
        parts = [f"{self.by_checks} asked by checks"] if self.by_checks else []
        if self.in_flows:
            parts.append(f"{self.in_flows} inside flows, as recorded")
        if self.flows_unrecorded:
            cases = "case" if self.flows_unrecorded == 1 else "cases"
            parts.append(f"{self.flows_unrecorded} flow {cases} not recorded yet")
        asked = f" ({'; '.join(parts)})" if parts else ""
        return (
            f"promptcheck: {self.total} model calls{asked}: {self.live} live, "
            f"{self.cached} from cache"
        )
