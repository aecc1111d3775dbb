"""The lean HTTP/1.1 transport: keep-alive, framing, and connections the server dropped."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import httpx2
import pytest

from pytest_promptcheck.providers.transport import LeanTransport, suits
from tests.loopback import LoopbackServer

Reply = Callable[[asyncio.StreamWriter], Awaitable[None]]


async def raw_server(reply: Reply) -> tuple[asyncio.Server, str]:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        await reply(writer)
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}/v1/x"


async def fetch(url: str, count: int = 1) -> list[httpx2.Response]:
    async with httpx2.AsyncClient(transport=LeanTransport(), timeout=2) as client:
        return [await client.get(url) for _ in range(count)]


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


def test_chunked_body_is_read_whole() -> None:
    async def chunked(writer: asyncio.StreamWriter) -> None:
        writer.write(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
        )
        await writer.drain()

    async def go() -> bytes:
        server, url = await raw_server(chunked)
        async with server:
            (response,) = await fetch(url)
            return response.content

    assert asyncio.run(go()) == b"hello world"


def test_body_until_close_without_length() -> None:
    async def until_close(writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nall of it")
        await writer.drain()

    async def go() -> bytes:
        server, url = await raw_server(until_close)
        async with server:
            (response,) = await fetch(url)
            return response.content

    assert asyncio.run(go()) == b"all of it"


def test_a_connection_the_server_dropped_is_replaced() -> None:
    async def once_then_close(writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()  # then the handler closes: the client's idle connection is dead

    async def go() -> list[bytes]:
        server, url = await raw_server(once_then_close)
        async with server:
            return [r.content for r in await fetch(url, count=3)]

    assert asyncio.run(go()) == [b"ok", b"ok", b"ok"]


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
