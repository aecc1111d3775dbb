"""Limits on the work that untrusted input (prompt files, case files, model output) may cause.

Each limit is far above what a real prompt or answer needs and far below what exhausts memory or
the stack: a file larger than MAX_FILE_BYTES is refused before it is read, data nested deeper than
MAX_DEPTH is refused before anything recursive (json, jsonschema, canonical JSON) walks it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_DEPTH = 100
DEPTH_PROBLEM = f"nested deeper than {MAX_DEPTH} levels"
DEPTH_HINT = f"flatten the data: at most {MAX_DEPTH} levels of lists and mappings"

# A JSON string (possibly unterminated) or a bracket: strings are skipped whole, so brackets
# inside them do not count.
_JSON_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?|[\[{]|[\]}]')


def file_too_large(path: Path) -> str | None:
    """Why ``path`` is refused unread (it is larger than the limit), or None."""
    try:
        size = path.stat().st_size
    except OSError:
        return None  # the read that follows reports a missing or unreadable file
    if size <= MAX_FILE_BYTES:
        return None
    return f"file is {size / 2**20:.1f} MB, larger than the limit of {MAX_FILE_BYTES // 2**20} MB"


def loads_json(text: str, **options: Any) -> Any:
    """``json.loads`` that refuses nesting deeper than MAX_DEPTH with a JSONDecodeError.

    json.loads itself recurses (10,000 levels are a RecursionError, not a parse error) and so do
    the validators and comparisons that walk the data later. A JSONDecodeError keeps every
    caller's handling (line and column) as it is.
    """
    try:
        data = json.loads(text, **options)
    except RecursionError:
        raise json.JSONDecodeError(DEPTH_PROBLEM, text, _deep_position(text)) from None
    # cheap first: a text with fewer openers than the limit cannot nest deeper than it
    if text.count("[") + text.count("{") > MAX_DEPTH and _deeper_than_limit(data):
        raise json.JSONDecodeError(DEPTH_PROBLEM, text, _deep_position(text))
    return data


def _deeper_than_limit(data: Any) -> bool:
    """Level by level, without recursion and without building paths (10,000 cases: ~40 ms)."""
    level = [data] if isinstance(data, dict | list) else []
    for _ in range(MAX_DEPTH):
        level = [
            child
            for value in level
            for child in (value.values() if isinstance(value, dict) else value)
            if isinstance(child, dict | list)
        ]
    return bool(level)


def _deep_position(text: str) -> int:
    """Where the text first opens a list or mapping deeper than MAX_DEPTH (0 if nowhere)."""
    depth = 0
    for token in _JSON_TOKEN.finditer(text):
        first = text[token.start()]
        if first != '"':
            depth += 1 if first in "[{" else -1
            if depth > MAX_DEPTH:
                return token.start()
    return 0


def json_hint(error: ValueError, usual: str) -> str:
    """The hint for a JSON error: the usual one, unless the JSON was refused for its depth."""
    return DEPTH_HINT if getattr(error, "msg", None) == DEPTH_PROBLEM else usual


def too_deep(data: Any) -> tuple[str | int, ...] | None:
    """The path of a list or mapping nested deeper than MAX_DEPTH, or None; iterative."""
    if not _deeper_than_limit(data):
        return None
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(data, ())]
    while stack:
        value, path = stack.pop()
        if len(path) >= MAX_DEPTH and isinstance(value, dict | list):
            return path
        if isinstance(value, dict):
            stack.extend((child, (*path, str(key))) for key, child in value.items())
        elif isinstance(value, list):
            stack.extend((child, (*path, index)) for index, child in enumerate(value))
    return None
