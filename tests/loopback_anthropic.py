"""A loopback server speaking Anthropic's Messages API (POST /v1/messages), for tests.

It is tests/loopback.py's server (real sockets, latency, queued faults, an account of every
request with its headers) answering in the Messages API's shapes. The answers are
deterministic, from the model's responder (default: echo of the last user message):
- a ``ToolReply`` becomes ``tool_use`` blocks (its arguments parsed as the block's input);
- ``tool_choice: {type: tool, name}`` (a forced tool, as for an output schema) becomes one
  ``tool_use`` block of that tool whose input is the responder's text parsed as JSON;
- a text longer than ``max_tokens`` words is cut to that many words, ``stop_reason:
  max_tokens``.
Faults have Anthropic's error bodies and a ``request-id`` header.
"""

from __future__ import annotations

import json
from typing import Any

from tests.loopback import (
    Fault,
    LoopbackServer,
    ModelConfig,
    RecordedRequest,
    ToolReply,
    _Reply,
    status,
)

__all__ = [
    "MESSAGES_PATH",
    "AnthropicServer",
    "api_error",
    "error_body",
    "overloaded",
    "rate_limited",
    "spend_limit",
]

MESSAGES_PATH = "/v1/messages"
REQUEST_ID = "req_loopback_0001"


def error_body(kind: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"type": kind, "message": message}
    if details is not None:
        error["details"] = details
    return {"type": "error", "error": error, "request_id": REQUEST_ID}


def _fault(code: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Fault:
    return status(code, body, {"request-id": REQUEST_ID, **(headers or {})})


def overloaded() -> Fault:
    """A 529 ``overloaded_error``: the API is busy for everyone."""
    return _fault(529, error_body("overloaded_error", "Overloaded"))


def api_error() -> Fault:
    """A 500 ``api_error``."""
    return _fault(500, error_body("api_error", "Internal server error"))


def rate_limited(retry_after: float | None = None) -> Fault:
    """A 429 ``rate_limit_error``, with ``retry-after`` when given."""
    headers = {} if retry_after is None else {"retry-after": f"{retry_after:g}"}
    body = error_body("rate_limit_error", "This request would exceed your rate limit.")
    return _fault(429, body, headers)


def spend_limit(*, details: bool = True) -> Fault:
    """A 429 for a reached spend limit: flagged in ``details.error_code`` as the API documents
    it, or (``details=False``) said only in the message."""
    if details:
        body = error_body(
            "rate_limit_error",
            "Your organization has reached its monthly spend limit.",
            {"error_code": "enforced_spend_limit_reached"},
        )
    else:
        body = error_body(
            "rate_limit_error",
            "You have reached your specified API usage limits. You will regain access on "
            "2026-12-01 at 00:00 UTC.",
        )
    return _fault(429, body)


class AnthropicServer(LoopbackServer):
    """The loopback server with the Messages API's routes and shapes; ``cache_read`` and
    ``cache_write`` are the prompt-cache token counts every answer reports."""

    def __init__(self, *, latency_ms: float = 0, seed: int = 0) -> None:
        super().__init__(latency_ms=latency_ms, seed=seed)
        self.cache_read = 0
        self.cache_write = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def completion_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method == "POST" and r.path == MESSAGES_PATH]

    def _route(self, record: RecordedRequest) -> _Reply | None:
        if record.path == MESSAGES_PATH and record.method == "POST":
            return self._complete(record)
        body = error_body("not_found_error", f"Unknown path: {record.method} {record.path}")
        return _Reply(404, json.dumps(body).encode(), (("request-id", REQUEST_ID),))

    def _answer(self, record: RecordedRequest, config: ModelConfig | None) -> _Reply:
        responder = self.default_responder if config is None else config.responder
        try:
            answer = responder(record)
        except Exception as exc:  # surfaced to the client so the failing test shows it
            body = error_body("api_error", f"loopback responder failed: {exc!r}")
            return _Reply(500, json.dumps(body).encode())
        payload = self._message(record, config, answer)
        return _Reply(200, json.dumps(payload).encode(), (("request-id", REQUEST_ID),))

    def _message(
        self, record: RecordedRequest, config: ModelConfig | None, answer: str | ToolReply
    ) -> dict[str, Any]:
        content, stop_reason = _content(record.body, answer)
        written = " ".join(block.get("text") or json.dumps(block.get("input")) for block in content)
        return {
            "id": f"msg_loopback_{len(self.requests)}",
            "type": "message",
            "role": "assistant",
            "model": config.reported if config and config.reported else record.model,
            "content": content,
            "stop_reason": stop_reason,
            "stop_sequence": None,
            "usage": {
                "input_tokens": max(1, len(_prompt_text(record.body).split())),
                "output_tokens": max(1, len(written.split())),
                "cache_read_input_tokens": self.cache_read,
                "cache_creation_input_tokens": self.cache_write,
            },
        }


def _content(body: dict[str, Any], answer: str | ToolReply) -> tuple[list[dict[str, Any]], str]:
    choice = body.get("tool_choice")
    if isinstance(choice, dict) and choice.get("type") == "tool":
        text = answer.text if isinstance(answer, ToolReply) else answer
        block = _tool_use(0, str(choice["name"]), json.loads(text or "{}"))
        return [block], "tool_use"
    if isinstance(answer, ToolReply):
        blocks = [{"type": "text", "text": answer.text}] if answer.text else []
        blocks += [_tool_use(i, n, json.loads(a)) for i, (n, a) in enumerate(answer.calls)]
        return blocks, "tool_use"
    words = answer.split(" ")
    limit = body.get("max_tokens")
    if isinstance(limit, int) and len(words) > limit:
        return [{"type": "text", "text": " ".join(words[:limit])}], "max_tokens"
    return [{"type": "text", "text": answer}], "end_turn"


def _tool_use(index: int, name: str, arguments: Any) -> dict[str, Any]:
    return {"type": "tool_use", "id": f"toolu_{index}", "name": name, "input": arguments}


def _prompt_text(body: dict[str, Any]) -> str:
    """The system text and every message's text, for the input token count."""
    parts = [body.get("system") if isinstance(body.get("system"), str) else ""]
    for message in body.get("messages") or []:
        content = message.get("content") if isinstance(message, dict) else None
        parts.append(content if isinstance(content, str) else "")
    return "\n".join(parts)
