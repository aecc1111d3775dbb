"""Providers by model-id prefix, created on first use and closed at session end."""

from __future__ import annotations

from pathlib import Path

from pytest_promptcheck.errors import UsageError
from pytest_promptcheck.providers.base import Provider
from pytest_promptcheck.providers.config import ProviderConfig

__all__ = ["BUILTIN_TYPES", "ProviderConfig", "ProviderSet", "check_model_id"]

BUILTIN_TYPES = ("openai", "local")


def check_model_id(model: str, configs: dict[str, ProviderConfig]) -> None:
    """Raise UsageError unless ``model`` is 'provider:model' with a known provider."""
    prefix, sep, name = model.partition(":")
    if not sep or not name:
        raise UsageError(f"model id '{model}' must be 'provider:model', e.g. openai:gpt-4.1-mini")
    if prefix not in configs and prefix not in BUILTIN_TYPES:
        known = ", ".join(sorted({*BUILTIN_TYPES, *configs}))
        raise UsageError(
            f"unknown provider '{prefix}' in model id '{model}'; known providers: {known} "
            "(add others in [tool.promptcheck.providers.<name>])"
        )


class ProviderSet:
    """Maps the prefix of a model id to its provider instance."""

    def __init__(
        self, configs: dict[str, ProviderConfig], cache_dir: Path, timeout_s: float = 60.0
    ) -> None:
        self._configs = configs
        self._cache_dir = cache_dir
        self._timeout_s = timeout_s
        self._live: dict[str, Provider] = {}

    def type_of(self, prefix: str) -> str:
        """A model id's provider type: its pyproject table's ``type``, else the prefix itself."""
        config = self._configs.get(prefix)
        return config.type if config else prefix

    def max_concurrency(self, prefix: str) -> int | None:
        """The provider's own bound: pyproject's max_concurrency; 1 for in-process models."""
        if self.type_of(prefix) == "local":
            return 1
        config = self._configs.get(prefix)
        return config.max_concurrency if config else None

    def check_model(self, model: str) -> None:
        """Raise UsageError when ``model`` cannot be served, before anything runs."""
        check_model_id(model, self._configs)

    def get(self, prefix: str) -> Provider:
        provider = self._live.get(prefix)
        if provider is None:
            provider = self._create(prefix)
            self._live[prefix] = provider
        return provider

    def _create(self, prefix: str) -> Provider:
        config = self._configs.get(prefix) or ProviderConfig(name=prefix, type=prefix)
        if config.type == "openai":
            from pytest_promptcheck.providers.openai import OpenAIProvider

            return OpenAIProvider(config, self._timeout_s)
        if config.type == "local":
            from pytest_promptcheck.providers.local import LocalProvider

            return LocalProvider(self._cache_dir)
        raise UsageError(
            f"provider '{prefix}' has unknown type '{config.type}'; use one of "
            f"{', '.join(BUILTIN_TYPES)}"
        )

    async def aclose(self) -> None:
        for provider in self._live.values():
            await provider.aclose()
        self._live.clear()
