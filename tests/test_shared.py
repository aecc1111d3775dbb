"""Claims shared through the cache directory by xdist workers and by separate runs."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from pytest_promptcheck.cache import CacheHealth
from pytest_promptcheck.claims_db import ClaimsDb
from pytest_promptcheck.records import Completion
from pytest_promptcheck.shared import SharedCalls

ANSWER = Completion(text="ok", model_reported="m")


def shared(tmp_path: Path, run: str | None = "run") -> SharedCalls:
    return SharedCalls(tmp_path, run, 300, CacheHealth())


def nothing() -> Completion | None:
    return None


async def answer() -> Completion:
    return ANSWER


class Gate(asyncio.Semaphore):
    """A worker's gate (its share of the concurrency) that tells when it is let go of.

    ``once`` holds its gate while it claims the key and, holding the claim, while it calls. A
    worker that found the key claimed lets go right after that claim, before it waits.
    """

    def __init__(self) -> None:
        super().__init__(1)
        self.released = asyncio.Event()

    def release(self) -> None:
        super().release()
        self.released.set()


class Held:
    """A call that begins, then ends only when the test lets it: its claim is held meanwhile."""

    def __init__(self, then: Callable[[], None] = lambda: None) -> None:
        self.began = asyncio.Event()
        self.may_end = asyncio.Event()
        self._then = then

    async def __call__(self) -> Completion:
        self.began.set()
        await self.may_end.wait()
        self._then()
        return ANSWER


async def first_look(
    store: SharedCalls, lookup: Callable[[], Completion | None]
) -> tuple[bool, asyncio.Future[Completion]]:
    """Start ``store.once`` on the key and stop at its first step: whether it called at once
    (it got the claim) rather than finding the key claimed; and the call to await."""
    gate, calls = Gate(), []

    async def counted() -> Completion:
        calls.append(1)
        return ANSWER

    outcome = asyncio.ensure_future(store.once("key", counted, gate, lookup))
    await gate.released.wait()
    return calls == [1], outcome


def test_a_cancelled_call_gives_its_claim_back(tmp_path: Path) -> None:
    first, second = shared(tmp_path), shared(tmp_path)

    async def scenario() -> Completion:
        held = Held()
        stopped = asyncio.ensure_future(first.once("key", held, asyncio.Semaphore(1), nothing))
        await held.began.wait()  # first holds the claim
        stopped.cancel()
        await asyncio.gather(stopped, return_exceptions=True)
        called_at_once, outcome = await first_look(second, nothing)
        # without the claim given back, second would wait for it to expire (300 s)
        assert called_at_once
        return await outcome

    assert asyncio.run(scenario()).text == "ok"
    first.close()
    second.close()


def test_a_second_worker_gets_the_first_ones_answer(tmp_path: Path) -> None:
    first, second = shared(tmp_path), shared(tmp_path)

    async def scenario() -> list[Completion]:
        held = Held()
        answering = asyncio.ensure_future(first.once("key", held, Gate(), nothing))
        await held.began.wait()  # first holds the claim
        called_at_once, waiting = await first_look(second, nothing)
        assert not called_at_once and not waiting.done()
        held.may_end.set()
        return [await answering, await waiting]

    answers = asyncio.run(scenario())
    assert [a.text for a in answers] == ["ok", "ok"]
    assert answers[1].cached  # first's published outcome
    first.close()
    second.close()


def test_another_run_waits_and_reads_the_cache_instead_of_calling(tmp_path: Path) -> None:
    """Runs do not share outcomes: the waiter finds the answer in the response cache."""
    first, second = shared(tmp_path, None), shared(tmp_path, None)
    written: list[Completion] = []

    def cache() -> Completion | None:
        return (
            Completion(text=written[0].text, model_reported="m", cached=True) if written else None
        )

    async def scenario() -> list[Completion]:
        # the response cache write, as ModelClient does it
        held = Held(then=lambda: written.append(ANSWER))
        answering = asyncio.ensure_future(first.once("key", held, Gate(), cache))
        await held.began.wait()  # first holds the claim
        called_at_once, waiting = await first_look(second, cache)
        assert not called_at_once and not waiting.done()
        held.may_end.set()
        return [await answering, await waiting]

    answers = asyncio.run(scenario())
    assert [a.text for a in answers] == ["ok", "ok"]
    assert answers[1].cached  # read from the response cache
    first.close()
    second.close()


DIE_HOLDING_THE_CLAIM = """
import asyncio, os, sys
from pathlib import Path
from pytest_promptcheck.cache import CacheHealth
from pytest_promptcheck.shared import SharedCalls

async def die():
    os._exit(9)  # as kill -9 would: no clean-up, the claim stays

calls = SharedCalls(Path(sys.argv[1]), "run", 300, CacheHealth())
asyncio.run(calls.once("key", die, asyncio.Semaphore(1), lambda: None))
"""


def test_a_claim_whose_holder_died_is_taken_over_at_once(tmp_path: Path) -> None:
    died = subprocess.run([sys.executable, "-c", DIE_HOLDING_THE_CLAIM, str(tmp_path)], check=False)
    assert died.returncode == 9
    store = shared(tmp_path)

    async def scenario() -> Completion:
        called_at_once, outcome = await first_look(store, nothing)
        assert called_at_once  # else it would wait for the dead holder's claim to expire
        return await outcome

    assert asyncio.run(scenario()).text == "ok"
    store.close()


def test_a_planted_claim_holds_a_call_back_no_longer_than_a_claim_of_its_own_lasts(
    tmp_path: Path,
) -> None:
    """A claims file from elsewhere with a live-looking holder and an expiry far ahead: the
    call waits out its own claims' lifetime, then goes ahead."""
    planted = ClaimsDb(tmp_path / "in-flight")
    holder = json.dumps({"host": socket.gethostname(), "pid": 1})  # pid 1 runs
    planted.claim(["k"], holder, 10**9, lambda _: True)
    planted.close()
    store = SharedCalls(tmp_path, None, 0.5, CacheHealth())

    async def scenario() -> Completion:
        return await asyncio.wait_for(
            store.once("k", answer, asyncio.Semaphore(1), nothing), timeout=10
        )

    assert asyncio.run(scenario()).text == "ok"
    store.close()


def test_a_broken_claims_store_lets_calls_go_ahead(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    health = CacheHealth()
    store = SharedCalls(tmp_path / "file", "run", 300, health)
    got = asyncio.run(store.once("key", answer, asyncio.Semaphore(1), nothing))
    assert got.text == "ok"
    assert health.note() is not None and "cache disabled for this run" in health.note()  # type: ignore[operator]


def test_a_call_cancelled_while_claiming_leaves_no_claim(tmp_path: Path) -> None:
    first, second = shared(tmp_path), shared(tmp_path)

    async def scenario() -> Completion:
        stopped = asyncio.ensure_future(first.once("key", answer, asyncio.Semaphore(1), nothing))
        await asyncio.sleep(0)  # it asked for the claim; the batch has not run yet
        stopped.cancel()
        await asyncio.gather(stopped, return_exceptions=True)
        called_at_once, outcome = await first_look(second, nothing)
        assert called_at_once  # else second would wait for the claim to expire (300 s)
        return await outcome

    assert asyncio.run(scenario()).text == "ok"
    first.close()
    second.close()


def test_a_release_due_on_a_loop_that_ended_does_not_hold_back_the_next_ones(
    tmp_path: Path,
) -> None:
    """Releases wait a moment to be batched; a batch due on a loop that ended (it never runs)
    must not keep the next loop's claims held until the store closes."""
    first, second = shared(tmp_path, None), shared(tmp_path, None)
    asyncio.run(first.once("a", answer, asyncio.Semaphore(1), nothing))

    async def scenario() -> bool:
        await first.once("b", answer, asyncio.Semaphore(1), nothing)
        await asyncio.sleep(0.3)  # the batch is due after 50 ms
        return await second._claim("b")  # free again: released

    assert asyncio.run(scenario())
    first.close()
    second.close()
