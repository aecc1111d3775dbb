"""pytest11 entry point: options, ini keys and thin hooks that delegate."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from pytest_promptcheck import hookspecs
from pytest_promptcheck.api import Promptcheck
from pytest_promptcheck.cache import CacheMode
from pytest_promptcheck.errors import UsageError
from pytest_promptcheck.items import SESSION_KEY, PromptFile, get_session
from pytest_promptcheck.report import PROPERTY_PREFIX, RunSummary
from pytest_promptcheck.session import PromptcheckSession
from pytest_promptcheck.settings import (
    DEFAULT_CACHE_DIR,
    Settings,
    load_provider_configs,
    parse_cache_mode,
)
from pytest_promptcheck.spec import is_prompt_file

LISTENER_NAME = "promptcheck-report-listener"


def _cache_mode_arg(value: str) -> CacheMode:
    try:
        return parse_cache_mode(value, "--promptcheck-cache")
    except UsageError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(hookspecs)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("promptcheck", "promptcheck")
    group.addoption(
        "--promptcheck-model",
        action="append",
        default=[],
        metavar="PROVIDER:MODEL",
        help="run every case against this model instead of the file's model; repeat for a "
        "matrix (one item per case and model). Default: each file's model, else "
        "local:gemma-3-270m.",
    )
    group.addoption(
        "--promptcheck-cache",
        type=_cache_mode_arg,
        default=None,
        metavar="MODE",
        help="response cache mode: use (read, call on miss, write), replay (never call; a "
        "miss is an error), refresh (call and overwrite), off. Default: use.",
    )
    group.addoption(
        "--promptcheck-cache-dir",
        default=None,
        metavar="DIR",
        help=f"response cache directory. Default: {DEFAULT_CACHE_DIR} under the rootdir.",
    )
    parser.addini(
        "promptcheck_model",
        "models to run every case against (one per line)",
        type="linelist",
        default=[],
    )
    parser.addini(
        "promptcheck_cache", "response cache mode: use, replay, refresh, off", default="use"
    )
    parser.addini("promptcheck_cache_dir", "response cache directory", default=DEFAULT_CACHE_DIR)


def _settings(config: pytest.Config) -> Settings:
    cli_mode = config.getoption("promptcheck_cache")
    mode = cli_mode or parse_cache_mode(
        str(config.getini("promptcheck_cache")), "ini promptcheck_cache"
    )
    cli_dir = config.getoption("promptcheck_cache_dir")
    if cli_dir:
        cache_dir = config.invocation_params.dir / cli_dir
    else:
        cache_dir = config.rootpath / str(config.getini("promptcheck_cache_dir"))
    models = tuple(config.getoption("promptcheck_model")) or tuple(
        config.getini("promptcheck_model")
    )
    pyproject = (
        config.inipath if config.inipath and config.inipath.name == "pyproject.toml" else None
    )
    pyproject = pyproject or config.rootpath / "pyproject.toml"
    return Settings(models, mode, cache_dir, load_provider_configs(pyproject))


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    try:
        session = PromptcheckSession(config, _settings(config))
    except UsageError as exc:
        raise pytest.UsageError(str(exc)) from None
    config.stash[SESSION_KEY] = session
    config.pluginmanager.register(_ReportListener(session.summary), LISTENER_NAME)


def pytest_unconfigure(config: pytest.Config) -> None:
    session = config.stash.get(SESSION_KEY, None)
    if session is not None:
        session.close()
        del config.stash[SESSION_KEY]
        config.pluginmanager.unregister(name=LISTENER_NAME)


@pytest.fixture
def promptcheck(request: pytest.FixtureRequest) -> Promptcheck:
    """Run a prompt by name or path: ``promptcheck.run("classify_ticket", ticket=...)``."""
    return Promptcheck(get_session(request.config), request.config.rootpath)


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> PromptFile | None:
    if is_prompt_file(file_path):
        return PromptFile.from_parent(parent, path=file_path)
    return None


class _ReportListener:
    """Feeds the summary from test reports, which xdist workers send to the controller."""

    def __init__(self, summary: RunSummary) -> None:
        self.summary = summary

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        properties = dict(report.user_properties)
        if f"{PROPERTY_PREFIX}prompt" not in properties:
            return
        if report.when == "call":
            self.summary.add(properties, report.outcome)
        elif report.when == "setup" and report.failed:
            self.summary.add(properties, "error")


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    lines = get_session(config).summary.lines()
    if lines:
        terminalreporter.section("promptcheck")
        for line in lines:
            terminalreporter.write_line(line)
