"""Whole runs of the fixtures/support project against the loopback server."""

from __future__ import annotations

import pytest

from tests.loopback import LoopbackServer, malformed, status
from tests.loopback_fixtures import TEST_API_KEY
from tests.plugin.support import SUPPORT_ITEMS, serve_support_bot


@pytest.fixture
def support(pytester: pytest.Pytester, openai_env: LoopbackServer) -> LoopbackServer:
    pytester.copy_example("support")
    serve_support_bot(openai_env)
    return openai_env


def test_every_case_passes_with_a_correct_model(
    pytester: pytest.Pytester, support: LoopbackServer
) -> None:
    result = pytester.runpytest()
    result.assert_outcomes(passed=SUPPORT_ITEMS)
    assert len(support.completion_requests) == SUPPORT_ITEMS


def test_node_ids_read_like_the_file(pytester: pytest.Pytester, support: LoopbackServer) -> None:
    result = pytester.runpytest("--collect-only", "-q")
    result.stdout.fnmatch_lines(["classify.prompt.yaml::refund", "classify.prompt.yaml::invoice"])
    assert support.completion_requests == []


def test_items_locations_are_pytests_own(
    pytester: pytest.Pytester, support: LoopbackServer
) -> None:
    """CaseItem works out each case source's relative path once per file: what pytest shows
    must be what it would have worked out itself, for inline cases and for cases from .csv
    and .jsonl files beside the prompt."""
    items, _ = pytester.inline_genitems()
    sources = {item.location[0] for item in items}
    assert sources == {"classify.prompt.yaml", "cases/more.csv", "cases/more.jsonl"}
    for item in items:
        assert item.location == pytest.Item.location.func(item)  # type: ignore[attr-defined]


def test_a_conftest_elsewhere_does_not_reach_the_items(
    pytester: pytest.Pytester, support: LoopbackServer
) -> None:
    """A conftest file of another folder, loaded after the prompt file was collected, does not
    reach the prompt's items (pytest picks their hooks by path, at each call)."""
    pytester.makepyfile(
        **{
            "other/conftest.py": "def pytest_runtest_setup(item):\n    raise RuntimeError('x')\n",
            "other/test_other.py": "def test_other():\n    pass\n",
        }
    )
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=SUPPORT_ITEMS, errors=1)


def test_key_is_sent_as_bearer_token(pytester: pytest.Pytester, support: LoopbackServer) -> None:
    pytester.runpytest()
    auth = {r.headers.get("authorization") for r in support.completion_requests}
    assert auth == {f"Bearer {TEST_API_KEY}"}


def test_chat_request_carries_rendered_messages_and_params(
    pytester: pytest.Pytester, support: LoopbackServer
) -> None:
    pytester.runpytest("-k", "refund")
    (request,) = support.completion_requests
    assert request.path == "/v1/chat/completions"
    assert request.body["model"] == "support-bot"
    assert request.body["max_tokens"] == 50
    assert request.body["messages"][1] == {
        "role": "user",
        "content": "I was charged twice, I want a refund",
    }


def test_rerun_makes_no_model_call(pytester: pytest.Pytester, support: LoopbackServer) -> None:
    pytester.runpytest()
    support.reset()
    result = pytester.runpytest()
    result.assert_outcomes(passed=SUPPORT_ITEMS)
    assert support.completion_requests == []
    result.stdout.fnmatch_lines(
        [f"*{SUPPORT_ITEMS} samples: 0 live calls, {SUPPORT_ITEMS} from cache*"]
    )


def test_replay_miss_errors_and_makes_no_call(
    pytester: pytest.Pytester, support: LoopbackServer
) -> None:
    result = pytester.runpytest("--promptcheck-cache=replay")
    result.assert_outcomes(errors=SUPPORT_ITEMS)
    assert support.completion_requests == []
    result.stdout.fnmatch_lines(["*record it first with --promptcheck-cache=use*"])


def test_replay_after_recording_passes(pytester: pytest.Pytester, support: LoopbackServer) -> None:
    pytester.runpytest()
    support.reset()
    result = pytester.runpytest("--promptcheck-cache=replay")
    result.assert_outcomes(passed=SUPPORT_ITEMS)
    assert support.completion_requests == []


def test_refresh_calls_again(pytester: pytest.Pytester, support: LoopbackServer) -> None:
    pytester.runpytest()
    support.reset()
    result = pytester.runpytest("--promptcheck-cache=refresh")
    result.assert_outcomes(passed=SUPPORT_ITEMS)
    assert len(support.completion_requests) == SUPPORT_ITEMS


def test_cache_off_writes_nothing(pytester: pytest.Pytester, support: LoopbackServer) -> None:
    for _ in range(2):  # the second run finds nothing either: it calls again
        support.reset()
        result = pytester.runpytest("--promptcheck-cache=off")
        result.assert_outcomes(passed=SUPPORT_ITEMS)
        assert len(support.completion_requests) == SUPPORT_ITEMS
        assert not (pytester.path / ".promptcheck").exists()


def test_cache_dir_option(pytester: pytest.Pytester, support: LoopbackServer) -> None:
    pytester.runpytest("--promptcheck-cache-dir", "elsewhere").assert_outcomes(passed=SUPPORT_ITEMS)
    assert (pytester.path / "elsewhere" / "responses").is_dir()
    assert not (pytester.path / ".promptcheck").exists()
    support.reset()
    result = pytester.runpytest("--promptcheck-cache-dir", "elsewhere")
    result.assert_outcomes(passed=SUPPORT_ITEMS)
    assert support.completion_requests == []  # read back from there


def test_wrong_answer_fails_with_report(pytester: pytest.Pytester, support: LoopbackServer) -> None:
    serve_support_bot(support, refund='{"queue": "other", "urgent": false}')
    result = pytester.runpytest("-k", "refund")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*refund failed: 1 of 3 checks",
            "*case    *classify.prompt.yaml:19   prompt classify_ticket v3 (fp *",
            "*model   openai:support-bot  (reported support-bot, live, * ms, * tokens)",
            '*output  "{\\"queue\\": \\"other\\", \\"urgent\\": false}"',
            "*check   FAIL  equals*",
            "*check   ok    not_contains*",
        ]
    )


def test_invalid_json_fails_the_sample(pytester: pytest.Pytester, support: LoopbackServer) -> None:
    serve_support_bot(support, refund="Sure! The queue is billing.")
    result = pytester.runpytest("-k", "refund")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*format  FAIL  output is not JSON: Expecting value at line 1*"])


def test_schema_error_names_the_json_path(
    pytester: pytest.Pytester, support: LoopbackServer
) -> None:
    serve_support_bot(support, refund='{"queue": "sales", "urgent": false}')
    result = pytester.runpytest("-k", "refund")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*format  FAIL  output does not match format.schema: $.queue: *"])


def test_server_error_makes_an_error_not_a_failure(
    pytester: pytest.Pytester, support: LoopbackServer
) -> None:
    support.inject(status(500), status(503))
    result = pytester.runpytest("-k", "refund", "--promptcheck-retries=1")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*refund errored: openai: HTTP 503 after 2 tries*"])
    assert "Traceback" not in result.stdout.str()


def test_errors_are_not_cached(pytester: pytest.Pytester, support: LoopbackServer) -> None:
    support.inject(malformed())
    pytester.runpytest("-k", "refund", "--promptcheck-retries=0").assert_outcomes(errors=1)
    result = pytester.runpytest("-k", "refund")
    result.assert_outcomes(passed=1)
    assert len(support.completion_requests) == 2


def test_unauthorized_shows_provider_message(
    pytester: pytest.Pytester, support: LoopbackServer
) -> None:
    support.inject(status(401))
    result = pytester.runpytest("-k", "refund")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*openai: HTTP 401 after 1 try: *"])


def test_api_key_never_reaches_disk_or_output(
    pytester: pytest.Pytester, support: LoopbackServer
) -> None:
    support.inject(status(401))
    result = pytester.runpytest("--junitxml=report.xml", "-rA")
    # the run went through the error path as well as the passing one
    result.assert_outcomes(passed=SUPPORT_ITEMS - 1, errors=1)
    result.stdout.fnmatch_lines(["*openai: HTTP 401 after 1 try: *"])
    assert TEST_API_KEY not in result.stdout.str() + result.stderr.str()
    written = [p for p in pytester.path.rglob("*") if p.is_file()]
    assert any(".promptcheck" in str(p) for p in written)
    for path in written:
        assert TEST_API_KEY.encode() not in path.read_bytes(), path


def test_several_models_make_one_item_per_case_and_model(
    pytester: pytest.Pytester, support: LoopbackServer
) -> None:
    serve_support_bot(support)
    support.set_model("other-bot", lambda request: '{"queue": "other", "urgent": false}')
    result = pytester.runpytest(
        "--promptcheck-model", "openai:support-bot", "--promptcheck-model", "openai:other-bot"
    )
    # other-bot always answers {"queue": "other", "urgent": false}: only "password" still passes
    result.assert_outcomes(passed=SUPPORT_ITEMS + 1, failed=SUPPORT_ITEMS - 1)
    result.stdout.fnmatch_lines(["FAILED classify.prompt.yaml::refund[[]openai:other-bot[]]*"])


def test_summary_counts_per_prompt_and_model(
    pytester: pytest.Pytester, support: LoopbackServer
) -> None:
    result = pytester.runpytest()
    result.stdout.fnmatch_lines(
        [
            "*= promptcheck =*",
            "prompt *model *passed *failed *errors *live *cached *tokens *cost $ *p50 ms *p95 ms",
            f"classify_ticket *openai:support-bot *{SUPPORT_ITEMS} *0 *0 *{SUPPORT_ITEMS} *0 *",
        ]
    )


def test_junitxml_carries_scores_and_fingerprint(
    pytester: pytest.Pytester, support: LoopbackServer
) -> None:
    pytester.runpytest("-k", "refund", "--junitxml=report.xml")
    xml = (pytester.path / "report.xml").read_text()
    assert 'name="promptcheck_fingerprint"' in xml
    assert 'name="promptcheck_score" value="1.0"' in xml
    assert 'name="promptcheck_model_reported" value="support-bot"' in xml
