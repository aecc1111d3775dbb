"""How well the embedded local model judges: examples/judge's labelled outputs, judged by
local:gemma-3-270m through the judge check's own requests (the verdict grammar), against the
people's labels.

Run: python benchmarks/judge_local.py [--votes N]   (needs the [local] extra)

It prints each label's verdict and how many are right; a reply cut short by the judge's token
limit is no verdict (the check makes that item an error). The embedded
model is a 270M base model: it follows the verdict schema (the grammar sees to that) but its
verdicts carry little of the rubric, which is why the examples use a real judge model.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

import yaml

from pytest_promptcheck.checks.judge import judge_check
from pytest_promptcheck.checks.judge_labels import LabelledCheck
from pytest_promptcheck.checks.judge_verdict import JudgeVerdictError, parse_verdict
from pytest_promptcheck.project import Project
from pytest_promptcheck.providers.local import LocalProvider

EXAMPLE = Path(__file__).parents[1] / "examples" / "judge"
MODEL = "local:gemma-3-270m"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--votes", type=int, default=1)
    votes = parser.parse_args().votes
    spec = yaml.safe_load((EXAMPLE / "support.prompt.yaml").read_text())
    arg = dict(spec["cases"][0]["expect"][0]["judge"], model=MODEL, votes=votes)
    check = judge_check(Project.at(EXAMPLE.parents[1]), None)(arg, EXAMPLE)
    assert isinstance(check, LabelledCheck) and check.labels is not None
    labels = check.labels
    cache = Path(tempfile.gettempdir()) / "promptcheck-judge-bench"
    provider = LocalProvider(cache)
    started = time.perf_counter()
    answers = [
        [asyncio.run(provider.complete(request, index)) for request, index in jobs]
        for jobs in labels.jobs
    ]
    seconds = time.perf_counter() - started
    asyncio.run(provider.aclose())
    right = wrong = broken = 0
    for label, got in zip(labels.labels, answers, strict=True):
        try:
            passed = sum(parse_verdict(a.text, "pass_fail", MODEL).score for a in got) / votes
        except JudgeVerdictError:
            broken += 1
            print(f"people {_word(label.verdict)}: {label.output[:50]!r} -> no verdict")
            continue
        judged = passed + 1e-9 >= labels.min
        right += judged == bool(label.verdict)
        wrong += judged != bool(label.verdict)
        print(f"people {_word(label.verdict)}: {label.output[:50]!r} -> {_word(judged)}")
    print(f"{right}/{len(labels.labels)} right, {wrong} wrong, {broken} no verdict (cut short)")
    print(f"{len(labels.jobs) * votes} calls in {seconds:.1f} s")
    return 0


def _word(passed: int | bool) -> str:
    return "pass" if passed else "fail"


if __name__ == "__main__":
    sys.exit(main())
