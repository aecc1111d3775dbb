"""HTTP figures: the provider's request path through three transports, and what a hostile
body costs in memory and time.

Run alone: python benchmarks/http_bench.py [--repeat 3] [--only transports bodies path]
(benchmarks/run.py runs the same as its workloads `transports` and `bodies`). `path` is the
lean request path alone, 10,000 calls at concurrency 50 against benchmarks/fast_server.py (a
server in its own process, so the client's own pace is measured). The children keep the
caller's PYTHONPATH first: ``PYTHONPATH=<checkout> python benchmarks/http_bench.py ...``
measures that checkout's package.

Every figure is a fresh child process (`python -c ...`) calling OpenAIProvider.complete, the
plugin's own request path (JSON encoding, auth, deadline, body cap, parsing), against servers
in this process on 127.0.0.1: the loopback OpenAI-compatible server (tests/loopback.py) for
the transports, the raw-socket server (tests/raw_server.py) for hostile bodies.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fast_server import FastServer  # noqa: E402  (beside this script)
from measuring import measure  # noqa: E402  (beside this script)

from tests.loopback import LoopbackServer  # noqa: E402
from tests.raw_server import RawServer, Script  # noqa: E402

TRANSPORTS = ("lean", "httpx2", "aiohttp")
LOADS = ((200, 100, 16), (10_000, 0, 50))
"""(calls, server latency ms, concurrency): run.py's live16 load and its 10,000-call warm-up."""

CALLS_SCRIPT = """
import asyncio, sys, time
sys.path.insert(0, sys.argv[5])
import httpx2
from pytest_promptcheck.providers import ProviderConfig
from pytest_promptcheck.providers.openai import OpenAIProvider
from pytest_promptcheck.records import ModelRequest

def transport(kind, concurrency):
    if kind == "lean":
        return None  # the provider's own choice for http://
    if kind == "httpx2":
        limits = httpx2.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        return httpx2.AsyncHTTPTransport(limits=limits)
    from aiohttp_transport import AiohttpTransport
    return AiohttpTransport()

async def main(url, kind, calls, concurrency):
    config = ProviderConfig("openai", "openai", base_url=url)
    provider = OpenAIProvider(config, 60.0, transport=transport(kind, concurrency))
    gate = asyncio.Semaphore(concurrency)
    async def call(i):
        async with gate:
            await provider.complete(ModelRequest("openai:bench", None, f"Echo {i}"), 0)
    started = time.perf_counter()
    await asyncio.gather(*(call(i) for i in range(calls)))
    print(f"{calls} calls in {time.perf_counter() - started:.3f}s")
    await provider.aclose()

asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])))
"""

BODY_SCRIPT = """
import asyncio, sys, time
from pytest_promptcheck.errors import ProviderError
from pytest_promptcheck.providers import ProviderConfig
from pytest_promptcheck.providers.openai import OpenAIProvider
from pytest_promptcheck.records import ModelRequest

async def main(url):
    provider = OpenAIProvider(ProviderConfig("openai", "openai", base_url=url), 60.0)
    started = time.perf_counter()
    try:
        outcome = repr((await provider.complete(ModelRequest("openai:b", None, "x"), 0)).text[:20])
    except ProviderError as exc:
        outcome = str(exc)
    elapsed = time.perf_counter() - started
    await provider.aclose()
    # VmHWM is this process's own peak: ru_maxrss would include the parent's peak at vfork
    peak = next(line for line in open("/proc/self/status") if line.startswith("VmHWM"))
    print(f"{outcome[:160]} | {int(peak.split()[1]) / 1024:.1f} MB | in {elapsed:.3f}s")

asyncio.run(main(sys.argv[1]))
"""


@dataclass
class Figure:
    """The repetitions of one command: wall time of the child, its own timing, peak RSS."""

    label: str
    walls: list[float] = field(default_factory=list)
    inner: list[float] = field(default_factory=list)
    rss_mb: list[float] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def cell(self) -> str:
        if not self.walls:
            return "n/a"
        text = f"{statistics.median(self.walls):.2f} s (min {min(self.walls):.2f} s)"
        if len(self.inner) == len(self.walls):
            text += f"; its calls {statistics.median(self.inner):.2f} s"
        return text


def run_child(figure: Figure, command: Sequence[str], env: dict[str, str]) -> None:
    """Run the child; its rusage comes from wait4 on its pid alone, never on this process."""
    # run beside the scripts, not in the checkout, whose package would shadow PYTHONPATH's
    run = measure(command, ROOT / "benchmarks", env)
    output, wall = run.output, run.wall_s
    figure.rss_mb.append(run.peak_rss_mb)  # replaced by VmHWM when the child prints it
    figure.walls.append(wall)
    last = output.strip().splitlines()[-1] if output.strip() else ""
    figure.outputs.append(last)
    if run.returncode != 0:
        figure.problems.append(f"exit code {run.returncode}: {output.strip()[-400:]}")
    elif " in " in last:
        figure.inner.append(float(last.rsplit(" in ", 1)[1].rstrip("s")))
    if last.count(" | ") == 2:
        figure.rss_mb[-1] = float(last.split(" | ")[1].split()[0])


def child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "PYTEST_"))}
    path = os.pathsep.join([*filter(None, [env.get("PYTHONPATH")]), str(ROOT)])
    return {**env, "OPENAI_API_KEY": "sk-bench", "PYTHONPATH": path}


def compare_transports(repeat: int) -> list[tuple[tuple[int, int, int], dict[str, Figure]]]:
    """Each load through each transport, in rotating order so a slow minute hits all alike."""
    results = []
    for calls, latency_ms, concurrency in LOADS:
        figures = {kind: Figure(kind) for kind in TRANSPORTS}
        with LoopbackServer(latency_ms=latency_ms) as server:
            server.set_model("bench", lambda request: "ok")
            for round_ in range(repeat):
                for kind in TRANSPORTS[round_ % 3 :] + TRANSPORTS[: round_ % 3]:
                    server.reset()
                    arguments = (server.base_url, kind, str(calls), str(concurrency))
                    command = (
                        sys.executable,
                        "-c",
                        CALLS_SCRIPT,
                        *arguments,
                        str(ROOT / "benchmarks"),
                    )
                    run_child(figures[kind], command, child_env())
                    seen = len(server.completion_requests)
                    if seen != calls:
                        figures[kind].problems.append(f"server saw {seen} calls, not {calls}")
        results.append(((calls, latency_ms, concurrency), figures))
    return results


PATH_LOAD = (10_000, 50)
"""(calls, concurrency) of the `path` workload."""


def request_path(repeat: int) -> Figure:
    """The lean request path alone against fast_server.py, ``repeat`` runs."""
    calls, concurrency = PATH_LOAD
    figure = Figure("lean")
    with FastServer() as server:
        for _ in range(repeat):
            server.reset()
            arguments = (server.base_url, "lean", str(calls), str(concurrency))
            command = (sys.executable, "-c", CALLS_SCRIPT, *arguments, str(ROOT / "benchmarks"))
            run_child(figure, command, child_env())
            if server.completions != calls:
                figure.problems.append(f"server saw {server.completions} calls, not {calls}")
    return figure


def print_path(figure: Figure) -> None:
    calls, concurrency = PATH_LOAD
    where = f"{calls:,} calls at concurrency {concurrency}, lean, fast_server.py"
    print(f"request path alone, {where}:")
    print(f"  {figure.cell()}")
    for problem in figure.problems:
        print(f"NOTE {problem}")


BODY_MB = 100


def hostile_bodies(repeat: int) -> dict[str, Figure]:
    """Peak RSS of a child whose one call meets a 100 MB body (JSON-like, then not JSON)."""
    size = BODY_MB * 2**20
    json_head = b'{"choices": [{"text": "'
    scripts = {
        "small valid answer": Script(_head(64) + b'{"choices": [{"text": "ok"}]}'.ljust(64)),
        f"{BODY_MB} MB JSON-like body": Script(
            _head(size) + json_head, filler=size - len(json_head)
        ),
        f"{BODY_MB} MB non-JSON body": Script(_head(size), filler=size),
        f"{BODY_MB} MB chunked, no length": Script(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n" % size, filler=size
        ),
    }
    figures = {}
    for label, script in scripts.items():
        figure = figures[label] = Figure(label)
        with RawServer(script) as server:
            for _ in range(repeat):
                run_child(figure, (sys.executable, "-c", BODY_SCRIPT, server.base_url), child_env())
    return figures


def _head(length: int) -> bytes:
    return (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % length
    )


def print_transports(results: list[tuple[tuple[int, int, int], dict[str, Figure]]]) -> None:
    print(
        "| load | lean (h11) | httpx2 default | aiohttp-backed | httpx2 / lean | aiohttp / lean |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    for (calls, latency, concurrency), figures in results:
        lean = _median(figures["lean"])
        ratios = [
            f"{_median(figures[k]) / lean:.2f}x" if lean and _median(figures[k]) else "n/a"
            for k in ("httpx2", "aiohttp")
        ]
        cells = [figures[k].cell() for k in TRANSPORTS]
        print(
            f"| {calls:,} calls, {latency} ms, concurrency {concurrency} | "
            + " | ".join([*cells, *ratios])
            + " |"
        )
        for kind, figure in figures.items():
            for problem in figure.problems[:1]:
                print(f"\nNOTE {kind} at {calls:,}: {problem}")


def _median(figure: Figure) -> float:
    return statistics.median(figure.walls) if figure.walls and not figure.problems else 0.0


def print_bodies(figures: dict[str, Figure]) -> None:
    print("| response | peak RSS of the child (median, max) | wall | outcome |")
    print("| --- | --- | --- | --- |")
    for label, figure in figures.items():
        rss = f"{statistics.median(figure.rss_mb):.0f} MB (max {max(figure.rss_mb):.0f} MB)"
        outcome = figure.outputs[-1].split(" | ")[0] if figure.outputs else "n/a"
        print(f"| {label} | {rss} | {figure.cell()} | {outcome} |")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", nargs="+", choices=["transports", "bodies", "path"])
    args = parser.parse_args(argv)
    only = args.only or ["transports", "bodies"]
    if "transports" in only:
        print_transports(compare_transports(args.repeat))
        print()
    if "bodies" in only:
        print_bodies(hostile_bodies(args.repeat))
    if "path" in (args.only or []):
        print_path(request_path(args.repeat))
    return 0


if __name__ == "__main__":
    sys.exit(main())
