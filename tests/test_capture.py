"""SDK capture: the real openai SDK (httpx2) and a plain httpx client, on the loopback server."""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import httpx
import httpx2
import openai
import pytest

from pytest_promptcheck.cache import CacheMode, ResponseCache
from pytest_promptcheck.capture import CapturedCall, CaptureError, SdkCapture
from pytest_promptcheck.providers.http import JsonClient
from tests.loopback import LoopbackServer, status
from tests.loopback_fixtures import TEST_API_KEY

T = TypeVar("T")


@contextmanager
def installed(cache_dir: Path, server: LoopbackServer, mode: str = "use") -> Iterator[SdkCapture]:
    cache = ResponseCache(cache_dir, CacheMode(mode))
    try:
        with SdkCapture(cache, [server.base_url]) as capture:
            yield capture
    finally:
        cache.close()


def in_scope(capture: SdkCapture, run: Callable[[], T], sample: int = 0) -> tuple[T, list[Any]]:
    calls: list[CapturedCall] = []
    with capture.scope(sample, calls.append):
        return run(), calls


def ask(client: openai.OpenAI, *questions: str, stream: bool = False) -> list[str]:
    answers = []
    for question in questions:
        messages: Any = [{"role": "user", "content": question}]
        if stream:
            chunks = client.chat.completions.create(model="m", messages=messages, stream=True)
            answers.append("".join(c.choices[0].delta.content or "" for c in chunks if c.choices))
        else:
            reply = client.chat.completions.create(model="m", messages=messages)
            answers.append(reply.choices[0].message.content or "")
    return answers


def cache_bytes(cache_dir: Path) -> bytes:
    return b"".join(p.read_bytes() for p in cache_dir.rglob("*") if p.is_file())


# record, rerun, replay


def test_sync_sdk_records_then_reruns_and_replays_without_requests(
    openai_env: LoopbackServer, tmp_path: Path
) -> None:
    client = openai.OpenAI(max_retries=0)
    with installed(tmp_path, openai_env) as capture:
        first, calls = in_scope(capture, lambda: ask(client, "a", "b", "c"))
    assert len(openai_env.completion_requests) == 3
    assert [c.cached for c in calls] == [False] * 3
    with installed(tmp_path, openai_env) as capture:
        rerun, calls = in_scope(capture, lambda: ask(client, "a", "b", "c"))
    with installed(tmp_path, openai_env, "replay") as capture:
        replay, _ = in_scope(capture, lambda: ask(client, "a", "b", "c"))
    assert len(openai_env.completion_requests) == 3
    assert first == rerun == replay == ["echo: a", "echo: b", "echo: c"]
    assert [c.cached for c in calls] == [True] * 3


def test_replay_miss_is_a_clear_error_naming_how_to_record(
    openai_env: LoopbackServer, tmp_path: Path
) -> None:
    client = openai.OpenAI(max_retries=0)
    with installed(tmp_path, openai_env, "replay") as capture:
        calls: list[CapturedCall] = []
        with capture.scope(1, calls.append) as scope, pytest.raises(CaptureError) as caught:
            ask(client, "never recorded")
    message = str(caught.value)
    assert "POST /v1/chat/completions (model m, sample 2, 1st identical request" in message
    assert "record it first with --promptcheck-cache=use" in message
    assert scope.failure is caught.value  # kept for the runner even if the flow swallowed it
    assert openai_env.requests == []


def test_async_sdk_records_then_reruns(openai_env: LoopbackServer, tmp_path: Path) -> None:
    async def flow() -> list[str]:
        async with openai.AsyncOpenAI(max_retries=0) as client:
            replies = [
                await client.chat.completions.create(
                    model="m", messages=[{"role": "user", "content": q}]
                )
                for q in ("x", "y")
            ]
        return [r.choices[0].message.content or "" for r in replies]

    for mode in ("use", "use", "replay"):
        with installed(tmp_path, openai_env, mode) as capture:
            answers, calls = in_scope(capture, lambda: asyncio.run(flow()))
        assert answers == ["echo: x", "echo: y"]
    assert len(openai_env.completion_requests) == 2
    assert [(c.cached, c.model, c.text, c.tokens_out) for c in calls] == [
        (True, "m", "echo: x", 2),
        (True, "m", "echo: y", 2),
    ]


def test_plain_httpx_client_is_captured(openai_env: LoopbackServer, tmp_path: Path) -> None:
    def flow() -> Any:
        with httpx.Client() as client:
            url = openai_env.base_url + "/chat/completions"
            body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
            return client.post(url, json=body).json()["choices"][0]["message"]["content"]

    for mode in ("use", "use", "replay"):
        with installed(tmp_path, openai_env, mode) as capture:
            assert in_scope(capture, flow)[0] == "echo: hi"
    assert len(openai_env.completion_requests) == 1


def test_identical_requests_are_keyed_by_occurrence(
    openai_env: LoopbackServer, tmp_path: Path
) -> None:
    openai_env.default_responder = lambda r: f"answer {len(openai_env.requests)}"
    client = openai.OpenAI(max_retries=0)
    with installed(tmp_path, openai_env) as capture:
        first, _ = in_scope(capture, lambda: ask(client, "same", "same"))
    with installed(tmp_path, openai_env, "replay") as capture:
        replay, calls = in_scope(capture, lambda: ask(client, "same", "same"))
    assert first == replay == ["answer 1", "answer 2"]  # a loop replays in order
    assert calls[0].fingerprint != calls[1].fingerprint
    assert len(openai_env.completion_requests) == 2


def test_a_retry_after_an_error_keeps_the_first_occurrence(
    openai_env: LoopbackServer, tmp_path: Path
) -> None:
    openai_env.inject(status(500))
    client = openai.OpenAI(max_retries=1)
    with installed(tmp_path, openai_env) as capture:
        _, calls = in_scope(capture, lambda: ask(client, "q"))
    assert [c.status for c in calls] == [500, 200]
    with installed(tmp_path, openai_env, "replay") as capture:
        assert in_scope(capture, lambda: ask(client, "q"))[0] == ["echo: q"]


def test_sample_is_part_of_the_key(openai_env: LoopbackServer, tmp_path: Path) -> None:
    client = openai.OpenAI(max_retries=0)
    with installed(tmp_path, openai_env) as capture:
        in_scope(capture, lambda: ask(client, "q"), sample=0)
        in_scope(capture, lambda: ask(client, "q"), sample=1)
        in_scope(capture, lambda: ask(client, "q"), sample=0)
    assert len(openai_env.completion_requests) == 2


def test_refresh_calls_again_and_off_stores_nothing(
    openai_env: LoopbackServer, tmp_path: Path
) -> None:
    client = openai.OpenAI(max_retries=0)
    for mode in ("off", "off", "use", "refresh"):
        with installed(tmp_path, openai_env, mode) as capture:
            in_scope(capture, lambda: ask(client, "q"))
    assert len(openai_env.completion_requests) == 4
    with installed(tmp_path, openai_env, "replay") as capture:
        in_scope(capture, lambda: ask(client, "q"))
    assert len(openai_env.completion_requests) == 4


# streaming


def test_a_stream_is_recorded_whole_and_replayed_event_for_event(
    openai_env: LoopbackServer, tmp_path: Path
) -> None:
    client = openai.OpenAI(max_retries=0)
    live = ask(client, "one two three", stream=True)
    with installed(tmp_path, openai_env) as capture:
        first, _ = in_scope(capture, lambda: ask(client, "one two three", stream=True))
    with installed(tmp_path, openai_env, "replay") as capture:
        replay, calls = in_scope(capture, lambda: ask(client, "one two three", stream=True))
    assert live == first == replay == ["echo: one two three"]
    assert len(openai_env.completion_requests) == 2  # the uncaptured one and the recording
    assert (calls[0].stream, calls[0].cached, calls[0].text) == (True, True, "echo: one two three")


def test_async_stream_with_usage_is_replayed(openai_env: LoopbackServer, tmp_path: Path) -> None:
    async def flow() -> tuple[list[str], Any]:
        async with openai.AsyncOpenAI(max_retries=0) as client:
            stream = await client.chat.completions.create(
                model="m",
                messages=[{"role": "user", "content": "a b"}],
                stream=True,
                stream_options={"include_usage": True},
            )
            chunks = [chunk async for chunk in stream]
        return [c.choices[0].delta.content or "" for c in chunks if c.choices], chunks[-1].usage

    runs = []
    for mode in ("use", "replay"):
        with installed(tmp_path, openai_env, mode) as capture:
            runs.append(in_scope(capture, lambda: asyncio.run(flow())))
    assert runs[0][0] == runs[1][0]
    assert runs[1][0][0] == ["echo:", " a", " b", ""]
    assert runs[1][1][0].tokens_in == runs[1][0][1].prompt_tokens == 2
    assert len(openai_env.completion_requests) == 1


# scopes: concurrency, threads, outside


def test_concurrent_async_scopes_do_not_cross(tmp_path: Path, openai_env: LoopbackServer) -> None:
    openai_env.latency_ms = 50  # the two flows' requests overlap on the wire

    async def flow(capture: SdkCapture, sample: int) -> list[CapturedCall]:
        calls: list[CapturedCall] = []
        async with openai.AsyncOpenAI(max_retries=0) as client:
            with capture.scope(sample, calls.append):
                for step in range(3):
                    question = f"s{sample} step {step}"
                    messages: Any = [{"role": "user", "content": question}]
                    await client.chat.completions.create(model="m", messages=messages)
        return calls

    async def both(capture: SdkCapture) -> list[list[CapturedCall]]:
        return list(await asyncio.gather(flow(capture, 0), flow(capture, 1)))

    for mode in ("use", "replay"):
        with installed(tmp_path, openai_env, mode) as capture:
            per_sample = asyncio.run(both(capture))
        for sample, calls in enumerate(per_sample):
            assert [c.text for c in calls] == [f"echo: s{sample} step {k}" for k in range(3)]
    assert openai_env.max_in_flight == 2
    assert len(openai_env.completion_requests) == 6


def test_scopes_in_threads_do_not_cross(tmp_path: Path, openai_env: LoopbackServer) -> None:
    openai_env.latency_ms = 30

    with installed(tmp_path, openai_env) as capture:

        def flow(sample: int) -> list[Any]:
            client = openai.OpenAI(max_retries=0)
            return in_scope(capture, lambda: ask(client, "same", "same"), sample)[1]

        with ThreadPoolExecutor(2) as pool:
            per_sample = list(pool.map(flow, [0, 1]))
    fingerprints = [{c.fingerprint for c in calls} for calls in per_sample]
    assert [len(f) for f in fingerprints] == [2, 2]
    assert not fingerprints[0] & fingerprints[1]


def test_a_sync_client_on_a_worker_thread_with_copied_context_is_captured(
    tmp_path: Path, openai_env: LoopbackServer
) -> None:
    client = openai.OpenAI(max_retries=0)

    async def flow_runner(capture: SdkCapture) -> list[CapturedCall]:
        calls: list[CapturedCall] = []
        with capture.scope(0, calls.append):
            await asyncio.to_thread(ask, client, "threaded")  # copies the context
        return calls

    for mode in ("use", "replay"):
        with installed(tmp_path, openai_env, mode) as capture:
            calls = asyncio.run(flow_runner(capture))
        assert [c.text for c in calls] == ["echo: threaded"]
    assert len(openai_env.completion_requests) == 1


def test_outside_a_scope_nothing_changes(openai_env: LoopbackServer, tmp_path: Path) -> None:
    client = openai.OpenAI(max_retries=0)
    with installed(tmp_path, openai_env, "replay"):
        assert ask(client, "q", "q") == ["echo: q", "echo: q"]
    assert len(openai_env.completion_requests) == 2
    assert not (tmp_path / "responses").exists()


def test_the_plugins_own_client_is_never_captured(
    openai_env: LoopbackServer, tmp_path: Path
) -> None:
    async def own_call() -> int:
        # httpx2's default transport, as the plugin uses for https endpoints
        own = JsonClient("openai", "OPENAI_API_KEY", 5, "https://x", httpx2.AsyncHTTPTransport())
        body = {"model": "m", "messages": [{"role": "user", "content": "q"}]}
        return (await own.post(openai_env.base_url + "/chat/completions", body)).status

    with installed(tmp_path, openai_env, "replay") as capture:
        assert in_scope(capture, lambda: asyncio.run(own_call())) == (200, [])
    assert len(openai_env.completion_requests) == 1


# other hosts


def test_other_hosts_pass_untouched_and_replay_refuses_them(
    openai_env: LoopbackServer, tmp_path: Path
) -> None:
    with LoopbackServer() as other:
        url = other.base_url + "/models"
        with installed(tmp_path, openai_env) as capture:
            answer, calls = in_scope(capture, lambda: httpx2.get(url).status_code)
            again, _ = in_scope(capture, lambda: httpx.get(url).status_code)
        assert (answer, again, calls, len(other.requests)) == (200, 200, [], 2)
        with (
            installed(tmp_path, openai_env, "replay") as capture,
            pytest.raises(CaptureError) as caught,
        ):
            in_scope(capture, lambda: httpx2.get(url))
        assert len(other.requests) == 2
    message = str(caught.value)
    assert f"GET http://127.0.0.1{'/v1/models'} was refused" in message
    assert "--promptcheck-cache=use" in message


# secrets and undoing


def test_the_api_key_never_reaches_the_cache(openai_env: LoopbackServer, tmp_path: Path) -> None:
    openai_env.default_responder = lambda r: "you sent " + r.headers["authorization"]
    with installed(tmp_path, openai_env) as capture:
        in_scope(capture, lambda: ask(openai.OpenAI(max_retries=0), "a"))
        in_scope(capture, lambda: ask(openai.OpenAI(max_retries=0), "b", stream=True))
    assert TEST_API_KEY.encode() not in cache_bytes(tmp_path)
    assert b"[redacted]" in cache_bytes(tmp_path)


def test_the_key_is_not_keyed_but_the_api_version_is(
    openai_env: LoopbackServer, tmp_path: Path
) -> None:
    def post(key: str, version: str) -> Any:
        headers = {"authorization": f"Bearer {key}", "anthropic-version": version}
        body = {"model": "m", "messages": [{"role": "user", "content": "q"}]}
        return httpx2.post(openai_env.base_url + "/chat/completions", json=body, headers=headers)

    with installed(tmp_path, openai_env) as capture:
        for key, version in [("k-one-12345", "v1"), ("k-two-12345", "v1"), ("k-one-12345", "v2")]:
            in_scope(capture, functools.partial(post, key, version))
    assert len(openai_env.completion_requests) == 2


@pytest.mark.parametrize("lib", [httpx, httpx2])
def test_close_restores_the_transports_exactly(
    lib: Any, openai_env: LoopbackServer, tmp_path: Path
) -> None:
    originals = (
        lib.HTTPTransport.__dict__["handle_request"],
        lib.AsyncHTTPTransport.__dict__["handle_async_request"],
    )
    with installed(tmp_path, openai_env):
        assert lib.HTTPTransport.__dict__["handle_request"] is not originals[0]
    assert lib.HTTPTransport.__dict__["handle_request"] is originals[0]
    assert lib.AsyncHTTPTransport.__dict__["handle_async_request"] is originals[1]


def test_a_scope_is_set_only_in_its_own_context(openai_env: LoopbackServer, tmp_path: Path) -> None:
    client = openai.OpenAI(max_retries=0)
    with installed(tmp_path, openai_env, "replay") as capture:
        outside = contextvars.copy_context()  # taken before the scope: must not see it
        with capture.scope(0, lambda call: None):
            assert outside.run(ask, client, "q") == ["echo: q"]


def test_a_corrupt_entry_is_a_miss(openai_env: LoopbackServer, tmp_path: Path) -> None:
    client = openai.OpenAI(max_retries=0)
    with installed(tmp_path, openai_env) as capture:
        _, calls = in_scope(capture, lambda: ask(client, "q"))
        capture.cache.put_http(calls[0].fingerprint, '{"status": "not a response"}')
        assert in_scope(capture, lambda: ask(client, "q"))[0] == ["echo: q"]
    assert len(openai_env.completion_requests) == 2
    with installed(tmp_path, openai_env, "replay") as capture:
        assert in_scope(capture, lambda: ask(client, "q"))[1][0].cached
