"""Run settings resolved from the command line, ini and pyproject.toml (in that order)."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

from pytest_promptcheck.cache import CacheMode
from pytest_promptcheck.errors import UsageError
from pytest_promptcheck.policy import (
    DEFAULT_CALL_DEADLINE_S,
    DEFAULT_CONCURRENCY,
    DEFAULT_TIMEOUT_S,
    CallPolicy,
    DriftMode,
    DriftPolicy,
)
from pytest_promptcheck.providers import ProviderConfig, ProviderRegistry, builtin_registry
from pytest_promptcheck.providers.base import ProviderType
from pytest_promptcheck.providers.config import CACHE_PRICE_KEYS, COMMON_KEYS
from pytest_promptcheck.providers.registry import looks_secret
from pytest_promptcheck.reports.registry import format_of, known_suffixes
from pytest_promptcheck.shards import Shard, parse_shard

DEFAULT_MODEL = "local:gemma-3-270m"
DEFAULT_CACHE_DIR = ".promptcheck/cache"


@dataclass(frozen=True)
class Settings:
    models: tuple[str, ...]
    """Models from the CLI or ini; empty means each file's own model (or the default)."""
    cache_mode: CacheMode
    cache_dir: Path
    providers: dict[str, ProviderConfig]
    """The pyproject tables by name."""
    provider_types: ProviderRegistry
    """The built-in types and those plugins registered (``pytest_promptcheck_add_providers``)."""
    policy: CallPolicy = field(default_factory=CallPolicy)
    max_calls: int | None = None
    """Refuse to start a run that needs more live calls than this."""
    drift: DriftPolicy = field(default_factory=DriftPolicy)
    update_baseline: bool = False
    reports: tuple[Path, ...] = ()
    """Report files to write at the end of the run, each in the format its suffix names."""
    detect: float | None = None
    """A pass-rate drop the user wants to detect: the summary suggests the samples it needs."""
    python_modules: tuple[str, ...] = ()
    """Modules outside the rootdir whose functions ``python:`` checks may name (and submodules)."""
    judge_model: str | None = None
    """The model of every ``judge`` check that names none (no default: unset is an error)."""
    judge_min_kappa: float | None = None
    """A judge with labels whose kappa is below this makes the items that use it errors."""
    shard: Shard | None = None
    """``--promptcheck-shard``: this run's part of the files (None: all of them)."""


Mode = TypeVar("Mode", bound=StrEnum)


def parse_mode(kind: type[Mode], value: str, source: str, what: str) -> Mode:
    """A mode by name, case-insensitive; the error lists the valid names."""
    try:
        return kind(value.strip().lower())
    except ValueError:
        modes = ", ".join(m.value for m in kind)
        raise UsageError(f"{source}: unknown {what} '{value}'; use one of {modes}") from None


def parse_cache_mode(value: str, source: str) -> CacheMode:
    return parse_mode(CacheMode, value, source, "cache mode")


def parse_drift_mode(value: str, source: str) -> DriftMode:
    return parse_mode(DriftMode, value, source, "drift mode")


def parse_fraction(value: str, source: str, *, open_zero: bool) -> float:
    """A number in [0, 1] (or (0, 1) where 0 makes no sense, as for alpha)."""
    number = float(parse_number(value, source, float, 0.0))
    if number > 1 or (open_zero and number == 0):
        span = "between 0 and 1, exclusive" if open_zero else "between 0 and 1"
        raise UsageError(f"{source}: {value} must be {span}")
    return number


def parse_report_path(value: str, source: str) -> Path:
    """A report file's path; its suffix picks the writer (``reports.FORMATS``)."""
    path = Path(value)
    if format_of(path) is None:
        raise UsageError(
            f"{source}: '{value}' must end in {known_suffixes()}, the report formats "
            "(repeat the option for several)"
        )
    return path


def load_provider_configs(
    pyproject: Path | None, types: ProviderRegistry | None = None
) -> dict[str, ProviderConfig]:
    """The ``[tool.promptcheck.providers.<name>]`` tables, each checked against its type."""
    if pyproject is None or not pyproject.is_file():
        return {}
    try:
        data = tomllib.loads(pyproject.read_text("utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{pyproject}: invalid TOML: {exc}") from None
    tables = data.get("tool", {}).get("promptcheck", {}).get("providers", {})
    known = types if types is not None else builtin_registry()
    return {name: _provider_config(pyproject, name, table, known) for name, table in tables.items()}


def _provider_config(
    pyproject: Path, name: str, table: Any, types: ProviderRegistry
) -> ProviderConfig:
    where = f"{pyproject}: [tool.promptcheck.providers.{name}]"
    if not isinstance(table, dict):
        raise UsageError(f"{where} must be a table")
    if any(looks_secret(key) for key in table):
        raise UsageError(f"{where}: secrets never go in files; set api_key_env to a variable name")
    if ":" in name:
        raise UsageError(f"{where}: a provider's name cannot hold ':' (it prefixes model ids)")
    kind = _provider_type(where, table.get("type", "openai"), types)
    accepted = COMMON_KEYS | kind.options
    unknown = sorted(set(table) - accepted)
    if unknown:
        raise UsageError(
            f"{where}: unknown key '{unknown[0]}'; known keys: {', '.join(sorted(accepted))}"
        )
    for key in (COMMON_KEYS | CACHE_PRICE_KEYS) & set(table):
        _check_common(where, key, table[key])
    common = {key: value for key, value in table.items() if key in COMMON_KEYS}
    options = {key: value for key, value in table.items() if key not in COMMON_KEYS}
    return ProviderConfig(**{**common, "name": name, "type": kind.name, "options": options})


def _provider_type(where: str, kind: Any, types: ProviderRegistry) -> ProviderType:
    found = types.get(kind) if isinstance(kind, str) else None
    if found is None:
        raise UsageError(
            f"{where}: unknown type {kind!r}; use one of {', '.join(types.names())} (or register "
            "it with the pytest_promptcheck_add_providers hook)"
        )
    return found


_COUNT_KEYS = {"max_concurrency"}
_PRICE_KEYS = {"price_per_1m_input", "price_per_1m_output", *CACHE_PRICE_KEYS}


def _check_common(where: str, key: str, value: Any) -> None:
    """The common keys' types, so that a quoted number fails here and not in the call phase."""
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if key in _COUNT_KEYS:
        ok, what = number and isinstance(value, int) and value >= 1, "a whole number of 1 or more"
    elif key in _PRICE_KEYS:
        ok, what = number and value >= 0, "a number of 0 or more (USD per 1M tokens)"
    else:
        ok, what = isinstance(value, str) and value != "", "a non-empty string"
    if not ok:
        plain = number or isinstance(value, bool) or value == ""  # a string may be a secret
        shown = repr(value) if plain else f"a {type(value).__name__}"
        raise UsageError(f"{where}: {key} must be {what}, not {shown}")


def parse_number(value: str, source: str, kind: type[int] | type[float], minimum: float) -> float:
    """A number from the CLI or ini, at least ``minimum``; the error names where it came from."""
    try:
        number = kind(value)
    except ValueError:
        kind_text = "a whole number" if kind is int else "a number"
        raise UsageError(f"{source}: '{value}' is not {kind_text}") from None
    if number < minimum:
        raise UsageError(f"{source}: {value} is below the minimum of {minimum:g}")
    return number


_MODULE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")


def parse_module_names(values: list[str], source: str) -> tuple[str, ...]:
    """Dotted module names, one per line; a typo would silently allow nothing, so it is an error."""
    for value in values:
        if not _MODULE_NAME.fullmatch(value):
            raise UsageError(f"{source}: '{value}' is not a module name (e.g. my_company.checks)")
    return tuple(values)


Lookup = Callable[[str], Any]


def resolve(
    cli: Lookup, ini: Lookup, paths: SettingPaths, provider_types: ProviderRegistry
) -> Settings:
    """Each setting from the command line when given there, else from the ini file."""

    def number(name: str, kind: type[int] | type[float], minimum: float) -> Any:
        value = cli(name)
        if value is not None:
            return value  # argparse has checked it
        raw = str(ini(name)).strip()
        return (
            None if not raw else kind(parse_number(raw, f"ini promptcheck_{name}", kind, minimum))
        )

    mode = cli("cache") or parse_cache_mode(str(ini("cache")), "ini promptcheck_cache")
    cli_dir = cli("cache_dir")
    cache_dir = paths.invocation_dir / cli_dir if cli_dir else paths.rootdir / str(ini("cache_dir"))

    def number_or(name: str, kind: type[int] | type[float], minimum: float, default: Any) -> Any:
        value = number(name, kind, minimum)
        return default if value is None else value

    raw_shard = str(ini("shard")).strip()
    shard = cli("shard") or (parse_shard(raw_shard, "ini promptcheck_shard") if raw_shard else None)
    policy = CallPolicy(
        concurrency=number_or("concurrency", int, 1, DEFAULT_CONCURRENCY),
        share=shard.count if shard else 1,
        retries=number("retries", int, 0),
        timeout_s=number_or("timeout", float, 0.001, DEFAULT_TIMEOUT_S),
        call_deadline_s=number_or("call_deadline", float, 0.001, DEFAULT_CALL_DEADLINE_S),
    )

    def fraction(name: str, default: float, *, open_zero: bool) -> float:
        value = cli(name)
        if value is not None:
            return float(value)
        raw = str(ini(name)).strip()
        source = f"ini promptcheck_{name.replace('-', '_')}"
        return parse_fraction(raw, source, open_zero=open_zero) if raw else default

    drift = DriftPolicy(
        mode=cli("drift") or parse_drift_mode(str(ini("drift")), "ini promptcheck_drift"),
        tolerance=fraction("drift_tolerance", DriftPolicy.tolerance, open_zero=False),
        alpha=fraction("alpha", DriftPolicy.alpha, open_zero=True),
    )
    reports = tuple(paths.invocation_dir / path for path in cli("report") or ())
    return Settings(
        models=tuple(cli("model")) or tuple(ini("model")),
        cache_mode=mode,
        cache_dir=cache_dir,
        providers=load_provider_configs(paths.pyproject, provider_types),
        provider_types=provider_types,
        policy=policy,
        max_calls=number("max_calls", int, 0),
        drift=drift,
        update_baseline=bool(cli("update_baseline")),
        reports=reports,
        detect=cli("detect"),
        python_modules=parse_module_names(ini("python_modules"), "ini promptcheck_python_modules"),
        judge_model=cli("judge_model") or str(ini("judge_model")).strip() or None,
        judge_min_kappa=_min_kappa(cli("judge_min_kappa"), str(ini("judge_min_kappa")).strip()),
        shard=shard,
    )


def parse_kappa(value: str, source: str) -> float:
    """A kappa to reach: a number from -1 to 1."""
    number = float(parse_number(value, source, float, -1.0))
    if number > 1:
        raise UsageError(f"{source}: {value} must be between -1 and 1 (a kappa)")
    return number


def _min_kappa(cli: float | None, ini: str) -> float | None:
    if cli is not None:
        return cli
    return parse_kappa(ini, "ini promptcheck_judge_min_kappa") if ini else None


@dataclass(frozen=True)
class SettingPaths:
    rootdir: Path
    invocation_dir: Path
    pyproject: Path | None
