"""The command-line options and ini keys: data, and the argparse types that check them."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pytest_promptcheck.errors import UsageError
from pytest_promptcheck.policy import (
    DEFAULT_CALL_DEADLINE_S,
    DEFAULT_CONCURRENCY,
    DEFAULT_TIMEOUT_S,
    DriftPolicy,
)
from pytest_promptcheck.reports.registry import report_formats_help
from pytest_promptcheck.settings import (
    DEFAULT_CACHE_DIR,
    parse_cache_mode,
    parse_drift_mode,
    parse_fraction,
    parse_kappa,
    parse_number,
    parse_report_path,
)
from pytest_promptcheck.shards import parse_shard

if TYPE_CHECKING:
    import pytest


def _checked(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    def argument(value: str) -> Any:
        try:
            return parse(value)
        except UsageError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return argument


def _number_arg(option: str, kind: type[int] | type[float], minimum: float) -> Callable[[str], Any]:
    return _checked(lambda value: kind(parse_number(value, option, kind, minimum)))


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("promptcheck", "promptcheck")
    option = group.addoption
    option(
        "--promptcheck-model",
        action="append",
        default=[],
        metavar="PROVIDER:MODEL",
        help="run every case against this model instead of the file's model; repeat for a "
        "matrix (one item per case and model). Default: each file's model, else "
        "local:gemma-3-270m.",
    )
    option(
        "--promptcheck-cache",
        type=_checked(lambda v: parse_cache_mode(v, "--promptcheck-cache")),
        default=None,
        metavar="MODE",
        help="response cache mode: use (read, call on miss, write), replay (never call; a "
        "miss is an error), refresh (call and overwrite), off. Default: use.",
    )
    option(
        "--promptcheck-cache-dir",
        default=None,
        metavar="DIR",
        help=f"response cache directory. Default: {DEFAULT_CACHE_DIR} under the rootdir.",
    )
    option(
        "--promptcheck-concurrency",
        type=_number_arg("--promptcheck-concurrency", int, 1),
        default=None,
        metavar="N",
        help="model calls in flight per provider (a provider's max_concurrency in "
        f"pyproject.toml wins). Default: {DEFAULT_CONCURRENCY}.",
    )
    option(
        "--promptcheck-retries",
        type=_number_arg("--promptcheck-retries", int, 0),
        default=None,
        metavar="N",
        help="at most N retries of a call after 429, 5xx, a timeout, a broken connection or a "
        "malformed body. Default: no cap; a call is retried until --promptcheck-call-deadline.",
    )
    option(
        "--promptcheck-call-deadline",
        type=_number_arg("--promptcheck-call-deadline", float, 0.001),
        default=None,
        metavar="SECONDS",
        help="how long one call may take with all its retries and waits; no retry starts "
        f"after it. Default: {DEFAULT_CALL_DEADLINE_S:g}.",
    )
    option(
        "--promptcheck-timeout",
        type=_number_arg("--promptcheck-timeout", float, 0.001),
        default=None,
        metavar="SECONDS",
        help="deadline of one request, from connecting to the last byte of the answer. "
        f"Default: {DEFAULT_TIMEOUT_S:g}.",
    )
    option(
        "--promptcheck-max-calls",
        type=_number_arg("--promptcheck-max-calls", int, 0),
        default=None,
        metavar="N",
        help="refuse to start a run that needs more than N live model calls. Default: no limit.",
    )
    option(
        "--promptcheck-update-baseline",
        action="store_true",
        default=False,
        help="record the selected cases' results as their baseline (__promptcheck__/<prompt>.json "
        "beside each prompt file), at the end of the run; a baseline of a whole file also drops "
        "entries of deleted cases.",
    )
    option(
        "--promptcheck-drift",
        type=_checked(lambda v: parse_drift_mode(v, "--promptcheck-drift")),
        default=None,
        metavar="MODE",
        help="compare every case with its baseline: warn (report drift), fail (also fail the "
        "items that regressed), off. Default: warn.",
    )
    option(
        "--promptcheck-drift-tolerance",
        type=_checked(
            lambda v: parse_fraction(v, "--promptcheck-drift-tolerance", open_zero=False)
        ),
        default=None,
        metavar="SCORE",
        help="a single-sample case whose score drops by more than this has regressed. "
        f"Default: {DriftPolicy.tolerance:g}.",
    )
    option(
        "--promptcheck-alpha",
        type=_checked(lambda v: parse_fraction(v, "--promptcheck-alpha", open_zero=True)),
        default=None,
        metavar="P",
        help="significance level for calling a sampled case regressed or improved (p-values "
        f"adjusted across the run, Benjamini-Hochberg). Default: {DriftPolicy.alpha:g}.",
    )
    option(
        "--promptcheck-detect",
        type=_checked(lambda v: parse_fraction(v, "--promptcheck-detect", open_zero=True)),
        default=None,
        metavar="DROP",
        help="a pass-rate drop you want to be able to detect (e.g. 0.2): the summary says how "
        "many samples per case that needs.",
    )
    option(
        "--promptcheck-report",
        type=_checked(lambda v: parse_report_path(v, "--promptcheck-report")),
        action="append",
        default=[],
        metavar="PATH",
        help=f"write a report by the path's suffix: {report_formats_help()}; repeat for "
        "several. Default: none.",
    )
    option(
        "--promptcheck-judge-model",
        default=None,
        metavar="PROVIDER:MODEL",
        help="the model of every judge check that names none in its 'model:'. Default: none "
        "(a judge without a model is a collection error).",
    )
    option(
        "--promptcheck-judge-min-kappa",
        type=_checked(lambda v: parse_kappa(v, "--promptcheck-judge-min-kappa")),
        default=None,
        metavar="KAPPA",
        help="a judge with labels whose Cohen's kappa against them is below this makes every "
        "item using it an error. Default: no minimum.",
    )
    option(
        "--promptcheck-shard",
        type=_checked(lambda v: parse_shard(v, "--promptcheck-shard")),
        default=None,
        metavar="K/N",
        help="run shard K of N (K from 1 to N): whole files chosen by a stable hash of their "
        "path, with 1/N of each provider's concurrency; the drift gate is left to "
        "'python -m pytest_promptcheck merge'. Default: every file.",
    )
    ini = parser.addini
    ini(
        "promptcheck_model",
        "models to run every case against (one per line)",
        type="linelist",
        default=[],
    )
    ini("promptcheck_cache", "response cache mode: use, replay, refresh, off", default="use")
    ini("promptcheck_cache_dir", "response cache directory", default=DEFAULT_CACHE_DIR)
    ini("promptcheck_concurrency", "model calls in flight per provider", default="")
    ini("promptcheck_retries", "at most this many retries of a call (default: no cap)", default="")
    ini("promptcheck_call_deadline", "seconds one call may take with its retries", default="")
    ini("promptcheck_timeout", "timeout of one request, in seconds", default="")
    ini("promptcheck_max_calls", "refuse a run needing more live calls than this", default="")
    ini("promptcheck_drift", "compare cases with their baseline: warn, fail, off", default="warn")
    ini("promptcheck_drift_tolerance", "score drop that counts as a regression", default="")
    ini("promptcheck_alpha", "significance level for sampled cases", default="")
    ini("promptcheck_judge_model", "model of judge checks that name none", default="")
    ini("promptcheck_judge_min_kappa", "judges below this kappa make errors", default="")
    ini("promptcheck_shard", "run shard K of N of the files (K/N, K from 1)", default="")
    ini(
        "promptcheck_python_modules",
        "modules outside the rootdir whose functions python: checks may name (one per line; "
        "a module allows its submodules)",
        type="linelist",
        default=[],
    )
