"""One ``expect:`` entry compiled into a CheckSpec: the same rules for a prompt file and for
the ``promptcheck`` fixture's ``check`` (a one-key mapping plus an optional ``weight``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from pytest_promptcheck.canonical import canonical_json
from pytest_promptcheck.checks.api import Check, ModelCheck
from pytest_promptcheck.checks.registry import CheckRegistry
from pytest_promptcheck.errors import CheckArgError


@dataclass(frozen=True)
class CheckSpec:
    """One check of a case, prepared at collection time."""

    kind: str
    arg: Any
    weight: float
    check: Check

    @property
    def asks(self) -> ModelCheck | None:
        """The check's model calls, when it makes any."""
        return self.check if isinstance(self.check, ModelCheck) else None

    @cached_property  # read for every sample scored; a spec is shared by the cases it fits
    def label(self) -> str:
        text = self.arg if isinstance(self.arg, str) else canonical_json(self.arg)
        text = json.dumps(text) if isinstance(self.arg, str) else text
        return f"{self.kind} {text if len(text) <= 60 else text[:59] + '…'}"


class CheckItemError(CheckArgError):
    """An ``expect:`` entry is wrong; ``field`` is its key that is wrong (None: the entry)."""

    def __init__(self, message: str, hint: str | None, field: str | None) -> None:
        super().__init__(message, hint)
        self.field = field


def compile_check(item: Any, registry: CheckRegistry, base: Path) -> CheckSpec:
    """Compile one entry; raises CheckItemError."""
    kinds = [k for k in item if k != "weight"] if isinstance(item, dict) else []
    if len(kinds) != 1:
        problem = (
            "has no check type" if not kinds else f"has several check types ({', '.join(kinds)})"
        )
        hint = "write one check per list item, e.g. '- contains: refund'"
        raise CheckItemError(f"check {problem}", hint, None)
    kind = kinds[0]
    try:
        check = registry.compile(kind, item[kind], base)
    except CheckArgError as exc:
        raise CheckItemError(f"check '{kind}': {exc.message}", exc.hint, kind) from None
    weight = item.get("weight", 1.0)
    if isinstance(weight, bool) or not isinstance(weight, int | float) or weight < 0:
        raise CheckItemError(
            f"check '{kind}': weight must be a number of 0 or more, got {weight!r}",
            "e.g. '- contains: refund' with 'weight: 2' on the next line",
            "weight",
        )
    return CheckSpec(kind, item[kind], float(weight), check)


class CheckCompiler:
    """Compiles the ``expect:`` entries of one prompt file. An entry of plain values for a
    built-in check, written again (the same check on every case), is compiled once: such a
    check depends only on its entry and folder, and compiling it again cost more than the rest
    of loading a case. A plugin's check is compiled for each entry, as its factory may keep
    state per case."""

    def __init__(self, registry: CheckRegistry) -> None:
        self.registry = registry
        self._compiled: dict[tuple[Path, tuple[Any, ...]], CheckSpec] = {}

    def compile(self, item: Any, base: Path) -> CheckSpec:
        """``compile_check``, once per plain entry; raises CheckItemError."""
        plain = _plain_entry(item)
        if plain is None or not all(
            name == "weight" or self.registry.built_in(name) for name, _, _ in plain
        ):
            return compile_check(item, self.registry, base)
        key = (base, plain)
        if key not in self._compiled:
            self._compiled[key] = compile_check(item, self.registry, base)
        return self._compiled[key]


def _plain_entry(item: Any) -> tuple[Any, ...] | None:
    """The entry's keys, value types and values' reprs, when every value is a str, int,
    float, bool or None (1, 1.0 and true are equal in Python, and so are 0.0 and -0.0, but
    not as checks: a check's label shows its value)."""
    if type(item) is not dict:
        return None
    entry = tuple((name, type(value), repr(value)) for name, value in item.items())
    return entry if all(kind in _PLAIN for _, kind, _ in entry) else None


_PLAIN = frozenset({str, int, float, bool, type(None)})
