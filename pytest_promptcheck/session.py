"""Run-wide state: settings, check registry, providers, cache, client and the event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

from pytest_promptcheck.baseline import Baseline, baseline_path, load_baseline
from pytest_promptcheck.cache import CacheHealth, ResponseCache
from pytest_promptcheck.case_calls import CaseCalls
from pytest_promptcheck.checks.builtins import builtin_registry
from pytest_promptcheck.checks.registry import CheckRegistry
from pytest_promptcheck.client import ModelClient
from pytest_promptcheck.drift import Counts, Significance, adjust
from pytest_promptcheck.entry import BaselineEntry
from pytest_promptcheck.errors import PromptcheckError, SpecError
from pytest_promptcheck.judge_runs import check_kappa, judge_labels, label_answers, label_jobs
from pytest_promptcheck.planning import CallPlan, CaseWork, plan_calls
from pytest_promptcheck.policy import CallPolicy, DriftMode
from pytest_promptcheck.progress import Progress
from pytest_promptcheck.project import Project
from pytest_promptcheck.providers import ProviderSet
from pytest_promptcheck.scoring import CaseAnswers, CaseOutcome, score_case
from pytest_promptcheck.settings import DEFAULT_MODEL, Settings
from pytest_promptcheck.shared import SharedCalls
from pytest_promptcheck.spec import PromptSpec

if TYPE_CHECKING:
    from pytest_promptcheck.agreement import Agreement
    from pytest_promptcheck.flows import FlowRun, FlowRuntime
    from pytest_promptcheck.spec import Case

T = TypeVar("T")


class PromptcheckSession:
    """One per pytest run (and per xdist worker); kept in ``config.stash``."""

    def __init__(self, config: pytest.Config, settings: Settings) -> None:
        self.settings = settings
        project = Project.at(config.rootpath, settings.python_modules)
        self.registry: CheckRegistry = builtin_registry(project, judge_model=settings.judge_model)
        config.hook.pytest_promptcheck_add_checks(registry=self.registry)
        self.providers = ProviderSet(
            settings.providers,
            settings.cache_dir,
            settings.policy.timeout_s,
            types=settings.provider_types,
        )
        worker = getattr(config, "workerinput", None)  # set by pytest-xdist in its workers
        self.in_worker = worker is not None
        self.cache_health = CacheHealth()
        self.client = ModelClient(
            self.providers,
            ResponseCache(settings.cache_dir, settings.cache_mode, self.cache_health),
            _per_worker(settings.policy, worker),
            _shared_calls(settings, worker, self.cache_health),
        )
        self.interrupted: str | None = None
        """What a Ctrl-C in the call phase left undone, for the summary."""
        self.last_plan: CallPlan | None = None
        self.significance: dict[str, Significance] = {}
        """Adjusted p-values of the run's sampled cases, by node id."""
        self._cases: dict[str, CaseWork] = {}
        """The collected cases by node id: what the call phase plans and makes."""
        self._outcomes: dict[str, CaseOutcome] = {}
        """Cases scored before their items ran (sampled cases judged across the run)."""
        self._baselines: dict[Path, Baseline] = {}
        self._baseline_owners: dict[Path, Path] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._prefetch: asyncio.Task[None] | None = None
        self._flows: FlowRuntime | None = None
        self._agreements: dict[str, Agreement] = {}
        """Each labelled judge's agreement with people, by JudgeLabels.key."""

    def flow_run(self, spec: PromptSpec, case: Case, model: str) -> FlowRun:
        """A flow case's runs; the runtime every flow shares is made for the first one."""
        # imported here: a run without flows does not load them (nor the SDK capture)
        from pytest_promptcheck.flows import FlowRun, FlowRuntime

        if self._flows is None:
            self._flows = FlowRuntime(self.client, self.settings, self.registry, self.check_model)
        return FlowRun(self._flows, spec, case, model)

    def baseline(self, spec: PromptSpec) -> Baseline:
        """A prompt's baseline, read once (empty with --promptcheck-drift=off, unless an update
        needs to know its unused entries)."""
        path = baseline_path(spec)
        owner = self._baseline_owners.setdefault(path, spec.path)
        if owner != spec.path:
            raise SpecError(
                spec.path,
                f"prompt name '{spec.name}' is also the name of {owner.name}, and both would "
                f"share the baseline {path.parent.name}/{path.name}",
                hint="give one of them another 'name:'",
            )
        if self.settings.drift.mode is DriftMode.OFF and not self.settings.update_baseline:
            return Baseline(path)
        if path not in self._baselines:
            self._baselines[path] = load_baseline(path)
        return self._baselines[path]

    def models_for(self, spec: PromptSpec) -> tuple[str, ...]:
        """CLI/ini models win over the file's ``model:``, which wins over the built-in default."""
        if self.settings.models:
            return self.settings.models
        return (spec.model or DEFAULT_MODEL,)

    def check_model(self, model: str) -> None:
        self.providers.check_model(model)

    def add_case(self, nodeid: str, calls: CaseCalls, baseline: BaselineEntry | None) -> None:
        self._cases[nodeid] = CaseWork(calls, baseline)

    def agreements(self, calls: CaseCalls) -> tuple[Agreement, ...]:
        """How the case's judges with labels agree with the people who labelled (their calls
        made now if the call phase has not made them); raises JudgeVerdictError, or
        JudgeTrustError for a judge below --promptcheck-judge-min-kappa."""
        if not calls.asking:  # no judge at all: most cases of a large run
            return ()
        found = []
        for labels in judge_labels([calls]):
            agreement = self._agreements.get(labels.key)
            if agreement is None:
                agreement = labels.agreement(self.run(label_answers(labels, self.client)))
                self._agreements[labels.key] = agreement
            check_kappa(agreement, self.settings.judge_min_kappa)
            found.append(agreement)
        return tuple(found)  # kept by the item: none is the one empty tuple

    def answers(self, calls: CaseCalls) -> CaseAnswers:
        """Every answer a case is scored from; made now if the call phase has not made it."""
        return calls.finished(self.client) or self.run(calls.answers(self.client))

    def outcome(self, nodeid: str, answers: CaseAnswers | None = None) -> CaseOutcome:
        """The case's outcome, from its answers (made now if not given); scored once."""
        outcome = self._outcomes.pop(nodeid, None)
        if outcome is None:
            calls = self._cases[nodeid].calls
            answers = answers or self.answers(calls)
            outcome = score_case(calls.spec, calls.case, answers, calls.recorded)
        return outcome

    def plan(self, nodeids: list[str]) -> CallPlan:
        """How many distinct calls the selected cases need, and how many the cache holds."""
        works = self._works(nodeids)
        cases = [work.calls for work in works]
        labelled = label_jobs(judge_labels(cases))
        self.last_plan = plan_calls(cases, self.client, labelled)
        if self._flows is not None:
            self._flows.outside_live = self.last_plan.live - self.last_plan.flows_live
        return self.last_plan

    def prefetch(
        self, nodeids: list[str], writers: ProgressWriters | None, overlap: bool = True
    ) -> None:
        """Make every call the run needs, concurrently, before and while the items score them.

        With ``overlap``, this returns once nothing is left to send and the items start while
        the last calls are in flight (each item waits for its own); else once every call ended.
        """
        works = self._works(nodeids)
        if not works:
            return
        progress = None
        if writers is not None and (self.last_plan is None or self.last_plan.live > 0):
            progress = Progress(self.client.stats, writers.write_line, writers.rewrite)
            self.client.on_progress = progress.update
        dispatched = asyncio.Event() if overlap else None
        task = self._ensure_loop().create_task(self._call_phase(works, dispatched))
        self._prefetch = task
        if dispatched is None:
            self.run(task)
        else:
            self.run(_first_of(task, dispatched))
        if progress is not None:
            progress.close()
            self.client.on_progress = _nothing

    async def _call_phase(self, works: list[CaseWork], dispatched: asyncio.Event | None) -> None:
        client = self.client
        plain = [job for w in works if not w.calls.chained for job in w.calls.prompt_jobs()]
        plain += label_jobs(judge_labels(w.calls for w in works))
        # Under xdist a flow runs in the setup of its item, on the one worker that runs it:
        # every worker's call phase sees every item, and a flow's own code (its SDK calls, its
        # tools) must run once, not once per worker.
        chained = [w for w in works if w.calls.chained]
        if self.in_worker:
            chained = [w for w in chained if w.calls.flow is None]
        asking = [w.calls.answers(client) for w in chained]
        await client.prefetch([*client.jobs(plain), *asking], dispatched)

    def needs_every_result(self, nodeids: list[str]) -> bool:
        """Whether items must wait for the whole call phase: sampled cases with a baseline are
        judged together (their p-values are adjusted across the run)."""
        if self.settings.drift.mode is DriftMode.OFF:
            return False
        return any(work.sampled_with_baseline for work in self._works(nodeids))

    def assess_significance(self, nodeids: list[str]) -> None:
        """Score the sampled cases that have a baseline, and adjust their p-values across the run.

        Runs after the call phase and before any item, so every item (on every xdist worker,
        which all see the same results) is judged against the same adjustment.
        """
        if self.settings.drift.mode is DriftMode.OFF:
            return
        counts: dict[str, Counts] = {}
        for nodeid in nodeids:
            work = self._cases.get(nodeid)
            if work is None or work.baseline is None or not work.sampled_with_baseline:
                continue  # single-sample cases need no adjustment: they are judged on their own
            try:
                self._outcomes[nodeid] = outcome = self.outcome(nodeid)
            except PromptcheckError:
                continue  # the item errors in its setup, with the message
            run = (outcome.passed_count, len(outcome.samples))
            counts[nodeid] = (work.baseline.passed, work.baseline.n, *run)
        self.significance = adjust(counts, self.settings.drift.alpha)

    def _works(self, nodeids: list[str]) -> list[CaseWork]:
        return [self._cases[n] for n in nodeids if n in self._cases]

    def settle(self, *, stop: bool) -> None:
        """After the items: let the call phase end (under xdist another worker's items may
        wait for calls this one claimed), or, when the run stopped early, cancel it."""
        task, self._prefetch = self._prefetch, None
        if task is not None and not task.done():
            if stop:
                self._cancel_all()
            else:
                self.run(task)
        self.client.flush()  # now, so a cache that fails on the last writes is in the summary

    def run(self, awaitable: Awaitable[T]) -> T:
        try:
            return self._ensure_loop().run_until_complete(awaitable)
        except KeyboardInterrupt:
            self._interrupt()
            raise

    def _interrupt(self) -> None:
        """Ctrl-C: nothing new may be sent, so every task is cancelled and awaited now, while
        the loop can still run their clean-up (else asyncio complains at exit, at length)."""
        stats = self.client.stats
        in_flight, done = self.client.in_flight(), stats.done  # cancelled calls count as ended
        self._cancel_all()
        if self.interrupted is None and stats.total:
            self.interrupted = (
                f"promptcheck: interrupted: {done} of {stats.total} calls done, "
                f"{in_flight} cancelled in flight"
            )

    def _cancel_all(self) -> None:
        loop = self._loop
        if loop is None:
            return
        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))

    def notes(self) -> list[str]:
        """Lines for the summary: the cache failed, the call phase was interrupted."""
        return [n for n in (self.cache_health.note(), self.interrupted) if n is not None]

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
        return self._loop

    def close(self) -> None:
        if self._flows is not None:
            self._flows.close()
        if self._loop is not None:
            self._cancel_all()
            self._loop.run_until_complete(self.providers.aclose())
            self._loop.run_until_complete(self._loop.shutdown_asyncgens())
            self._loop.close()
            self._loop = None
        self.client.flush()  # answers of finished calls not written yet (Ctrl-C included)
        self.client.cache.close()
        if self.client.shared is not None:
            self.client.shared.close()


def _nothing() -> None:
    pass


async def _first_of(task: asyncio.Task[None], event: asyncio.Event) -> None:
    waiter = asyncio.ensure_future(event.wait())
    await asyncio.wait([task, waiter], return_when=asyncio.FIRST_COMPLETED)
    waiter.cancel()


@dataclass(frozen=True)
class ProgressWriters:
    write_line: Callable[[str], None]
    rewrite: Callable[[str], None] | None


def _per_worker(policy: CallPolicy, worker: dict[str, Any] | None) -> CallPolicy:
    """Under xdist the workers share the provider: each gets its part of the concurrency."""
    if not worker:
        return policy
    share = max(1, policy.concurrency // int(worker.get("workercount", 1)))
    return replace(policy, concurrency=share)


def _shared_calls(
    settings: Settings, worker: dict[str, Any] | None, health: CacheHealth
) -> SharedCalls | None:
    """Claims through the cache directory: always when this run writes the cache (another
    run on it may be making the same calls), and under xdist, whose workers share the run."""
    if not worker and not settings.cache_mode.writes:
        return None
    policy = settings.policy
    ttl_s = policy.call_deadline_s + policy.timeout_s + 60  # a live holder's call ends by then
    run = str(worker.get("testrunuid", "run")) if worker else None
    return SharedCalls(settings.cache_dir, run, ttl_s, health)
