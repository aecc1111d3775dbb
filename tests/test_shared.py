"""Claims shared by xdist workers through the cache directory."""

from __future__ import annotations

import asyncio
from pathlib import Path

from pytest_promptcheck.records import Completion
from pytest_promptcheck.shared import SharedCalls

ANSWER = Completion(text="ok", model_reported="m")


def test_a_cancelled_call_gives_its_claim_back(tmp_path: Path) -> None:
    first, second = SharedCalls(tmp_path, "run", 300), SharedCalls(tmp_path, "run", 300)

    async def never() -> Completion:
        await asyncio.sleep(3600)
        raise AssertionError("not reached")

    async def answer() -> Completion:
        return ANSWER

    async def scenario() -> Completion:
        stopped = asyncio.ensure_future(first.once("key", never, asyncio.Semaphore(1)))
        await asyncio.sleep(0.05)
        stopped.cancel()
        await asyncio.gather(stopped, return_exceptions=True)
        # without the claim given back, this would wait for it to expire (300 s)
        return await asyncio.wait_for(second.once("key", answer, asyncio.Semaphore(1)), timeout=5)

    assert asyncio.run(scenario()).text == "ok"
    first.close()
    second.close()


def test_a_second_worker_gets_the_first_ones_answer(tmp_path: Path) -> None:
    first, second = SharedCalls(tmp_path, "run", 300), SharedCalls(tmp_path, "run", 300)
    calls = []

    async def slow_answer() -> Completion:
        calls.append(1)
        await asyncio.sleep(0.1)
        return ANSWER

    async def scenario() -> list[Completion]:
        return list(
            await asyncio.gather(
                first.once("key", slow_answer, asyncio.Semaphore(1)),
                second.once("key", slow_answer, asyncio.Semaphore(1)),
            )
        )

    answers = asyncio.run(scenario())
    assert [a.text for a in answers] == ["ok", "ok"]
    assert len(calls) == 1 and answers[1].cached
    first.close()
    second.close()
