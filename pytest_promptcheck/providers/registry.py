"""Provider types by name: the built-ins and those plugins add through
``pytest_promptcheck_add_providers(registry)``."""

from __future__ import annotations

import re
from collections.abc import Iterable

from pytest_promptcheck.errors import UsageError
from pytest_promptcheck.providers.base import (
    Provider,
    ProviderContext,
    ProviderFactory,
    ProviderType,
    Requirement,
)
from pytest_promptcheck.providers.config import CACHE_PRICE_KEYS, COMMON_KEYS, ProviderConfig
from pytest_promptcheck.providers.llama_build import EXTRA_INSTALL

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.-]*")
_SECRET_WORDS = frozenset({"key", "apikey", "token", "secret", "password", "passwd", "credential"})


def looks_secret(key: str) -> bool:
    """``api_key``, ``token``, ``client_secret``...: a secret's name, not a variable's
    (``api_key_env`` names a variable and is fine)."""
    words = re.split(r"[_\-.]", key.lower())
    return words[-1] != "env" and bool(_SECRET_WORDS & set(words))


class ProviderRegistry:
    """Provider types by name; a model id ``<type>:<model>`` or a pyproject table with
    ``type = "<type>"`` uses one."""

    def __init__(self) -> None:
        self._types: dict[str, ProviderType] = {}

    def register(
        self,
        name: str,
        factory: ProviderFactory,
        *,
        max_concurrency: int | None = None,
        requires: Iterable[Requirement] = (),
        options: Iterable[str] = (),
    ) -> None:
        """Add the type ``name``: ``factory(config, context)`` creates its provider on first use.

        ``max_concurrency`` is its own bound on calls in flight (e.g. 1 for an in-process
        model); ``requires`` the modules it needs installed, checked before anything runs;
        ``options`` the keys its pyproject tables may hold beyond the common ones.
        """
        if not _NAME.fullmatch(name):
            raise UsageError(
                f"provider type {name!r} cannot prefix a model id; use letters, digits, '_', "
                "'-' or '.', starting with a letter"
            )
        if name in self._types:
            raise UsageError(f"provider type '{name}' is registered twice")
        declared = frozenset(options)
        self._check_options(name, declared)
        self._types[name] = ProviderType(name, factory, max_concurrency, tuple(requires), declared)

    @staticmethod
    def _check_options(name: str, options: frozenset[str]) -> None:
        common = sorted(options & COMMON_KEYS)
        if common:
            raise UsageError(f"provider type '{name}': option '{common[0]}' is a common key")
        secret = sorted(key for key in options if looks_secret(key))
        if secret:
            raise UsageError(
                f"provider type '{name}': option '{secret[0]}' looks like a secret, which never "
                "goes in files; read it from the variable the table's api_key_env names"
            )

    def get(self, name: str) -> ProviderType | None:
        return self._types.get(name)

    def names(self) -> list[str]:
        return sorted(self._types)

    def __contains__(self, name: object) -> bool:
        return name in self._types


def builtin_registry() -> ProviderRegistry:
    """``openai``, ``anthropic`` and ``local``, registered like any plugin's types."""
    registry = ProviderRegistry()
    registry.register("openai", _openai)
    registry.register("anthropic", _anthropic, options=CACHE_PRICE_KEYS)
    registry.register(
        "local",
        _local,
        max_concurrency=1,  # in-process: one llama.cpp context answers one call at a time
        requires=[Requirement("llama_cpp", EXTRA_INSTALL, "the [local] extra")],
    )
    return registry


# The built-ins are imported on first use, so that a run that needs neither stays fast.
def _openai(config: ProviderConfig, context: ProviderContext) -> Provider:
    from pytest_promptcheck.providers.openai import OpenAIProvider

    return OpenAIProvider(config, context.timeout_s)


def _anthropic(config: ProviderConfig, context: ProviderContext) -> Provider:
    from pytest_promptcheck.providers.anthropic import AnthropicProvider

    return AnthropicProvider(config, context.timeout_s)


def _local(config: ProviderConfig, context: ProviderContext) -> Provider:
    from pytest_promptcheck.providers.local import LocalProvider

    return LocalProvider(context.cache_dir, name=config.name)
