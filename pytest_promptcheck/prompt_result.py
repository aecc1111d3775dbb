"""What running a prompt from Python returns (the fixture's ``run``, a flow's ``ctx.run``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pytest_promptcheck.checks.output import output_json_text
from pytest_promptcheck.records import Completion, ModelRequest, ToolCall
from pytest_promptcheck.spec import PromptSpec


@dataclass(frozen=True)
class PromptResult:
    """What ``promptcheck.run`` returns: the first sample, plus all of them."""

    spec: PromptSpec
    vars: dict[str, Any]
    completions: tuple[Completion, ...]
    request: ModelRequest

    @property
    def completion(self) -> Completion:
        return self.completions[0]

    @property
    def text(self) -> str:
        return self.completion.text

    @property
    def json(self) -> Any:
        """The output parsed as JSON (fences allowed); raises ValueError when it is not JSON."""
        parsed, error = output_json_text(self.text)
        if error is not None:
            raise ValueError(f"{self.spec.name}: {error}")
        return parsed

    @property
    def tool_calls(self) -> tuple[ToolCall, ...]:
        return self.completion.tool_calls

    @property
    def cached(self) -> bool:
        return self.completion.cached

    @property
    def latency_ms(self) -> float:
        return self.completion.latency_ms

    @property
    def cost_usd(self) -> float | None:
        return self.completion.cost_usd

    @property
    def tokens(self) -> int:
        return self.completion.tokens
