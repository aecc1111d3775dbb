"""Every model call one case needs: its prompt's samples, then the calls its checks make about
each sample's output (DESIGN §3: a check that asks a model is planned, cached and made in the
call phase like the prompt's own calls; the item only judges their answers)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from pytest_promptcheck.checks.api import Job, ModelCheck
from pytest_promptcheck.client import ModelClient
from pytest_promptcheck.errors import PromptcheckError
from pytest_promptcheck.records import Completion, ModelRequest
from pytest_promptcheck.scoring import Asked, CaseAnswers, sample_context
from pytest_promptcheck.spec import Case, PromptSpec
from pytest_promptcheck.trace import Trace

if TYPE_CHECKING:
    from pytest_promptcheck.flows import FlowRun
from pytest_promptcheck.turns import finished_turns, run_turns, turn_request

CheckJobs = dict[int, Sequence[Job] | str]
"""By check index: the calls a check asks for about one output, or why it could not ask."""


class CheckCallError(PromptcheckError):
    """A call a check asked for failed: the item errors, as when its own call fails."""


@dataclass(frozen=True, slots=True)
class CaseCalls:
    """One per item, alive until the run ends: slots, and what its calls derive from the case
    made once at construction (a cached property's ``__dict__`` cost 400 bytes per item)."""

    spec: PromptSpec
    case: Case
    request: ModelRequest
    flow: FlowRun | None = field(default=None, compare=False)
    """Set for a flow case: its samples are the flow's runs (their calls are known as they
    happen, so none is a prompt job)."""
    recorded: tuple[str, ...] | None = field(default=None, compare=False)
    """The case's outputs in its baseline entry, which checks may compare with."""
    first_request: ModelRequest = field(init=False, compare=False, repr=False)
    """Each sample's first request (with turns, the first turn's): one object, since the
    client remembers cache keys per request object."""
    asking: tuple[tuple[int, ModelCheck], ...] = field(init=False, compare=False, repr=False)
    """The case's checks that ask models, with their index among its checks."""

    def __post_init__(self) -> None:
        turns = self.case.turns
        first = turn_request(self.request, turns, ()) if turns else self.request
        object.__setattr__(self, "first_request", first)
        checks = enumerate(self.case.checks)
        asking = tuple((i, c.check) for i, c in checks if isinstance(c.check, ModelCheck))
        object.__setattr__(self, "asking", asking)

    def prompt_jobs(self) -> list[Job]:
        """Its calls known before any answer: with turns, each sample's first turn; a flow's
        calls are known only as it runs."""
        if self.flow is not None:
            return []
        return [(self.first_request, index) for index in range(self.spec.samples)]

    @property
    def chained(self) -> bool:
        """Whether some of its calls wait for an answer (its checks' calls, later turns, a
        flow's steps): the call phase then runs ``answers``, not only ``prompt_jobs``."""
        return bool(self.asking or self.case.turns or self.flow is not None)

    def planned_check_calls(self) -> int:
        """How many calls its checks make over every sample, before any output exists."""
        return self.spec.samples * sum(check.calls for _, check in self.asking)

    def check_jobs(self, completion: Completion, trace: Trace | None = None) -> CheckJobs:
        """The calls the asking checks want for one output (their requests are built from it)."""
        ctx, _ = sample_context(self.spec, self.case, completion, trace, self.recorded)
        if self.flow is None:  # what the prompt sent, for a judge that shows its input
            ctx = replace(ctx, request=self.request)
        jobs: CheckJobs = {}
        for index, check in self.asking:
            try:
                wanted = list(check.requests(ctx))
            except Exception as exc:  # a plugin check's bug is its verdict, not a crash
                jobs[index] = f"building its model calls raised {type(exc).__name__}: {exc}"
                continue
            if len(wanted) > check.calls:
                jobs[index] = (
                    f"asked for {len(wanted)} model calls, more than the {check.calls} it declared"
                )
                continue
            jobs[index] = wanted
        return jobs

    async def answers(self, client: ModelClient) -> CaseAnswers:
        """Make (or find) every call, the checks' as soon as the output they judge exists."""
        count = self.spec.samples
        samples = await asyncio.gather(*(self._sample(client, i) for i in range(count)))
        asked = {
            (i, check): got
            for i, (_, _, by_check, _) in enumerate(samples)
            for check, got in by_check.items()
        }
        completions = tuple(completion for completion, _, _, _ in samples)
        traces = tuple(trace for _, trace, _, _ in samples) if self.flow is not None else ()
        turns = tuple(talk for _, _, _, talk in samples) if self.case.turns else ()
        return CaseAnswers(completions, asked, traces=traces, turns=turns)

    async def _sample(
        self, client: ModelClient, index: int
    ) -> tuple[Completion, Trace, dict[int, Asked], tuple[Completion, ...]]:
        """One sample's completion (with turns, its last turn's; for a flow, its output), its
        flow trace, its checks' answers and its conversation (none without turns)."""
        trace: Trace = ()
        talk: tuple[Completion, ...] = ()
        if self.flow is not None:
            completion, trace = await self.flow.sample(client, index)
        else:
            talk = await run_turns(client, self.request, self.case.turns, index)
            completion = talk[-1] if talk else await client.sample(self.request, index)
        if not self.asking:
            return completion, trace, {}, talk
        jobs = self.check_jobs(completion, trace if self.flow is not None else None)
        asked = await asyncio.gather(*(self._ask(client, i, wanted) for i, wanted in jobs.items()))
        return completion, trace, dict(zip(jobs, asked, strict=True)), talk

    async def _ask(self, client: ModelClient, check: int, wanted: Sequence[Job] | str) -> Asked:
        if isinstance(wanted, str):
            return wanted
        try:
            return tuple(await asyncio.gather(*(client.sample(r, s) for r, s in wanted)))
        except PromptcheckError as exc:
            kind = self.case.checks[check].kind
            raise CheckCallError(f"check '{kind}' could not ask its model: {exc}") from None

    def finished(self, client: ModelClient) -> CaseAnswers | None:
        """Every answer, when every call already succeeded (after prefetch), without the loop."""
        if not self.chained:  # the common case: the prompt's own samples alone
            plain = client.finished(self.request, self.spec.samples)
            return None if plain is None else CaseAnswers(tuple(plain))
        traces: tuple[Trace, ...] = ()
        turns = self._finished_turns(client)
        if turns is None:
            return None
        if self.flow is not None:
            flows = self.flow.finished(self.spec.samples)
            completions = None if flows is None else [completion for completion, _ in flows]
            traces = () if flows is None else tuple(trace for _, trace in flows)
        elif turns:
            completions = [conversation[-1] for conversation in turns]
        else:
            completions = client.finished(self.request, self.spec.samples)
        if completions is None:
            return None
        asked: dict[tuple[int, int], Asked] = {}
        if self.asking:
            for index, completion in enumerate(completions):
                trace = traces[index] if traces else None
                for check, wanted in self.check_jobs(completion, trace).items():
                    got = wanted if isinstance(wanted, str) else client.finished_jobs(wanted)
                    if got is None:
                        return None
                    asked[(index, check)] = got
        return CaseAnswers(tuple(completions), asked, traces=traces, turns=turns)

    def _finished_turns(self, client: ModelClient) -> tuple[tuple[Completion, ...], ...] | None:
        """Every sample's conversation when all its calls succeeded; () without turns."""
        turns = self.case.turns
        if not turns:
            return ()
        conversations = [
            finished_turns(client, self.request, turns, i) for i in range(self.spec.samples)
        ]
        if any(c is None for c in conversations):
            return None
        return tuple(c for c in conversations if c is not None)
