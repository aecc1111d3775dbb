"""Checks on the output as text: substrings, prefix, regex, one of a list, length, refusal.

Each factory validates its argument at collection time (raising CheckArgError with an example in
the hint) and returns ``SampleContext -> Verdict``. Reasons are one line, start with the check's
name, and quote values as compact JSON clipped with an ellipsis. Checks score 1 or 0 unless noted.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pytest_promptcheck.checks.api import (
    CheckFactory,
    CheckFn,
    SampleContext,
    Verdict,
    unevaluated,
    verdict,
)
from pytest_promptcheck.checks.args import arg_error, compile_regex, text_arg, texts_arg
from pytest_promptcheck.errors import CheckArgError
from pytest_promptcheck.patterns import RegexGaveUp
from pytest_promptcheck.quoting import as_text, compact


def _contains(arg: Any, base_dir: Path) -> CheckFn:
    """``contains: S``: S occurs in the output, case-sensitive."""
    return _substring("contains", text_arg(arg, "contains: refund"), re.NOFLAG)


def _icontains(arg: Any, base_dir: Path) -> CheckFn:
    """``icontains: S``: like ``contains``, ignoring case."""
    return _substring("icontains", text_arg(arg, "icontains: refund"), re.IGNORECASE)


def _substring(kind: str, needle: str, flags: re.RegexFlag) -> CheckFn:
    pattern = re.compile(re.escape(needle), flags)

    def run(ctx: SampleContext) -> Verdict:
        found = pattern.search(ctx.text)
        if found:
            return verdict(True, f"{kind} {compact(needle)}: found at {found.start()}")
        return verdict(False, f"{kind} {compact(needle)}: not found in {compact(ctx.text, 50)}")

    return run


def _contains_all(arg: Any, base_dir: Path) -> CheckFn:
    """``contains_all: [..]``: every substring occurs; score = fraction present."""
    needles = texts_arg(arg, "contains_all: [refund, order]")

    def run(ctx: SampleContext) -> Verdict:
        missing = [needle for needle in needles if needle not in ctx.text]
        score = 1.0 - len(missing) / len(needles)
        if not missing:
            return Verdict(True, score, f"contains_all: all {len(needles)} found")
        reason = f"contains_all: {len(missing)} of {len(needles)} missing: {compact(missing, 70)}"
        return Verdict(False, score, reason)

    return run


def _contains_any(arg: Any, base_dir: Path) -> CheckFn:
    """``contains_any: [..]``: at least one substring occurs."""
    needles = texts_arg(arg, "contains_any: [refund, reimburse]")

    def run(ctx: SampleContext) -> Verdict:
        hits = [needle for needle in needles if needle in ctx.text]
        if hits:
            return verdict(True, f"contains_any: found {compact(hits[0])}")
        return verdict(False, f"contains_any: none of {compact(needles, 80)} found")

    return run


def _starts_with(arg: Any, base_dir: Path) -> CheckFn:
    """``starts_with: S``: the output, leading whitespace stripped, starts with S."""
    prefix = text_arg(arg, "starts_with: Dear")

    def run(ctx: SampleContext) -> Verdict:
        text = ctx.text.lstrip()
        if text.startswith(prefix):
            return verdict(True, f"starts_with {compact(prefix)}: yes")
        head = compact(text[: len(prefix) + 20], 50)
        return verdict(False, f"starts_with {compact(prefix)}: output starts with {head}")

    return run


def _regex(arg: Any, base_dir: Path) -> CheckFn:
    """``regex: P``: ``re.search`` of P in the raw output; use ``(?i)`` etc. for flags.

    A search that runs past the time limit fails the sample (see patterns.py).
    """
    pattern = compile_regex(text_arg(arg, r"regex: '^\d+$'"))

    label = f"regex {compact(pattern.pattern, 40)}"

    def run(ctx: SampleContext) -> Verdict:
        try:
            found = pattern.search(ctx.text)
        except RegexGaveUp as exc:
            return unevaluated(f"{label}: {exc}")
        if found:
            matched = compact(found.group(), 40)
            return verdict(True, f"{label}: matched {matched} at {found.start()}")
        return verdict(False, f"{label}: no match in {compact(ctx.text, 50)}")

    return run


def _one_of(arg: Any, base_dir: Path) -> CheckFn:
    """``one_of: [..]``: the stripped output equals one of the values, compared as text.

    Non-string values are written as JSON (``true``, ``null``, ``42``) before comparing.
    """
    example = "one_of: [billing, tech, other]"
    if not isinstance(arg, list) or not arg:
        raise arg_error("a non-empty list of values", arg, example)
    for index, item in enumerate(arg):
        if isinstance(item, (dict, list)):
            raise arg_error("a string or number", item, example, where=f"item {index}")
    options = [as_text(item).strip() for item in arg]

    def run(ctx: SampleContext) -> Verdict:
        got = ctx.text.strip()
        if got in options:
            return verdict(True, f"one_of: {compact(got)} is one of {len(options)} values")
        return verdict(False, f"one_of {compact(options, 60)}: got {compact(got)}")

    return run


_LENGTH_KEYS = ("min_words", "max_words", "min_chars", "max_chars")


def _length(arg: Any, base_dir: Path) -> CheckFn:
    """``length: {min_words, max_words, min_chars, max_chars}``: bounds on the stripped output.

    Words are whitespace-separated runs; chars are Unicode code points. Bounds are inclusive.
    """
    limits = _length_arg(arg)

    def run(ctx: SampleContext) -> Verdict:
        text = ctx.text.strip()
        counts = {"words": len(text.split()), "chars": len(text)}
        broken = [_broken_limit(key, limit, counts) for key, limit in limits.items()]
        problems = [problem for problem in broken if problem]
        if problems:
            return verdict(False, "length: " + "; ".join(problems))
        return verdict(True, f"length: {counts['words']} words, {counts['chars']} chars, in bounds")

    return run


def _length_arg(arg: Any) -> dict[str, int]:
    example = "length: {min_words: 3, max_words: 50}"
    if not isinstance(arg, dict) or not arg:
        raise arg_error("a mapping with min_words, max_words, min_chars or max_chars", arg, example)
    for key, value in arg.items():
        if key not in _LENGTH_KEYS:
            raise CheckArgError(f"unknown key '{key}'", hint=f"use {', '.join(_LENGTH_KEYS)}")
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise arg_error("a non-negative integer", value, example, where=key)
    for unit in ("words", "chars"):
        low, high = arg.get(f"min_{unit}", 0), arg.get(f"max_{unit}")
        if high is not None and low > high:
            raise CheckArgError(f"min_{unit} {low} is more than max_{unit} {high}", hint=example)
    return arg


def _broken_limit(key: str, limit: int, counts: dict[str, int]) -> str | None:
    bound, unit = key.split("_")
    count = counts[unit]
    if bound == "min" and count < limit:
        return f"{count} {unit} < {key} {limit}"
    if bound == "max" and count > limit:
        return f"{count} {unit} > {key} {limit}"
    return None


_REFUSAL = re.compile(
    r"\b(?:i can['\u2019]t|i cannot|i can not|i won['\u2019]t|as an ai\b"
    r"|i(?:['\u2019]m| am) (?:not able to|unable)|i['\u2019]m sorry, but|i apologi[sz]e, but"
    r"|cannot help with|not able to help)",
    re.IGNORECASE,
)
_REFUSAL_WINDOW = 200


def _refusal(arg: Any, base_dir: Path) -> CheckFn:
    """``refusal: false``: the output is not a refusal; ``refusal: true``: it must be one.

    A refusal is one of a few phrases ("I can't", "I cannot", "As an AI", "I'm sorry, but", ...),
    any case, within the first 200 characters of the output.
    """
    if not isinstance(arg, bool):
        raise arg_error("true or false", arg, "refusal: false")

    def run(ctx: SampleContext) -> Verdict:
        found = _REFUSAL.search(ctx.text.lstrip()[:_REFUSAL_WINDOW])
        if found is None:
            return verdict(not arg, "refusal: not a refusal (no refusal phrase at the start)")
        where = f"{compact(found.group())} at {found.start()}"
        return verdict(arg, f"refusal: looks like a refusal ({where})")

    return run


CHECKS: tuple[tuple[str, CheckFactory], ...] = (
    ("contains", _contains),
    ("icontains", _icontains),
    ("contains_all", _contains_all),
    ("contains_any", _contains_any),
    ("starts_with", _starts_with),
    ("regex", _regex),
    ("one_of", _one_of),
    ("length", _length),
    ("refusal", _refusal),
)
