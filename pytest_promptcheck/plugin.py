"""pytest11 entry point: thin hooks that delegate (the options and ini keys are in options.py)."""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from pytest_promptcheck import hookspecs
from pytest_promptcheck.errors import PromptcheckError, UsageError
from pytest_promptcheck.files import is_prompt_file
from pytest_promptcheck.heap import freeze_heap, thaw_at_the_end
from pytest_promptcheck.listener import (
    LISTENER_NAME,
    NOTES_ATTRIBUTE,
    RECORD_KEY,
    ReportListener,
)
from pytest_promptcheck.options import add_options
from pytest_promptcheck.providers import builtin_registry, check_model_id
from pytest_promptcheck.settings import (
    SettingPaths,
    Settings,
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
SHARD_LINE_KEY = pytest.StashKey[str]()
LISTENER_KEY = pytest.StashKey[ReportListener]()


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(hookspecs)


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def _paths(config: pytest.Config) -> SettingPaths:
    inipath = config.inipath
    pyproject = inipath if inipath and inipath.name == "pyproject.toml" else None
    return SettingPaths(
        config.rootpath,
        config.invocation_params.dir,
        pyproject or config.rootpath / "pyproject.toml",
    )


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> None:
    thaw_at_the_end(config)  # before any plugin's configure adds its own cleanups


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    try:
        # plugins and the initial conftest.py files are loaded by now; the types must be known
        # before the pyproject tables that name them and the --promptcheck-model ids are read
        provider_types = builtin_registry()
        config.hook.pytest_promptcheck_add_providers(registry=provider_types)
        settings = resolve(
            lambda name: config.getoption(f"promptcheck_{name}"),
            lambda name: config.getini(f"promptcheck_{name}"),
            _paths(config),
            provider_types,
        )
        for model in settings.models:
            check_model_id(model, settings.providers, provider_types)
    except UsageError as exc:
        raise pytest.UsageError(str(exc)) from None
    config.stash[SETTINGS_KEY] = settings
    config.stash[SUMMARY_KEY] = summary = RunSummary()
    listener = ReportListener(summary, forwards=hasattr(config, "workerinput"))
    config.pluginmanager.register(listener, LISTENER_NAME)
    config.stash[LISTENER_KEY] = listener


def get_session(config: pytest.Config) -> PromptcheckSession:
    session = config.stash.get(SESSION_KEY, None)
    if session is None:
        from pytest_promptcheck.session import PromptcheckSession

        freeze_heap(config)  # the modules loaded so far live as long as the run
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
        del config.stash[LISTENER_KEY]


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


@pytest.hookimpl(trylast=True)  # after -k and -m, so the shard's line counts what runs
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    settings = config.stash.get(SETTINGS_KEY, None)
    shard = settings.shard if settings is not None else None
    if shard is None or not items:
        return
    owned = {path: shard.owns(path, config.rootpath) for path in {item.path for item in items}}
    kept = [item for item in items if owned[item.path]]
    if len(kept) < len(items):
        config.hook.pytest_deselected(items=[item for item in items if not owned[item.path]])
        items[:] = kept
    config.stash[SHARD_LINE_KEY] = (
        f"promptcheck: shard {shard}: {sum(owned.values())} of {len(owned)} files, "
        f"{len(kept)} items"
    )


@pytest.hookimpl(tryfirst=True)  # the terminal reporter asks for the plan in this hook
def pytest_collection_finish(session: pytest.Session) -> None:
    promptcheck = _started_session(session.config)
    if promptcheck is None:
        return
    try:
        plan = promptcheck.plan([item.nodeid for item in session.items])
    except PromptcheckError as exc:  # a check's model its provider cannot identify
        raise pytest.UsageError(str(exc)) from None
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
    shown = plan is not None and (plan.total or plan.flows_unrecorded)
    shard = [config.stash[SHARD_LINE_KEY]] if SHARD_LINE_KEY in config.stash else []
    return [*shard, plan.describe()] if plan is not None and shown else shard


@pytest.hookimpl(wrapper=True)
def pytest_runtestloop(session: pytest.Session) -> Generator[None, object, object]:
    config = session.config
    promptcheck = _started_session(config)
    stopping = session.testsfailed and not config.option.continue_on_collection_errors
    if promptcheck is not None and not config.option.collectonly and not stopping:
        nodeids = [item.nodeid for item in session.items]
        overlap = not promptcheck.needs_every_result(nodeids)
        freeze_heap(config)
        promptcheck.prefetch(nodeids, _progress_writers(config), overlap)
        promptcheck.assess_significance(nodeids)
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
    config = item.config
    listener = config.stash.get(LISTENER_KEY, None)
    if listener is None:
        return report
    record = item.stash.get(RECORD_KEY, None) if call.when == "call" else None
    if record is not None:
        # moved, not copied: items and reports both live until the run ends
        listener.carry(report, record)
        del item.stash[RECORD_KEY]
    if listener.forwards:  # a lone run's summary asks its session (pytest_terminal_summary)
        session = _started_session(config)
        notes = session.notes() if session is not None else []
        if notes:
            setattr(report, NOTES_ATTRIBUTE, notes)
    return report


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    if hasattr(config, "workerinput"):  # the xdist controller has every worker's records
        return
    summary = config.stash.get(SUMMARY_KEY, None)
    settings = config.stash.get(SETTINGS_KEY, None)
    if summary is None or settings is None:
        return
    if settings.shard is not None and exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
        # none of the files is this shard's: nothing failed (merge says if no shard ran any)
        session.exitstatus = pytest.ExitCode.OK
    if not (summary.records or summary.errors or settings.reports):
        return
    from pytest_promptcheck.reports.base import RunFacts
    from pytest_promptcheck.run_end import finish_run

    shard = None if settings.shard is None else str(settings.shard)
    facts = RunFacts(str(config.rootpath), shard, int(exitstatus), settings.update_baseline)
    finish_run(settings, summary, facts)


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
