"""Parse JSON text as strictly as the YAML loader: no duplicate keys, clean errors for the rest.

Python's ``json`` keeps the last of two equal keys silently (YAML files refuse them), and raises
a bare ValueError for an integer longer than ``sys.get_int_max_str_digits()``.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pytest_promptcheck.bounds import loads_json

# Python refuses to convert integers this long (CVE-2020-10735: the conversion is quadratic)
LONG_NUMBER = "a number has more than 4300 digits"
NUMBER_HINT = "quote it to keep it as text"


class DuplicateJsonKey(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def parse_json(text: str) -> Any:
    """``json.loads`` bounded in depth; raises ``DuplicateJsonKey``, or ValueError (see
    ``json_error``)."""
    return loads_json(text, object_pairs_hook=_unique)


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    mapping = dict(pairs)
    if len(mapping) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise DuplicateJsonKey(key)
            seen.add(key)
    return mapping


def json_error(exc: ValueError) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"invalid JSON: {exc.msg} (column {exc.colno})"
    return f"invalid JSON: {LONG_NUMBER}"


_LONE_SURROGATE = re.compile(
    r"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F])"
    r"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}"
)


def lone_surrogate_line(text: str) -> int | None:
    """The line of a \\uD800-\\uDFFF escape that is not half of a pair: it decodes to a str
    that cannot be encoded (the value check refuses it; this finds the line for it)."""
    for match in _LONE_SURROGATE.finditer(text):
        before = match.start() - 1
        while before >= 0 and text[before] == "\\":
            before -= 1
        if (match.start() - 1 - before) % 2 == 0:  # not "\\ud800": an escaped backslash
            return text.count("\n", 0, match.start()) + 1
    return None


def long_number_line(text: str) -> int | None:
    match = re.search(r"(?<!\d)\d{4301}", text)  # linear: a run is tried once, from its start
    return text.count("\n", 0, match.start()) + 1 if match else None


DUPLICATE_HINT = "remove one of them; a JSON reader would silently keep only the last"
