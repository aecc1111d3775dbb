"""Multi-turn cases (DESIGN §2): turns load and render at collection, turn k's request is the
whole history, one call per turn keyed on it, and a case passes when every turn passes."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from pytest_promptcheck.baseline import entry_of, request_fingerprint
from pytest_promptcheck.cache import CacheMode, ResponseCache
from pytest_promptcheck.case_calls import CaseCalls
from pytest_promptcheck.checks.api import ModelCheck, Verdict
from pytest_promptcheck.checks.builtins import builtin_registry
from pytest_promptcheck.checks.registry import CheckRegistry
from pytest_promptcheck.client import ModelClient
from pytest_promptcheck.entry import SampleRecord
from pytest_promptcheck.errors import SpecError
from pytest_promptcheck.policy import CallPolicy
from pytest_promptcheck.project import Project
from pytest_promptcheck.providers import ProviderSet
from pytest_promptcheck.records import Completion
from pytest_promptcheck.report import failure_text
from pytest_promptcheck.scoring import CaseAnswers, score_case
from pytest_promptcheck.spec import PromptSpec, load_spec
from pytest_promptcheck.turns import plan_turns, turn_request
from tests.loopback import LoopbackServer, RecordedRequest

MODEL = "openai:chat-bot"
CHAT = """\
model: openai:chat-bot
messages:
  - {role: system, content: "Support for {{ shop }}."}
expect: [{not_contains: sorry}]
cases:
  - id: talk
    vars: {shop: Acme, name: Ana}
    expect: [{contains: Ana}]
    turns:
      - user: "I'm {{ name }}."
        expect: [{contains: hello}]
      - user: "Who am I?"
"""


def registry(tmp_path: Path) -> CheckRegistry:
    """The built-in checks, and one that asks a model (as a judge does)."""
    checks = builtin_registry(Project.at(tmp_path))

    def asks(arg: Any, base_dir: Path) -> ModelCheck:
        return ModelCheck(
            calls=1, requests=lambda ctx: [], judge=lambda ctx, got: Verdict(True, 1.0, "ok")
        )

    checks.register("asks", asks)
    return checks


def load(tmp_path: Path, text: str = CHAT) -> PromptSpec:
    path = tmp_path / "chat.prompt.yaml"
    path.write_text(text)
    return load_spec(path, registry(tmp_path))


def spec_error(tmp_path: Path, text: str) -> str:
    with pytest.raises(SpecError) as info:
        load(tmp_path, text)
    return str(info.value)


def reply(text: str) -> Completion:
    return Completion(text=text, model_reported="chat-bot")


def test_turns_render_the_case_vars_and_keep_their_own_checks(tmp_path: Path) -> None:
    case = load(tmp_path).cases[0]
    assert [turn.user for turn in case.turns] == ["I'm Ana.", "Who am I?"]
    assert [[c.kind for c in turn.checks] for turn in case.turns] == [["contains"], []]
    assert [c.kind for c in case.checks] == ["not_contains", "contains"]  # file's, then case's


def test_turn_k_sends_the_prompt_then_every_earlier_turn_then_its_own(tmp_path: Path) -> None:
    spec = load(tmp_path)
    case = spec.cases[0]
    request = turn_request(spec.request(case, MODEL), case.turns, ["hello Ana"])
    assert request.messages == (
        {"role": "system", "content": "Support for Acme."},
        {"role": "user", "content": "I'm Ana."},
        {"role": "assistant", "content": "hello Ana"},
        {"role": "user", "content": "Who am I?"},
    )


def test_a_case_with_turns_needs_a_chat_prompt(tmp_path: Path) -> None:
    text = "model: openai:m\nprompt: hi\ncases:\n  - id: c\n    turns: [{user: hi}]\n"
    message = spec_error(tmp_path, text)
    assert "chat.prompt.yaml:5: case 'c' has turns, but the prompt is a completion" in message
    assert "messages:" in message


def test_a_missing_variable_names_the_file_the_case_and_the_turn(tmp_path: Path) -> None:
    message = spec_error(tmp_path, CHAT.replace("Who am I?", "{{ nickname }}?"))
    assert "chat.prompt.yaml:12: case 'talk' turn 2: template variable 'nickname'" in message


def test_a_turn_without_user_is_one_clear_error(tmp_path: Path) -> None:
    message = spec_error(tmp_path, CHAT.replace('user: "Who am I?"', "expect: []"))
    assert "'user' is a required property" in message
    assert "turns.1" in message


def test_a_check_that_asks_a_model_is_refused_inside_a_turn(tmp_path: Path) -> None:
    message = spec_error(tmp_path, CHAT.replace("[{contains: hello}]", "[{asks: x}]"))
    assert "chat.prompt.yaml:11: case 'talk' turn 1: 'asks' asks a model" in message
    assert "put it in the case's expect" in message


def test_each_turn_is_judged_by_its_checks_and_the_last_by_the_case(tmp_path: Path) -> None:
    spec = load(tmp_path)
    case = spec.cases[0]
    good = CaseAnswers((reply("Ana"),), turns=((reply("hello Ana"), reply("Ana")),))
    assert score_case(spec, case, good).passed
    first_fails = CaseAnswers((reply("Ana"),), turns=((reply("hi"), reply("Ana")),))
    outcome = score_case(spec, case, first_fails)
    assert not outcome.passed
    assert [t.passed for t in outcome.samples[0].turns] == [False, True]
    last_fails = CaseAnswers((reply("sorry"),), turns=((reply("hello"), reply("sorry")),))
    assert [t.passed for t in score_case(spec, case, last_fails).samples[0].turns] == [True, False]


def test_the_failure_report_names_the_first_failing_turn_and_shows_the_talk(
    tmp_path: Path,
) -> None:
    spec = load(tmp_path)
    case = spec.cases[0]
    answers = CaseAnswers((reply("sorry, who?"),), turns=((reply("hi"), reply("sorry, who?")),))
    text = failure_text(spec, case, MODEL, score_case(spec, case, answers))
    lines = text.splitlines()
    assert lines[0] == "talk failed: turn 1 of 2 failed 1 of 1 checks"
    assert '  turn 1  FAIL  user  "I\'m Ana."' in lines
    assert '    reply   "hi"' in lines
    assert '  turn 2  FAIL  user  "Who am I?"' in lines
    assert '    reply   "sorry, who?"' in lines


def test_a_long_reply_is_clipped_in_the_report(tmp_path: Path) -> None:
    spec = load(tmp_path)
    case = spec.cases[0]
    long = "x" * 5000
    answers = CaseAnswers((reply(long),), turns=((reply("hello Ana"), reply(long)),))
    text = failure_text(spec, case, MODEL, score_case(spec, case, answers))
    assert max(len(line) for line in text.splitlines()) < 200


def test_the_baseline_records_the_replies_only_for_a_case_with_turns(tmp_path: Path) -> None:
    spec = load(tmp_path)
    case = spec.cases[0]
    answers = CaseAnswers((reply("Ana"),), turns=((reply("hello Ana"), reply("Ana")),))
    sample = entry_of(spec, case, MODEL, score_case(spec, case, answers)).samples[0]
    data = sample.to_json()
    assert data["turns"] == ["hello Ana", "Ana"]
    assert SampleRecord.from_json(data, "samples[0]") == sample
    plain = SampleRecord("o", True, 1.0, None, (), 1, 1, None, 1.0)
    assert "turns" not in plain.to_json()


def test_the_request_fingerprint_covers_the_turns(tmp_path: Path) -> None:
    before = request_fingerprint(load(tmp_path), load(tmp_path).cases[0])
    edited = load(tmp_path, CHAT.replace("Who am I?", "Who am I, then?"))
    assert request_fingerprint(edited, edited.cases[0]) != before


def bot(request: RecordedRequest) -> str:
    """Greets in turn 1; later, answers with how many messages it was sent."""
    return "hello" if len(request.messages) == 2 else f"seen {len(request.messages)}"


def client_for(tmp_path: Path) -> ModelClient:
    providers = ProviderSet({}, tmp_path)
    return ModelClient(providers, ResponseCache(tmp_path, CacheMode.USE), CallPolicy(retries=0))


async def conversation(calls: CaseCalls, client: ModelClient) -> CaseAnswers:
    try:
        return await calls.answers(client)
    finally:
        await client.providers.aclose()


def test_one_call_per_turn_keyed_on_the_whole_history(
    tmp_path: Path, openai_env: LoopbackServer
) -> None:
    openai_env.set_model("chat-bot", bot)
    spec = load(tmp_path)
    case = spec.cases[0]
    calls = CaseCalls(spec, case, spec.request(case, MODEL))
    client = client_for(tmp_path / "cache")
    answers = asyncio.run(conversation(calls, client))
    assert [[c.text for c in talk] for talk in answers.turns] == [["hello", "seen 4"]]
    assert [len(r.messages) for r in openai_env.completion_requests] == [2, 4]
    assert openai_env.completion_requests[1].messages[2] == {
        "role": "assistant",
        "content": "hello",
    }
    plan = plan_turns(client, calls.request, case.turns, 0)
    assert (len(plan.keys), plan.unknown) == (2, 0)
    assert plan.last is not None and plan.last.text == "seen 4"
    other = client.key(turn_request(calls.request, case.turns, ["hi"]), 0)
    assert other not in plan.keys  # another turn-1 reply: another turn-2 key
    client.cache.close()


def test_a_turn_that_does_not_compile_is_an_error_at_its_line(tmp_path: Path) -> None:
    message = spec_error(tmp_path, CHAT.replace("Who am I?", "{{ name "))
    assert "chat.prompt.yaml:12: cases.0.turns.1.user: template syntax error" in message


def test_turns_come_from_a_case_file_too(tmp_path: Path) -> None:
    line = {
        "id": "filed",
        "vars": {"shop": "A", "name": "Bo"},
        "turns": [{"user": "I'm {{ name }}."}],
    }
    (tmp_path / "cases.jsonl").write_text(json.dumps(line) + "\n")
    text = CHAT.split("cases:")[0] + "cases:\n  - file: cases.jsonl\n"
    assert [t.user for t in load(tmp_path, text).cases[0].turns] == ["I'm Bo."]


def test_each_sample_is_its_own_conversation(tmp_path: Path, openai_env: LoopbackServer) -> None:
    openai_env.set_model("chat-bot", bot)
    spec = load(tmp_path, "samples: 2\n" + CHAT)
    case = spec.cases[0]
    client = client_for(tmp_path / "cache")
    answers = asyncio.run(conversation(CaseCalls(spec, case, spec.request(case, MODEL)), client))
    assert [[c.text for c in talk] for talk in answers.turns] == [["hello", "seen 4"]] * 2
    assert len(openai_env.completion_requests) == 4  # the sample index is in every turn's key
    assert [c.text for c in answers.completions] == ["seen 4", "seen 4"]
    client.cache.close()
