"""The lean HTTP/1.1 pool: keep-alive, framing by h11, and connections the server dropped."""

from __future__ import annotations

import asyncio
import gzip
import json
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass

import httpx2
import pytest

from pytest_promptcheck.providers.transport import LeanPool, Target, suits
from tests.loopback import LoopbackServer
from tests.raw_server import RawServer, Script, response

BODY = json.dumps({"model": "m", "prompt": "hi"}).encode()
Header = tuple[bytes, bytes]


@dataclass(frozen=True)
class Got:
    status_code: int
    content: bytes


def plain() -> list[Header]:
    return [(b"Content-Type", b"application/json")]


async def post(
    pool: LeanPool, url: str, headers: Callable[[], list[Header]] = plain, read: bool = True
) -> Got:
    async with pool.post(Target.of(url), headers, BODY) as answer:
        content = (await answer.read(2**20) or b"") if read else b""
        return Got(answer.status_code, content)


async def fetch(url: str, count: int = 1) -> list[Got]:
    pool = LeanPool()
    try:
        return [await post(pool, url) for _ in range(count)]
    finally:
        pool.close()


def fetch_from(script: Script | bytes, count: int = 1) -> list[Got]:
    with RawServer(script) as server:
        return asyncio.run(fetch(f"{server.base_url}/x", count))


def test_keep_alive_connections_are_reused(openai_server: LoopbackServer) -> None:
    url = f"{openai_server.base_url}/completions"
    answers = asyncio.run(fetch(url, count=5))
    assert [json.loads(a.content)["choices"][0]["text"] for a in answers] == ["echo: hi"] * 5
    assert openai_server.connection_count == 1


def test_the_request_carries_host_length_and_the_given_headers(
    openai_server: LoopbackServer,
) -> None:
    asyncio.run(fetch(f"{openai_server.base_url}/completions?x=1"))
    (request,) = openai_server.requests
    assert request.path == "/v1/completions"
    assert request.headers["host"] == f"127.0.0.1:{openai_server.port}"
    assert request.headers["content-length"] == str(len(BODY))
    assert request.headers["content-type"] == "application/json"
    assert request.body == {"model": "m", "prompt": "hi"}


def test_a_body_left_unread_closes_its_connection(openai_server: LoopbackServer) -> None:
    """A response cut short (a cap, a deadline) leaves bytes on the wire: never reused."""

    async def go() -> None:
        pool = LeanPool()
        for _ in range(2):
            got = await post(pool, f"{openai_server.base_url}/completions", read=False)
            assert got.status_code == 200
        pool.close()

    asyncio.run(go())
    assert openai_server.connection_count == 2


def test_a_header_that_would_break_the_framing_is_refused_unsent(
    openai_server: LoopbackServer,
) -> None:
    def injected() -> list[Header]:
        return [(b"Authorization", b"Bearer sk-x\r\nX-Evil: 1")]

    with pytest.raises(httpx2.LocalProtocolError):
        asyncio.run(post(LeanPool(), f"{openai_server.base_url}/completions", injected))
    assert openai_server.requests == []


def test_chunked_body_is_read_whole() -> None:
    chunked = response(
        b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", headers=b"Transfer-Encoding: chunked"
    )
    (answer,) = fetch_from(chunked)
    assert answer.content == b"hello world"


def test_body_until_close_without_length() -> None:
    (answer,) = fetch_from(response(b"all of it", headers=b"Content-Type: text/plain"))
    assert answer.content == b"all of it"


def test_an_informational_response_is_skipped() -> None:
    (answer,) = fetch_from(b"HTTP/1.1 100 Continue\r\n\r\n" + response(b"ok"))
    assert (answer.status_code, answer.content) == (200, b"ok")


def test_a_connection_the_server_dropped_is_replaced() -> None:
    # the raw server closes every connection after one answer: the idle one is dead
    assert [r.content for r in fetch_from(response(b"ok"), count=3)] == [b"ok"] * 3


def test_a_malformed_answer_is_an_httpx2_protocol_error() -> None:
    with pytest.raises(httpx2.RemoteProtocolError, match="malformed response"):
        fetch_from(response(b"ok", status=b"HTTP/1.1 2OO OK"))


def test_a_server_that_closes_without_answering_is_a_protocol_error() -> None:
    with pytest.raises(httpx2.RemoteProtocolError, match="without sending a response"):
        fetch_from(b"")


def test_a_refused_connection_is_a_connect_error() -> None:
    with pytest.raises(httpx2.ConnectError):
        asyncio.run(fetch("http://127.0.0.1:9/v1/x"))


@pytest.mark.parametrize(
    ("url", "proxy", "expected"),
    [
        ("http://localhost:8000/v1", "", True),
        ("https://api.openai.com/v1", "", False),
        ("http://localhost:8000/v1", "http://proxy:3128", False),
    ],
)
def test_suits_plain_http_without_a_proxy(
    monkeypatch: pytest.MonkeyPatch, url: str, proxy: str, expected: bool
) -> None:
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    if proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy)
    assert suits(url) is expected


def test_a_gzipped_body_is_refused_before_it_has_expanded() -> None:
    """A small gzip body that would expand to 64 MB is refused at the limit: decoding goes in
    bounded pieces, so what it has expanded to is never held whole."""
    body = gzip.compress(b"a" * (64 * 2**20))
    head = b"Content-Encoding: gzip\r\nContent-Length: %d" % len(body)

    async def read(url: str, limit: int) -> bytes | None:
        pool = LeanPool()
        async with pool.post(Target.of(url), plain, BODY) as answer:
            content = await answer.read(limit)
        pool.close()
        return content

    with RawServer(response(body, headers=head)) as server:
        tracemalloc.start()
        refused = asyncio.run(read(f"{server.base_url}/x", 2**20))
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert refused is None
    assert peak < 8 * 2**20
    small = gzip.compress(b"hello")
    head = b"Content-Encoding: gzip\r\nContent-Length: %d" % len(small)
    with RawServer(response(small, headers=head)) as server:
        assert asyncio.run(read(f"{server.base_url}/x", 2**20)) == b"hello"


def test_each_request_carries_the_headers_of_its_moment(openai_server: LoopbackServer) -> None:
    """Heads are kept for reuse by their headers: a key changed between requests is sent."""
    keys = iter([b"Bearer one", b"Bearer two", b"Bearer one"])

    def rotating() -> list[Header]:
        return [(b"Authorization", next(keys))]

    async def go() -> None:
        pool = LeanPool()
        for _ in range(3):
            await post(pool, f"{openai_server.base_url}/completions", rotating)
        pool.close()

    asyncio.run(go())
    sent = [request.headers["authorization"] for request in openai_server.requests]
    assert sent == ["Bearer one", "Bearer two", "Bearer one"]


def test_a_target_keeps_user_info_out_of_the_host_header() -> None:
    target = Target.of("http://user:secret@127.0.0.1:8000/v1/completions?x=1")
    assert (target.origin, target.host, target.path) == (
        ("127.0.0.1", 8000),
        b"127.0.0.1:8000",
        b"/v1/completions?x=1",
    )


def test_a_chain_of_thousands_of_encodings_is_refused_at_once() -> None:
    """Each listed encoding would be a decompressor with a window of its own."""
    head = b"Content-Encoding: " + b", ".join([b"gzip"] * 10_000) + b"\r\nContent-Length: 2"
    with (
        RawServer(response(b"{}", headers=head)) as server,
        pytest.raises(httpx2.DecodingError, match="10000 content encodings"),
    ):
        fetch_from_server(server)


def fetch_from_server(server: RawServer) -> list[Got]:
    return asyncio.run(fetch(f"{server.base_url}/x"))
