"""Extension hooks: plugins and conftest.py files add checks through these."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from pytest_promptcheck.checks import CheckRegistry

hookspec = pluggy.HookspecMarker("pytest")


@hookspec
def pytest_promptcheck_add_checks(registry: CheckRegistry) -> None:
    """Register custom checks: ``registry.register("my_check", factory)``.

    ``factory(arg, prompt_dir)`` validates the check's argument at collection time
    (raise ``pytest_promptcheck.CheckArgError``) and returns a function
    ``(SampleContext) -> Verdict``. A check that reads a file the prompt file names keeps it
    inside the project with ``registry.project.confine(prompt_dir / arg, arg)``.
    """
