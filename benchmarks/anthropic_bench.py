"""What the anthropic provider's request path costs next to the openai one's.

Run: python benchmarks/anthropic_bench.py [--calls 2000] [--concurrency 50] [--repeat 3]

Each figure is a fresh child process calling ``<Provider>.complete`` N times at concurrency c
(JSON encoding, auth header, deadline, body cap, parsing: the plugin's own path, no cache)
against the loopback server of its API in this process on 127.0.0.1, latency 0: the OpenAI
one (tests/loopback.py) and the Messages API one (tests/loopback_anthropic.py, the same server
answering another shape). The two alternate; the table gives the median (min) of the children's
own timing of their calls, and microseconds per call.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from measuring import measure  # noqa: E402  (beside this script)

from tests.loopback import LoopbackServer  # noqa: E402
from tests.loopback_anthropic import AnthropicServer  # noqa: E402

CALLS_SCRIPT = """
import asyncio, sys, time
from pytest_promptcheck.providers import ProviderConfig
from pytest_promptcheck.records import ModelRequest

async def main(kind, url, calls, concurrency):
    if kind == "openai":
        from pytest_promptcheck.providers.openai import OpenAIProvider as Provider
    else:
        from pytest_promptcheck.providers.anthropic import AnthropicProvider as Provider
    provider = Provider(ProviderConfig(kind, kind, base_url=url), 60.0)
    messages = ({"role": "system", "content": "Echo."}, {"role": "user", "content": "hi"})
    gate = asyncio.Semaphore(concurrency)
    async def call(i):
        async with gate:
            request = ModelRequest(f"{kind}:bench", messages, None, {"seed": i})
            await provider.complete(request, 0)
    started = time.perf_counter()
    await asyncio.gather(*(call(i) for i in range(calls)))
    print(f"{time.perf_counter() - started:.4f}")
    await provider.aclose()

asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "ANTHROPIC_"))}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["OPENAI_API_KEY"] = env["ANTHROPIC_API_KEY"] = "sk-bench"
    seconds: dict[str, list[float]] = {"openai": [], "anthropic": []}
    with LoopbackServer() as openai_server, AnthropicServer() as anthropic_server:
        urls = {"openai": openai_server.base_url, "anthropic": anthropic_server.base_url}
        servers = {"openai": openai_server, "anthropic": anthropic_server}
        for _ in range(args.repeat):
            for kind in seconds:
                servers[kind].reset()
                command = [sys.executable, "-c", CALLS_SCRIPT, kind, urls[kind]]
                run = measure([*command, str(args.calls), str(args.concurrency)], ROOT, env)
                made = len(servers[kind].requests)
                if run.returncode != 0 or made != args.calls:
                    sys.exit(f"{kind}: exit {run.returncode}, {made} calls: {run.output[-400:]}")
                seconds[kind].append(float(run.output.strip().splitlines()[-1]))
    print(f"{args.calls} calls at concurrency {args.concurrency}, latency 0, {args.repeat} runs")
    print("| provider | calls took, median (min) | per call |")
    print("| --- | --- | --- |")
    for kind, runs in seconds.items():
        median = statistics.median(runs)
        per_call_us = median / args.calls * 1e6
        print(f"| {kind} | {median:.2f} s ({min(runs):.2f} s) | {per_call_us:.0f} µs |")


if __name__ == "__main__":
    main()
