"""Run settings resolved from the command line, ini and pyproject.toml (in that order)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from pytest_promptcheck.cache import CacheMode
from pytest_promptcheck.errors import UsageError
from pytest_promptcheck.providers import ProviderConfig

DEFAULT_MODEL = "local:gemma-3-270m"
DEFAULT_CACHE_DIR = ".promptcheck/cache"


@dataclass(frozen=True)
class Settings:
    models: tuple[str, ...]
    """Models from the CLI or ini; empty means each file's own model (or the default)."""
    cache_mode: CacheMode
    cache_dir: Path
    providers: dict[str, ProviderConfig]


def parse_cache_mode(value: str, source: str) -> CacheMode:
    try:
        return CacheMode(value.strip().lower())
    except ValueError:
        modes = ", ".join(m.value for m in CacheMode)
        raise UsageError(f"{source}: unknown cache mode '{value}'; use one of {modes}") from None


def load_provider_configs(pyproject: Path | None) -> dict[str, ProviderConfig]:
    if pyproject is None or not pyproject.is_file():
        return {}
    try:
        data = tomllib.loads(pyproject.read_text("utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{pyproject}: invalid TOML: {exc}") from None
    tables = data.get("tool", {}).get("promptcheck", {}).get("providers", {})
    return {name: _provider_config(pyproject, name, table) for name, table in tables.items()}


def _provider_config(pyproject: Path, name: str, table: Any) -> ProviderConfig:
    where = f"{pyproject}: [tool.promptcheck.providers.{name}]"
    if not isinstance(table, dict):
        raise UsageError(f"{where} must be a table")
    if "api_key" in table or "key" in table:
        raise UsageError(f"{where}: secrets never go in files; set api_key_env to a variable name")
    known = {f.name for f in fields(ProviderConfig)} - {"name", "options"}
    unknown = sorted(set(table) - known)
    if unknown:
        raise UsageError(
            f"{where}: unknown key '{unknown[0]}'; known keys: {', '.join(sorted(known))}"
        )
    table.setdefault("type", "openai")
    return ProviderConfig(name=name, **table)
