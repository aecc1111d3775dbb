"""Embeddings on an OpenAI-compatible endpoint: one request to the run per text (cached,
deduplicated, retried), batched on the wire, against the loopback server's /embeddings."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from pytest_promptcheck.cache import CacheMode, ResponseCache
from pytest_promptcheck.client import ModelClient
from pytest_promptcheck.errors import ProviderError
from pytest_promptcheck.policy import CallPolicy
from pytest_promptcheck.providers import ProviderConfig, ProviderSet
from pytest_promptcheck.providers.openai_embeddings import MAX_BATCH, EmbeddingBatcher
from pytest_promptcheck.records import Completion, ModelRequest
from tests.loopback import LoopbackServer, embedding_of, malformed, status
from tests.loopback_fixtures import TEST_API_KEY


def embedding(text: str, model: str = "openai:embed") -> ModelRequest:
    return ModelRequest(model, None, None, embed_input=text)


def client_for(tmp_path: Path, retries: int = 0, price: float | None = None) -> ModelClient:
    configs = {"openai": ProviderConfig(name="openai", type="openai", price_per_1m_input=price)}
    return ModelClient(
        ProviderSet(configs, tmp_path),
        ResponseCache(tmp_path, CacheMode.USE),
        CallPolicy(retries=retries),
    )


def embed_all(client: ModelClient, texts: list[str]) -> list[Completion]:
    async def go() -> list[Completion]:
        try:
            return list(await asyncio.gather(*(client.sample(embedding(t), 0) for t in texts)))
        finally:
            await client.providers.aclose()
            client.flush()  # the answers wait for their batch: written before the run ends

    return asyncio.run(go())


def test_each_text_gets_its_vector_as_json(tmp_path: Path, openai_env: LoopbackServer) -> None:
    got = embed_all(client_for(tmp_path), ["a refund is due", "the sky is blue"])
    assert [json.loads(c.text) for c in got] == [
        embedding_of("a refund is due"),
        embedding_of("the sky is blue"),
    ]
    assert got[0].model_reported == "embed"


def test_concurrent_texts_go_in_one_request_up_to_the_batch_size(
    tmp_path: Path, openai_env: LoopbackServer
) -> None:
    texts = [f"text number {i}" for i in range(MAX_BATCH + 6)]
    embed_all(client_for(tmp_path), texts)
    # the provider's concurrency (16 by default) bounds what reaches it at once
    assert sum(openai_env.embedding_batches) == len(texts)
    assert max(openai_env.embedding_batches) > 1
    assert len(openai_env.embedding_requests) < len(texts) / 4


def test_the_payload_names_the_model_and_carries_no_chat_fields(
    tmp_path: Path, openai_env: LoopbackServer
) -> None:
    embed_all(client_for(tmp_path), ["hello"])
    assert openai_env.embedding_requests[0].body == {"model": "embed", "input": ["hello"]}


def test_each_distinct_text_is_cached_and_a_rerun_sends_nothing(
    tmp_path: Path, openai_env: LoopbackServer
) -> None:
    embed_all(client_for(tmp_path), ["same", "same", "other"])
    assert sorted(openai_env.embedding_batches) == [2]
    openai_env.reset()
    again = embed_all(client_for(tmp_path), ["same", "other"])
    assert all(c.cached for c in again)
    assert openai_env.embedding_requests == []


def test_tokens_and_cost_are_shared_across_the_batch(
    tmp_path: Path, openai_env: LoopbackServer
) -> None:
    got = embed_all(client_for(tmp_path, price=2.0), ["one two three", "four"])
    assert sum(c.tokens_in for c in got) == 4  # the loopback server counts words
    assert sum(c.cost_usd or 0.0 for c in got) == pytest.approx(4 * 2.0 / 1_000_000)


def test_a_failed_batch_is_retried(tmp_path: Path, openai_env: LoopbackServer) -> None:
    openai_env.inject(status(503), malformed())
    got = embed_all(client_for(tmp_path, retries=3), ["a", "b"])
    assert [json.loads(c.text) for c in got] == [embedding_of("a"), embedding_of("b")]


def test_an_error_that_cannot_succeed_fails_every_text_with_the_servers_message(
    tmp_path: Path, openai_env: LoopbackServer
) -> None:
    openai_env.inject(status(400, {"error": {"message": "model embed does not embed"}}))
    with pytest.raises(ProviderError, match="model embed does not embed"):
        embed_all(client_for(tmp_path, retries=3), ["a"])
    assert len(openai_env.embedding_requests) == 1


def test_embed_input_is_in_the_cache_key_only_when_set() -> None:
    chat = ModelRequest("openai:m", ({"role": "user", "content": "hi"},), None)
    assert "embed_input" not in chat.payload()
    assert embedding("hi").payload()["embed_input"] == "hi"


def test_a_reply_whose_indexes_are_not_one_per_text_is_malformed() -> None:
    async def post(model: str, texts: list[str]) -> bytes:
        items = [{"index": 0, "embedding": [float(n)]} for n in range(len(texts))]
        return json.dumps({"data": items}).encode()

    async def embed_two() -> None:
        batcher = EmbeddingBatcher("openai", post, None, str)
        await asyncio.gather(batcher.embed("m", "a"), batcher.embed("m", "b"))

    with pytest.raises(ProviderError, match="malformed embeddings body"):
        asyncio.run(embed_two())


def test_a_malformed_body_echoing_the_key_is_reported_without_it_and_clipped(
    tmp_path: Path, openai_env: LoopbackServer
) -> None:
    usage = {"prompt_tokens": f"Bearer {TEST_API_KEY} \x1b[2J" + "x" * 100_000}
    body = {"data": [{"index": 0, "embedding": [1.0]}], "usage": usage}
    openai_env.inject(status(200, body))
    with pytest.raises(ProviderError, match="malformed embeddings body") as raised:
        embed_all(client_for(tmp_path), ["a"])
    assert TEST_API_KEY not in str(raised.value) and "\x1b" not in str(raised.value)
    assert len(str(raised.value)) < 600


def test_one_failed_batch_counts_once_against_the_breaker_and_the_budget(
    tmp_path: Path, openai_env: LoopbackServer
) -> None:
    # a full batch failing once is one failure, not one per text: 64 would open the circuit
    configs = {"openai": ProviderConfig(name="openai", type="openai", max_concurrency=MAX_BATCH)}
    client = ModelClient(
        ProviderSet(configs, tmp_path),
        ResponseCache(tmp_path, CacheMode.OFF),
        CallPolicy(retries=3),
    )
    openai_env.inject(status(503))
    chat = ModelRequest("openai:writer", ({"role": "user", "content": "q"},), None)

    async def go() -> Completion:
        try:
            await asyncio.gather(*(client.sample(embedding(f"t{i}"), 0) for i in range(MAX_BATCH)))
            return await client.sample(chat, 0)
        finally:
            await client.providers.aclose()

    assert asyncio.run(go()).text
    assert client.budget.spent == 1


@pytest.mark.parametrize("cancelled", ["abc", "b"])
def test_a_cancelled_text_is_not_sent(cancelled: str) -> None:
    sent: list[list[str]] = []

    async def post(model: str, texts: list[str]) -> bytes:
        sent.append(texts)
        items = [{"index": i, "embedding": [1.0]} for i in range(len(texts))]
        return json.dumps({"data": items}).encode()

    async def embed_and_cancel() -> list[Completion | BaseException]:
        batcher = EmbeddingBatcher("openai", post, None, str)
        tasks = {text: asyncio.ensure_future(batcher.embed("m", text)) for text in "abc"}
        await asyncio.sleep(0)  # queued, the batch's window open (Ctrl-C cancels every task)
        for text in cancelled:
            tasks[text].cancel()
        got = await asyncio.gather(*tasks.values(), return_exceptions=True)
        await asyncio.sleep(0.01)  # past the window: the loop runs on while the session closes
        return got

    got = asyncio.run(embed_and_cancel())
    kept = [text for text in "abc" if text not in cancelled]
    assert sent == ([kept] if kept else [])
    assert [isinstance(answer, Completion) for answer in got] == [t in kept for t in "abc"]
