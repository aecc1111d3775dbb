"""An aiohttp-backed httpx2 transport: a benchmark comparison only, not part of the plugin.

Requests go through one aiohttp ClientSession (its own connection pool and C parser); the
response body is streamed back to httpx2, so a caller's body cap works as with httpx2's own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import httpx2


class _Body(httpx2.AsyncByteStream):
    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._response.content.iter_chunked(65536):
            yield chunk

    async def aclose(self) -> None:
        self._response.release()


class AiohttpTransport(httpx2.AsyncBaseTransport):
    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        if self._session is None:  # created on the loop that uses it
            connector = aiohttp.TCPConnector(limit=0)
            self._session = aiohttp.ClientSession(connector=connector, auto_decompress=False)
        headers = [(k, v) for k, v in request.headers.multi_items() if k.lower() != "host"]
        try:
            response = await self._session.request(
                request.method,
                str(request.url),
                headers=headers,
                data=await request.aread(),
                allow_redirects=False,
            )
        except aiohttp.ClientConnectionError as exc:
            raise httpx2.ConnectError(str(exc), request=request) from None
        except aiohttp.ClientError as exc:
            raise httpx2.RemoteProtocolError(str(exc), request=request) from None
        raw = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in response.raw_headers]
        return httpx2.Response(
            response.status, headers=raw, stream=_Body(response), request=request
        )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
