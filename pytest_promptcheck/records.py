"""What crosses the model boundary: a request and one sample's completion."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

Message = dict[str, str]
TRUNCATED_REASONS = frozenset({"length", "max_tokens"})


@dataclass(frozen=True)
class ModelRequest:
    """A fully rendered request for one case, independent of the sample index."""

    model: str
    """The model id as requested, ``provider:name``."""
    messages: tuple[Message, ...] | None
    prompt: str | None
    params: dict[str, Any] = field(default_factory=dict)
    format: dict[str, Any] = field(default_factory=dict)
    tools: tuple[dict[str, Any], ...] = ()
    """Function tools offered, flat (``name``, ``description``, ``parameters``); see tools.py."""
    tool_choice: str | dict[str, Any] | None = None
    """``auto``, ``required``, ``none`` or ``{"name": tool}``; None: the provider's default."""
    output_schema: dict[str, Any] | None = None
    """A JSON Schema the reply must follow (a judge's structured verdict): each provider enforces
    it its own way (a JSON-schema response format, a forced tool, a grammar)."""
    embed_input: str | None = None
    """Set for an embedding (the ``similar`` check on an endpoint model): the text to embed.
    The provider answers its vector as JSON in ``Completion.text``."""
    occurrence: int = 0
    """Inside a flow's sample: how many identical requests came before this one (a loop
    replays in order); part of the cache key only when above 0."""

    @property
    def provider(self) -> str:
        return self.model.split(":", 1)[0]

    @property
    def model_name(self) -> str:
        return self.model.split(":", 1)[1]

    def payload(self) -> dict[str, Any]:
        """The request as plain data, for cache keys and deduplication. Tools are in it only
        when offered, so that the keys of requests without tools stay as they were."""
        data: dict[str, Any] = {
            "model": self.model,
            "messages": list(self.messages) if self.messages is not None else None,
            "prompt": self.prompt,
            "params": self.params,
            "format": self.format,
        }
        if self.tools:
            data["tools"] = list(self.tools)
        if self.tool_choice is not None:
            data["tool_choice"] = self.tool_choice
        if self.output_schema is not None:
            data["output_schema"] = self.output_schema
        if self.embed_input is not None:
            data["embed_input"] = self.embed_input
        if self.occurrence:
            data["occurrence"] = self.occurrence
        return data


@dataclass(frozen=True)
class ToolCall:
    """A tool call the model asked for: the tool's name and its arguments as the raw text the
    model wrote (usually JSON; checks parse it, so a malformed answer stays a check's verdict)."""

    name: str
    arguments: str


@dataclass(frozen=True)
class Completion:
    """One sample's answer with its usage; ``cached`` is set when it came from the cache."""

    text: str
    model_reported: str
    tokens_in: int = 0
    tokens_out: int = 0
    latency_ms: float = 0.0
    cost_usd: float | None = None
    system_fingerprint: str | None = None
    finish_reason: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    cached: bool = False

    @property
    def tokens(self) -> int:
        return self.tokens_in + self.tokens_out

    @property
    def truncated(self) -> bool:
        """The reply stopped at its token limit: OpenAI-compatible servers and llama.cpp say
        ``length``, Anthropic ``max_tokens``."""
        return self.finish_reason in TRUNCATED_REASONS

    def to_json(self) -> dict[str, Any]:
        # written out, not dataclasses.asdict (a deep copy): this runs for every live answer
        data: dict[str, Any] = {
            "text": self.text,
            "model_reported": self.model_reported,
            "tokens_in": self.tokens_in,
            "tokens_out": self.tokens_out,
            "latency_ms": self.latency_ms,
            "cost_usd": self.cost_usd,
            "system_fingerprint": self.system_fingerprint,
            "finish_reason": self.finish_reason,
        }
        if self.tool_calls:  # an answer without tool calls is stored as before they existed
            data["tool_calls"] = [
                {"name": call.name, "arguments": call.arguments} for call in self.tool_calls
            ]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any], *, cached: bool) -> Completion:
        values = dict(data)  # a stored value of another shape raises TypeError or ValueError
        values["tool_calls"] = tuple(ToolCall(**call) for call in values.get("tool_calls", ()))
        return cls(**values, cached=cached)


def total_cost(costs: Iterable[float | None]) -> float | None:
    """The cost of several calls: unknown when any call's cost is unknown."""
    total: float | None = 0  # as sum() starts: no calls cost 0
    for cost in costs:
        total = add_cost(total, cost)
    return total


def add_cost(total: float | None, cost: float | None) -> float | None:
    """A running cost with one more call's: unknown once any is unknown."""
    return None if total is None or cost is None else total + (cost or 0.0)
