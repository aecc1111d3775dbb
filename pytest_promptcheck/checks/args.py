"""Argument helpers of the built-in checks: one-line complaints with an example, and regexes.

A check validates its argument at collection time; what it raises here becomes a collection
error naming the prompt file and line.
"""

from __future__ import annotations

import re
from typing import Any

from pytest_promptcheck.errors import CheckArgError
from pytest_promptcheck.patterns import Pattern, compile_pattern
from pytest_promptcheck.quoting import compact


def _kind(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"the boolean {compact(value)}"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the string {compact(value, 30)}" if value else "an empty string"
    if isinstance(value, list):
        return "a list"
    return "a mapping" if isinstance(value, dict) else type(value).__name__


def arg_error(expected: str, arg: Any, example: str, *, where: str = "") -> CheckArgError:
    """The one-line complaint about a check argument of the wrong type, with an example."""
    prefix = f"{where}: " if where else ""
    return CheckArgError(f"{prefix}expected {expected}, got {_kind(arg)}", hint=f"e.g. {example}")


def text_arg(arg: Any, example: str) -> str:
    if not isinstance(arg, str) or not arg:
        raise arg_error("a non-empty string (quote numbers)", arg, example)
    return arg


def texts_arg(arg: Any, example: str) -> list[str]:
    expected = "a non-empty list of non-empty strings"
    if not isinstance(arg, list) or not arg:
        raise arg_error(expected, arg, example)
    for index, item in enumerate(arg):
        if not isinstance(item, str) or not item:
            raise arg_error(expected, item, example, where=f"item {index}")
    return arg


def compile_regex(source: str) -> Pattern:
    """A pattern from a check's argument; a bad one is a CheckArgError at collection time."""
    try:
        return compile_pattern(source)
    except re.error as exc:
        raise CheckArgError(
            f"invalid regex {compact(source)}: {exc.msg} at position {exc.pos}",
            hint="use Python re syntax; in YAML, single-quote patterns with backslashes: '\\d+'",
        ) from None
