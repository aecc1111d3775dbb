"""What a flow's trace learns from one captured SDK call: model, usage, text and tool calls.

Read from the response body the SDK received (a JSON document, or the events of a stream), in
the OpenAI chat/completions shapes and the Anthropic Messages shape; anything else gives a call
with its method, path, status and latency only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pytest_promptcheck.records import ToolCall


@dataclass(frozen=True)
class CapturedCall:
    """One request the application sent to a provider while a flow ran."""

    method: str
    path: str
    model: str | None
    """The model the request named (its body's ``model``)."""
    status: int
    cached: bool
    latency_ms: float
    """Measured for a live call; the recorded one for a cached call."""
    fingerprint: str
    """The cache key of the request (sha256 hex)."""
    stream: bool = False
    tokens_in: int = 0
    tokens_out: int = 0
    text: str | None = None
    """The answer's text (a chat message's content, a completion's text), when present."""
    tool_calls: tuple[ToolCall, ...] = ()


@dataclass(frozen=True)
class _Answer:
    tokens_in: int = 0
    tokens_out: int = 0
    text: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()


def read_answer(body: bytes, streamed: bool) -> _Answer:
    """What the body says; never raises (a body we do not understand says nothing)."""
    try:
        text = body.decode("utf-8")
        if streamed:
            return _from_events(_events(text))
        data = json.loads(text)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return _Answer()
    return _from_document(data) if isinstance(data, dict) else _Answer()


def _from_document(data: dict[str, Any]) -> _Answer:
    tokens_in, tokens_out = _usage(data.get("usage"))
    choices = data.get("choices")
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        text, calls = _from_choice(choices[0])
    elif isinstance(data.get("content"), list):
        text, calls = _from_blocks(data["content"])
    else:
        text, calls = None, ()
    return _Answer(tokens_in, tokens_out, text, calls)


def _usage(usage: Any) -> tuple[int, int]:
    """Tokens in and out: OpenAI prompt/completion_tokens, Anthropic input/output_tokens."""
    if not isinstance(usage, dict):
        return 0, 0
    tokens_in = usage.get("prompt_tokens", usage.get("input_tokens", 0))
    tokens_out = usage.get("completion_tokens", usage.get("output_tokens", 0))
    return _int(tokens_in), _int(tokens_out)


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _from_choice(choice: dict[str, Any]) -> tuple[str | None, tuple[ToolCall, ...]]:
    message = choice.get("message")
    if not isinstance(message, dict):
        text = choice.get("text")
        return (text if isinstance(text, str) else None), ()
    content = message.get("content")
    calls = message.get("tool_calls")
    return (content if isinstance(content, str) else None), _openai_calls(calls)


def _openai_calls(calls: Any) -> tuple[ToolCall, ...]:
    if not isinstance(calls, list):
        return ()
    found = []
    for call in calls:
        function = call.get("function") if isinstance(call, dict) else None
        if isinstance(function, dict) and isinstance(function.get("name"), str):
            arguments = function.get("arguments")
            found.append(
                ToolCall(function["name"], arguments if isinstance(arguments, str) else "")
            )
    return tuple(found)


def _from_blocks(blocks: list[Any]) -> tuple[str | None, tuple[ToolCall, ...]]:
    """Anthropic content blocks: text blocks joined, ``tool_use`` blocks as tool calls."""
    texts = [b["text"] for b in blocks if isinstance(b, dict) and isinstance(b.get("text"), str)]
    calls = tuple(
        ToolCall(b["name"], json.dumps(b.get("input", {}), sort_keys=True))
        for b in blocks
        if isinstance(b, dict) and b.get("type") == "tool_use" and isinstance(b.get("name"), str)
    )
    return ("".join(texts) if texts else None), calls


def _events(text: str) -> list[dict[str, Any]]:
    """The JSON payloads of a server-sent event stream's ``data:`` lines."""
    events = []
    for line in text.splitlines():
        if not line.startswith("data:"):
            continue
        try:
            event = json.loads(line[5:].strip())
        except ValueError:
            continue  # "[DONE]" and anything else that is not JSON
        if isinstance(event, dict):
            events.append(event)
    return events


def _from_events(events: list[dict[str, Any]]) -> _Answer:
    """A stream's text deltas joined, and the usage its last usage-bearing event reports."""
    pieces: list[str] = []
    tokens_in = tokens_out = 0
    for event in events:
        pieces.extend(_delta_texts(event))
        for holder in (event, event.get("message")):
            if isinstance(holder, dict) and isinstance(holder.get("usage"), dict):
                found_in, found_out = _usage(holder["usage"])
                tokens_in, tokens_out = found_in or tokens_in, found_out or tokens_out
    return _Answer(tokens_in, tokens_out, "".join(pieces) if pieces else None)


def _delta_texts(event: dict[str, Any]) -> list[str]:
    choices = event.get("choices")
    if isinstance(choices, list):
        deltas = [c.get("delta") for c in choices if isinstance(c, dict)]
        content = [d.get("content") for d in deltas if isinstance(d, dict)]
        texts = [c.get("text") for c in choices if isinstance(c, dict)]
        return [t for t in (*content, *texts) if isinstance(t, str)]
    delta = event.get("delta")  # Anthropic content_block_delta
    text = delta.get("text") if isinstance(delta, dict) else None
    return [text] if isinstance(text, str) else []
