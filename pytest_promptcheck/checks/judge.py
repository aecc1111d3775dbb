"""The ``judge`` check (DESIGN §3): a model judges the output against a rubric.

Its argument is checked at collection time (judge_args.py); its calls are a ``ModelCheck``'s,
so they are planned, cached, counted and made in the call phase like the prompt's own. The
messages are built by judge_prompt, the verdicts parsed by judge_verdict; a pairwise judge
(``against: baseline``) lives in judge_pairwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pytest_promptcheck.canonical import canonical_json
from pytest_promptcheck.checks.api import CheckFactory, Job, ModelCheck, SampleContext, Verdict
from pytest_promptcheck.checks.judge_args import JudgeArgs, judge_args, parts
from pytest_promptcheck.checks.judge_prompt import judge_messages
from pytest_promptcheck.checks.judge_verdict import JudgeVote, parse_verdict
from pytest_promptcheck.project import Project
from pytest_promptcheck.quoting import clip
from pytest_promptcheck.records import Completion


def judge_check(project: Project, default_model: str | None) -> CheckFactory:
    """The factory of ``judge``; ``default_model`` is --promptcheck-judge-model or the ini's."""

    # a judge written in every case (with labels to read) is compiled once per distinct one
    compiled: dict[tuple[str, Path], ModelCheck] = {}

    def factory(arg: Any, base_dir: Path) -> ModelCheck:
        memo = (canonical_json(arg), base_dir)
        if memo not in compiled:
            compiled[memo] = _compile(arg, base_dir)
        return compiled[memo]

    def _compile(arg: Any, base_dir: Path) -> ModelCheck:
        args = judge_args(arg, default_model, base_dir, project)
        if args.against is not None:
            from pytest_promptcheck.checks.judge_pairwise import pairwise_check

            return pairwise_check(args)
        check = absolute_check(args)
        if args.labels is None:
            return check
        from pytest_promptcheck.checks.judge_labels import labelled

        return labelled(check, args.labels, project.root, scale=args.scale, min=args.min)

    return factory


def absolute_check(args: JudgeArgs) -> ModelCheck:
    from pytest_promptcheck.checks.judge_verdict import verdict_schema

    schema = verdict_schema(args.scale)

    def requests(ctx: SampleContext) -> list[Job]:
        request = args.request(judge_messages(args.rubric, args.scale, parts(args, ctx)), schema)
        return [(request, vote) for vote in range(args.votes)]

    def judge(ctx: SampleContext, answers: Sequence[Completion]) -> Verdict:
        votes = [parse_verdict(a.text, args.scale, args.model) for a in answers]
        return vote_verdict(args, votes)

    return ModelCheck(args.votes, requests, judge, models=(args.model,), identity=args.identity)


def vote_verdict(args: JudgeArgs, votes: Sequence[JudgeVote]) -> Verdict:
    """The mean of the votes' normalised scores against ``min``; the reason names every vote."""
    mean = sum(v.score for v in votes) / len(votes)
    passed = mean + 1e-9 >= args.min
    head = f"judge {args.model}: {_decisions(args, votes)}"
    if len(votes) == 1:
        return Verdict(passed, mean, f"{head}: {clip(votes[0].reasoning, 300)}")
    head += f", mean {mean:.2f} {'>=' if passed else '<'} min {args.min:g}"
    lines = [
        f"\n      vote {i}: {_decision(args, v)}: {clip(v.reasoning, 200)}"
        for i, v in enumerate(votes, 1)
    ]
    return Verdict(passed, mean, head + "".join(lines))


def _decisions(args: JudgeArgs, votes: Sequence[JudgeVote]) -> str:
    if args.scale == "pass_fail":
        agreed = sum(v.raw is True for v in votes)
        return _decision(args, votes[0]) if len(votes) == 1 else f"votes {agreed}/{len(votes)} pass"
    return "scores " + ", ".join(str(v.raw) for v in votes) + f" of {args.scale}"


def _decision(args: JudgeArgs, vote: JudgeVote) -> str:
    if args.scale == "pass_fail":
        return "pass" if vote.raw is True else "fail"
    return f"score {vote.raw}"
