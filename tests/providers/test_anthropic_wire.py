"""The Messages API mapping: request bodies, answers and error decisions, as pure data."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pytest_promptcheck.providers.anthropic_wire import (
    SCHEMA_TOOL,
    failure,
    parse_answer,
    request_body,
    tool_choice,
)
from pytest_promptcheck.records import ModelRequest, ToolCall

WEATHER = {"name": "weather", "description": "Weather in a city", "parameters": {"type": "object"}}


def chat(*messages: tuple[str, str], **fields: Any) -> ModelRequest:
    turns = tuple({"role": role, "content": text} for role, text in messages)
    return ModelRequest("anthropic:claude-x", turns, None, **fields)


def test_system_messages_are_hoisted_in_order_and_roles_alternate() -> None:
    body = request_body(
        chat(
            ("system", "Be brief."),
            ("user", "Hi"),
            ("developer", "Answer in French."),
            ("user", "What is 2+2?"),
            ("assistant", "4"),
            ("assistant", "Anything else?"),
            ("user", "No"),
        )
    )
    assert body["system"] == "Be brief.\n\nAnswer in French."
    assert body["messages"] == [
        {"role": "user", "content": "Hi\n\nWhat is 2+2?"},
        {"role": "assistant", "content": "4\n\nAnything else?"},
        {"role": "user", "content": "No"},
    ]


def test_a_completion_prompt_is_one_user_message_and_max_tokens_defaults() -> None:
    body = request_body(ModelRequest("anthropic:claude-x", None, "Say hi", {"temperature": 0}))
    assert body == {
        "model": "claude-x",
        "max_tokens": 1024,
        "temperature": 0,
        "messages": [{"role": "user", "content": "Say hi"}],
    }
    assert "system" not in body


def test_params_pass_through_and_override_max_tokens() -> None:
    params = {"max_tokens": 5, "top_p": 0.5, "stop_sequences": ["\n"]}
    body = request_body(chat(("user", "x"), params=params))
    assert {k: body[k] for k in params} == params


def test_tools_map_to_input_schema() -> None:
    bare = {"name": "bare", "parameters": {"type": "object"}}
    body = request_body(chat(("user", "x"), tools=(WEATHER, bare)))
    assert body["tools"][0] == {
        "name": "weather",
        "description": "Weather in a city",
        "input_schema": {"type": "object"},
    }
    assert body["tools"][1] == {"name": "bare", "input_schema": {"type": "object"}}
    assert "tool_choice" not in body


@pytest.mark.parametrize(
    ("choice", "mapped"),
    [
        ("auto", {"type": "auto"}),
        ("required", {"type": "any"}),
        ("none", {"type": "none"}),
        ({"name": "weather"}, {"type": "tool", "name": "weather"}),
    ],
)
def test_tool_choice(choice: str | dict[str, Any], mapped: dict[str, Any]) -> None:
    assert tool_choice(choice) == mapped
    body = request_body(chat(("user", "x"), tools=(WEATHER,), tool_choice=choice))
    assert body["tool_choice"] == mapped


def test_an_output_schema_is_a_forced_tool() -> None:
    schema = {"type": "object", "properties": {"verdict": {"enum": ["pass", "fail"]}}}
    body = request_body(chat(("user", "judge this"), output_schema=schema))
    assert body["tools"] == [
        {
            "name": SCHEMA_TOOL,
            "description": body["tools"][0]["description"],
            "input_schema": schema,
        }
    ]
    assert body["tool_choice"] == {"type": "tool", "name": SCHEMA_TOOL}


def reply(*blocks: dict[str, Any], **fields: Any) -> dict[str, Any]:
    usage = {"input_tokens": 10, "output_tokens": 3}
    return {"content": list(blocks), "model": "claude-x-2026", "usage": usage, **fields}


def test_text_blocks_are_joined_and_tool_use_blocks_are_calls() -> None:
    answer = parse_answer(
        reply(
            {"type": "text", "text": "Let me "},
            {"type": "text", "text": "check."},
            {"type": "tool_use", "id": "t1", "name": "weather", "input": {"city": "Oslo"}},
            stop_reason="tool_use",
        ),
        schema_tool=False,
    )
    assert answer.text == "Let me check."
    assert answer.tool_calls == (ToolCall("weather", '{"city": "Oslo"}'),)
    assert (answer.stop_reason, answer.model) == ("tool_use", "claude-x-2026")


def test_the_forced_tool_input_is_the_text() -> None:
    verdict = {"reasoning": "fine", "verdict": "pass"}
    block = {"type": "tool_use", "id": "t1", "name": SCHEMA_TOOL, "input": verdict}
    answer = parse_answer(reply(block), schema_tool=True)
    assert json.loads(answer.text) == verdict
    assert answer.tool_calls == ()


def test_cache_tokens_count_as_input() -> None:
    usage = {
        "input_tokens": 10,
        "output_tokens": 3,
        "cache_read_input_tokens": 100,
        "cache_creation_input_tokens": None,
    }
    answer = parse_answer({**reply(), "usage": usage}, schema_tool=False)
    assert (answer.usage.cache_read, answer.usage.cache_write) == (100, 0)
    assert answer.usage.tokens_in == 110


@pytest.mark.parametrize(
    "body",
    [{"content": "text"}, {"content": [{"type": "text", "text": 3}]}, {"usage": {}}],
    ids=["content-not-list", "text-not-string", "no-content"],
)
def test_a_malformed_answer_raises(body: dict[str, Any]) -> None:
    with pytest.raises((KeyError, TypeError)):
        parse_answer(body, schema_tool=False)


def error(kind: str, message: str, **details: str) -> bytes:
    inner: dict[str, Any] = {"type": kind, "message": message}
    if details:
        inner["details"] = details
    return json.dumps({"type": "error", "error": inner}).encode()


@pytest.mark.parametrize(
    ("status", "body", "retryable"),
    [
        (429, error("rate_limit_error", "Too many requests"), True),
        (500, error("api_error", "Internal"), True),
        (529, error("overloaded_error", "Overloaded"), True),
        (400, error("invalid_request_error", "max_tokens: required"), False),
        (401, error("authentication_error", "invalid x-api-key"), False),
        (403, error("permission_error", "no"), False),
        (404, error("not_found_error", "model: claude-x"), False),
        (
            429,
            error(
                "rate_limit_error",
                "Monthly limit reached",
                error_code="enforced_spend_limit_reached",
            ),
            False,
        ),
        (429, error("rate_limit_error", "You have reached your specified API usage limits"), False),
        (400, error("invalid_request_error", "Your credit balance is too low"), False),
        (402, error("billing_error", "Payment failed"), False),
    ],
    ids=lambda value: str(value)[:40],
)
def test_which_errors_are_retried(status: int, body: bytes, retryable: bool) -> None:
    assert failure(status, body).retryable is retryable


def test_the_error_message_has_type_and_message() -> None:
    assert failure(529, error("overloaded_error", "Overloaded")).message == (
        "overloaded_error: Overloaded"
    )
    spent = failure(429, error("rate_limit_error", "x", error_code="enforced_spend_limit_reached"))
    assert "spend limit" in spent.message
    assert failure(502, b"<html>Bad gateway</html>").message == "<html>Bad gateway</html>"


def test_without_the_forced_tool_block_the_text_is_left_for_the_judge_to_refuse() -> None:
    """Cut by max_tokens before the tool call: the text is what the model wrote, which the
    caller's parser refuses (a judge's unparseable verdict is an error), never an empty pass."""
    answer = parse_answer(
        reply({"type": "text", "text": "I think"}, stop_reason="max_tokens"), schema_tool=True
    )
    assert (answer.text, answer.stop_reason) == ("I think", "max_tokens")
