"""Claims shared through the cache directory by xdist workers and by separate runs."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

from pytest_promptcheck.cache import CacheHealth
from pytest_promptcheck.records import Completion
from pytest_promptcheck.shared import SharedCalls

ANSWER = Completion(text="ok", model_reported="m")


def shared(tmp_path: Path, run: str | None = "run") -> SharedCalls:
    return SharedCalls(tmp_path, run, 300, CacheHealth())


def nothing() -> Completion | None:
    return None


async def answer() -> Completion:
    return ANSWER


def test_a_cancelled_call_gives_its_claim_back(tmp_path: Path) -> None:
    first, second = shared(tmp_path), shared(tmp_path)

    async def never() -> Completion:
        await asyncio.sleep(3600)
        raise AssertionError("not reached")

    async def scenario() -> Completion:
        stopped = asyncio.ensure_future(first.once("key", never, asyncio.Semaphore(1), nothing))
        await asyncio.sleep(0.05)
        stopped.cancel()
        await asyncio.gather(stopped, return_exceptions=True)
        # without the claim given back, this would wait for it to expire (300 s)
        return await asyncio.wait_for(
            second.once("key", answer, asyncio.Semaphore(1), nothing), timeout=5
        )

    assert asyncio.run(scenario()).text == "ok"
    first.close()
    second.close()


def test_a_second_worker_gets_the_first_ones_answer(tmp_path: Path) -> None:
    first, second = shared(tmp_path), shared(tmp_path)
    calls = []

    async def slow_answer() -> Completion:
        calls.append(1)
        await asyncio.sleep(0.1)
        return ANSWER

    async def scenario() -> list[Completion]:
        return list(
            await asyncio.gather(
                first.once("key", slow_answer, asyncio.Semaphore(1), nothing),
                second.once("key", slow_answer, asyncio.Semaphore(1), nothing),
            )
        )

    answers = asyncio.run(scenario())
    assert [a.text for a in answers] == ["ok", "ok"]
    assert len(calls) == 1 and answers[1].cached
    first.close()
    second.close()


def test_another_run_waits_and_reads_the_cache_instead_of_calling(tmp_path: Path) -> None:
    """Runs do not share outcomes: the waiter finds the answer in the response cache."""
    first, second = shared(tmp_path, None), shared(tmp_path, None)
    written: list[Completion] = []
    calls = []

    async def slow_answer() -> Completion:
        calls.append(1)
        await asyncio.sleep(0.1)
        written.append(ANSWER)  # the response cache write, as ModelClient does it
        return ANSWER

    def cache() -> Completion | None:
        return (
            Completion(text=written[0].text, model_reported="m", cached=True) if written else None
        )

    async def scenario() -> list[Completion]:
        return list(
            await asyncio.gather(
                first.once("key", slow_answer, asyncio.Semaphore(1), cache),
                second.once("key", slow_answer, asyncio.Semaphore(1), cache),
            )
        )

    answers = asyncio.run(scenario())
    assert len(calls) == 1 and [a.text for a in answers] == ["ok", "ok"]
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
        return await asyncio.wait_for(store.once("key", answer, asyncio.Semaphore(1), nothing), 5)

    assert asyncio.run(scenario()).text == "ok"
    store.close()


def test_a_broken_claims_store_lets_calls_go_ahead(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    health = CacheHealth()
    store = SharedCalls(tmp_path / "file", "run", 300, health)
    got = asyncio.run(store.once("key", answer, asyncio.Semaphore(1), nothing))
    assert got.text == "ok"
    assert health.note() is not None and "cache disabled for this run" in health.note()  # type: ignore[operator]
