"""The provider contract: what a provider type gives (a factory and its facts) and what each
provider instance does (turn a ModelRequest into a Completion).

A provider type is registered by name with ``registry.register(...)`` from the
``pytest_promptcheck_add_providers(registry)`` hook; the model ids ``<name>:<model>`` and the
``[tool.promptcheck.providers.<table>]`` tables with ``type = "<name>"`` then use it.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from pytest_promptcheck.providers.config import ProviderConfig
from pytest_promptcheck.records import Completion, ModelRequest


class Provider(Protocol):
    """A model backend. One instance serves every model id of its prefix in a session.

    Raise ``pytest_promptcheck.errors.ProviderError`` for a failed call (``retryable=True`` when
    a later try may succeed: the run retries it with backoff until the call deadline) and
    ``UsageError`` for a request it can never serve; any other exception becomes the calling
    items' error, never a crash of the run.
    """

    name: str
    """The prefix it serves (the table's name, or the type's name): shown in its errors."""

    def identity(self, request: ModelRequest) -> dict[str, Any]:
        """What besides the request decides the answer (base URL, model file hash, build).

        Plain JSON data. It goes into the cache key (with the request and the sample index) and
        into the model identity drift compares; never a secret. Called before any live call,
        also on a cache hit: keep it cheap.
        """
        ...

    async def complete(self, request: ModelRequest, sample: int) -> Completion:
        """Make one live call for sample number ``sample`` (0-based) and return its answer:
        text, tool calls, token usage, the model the backend reports, and the cost in USD
        (None when unknown). Calls may run concurrently, up to the type's max concurrency."""
        ...

    async def aclose(self) -> None:
        """Release connections and loaded models at the end of the session."""
        ...


@dataclass(frozen=True)
class ProviderContext:
    """What a provider may need from the run."""

    cache_dir: Path
    """The run's cache directory (``--promptcheck-cache-dir``): room for downloaded models."""
    timeout_s: float
    """The deadline of one request (``--promptcheck-timeout``)."""


ProviderFactory = Callable[[ProviderConfig, ProviderContext], Provider]
"""Creates the provider for one prefix, on its first use in a session."""


@dataclass(frozen=True)
class Requirement:
    """A module a provider type needs installed; checked before anything runs."""

    module: str
    """Importable name, e.g. ``llama_cpp``."""
    install: str
    """How to get it, e.g. ``pip install 'pytest-promptcheck[local]'``."""
    label: str | None = None
    """What to call it in the error (default: the module's name)."""

    def installed(self) -> bool:
        try:
            return importlib.util.find_spec(self.module) is not None
        except (ImportError, ValueError):  # ValueError: blocked with sys.modules[module] = None
            return False

    def missing(self, model: str) -> str:
        """The usage error for a model id whose type needs this module."""
        return f"model '{model}' needs {self.label or repr(self.module)}: {self.install}"


@dataclass(frozen=True)
class ProviderType:
    """A registered provider type: its factory and the facts the run needs before creating it."""

    name: str
    factory: ProviderFactory
    max_concurrency: int | None = None
    """Its own bound on calls in flight (1 for an in-process model); a table's
    ``max_concurrency`` wins, and without either ``--promptcheck-concurrency`` applies."""
    requires: tuple[Requirement, ...] = ()
    options: frozenset[str] = frozenset()
    """Keys it accepts in a pyproject table beyond the common ones; they reach the factory as
    ``ProviderConfig.options``."""

    def missing(self, model: str) -> str | None:
        """The usage error when a module it needs is not installed, else None."""
        for requirement in self.requires:
            if not requirement.installed():
                return requirement.missing(model)
        return None
