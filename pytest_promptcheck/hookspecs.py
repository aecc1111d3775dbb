"""Extension hooks: plugins and conftest.py files add checks and provider types through these."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from pytest_promptcheck.checks.registry import CheckRegistry
    from pytest_promptcheck.providers.registry import ProviderRegistry

hookspec = pluggy.HookspecMarker("pytest")


@hookspec
def pytest_promptcheck_add_checks(registry: CheckRegistry) -> None:
    """Register custom checks: ``registry.register("my_check", factory)``.

    ``factory(arg, prompt_dir)`` validates the check's argument at collection time
    (raise ``pytest_promptcheck.CheckArgError``) and returns a function
    ``(SampleContext) -> Verdict``, or a ``pytest_promptcheck.ModelCheck`` when the check asks
    a model about the output: it declares its calls, the run makes them in the call phase
    (planned, cached, retried) and its ``judge`` gets their answers. A check that reads a file
    the prompt file names keeps it inside the project with
    ``registry.project.confine(prompt_dir / arg, arg)``.
    """


@hookspec
def pytest_promptcheck_add_providers(registry: ProviderRegistry) -> None:
    """Register provider types: ``registry.register("bedrock", factory, options=["region"])``.

    ``factory(config, context)`` returns a provider (``pytest_promptcheck.providers.base.Provider``)
    for the model ids ``bedrock:<model>`` and for each ``[tool.promptcheck.providers.<name>]``
    table with ``type = "bedrock"`` (its extra keys in ``config.options``). Called once per run
    in ``pytest_configure``: implement it in a plugin or in the rootdir's ``conftest.py``.
    """
