"""Run-wide state: settings, check registry, providers, cache, client and the event loop."""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import Coroutine
from typing import Any, TypeVar

import pytest

from pytest_promptcheck.cache import ResponseCache
from pytest_promptcheck.checks import CheckRegistry, builtin_registry
from pytest_promptcheck.client import ModelClient
from pytest_promptcheck.errors import UsageError
from pytest_promptcheck.providers import ProviderSet
from pytest_promptcheck.records import Completion
from pytest_promptcheck.report import RunSummary
from pytest_promptcheck.settings import DEFAULT_MODEL, Settings
from pytest_promptcheck.spec import Case, PromptSpec

T = TypeVar("T")


class PromptcheckSession:
    """One per pytest run (and per xdist worker); kept in ``config.stash``."""

    def __init__(self, config: pytest.Config, settings: Settings) -> None:
        self.settings = settings
        self.registry: CheckRegistry = builtin_registry()
        config.hook.pytest_promptcheck_add_checks(registry=self.registry)
        self.providers = ProviderSet(settings.providers, settings.cache_dir)
        self.client = ModelClient(
            self.providers, ResponseCache(settings.cache_dir, settings.cache_mode)
        )
        self.summary = RunSummary()
        self._loop: asyncio.AbstractEventLoop | None = None
        for model in settings.models:
            self.check_model(model)

    def models_for(self, spec: PromptSpec) -> tuple[str, ...]:
        """CLI/ini models win over the file's ``model:``, which wins over the built-in default."""
        if self.settings.models:
            return self.settings.models
        return (spec.model or DEFAULT_MODEL,)

    def check_model(self, model: str) -> None:
        self.providers.check_model(model)
        if model.startswith("local:") and not _importable("llama_cpp"):
            raise UsageError(
                f"model '{model}' needs the [local] extra: pip install 'pytest-promptcheck[local]'"
            )

    def completions(self, spec: PromptSpec, case: Case, model: str) -> list[Completion]:
        return self.run(self.client.samples(spec.request(case, model), spec.samples))

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
        return self._loop.run_until_complete(coroutine)

    def close(self) -> None:
        if self._loop is not None:
            self._loop.run_until_complete(self.providers.aclose())
            self._loop.close()
            self._loop = None
        self.client.cache.close()


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # ValueError: blocked with sys.modules[module] = None
        return False
