"""Built-in checks (DESIGN §3) and the registry that compiles ``expect:`` entries.

Each factory validates its argument at collection time (raising CheckArgError with an example in
the hint) and returns ``SampleContext -> Verdict``. Reasons are one line, start with the check's
name, and quote values as compact JSON clipped with an ellipsis. Checks score 1 or 0 unless noted.

``not_<check>`` works for every registered check: pass/fail flips, the score becomes 1 - score,
and the reason gets a ``not_`` prefix, e.g. ``not_contains "sorry": found at 12``.
"""

from __future__ import annotations

import difflib
import importlib
import json
import math
import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from pytest_promptcheck.errors import CheckArgError
from pytest_promptcheck.jsonpath import (
    as_text,
    clip,
    compact,
    compile_regex,
    first_difference,
    format_path,
    json_path_check,
    output_json,
)
from pytest_promptcheck.patterns import RegexGaveUp
from pytest_promptcheck.project import Project
from pytest_promptcheck.records import Completion
from pytest_promptcheck.schemas import schema_check
from pytest_promptcheck.verdict import (
    NOT_JSON,
    Check,
    CheckFactory,
    CheckFn,
    ModelCheck,
    SampleContext,
    Verdict,
)

_PLANNED = ("judge", "similar")
_RESERVED = ("weight",)


class CheckRegistry:
    """Check types by name; plugins add theirs through ``pytest_promptcheck_add_checks``.

    A registry compiles the checks of one project's files: ``project`` says what they may reach
    (a plugin check that reads a file confines it with ``registry.project.confine``).
    """

    def __init__(self, project: Project) -> None:
        self.project = project
        self._factories: dict[str, CheckFactory] = {}

    def register(self, name: str, factory: CheckFactory) -> None:
        if name in self._factories:
            raise ValueError(f"check '{name}' is already registered")
        if name.startswith("not_") or name in _RESERVED:
            raise ValueError(f"'{name}' cannot name a check: not_<check> and weight are reserved")
        self._factories[name] = factory

    def names(self) -> list[str]:
        """Registered base names; each one also works as ``not_<name>``."""
        return sorted(self._factories)

    def compile(self, kind: str, arg: Any, base_dir: Path) -> Check:
        base = kind.removeprefix("not_")
        if kind in self._factories:
            return self._factories[kind](arg, base_dir)
        if base != kind and base in self._factories:
            return _negated(base, self._factories[base](arg, base_dir))
        raise self._unknown(kind, base)

    def _unknown(self, kind: str, base: str) -> CheckArgError:
        known = f"known checks: {', '.join(self.names())} (each also as not_<check>)"
        if base in _PLANNED and base not in self._factories:
            hint = f"'{base}' is not available yet in this version of pytest-promptcheck; {known}"
            return CheckArgError(f"unknown check type '{kind}'", hint=hint)
        candidates = self.names() + [f"not_{name}" for name in self.names()]
        close = difflib.get_close_matches(kind, candidates, n=1)
        guess = f"did you mean '{close[0]}'? " if close else ""
        return CheckArgError(f"unknown check type '{kind}'", hint=guess + known)


def _negated(base: str, check: Check) -> Check:
    if isinstance(check, ModelCheck):
        judge = check.judge
        return replace(check, judge=lambda ctx, answers: negation(base, judge(ctx, answers)))
    return lambda ctx: negation(base, check(ctx))


def negation(base: str, verdict: Verdict) -> Verdict:
    """``not_<base>``'s verdict: pass/fail and score flip; a verdict that could not judge the
    sample stays a failure."""
    own = verdict.reason.startswith((f"{base} ", f"{base}:"))
    reason = f"not_{verdict.reason}" if own else f"not_{base}: {verdict.reason}"
    if not verdict.evaluated:
        return Verdict(False, 0.0, reason, evaluated=False)
    return Verdict(not verdict.passed, 1.0 - verdict.score, reason)


def _verdict(passed: bool, reason: str) -> Verdict:
    return Verdict(passed, 1.0 if passed else 0.0, reason)


def unevaluated(reason: str) -> Verdict:
    """The check could not judge this sample: a failure that negation does not flip."""
    return Verdict(False, 0.0, reason, evaluated=False)


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


def _texts_arg(arg: Any, example: str) -> list[str]:
    expected = "a non-empty list of non-empty strings"
    if not isinstance(arg, list) or not arg:
        raise arg_error(expected, arg, example)
    for index, item in enumerate(arg):
        if not isinstance(item, str) or not item:
            raise arg_error(expected, item, example, where=f"item {index}")
    return arg


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
            return _verdict(True, f"{kind} {compact(needle)}: found at {found.start()}")
        return _verdict(False, f"{kind} {compact(needle)}: not found in {compact(ctx.text, 50)}")

    return run


def _contains_all(arg: Any, base_dir: Path) -> CheckFn:
    """``contains_all: [..]``: every substring occurs; score = fraction present."""
    needles = _texts_arg(arg, "contains_all: [refund, order]")

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
    needles = _texts_arg(arg, "contains_any: [refund, reimburse]")

    def run(ctx: SampleContext) -> Verdict:
        hits = [needle for needle in needles if needle in ctx.text]
        if hits:
            return _verdict(True, f"contains_any: found {compact(hits[0])}")
        return _verdict(False, f"contains_any: none of {compact(needles, 80)} found")

    return run


def _starts_with(arg: Any, base_dir: Path) -> CheckFn:
    """``starts_with: S``: the output, leading whitespace stripped, starts with S."""
    prefix = text_arg(arg, "starts_with: Dear")

    def run(ctx: SampleContext) -> Verdict:
        text = ctx.text.lstrip()
        if text.startswith(prefix):
            return _verdict(True, f"starts_with {compact(prefix)}: yes")
        head = compact(text[: len(prefix) + 20], 50)
        return _verdict(False, f"starts_with {compact(prefix)}: output starts with {head}")

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
            return Verdict(False, 0.0, f"{label}: {exc}", evaluated=False)
        if found:
            matched = compact(found.group(), 40)
            return _verdict(True, f"{label}: matched {matched} at {found.start()}")
        return _verdict(False, f"{label}: no match in {compact(ctx.text, 50)}")

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
            return _verdict(True, f"one_of: {compact(got)} is one of {len(options)} values")
        return _verdict(False, f"one_of {compact(options, 60)}: got {compact(got)}")

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
            return _verdict(False, "length: " + "; ".join(problems))
        return _verdict(
            True, f"length: {counts['words']} words, {counts['chars']} chars, in bounds"
        )

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
            return _verdict(not arg, "refusal: not a refusal (no refusal phrase at the start)")
        where = f"{compact(found.group())} at {found.start()}"
        return _verdict(arg, f"refusal: looks like a refusal ({where})")

    return run


Measure = Callable[[Completion], float | None]


def _budget(kind: str, limit_example: float, unit: str, measure: Measure) -> CheckFactory:
    """A per-sample upper bound on one measure of the completion; the limit itself passes.

    ``unit`` formats a value, e.g. ``"{:.0f} ms"``. A measure of None means the cost is unknown
    (no prices for the model), which fails the check.
    """

    def factory(arg: Any, base_dir: Path) -> CheckFn:
        if isinstance(arg, bool) or not isinstance(arg, (int, float)) or arg < 0:
            raise arg_error("a non-negative number", arg, f"{kind}: {limit_example}")

        def run(ctx: SampleContext) -> Verdict:
            value = measure(ctx.completion)
            if value is None:
                return unevaluated("cost unknown: no prices configured for this model")
            word = "within" if value <= arg else "over"
            limit = unit.format(arg)
            return _verdict(value <= arg, f"{kind}: {unit.format(value)}, {word} the {limit} limit")

        return run

    return factory


_max_latency_ms = _budget("max_latency_ms", 8000, "{:.0f} ms", lambda c: c.latency_ms)
_max_tokens = _budget("max_tokens", 200, "{:g} tokens", lambda c: c.tokens_out)
_max_cost_usd = _budget("max_cost_usd", 0.01, "${:.6g}", lambda c: c.cost_usd)


def _equals(arg: Any, base_dir: Path) -> CheckFn:
    """``equals: V``: the output equals V.

    With ``format: json`` and output that parsed, JSON equality (``true`` is not ``1``, key order
    ignored); a string V is also tried parsed as JSON. Otherwise text: the output with surrounding
    whitespace stripped equals V stripped; a non-string V is written as JSON (``42``, ``true``),
    and a mapping or list V is compared with the output parsed as JSON.
    """
    candidates = [arg, *_parsed_string(arg)]

    def run(ctx: SampleContext) -> Verdict:
        if isinstance(arg, (dict, list)) or (ctx.json_format and ctx.json is not NOT_JSON):
            got, error = output_json(ctx)
            if error is not None:
                return _verdict(False, f"equals: output is not JSON ({error})")
            verdicts = [_equals_json(candidate, got) for candidate in candidates]
            return next((v for v in verdicts if v.passed), verdicts[-1])
        return _equals_text(as_text(arg), ctx.text)

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
        return _verdict(True, "equals: equal as JSON")
    at, want, have = diff
    where = f" at {format_path(at)}" if at else ""
    return _verdict(False, f"equals{where}: expected {compact(want)}, got {compact(have)}")


def _equals_text(expected: str, text: str) -> Verdict:
    got, want = text.strip(), expected.strip()
    if got != want:
        return _verdict(False, f"equals: expected {compact(want)}, got {compact(got)}")
    note = "" if text == expected else " (ignoring surrounding whitespace)"
    return _verdict(True, f"equals: equal{note}")


_PYTHON_HINT = "the module must be importable: add its folder to `pythonpath` in your pytest ini"
_PYTHON_EXAMPLE = "python: my_checks:is_polite, or python: {function: my_checks:score, min: 0.7}"


def python_check(project: Project) -> CheckFactory:
    """``python: package.module:function`` or ``{function: ..., min: 0.5}``: a custom check.

    Only functions defined in the project's own modules, or in modules the ini key
    ``promptcheck_python_modules`` allows, may be named: a prompt file must not be able to name
    ``builtins:exec``. Imported at collection time and called as ``f(output, {"id", "vars",
    "json"})`` (json: the parsed output or None). ``bool`` -> score 1/0; a number -> score
    clamped to [0, 1], passing at ``min`` or above; a Verdict is used as it is. Any other
    result, or an exception, fails the sample with a one-line reason.
    """

    def factory(arg: Any, base_dir: Path) -> CheckFn:
        target, minimum = _python_arg(arg)
        function = _import_function(target, project)

        def run(ctx: SampleContext) -> Verdict:
            document, error = output_json(ctx)
            case = {"id": ctx.case_id, "vars": ctx.vars, "json": None if error else document}
            try:
                result = function(ctx.text, case)
            except Exception as exc:  # the user's function failing is this sample's verdict
                return unevaluated(clip(f"python {target}: raised {_exception(exc)}"))
            return _python_verdict(target, result, minimum)

        return run

    return factory


def _python_arg(arg: Any) -> tuple[str, float]:
    if isinstance(arg, str):
        return arg, 0.5
    if not isinstance(arg, dict) or not isinstance(arg.get("function"), str):
        raise arg_error("'module:function' or a mapping with 'function'", arg, _PYTHON_EXAMPLE)
    unknown = sorted(set(arg) - {"function", "min"})
    if unknown:
        raise CheckArgError(f"unknown key '{unknown[0]}'", hint="use 'function' and 'min'")
    minimum = arg.get("min", 0.5)
    if isinstance(minimum, bool) or not isinstance(minimum, (int, float)) or not 0 <= minimum <= 1:
        raise arg_error("a number from 0 to 1", minimum, _PYTHON_EXAMPLE, where="min")
    return arg["function"], float(minimum)


def _import_function(target: str, project: Project) -> Callable[..., Any]:
    module_name, _, attribute = target.partition(":")
    if not module_name or not attribute:
        raise arg_error("'module:function'", target, _PYTHON_EXAMPLE)
    try:
        project.check_module(target, module_name)  # before importing: an import runs code
        found: Any = importlib.import_module(module_name)
        for name in attribute.split("."):
            found = getattr(found, name)
    except CheckArgError:  # the module is not the project's: said as it is
        raise
    except Exception as exc:  # whatever importing the user's module raises is a collection error
        message = clip(f"cannot import {target}: {_exception(exc)}")
        raise CheckArgError(message, hint=_PYTHON_HINT) from None
    if not callable(found):
        raise CheckArgError(f"{target} is not a function", hint=_PYTHON_EXAMPLE)
    # an allowed module can still hand out another's function (mycheck = os.system)
    project.check_defined_in(target, getattr(found, "__module__", None))
    return found  # type: ignore[no-any-return]


def _exception(exc: Exception) -> str:
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


def _python_verdict(target: str, result: Any, minimum: float) -> Verdict:
    if isinstance(result, Verdict):
        return result
    if isinstance(result, bool):
        return _verdict(result, f"python {target}: returned {result}")
    if isinstance(result, (int, float)) and not math.isnan(result):
        score = min(1.0, max(0.0, float(result)))
        passed = score >= minimum
        return Verdict(passed, score, f"python {target}: score {score:.2f}, min {minimum:g}")
    kind = type(result).__name__
    return unevaluated(f"python {target}: returned {kind}, expected bool, number or Verdict")


BUILTINS: tuple[tuple[str, CheckFactory], ...] = (
    ("equals", _equals),
    ("contains", _contains),
    ("icontains", _icontains),
    ("contains_all", _contains_all),
    ("contains_any", _contains_any),
    ("starts_with", _starts_with),
    ("regex", _regex),
    ("one_of", _one_of),
    ("length", _length),
    ("refusal", _refusal),
    ("max_latency_ms", _max_latency_ms),
    ("max_tokens", _max_tokens),
    ("max_cost_usd", _max_cost_usd),
    ("json_path", json_path_check),
)


def builtin_registry(project: Project) -> CheckRegistry:
    """A fresh registry holding every built-in check, for checks in files of ``project``."""
    registry = CheckRegistry(project)
    for name, factory in BUILTINS:
        registry.register(name, factory)
    registry.register("schema", schema_check(project))
    registry.register("python", python_check(project))
    return registry
