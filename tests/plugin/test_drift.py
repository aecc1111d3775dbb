"""Baselines and drift, run by run in one project directory (fixtures/drift)."""

from __future__ import annotations

import json
import re
import threading
import xml.etree.ElementTree as ElementTree
from collections import Counter
from pathlib import Path

import pytest

from pytest_promptcheck.merge import main as merge
from tests.loopback import LoopbackServer, RecordedRequest, Responder, rules

OPPOSITES = {"hot": "cold", "big": "small", "up": "down", "fast": "slow", "light": "dark"}
BROKEN_BY_TUTOR_2 = {"big": "large", "light": "heavy"}
OPPOSITE_ITEMS = len(OPPOSITES)
COIN_ITEMS = 2
ALL_ITEMS = OPPOSITE_ITEMS + COIN_ITEMS


def counted(passes_of_20: dict[str, int]) -> Responder:
    """Answers "yes" to exactly `passes_of_20[side]` of every 20 requests for a side."""
    seen: Counter[str] = Counter()
    lock = threading.Lock()

    def respond(request: RecordedRequest) -> str:
        side = "heads" if "heads" in request.user_text else "tails"
        with lock:
            index = seen[side] % 20
            seen[side] += 1
        return "yes" if index < passes_of_20[side] else "no"

    return respond


@pytest.fixture
def project(pytester: pytest.Pytester, openai_env: LoopbackServer) -> LoopbackServer:
    pytester.copy_example("drift")
    openai_env.set_model("tutor", rules(OPPOSITES), reported="tutor-2026-01")
    openai_env.set_model("tutor-2", rules({**OPPOSITES, **BROKEN_BY_TUTOR_2}))
    openai_env.set_model("coin", counted({"heads": 18, "tails": 18}))
    return openai_env


def baseline(pytester: pytest.Pytester, name: str) -> dict[str, object]:
    data: dict[str, object] = json.loads(
        (pytester.path / "__promptcheck__" / f"{name}.json").read_text()
    )
    return data


def edit(pytester: pytest.Pytester, name: str, old: str, new: str) -> None:
    path = pytester.path / name
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_lifecycle_record_edit_swap_update(
    pytester: pytest.Pytester, project: LoopbackServer
) -> None:
    # record
    result = pytester.runpytest("--promptcheck-update-baseline")
    result.assert_outcomes(passed=ALL_ITEMS)
    result.stdout.fnmatch_lines(["*baseline updated: *opposites.json (5 entries recorded)*"])
    recorded = (pytester.path / "__promptcheck__" / "opposites.json").read_text()
    entry = json.loads(recorded)["cases"]["hot"]
    assert entry["model"] == {
        "requested": "openai:tutor",
        "reported": "tutor-2026-01",
        "system_fingerprint": None,
    }
    assert entry["samples"][0]["output"] == "cold"
    assert entry["passed"] == 1 and entry["prompt"]["version"] == "1"
    assert recorded == json.dumps(json.loads(recorded), sort_keys=True, indent=2) + "\n"

    # an unchanged rerun: no drift, and an update rewrites no byte
    result = pytester.runpytest("--promptcheck-update-baseline")
    result.assert_outcomes(passed=ALL_ITEMS)
    result.stdout.fnmatch_lines(["*baseline unchanged: *opposites.json*"])
    assert (pytester.path / "__promptcheck__" / "opposites.json").read_text() == recorded

    # a prompt edit that changes no verdict: the cause is named, nothing regressed
    edit(pytester, "opposites.prompt.yaml", "The opposite of", "Give the opposite of")
    result = pytester.runpytest("--promptcheck-drift=fail")
    result.assert_outcomes(passed=ALL_ITEMS)
    result.stdout.fnmatch_lines(["opposites *openai:tutor *0 *0 *0 *5 *0 *prompt changed: 5*"])
    result.stdout.no_fnmatch_line("*REGRESSED*")

    # an edit that moves an output but not its verdict: the case is listed with the cause
    edit(pytester, "opposites.prompt.yaml", "expect: [{equals: cold}]", "expect: [{contains: c}]")
    project.set_model("tutor", rules({**OPPOSITES, "hot": "icy cold"}), reported="tutor-2026-01")
    result = pytester.runpytest("--promptcheck-drift=fail", "--promptcheck-cache=off", "-k", "hot")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        ["*CHANGED   opposites::hot  prompt changed, checks changed: output moved, verdict passed*"]
    )
    project.set_model("tutor", rules(OPPOSITES), reported="tutor-2026-01")

    # a model swap that breaks two cases: each is named, with the cause
    swap = ("-k", "opposites", "--promptcheck-model=openai:tutor-2")
    result = pytester.runpytest("--promptcheck-drift=fail", *swap)
    result.assert_outcomes(passed=3, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*REGRESSED opposites::big  prompt changed, model changed (openai:tutor → "
            "openai:tutor-2): passed → failed*",
            "*REGRESSED opposites::light  prompt changed, model changed (openai:tutor → "
            "openai:tutor-2): passed → failed*",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "*big failed: 1 of 1 checks*",
            "*drift   regressed (prompt changed, model changed (openai:tutor → openai:tutor-2)): "
            "passed → failed*",
            "*-small*",
            "*+large*",
            "*accept  pytest 'opposites.prompt.yaml::big' --promptcheck-model openai:tutor-2 "
            "--promptcheck-update-baseline*",
        ]
    )

    # accept the new model: the next run is clean
    pytester.runpytest(*swap, "--promptcheck-update-baseline")
    result = pytester.runpytest("--promptcheck-drift=fail", *swap)
    result.assert_outcomes(passed=3, failed=2)
    result.stdout.fnmatch_lines(["opposites *openai:tutor-2 *0 *0 *0 *5 *0*"])
    result.stdout.no_fnmatch_line("*REGRESSED*")


def test_drift_fail_fails_a_regression_that_passes_its_checks(
    pytester: pytest.Pytester, project: LoopbackServer
) -> None:
    pytester.runpytest("--promptcheck-update-baseline", "-k", "coin")
    project.set_model("coin", counted({"heads": 10, "tails": 18}))  # 10/20 still meets 0.5
    args = ("--promptcheck-cache=refresh", "-k", "coin")
    warned = pytester.runpytest(*args)
    warned.assert_outcomes(passed=2)
    warned.stdout.fnmatch_lines(["*REGRESSED coin::heads  no change: pass rate 18/20 → 10/20*"])
    result = pytester.runpytest(*args, "--promptcheck-drift=fail")
    result.assert_outcomes(passed=1, failed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            "*heads regressed against its baseline (--promptcheck-drift=fail)*",
            "*drift   regressed (no change): pass rate 18/20 → 10/20, adjusted p=*",
        ]
    )
    pytester.makeini("[pytest]\npromptcheck_drift = fail\n")
    pytester.runpytest(*args).assert_outcomes(passed=1, failed=1)
    off = pytester.runpytest(*args, "--promptcheck-drift=off")
    off.assert_outcomes(passed=2)
    off.stdout.no_fnmatch_line("*drift against the baseline*")


def html_verdict(path: Path) -> dict[str, object]:
    """The verdict the .html report's page draws its PASS or FAIL badge from."""
    found = re.search(r'id="promptcheck-data">(.*?)</script>', path.read_text(), re.S)
    assert found
    verdict: dict[str, object] = json.loads(found.group(1))["verdict"]
    return verdict


def test_the_html_report_says_what_the_exit_code_says_about_the_drift_gate(
    pytester: pytest.Pytester, project: LoopbackServer
) -> None:
    pytester.runpytest("--promptcheck-update-baseline", "-k", "coin")
    project.set_model("coin", counted({"heads": 10, "tails": 18}))  # regressed, checks pass
    args = ("--promptcheck-cache=refresh", "-k", "coin", "--promptcheck-drift=fail")
    gated = pytester.runpytest(*args, "--promptcheck-report=gated.html")
    assert gated.ret == pytest.ExitCode.TESTS_FAILED
    verdict = html_verdict(pytester.path / "gated.html")
    assert verdict["ok"] is False
    assert verdict["reasons"] == ["1 regressed case fails the drift gate (mode fail)"]
    # recording baselines applies no drift gate: the run passes, and so does its page
    reports = ("--promptcheck-report=updating.html", "--promptcheck-report=updating.json")
    result = pytester.runpytest(*args, "--promptcheck-update-baseline", *reports)
    assert result.ret == pytest.ExitCode.OK
    verdict = html_verdict(pytester.path / "updating.html")
    assert verdict["ok"] is True and verdict["reasons"] == []
    # and the merge of that run's report, which applies the gate again
    merged = pytester.path / "merged.html"
    assert merge([str(pytester.path / "updating.json"), "--report", str(merged)]) == 0
    assert html_verdict(merged)["ok"] is True


def test_score_drop_beyond_tolerance_regresses(
    pytester: pytest.Pytester, project: LoopbackServer
) -> None:
    edit(
        pytester,
        "opposites.prompt.yaml",
        "expect: [{equals: cold}]",
        "threshold: 0.4, expect: [{equals: cold}, {contains: c}, {contains: o}]",
    )
    pytester.runpytest("--promptcheck-update-baseline", "-k", "hot")
    project.set_model("tutor", rules({"hot": "cool"}))  # score 1.0 → 0.67, still above 0.4
    args = ("--promptcheck-cache=off", "-k", "hot", "--promptcheck-drift=fail")
    result = pytester.runpytest(*args)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*score 1.00 → 0.67, a drop beyond the tolerance 0.1*"])
    pytester.runpytest(*args, "--promptcheck-drift-tolerance=0.5").assert_outcomes(passed=1)


def test_sampled_cases_call_only_significant_drops(
    pytester: pytest.Pytester, project: LoopbackServer
) -> None:
    pytester.runpytest("--promptcheck-update-baseline", "-k", "coin").assert_outcomes(
        passed=COIN_ITEMS
    )
    assert baseline(pytester, "coin")["cases"]["heads"]["passed"] == 18  # type: ignore[index]

    # resampled at the same rate: not called
    result = pytester.runpytest("-k", "coin", "--promptcheck-cache=refresh")
    result.stdout.fnmatch_lines(["coin *openai:coin *0 *0 *0 *2 *0*"])
    result.stdout.fnmatch_lines(["*coin: 2 sampled cases x 20 samples, pass rate 0.90*"])

    # heads drops sharply (18/20 → 6/20): called; tails drops a little (18 → 16): not called
    project.set_model("coin", counted({"heads": 6, "tails": 16}))
    result = pytester.runpytest(
        "-k", "coin", "--promptcheck-cache=refresh", "--promptcheck-drift=fail"
    )
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*REGRESSED coin::heads  no change: pass rate 18/20 → 6/20*"])
    result.stdout.no_fnmatch_line("*REGRESSED coin::tails*")


def test_detection_power_and_needed_samples_are_stated(
    pytester: pytest.Pytester, project: LoopbackServer
) -> None:
    result = pytester.runpytest("-k", "coin", "--promptcheck-detect=0.2")
    result.stdout.fnmatch_lines(
        [
            "*smallest drop of one case this run could detect: 0.* (from 0.90)*",
            "*to detect a drop of 0.2 in one case (0.90 → 0.70)*: samples: * per case*",
        ]
    )


def test_reports_name_regressions_with_their_cause(
    pytester: pytest.Pytester, project: LoopbackServer
) -> None:
    pytester.runpytest("--promptcheck-update-baseline")
    result = pytester.runpytest(
        "--promptcheck-model=openai:tutor",
        "--promptcheck-model=openai:tutor-2",
        "--promptcheck-report=out/report.md",
        "--promptcheck-report=out/report.json",
        "-k",
        "opposites",
    )
    result.stdout.fnmatch_lines(["*model matrix*", "*report written: out/report.md*"])
    markdown = (pytester.path / "out" / "report.md").read_text()
    swapped = "| openai:tutor-2 | model changed (openai:tutor → openai:tutor-2) | passed → failed"
    assert f"| `opposites::big` {swapped}" in markdown
    assert f"| `opposites::light` {swapped}" in markdown
    assert "### Model matrix" in markdown
    assert "| opposites | openai:tutor-2 | 2 | 0 | 0 | 3 | 0 | model changed: 5 |" in markdown
    assert "- `opposites::big`: openai:tutor passed, openai:tutor-2 **failed**" in markdown
    report = json.loads((pytester.path / "out" / "report.json").read_text())
    assert report["totals"]["regressed"] == 2 and report["totals"]["cases"] == 10
    broken = {c["case"] for c in report["cases"] if c["drift"]["effect"] == "regressed"}
    assert broken == {"big", "light"}
    assert report["matrix"]["opposites"]["openai:tutor-2"]["passed"] == 3


def test_unused_entries_are_reported_and_removed_by_a_whole_file_update(
    pytester: pytest.Pytester, project: LoopbackServer
) -> None:
    pytester.runpytest("--promptcheck-update-baseline")
    edit(
        pytester,
        "opposites.prompt.yaml",
        "  - {id: up, vars: {word: up}, expect: [{equals: down}]}\n",
        "",
    )
    result = pytester.runpytest("-k", "opposites")
    result.stdout.fnmatch_lines(["*unused baseline entries in *opposites.json: up*"])
    pytester.runpytest("--promptcheck-update-baseline", "-k", "hot")
    assert "up" in baseline(pytester, "opposites")["cases"]  # type: ignore[operator]
    pytester.runpytest("--promptcheck-update-baseline")
    assert "up" not in baseline(pytester, "opposites")["cases"]  # type: ignore[operator]


def test_a_broken_baseline_is_a_clear_collection_error(
    pytester: pytest.Pytester, project: LoopbackServer
) -> None:
    pytester.runpytest("--promptcheck-update-baseline")
    path = pytester.path / "__promptcheck__" / "opposites.json"
    path.write_text(path.read_text().replace('"cases": {', '"cases": {<<<<<<< HEAD', 1))
    result = pytester.runpytest()
    result.stdout.fnmatch_lines(
        ["*opposites.json:*: the baseline is not valid JSON*", "*hint: a merge conflict?*"]
    )
    result.stdout.no_fnmatch_line("*Traceback*")
    assert result.ret == pytest.ExitCode.INTERRUPTED


def test_xdist_update_writes_the_same_baseline(
    pytester: pytest.Pytester, project: LoopbackServer
) -> None:
    pytester.runpytest("--promptcheck-update-baseline", "-k", "opposites")
    single = (pytester.path / "__promptcheck__" / "opposites.json").read_text()
    Path(pytester.path / "__promptcheck__" / "opposites.json").unlink()
    result = pytester.runpytest_subprocess(
        "-n", "2", "--promptcheck-update-baseline", "-k", "opposites"
    )
    result.assert_outcomes(passed=OPPOSITE_ITEMS)
    merged = json.loads((pytester.path / "__promptcheck__" / "opposites.json").read_text())
    expected = json.loads(single)
    for entry in [*merged["cases"].values(), *expected["cases"].values()]:
        entry.pop("recorded_at")
    assert merged == expected
    swapped = pytester.runpytest_subprocess(
        "-n", "2", "--promptcheck-model=openai:tutor-2", "-k", "opposites"
    )
    swapped.stdout.fnmatch_lines(["*REGRESSED opposites::big  model changed*"])


def test_two_prompts_with_one_name_would_share_a_baseline(
    pytester: pytest.Pytester, project: LoopbackServer
) -> None:
    twin = (pytester.path / "opposites.prompt.yaml").read_text()
    (pytester.path / "twin.prompt.yaml").write_text(twin)
    result = pytester.runpytest("--promptcheck-update-baseline")
    result.stdout.fnmatch_lines(
        [
            "*twin.prompt.yaml: prompt name 'opposites' is also the name of opposites.prompt.yaml*",
            "*hint: give one of them another 'name:'*",
        ]
    )
    assert result.ret == pytest.ExitCode.INTERRUPTED
    assert not (pytester.path / "__promptcheck__").exists()


def test_update_keeps_entries_of_cases_whose_calls_failed(
    pytester: pytest.Pytester, project: LoopbackServer
) -> None:
    pytester.runpytest("--promptcheck-update-baseline", "-k", "opposites")
    before = baseline(pytester, "opposites")["cases"]  # type: ignore[index]

    def broken_for_hot(request: RecordedRequest) -> str:
        if "hot" in request.user_text:
            raise RuntimeError("no answer for hot")
        return "changed"

    project.set_model("tutor", broken_for_hot)
    result = pytester.runpytest(
        "--promptcheck-update-baseline",
        "--promptcheck-cache=off",
        "--promptcheck-retries=0",
        "-k",
        "opposites",
    )
    result.assert_outcomes(failed=OPPOSITE_ITEMS - 1, errors=1)
    result.stdout.fnmatch_lines(["*1 cases errored and were not recorded*"])
    after = baseline(pytester, "opposites")["cases"]  # type: ignore[index]
    assert after["hot"] == before["hot"]
    assert after["big"]["samples"][0]["output"] == "changed"


def test_sampled_failure_report_compares_how_often_each_output_came(
    pytester: pytest.Pytester, project: LoopbackServer
) -> None:
    pytester.runpytest("--promptcheck-update-baseline", "-k", "heads")
    project.set_model("coin", counted({"heads": 2, "tails": 18}))
    result = pytester.runpytest("-k", "heads", "--promptcheck-cache=refresh")
    result.stdout.fnmatch_lines(
        [
            '*outputs baseline "yes" x18, "no" x2*',
            '*        now      "no" x18, "yes" x2*',
        ]
    )


def test_the_accept_command_of_a_matrix_item_records_that_model(
    pytester: pytest.Pytester, project: LoopbackServer
) -> None:
    pytester.runpytest("--promptcheck-update-baseline", "-k", "opposites")
    models = ("--promptcheck-model=openai:tutor", "--promptcheck-model=openai:tutor-2")
    result = pytester.runpytest(*models, "-k", "opposites")
    accept = "pytest 'opposites.prompt.yaml::big' --promptcheck-model openai:tutor-2 "
    result.stdout.fnmatch_lines([f"*accept  {accept}--promptcheck-update-baseline"])
    pytester.runpytest(
        "opposites.prompt.yaml::big",
        "--promptcheck-model",
        "openai:tutor-2",
        "--promptcheck-update-baseline",
    )
    big = baseline(pytester, "opposites")["cases"]["big"]  # type: ignore[index]
    assert big["samples"][0]["output"] == "large"
    assert big["model"]["requested"] == "openai:tutor-2"


TUTOR_2 = "--promptcheck-model=openai:tutor-2"


def properties(path: Path) -> dict[str, list[tuple[str | None, str | None]]]:
    """Each test case's properties, in order, by its name."""
    cases = ElementTree.parse(path).getroot().iter("testcase")
    return {
        str(case.get("name")): [(p.get("name"), p.get("value")) for p in case.iter("property")]
        for case in cases
    }


def test_a_report_file_changes_no_junit_property(
    pytester: pytest.Pytester, project: LoopbackServer
) -> None:
    """Without a report file the items skip the whole baseline entry of cases with none, and
    share equal property tuples and the drift of new cases: the properties are the same as
    with one, and agree with the report."""
    pytester.runpytest("--promptcheck-update-baseline")
    new_case = "  - {id: cold, vars: {word: cold}, expect: [{equals: hot}]}\n"
    edit(
        pytester,
        "opposites.prompt.yaml",
        "expect: [{equals: dark}]}\n",
        f"expect: [{{equals: dark}}]}}\n{new_case}",
    )
    pytester.runpytest(TUTOR_2)  # fills the cache: both runs below replay the same answers
    pytester.runpytest(TUTOR_2, "--promptcheck-cache=replay", "--junitxml=bare.xml")
    pytester.runpytest(
        TUTOR_2,
        "--promptcheck-cache=replay",
        "--junitxml=kept.xml",
        "--promptcheck-report=out.json",
    )
    bare, kept = properties(pytester.path / "bare.xml"), properties(pytester.path / "kept.xml")
    assert bare == kept
    report = json.loads((pytester.path / "out.json").read_text())
    effects = set()
    for case in report["cases"]:
        found = dict(kept[case["case"]])
        effects.add(found["promptcheck_drift"])
        assert found["promptcheck_drift"] == case["drift"]["effect"]
        assert found["promptcheck_drift_cause"] == case["drift"]["cause_text"]
        assert found["promptcheck_score"] == str(case["result"]["score"])  # "1.0", never "1"
        assert found["promptcheck_pass_rate"] == str(round(case["pass_rate"], 4))
        assert found["promptcheck_samples"] == str(case["n"])
        assert found["promptcheck_model"] == case["model"]
    assert effects >= {"new", "regressed", "same"}
