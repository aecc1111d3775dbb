"""The Anthropic Messages API's wire shapes: a ModelRequest as a request body, a response body
as an answer, an error body as a message and a retry decision. Pure functions, no I/O, so each
mapping is tested on its own (tests/providers/test_anthropic_wire.py)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from pytest_promptcheck.records import ModelRequest, ToolCall

DEFAULT_MAX_TOKENS = 1024
"""The Messages API requires ``max_tokens``; a prompt's ``params`` override it."""
SCHEMA_TOOL = "structured_output"
"""The forced tool that carries a reply following ``ModelRequest.output_schema``."""
TRUNCATED = "max_tokens"
"""The ``stop_reason`` of a reply cut by ``max_tokens``."""
_SYSTEM_ROLES = ("system", "developer")  # OpenAI's developer role is its newer name for system
_CHOICES = {"auto": {"type": "auto"}, "required": {"type": "any"}, "none": {"type": "none"}}
_RETRYABLE_STATUS = frozenset({408, 409, 429, 529})
"""Besides 5xx: what a later try can get past. 400, 401, 403, 404, 413 cannot."""
_SPEND_LIMIT = re.compile(r"spend(ing)? limit|usage limit|credit balance|billing", re.IGNORECASE)
"""The messages of a limit that lifts only when someone pays or raises it: retrying is useless."""


def request_body(request: ModelRequest) -> dict[str, Any]:
    """The POST /v1/messages body. System (and developer) messages are hoisted into ``system``,
    joined in order by a blank line; consecutive messages of one role are merged the same way,
    since the API wants user and assistant to alternate; a completion prompt is one user
    message."""
    body: dict[str, Any] = {"model": request.model_name, "max_tokens": DEFAULT_MAX_TOKENS}
    body.update(request.params)
    if request.messages is None:
        turns = [("user", request.prompt or "")]
    else:
        turns = [(m["role"], m["content"]) for m in request.messages]
    system = [text for role, text in turns if role in _SYSTEM_ROLES]
    if system:
        body["system"] = "\n\n".join(system)
    body["messages"] = _alternating([(r, t) for r, t in turns if r not in _SYSTEM_ROLES])
    body.update(_tool_fields(request))
    return body


def _alternating(turns: list[tuple[str, str]]) -> list[dict[str, str]]:
    messages: list[dict[str, str]] = []
    for role, text in turns:
        if messages and messages[-1]["role"] == role:
            messages[-1]["content"] += "\n\n" + text
        else:
            messages.append({"role": role, "content": text})
    return messages


def _tool_fields(request: ModelRequest) -> dict[str, Any]:
    """Tools as ``{name, description, input_schema}``; an output schema as a forced tool."""
    tools = [_tool(tool) for tool in request.tools]
    choice = None if request.tool_choice is None else tool_choice(request.tool_choice)
    if request.output_schema is not None:
        tools.append(
            {
                "name": SCHEMA_TOOL,
                "description": "Give your answer as this tool's input.",
                "input_schema": request.output_schema,
            }
        )
        choice = {"type": "tool", "name": SCHEMA_TOOL}
    fields: dict[str, Any] = {}
    if tools:
        fields["tools"] = tools
    if choice is not None:
        fields["tool_choice"] = choice
    return fields


def _tool(tool: dict[str, Any]) -> dict[str, Any]:
    mapped = {"name": tool["name"], "input_schema": tool["parameters"]}
    if tool.get("description") is not None:
        mapped["description"] = tool["description"]
    return mapped


def tool_choice(choice: str | dict[str, Any]) -> dict[str, Any]:
    """``auto``, ``required`` (Anthropic's ``any``), ``none`` or ``{name}`` (a forced tool)."""
    if isinstance(choice, dict):
        return {"type": "tool", "name": choice["name"]}
    return dict(_CHOICES[choice])


@dataclass(frozen=True)
class Usage:
    """A reply's token counts. ``input_tokens`` leaves out the tokens read from or written to
    the prompt cache, which are billed at their own prices."""

    input: int = 0
    output: int = 0
    cache_read: int = 0
    cache_write: int = 0

    @property
    def tokens_in(self) -> int:
        """Every prompt token the model read, cached or not."""
        return self.input + self.cache_read + self.cache_write


@dataclass(frozen=True)
class Answer:
    text: str
    tool_calls: tuple[ToolCall, ...]
    stop_reason: str | None
    model: str
    usage: Usage


def parse_answer(data: Any, *, schema_tool: bool) -> Answer:
    """A Messages API response body, parsed JSON. Text blocks are joined as they come (the API
    splits one text into several blocks, e.g. around citations); tool_use blocks are tool calls
    with their input as JSON text. With ``schema_tool``, the forced tool's input is the text.
    A body of another shape raises KeyError, TypeError or ValueError (a malformed answer)."""
    blocks = data["content"]
    if not isinstance(blocks, list):
        raise TypeError(f"content is a {type(blocks).__name__}, not a list")
    texts: list[str] = []
    calls: list[ToolCall] = []
    for block in blocks:
        if block["type"] == "text":
            texts.append(_string(block["text"], "a text block's text"))
        elif block["type"] == "tool_use":
            calls.append(ToolCall(_string(block["name"], "a tool's name"), _json(block["input"])))
    text = "".join(texts)
    if schema_tool:
        forced = [call for call in calls if call.name == SCHEMA_TOOL]
        if forced:  # absent when cut by max_tokens: the text then goes to whoever parses it
            text = forced[0].arguments
            calls = [call for call in calls if call.name != SCHEMA_TOOL]
    return Answer(
        text=text,
        tool_calls=tuple(calls),
        stop_reason=label(data.get("stop_reason")),
        model=label(data.get("model")) or "",
        usage=_usage(data.get("usage") or {}),
    )


def _usage(usage: Any) -> Usage:
    def count(key: str) -> int:
        value = usage.get(key)
        if value is None:  # the cache fields are absent or null when no cache is involved
            return 0
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise TypeError(f"usage.{key} is {value!r}, not a whole number of 0 or more")
        return value

    return Usage(
        count("input_tokens"),
        count("output_tokens"),
        count("cache_read_input_tokens"),
        count("cache_creation_input_tokens"),
    )


def _string(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{what} is a {type(value).__name__}, not a string")
    return value


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def label(value: Any) -> str | None:
    """A name the server reports (model, stop reason): kept only as short text, since it goes
    into baselines, drift lines and reports."""
    return value[:200] if isinstance(value, str) else None


@dataclass(frozen=True)
class Failure:
    """An error reply as people read it, and whether a later try may succeed."""

    message: str
    retryable: bool


def failure(status: int, body: bytes) -> Failure:
    """``{type: error, error: {type, message, details?}}`` as "type: message".

    Retried: 429, 5xx (529 is ``overloaded_error``) and the other statuses a later try can get
    past; never a spend limit, whatever its status: Anthropic answers a reached monthly spend
    limit with a 429 ``rate_limit_error`` whose ``details.error_code`` is
    ``enforced_spend_limit_reached``, and a workspace's own limit or an empty credit balance
    with a 400 or a ``billing_error`` whose message says so."""
    kind, message, code = _error_fields(body)
    spend_limit = kind == "billing_error" or any(
        _SPEND_LIMIT.search(text) for text in (code.replace("_", " "), message)
    )
    text = f"{kind}: {message}" if kind else message or f"HTTP {status}"
    if spend_limit:
        text += " (a spend limit or billing problem: not retried)"
    retryable = (status in _RETRYABLE_STATUS or status >= 500) and not spend_limit
    return Failure(text, retryable or (kind == "overloaded_error" and not spend_limit))


def _error_fields(body: bytes) -> tuple[str, str, str]:
    """The error's type, message and ``details.error_code`` ("" where absent); a body that is
    not Anthropic's error JSON is the message itself."""
    try:
        error = json.loads(body)["error"]
        kind, message = error.get("type"), error.get("message")
        details = error.get("details")
        code = details.get("error_code") if isinstance(details, dict) else None
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
        return "", body.decode("utf-8", "replace").strip(), ""
    return (
        kind if isinstance(kind, str) else "",
        message if isinstance(message, str) else "",
        code if isinstance(code, str) else "",
    )
