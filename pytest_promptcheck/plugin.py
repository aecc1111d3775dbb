"""pytest11 entry point: options, ini keys and thin hooks that delegate."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Generator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pytest_promptcheck import hookspecs
from pytest_promptcheck.errors import UsageError
from pytest_promptcheck.files import is_prompt_file
from pytest_promptcheck.listener import (
    LISTENER_NAME,
    NOTES_ATTRIBUTE,
    RECORD_ATTRIBUTE,
    ReportListener,
)
from pytest_promptcheck.policy import (
    DEFAULT_CALL_DEADLINE_S,
    DEFAULT_CONCURRENCY,
    DEFAULT_TIMEOUT_S,
    DriftPolicy,
)
from pytest_promptcheck.providers import check_model_id
from pytest_promptcheck.reports.registry import report_formats_help
from pytest_promptcheck.settings import (
    DEFAULT_CACHE_DIR,
    SettingPaths,
    Settings,
    parse_cache_mode,
    parse_drift_mode,
    parse_fraction,
    parse_number,
    parse_report_path,
    resolve,
)
from pytest_promptcheck.summary import RunSummary

if TYPE_CHECKING:
    from pytest_promptcheck.api import Promptcheck
    from pytest_promptcheck.items import PromptFile
    from pytest_promptcheck.session import ProgressWriters, PromptcheckSession

# The session (and jsonschema, Jinja2, diskcache, httpx2 with it) is created on first use, so a
# pytest run without prompt files pays only for this module.
SETTINGS_KEY = pytest.StashKey[Settings]()
SESSION_KEY = pytest.StashKey["PromptcheckSession"]()
SUMMARY_KEY = pytest.StashKey[RunSummary]()


def _checked(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    def argument(value: str) -> Any:
        try:
            return parse(value)
        except UsageError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return argument


def _number_arg(option: str, kind: type[int] | type[float], minimum: float) -> Callable[[str], Any]:
    return _checked(lambda value: kind(parse_number(value, option, kind, minimum)))


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(hookspecs)


def pytest_addoption(parser: pytest.Parser) -> None:
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
    ini(
        "promptcheck_python_modules",
        "modules outside the rootdir whose functions python: checks may name (one per line; "
        "a module allows its submodules)",
        type="linelist",
        default=[],
    )


def _paths(config: pytest.Config) -> SettingPaths:
    inipath = config.inipath
    pyproject = inipath if inipath and inipath.name == "pyproject.toml" else None
    return SettingPaths(
        config.rootpath,
        config.invocation_params.dir,
        pyproject or config.rootpath / "pyproject.toml",
    )


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    try:
        settings = resolve(
            lambda name: config.getoption(f"promptcheck_{name}"),
            lambda name: config.getini(f"promptcheck_{name}"),
            _paths(config),
        )
        for model in settings.models:
            check_model_id(model, settings.providers)
    except UsageError as exc:
        raise pytest.UsageError(str(exc)) from None
    config.stash[SETTINGS_KEY] = settings
    config.stash[SUMMARY_KEY] = summary = RunSummary()
    config.pluginmanager.register(ReportListener(summary), LISTENER_NAME)


def get_session(config: pytest.Config) -> PromptcheckSession:
    session = config.stash.get(SESSION_KEY, None)
    if session is None:
        from pytest_promptcheck.session import PromptcheckSession

        session = PromptcheckSession(config, config.stash[SETTINGS_KEY])
        config.stash[SESSION_KEY] = session
    return session


def _started_session(config: pytest.Config) -> PromptcheckSession | None:
    """The session if a prompt file or the fixture has needed one."""
    return config.stash.get(SESSION_KEY, None)


def pytest_unconfigure(config: pytest.Config) -> None:
    session = _started_session(config)
    if session is not None:
        session.close()
        del config.stash[SESSION_KEY]
    if config.pluginmanager.has_plugin(LISTENER_NAME):
        config.pluginmanager.unregister(name=LISTENER_NAME)


@pytest.fixture
def promptcheck(request: pytest.FixtureRequest) -> Promptcheck:
    """Run a prompt by name or path: ``promptcheck.run("classify_ticket", ticket=...)``."""
    from pytest_promptcheck.api import Promptcheck

    return Promptcheck(get_session(request.config), request.config.rootpath)


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> PromptFile | None:
    if not is_prompt_file(file_path):
        return None
    from pytest_promptcheck.items import PromptFile

    return PromptFile.from_parent(parent, path=file_path, promptcheck=get_session(parent.config))


@pytest.hookimpl(tryfirst=True)  # the terminal reporter asks for the plan in this hook
def pytest_collection_finish(session: pytest.Session) -> None:
    promptcheck = _started_session(session.config)
    if promptcheck is None:
        return
    from pytest_promptcheck.items import jobs_of

    plan = promptcheck.plan(jobs_of(session.items))
    limit = promptcheck.settings.max_calls
    if limit is None or plan.live <= limit or session.config.option.collectonly:
        return
    message = (
        f"promptcheck: this run needs {plan.live} live model calls, more than "
        f"--promptcheck-max-calls={limit} ({plan.cached} more come from the cache); "
        "select fewer items (-k, -m) or raise the limit"
    )
    worker = getattr(session.config, "workerinput", None)
    if worker is None:
        pytest.exit(message, returncode=pytest.ExitCode.USAGE_ERROR)
    # An xdist worker cannot end the run; it runs nothing, and one of them reports why as a
    # collection error, which the controller shows and stops on.
    session.items.clear()
    if worker.get("workerid") == "gw0":
        report = pytest.CollectReport("promptcheck", "failed", message, [])
        session.config.hook.pytest_collectreport(report=report)


def pytest_report_collectionfinish(config: pytest.Config) -> list[str]:
    session = _started_session(config)
    plan = session.last_plan if session else None
    return [plan.describe()] if plan is not None and plan.total else []


@pytest.hookimpl(wrapper=True)
def pytest_runtestloop(session: pytest.Session) -> Generator[None, object, object]:
    config = session.config
    promptcheck = _started_session(config)
    stopping = session.testsfailed and not config.option.continue_on_collection_errors
    if promptcheck is not None and not config.option.collectonly and not stopping:
        from pytest_promptcheck.items import assess_significance, jobs_of, needs_every_result

        overlap = not needs_every_result(promptcheck, session.items)
        promptcheck.prefetch(jobs_of(session.items), _progress_writers(config), overlap)
        assess_significance(promptcheck, session.items)
    try:
        result = yield
    except BaseException:
        if promptcheck is not None:
            promptcheck.settle(stop=True)
        raise
    if promptcheck is not None:
        promptcheck.settle(stop=bool(session.shouldfail or session.shouldstop))
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    record = getattr(item, "record", None)
    if call.when == "call" and isinstance(record, dict):
        setattr(report, RECORD_ATTRIBUTE, record)
    session = _started_session(item.config)
    if session is not None and session.notes():
        setattr(report, NOTES_ATTRIBUTE, session.notes())
    return report


def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    if hasattr(config, "workerinput"):  # the xdist controller has every worker's records
        return
    summary = config.stash.get(SUMMARY_KEY, None)
    settings = config.stash.get(SETTINGS_KEY, None)
    if summary is None or settings is None:
        return
    if not (summary.records or summary.errors or settings.reports):
        return
    from pytest_promptcheck.run_end import finish_run

    finish_run(settings, summary)


def _progress_writers(config: pytest.Config) -> ProgressWriters | None:
    from pytest_promptcheck.session import ProgressWriters

    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None or hasattr(config, "workerinput"):  # xdist workers have no terminal
        return None
    rewrite = (lambda line: reporter.rewrite(line, erase=True)) if reporter.isatty else None
    return ProgressWriters(reporter.write_line, rewrite)


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    lines = config.stash[SUMMARY_KEY].lines()
    listener = config.pluginmanager.get_plugin(LISTENER_NAME)
    if isinstance(listener, ReportListener):
        session = _started_session(config)
        listener.add_notes(session.notes() if session else [])
        lines += listener.notes.values()
    if lines:
        terminalreporter.section("promptcheck")
        for line in lines:
            terminalreporter.write_line(line)
