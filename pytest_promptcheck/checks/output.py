"""The one rule for "the output as JSON", shared by the format, the checks and the fixture.

Chat models often wrap JSON in a Markdown fence (```` ```json ````); the fence is not part of the
answer, so a fenced answer is JSON everywhere: to ``format: json``, to ``json_path``, ``schema``,
``equals {...}``, ``python``'s ``case["json"]`` and to ``PromptResult.json``.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pytest_promptcheck.bounds import loads_json
from pytest_promptcheck.checks.api import NOT_JSON, SampleContext

_FENCE = re.compile(r"^```(?:json)?\s*\n(.*)\n```$", re.DOTALL)


def output_json_text(text: str) -> tuple[Any, str | None]:
    """The output parsed as JSON, one Markdown fence around it allowed, or ``(NOT_JSON, why)``."""
    body = text.strip()
    fenced = _FENCE.match(body)
    if fenced:
        body = fenced.group(1)
    try:
        return loads_json(body), None
    except json.JSONDecodeError as exc:
        return NOT_JSON, f"output is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"


def sample_json(ctx: SampleContext) -> tuple[Any, str | None]:
    """A sample's output as JSON: parsed once by the format when it is json, else by the rule."""
    if ctx.json is not NOT_JSON:
        return ctx.json, None
    return output_json_text(ctx.text)
