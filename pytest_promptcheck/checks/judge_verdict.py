"""A judge's verdict: the JSON Schema the judge model must answer with (``reasoning`` first, so
that the model argues before it decides), and its strict parsing into a score in [0, 1].

A reply that does not follow the schema is never read leniently: a verdict without ``pass``, a
``"pass": "true"`` string or a score out of range raises JudgeVerdictError, which makes the
item an error (DESIGN §3: never a pass).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pytest_promptcheck.errors import PromptcheckError
from pytest_promptcheck.quoting import compact

SCALES: dict[str, tuple[int, int] | None] = {"pass_fail": None, "1-5": (1, 5), "0-10": (0, 10)}
"""Each scale's integer range (None: a boolean ``pass``)."""
PAIRWISE = "pairwise"
"""The verdict of a pairwise judge: which of two outputs meets the rubric better."""
BETTER = ("A", "B", "same")
_RAW_SHOWN = 300


class JudgeVerdictError(PromptcheckError):
    """The judge model's reply is no verdict: the item errors, showing the reply."""


@dataclass(frozen=True)
class JudgeVote:
    """One parsed verdict: its reasoning, and a score normalised to [0, 1] (pass_fail: 0 or 1;
    pairwise: 1 when A is better, 0 when B is, 0.5 when they are the same)."""

    reasoning: str
    score: float
    raw: Any
    """What the judge decided as it said it: true/false, the integer score, or A/B/same."""


def verdict_schema(scale: str) -> dict[str, Any]:
    """The JSON Schema of the verdict for ``scale`` (a key of SCALES, or PAIRWISE)."""
    decision: dict[str, Any]
    if scale == PAIRWISE:
        name, decision = "better", {"type": "string", "enum": list(BETTER)}
    elif SCALES[scale] is None:
        name, decision = "pass", {"type": "boolean"}
    else:
        low, high = SCALES[scale] or (0, 0)
        name, decision = "score", {"type": "integer", "minimum": low, "maximum": high}
    return {
        "type": "object",
        "properties": {"reasoning": {"type": "string"}, name: decision},
        "required": ["reasoning", name],
        "additionalProperties": False,
    }


def parse_verdict(text: str, scale: str, model: str) -> JudgeVote:
    """The vote in a judge's reply; raises JudgeVerdictError naming what is wrong."""
    try:
        data = json.loads(text, strict=False)  # a raw newline in the reasoning is no harm
    except ValueError:
        raise _bad(model, "is not JSON", text) from None
    if not isinstance(data, dict):
        raise _bad(model, "is not a JSON object", text)
    expected = set(verdict_schema(scale)["required"])
    if set(data) != expected:
        keys = ", ".join(sorted(expected))
        raise _bad(model, f"must hold exactly the keys {keys}", text)
    reasoning = data["reasoning"]
    if not isinstance(reasoning, str):
        raise _bad(model, "has a 'reasoning' that is not a string", text)
    return JudgeVote(reasoning, _normalised(data, scale, model, text), _decision(data))


def _decision(data: dict[str, Any]) -> Any:
    return next(value for key, value in data.items() if key != "reasoning")


def _normalised(data: dict[str, Any], scale: str, model: str, text: str) -> float:
    if scale == PAIRWISE:
        better = data["better"]
        if better not in BETTER:
            raise _bad(model, "has a 'better' that is not A, B or same", text)
        return {"A": 1.0, "B": 0.0, "same": 0.5}[better]
    span = SCALES[scale]
    if span is None:
        if not isinstance(data["pass"], bool):
            raise _bad(model, "has a 'pass' that is not true or false", text)
        return 1.0 if data["pass"] else 0.0
    low, high = span
    score = data["score"]
    if isinstance(score, bool) or not isinstance(score, int) or not low <= score <= high:
        raise _bad(model, f"has a 'score' that is not a whole number from {low} to {high}", text)
    return (score - low) / (high - low)


def _bad(model: str, problem: str, text: str) -> JudgeVerdictError:
    return JudgeVerdictError(
        f"judge {model} answered no verdict: its reply {problem} "
        f"(reply: {compact(text, _RAW_SHOWN)})"
    )
