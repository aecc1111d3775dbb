"""Tool-call checks: ``tool_called``, ``tool_sequence`` and ``tool_calls_valid``
(``not_tool_called`` is the registry's negation of ``tool_called``).

They read ``ctx.completion.tool_calls`` (and ``ctx.tools`` for what was offered). No check pairs
expectations with calls one after another: ``tool_called`` counts the calls that match, and
``tool_sequence`` compares names as a list, a subsequence or a multiset, so the order in which
expectations are written never changes a verdict. Every reason lists expected against called.
"""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_promptcheck.canonical import canonical_json
from pytest_promptcheck.checks.api import CheckFactory, CheckFn, SampleContext, Verdict, verdict
from pytest_promptcheck.checks.args import arg_error
from pytest_promptcheck.checks.json import json_equal
from pytest_promptcheck.checks.registry import CheckRegistry
from pytest_promptcheck.errors import CheckArgError
from pytest_promptcheck.quoting import as_text, clip
from pytest_promptcheck.records import ToolCall
from pytest_promptcheck.schemas import first_schema_error
from pytest_promptcheck.tools import NotJson, called_list, parse_arguments

ArgMatch = Callable[[SampleContext, Any], bool]
MODES = ("exact", "in_order", "any_order")
_CALLED_EXAMPLE = "tool_called: {name: lookup_order, args: {order_id: A1}, count: {min: 1}}"
_SEQUENCE_EXAMPLE = "tool_sequence: {steps: [search, book], mode: in_order}"


def called_text(calls: tuple[ToolCall, ...], limit: int = 160) -> str:
    """``called [a({...}), b({...})]``, clipped: the right-hand side of every reason."""
    return clip(f"called [{called_list(calls, limit, 60)}]", limit)


# tool_called


@dataclass(frozen=True)
class _Expected:
    name: str
    args: dict[str, ArgMatch]
    shown: str
    low: int
    high: int | None

    def matches(self, ctx: SampleContext, call: ToolCall) -> bool:
        if call.name != self.name:
            return False
        parsed = parse_arguments(call)
        if not isinstance(parsed, dict):
            return not self.args  # unparsable arguments match only when none are listed
        return all(key in parsed and match(ctx, parsed[key]) for key, match in self.args.items())


def tool_called(registry: CheckRegistry) -> CheckFactory:
    """Compiles each argument that is a one-check mapping with ``registry`` at collection."""

    def factory(arg: Any, base_dir: Path) -> CheckFn:
        expected = _expected(arg, registry, base_dir)

        def run(ctx: SampleContext) -> Verdict:
            calls = ctx.completion.tool_calls
            found = sum(expected.matches(ctx, call) for call in calls)
            ok = found >= expected.low and (expected.high is None or found <= expected.high)
            wanted = _count_text(expected.low, expected.high)
            return verdict(
                ok,
                f"tool_called {expected.shown}: {found} matching calls, expected {wanted};"
                f" {called_text(calls)}",
            )

        return run

    return factory


def _expected(arg: Any, registry: CheckRegistry, base_dir: Path) -> _Expected:
    if not isinstance(arg, dict) or not isinstance(arg.get("name"), str) or not arg["name"]:
        raise arg_error("a mapping with a tool 'name'", arg, _CALLED_EXAMPLE)
    unknown = sorted(set(arg) - {"name", "args", "count"})
    if unknown:
        raise CheckArgError(
            f"unknown field '{unknown[0]}'", hint="allowed fields: name, args, count"
        )
    args = arg.get("args", {})
    if not isinstance(args, dict):
        raise arg_error(
            "a mapping of argument names to values", args, _CALLED_EXAMPLE, where="args"
        )
    matchers = {key: _arg_match(key, value, registry, base_dir) for key, value in args.items()}
    low, high = _count(arg.get("count", {}))
    shown = arg["name"] + (f" {clip(canonical_json(args), 60)}" if args else "")
    return _Expected(arg["name"], matchers, shown, low, high)


def _count(count: Any) -> tuple[int, int | None]:
    if not isinstance(count, dict) or set(count) - {"min", "max"}:
        raise arg_error("a mapping with 'min' and/or 'max'", count, "count: {min: 1, max: 2}")
    low, high = count.get("min", 1), count.get("max")
    for key, value in (("min", low), ("max", high)):
        if value is not None and (type(value) is not int or value < 0):
            raise arg_error("a whole number of 0 or more", value, "count: {min: 1}", where=key)
    if high is not None and "min" not in count:
        low = min(low, high)  # {max: 0} alone means "never", not an impossible range
    if high is not None and low > high:
        raise CheckArgError(f"count: min {low} is above max {high}", hint="e.g. {min: 1, max: 2}")
    return low, high


def _count_text(low: int, high: int | None) -> str:
    if high is None:
        return f"at least {low}"
    return f"exactly {low}" if low == high else f"{low} to {high}"


def _arg_match(key: str, value: Any, registry: CheckRegistry, base_dir: Path) -> ArgMatch:
    """A literal compares by JSON equality; a one-key mapping whose key names a check (e.g.
    ``{icontains: paris}``) runs that check on the argument's value."""
    kind = next(iter(value)) if isinstance(value, dict) and len(value) == 1 else None
    if kind is None or not _is_check(kind, registry):
        _refuse_near_miss(key, kind, registry)
        return lambda _ctx, got: json_equal(value, got)
    try:
        check = registry.compile(kind, value[kind], base_dir)
    except CheckArgError as exc:
        raise CheckArgError(f"args.{key}: {kind}: {exc.message}", hint=exc.hint) from None
    if not callable(check):
        raise CheckArgError(
            f"args.{key}: '{kind}' asks a model, which an argument check cannot",
            hint="use a check that reads the value, e.g. {icontains: paris}",
        )
    return lambda ctx, got: check(_argument_context(ctx, got)).passed


def _is_check(kind: str, registry: CheckRegistry) -> bool:
    return kind.removeprefix("not_") in registry.names()


def _refuse_near_miss(key: str, kind: str | None, registry: CheckRegistry) -> None:
    """``{icontain: paris}`` would silently compare as a literal mapping: refuse it instead."""
    if kind is None:
        return
    close = difflib.get_close_matches(kind, registry.names(), n=1, cutoff=0.85)
    if close:
        raise CheckArgError(
            f"args.{key}: '{kind}' is not a check",
            hint=f"did you mean '{close[0]}'? (a literal mapping: wrap it as {{equals: ...}})",
        )


def _argument_context(ctx: SampleContext, value: Any) -> SampleContext:
    """One argument as a check sees it: its text (strings as they are, the rest as JSON), and
    its value as the parsed JSON, so ``equals`` and ``json_path`` compare data."""
    return SampleContext(
        text=as_text(value),
        completion=ctx.completion,
        json=value,
        json_format=True,
        case_id=ctx.case_id,
        vars=ctx.vars,
        tools=ctx.tools,
    )


# tool_sequence


def tool_sequence(arg: Any, base_dir: Path) -> CheckFn:
    steps, mode = _sequence_arg(arg)
    judge = {"exact": _exact, "in_order": _in_order, "any_order": _any_order}[mode]

    def run(ctx: SampleContext) -> Verdict:
        calls = ctx.completion.tool_calls
        names = [call.name for call in calls]
        ok = judge(steps, names)
        expected = clip(f"[{', '.join(steps)}]", 80)
        return verdict(ok, f"tool_sequence {mode}: expected {expected}, {called_text(calls)}")

    return run


def _sequence_arg(arg: Any) -> tuple[list[str], str]:
    if not isinstance(arg, dict) or "steps" not in arg or set(arg) - {"steps", "mode"}:
        raise arg_error("a mapping with 'steps' (and 'mode')", arg, _SEQUENCE_EXAMPLE)
    steps, mode = arg["steps"], arg.get("mode", "exact")
    if not isinstance(steps, list) or not all(isinstance(s, str) and s for s in steps):
        raise arg_error("a list of tool names", steps, _SEQUENCE_EXAMPLE, where="steps")
    if mode not in MODES:
        raise CheckArgError(
            f"mode is {mode!r}, expected one of {', '.join(MODES)}", hint=_SEQUENCE_EXAMPLE
        )
    return steps, mode


def _exact(steps: list[str], names: list[str]) -> bool:
    return steps == names


def _in_order(steps: list[str], names: list[str]) -> bool:
    # Taking the earliest match for each step is optimal for a subsequence test.
    remaining = iter(names)
    return all(any(name == step for name in remaining) for step in steps)


def _any_order(steps: list[str], names: list[str]) -> bool:
    return not Counter(steps) - Counter(names)  # multiplicity counts


# tool_calls_valid


def tool_calls_valid(arg: Any, base_dir: Path) -> CheckFn:
    if arg is not True:
        raise arg_error("true", arg, "tool_calls_valid: true (negate with not_tool_calls_valid)")

    def run(ctx: SampleContext) -> Verdict:
        problems = [
            p for i, c in enumerate(ctx.completion.tool_calls) if (p := _invalid(ctx, i, c))
        ]
        count = len(ctx.completion.tool_calls)
        if not problems:
            return verdict(
                True,
                f"tool_calls_valid: {count} calls valid; {called_text(ctx.completion.tool_calls)}",
            )
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        return verdict(False, f"tool_calls_valid: {problems[0]}{more}")

    return run


def _invalid(ctx: SampleContext, index: int, call: ToolCall) -> str | None:
    offered = {tool.name: tool for tool in ctx.tools}
    where = f"call {index + 1} {call.name}"
    if call.name not in offered:
        names = ", ".join(offered) or "none"
        return clip(f"{where}: not an offered tool (offered: {names})", 160)
    parsed = parse_arguments(call)
    if isinstance(parsed, NotJson):
        return f"{where}: arguments are not valid JSON: {clip(parsed.text, 120)!r}"
    error = first_schema_error(parsed, offered[call.name].parameters)
    if error is not None:
        return f"{where}: arguments do not match its parameters: {error}"
    return None


def checks(registry: CheckRegistry) -> tuple[tuple[str, CheckFactory], ...]:
    """The tool checks for ``registry`` (``tool_called`` compiles argument checks with it)."""
    return (
        ("tool_called", tool_called(registry)),
        ("tool_sequence", tool_sequence),
        ("tool_calls_valid", tool_calls_valid),
    )
