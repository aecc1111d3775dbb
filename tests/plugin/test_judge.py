"""The ``judge`` check against the loopback judge (tests/loopback_judge.py): its calls are
planned, cached, counted and made once, its verdict is structured, and a reply that is no
verdict makes the item an error (DESIGN §3)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_promptcheck.checks.judge_prompt import TEMPLATE_VERSION
from tests.loopback import LoopbackServer
from tests.loopback_fixtures import TEST_API_KEY
from tests.loopback_judge import cycling_judge, garbage_judge, keyword_judge

PLAN = "promptcheck: 6 model calls (3 asked by checks): {live} live, {cached} from cache"


@pytest.fixture
def judged(pytester: pytest.Pytester, openai_env: LoopbackServer) -> LoopbackServer:
    pytester.copy_example("judge")
    openai_env.set_model("judge", keyword_judge)
    return openai_env


def _edit(pytester: pytest.Pytester, old: str, new: str) -> None:
    path: Path = pytester.path / "answer.prompt.yaml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_the_judge_passes_and_fails_by_the_rubric(
    pytester: pytest.Pytester, judged: LoopbackServer
) -> None:
    result = pytester.runpytest()
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [PLAN.format(live=6, cached=0), "*FAIL  judge openai:judge: fail: the output does not*"]
    )
    assert len(judged.requests_for("judge")) == 3


def test_a_judge_request_carries_the_verdict_schema_rubric_and_version(
    pytester: pytest.Pytester, judged: LoopbackServer
) -> None:
    pytester.runpytest("-k", "delivery").assert_outcomes(failed=1)
    (request,) = judged.requests_for("judge")
    assert request.body["response_format"] == {
        "type": "json_schema",
        "json_schema": {
            "name": "verdict",
            "strict": True,
            "schema": {
                "type": "object",
                "properties": {"reasoning": {"type": "string"}, "pass": {"type": "boolean"}},
                "required": ["reasoning", "pass"],
                "additionalProperties": False,
            },
        },
    }
    system, user = request.messages
    assert TEMPLATE_VERSION in system["content"]
    assert "The answer must mention 'refund'." in system["content"]
    assert "echo: Tell me about delivery" in user["content"]
    assert TEST_API_KEY not in json.dumps(request.body)


def test_a_rerun_makes_no_call(pytester: pytest.Pytester, judged: LoopbackServer) -> None:
    pytester.runpytest()
    judged.reset()
    result = pytester.runpytest()
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines([PLAN.format(live=0, cached=6)])
    assert judged.completion_requests == []


def test_max_calls_counts_the_judge_calls(
    pytester: pytest.Pytester, judged: LoopbackServer
) -> None:
    refused = pytester.runpytest("--promptcheck-max-calls=5")
    assert refused.ret == pytest.ExitCode.USAGE_ERROR
    refused.stdout.fnmatch_lines(["*needs 6 live model calls, more than*=5*"])
    assert judged.completion_requests == []
    pytester.runpytest("--promptcheck-max-calls=6").assert_outcomes(passed=2, failed=1)


def test_under_xdist_each_judge_call_is_made_once(
    pytester: pytest.Pytester, judged: LoopbackServer
) -> None:
    judged.latency_ms = 20
    pytester.runpytest("-n", "2").assert_outcomes(passed=2, failed=1)
    assert len(judged.requests_for("writer")) == 3
    assert len(judged.requests_for("judge")) == 3


def test_judge_calls_are_concurrent(pytester: pytest.Pytester, judged: LoopbackServer) -> None:
    judged.set_model("judge", keyword_judge, latency_ms=1000)
    pytester.runpytest().assert_outcomes(passed=2, failed=1)
    started = sorted(r.started for r in judged.requests_for("judge"))
    assert started[-1] - started[0] < 1.0  # every judge call was sent before the first answered


def test_a_reply_that_is_no_verdict_makes_the_item_an_error(
    pytester: pytest.Pytester, judged: LoopbackServer
) -> None:
    judged.set_model("judge", garbage_judge)
    result = pytester.runpytest()
    result.assert_outcomes(errors=3)
    result.stdout.fnmatch_lines(
        [
            "*refund errored: judge openai:judge answered no verdict: its reply is not JSON "
            '(reply: "I think this output is fine.")*'
        ]
    )


@pytest.mark.parametrize(
    "reply",
    ['{"reasoning": "ok"}', '{"reasoning": "ok", "pass": "true"}', '{"pass": true}', "[true]"],
)
def test_a_verdict_of_the_wrong_shape_is_an_error(
    pytester: pytest.Pytester, judged: LoopbackServer, reply: str
) -> None:
    judged.set_model("judge", lambda request: reply)
    pytester.runpytest("-k", "refund and not refunds").assert_outcomes(errors=1)


def test_votes_are_samples_and_their_disagreement_is_reported(
    pytester: pytest.Pytester, judged: LoopbackServer
) -> None:
    _edit(pytester, "model: openai:judge}", "model: openai:judge, votes: 3, min: 0.7}")
    judged.set_model("judge", cycling_judge([True, False, True]))
    result = pytester.runpytest("-k", "delivery")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*judge openai:judge: votes 2/3 pass, mean 0.67 < min 0.7",
            "*vote 1: *: this time I say *",
            "*vote 2: *: this time I say *",
            "*vote 3: *: this time I say *",
        ]
    )
    requests = judged.requests_for("judge")
    assert len(requests) == 3
    assert len({json.dumps(r.body, sort_keys=True) for r in requests}) == 1  # one request...
    pytester.runpytest("-k", "delivery").stdout.fnmatch_lines(
        ["promptcheck: 4 model calls (3 asked by checks): 0 live, 4 from cache"]
    )  # ...cached per vote: the vote index is in the key


def test_a_scale_normalises_the_score(pytester: pytest.Pytester, judged: LoopbackServer) -> None:
    _edit(pytester, "model: openai:judge}", "model: openai:judge, scale: 1-5}")
    result = pytester.runpytest()
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*FAIL  judge openai:judge: scores 1 of 1-5: *"])
    schema = judged.requests_for("judge")[0].body["response_format"]["json_schema"]["schema"]
    assert schema["properties"]["score"] == {"type": "integer", "minimum": 1, "maximum": 5}


def test_include_shows_the_input_and_a_reference(
    pytester: pytest.Pytester, judged: LoopbackServer
) -> None:
    _edit(
        pytester,
        "model: openai:judge}",
        "model: openai:judge, include: [input, reference], reference: 'about {{ topic }}'}",
    )
    pytester.runpytest("-k", "delivery").assert_outcomes(failed=1)
    user = judged.requests_for("judge")[0].user_text
    assert "<<<INPUT " in user and "Tell me about delivery" in user
    assert "<<<REFERENCE " in user and "about delivery" in user


def test_without_a_judge_model_collection_says_how_to_set_one(
    pytester: pytest.Pytester, judged: LoopbackServer
) -> None:
    _edit(pytester, ", model: openai:judge}", "}")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(
        [
            "*answer.prompt.yaml:7*check 'judge': no judge model is set*",
            "*'model: openai:MODEL' in the check*--promptcheck-judge-model*"
            "promptcheck_judge_model*",
        ]
    )
    assert judged.completion_requests == []


def test_the_judge_model_comes_from_the_option_or_the_ini(
    pytester: pytest.Pytester, judged: LoopbackServer
) -> None:
    _edit(pytester, ", model: openai:judge}", "}")
    by_option = pytester.runpytest("--promptcheck-judge-model=openai:judge")
    by_option.assert_outcomes(passed=2, failed=1)
    pytester.makeini("[pytest]\npromptcheck_judge_model = openai:judge\n")
    pytester.runpytest().assert_outcomes(passed=2, failed=1)
    assert len(judged.requests_for("judge")) == 3  # the second run is cached


def test_the_judge_model_is_checked_at_collection(
    pytester: pytest.Pytester, judged: LoopbackServer
) -> None:
    _edit(pytester, "model: openai:judge}", "model: nope:judge}")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*unknown provider 'nope'*"])
    assert judged.completion_requests == []


def test_the_baseline_keeps_verdicts_reasons_and_the_judge(
    pytester: pytest.Pytester, judged: LoopbackServer
) -> None:
    pytester.runpytest("--promptcheck-update-baseline")
    entry = json.loads((pytester.path / "__promptcheck__" / "answer.json").read_text())
    refund = entry["cases"]["refund"]
    (check,) = refund["samples"][0]["checks"]
    assert check["passed"] is True
    assert check["reason"] == "judge openai:judge: pass: the output mentions the word"
    assert refund["judges"] == [
        {
            "model": "openai:judge",
            "rubric": "The answer must mention 'refund'.",
            "template": TEMPLATE_VERSION,
        }
    ]


def test_a_new_judge_model_is_the_drift_cause_judge_changed(
    pytester: pytest.Pytester, judged: LoopbackServer
) -> None:
    _edit(pytester, ", model: openai:judge}", "}")
    pytester.runpytest("--promptcheck-judge-model=openai:judge", "--promptcheck-update-baseline")
    judged.set_model("judge2", lambda request: '{"reasoning": "no", "pass": false}')
    result = pytester.runpytest("--promptcheck-judge-model=openai:judge2")
    result.assert_outcomes(failed=3)
    result.stdout.fnmatch_lines(["*regressed (judge changed (openai:judge → openai:judge2))*"])
