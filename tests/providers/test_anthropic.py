"""The anthropic provider over real sockets against the loopback Messages API server, through
the run's client (cache off): headers, answers, usage and cost, retries and errors."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest

from pytest_promptcheck.cache import CacheMode, ResponseCache
from pytest_promptcheck.client import ModelClient
from pytest_promptcheck.errors import ProviderError
from pytest_promptcheck.policy import CallPolicy
from pytest_promptcheck.providers import ProviderConfig, ProviderSet
from pytest_promptcheck.records import Completion, ModelRequest, ToolCall
from tests.loopback import ToolReply, rules, status
from tests.loopback_anthropic import (
    REQUEST_ID,
    AnthropicServer,
    api_error,
    error_body,
    overloaded,
    rate_limited,
    spend_limit,
)
from tests.loopback_fixtures import TEST_API_KEY

FAST = CallPolicy(retries=3, backoff_base_s=0.01, backoff_cap_s=0.05, timeout_s=5)
MESSAGES = ({"role": "system", "content": "Be brief."}, {"role": "user", "content": "refund?"})
REQUEST = ModelRequest("anthropic:claude-x", MESSAGES, None, {"temperature": 0})


@pytest.fixture
def server(anthropic_env: AnthropicServer) -> AnthropicServer:
    anthropic_env.set_model("claude-x", rules({"refund": "billing team"}), reported="claude-x-1")
    return anthropic_env


def run(
    tmp_path: Path,
    request: ModelRequest = REQUEST,
    configs: dict[str, ProviderConfig] | None = None,
) -> tuple[Completion, ModelClient]:
    client = ModelClient(
        ProviderSet(configs or {}, tmp_path, FAST.timeout_s),
        ResponseCache(tmp_path, CacheMode.OFF),
        FAST,
    )

    async def go() -> Completion:
        try:
            return await client.sample(request, 0)
        finally:
            await client.providers.aclose()

    return asyncio.run(go()), client


def failure(tmp_path: Path, request: ModelRequest = REQUEST) -> ProviderError:
    with pytest.raises(ProviderError) as info:
        run(tmp_path, request)
    return info.value


def test_the_request_has_the_messages_api_headers_path_and_body(
    tmp_path: Path, server: AnthropicServer
) -> None:
    completion, _ = run(tmp_path)
    (sent,) = server.completion_requests
    assert sent.path == "/v1/messages"
    assert sent.headers["anthropic-version"] == "2023-06-01"
    assert sent.headers["x-api-key"] == TEST_API_KEY
    assert "authorization" not in sent.headers  # the key goes only where Anthropic reads it
    assert sent.body == {
        "model": "claude-x",
        "max_tokens": 1024,
        "temperature": 0,
        "system": "Be brief.",
        "messages": [{"role": "user", "content": "refund?"}],
    }
    assert (completion.text, completion.model_reported) == ("billing team", "claude-x-1")
    assert completion.finish_reason == "end_turn"
    assert (completion.tokens_in, completion.tokens_out) == (3, 2)  # system words too


def test_a_reply_cut_by_max_tokens_is_marked(tmp_path: Path, server: AnthropicServer) -> None:
    server.set_model("claude-x", rules({}, "one two three four five"))
    completion, _ = run(tmp_path, ModelRequest("anthropic:claude-x", None, "go", {"max_tokens": 2}))
    assert (completion.text, completion.finish_reason) == ("one two", "max_tokens")
    assert completion.truncated


def test_tool_use_blocks_are_tool_calls(tmp_path: Path, server: AnthropicServer) -> None:
    server.set_model("claude-x", lambda _: ToolReply((("weather", '{"city": "Oslo"}'),), "Hm."))
    tool = {"name": "weather", "parameters": {"type": "object"}}
    request = ModelRequest(
        "anthropic:claude-x", MESSAGES, None, tools=(tool,), tool_choice="required"
    )
    completion, _ = run(tmp_path, request)
    assert completion.tool_calls == (ToolCall("weather", '{"city": "Oslo"}'),)
    assert completion.text == "Hm."
    (sent,) = server.completion_requests
    assert sent.body["tool_choice"] == {"type": "any"}
    assert sent.body["tools"] == [{"name": "weather", "input_schema": {"type": "object"}}]


def test_an_output_schema_comes_back_as_json_text(tmp_path: Path, server: AnthropicServer) -> None:
    verdict = {"reasoning": "cites the policy", "verdict": "pass"}
    server.set_model("claude-x", rules({}, json.dumps(verdict)))
    schema = {"type": "object", "properties": {"verdict": {"type": "string"}}}
    completion, _ = run(
        tmp_path, ModelRequest("anthropic:claude-x", MESSAGES, None, {}, {}, (), None, schema)
    )
    assert json.loads(completion.text) == verdict
    assert completion.tool_calls == ()


def test_cache_tokens_are_counted_and_priced_apart(tmp_path: Path, server: AnthropicServer) -> None:
    server.cache_read, server.cache_write = 1000, 100
    prices: dict[str, Any] = {"price_per_1m_cache_read": 0.3, "price_per_1m_cache_write": 3.75}
    config = ProviderConfig(
        name="claude",
        type="anthropic",
        price_per_1m_input=3.0,
        price_per_1m_output=15.0,
        options=prices,
    )
    request = ModelRequest("claude:claude-x", MESSAGES, None)
    completion, _ = run(tmp_path, request, {"claude": config})
    assert completion.tokens_in == 3 + 1000 + 100
    expected = (3 * 3.0 + 2 * 15.0 + 1000 * 0.3 + 100 * 3.75) / 1e6
    assert completion.cost_usd == pytest.approx(expected)


def test_cache_prices_default_to_anthropics_multiples_of_input(
    tmp_path: Path, server: AnthropicServer
) -> None:
    server.cache_read = 1000
    config = ProviderConfig("claude", "anthropic", price_per_1m_input=3.0, price_per_1m_output=15.0)
    completion, _ = run(
        tmp_path, ModelRequest("claude:claude-x", MESSAGES, None), {"claude": config}
    )
    assert completion.cost_usd == pytest.approx((3 * 3.0 + 2 * 15.0 + 1000 * 0.3) / 1e6)


def test_a_named_endpoint_has_its_own_url_and_key_variable(
    tmp_path: Path, server: AnthropicServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ANTHROPIC_BASE_URL")
    monkeypatch.setenv("CLAUDE_KEY", "other-key")
    config = ProviderConfig(
        "claude", "anthropic", base_url=server.base_url, api_key_env="CLAUDE_KEY"
    )
    run(tmp_path, ModelRequest("claude:claude-x", MESSAGES, None), {"claude": config})
    assert server.completion_requests[0].headers["x-api-key"] == "other-key"


@pytest.mark.parametrize(
    "fault", [overloaded(), api_error(), rate_limited()], ids=["529", "500", "429"]
)
def test_a_passing_fault_is_retried_to_success(
    tmp_path: Path, server: AnthropicServer, fault: Any
) -> None:
    server.inject(fault)
    completion, client = run(tmp_path)
    assert completion.text == "billing team"
    assert len(server.completion_requests) == 2
    assert client.stats.retried == 1


def test_retry_after_is_waited(tmp_path: Path, server: AnthropicServer) -> None:
    server.inject(rate_limited(retry_after=0.3))
    started = time.perf_counter()
    run(tmp_path)
    waited = server.completion_requests[1].started - server.completion_requests[0].started
    assert waited >= 0.3
    assert time.perf_counter() - started >= 0.3


@pytest.mark.parametrize("details", [True, False], ids=["error_code", "message"])
def test_a_spend_limit_fails_at_once(
    tmp_path: Path, server: AnthropicServer, details: bool
) -> None:
    server.inject(spend_limit(details=details))
    error = failure(tmp_path)
    assert (error.status, error.tries, error.retryable) == (429, 1, False)
    assert len(server.completion_requests) == 1
    assert "rate_limit_error: " in error.message
    assert "not retried" in error.message
    assert f"(request-id {REQUEST_ID})" in error.message


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        (400, "invalid_request_error"),
        (401, "authentication_error"),
        (403, "permission_error"),
        (404, "not_found_error"),
    ],
)
def test_a_client_error_is_not_retried_and_says_what_and_which_request(
    tmp_path: Path, server: AnthropicServer, code: int, kind: str
) -> None:
    body = error_body(kind, f"bad request; key was {TEST_API_KEY}")
    server.inject(status(code, body, {"request-id": REQUEST_ID}))
    error = failure(tmp_path)
    assert (error.status, error.tries) == (code, 1)
    assert len(server.completion_requests) == 1
    assert str(error) == (
        f"anthropic: HTTP {code} after 1 try: {kind}: bad request; key was [redacted] "
        f"(request-id {REQUEST_ID})"
    )


def test_a_malformed_answer_is_a_clean_error(tmp_path: Path, server: AnthropicServer) -> None:
    server.inject(status(200, {"content": "not a list"}), status(200, b"{"), status(200, b"[]"))
    server.inject(status(200, b"null"))
    error = failure(tmp_path)
    assert "malformed response body" in error.message
    assert TEST_API_KEY not in str(error)


def test_an_embedding_request_is_a_usage_error_without_a_request(
    tmp_path: Path, server: AnthropicServer
) -> None:
    embedding = ModelRequest("anthropic:claude-x", None, None, embed_input="hello")
    assert "has no embeddings" in str(failure(tmp_path, embedding))
    assert server.completion_requests == []
