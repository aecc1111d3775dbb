"""The check registry: compiles ``expect:`` entries by type, negates any check as ``not_<check>``,
and answers an unknown type with the closest known name.

``not_<check>`` works for every registered check: pass/fail flips, the score becomes 1 - score,
and the reason gets a ``not_`` prefix, e.g. ``not_contains "sorry": found at 12``.
"""

from __future__ import annotations

import difflib
from dataclasses import replace
from pathlib import Path
from typing import Any

from pytest_promptcheck.checks.api import Check, CheckFactory, ModelCheck, Verdict
from pytest_promptcheck.errors import CheckArgError
from pytest_promptcheck.project import Project

_RESERVED = ("weight",)


class CheckRegistry:
    """Check types by name; plugins add theirs through ``pytest_promptcheck_add_checks``.

    A registry compiles the checks of one project's files: ``project`` says what they may reach
    (a plugin check that reads a file confines it with ``registry.project.confine``).
    """

    def __init__(self, project: Project) -> None:
        self.project = project
        self._factories: dict[str, CheckFactory] = {}
        self._built_in: frozenset[str] = frozenset()

    def register(self, name: str, factory: CheckFactory) -> None:
        if name in self._factories:
            raise ValueError(f"check '{name}' is already registered")
        if name.startswith("not_") or name in _RESERVED:
            raise ValueError(f"'{name}' cannot name a check: not_<check> and weight are reserved")
        self._factories[name] = factory

    def seal_built_ins(self) -> None:
        """The checks registered so far are the built-in ones (before any plugin's)."""
        self._built_in = frozenset(self._factories)

    def built_in(self, kind: str) -> bool:
        """Whether ``kind`` (or the check it negates) is built in: its compiled checks keep no
        state between calls, so one may serve every case that writes the same entry."""
        return kind.removeprefix("not_") in self._built_in

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
        candidates = self.names() + [f"not_{name}" for name in self.names()]
        close = difflib.get_close_matches(kind, candidates, n=1)
        guess = f"did you mean '{close[0]}'? " if close else ""
        return CheckArgError(f"unknown check type '{kind}'", hint=guess + known)


def _negated(base: str, check: Check) -> Check:
    if isinstance(check, ModelCheck):  # negating a check that asks models negates its judge
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
