"""A check that asks a model about the output: its calls are planned, cached, claimed once
under xdist and made in the call phase, like the prompt's own (DESIGN §3)."""

from __future__ import annotations

import pytest

from tests.loopback import LoopbackServer, status

PLAN = "promptcheck: 6 model calls (3 asked by checks): {live} live, {cached} from cache"


@pytest.fixture
def asking(pytester: pytest.Pytester, openai_env: LoopbackServer) -> LoopbackServer:
    pytester.copy_example("asking_check")
    openai_env.set_model("writer", lambda request: f"Hello {request.user_text.split()[-1]}!")
    openai_env.set_model("grader", lambda request: "no" if "Bo!" in request.user_text else "yes")
    return openai_env


def test_the_check_calls_are_planned_made_and_judged(
    pytester: pytest.Pytester, asking: LoopbackServer
) -> None:
    result = pytester.runpytest()
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines([PLAN.format(live=6, cached=0)])
    result.stdout.fnmatch_lines(["*asks_polite: openai:grader said no*"])
    graded = [r.user_text for r in asking.requests_for("grader")]
    assert sorted(text.splitlines()[-1] for text in graded) == [
        "<reply>Hello Ana!</reply>",
        "<reply>Hello Bo!</reply>",
        "<reply>Hello Cy!</reply>",
    ]


def test_a_rerun_makes_no_call_and_plans_them_from_the_cache(
    pytester: pytest.Pytester, asking: LoopbackServer
) -> None:
    pytester.runpytest()
    asking.reset()
    result = pytester.runpytest()
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines([PLAN.format(live=0, cached=6)])
    assert asking.completion_requests == []


def test_collect_only_and_max_calls_count_the_check_calls(
    pytester: pytest.Pytester, asking: LoopbackServer
) -> None:
    pytester.runpytest("--collect-only").stdout.fnmatch_lines([PLAN.format(live=6, cached=0)])
    refused = pytester.runpytest("--promptcheck-max-calls=5")
    assert refused.ret == pytest.ExitCode.USAGE_ERROR
    refused.stdout.fnmatch_lines(["*needs 6 live model calls, more than*=5*"])
    assert asking.completion_requests == []


@pytest.mark.parametrize("workers", ["2", "3"])
def test_under_xdist_each_check_call_is_made_once(
    pytester: pytest.Pytester, asking: LoopbackServer, workers: str
) -> None:
    asking.latency_ms = 20
    result = pytester.runpytest("-n", workers)
    result.assert_outcomes(passed=2, failed=1)
    assert len(asking.requests_for("writer")) == 3
    assert len(asking.requests_for("grader")) == 3


def test_a_failed_check_call_makes_the_item_an_error(
    pytester: pytest.Pytester, asking: LoopbackServer
) -> None:
    asking.inject(status(400), model="grader")
    result = pytester.runpytest("-k", "ana")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*ana errored: check 'asks_polite' could not ask its model:*"])


def test_negation_judges_from_the_same_answers(
    pytester: pytest.Pytester, asking: LoopbackServer
) -> None:
    text = (pytester.path / "reply.prompt.yaml").read_text()
    (pytester.path / "reply.prompt.yaml").write_text(
        text.replace("- asks_polite", "- not_asks_polite")
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, failed=2)
    assert len(asking.requests_for("grader")) == 3


def test_the_check_model_is_checked_at_collection(
    pytester: pytest.Pytester, asking: LoopbackServer
) -> None:
    text = (pytester.path / "reply.prompt.yaml").read_text()
    (pytester.path / "reply.prompt.yaml").write_text(text.replace("openai:grader", "nope:grader"))
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*unknown provider 'nope'*"])
    assert asking.completion_requests == []


def test_the_fixture_scores_with_the_same_checks_and_calls(
    pytester: pytest.Pytester, asking: LoopbackServer
) -> None:
    pytester.makepyfile(
        test_api="""
        def test_polite(promptcheck):
            result = promptcheck.run("reply", name="Bo")
            promptcheck.check(result, [{"asks_polite": "openai:grader"}])

        def test_bad_entry(promptcheck):
            result = promptcheck.run("reply", name="Ana")
            promptcheck.check(result, [{"asks_polite": "openai:grader", "contains": "x"}])
        """
    )
    result = pytester.runpytest("test_api.py")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            "E * reply failed: 1 of 1 checks",
            "E *   check   FAIL  asks_polite: openai:grader said no",
            "*check has several check types (asks_polite, contains)*one check per list item*",
        ]
    )
    assert len(asking.requests_for("grader")) == 1
