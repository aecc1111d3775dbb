"""The run's side of judges with labels: which ones the selected cases use (each judged once,
whichever cases share it), their answers, and the --promptcheck-judge-min-kappa gate."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence

from pytest_promptcheck.agreement import Agreement
from pytest_promptcheck.case_calls import CaseCalls
from pytest_promptcheck.checks.api import Job
from pytest_promptcheck.checks.judge_labels import JudgeLabels, LabelledCheck
from pytest_promptcheck.client import ModelClient
from pytest_promptcheck.errors import PromptcheckError
from pytest_promptcheck.records import Completion


class JudgeTrustError(PromptcheckError):
    """A judge agrees with people less than --promptcheck-judge-min-kappa: its items error."""


def judge_labels(cases: Iterable[CaseCalls]) -> list[JudgeLabels]:
    """The labelled judges of these cases, each once."""
    found: dict[str, JudgeLabels] = {}
    for calls in cases:
        for _, check in calls.asking:
            if isinstance(check, LabelledCheck) and check.labels is not None:
                found.setdefault(check.labels.key, check.labels)
    return list(found.values())


def label_jobs(labels: Iterable[JudgeLabels]) -> list[Job]:
    return [job for judge in labels for jobs in judge.jobs for job in jobs]


async def label_answers(labels: JudgeLabels, client: ModelClient) -> list[Sequence[Completion]]:
    """The judge's answers about each labelled output, in label order."""
    return list(
        await asyncio.gather(
            *(asyncio.gather(*(client.sample(r, s) for r, s in jobs)) for jobs in labels.jobs)
        )
    )


def check_kappa(agreement: Agreement, minimum: float | None) -> None:
    """Raise JudgeTrustError when the judge's kappa is below ``minimum`` (or undefined)."""
    if minimum is None:
        return
    kappa = agreement.kappa
    if kappa is not None and kappa + 1e-9 >= minimum:
        return
    shown = "n/a (the labels or the verdicts are all alike)" if kappa is None else f"{kappa:.2f}"
    raise JudgeTrustError(
        f"judge {agreement.judge} agrees with the people's labels in {agreement.labels} at "
        f"kappa {shown}, below --promptcheck-judge-min-kappa={minimum:g}; improve the rubric "
        "or the judge model, or check the labels"
    )
