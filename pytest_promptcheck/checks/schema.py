"""The ``schema`` check: the output, as JSON, is valid against a JSON Schema (schemas.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pytest_promptcheck.canonical import canonical_json
from pytest_promptcheck.checks.api import (
    CheckFactory,
    CheckFn,
    SampleContext,
    Verdict,
    unevaluated,
    verdict,
)
from pytest_promptcheck.checks.output import sample_json
from pytest_promptcheck.project import Project
from pytest_promptcheck.schemas import Schema, first_schema_error, load_schema


def schema_check(project: Project) -> CheckFactory:
    """``schema: S``: the output, as JSON, is valid against S (a file path or inline schema).

    The reason names the first failing element by JSON path, e.g. ``schema: $.queue: ...``.
    """

    # A schema check written in every case names the same schema thousands of times: this
    # run's registry reads, checks and resolves the refs of each distinct one once.
    loaded: dict[tuple[str, Path], Schema] = {}

    def factory(arg: Any, base_dir: Path) -> CheckFn:
        memo = (canonical_json(arg), base_dir)
        schema = loaded.get(memo)
        if schema is None:
            schema = loaded[memo] = load_schema(arg, base_dir, project)

        def run(ctx: SampleContext) -> Verdict:
            document, error = sample_json(ctx)
            if error is not None:
                return unevaluated(f"schema: {error}")
            problem = first_schema_error(document, schema)
            if problem is None:
                return verdict(True, "schema: valid")
            return verdict(False, f"schema: {problem}")

        return run

    return factory
