"""Checks on the output as JSON: ``equals`` (JSON equality, else text) and ``json_path``.

The output is JSON by one rule (checks/output.py): parsed by the format when it is json, else the
text parsed here, a Markdown fence around it allowed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_promptcheck.checks.api import (
    NOT_JSON,
    CheckFactory,
    CheckFn,
    SampleContext,
    Verdict,
    unevaluated,
    verdict,
)
from pytest_promptcheck.checks.args import compile_regex
from pytest_promptcheck.checks.output import sample_json
from pytest_promptcheck.errors import CheckArgError
from pytest_promptcheck.patterns import RegexGaveUp
from pytest_promptcheck.quoting import ABSENT, PathPart, as_text, clip, compact, format_path

if TYPE_CHECKING:
    from jsonpath_rfc9535 import JSONPathQuery


def _equals(arg: Any, base_dir: Path) -> CheckFn:
    """``equals: V``: the output equals V.

    With ``format: json`` and output that parsed, JSON equality (``true`` is not ``1``, key order
    ignored); a string V is also tried parsed as JSON. Otherwise text: the output with surrounding
    whitespace stripped equals V stripped; a non-string V is written as JSON (``42``, ``true``),
    and a mapping or list V is compared with the output parsed as JSON.
    """
    candidates = [arg, *_parsed_string(arg)]
    as_json = isinstance(arg, (dict, list))
    expected = as_text(arg)  # once, not per sample

    def run(ctx: SampleContext) -> Verdict:
        if as_json or (ctx.json_format and ctx.json is not NOT_JSON):
            got, error = sample_json(ctx)
            if error is not None:
                return verdict(False, f"equals: {error}")
            verdicts = [_equals_json(candidate, got) for candidate in candidates]
            return next((v for v in verdicts if v.passed), verdicts[-1])
        return _equals_text(expected, ctx.text)

    return run


def _parsed_string(arg: Any) -> list[Any]:
    if not isinstance(arg, str):
        return []
    try:
        return [json.loads(arg)]
    except json.JSONDecodeError:
        return []


def _equals_json(expected: Any, got: Any) -> Verdict:
    diff = first_difference(expected, got)
    if diff is None:
        return verdict(True, "equals: equal as JSON")
    at, want, have = diff
    where = f" at {format_path(at)}" if at else ""
    return verdict(False, f"equals{where}: expected {compact(want)}, got {compact(have)}")


def _equals_text(expected: str, text: str) -> Verdict:
    if text == expected:
        return _EQUAL  # one verdict shared by every sample that equals (verdicts are frozen)
    got, want = text.strip(), expected.strip()
    if got != want:
        return verdict(False, f"equals: expected {compact(want)}, got {compact(got)}")
    return _EQUAL_STRIPPED


_EQUAL = verdict(True, "equals: equal")
_EQUAL_STRIPPED = verdict(True, "equals: equal (ignoring surrounding whitespace)")


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


_OPERATORS = ("equals", "contains", "matches", "exists")
_EXAMPLE = "json_path: {path: $.queue, equals: billing}"


def _json_path(arg: Any, base_dir: Path) -> CheckFn:
    """``json_path: {path: $.a.b, <operator>: V}`` with exactly one operator.

    The path is RFC 9535 JSONPath (checks/jsonpath.py). ``equals``: JSON equality;
    ``contains``: a substring of a string, an item of a list or a key of a mapping; ``matches``:
    ``re.search`` on a string (other values as compact JSON); ``exists: true|false``: the path
    selects something / nothing. When the path selects several values (wildcards, descent,
    filters) the check passes when ANY of them satisfies the operator.
    """
    # imported with the first json_path: a run without one does not load the library (~20 ms)
    from pytest_promptcheck.checks.jsonpath import PathStopped, find

    text, query, operator, value = _json_path_arg(arg)
    test = _operator_test(operator, value)
    label = f"json_path {text} {operator} {compact(value, 30)}"

    def run(ctx: SampleContext) -> Verdict:
        document, error = sample_json(ctx)
        if error is not None:
            return unevaluated(f"json_path {text}: output is not JSON")
        try:
            found = find(query, document)
            passed = test(found)
        except (RegexGaveUp, PathStopped) as exc:
            return unevaluated(clip(f"{label}: {exc}", 200))
        return verdict(passed, f"{label}: {_outcome(operator, passed, found)}")

    return run


def _outcome(operator: str, passed: bool, found: list[Any]) -> str:
    if operator == "exists":
        return f"{len(found)} matched"
    if passed:
        return "yes"
    if not found:
        return "path not found"
    return "got " + compact(found[0] if len(found) == 1 else found, 50)


def _json_path_arg(arg: Any) -> tuple[str, JSONPathQuery, str, Any]:
    from pytest_promptcheck.checks.jsonpath import SYNTAX, BadPath, compile_path

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
        query = compile_path(arg["path"])
    except BadPath as exc:
        hint = f"RFC 9535 JSONPath, e.g. {SYNTAX}; quote keys that are not names: $['order-id']"
        raise CheckArgError(clip(str(exc), 200), hint=hint) from None
    return arg["path"].strip(), query, operators[0], arg[operators[0]]


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


CHECKS: tuple[tuple[str, CheckFactory], ...] = (("equals", _equals), ("json_path", _json_path))
