"""The run's summary and report files read each case's record, with and without xdist."""

from __future__ import annotations

import json

import pytest

from tests.loopback import LoopbackServer, status
from tests.plugin.support import SUPPORT_ITEMS, serve_support_bot

XDIST = [pytest.param([], id="plain"), pytest.param(["-n", "0"], id="n0"), ["-n", "2"]]

STRIP_USAGE = """
import pytest

USAGE = {"promptcheck_samples", "promptcheck_cached", "promptcheck_tokens",
         "promptcheck_cost_usd", "promptcheck_latency_ms"}


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    report.user_properties = [p for p in report.user_properties if p[0] not in USAGE]
    return report
"""


@pytest.fixture
def support(pytester: pytest.Pytester, openai_env: LoopbackServer) -> LoopbackServer:
    pytester.copy_example("support")
    serve_support_bot(openai_env)
    return openai_env


@pytest.mark.parametrize("xdist", XDIST)
def test_the_summary_reads_the_record_not_the_junit_properties(
    pytester: pytest.Pytester, support: LoopbackServer, xdist: list[str]
) -> None:
    """A plugin that trims the JUnit properties changes nothing in the summary."""
    pytester.makeconftest(STRIP_USAGE)
    result = pytester.runpytest(*xdist)
    result.assert_outcomes(passed=SUPPORT_ITEMS)
    # Under xdist a worker may find in the shared cache what the other one called.
    result.stdout.fnmatch_lines(
        [
            f"classify_ticket *openai:support-bot *{SUPPORT_ITEMS} *0 *0 *",
            f"{SUPPORT_ITEMS} samples: * live calls, * from cache*",
        ]
    )


@pytest.mark.parametrize("xdist", XDIST)
def test_items_that_error_in_setup_count_per_prompt_and_model(
    pytester: pytest.Pytester, support: LoopbackServer, xdist: list[str]
) -> None:
    support.set_model("broken", lambda request: "never sent")
    support.inject(*[status(401)] * 4 * SUPPORT_ITEMS, model="broken")
    models = ["--promptcheck-model=openai:support-bot", "--promptcheck-model=openai:broken"]
    result = pytester.runpytest(*xdist, *models, "--promptcheck-report=out/r.json")
    result.assert_outcomes(passed=SUPPORT_ITEMS, errors=SUPPORT_ITEMS)
    result.stdout.fnmatch_lines(
        [
            "prompt *model *passed *failed *errors *",
            f"classify_ticket *openai:broken *0 *0 *{SUPPORT_ITEMS} *0 *0 *0 *",
            f"classify_ticket *openai:support-bot *{SUPPORT_ITEMS} *0 *0 *",
        ]
    )
    report = json.loads((pytester.path / "out" / "r.json").read_text())
    assert report["totals"]["errors"] == SUPPORT_ITEMS
    assert report["totals"]["cases"] == SUPPORT_ITEMS


def test_reports_under_xdist_say_what_a_plain_run_says(
    pytester: pytest.Pytester, support: LoopbackServer
) -> None:
    reports = ["--promptcheck-report=out/r.json", "--promptcheck-report=out/r.md"]
    reports.append("--promptcheck-report=out/r.html")
    pytester.runpytest(*reports).assert_outcomes(passed=SUPPORT_ITEMS)
    plain_md = (pytester.path / "out" / "r.md").read_text()
    plain_html = (pytester.path / "out" / "r.html").read_bytes()
    plain = json.loads((pytester.path / "out" / "r.json").read_text())
    pytester.runpytest("-n", "2", *reports).assert_outcomes(passed=SUPPORT_ITEMS)
    spread = json.loads((pytester.path / "out" / "r.json").read_text())
    assert (pytester.path / "out" / "r.md").read_text() == plain_md
    assert (pytester.path / "out" / "r.html").read_bytes() == plain_html
    assert b"pytest 'classify.prompt.yaml::crash' --promptcheck-model" in plain_html
    del plain["generated_at"], spread["generated_at"]
    by_case = {c["case"]: c for c in plain.pop("cases")}
    assert {c["case"]: c for c in spread.pop("cases")} == by_case
    assert spread == plain
    assert all(case["result"]["samples"] for case in by_case.values())


READS_RECORDS = """
WORKER = []


def pytest_configure(config):
    WORKER.append(hasattr(config, "workerinput"))


def pytest_runtest_logreport(report):
    record = getattr(report, "promptcheck", None)
    if report.when == "call" and record is not None and not WORKER[0]:
        with open("seen.txt", "a") as seen:
            seen.write(record["case"] + "\\n")
"""


@pytest.mark.parametrize("xdist", XDIST)
def test_other_plugins_read_the_record_on_the_call_report(
    pytester: pytest.Pytester, support: LoopbackServer, xdist: list[str]
) -> None:
    """The summary takes each record off its report (pytest keeps every report until the run
    ends), after every other plugin's hook saw it."""
    pytester.makeconftest(READS_RECORDS)
    pytester.runpytest(*xdist).assert_outcomes(passed=SUPPORT_ITEMS)
    seen = (pytester.path / "seen.txt").read_text().split()
    assert len(set(seen)) == len(seen) == SUPPORT_ITEMS
