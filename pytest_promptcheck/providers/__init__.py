"""Providers by model-id prefix, created on first use and closed at session end."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pytest_promptcheck.errors import PromptcheckError, ProviderError, UsageError
from pytest_promptcheck.policy import DEFAULT_TIMEOUT_S
from pytest_promptcheck.providers.base import (
    Provider,
    ProviderContext,
    ProviderFactory,
    ProviderType,
    Requirement,
)
from pytest_promptcheck.providers.config import ProviderConfig
from pytest_promptcheck.providers.registry import ProviderRegistry, builtin_registry
from pytest_promptcheck.records import Completion, ModelRequest, ToolCall

# What a provider plugin imports: one path, whatever module each name lives in.
__all__ = [
    "Completion",
    "ModelRequest",
    "Provider",
    "ProviderConfig",
    "ProviderContext",
    "ProviderError",
    "ProviderFactory",
    "ProviderRegistry",
    "ProviderSet",
    "ProviderType",
    "Requirement",
    "ToolCall",
    "builtin_registry",
    "check_model_id",
]


def check_model_id(model: str, configs: dict[str, ProviderConfig], types: ProviderRegistry) -> None:
    """Raise UsageError unless ``model`` is 'provider:model' with a known provider: a table's
    name or a registered type's."""
    prefix, sep, name = model.partition(":")
    if not sep or not name:
        raise UsageError(f"model id '{model}' must be 'provider:model', e.g. openai:gpt-4.1-mini")
    if prefix not in configs and prefix not in types:
        known = ", ".join(sorted({*types.names(), *configs}))
        raise UsageError(
            f"unknown provider '{prefix}' in model id '{model}'; known providers: {known} "
            "(add others in [tool.promptcheck.providers.<name>], or register a type with the "
            "pytest_promptcheck_add_providers hook)"
        )


class ProviderSet:
    """Maps the prefix of a model id to its provider instance; its type's facts decide the rest."""

    def __init__(
        self,
        configs: dict[str, ProviderConfig],
        cache_dir: Path,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        *,
        types: ProviderRegistry | None = None,
    ) -> None:
        self._configs = configs
        self._types = types if types is not None else builtin_registry()
        self._context = ProviderContext(Path(cache_dir), timeout_s)
        self._live: dict[str, Provider] = {}

    def config(self, prefix: str) -> ProviderConfig:
        """The prefix's pyproject table, else the defaults of the type of that name."""
        return self._configs.get(prefix) or ProviderConfig(name=prefix, type=prefix)

    def type_of(self, prefix: str) -> ProviderType:
        config = self.config(prefix)
        kind = self._types.get(config.type)
        if kind is None:
            raise UsageError(
                f"provider '{prefix}' has unknown type '{config.type}'; use one of "
                f"{', '.join(self._types.names())}"
            )
        return kind

    def max_concurrency(self, prefix: str) -> int | None:
        """The provider's own bound: its table's max_concurrency, else its type's."""
        config = self.config(prefix)
        kind = self._types.get(config.type)  # known: check_model ran at collection
        return config.max_concurrency or (kind.max_concurrency if kind else None)

    def check_model(self, model: str) -> None:
        """Raise UsageError when ``model`` cannot be served, before anything runs: an unknown
        provider, a module its type needs and is missing, or a provider that cannot be made."""
        check_model_id(model, self._configs, self._types)
        prefix = model.partition(":")[0]
        missing = self.type_of(prefix).missing(model)
        if missing is not None:
            raise UsageError(missing)
        self.identity(ModelRequest(model, None, "", {}))  # e.g. a packaged model it lacks

    def identity(self, request: ModelRequest) -> dict[str, Any]:
        """What besides the request decides the answer, for the cache key; a provider that
        cannot tell (a bad model name, a plugin's bug) is a usage error, not a crash."""
        provider = self.get(request.provider)
        try:
            return provider.identity(request)
        except PromptcheckError:
            raise
        except Exception as exc:
            raise UsageError(
                f"provider '{request.provider}' could not identify model '{request.model}': "
                f"{type(exc).__name__}: {exc}"
            ) from None

    def get(self, prefix: str) -> Provider:
        provider = self._live.get(prefix)
        if provider is None:
            provider = self._create(prefix)
            self._live[prefix] = provider
        return provider

    def _create(self, prefix: str) -> Provider:
        kind = self.type_of(prefix)
        try:
            return kind.factory(self.config(prefix), self._context)
        except PromptcheckError:
            raise
        except Exception as exc:  # a plugin's factory: its message, without a traceback
            raise UsageError(
                f"provider '{prefix}' (type {kind.name}) cannot be created: "
                f"{type(exc).__name__}: {exc}"
            ) from None

    async def aclose(self) -> None:
        for provider in self._live.values():
            await provider.aclose()
        self._live.clear()
