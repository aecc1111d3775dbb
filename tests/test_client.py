"""ModelClient and the OpenAI-compatible provider against the real loopback server."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from pytest_promptcheck.cache import CacheMode, ResponseCache
from pytest_promptcheck.case_calls import CaseCalls
from pytest_promptcheck.checks.builtins import builtin_registry
from pytest_promptcheck.client import ModelClient
from pytest_promptcheck.errors import CacheMissError, ProviderError
from pytest_promptcheck.policy import CallPolicy
from pytest_promptcheck.project import Project
from pytest_promptcheck.providers import ProviderConfig, ProviderSet
from pytest_promptcheck.records import Completion, ModelRequest
from pytest_promptcheck.spec import load_spec
from tests.loopback import COMPLETIONS_PATH, LoopbackServer, malformed, rules, status
from tests.loopback_fixtures import TEST_API_KEY

MODEL = "openai:gpt-test"
CHAT = ModelRequest(
    model=MODEL,
    messages=({"role": "user", "content": "I want a refund"},),
    prompt=None,
    params={"temperature": 0},
)


def client_for(
    tmp_path: Path,
    mode: CacheMode = CacheMode.OFF,
    configs: dict[str, ProviderConfig] | None = None,
) -> ModelClient:
    """A client; the cache is off unless a test is about it (opening diskcache takes time).

    No retries: these tests are about one call; test_retries.py is about retrying.
    """
    return ModelClient(
        ProviderSet(configs or {}, tmp_path), ResponseCache(tmp_path, mode), CallPolicy(retries=0)
    )


async def close(client: ModelClient) -> None:
    await client.providers.aclose()
    client.cache.close()


async def samples(client: ModelClient, request: ModelRequest, *indices: int) -> list[Completion]:
    try:
        return [await client.sample(request, index) for index in indices]
    finally:
        await close(client)


def call(
    tmp_path: Path,
    request: ModelRequest = CHAT,
    mode: CacheMode = CacheMode.OFF,
    configs: dict[str, ProviderConfig] | None = None,
) -> Completion:
    return asyncio.run(samples(client_for(tmp_path, mode, configs), request, 0))[0]


def provider_error(tmp_path: Path, mode: CacheMode = CacheMode.OFF) -> ProviderError:
    with pytest.raises(ProviderError) as info:
        call(tmp_path, mode=mode)
    return info.value


@pytest.fixture
def server(openai_env: LoopbackServer) -> LoopbackServer:
    openai_env.set_model(
        "gpt-test", rules({"refund": "billing"}, default="other"), reported="gpt-test-0101"
    )
    return openai_env


# live calls and the cache


def test_live_call_returns_the_completion(tmp_path: Path, server: LoopbackServer) -> None:
    got = call(tmp_path)
    assert (got.text, got.model_reported, got.finish_reason) == ("billing", "gpt-test-0101", "stop")
    assert got.cached is False
    assert got.latency_ms > 0


def test_request_carries_model_messages_params_and_key(
    tmp_path: Path, server: LoopbackServer
) -> None:
    call(tmp_path)
    (sent,) = server.completion_requests
    assert sent.body == {
        "model": "gpt-test",
        "temperature": 0,
        "messages": [{"role": "user", "content": "I want a refund"}],
    }
    headers = {k.lower(): v for k, v in sent.headers.items()}
    assert headers["authorization"] == f"Bearer {TEST_API_KEY}"


def test_completion_prompt_uses_the_completions_endpoint(
    tmp_path: Path, server: LoopbackServer
) -> None:
    request = ModelRequest(model=MODEL, messages=None, prompt="refund? ")
    assert call(tmp_path, request).text == "billing"
    assert [r.path for r in server.completion_requests] == [COMPLETIONS_PATH]


def test_same_call_twice_in_one_client_is_made_once(tmp_path: Path, server: LoopbackServer) -> None:
    client = client_for(tmp_path)
    first, second = asyncio.run(samples(client, CHAT, 0, 0))
    assert len(server.completion_requests) == 1
    assert first == second
    assert (client.stats.live, client.stats.cached) == (1, 0)


def test_concurrent_same_call_is_made_once(tmp_path: Path, server: LoopbackServer) -> None:
    async def both() -> tuple[Completion, Completion]:
        client = client_for(tmp_path)
        try:
            return await asyncio.gather(client.sample(CHAT, 0), client.sample(CHAT, 0))
        finally:
            await close(client)

    first, second = asyncio.run(both())
    assert first.text == second.text == "billing"
    assert len(server.completion_requests) == 1


def test_each_sample_index_is_its_own_call(tmp_path: Path, server: LoopbackServer) -> None:
    async def three() -> list[Completion]:
        client = client_for(tmp_path)
        try:
            return await client.samples(CHAT, 3)
        finally:
            await close(client)

    got = asyncio.run(three())
    assert [c.text for c in got] == ["billing"] * 3
    assert len(server.completion_requests) == 3


def test_second_client_gets_cached_result_with_recorded_latency(
    tmp_path: Path, server: LoopbackServer
) -> None:
    server.set_model("gpt-test", rules({"refund": "billing"}), latency_ms=20)
    live = call(tmp_path, mode=CacheMode.USE)
    again = call(tmp_path, mode=CacheMode.USE)
    assert len(server.completion_requests) == 1
    assert again.cached is True
    assert live.latency_ms >= 20
    assert again.latency_ms == live.latency_ms
    assert (again.text, again.tokens_in, again.tokens_out) == (
        live.text,
        live.tokens_in,
        live.tokens_out,
    )


def test_refresh_mode_calls_again(tmp_path: Path, server: LoopbackServer) -> None:
    call(tmp_path, mode=CacheMode.USE)
    refreshed = call(tmp_path, mode=CacheMode.REFRESH)
    assert refreshed.cached is False
    assert len(server.completion_requests) == 2


def test_off_mode_calls_and_writes_nothing(tmp_path: Path, server: LoopbackServer) -> None:
    assert call(tmp_path, mode=CacheMode.OFF).text == "billing"
    assert len(server.completion_requests) == 1
    assert not (tmp_path / "responses").exists()


def test_replay_mode_miss_raises_without_any_request(
    tmp_path: Path, server: LoopbackServer
) -> None:
    with pytest.raises(CacheMissError) as info:
        call(tmp_path, mode=CacheMode.REPLAY)
    assert server.completion_requests == []
    assert "--promptcheck-cache=use" in str(info.value)
    assert "openai:gpt-test (sample 1)" in str(info.value)


def test_replay_mode_hit_needs_no_server(tmp_path: Path, server: LoopbackServer) -> None:
    call(tmp_path, mode=CacheMode.USE)
    replayed = call(tmp_path, mode=CacheMode.REPLAY)
    assert replayed.cached is True
    assert replayed.text == "billing"
    assert len(server.completion_requests) == 1


# errors


def test_server_error_is_a_provider_error_with_status(
    tmp_path: Path, server: LoopbackServer
) -> None:
    server.inject(status(500))
    error = provider_error(tmp_path)
    assert error.status == 500
    assert str(error).startswith("openai: HTTP 500 after 1 try: ")


def test_error_is_not_cached(tmp_path: Path, server: LoopbackServer) -> None:
    server.inject(status(500))
    provider_error(tmp_path, CacheMode.USE)
    with pytest.raises(CacheMissError):
        call(tmp_path, mode=CacheMode.REPLAY)


def test_a_later_run_calls_again_after_an_error(tmp_path: Path, server: LoopbackServer) -> None:
    server.inject(status(500))
    provider_error(tmp_path, CacheMode.USE)
    assert call(tmp_path, mode=CacheMode.USE).text == "billing"
    assert len(server.completion_requests) == 2


def test_an_error_is_remembered_for_the_session(tmp_path: Path, server: LoopbackServer) -> None:
    server.inject(status(500))

    async def twice() -> None:
        client = client_for(tmp_path)
        try:
            for _ in range(2):
                with pytest.raises(ProviderError):
                    await client.sample(CHAT, 0)
        finally:
            await close(client)

    asyncio.run(twice())
    assert len(server.completion_requests) == 1


def test_malformed_body_is_a_provider_error(tmp_path: Path, server: LoopbackServer) -> None:
    server.inject(malformed())
    error = provider_error(tmp_path)
    assert "malformed" in str(error)
    assert error.status == 200


def test_api_key_echoed_in_error_is_redacted(tmp_path: Path, server: LoopbackServer) -> None:
    server.inject(status(401, body={"error": {"message": f"bad key {TEST_API_KEY}"}}))
    error = provider_error(tmp_path)
    assert error.status == 401
    assert TEST_API_KEY not in str(error)
    assert str(error) == "openai: HTTP 401 after 1 try: bad key [redacted]"


def test_api_key_echoed_in_plain_text_error_is_redacted(
    tmp_path: Path, server: LoopbackServer
) -> None:
    server.inject(status(403, body=f"forbidden for {TEST_API_KEY}"))
    error = provider_error(tmp_path)
    assert TEST_API_KEY not in str(error)
    assert str(error).endswith("forbidden for [redacted]")


def test_api_key_echoed_in_malformed_body_is_redacted(
    tmp_path: Path, server: LoopbackServer
) -> None:
    server.inject(status(200, body=f"<html>bad gateway for {TEST_API_KEY}</html>"))
    error = provider_error(tmp_path)
    assert "malformed" in str(error)
    assert TEST_API_KEY not in str(error)


def test_api_key_straddling_the_error_clip_is_not_leaked(
    tmp_path: Path, server: LoopbackServer
) -> None:
    server.inject(status(401, body="x" * 290 + TEST_API_KEY))
    error = provider_error(tmp_path)
    assert TEST_API_KEY[:10] not in str(error)


# cost


def test_cost_is_computed_from_prices(tmp_path: Path, server: LoopbackServer) -> None:
    configs = {
        "openai": ProviderConfig(
            name="openai", type="openai", price_per_1m_input=1.5, price_per_1m_output=4.0
        )
    }
    got = call(tmp_path, configs=configs)
    # the loopback server counts words: 4 in "I want a refund", 1 in "billing"
    assert (got.tokens_in, got.tokens_out) == (4, 1)
    assert got.cost_usd == pytest.approx((4 * 1.5 + 1 * 4.0) / 1_000_000)


def test_cost_is_unknown_without_prices(tmp_path: Path, server: LoopbackServer) -> None:
    assert call(tmp_path).cost_usd is None


def test_cached_result_keeps_its_cost(tmp_path: Path, server: LoopbackServer) -> None:
    configs = {
        "openai": ProviderConfig(
            name="openai", type="openai", price_per_1m_input=1.0, price_per_1m_output=1.0
        )
    }
    live = call(tmp_path, mode=CacheMode.USE, configs=configs)
    cached = call(tmp_path, mode=CacheMode.USE, configs=configs)
    assert cached.cached is True
    assert cached.cost_usd == live.cost_usd == pytest.approx(5 / 1_000_000)


# answers without the event loop (an item's setup after the call phase)


def test_finished_answers_only_once_every_call_succeeded(
    tmp_path: Path, server: LoopbackServer
) -> None:
    """None while a sample's call is not made or failed: the item then makes it or errors."""

    async def scenario() -> None:
        client = client_for(tmp_path)
        try:
            assert client.finished(CHAT, 2) is None
            first = await client.sample(CHAT, 0)
            assert client.finished(CHAT, 2) is None
            server.inject(status(400))
            with pytest.raises(ProviderError):
                await client.sample(CHAT, 1)
            assert client.finished(CHAT, 2) is None
            assert client.finished_jobs([(CHAT, 0), (CHAT, 1)]) is None
            assert client.finished(CHAT, 1) == [first]
            assert client.finished_jobs([(CHAT, 0)]) == (first,)
        finally:
            await close(client)

    asyncio.run(scenario())


def test_a_plain_case_finds_the_answers_its_calls_made(
    tmp_path: Path, server: LoopbackServer
) -> None:
    """A case whose calls are its prompt's samples alone takes them straight from the client:
    the same answers as making them."""
    path = tmp_path / "p.prompt.yaml"
    path.write_text("prompt: hi\nsamples: 3\ncases: [{expect: [{contains: o}]}]\n")
    spec = load_spec(path, builtin_registry(Project.at(tmp_path)))
    calls = CaseCalls(spec, spec.cases[0], spec.request(spec.cases[0], MODEL))

    async def scenario() -> None:
        client = client_for(tmp_path)
        try:
            assert calls.finished(client) is None
            made = await calls.answers(client)
            assert calls.finished(client) == made
            assert [c.text for c in made.completions] == ["other"] * 3
        finally:
            await close(client)

    asyncio.run(scenario())
