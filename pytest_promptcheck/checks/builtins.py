"""Every built-in check, registered in a fresh registry per project."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pytest_promptcheck.checks.api import Check, CheckFactory
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
    registry.register("similar", _similar())
    for name, factory in tool_checks(registry):
        registry.register(name, factory)
    registry.seal_built_ins()
    return registry


def _similar() -> CheckFactory:
    """``similar``, imported by the first file that uses it (a run without it pays nothing);
    its backends, loaded on first use, belong to this registry."""
    factory: CheckFactory | None = None

    def compile_similar(arg: Any, base_dir: Path) -> Check:
        nonlocal factory
        if factory is None:
            from pytest_promptcheck.checks.similar import similar_check
            from pytest_promptcheck.embeddings.bundled import LocalEmbedders

            factory = similar_check(LocalEmbedders())
        return factory(arg, base_dir)

    return compile_similar
