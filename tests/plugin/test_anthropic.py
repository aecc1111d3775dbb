"""Whole runs of fixtures/anthropic_support against the loopback Messages API server."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.loopback import LoopbackServer, ToolReply, rules, status
from tests.loopback_anthropic import (
    REQUEST_ID,
    AnthropicServer,
    error_body,
    overloaded,
    spend_limit,
)
from tests.loopback_fixtures import TEST_API_KEY
from tests.raw_server import RawServer, response

STORY = "Once upon a time there was a dragon. The end"


@pytest.fixture
def claude(pytester: pytest.Pytester, anthropic_env: AnthropicServer) -> AnthropicServer:
    pytester.copy_example("anthropic_support")
    answers = {"refund": "billing", "crashes": "tech", "invoice": "billing"}
    anthropic_env.set_model("support-bot", rules(answers), reported="support-bot-2026")
    anthropic_env.set_model("story-bot", rules({}, STORY))
    anthropic_env.set_model(
        "tool-bot", lambda _: ToolReply((("get_weather", '{"city": "Paris"}'),))
    )
    return anthropic_env


def report_cases(pytester: pytest.Pytester) -> dict[str, dict[str, Any]]:
    document = json.loads((pytester.path / "report.json").read_text())
    return {f"{case['prompt']}::{case['case']}": case for case in document["cases"]}


def test_verdicts_and_a_rerun_from_the_cache(
    pytester: pytest.Pytester, claude: AnthropicServer
) -> None:
    result = pytester.runpytest()
    result.assert_outcomes(passed=4, failed=2)
    result.stdout.fnmatch_lines(
        ["FAILED story.prompt.yaml::dragons*", "FAILED tickets.prompt.yaml::wrong_queue*"],
        consecutive=False,
    )
    assert len(claude.completion_requests) == 6
    claude.reset()
    pytester.runpytest().assert_outcomes(passed=4, failed=2)
    assert claude.completion_requests == []


def test_headers_are_sent_and_the_key_is_never_shown(
    pytester: pytest.Pytester, claude: AnthropicServer
) -> None:
    result = pytester.runpytest(
        "--junitxml=junit.xml", "--promptcheck-report=report.json", "-l", "--tb=long"
    )
    result.assert_outcomes(passed=4, failed=2)
    for request in claude.completion_requests:
        assert request.path == "/v1/messages"
        assert request.headers["anthropic-version"] == "2023-06-01"
        assert request.headers["x-api-key"] == TEST_API_KEY
    for text in (
        "\n".join([*result.outlines, *result.errlines]),
        (pytester.path / "junit.xml").read_text(),
        (pytester.path / "report.json").read_text(),
    ):
        assert TEST_API_KEY not in text


def test_system_messages_are_hoisted(pytester: pytest.Pytester, claude: AnthropicServer) -> None:
    pytester.runpytest("tickets.prompt.yaml", "-k", "refund")
    (request,) = claude.completion_requests
    assert request.body["system"] == (
        "Route the ticket to a queue.\n\nAnswer with the queue's name only."
    )
    assert request.body["messages"] == [{"role": "user", "content": "I want a refund"}]
    assert request.body["max_tokens"] == 1024


def test_an_overloaded_api_is_retried_to_success(
    pytester: pytest.Pytester, claude: AnthropicServer
) -> None:
    claude.inject(overloaded(), overloaded())
    pytester.runpytest("tickets.prompt.yaml", "-k", "refund").assert_outcomes(passed=1)
    assert len(claude.completion_requests) == 3


def test_a_spend_limit_fails_once_without_retries(
    pytester: pytest.Pytester, claude: AnthropicServer
) -> None:
    claude.inject(spend_limit())
    result = pytester.runpytest("tickets.prompt.yaml", "-k", "refund")
    result.assert_outcomes(errors=1)
    assert len(claude.completion_requests) == 1
    result.stdout.fnmatch_lines(
        [
            "*anthropic: HTTP 429 after 1 try: rate_limit_error: Your organization has reached "
            f"its monthly spend limit. (a spend limit or billing problem: not retried) "
            f"(request-id {REQUEST_ID})*"
        ]
    )


def test_an_error_shows_type_message_and_request_id_without_the_key(
    pytester: pytest.Pytester, claude: AnthropicServer
) -> None:
    body = error_body("authentication_error", f"invalid x-api-key {TEST_API_KEY}")
    claude.inject(status(401, body, {"request-id": REQUEST_ID}))
    result = pytester.runpytest("tickets.prompt.yaml", "-k", "refund", "-l", "--tb=long")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*anthropic: HTTP 401 after 1 try: authentication_error: invalid x-api-key "
            f"[[]redacted[]] (request-id {REQUEST_ID})*"
        ]
    )
    assert TEST_API_KEY not in result.stdout.str()
    assert len(claude.completion_requests) == 1


def test_a_truncated_reply_is_marked(pytester: pytest.Pytester, claude: AnthropicServer) -> None:
    result = pytester.runpytest("story.prompt.yaml", "--promptcheck-report=report.json")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ['  output  "Once upon a"', "  note    truncated: *(finish reason max_tokens)*"]
    )
    (sample,) = report_cases(pytester)["story::dragons"]["result"]["samples"]
    assert sample["truncated"] is True
    untruncated = pytester.runpytest("tickets.prompt.yaml", "--promptcheck-report=report.json")
    assert "note    truncated" not in untruncated.stdout.str()
    assert '"truncated":' not in (pytester.path / "report.json").read_text()


def test_tools_round_trip(pytester: pytest.Pytester, claude: AnthropicServer) -> None:
    pytester.runpytest("weather.prompt.yaml").assert_outcomes(passed=1)
    (request,) = claude.completion_requests
    assert request.body["tool_choice"] == {"type": "any"}
    assert request.body["tools"] == [
        {
            "name": "get_weather",
            "description": "The current weather in a city.",
            "input_schema": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        }
    ]


def test_a_named_endpoint_prices_cache_tokens_apart(
    pytester: pytest.Pytester, claude: AnthropicServer
) -> None:
    claude.cache_read, claude.cache_write = 1000, 100
    result = pytester.runpytest("priced.prompt.yaml", "--promptcheck-report=report.json")
    result.assert_outcomes(passed=1)
    (request,) = claude.completion_requests
    assert request.body["model"] == "support-bot"
    case = report_cases(pytester)["priced::refund"]
    (sample,) = case["result"]["samples"]
    assert (sample["tokens_in"], sample["tokens_out"]) == (4 + 1000 + 100, 1)
    assert sample["cost_usd"] == pytest.approx((4 * 3.0 + 1 * 15.0 + 1000 * 0.3 + 100 * 3.75) / 1e6)


def test_openai_length_is_marked_truncated_too(
    pytester: pytest.Pytester, openai_env: LoopbackServer
) -> None:
    pytester.copy_example("completion")
    cut = {"choices": [{"text": "war", "finish_reason": "length"}], "model": "word-model"}
    openai_env.inject(status(200, cut))
    result = pytester.runpytest("opposites.prompt.yaml::hot", "--promptcheck-report=report.json")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["  note    truncated: *(finish reason length)*"])
    (sample,) = report_cases(pytester)["opposites::hot"]["result"]["samples"]
    assert sample["truncated"] is True


def test_a_broken_answer_is_one_clean_error_without_the_key(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A status line httpx2 cannot parse, with frame locals shown: the x-api-key header is not
    hidden by httpx2's repr of headers as Authorization is, so nothing may print it."""
    pytester.copy_example("anthropic_support")
    with RawServer(response(b"{}", status=b"HTTP/1.1 2OO OK")) as server:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", server.base_url.removesuffix("/v1"))
        monkeypatch.setenv("ANTHROPIC_API_KEY", TEST_API_KEY)
        result = pytester.runpytest_subprocess(
            "tickets.prompt.yaml::refund",
            "--junitxml=junit.xml",
            "-l",
            "--tb=long",
            "--promptcheck-cache=off",
            "--promptcheck-retries=0",
        )
    output = "\n".join([*result.outlines, *result.errlines])
    for text in (output, (pytester.path / "junit.xml").read_text()):
        assert TEST_API_KEY not in text
    assert "Traceback" not in output
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*refund errored: anthropic: no response after 1 try: *"])
    assert server.requests
