"""How values and JSON locations are written in one-line reasons: compact JSON, clipped."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

PathPart = str | int

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class _Absent:
    def __repr__(self) -> str:
        return "(absent)"


ABSENT: Any = _Absent()
"""Stands for a key that one side of a comparison does not have."""


def compact(value: Any, limit: int = 44) -> str:
    """One line of compact JSON for a value, clipped with an ellipsis."""
    return clip(repr(value) if value is ABSENT else as_text(value, quote=True), limit)


def clip(text: str, limit: int = 120) -> str:
    """At most ``limit`` characters, ending with an ellipsis when cut; reasons stay one line."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def as_text(value: Any, *, quote: bool = False) -> str:
    """A string as itself (or quoted), anything else as compact JSON (``true``, ``null``, ...)."""
    if isinstance(value, str) and not quote:
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def format_path(parts: Sequence[PathPart]) -> str:
    """``$.a.b[0]`` form; keys that are not identifiers are written ``['a b']``."""
    text = "$"
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _IDENTIFIER.fullmatch(part):
            text += f".{part}"
        else:
            text += "[" + repr(part) + "]"
    return text
