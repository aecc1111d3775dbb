"""Multi-turn cases in whole runs (DESIGN §2): exact verdicts against a model of known behaviour,
one call per turn, turns in order and cases concurrently, cached, replayed, and once under xdist."""

from __future__ import annotations

import json
import re

import pytest

from tests.loopback import LoopbackServer, RecordedRequest

TURNS = 6  # 3 cases x 2 turns
PLAN_FIRST = "promptcheck: 6 model calls: 6 live, 0 from cache"
PLAN_CACHED = "promptcheck: 6 model calls: 0 live, 6 from cache"


def chat_bot(request: RecordedRequest) -> str:
    """Offers a refund, promises a date when pressed, and remembers a name said earlier."""
    text = request.user_text
    if "charged twice" in text:
        return "Sorry about that, I will refund you."
    if "tomorrow" in text:
        return "Yes, you will have it tomorrow."
    if "my name" in text:
        said = [m["content"] for m in request.messages if m.get("role") == "user"]
        names = [found.group(1) for s in said if (found := re.search(r"I'm (\w+)", s))]
        return f"You are {names[0]}." if names else "I do not know."
    return "Within 5 working days."


@pytest.fixture
def chat(pytester: pytest.Pytester, openai_env: LoopbackServer) -> LoopbackServer:
    pytester.copy_example("turns")
    openai_env.set_model("chat-bot", chat_bot)
    return openai_env


def test_each_case_passes_when_every_turn_passes(
    pytester: pytest.Pytester, chat: LoopbackServer
) -> None:
    result = pytester.runpytest()
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines([PLAN_FIRST])
    assert len(chat.completion_requests) == TURNS


def test_the_failure_names_the_first_failing_turn_and_shows_the_conversation(
    pytester: pytest.Pytester, chat: LoopbackServer
) -> None:
    result = pytester.runpytest("-k", "promises_a_date")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "promises_a_date failed: turn 2 of 2 failed 1 of 2 checks",
            '*turn 1  ok    user  "Hi, I\'m Bo. I was charged twice."',
            '*reply   "Sorry about that, I will refund you."',
            '*turn 2  FAIL  user  "Can I have it by tomorrow?"',
            '*reply   "Yes, you will have it tomorrow."',
            "*check   FAIL  not_contains*tomorrow*",
        ]
    )


def test_turn_k_carries_the_whole_history(pytester: pytest.Pytester, chat: LoopbackServer) -> None:
    pytester.runpytest("-k", "remembers_the_name").assert_outcomes(passed=1)
    first, second = chat.completion_requests
    assert [m["role"] for m in first.messages] == ["system", "user"]
    assert second.messages == [
        {"role": "system", "content": "You are a support agent for Acme."},
        {"role": "user", "content": "I'm Cy."},
        {"role": "assistant", "content": "Within 5 working days."},
        {"role": "user", "content": "What is my name?"},
    ]


def test_turns_run_in_order_and_cases_concurrently(
    pytester: pytest.Pytester, chat: LoopbackServer
) -> None:
    chat.latency_ms = 100
    pytester.runpytest().assert_outcomes(passed=2, failed=1)
    assert chat.max_in_flight == 3  # the three cases' turn 1 together; a turn 2 waits for its 1
    by_case: dict[str, list[int]] = {}
    for request in sorted(chat.completion_requests, key=lambda r: r.started):
        by_case.setdefault(request.messages[1]["content"], []).append(len(request.messages))
    assert sorted(by_case.values()) == [[2, 4]] * 3


def test_a_rerun_makes_no_call(pytester: pytest.Pytester, chat: LoopbackServer) -> None:
    pytester.runpytest()
    chat.reset()
    result = pytester.runpytest()
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines([PLAN_CACHED])
    assert chat.completion_requests == []


def test_replay_after_a_run_sends_no_request(
    pytester: pytest.Pytester, chat: LoopbackServer
) -> None:
    pytester.runpytest()
    chat.reset()
    result = pytester.runpytest("--promptcheck-cache=replay")
    result.assert_outcomes(passed=2, failed=1)
    assert chat.requests == []


def test_a_changed_first_turn_remakes_the_turns_after_it(
    pytester: pytest.Pytester, chat: LoopbackServer
) -> None:
    pytester.runpytest()
    chat.reset()
    prompt = pytester.path / "chat.prompt.yaml"
    prompt.write_text(prompt.read_text().replace("I'm {{ name }}.\"", 'I am {{ name }}."'))
    result = pytester.runpytest("-k", "remembers_the_name")
    result.assert_outcomes(failed=1)  # "I am Cy." no longer matches the bot's memory
    result.stdout.fnmatch_lines(["promptcheck: 2 model calls: 2 live, 0 from cache"])
    assert len(chat.completion_requests) == 2


@pytest.mark.parametrize("workers", ["2"])
def test_under_xdist_each_turn_is_called_once(
    pytester: pytest.Pytester, chat: LoopbackServer, workers: str
) -> None:
    chat.latency_ms = 20
    result = pytester.runpytest("-n", workers)
    result.assert_outcomes(passed=2, failed=1)
    bodies = [json.dumps(r.body, sort_keys=True) for r in chat.completion_requests]
    assert len(bodies) == len(set(bodies)) == TURNS


def test_the_baseline_records_every_reply(pytester: pytest.Pytester, chat: LoopbackServer) -> None:
    pytester.runpytest("--promptcheck-update-baseline")
    baseline = json.loads((pytester.path / "__promptcheck__" / "support_chat.json").read_text())
    sample = baseline["cases"]["remembers_the_name"]["samples"][0]
    assert sample["turns"] == ["Within 5 working days.", "You are Cy."]
    assert sample["output"] == "You are Cy."
    chat.reset()
    rerun = pytester.runpytest("--promptcheck-drift=fail")
    rerun.assert_outcomes(passed=2, failed=1)
    assert chat.completion_requests == []


def test_the_summary_counts_every_turn_as_a_call(
    pytester: pytest.Pytester, chat: LoopbackServer
) -> None:
    result = pytester.runpytest("-k", "remembers_the_name")
    result.stdout.fnmatch_lines(["support_chat  openai:chat-bot  1 *0 *0 *2 *0 *"])
