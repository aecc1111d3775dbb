"""The lean HTTP/1.1 transport: keep-alive, framing by h11, and connections the server dropped."""

from __future__ import annotations

import asyncio

import httpx2
import pytest

from pytest_promptcheck.providers.transport import LeanTransport, suits
from tests.loopback import LoopbackServer
from tests.raw_server import RawServer, Script, response


async def fetch(url: str, count: int = 1) -> list[httpx2.Response]:
    async with httpx2.AsyncClient(transport=LeanTransport(), timeout=2) as client:
        return [await client.get(url) for _ in range(count)]


def fetch_from(script: Script | bytes, count: int = 1) -> list[httpx2.Response]:
    with RawServer(script) as server:
        return asyncio.run(fetch(f"{server.base_url}/x", count))


def test_keep_alive_connections_are_reused(openai_server: LoopbackServer) -> None:
    async def go() -> list[httpx2.Response]:
        async with httpx2.AsyncClient(transport=LeanTransport()) as client:
            body = {"model": "m", "prompt": "hi"}
            return [
                await client.post(f"{openai_server.base_url}/completions", json=body)
                for _ in range(5)
            ]

    responses = asyncio.run(go())
    assert [r.json()["choices"][0]["text"] for r in responses] == ["echo: hi"] * 5
    assert openai_server.connection_count == 1


def test_a_body_left_unread_closes_its_connection(openai_server: LoopbackServer) -> None:
    """A response cut short (a cap, a deadline) leaves bytes on the wire: never reused."""

    async def go() -> None:
        async with httpx2.AsyncClient(transport=LeanTransport()) as client:
            body = {"model": "m", "prompt": "hi"}
            for _ in range(2):
                url = f"{openai_server.base_url}/completions"
                async with client.stream("POST", url, json=body) as answer:
                    assert answer.status_code == 200

    asyncio.run(go())
    assert openai_server.connection_count == 2


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
