"""What SDK capture (pytest_promptcheck/capture.py) costs, with the real openai SDK.

    python benchmarks/capture.py [--requests 300] [--repeat 3]

Prints per-request medians (min) over the repetitions: the SDK against the loopback server with
no capture installed, with the hooks installed but outside a scope (what every request outside
a flow pays), inside a scope recording (live + store), and inside a scope answered from the
cache; and the cost of the outside-a-scope check alone, timed on its own.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import timeit
from pathlib import Path
from typing import Any

import httpx2
import openai

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pytest_promptcheck.cache import CacheMode, ResponseCache
from pytest_promptcheck.capture import SdkCapture
from tests.loopback import LoopbackServer


def per_request_ms(client: openai.OpenAI, count: int, tag: str) -> float:
    started = time.perf_counter()
    for index in range(count):
        messages: Any = [{"role": "user", "content": f"{tag} {index}"}]
        client.chat.completions.create(model="bench", messages=messages)
    return (time.perf_counter() - started) * 1000 / count


def measure(server: LoopbackServer, count: int, repeat: int) -> dict[str, list[float]]:
    client = openai.OpenAI(base_url=server.base_url, api_key="sk-bench", max_retries=0)
    figures: dict[str, list[float]] = {}

    def note(name: str, value: float) -> None:
        figures.setdefault(name, []).append(value)

    for rep in range(repeat):
        note("not installed", per_request_ms(client, count, f"plain{rep}"))
        with tempfile.TemporaryDirectory() as directory:
            cache = ResponseCache(Path(directory), CacheMode.USE)
            with SdkCapture(cache, [server.base_url]) as capture:
                note("installed, outside a scope", per_request_ms(client, count, "out"))
                with capture.scope(0, lambda call: None):
                    note("in a scope, recording", per_request_ms(client, count, "in"))
                with capture.scope(0, lambda call: None):
                    note("in a scope, cache hits", per_request_ms(client, count, "in"))
            cache.close()
    return figures


def check_cost_ns(server: LoopbackServer) -> float:
    """The hook's work for a request outside any scope: one ContextVar lookup."""
    cache = ResponseCache(Path(tempfile.gettempdir()), CacheMode.USE)
    capture = SdkCapture(cache, [server.base_url])
    request = httpx2.Request("POST", server.base_url + "/chat/completions")
    loops = 200_000
    seconds = min(timeit.repeat(lambda: capture._captures(request), number=loops, repeat=5))
    return seconds * 1e9 / loops


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with LoopbackServer() as server:
        figures = measure(server, args.requests, args.repeat)
        check_ns = check_cost_ns(server)
    print(f"openai {openai.__version__}, httpx2 {httpx2.__version__}, {args.requests} requests")
    print("| workload | ms per request, median (min) |\n| --- | --- |")
    for name, values in figures.items():
        print(f"| {name} | {statistics.median(values):.3f} ({min(values):.3f}) |")
    print(f"| outside-a-scope check alone | {check_ns:.0f} ns |")


if __name__ == "__main__":
    main()
