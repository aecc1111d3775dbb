"""Completions as the cache stores them: tool calls carried, older entries still read."""

from __future__ import annotations

import json
from dataclasses import fields

from pytest_promptcheck.records import Completion, ModelRequest, ToolCall

WITH_TOOLS = Completion(
    text="",
    model_reported="m",
    tool_calls=(ToolCall("lookup", '{"id": 7}'), ToolCall("refund", "not json {")),
)


def test_tool_calls_survive_the_cache_round_trip() -> None:
    stored = json.loads(json.dumps(WITH_TOOLS.to_json(), sort_keys=True))
    assert stored["tool_calls"] == [
        {"name": "lookup", "arguments": '{"id": 7}'},
        {"name": "refund", "arguments": "not json {"},  # raw text: parsed by checks, later
    ]
    read = Completion.from_json(stored, cached=True)
    assert read.tool_calls == WITH_TOOLS.tool_calls
    assert read == Completion(**{**vars(WITH_TOOLS), "cached": True})


def test_an_entry_written_before_tool_calls_existed_still_loads() -> None:
    old = {
        "text": "billing",
        "model_reported": "m",
        "tokens_in": 3,
        "tokens_out": 1,
        "latency_ms": 12.5,
        "cost_usd": None,
        "system_fingerprint": None,
        "finish_reason": "stop",
    }
    read = Completion.from_json(old, cached=True)
    assert read.tool_calls == ()
    assert read.text == "billing"


def test_an_answer_without_tool_calls_is_stored_as_before() -> None:
    """So that a cache shared with an older version (a CI artifact) stays readable by it."""
    assert "tool_calls" not in Completion(text="x", model_reported="m").to_json()


def test_an_output_schema_is_in_the_payload_only_when_set() -> None:
    plain = ModelRequest("openai:m", ({"role": "user", "content": "hi"},), None)
    schema = {"type": "object"}
    structured = ModelRequest("openai:m", plain.messages, None, output_schema=schema)
    assert "output_schema" not in plain.payload()
    assert structured.payload()["output_schema"] == schema


def test_every_field_but_cached_is_stored_and_read_back() -> None:
    """to_json names its fields one by one: a field added to Completion must be added there."""
    full = Completion(
        text="t",
        model_reported="m",
        tokens_in=3,
        tokens_out=4,
        latency_ms=5.5,
        cost_usd=0.25,
        system_fingerprint="fp",
        finish_reason="stop",
        tool_calls=(ToolCall("f", "{}"),),
    )
    stored = full.to_json()
    assert set(stored) == {f.name for f in fields(Completion)} - {"cached"}
    assert Completion.from_json(stored, cached=False) == full
