"""The call phase under a flaky and a dead provider, over the loopback server.

Run: python benchmarks/faults.py [--runs 10] [--cases 200] [--latency-ms 100] [--concurrency 16]

Each figure is a fresh `python -m pytest` subprocess with `--promptcheck-cache=off` (every call
live) on one prompt file of N inline cases, against the project's loopback OpenAI-compatible
server in this process. Three scenarios: no faults (the reference, 3 runs), 25% random faults
(a mix of 500, 503, 429 without and 429 with `Retry-After: 1`; a new fault seed per run), and
every request answered 503. Every run is printed, then the targets. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.run import server_env, write_prompt, write_workdir  # noqa: E402
from tests.loopback import Fault, LoopbackServer, rate_limit, status  # noqa: E402

FLAKY = [status(500), status(503), rate_limit(), rate_limit(retry_after="1")]
DEAD = [status(503)]
OUTCOME = re.compile(r"(\d+) (passed|failed|errors?)\b")
CIRCUIT = "provider unavailable"
RUN_TIMEOUT_S = 600


@dataclass(frozen=True)
class Run:
    wall_s: float
    exit_code: int
    outcomes: dict[str, int]
    requests: int
    circuit_lines: int
    """Distinct "provider unavailable" messages in the output (one per provider expected)."""

    def passed(self, cases: int) -> bool:
        return self.exit_code == 0 and self.outcomes.get("passed") == cases

    def text(self) -> str:
        counts = ", ".join(f"{n} {kind}" for kind, n in sorted(self.outcomes.items()))
        return (
            f"{self.wall_s:6.2f} s  exit {self.exit_code}  {counts or 'no outcome'}  "
            f"{self.requests} requests"
        )


def run_once(server: LoopbackServer, folder: Path, options: list[str]) -> Run:
    server.reset()
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *options]
    started = time.perf_counter()
    child = subprocess.run(
        command,
        cwd=folder,
        env=server_env(server),
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )
    wall_s = time.perf_counter() - started
    output = child.stdout + child.stderr
    last = output.strip().splitlines()[-1] if output.strip() else ""
    outcomes = {_kind(kind): int(n) for n, kind in OUTCOME.findall(last)}
    circuit = {line.split("errored: ", 1)[-1] for line in output.splitlines() if CIRCUIT in line}
    return Run(
        wall_s,
        child.returncode,
        outcomes,
        len(server.completion_requests),
        len({line for line in circuit if line.startswith("openai: ")}),
    )


def _kind(word: str) -> str:
    return "errors" if word.startswith("error") else word


def scenario(
    server: LoopbackServer,
    folder: Path,
    options: list[str],
    faults: list[Fault],
    rate: float,
    runs: int,
) -> list[Run]:
    results = []
    for seed in range(runs):
        server.fault_kinds, server.fault_rate, server.seed = faults, rate, seed
        results.append(run_once(server, folder, options))
        print(f"  run {seed + 1:2d}: {results[-1].text()}", flush=True)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="runs at 25%% faults (default 10)")
    parser.add_argument("--cases", type=int, default=200)
    parser.add_argument("--latency-ms", type=float, default=100)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    options = [f"--promptcheck-concurrency={args.concurrency}", "--promptcheck-cache=off"]
    with tempfile.TemporaryDirectory() as tmp, LoopbackServer(latency_ms=args.latency_ms) as server:
        folder = write_workdir(Path(tmp) / "faults")
        write_prompt(folder / "faults.prompt.yaml", args.cases)
        server.set_model("bench", lambda request: "ok")
        run_once(server, folder, options)  # untimed: compiles bytecode, warms the page cache
        print(f"{args.cases} cases, {args.latency_ms:g} ms latency, concurrency {args.concurrency}")
        print("no faults:")
        clean = scenario(server, folder, options, [], 0.0, 3)
        print("25% random faults (500, 503, 429, 429 with Retry-After: 1):")
        flaky = scenario(server, folder, options, FLAKY, 0.25, args.runs)
        print("every request 503:")
        dead = scenario(server, folder, options, DEAD, 1.0, 1)
    reference = statistics.median(r.wall_s for r in clean)
    slowest = max(r.wall_s for r in flaky)
    passing = sum(r.passed(args.cases) for r in flaky)
    print(f"no faults: median {reference:.2f} s")
    print(
        f"25% faults: {passing}/{len(flaky)} runs passed; wall {min(r.wall_s for r in flaky):.2f}"
        f"-{slowest:.2f} s, median {statistics.median(r.wall_s for r in flaky):.2f} s, "
        f"slowest {slowest / reference:.2f}x the fault-free median (target: all pass, <= 3x)"
    )
    (down,) = dead
    print(
        f"100% 503: {down.wall_s:.2f} s, {down.outcomes}, {down.requests} requests, "
        f"{down.circuit_lines} distinct provider error(s) (target: <= 30 s, one per provider)"
    )
    met = passing == len(flaky) and slowest <= 3 * reference and down.wall_s <= 30
    print("targets met" if met else "TARGETS NOT MET")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
