"""Every built-in check, registered in a fresh registry per project."""

from __future__ import annotations

from pytest_promptcheck.checks.budget import CHECKS as BUDGETS
from pytest_promptcheck.checks.flow import CHECKS as FLOW
from pytest_promptcheck.checks.json import CHECKS as JSON
from pytest_promptcheck.checks.judge import judge_check
from pytest_promptcheck.checks.python import python_check
from pytest_promptcheck.checks.registry import CheckRegistry
from pytest_promptcheck.checks.schema import schema_check
from pytest_promptcheck.checks.text import CHECKS as TEXT
from pytest_promptcheck.checks.tools import checks as tool_checks
from pytest_promptcheck.project import Project


def builtin_registry(project: Project, *, judge_model: str | None = None) -> CheckRegistry:
    """A fresh registry holding every built-in check, for checks in files of ``project``;
    ``judge_model``: the run's default judge model (--promptcheck-judge-model or the ini's)."""
    registry = CheckRegistry(project)
    for name, factory in (*JSON, *TEXT, *BUDGETS, *FLOW):
        registry.register(name, factory)
    registry.register("schema", schema_check(project))
    registry.register("python", python_check(project))
    registry.register("judge", judge_check(project, judge_model))
    for name, factory in tool_checks(registry):
        registry.register(name, factory)
    return registry
