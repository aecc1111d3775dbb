"""JSON in checks: a small JSONPath subset, JSON equality, and the ``json_path`` check.

JSONPath supported: ``$`` (the root), ``.key``, ``['key']`` / ``["key"]``, ``[N]`` (negative
counts from the end), and the wildcards ``[*]`` / ``.*`` (every item of a list or value of a
mapping). Recursive descent (``..``), filters and slices are not supported; a path using them is
rejected when parsed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_promptcheck.bounds import loads_json
from pytest_promptcheck.errors import CheckArgError
from pytest_promptcheck.patterns import Pattern, RegexGaveUp, compile_pattern
from pytest_promptcheck.verdict import NOT_JSON, CheckFn, SampleContext, Verdict

PathPart = str | int

_STEP = re.compile(
    r"""\.(?P<key>[^.\[\]\s'"*]+)
      | \.(?P<dotstar>\*)
      | \[\s*(?P<index>-?\d+)\s*\]
      | \[\s*(?P<star>\*)\s*\]
      | \[\s*'(?P<single>[^']*)'\s*\]
      | \[\s*"(?P<double>[^"]*)"\s*\]""",
    re.VERBOSE,
)
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_WILDCARD = object()
SUPPORTED = "$, .key, ['key'], [N], [-1], [*], .*"


class JsonPathError(ValueError):
    """The path text is outside the supported subset."""


@dataclass(frozen=True)
class JsonPath:
    text: str
    steps: tuple[Any, ...]
    """Each step is a key (str), an index (int) or the wildcard marker."""

    def find(self, document: Any) -> list[Any]:
        """Every value the path selects in ``document`` (empty when nothing matches)."""
        values = [document]
        for step in self.steps:
            values = [child for value in values for child in _children(value, step)]
        return values


def parse_path(text: str) -> JsonPath:
    source = text.strip()
    if not source.startswith("$"):
        raise JsonPathError(f"JSON path {text!r} must start with '$', e.g. $.queue")
    steps: list[Any] = []
    position = 1
    while position < len(source):
        if source.startswith("..", position):
            raise JsonPathError(f"JSON path {text!r}: recursive descent '..' is not supported")
        match = _STEP.match(source, position)
        if match is None:
            raise JsonPathError(f"JSON path {text!r}: cannot read from {source[position:]!r}")
        steps.append(_step(match))
        position = match.end()
    return JsonPath(source, tuple(steps))


def _step(match: re.Match[str]) -> Any:
    group = match.lastgroup
    if group in ("dotstar", "star"):
        return _WILDCARD
    return int(match["index"]) if group == "index" else match[group or "key"]


def _children(value: Any, step: Any) -> list[Any]:
    if step is _WILDCARD:
        if isinstance(value, dict):
            return list(value.values())
        return list(value) if isinstance(value, list) else []
    if isinstance(step, int):
        in_range = isinstance(value, list) and -len(value) <= step < len(value)
        return [value[step]] if in_range else []
    return [value[step]] if isinstance(value, dict) and step in value else []


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


def output_json(ctx: SampleContext) -> tuple[Any, str | None]:
    """The parsed output, parsing the text when the format did not; or the parse error."""
    if ctx.json is not NOT_JSON:
        return ctx.json, None
    try:
        return loads_json(ctx.text), None
    except json.JSONDecodeError as exc:
        return None, f"{exc.msg} at line {exc.lineno} column {exc.colno}"


Difference = tuple[tuple[PathPart, ...], Any, Any]
_SCALARS = (str, int, float, bool, type(None))


def first_difference(expected: Any, got: Any, at: tuple[PathPart, ...] = ()) -> Difference | None:
    """None when equal as JSON, else ``(path, expected part, got part)`` of the first difference.

    JSON equality: ``true`` is not ``1`` (unlike Python), ``1`` equals ``1.0``, key order is
    ignored, list order is not. A key missing on one side is reported as ABSENT there.
    """
    if isinstance(expected, dict) and isinstance(got, dict):
        return _dict_difference(expected, got, at)
    if isinstance(expected, list) and isinstance(got, list) and len(expected) == len(got):
        for index, (left, right) in enumerate(zip(expected, got, strict=True)):
            diff = first_difference(left, right, (*at, index))
            if diff is not None:
                return diff
        return None
    same_kind = isinstance(expected, bool) == isinstance(got, bool)
    if same_kind and type(expected) in _SCALARS and expected == got:
        return None
    return at, expected, got


def _dict_difference(
    expected: dict[str, Any], got: dict[str, Any], at: tuple[PathPart, ...]
) -> Difference | None:
    for key, value in expected.items():
        diff = first_difference(value, got.get(key, ABSENT), (*at, key))
        if diff is not None:
            return diff
    extra = next((key for key in got if key not in expected), None)
    return None if extra is None else ((*at, extra), ABSENT, got[extra])


def json_equal(expected: Any, got: Any) -> bool:
    return first_difference(expected, got) is None


def compile_regex(source: str) -> Pattern:
    """A pattern from a check's argument; a bad one is a CheckArgError at collection time."""
    try:
        return compile_pattern(source)
    except re.error as exc:
        raise CheckArgError(
            f"invalid regex {compact(source)}: {exc.msg} at position {exc.pos}",
            hint="use Python re syntax; in YAML, single-quote patterns with backslashes: '\\d+'",
        ) from None


_OPERATORS = ("equals", "contains", "matches", "exists")
_EXAMPLE = "json_path: {path: $.queue, equals: billing}"


def json_path_check(arg: Any, base_dir: Path) -> CheckFn:
    """``json_path: {path: $.a.b, <operator>: V}`` with exactly one operator.

    The output is the parsed JSON (the text is parsed when the prompt's format is not json).
    ``equals``: JSON equality; ``contains``: a substring of a string, an item of a list or a key
    of a mapping; ``matches``: ``re.search`` on a string (other values as compact JSON);
    ``exists: true|false``: the path selects something / nothing. With wildcards the check
    passes when ANY selected value satisfies the operator.
    """
    path, operator, value = _json_path_arg(arg)
    test = _operator_test(operator, value)
    label = f"json_path {path.text} {operator} {compact(value, 30)}"

    def run(ctx: SampleContext) -> Verdict:
        document, error = output_json(ctx)
        if error is not None:
            return Verdict(
                False, 0.0, f"json_path {path.text}: output is not JSON", evaluated=False
            )
        found = path.find(document)
        try:
            passed = test(found)
        except RegexGaveUp as exc:
            return Verdict(False, 0.0, f"{label}: {exc}", evaluated=False)
        return Verdict(passed, float(passed), f"{label}: {_outcome(operator, passed, found)}")

    return run


def _outcome(operator: str, passed: bool, found: list[Any]) -> str:
    if operator == "exists":
        return f"{len(found)} matched"
    if passed:
        return "yes"
    if not found:
        return "path not found"
    return "got " + compact(found[0] if len(found) == 1 else found, 50)


def _json_path_arg(arg: Any) -> tuple[JsonPath, str, Any]:
    if not isinstance(arg, dict) or not isinstance(arg.get("path"), str):
        raise CheckArgError(
            "expected a mapping with a string 'path' and one of " + ", ".join(_OPERATORS),
            hint=f"e.g. {_EXAMPLE}",
        )
    operators = [key for key in arg if key != "path"]
    unknown = [key for key in operators if key not in _OPERATORS]
    if unknown or len(operators) != 1:
        problem = (
            f"unknown key '{unknown[0]}'"
            if unknown
            else f"needs exactly one operator, got {len(operators)}"
        )
        raise CheckArgError(problem, hint=f"use one of {', '.join(_OPERATORS)}, e.g. {_EXAMPLE}")
    try:
        path = parse_path(arg["path"])
    except JsonPathError as exc:
        raise CheckArgError(str(exc), hint=f"supported: {SUPPORTED}") from None
    return path, operators[0], arg[operators[0]]


def _operator_test(operator: str, value: Any) -> Callable[[list[Any]], bool]:
    """Whether the values the path selected satisfy the operator."""
    if operator == "exists":
        if not isinstance(value, bool):
            raise CheckArgError(
                "'exists' takes true or false", hint="e.g. json_path: {path: $.id, exists: true}"
            )
        return lambda found: bool(found) == value
    holds = _item_test(operator, value)
    return lambda found: any(holds(item) for item in found)


def _item_test(operator: str, value: Any) -> Callable[[Any], bool]:
    if operator == "matches":
        if not isinstance(value, str):
            raise CheckArgError(
                "'matches' takes a regex string",
                hint="e.g. json_path: {path: $.id, matches: '^T-\\d+$'}",
            )
        pattern = compile_regex(value)
        return lambda item: pattern.search(as_text(item)) is not None
    if operator == "contains":
        return lambda item: _contains(item, value)
    return lambda item: json_equal(value, item)


def _contains(container: Any, value: Any) -> bool:
    if isinstance(container, str):
        return isinstance(value, str) and value in container
    if isinstance(container, list):
        return any(json_equal(value, item) for item in container)
    return isinstance(container, dict) and isinstance(value, str) and value in container
