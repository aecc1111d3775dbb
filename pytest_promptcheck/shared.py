"""One call per key across the xdist workers of a run, through the cache directory.

The first worker to claim a key makes the call and publishes its result (or its error);
the others wait for it. Entries are namespaced by the run and expire, so nothing here
outlives the run or is read as a cached response by a later one.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Awaitable, Callable
from pathlib import Path

import diskcache

from pytest_promptcheck.errors import PromptcheckError, ProviderError
from pytest_promptcheck.records import Completion

POLL_S = 0.02


class SharedCalls:
    def __init__(self, directory: Path, run_id: str, ttl_s: float) -> None:
        self._store = diskcache.Cache(str(directory / "in-flight"))
        self._run = run_id
        self._ttl_s = ttl_s

    async def once(
        self, key: str, call: Callable[[], Awaitable[Completion]], gate: asyncio.Semaphore
    ) -> Completion:
        """The call's completion, made here if this worker claims the key first.

        ``gate`` bounds how many claimed calls this worker has in progress (its share of the
        provider's concurrency): claiming every key at once would leave the other workers
        nothing to do but wait.
        """
        while True:
            async with gate:
                if self._store.add(self._name("claim", key), os.getpid(), expire=self._ttl_s):
                    return await self._call(key, call)
            outcome = await self._wait(key)
            if outcome is not None:
                return outcome
            # the claim expired without an outcome (its worker died): claim it again

    async def _call(self, key: str, call: Callable[[], Awaitable[Completion]]) -> Completion:
        try:
            completion = await call()
        except ProviderError as exc:
            self._publish(
                "error",
                key,
                {
                    "provider": exc.provider,
                    "message": exc.message,
                    "status": exc.status,
                    "tries": exc.tries,
                },
            )
            raise
        except PromptcheckError as exc:
            self._publish("error", key, {"message": str(exc)})
            raise
        except BaseException:
            # Cancelled (this worker's run stopped): another worker may still need the call, so
            # it must not wait for the claim to expire.
            self._store.delete(self._name("claim", key))
            raise
        self._publish("done", key, completion.to_json())
        return completion

    async def _wait(self, key: str) -> Completion | None:
        while True:
            done = self._store.get(self._name("done", key))
            if isinstance(done, str):
                return Completion.from_json(json.loads(done), cached=True)
            error = self._store.get(self._name("error", key))
            if isinstance(error, str):
                raise _error(json.loads(error))
            if self._name("claim", key) not in self._store:
                return None
            await asyncio.sleep(POLL_S)

    def _publish(self, kind: str, key: str, data: dict[str, object]) -> None:
        self._store.set(self._name(kind, key), json.dumps(data), expire=self._ttl_s)

    def _name(self, kind: str, key: str) -> str:
        return f"{self._run}:{kind}:{key}"

    def close(self) -> None:
        self._store.close()


def _error(data: dict[str, object]) -> PromptcheckError:
    if "provider" not in data:
        return PromptcheckError(str(data["message"]))
    status = data.get("status")
    return ProviderError(
        str(data["provider"]),
        str(data["message"]),
        status=int(status) if isinstance(status, int) else None,
        tries=int(data.get("tries", 1)),  # type: ignore[call-overload]
    )
