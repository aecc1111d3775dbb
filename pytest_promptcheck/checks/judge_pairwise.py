"""``judge: {rubric: ..., against: baseline}``: does the new output meet the rubric at least as
well as the case's recorded one? The model-swap question, answered per case.

Each vote asks twice, the new output first as A and then as B, because judges favour a position;
a win or a loss counts only when both orders agree, anything else is a tie. The check fails
only on a loss (a vote scores 1 for a win, 0.5 for a tie, 0 for a loss; their mean against
``min``, 0.5 by default).
"""

from __future__ import annotations

from collections.abc import Sequence

from pytest_promptcheck.checks.api import Job, ModelCheck, SampleContext, Verdict
from pytest_promptcheck.checks.judge_args import JudgeArgs, parts
from pytest_promptcheck.checks.judge_prompt import judge_messages
from pytest_promptcheck.checks.judge_verdict import (
    PAIRWISE,
    JudgeVote,
    parse_verdict,
    verdict_schema,
)
from pytest_promptcheck.records import Completion

_OUTCOME = {(1.0, 0.0): "win", (0.0, 1.0): "loss"}
"""(new as A, new as B) -> outcome: A better in the first order and B in the second is a win."""
_SCORE = {"win": 1.0, "tie": 0.5, "loss": 0.0}


def pairwise_check(args: JudgeArgs) -> ModelCheck:
    schema = verdict_schema(PAIRWISE)

    def requests(ctx: SampleContext) -> list[Job]:
        recorded = _recorded(ctx)
        if recorded is None or recorded == ctx.text:
            return []
        jobs: list[Job] = []
        for first, second in ((ctx.text, recorded), (recorded, ctx.text)):
            shown = [*parts(args, ctx), ("OUTPUT A", first), ("OUTPUT B", second)]
            request = args.request(judge_messages(args.rubric, PAIRWISE, shown), schema)
            jobs += [(request, vote) for vote in range(args.votes)]
        return jobs

    def judge(ctx: SampleContext, answers: Sequence[Completion]) -> Verdict:
        recorded = _recorded(ctx)
        if recorded is None:
            return Verdict(True, 1.0, f"judge {args.model}: no baseline entry yet to compare with")
        if recorded == ctx.text:
            return Verdict(True, 1.0, f"judge {args.model}: the same output as the baseline")
        votes = [parse_verdict(a.text, PAIRWISE, args.model) for a in answers]
        return _verdict(args, votes[: args.votes], votes[args.votes :])

    return ModelCheck(2 * args.votes, requests, judge, models=(args.model,), identity=args.identity)


def _recorded(ctx: SampleContext) -> str | None:
    """The baseline output compared with: the first sample's (a check does not know which
    sample it judges)."""
    return ctx.recorded[0] if ctx.recorded else None


def _verdict(
    args: JudgeArgs, new_first: Sequence[JudgeVote], new_second: Sequence[JudgeVote]
) -> Verdict:
    outcomes = [
        _OUTCOME.get((a.score, b.score), "tie") for a, b in zip(new_first, new_second, strict=True)
    ]
    mean = sum(_SCORE[o] for o in outcomes) / len(outcomes)
    passed = mean + 1e-9 >= args.min
    counts = ", ".join(f"{outcomes.count(o)} {o}" for o in ("win", "tie", "loss") if o in outcomes)
    lines = [
        f"\n      vote {i}: {o} (new as A: {a.raw}, new as B: {b.raw}): {a.reasoning[:150]}"
        for i, (o, a, b) in enumerate(zip(outcomes, new_first, new_second, strict=True), 1)
    ]
    head = f"judge {args.model} against the baseline: {counts}"
    if len(outcomes) > 1:
        head += f", mean {mean:.2f} {'>=' if passed else '<'} min {args.min:g}"
    return Verdict(passed, mean, head + "".join(lines))
