"""What the cache directory costs per call: claims and releases, and a response store's writes.

Run: python benchmarks/store_bench.py [--calls N] [--repeat R]
(PYTHONPATH=<a checkout> measures that checkout's SharedCalls: before/after)

- claims: N calls through SharedCalls.once (each claimed, answered at once, released in the
  batches the run uses), as a lone run writing the cache makes them;
- writes: N answers added to a diskcache store in transactions of 500, with diskcache's default
  culling (a size check on every write) and as the plugin opens its stores (cull_limit=0).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path

import diskcache

# the installed package (PYTHONPATH=<another checkout> measures that one instead)
from pytest_promptcheck.cache import CacheHealth
from pytest_promptcheck.records import Completion
from pytest_promptcheck.shared import SharedCalls

ANSWER = Completion(text="ok", model_reported="bench")


async def claims(folder: Path, calls: int) -> float:
    shared = SharedCalls(folder, None, 300, CacheHealth())
    gate = asyncio.Semaphore(calls)

    async def call() -> Completion:
        await asyncio.sleep(0)
        return ANSWER

    started = time.perf_counter()
    keys = (f"{i:064x}" for i in range(calls))
    await asyncio.gather(*(shared.once(key, call, gate, lambda: None) for key in keys))
    shared.flush()
    elapsed = time.perf_counter() - started
    shared.close()
    return elapsed


def writes(folder: Path, calls: int, **settings: int) -> float:
    store = diskcache.Cache(str(folder), **settings)
    value = json.dumps(ANSWER.to_json(), sort_keys=True)  # as ResponseCache writes it
    started = time.perf_counter()
    for start in range(0, calls, 500):
        with store.transact():
            for i in range(start, min(start + 500, calls)):
                store.add(f"{i:064x}", value)
    elapsed = time.perf_counter() - started
    store.close()
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args()
    figures: dict[str, list[float]] = {"claims": [], "writes, culling": [], "writes, no cull": []}
    for _ in range(options.repeat):
        with tempfile.TemporaryDirectory() as temp:
            root = Path(temp)
            figures["claims"].append(asyncio.run(claims(root / "claims", options.calls)))
            figures["writes, culling"].append(writes(root / "a", options.calls))
            figures["writes, no cull"].append(writes(root / "b", options.calls, cull_limit=0))
    for name, runs in figures.items():
        median, least = statistics.median(runs), min(runs)
        print(f"{options.calls} {name}: median {median:.3f} s (min {least:.3f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
