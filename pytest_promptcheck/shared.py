"""One call per cache key across processes that share a cache directory.

xdist workers of one run and separate runs (a CI retry, two terminals) claim a key in the
in-flight store before calling it. A claim names its holder (pid, host, process start time)
and expires; one whose holder died (kill -9) is taken over at once. Whoever finds a key
claimed waits until the claim is released, then re-reads the response cache, where the
holder wrote its answer. xdist workers also publish each outcome for their run, as the
response cache may be off and an error is never cached.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from pytest_promptcheck.batching import Batch
from pytest_promptcheck.cache import CacheHealth, cache_failures
from pytest_promptcheck.claims_db import ClaimsDb
from pytest_promptcheck.errors import PromptcheckError, ProviderError
from pytest_promptcheck.records import Completion

POLL_S = 0.02
POLL_MAX_S = 0.25
"""Waiters poll the store, less often the longer they wait: a second run may wait on
hundreds of keys at once."""

Call = Callable[[], Awaitable[Completion]]
Lookup = Callable[[], Completion | None]


class SharedCalls:
    def __init__(
        self, directory: Path, run_id: str | None, ttl_s: float, health: CacheHealth
    ) -> None:
        self._db = ClaimsDb(directory / "in-flight")
        self._run = run_id
        self._ttl_s = ttl_s
        self._health = health
        # the process, and which of its SharedCalls: a claim held is this object's own
        self._holder = json.dumps(
            {**_holder(os.getpid()), "id": secrets.token_hex(8)}, sort_keys=True
        )
        self._host = socket.gethostname()
        self._made: list[tuple[str, Completion]] = []
        """Calls made here whose answers wait for ``flush``: published (xdist), then released."""
        self._batch = Batch(self.flush)
        self._claiming: dict[str, asyncio.Future[bool]] | None = None
        """Keys to claim in the next transaction, and who waits for each."""
        self.before_release: Callable[[], None] = _nothing
        """Run before claims are released: the client writes the answers to the cache."""

    @property
    def in_a_run(self) -> bool:
        """Whether this process is one xdist worker of several that share a run."""
        return self._run is not None

    async def once(
        self, key: str, call: Call, gate: asyncio.Semaphore, lookup: Lookup
    ) -> Completion:
        """The call's completion: made here if this process claims the key, else the holder's.

        ``gate`` bounds how many claimed calls this process has in progress (its share of the
        provider's concurrency): claiming every key at once would leave the others nothing to
        do but wait. ``lookup`` reads the response cache once a claim is released. A holder
        that keeps the key longer than any claim of this run would last (``ttl_s``) no longer
        holds it back: a claim planted in a cache directory from elsewhere (an expiry far
        ahead, a pid that runs) would make it wait for ever.
        """
        overdue_at = asyncio.get_running_loop().time() + self._ttl_s
        while True:
            async with gate:
                overdue = asyncio.get_running_loop().time() > overdue_at
                if overdue or await self._claim(key):
                    # the last holder may have finished between our last look and the claim
                    outcome = self._answered(key, lookup)
                    if outcome is not None:
                        self._release(key)
                        return outcome
                    return await self._call(key, call)
            outcome = await self._wait(key, lookup, overdue_at)
            if outcome is not None:
                return outcome

    def _answered(self, key: str, lookup: Lookup) -> Completion | None:
        """The outcome another process left: published for this run, or in the cache."""
        try:
            outcome = self._published(key)
        except PromptcheckError:
            self._release(key)
            raise
        except cache_failures() as exc:
            self._fail(exc)
            outcome = None
        return outcome if outcome is not None else lookup()

    async def _claim(self, key: str) -> bool:
        """True when this process may call: it holds the claim, or the store failed.

        Claims asked for in one turn of the event loop are made in one transaction (a run
        claims all its keys at once; a transaction each cost the loop a wait on the disk).
        """
        if not self._health.writable:
            return True
        if self._claiming is None:
            self._claiming = {}
            asyncio.get_running_loop().call_soon(self._claim_batch)
        future = self._claiming.setdefault(key, asyncio.get_running_loop().create_future())
        try:
            return await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled() and future.result():
                self._release(key)  # claimed for a call that will not be made
            raise

    def _claim_batch(self) -> None:
        batch, self._claiming = self._claiming or {}, None
        wanted = {key: future for key, future in batch.items() if not future.done()}
        try:  # free keys, and those whose holder died
            taken = self._db.claim(list(wanted), self._holder, self._ttl_s, self._alive)
        except Exception as exc:  # a loop callback: whatever fails, every waiter gets an answer
            self._fail(exc)
            taken = dict.fromkeys(wanted, True)
        for key, future in wanted.items():
            future.set_result(taken[key])

    async def _call(self, key: str, call: Call) -> Completion:
        try:
            completion = await call()
        except ProviderError as exc:
            self._publish("error", key, _provider_error_json(exc))
            self._release(key)
            raise
        except PromptcheckError as exc:
            self._publish("error", key, {"message": str(exc)})
            self._release(key)
            raise
        except BaseException:
            # Cancelled (this run stopped): another process may still need the call, so it
            # must not wait for the claim to expire.
            self._release(key)
            raise
        # Released with the next batch, after the response cache's own flush wrote the answer
        # a waiting process reads once the claim is gone (before_release).
        self._made.append((key, completion))
        self._batch.soon()
        return completion

    def flush(self) -> None:
        """Publish (xdist) and release the answered keys: a transaction each, for all keys."""
        self.before_release()
        answered, self._made = self._made, []
        if not (answered and self._health.writable):
            return
        try:
            if self._run is not None:  # serialized only for other workers (most runs have none)
                done = [(f"{self._run}:done:{key}", json.dumps(c.to_json())) for key, c in answered]
                self._db.publish(done, self._ttl_s)
            self._db.release([key for key, _ in answered], self._holder)
        except cache_failures() as exc:
            self._fail(exc)

    async def _wait(self, key: str, lookup: Lookup, until: float) -> Completion | None:
        """The outcome once the key's claim ends; None when it is this process's turn (the
        claim ended without an answer, or it is ``until`` on the loop's clock)."""
        delay = POLL_S
        loop = asyncio.get_running_loop()
        while self._health.writable and loop.time() <= until:
            try:
                outcome = self._published(key)
                held = outcome is None and self._held(key)
            except cache_failures() as exc:
                self._fail(exc)
                return None
            if outcome is not None:
                return outcome
            if not held:
                return lookup()
            await asyncio.sleep(min(delay, max(0.0, until - loop.time())))
            delay = min(POLL_MAX_S, delay * 1.5)
        return None

    def _held(self, key: str) -> bool:
        holder = self._db.holder(key)
        return holder is not None and self._alive(holder)  # else _claim takes it over

    def _alive(self, holder: str) -> bool:
        """Whether a claim's holder (JSON text) still runs; anything else is no holder."""
        try:
            data = json.loads(holder)
        except (ValueError, RecursionError):  # a file from elsewhere may hold anything
            return False
        return isinstance(data, dict) and _alive(data, self._host)

    def _published(self, key: str) -> Completion | None:
        """This run's outcome of the key (xdist); raises the error another worker got."""
        if self._run is None:
            return None
        done = self._db.published(f"{self._run}:done:{key}")
        if done is not None:
            return Completion.from_json(json.loads(done), cached=True)
        error = self._db.published(f"{self._run}:error:{key}")
        if error is not None:
            raise _error(json.loads(error))
        return None

    def _publish(self, kind: str, key: str, data: dict[str, object]) -> None:
        if self._run is None or not self._health.writable:
            return
        try:
            self._db.publish([(f"{self._run}:{kind}:{key}", json.dumps(data))], self._ttl_s)
        except cache_failures() as exc:
            self._fail(exc)

    def _release(self, key: str) -> None:
        if not self._health.writable:
            return
        try:
            self._db.release([key], self._holder)  # one taken over after expiring stays
        except cache_failures() as exc:
            self._fail(exc)

    def _fail(self, exc: BaseException) -> None:
        # claims are writes: a failing claims store stops writes, not the reading of answers
        self._health.read_only(exc)
        self.close()

    def close(self) -> None:
        self.flush()
        try:
            self._db.close()
        except cache_failures():
            pass


def _nothing() -> None:
    pass


def _holder(pid: int) -> dict[str, object]:
    return {"pid": pid, "host": socket.gethostname(), "start": _start_time(pid)}


def _alive(holder: dict[str, Any], host: str) -> bool:
    """Whether a claim's holder still runs. Another host's process cannot be asked: its
    claim holds until it expires."""
    if holder.get("host") != host:
        return True
    pid = holder.get("pid")
    if not isinstance(pid, int):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by another user
    recorded = holder.get("start")
    if recorded is None:
        return True  # recorded without /proc: the pid is all there is to go by
    return bool(_start_time(pid) == recorded)  # a zombie or a reused pid does not match


def _start_time(pid: int) -> str | None:
    """The process's start time from /proc (tells a reused pid apart); None for a zombie
    or where there is no /proc."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[-1].split()
    return None if fields[0] in ("Z", "X") else fields[19]


def _provider_error_json(exc: ProviderError) -> dict[str, object]:
    return {
        "provider": exc.provider,
        "message": exc.message,
        "status": exc.status,
        "tries": exc.tries,
    }


def _error(data: dict[str, object]) -> PromptcheckError:
    if "provider" not in data:
        return PromptcheckError(str(data["message"]))
    status = data.get("status")
    tries = data.get("tries")
    return ProviderError(
        str(data["provider"]),
        str(data["message"]),
        status=int(status) if isinstance(status, int) else None,
        tries=tries if isinstance(tries, int) else 1,
    )
