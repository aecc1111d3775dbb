"""What a captured request is keyed on, how its answer is stored, what the trace reads from it."""

from __future__ import annotations

import json

import httpx2
import pytest

from pytest_promptcheck.capture_calls import read_answer
from pytest_promptcheck.capture_keys import (
    Origin,
    RequestShape,
    StoredResponse,
    canonical_body,
    public_query,
    secrets_of,
)
from pytest_promptcheck.records import ToolCall


@pytest.mark.parametrize(
    ("url", "covered"),
    [
        ("http://127.0.0.1:8000/v1/chat/completions", True),
        ("http://127.0.0.1:8000/v1", True),
        ("http://127.0.0.1:8000/v10/chat", False),  # whole segments only
        ("http://127.0.0.1:8001/v1/chat", False),
        ("https://127.0.0.1:8000/v1/chat", False),
    ],
)
def test_a_base_url_covers_what_lies_under_it(url: str, covered: bool) -> None:
    parsed = httpx2.URL(url)
    origin = Origin.parse("http://127.0.0.1:8000/v1/")
    assert origin.covers(parsed.scheme, parsed.host, parsed.port, parsed.path) is covered


def test_default_ports_and_host_case_match() -> None:
    origin = Origin.parse("https://API.Anthropic.com")
    assert origin.covers("https", "api.anthropic.com", None, "/v1/messages")


def test_the_body_is_keyed_as_data_not_text() -> None:
    assert canonical_body(b'{"a": 1, "b": [2]}') == canonical_body(b'{"b":[2],"a":1}')
    assert canonical_body(b"\xff not json") != canonical_body(b"\xfe not json")


def test_credential_looking_query_parameters_are_not_keyed() -> None:
    query = "key=AIza-secret&api-version=2024-10-21&access_token=t&b=2"
    assert public_query(query) == [["api-version", "2024-10-21"], ["b", "2"]]


def shape(**changes: object) -> RequestShape:
    base: dict[str, object] = {
        "method": "POST",
        "path": "/v1/chat/completions",
        "query": [],
        "body": {"model": "m", "stream": True},
        "versions": {},
        "sample": 0,
    }
    return RequestShape(**{**base, **changes})  # type: ignore[arg-type]


def test_every_part_of_the_shape_and_the_occurrence_change_the_key() -> None:
    keys = {
        shape().key(1),
        shape().key(2),
        shape(sample=1).key(1),
        shape(versions={"openai-version": "x"}).key(1),
        shape(path="/v1/completions").key(1),
        shape(body={"model": "n"}).key(1),
    }
    assert len(keys) == 6
    assert (shape().model, shape().streams) == ("m", True)


def test_the_stored_entry_keeps_no_credentials_or_cookies() -> None:
    headers = httpx2.Headers(
        {"content-type": "text/plain", "set-cookie": "s=1", "content-length": "9"}
    )
    request_headers = httpx2.Headers({"authorization": "Bearer sk-live-0123456789"})
    secrets = secrets_of(request_headers)
    stored = StoredResponse.of(200, headers, b"key: sk-live-0123456789", 12.3456)
    text = stored.to_text({"path": "/v1"}, secrets)
    assert "sk-live" not in text and "s=1" not in text
    again = StoredResponse.from_text(text)
    assert (again.headers, again.body, again.latency_ms) == (
        [["content-type", "text/plain"]],
        b"key: [redacted]",
        12.346,
    )


def test_a_binary_body_survives_as_base64() -> None:
    stored = StoredResponse(200, [], b"\x00\xff", 1.0)
    assert StoredResponse.from_text(stored.to_text({}, [])).body == b"\x00\xff"


def test_openai_tool_calls_and_usage_are_read() -> None:
    call = {"type": "function", "function": {"name": "lookup", "arguments": '{"id": 1}'}}
    body = {
        "choices": [{"message": {"content": None, "tool_calls": [call]}}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 7},
    }
    answer = read_answer(json.dumps(body).encode(), streamed=False)
    assert (answer.text, answer.tokens_in, answer.tokens_out) == (None, 5, 7)
    assert answer.tool_calls == (ToolCall("lookup", '{"id": 1}'),)


def test_anthropic_messages_and_streams_are_read() -> None:
    body = {
        "content": [
            {"type": "text", "text": "Looking."},
            {"type": "tool_use", "name": "lookup", "input": {"id": 1}},
        ],
        "usage": {"input_tokens": 3, "output_tokens": 4},
    }
    answer = read_answer(json.dumps(body).encode(), streamed=False)
    assert (answer.text, answer.tool_calls) == ("Looking.", (ToolCall("lookup", '{"id": 1}'),))
    events = [
        {"type": "message_start", "message": {"usage": {"input_tokens": 3, "output_tokens": 1}}},
        {"type": "content_block_delta", "delta": {"type": "text_delta", "text": "Hi"}},
        {"type": "content_block_delta", "delta": {"type": "text_delta", "text": " there"}},
        {"type": "message_delta", "usage": {"output_tokens": 6}},
    ]
    stream = "".join(f"event: x\ndata: {json.dumps(e)}\n\n" for e in events).encode()
    answer = read_answer(stream, streamed=True)
    assert (answer.text, answer.tokens_in, answer.tokens_out) == ("Hi there", 3, 6)


def test_a_body_it_does_not_understand_says_nothing() -> None:
    assert read_answer(b"\xff<html>", streamed=False) == read_answer(b"[1]", streamed=True)
