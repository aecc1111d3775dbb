"""A replay miss inside a flow names the nearest request the flow case recorded, with a diff."""

from __future__ import annotations

import difflib
import json
from typing import Any

from pytest_promptcheck.records import ModelRequest

DIFF_LINES = 20


def nearest_request(request: ModelRequest, recorded: list[dict[str, Any]] | None) -> str:
    if not recorded:
        return (
            "  no request of this flow case and sample was recorded; record them with "
            "--promptcheck-cache=use"
        )
    wanted = _lines(request.payload())
    best = max(recorded, key=lambda r: _likeness(wanted, _lines(r.get("request"))))
    diff = difflib.unified_diff(
        _lines(best.get("request")), wanted, "recorded", "now", lineterm="", n=1
    )
    shown = list(diff)[2:]  # the two file header lines say nothing here
    more = len(shown) - DIFF_LINES
    lines = [f"  nearest recorded request: step {best.get('step')}", *shown[:DIFF_LINES]]
    if more > 0:
        lines.append(f"  ... {more} more diff lines")
    return "\n".join(f"    {line}" if i else line for i, line in enumerate(lines))


def _lines(payload: Any) -> list[str]:
    return json.dumps(payload, indent=1, sort_keys=True, ensure_ascii=False).splitlines()


def _likeness(a: list[str], b: list[str]) -> float:
    """How alike two requests read, by characters (a changed word in a long message is near)."""
    return difflib.SequenceMatcher(None, "\n".join(a), "\n".join(b), autojunk=False).ratio()
