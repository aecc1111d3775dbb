"""Checks (DESIGN §3): the registry that compiles ``expect:`` entries, the check API (api.py)
and the built-ins by kind: text, json, schema, budget, python."""

from pytest_promptcheck.checks.builtins import builtin_registry
from pytest_promptcheck.checks.registry import CheckRegistry

__all__ = ["CheckRegistry", "builtin_registry"]
