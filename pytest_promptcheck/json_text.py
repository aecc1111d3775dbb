"""Parse JSON text as strictly as the YAML loader: no duplicate keys, clean errors for the rest.

Python's ``json`` keeps the last of two equal keys silently (YAML files refuse them), and raises
a bare ValueError for an integer longer than ``sys.get_int_max_str_digits()``.
"""

from __future__ import annotations

import json
import json.decoder
import json.scanner
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


def duplicate_key_line(text: str) -> int | None:
    """The line of the second of two equal keys, found only after ``parse_json`` refused the
    text: json's pure-Python scanner, which tells where each object ends (the C one does not),
    runs once over the text; no second parser and no node tree."""
    decoder = json.JSONDecoder()
    found: list[int] = []

    def parse_object(s_and_end: tuple[str, int], *args: Any, **kwargs: Any) -> Any:
        pairs, end = json.decoder.JSONObject(s_and_end, *args, **kwargs)  # type: ignore[attr-defined]
        keys = [key for key, _ in pairs]
        if not found and len(set(keys)) < len(keys):
            twice = next(key for index, key in enumerate(keys) if key in keys[:index])
            found.append(_second_key_at(text, twice, s_and_end[1], end))
        return pairs, end

    decoder.parse_object = parse_object  # type: ignore[attr-defined]
    decoder.object_pairs_hook = list
    decoder.scan_once = json.scanner.py_make_scanner(decoder)  # type: ignore[attr-defined]
    try:
        decoder.decode(text)
    except (ValueError, RecursionError):
        return None
    return text.count("\n", 0, found[0]) + 1 if found else None


def _second_key_at(text: str, key: str, start: int, end: int) -> int:
    """Where, in the object text[start:end], the key is written the second time."""
    needle = re.compile(re.escape(json.dumps(key)) + r"\s*:")
    matches = [match.start() for match in needle.finditer(text, start, end)]
    return matches[1] if len(matches) > 1 else start
