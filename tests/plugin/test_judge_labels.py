"""A judge with ``labels:`` also judges outputs people labelled; the summary and the reports
give its agreement with them, and --promptcheck-judge-min-kappa turns a judge below it into
errors. The loopback keyword judge agrees with tone.jsonl on 4 of 6 labels: tp 2, fp 1, fn 1,
tn 2, kappa (4/6 - 1/2) / (1 - 1/2) = 1/3."""

from __future__ import annotations

import json

import pytest

from tests.loopback import LoopbackServer
from tests.loopback_judge import keyword_judge

AGREEMENT = (
    "  openai:judge on labels/tone.jsonl (6 labels): kappa 0.33, TPR 0.67, TNR 0.67 "
    "(tp 2, fp 1, fn 1, tn 2)"
)
PLAN = "promptcheck: 10 model calls (8 asked by checks): {live} live, {cached} from cache"


@pytest.fixture
def labelled(pytester: pytest.Pytester, openai_env: LoopbackServer) -> LoopbackServer:
    pytester.copy_example("judge_labels")
    openai_env.set_model("judge", keyword_judge)
    return openai_env


def test_the_summary_gives_the_agreement_and_label_calls_are_made_once(
    pytester: pytest.Pytester, labelled: LoopbackServer
) -> None:
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([PLAN.format(live=10, cached=0)])
    result.stdout.fnmatch_lines(["judges against people's labels:", AGREEMENT])
    assert len(labelled.requests_for("judge")) == 8  # 2 cases + 6 labels, however many cases


def test_a_rerun_makes_no_call(pytester: pytest.Pytester, labelled: LoopbackServer) -> None:
    pytester.runpytest()
    labelled.reset()
    result = pytester.runpytest()
    result.stdout.fnmatch_lines([PLAN.format(live=0, cached=10), AGREEMENT])
    assert labelled.completion_requests == []


def test_max_calls_counts_the_label_calls(
    pytester: pytest.Pytester, labelled: LoopbackServer
) -> None:
    refused = pytester.runpytest("--promptcheck-max-calls=9")
    assert refused.ret == pytest.ExitCode.USAGE_ERROR
    assert labelled.completion_requests == []


def test_under_xdist_the_label_calls_are_made_once(
    pytester: pytest.Pytester, labelled: LoopbackServer
) -> None:
    labelled.latency_ms = 20
    result = pytester.runpytest("-n", "2")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([AGREEMENT])
    assert len(labelled.requests_for("judge")) == 8


def test_a_judge_below_the_minimum_kappa_makes_its_items_errors(
    pytester: pytest.Pytester, labelled: LoopbackServer
) -> None:
    result = pytester.runpytest("--promptcheck-judge-min-kappa=0.5")
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(
        [
            "*refund errored: judge openai:judge agrees with the people's labels in "
            "labels/tone.jsonl at kappa 0.33, below --promptcheck-judge-min-kappa=0.5*"
        ]
    )
    pytester.makeini("[pytest]\npromptcheck_judge_min_kappa = 0.3\n")
    pytester.runpytest().assert_outcomes(passed=1, failed=1)


def test_the_reports_give_the_agreement(
    pytester: pytest.Pytester, labelled: LoopbackServer
) -> None:
    pytester.runpytest("--promptcheck-report=out.json", "--promptcheck-report=out.md")
    (judge,) = json.loads((pytester.path / "out.json").read_text())["judges"]
    assert judge["confusion"] == {"tp": 2, "fp": 1, "fn": 1, "tn": 2}
    assert judge["kappa"] == pytest.approx(1 / 3)
    assert (judge["tpr"], judge["tnr"], judge["weighted"]) == (pytest.approx(2 / 3),) * 2 + (False,)
    markdown = (pytester.path / "out.md").read_text()
    assert "### Judges against people's labels" in markdown
    assert (
        "| openai:judge | labels/tone.jsonl | 6 | 0.33 | 0.67 | 0.67 | 2 | 1 | 1 | 2 | n/a |"
        in (markdown)
    )


def test_votes_report_their_self_agreement(
    pytester: pytest.Pytester, labelled: LoopbackServer
) -> None:
    path = pytester.path / "answer.prompt.yaml"
    path.write_text(
        path.read_text().replace("model: openai:judge", "model: openai:judge\n      votes: 2")
    )
    result = pytester.runpytest()
    result.stdout.fnmatch_lines([AGREEMENT + ", votes agree 1.00 (mean pairwise)"])


def test_a_bad_labels_line_is_one_error_naming_file_and_line(
    pytester: pytest.Pytester, labelled: LoopbackServer
) -> None:
    labels = pytester.path / "labels" / "tone.jsonl"
    labels.write_text(labels.read_text().replace('"pass": false}', '"pass": "no"}', 1))
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(
        ['*answer.prompt.yaml:7*labels: labels/tone.jsonl:5: needs "pass": true or false*']
    )
    assert labelled.completion_requests == []
