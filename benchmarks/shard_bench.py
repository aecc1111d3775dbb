"""Shards and merge at size: what sharding and merging cost, and that the merge is exact.

Run: python benchmarks/shard_bench.py [--files 50] [--cases 10] [--samples 10] [--shards 3]

A project of F prompt files x C sampled cases (S samples each) against the loopback server:
baselines recorded at a pass rate of 0.9, the cache filled at 0.4 (so sampled cases move and
the adjustment decides which regressed), then, all in replay mode (no call): one whole run and
N shard runs (one after another here; in CI they run side by side), each writing a .json
report, then
``python -m pytest_promptcheck merge``. It prints the wall times, the report sizes, and checks
that the merged verdicts, drift (effects, causes, adjusted p-values) and exit code equal the
whole run's.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from measuring import Measurement, measure  # noqa: E402  (beside this script)

from tests.loopback import LoopbackServer, RecordedRequest  # noqa: E402

PYTEST = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly"]


def write_project(folder: Path, files: int, cases: int, samples: int) -> None:
    (folder / "pytest.ini").write_text("[pytest]\n")
    for f in range(files):
        rows = [
            f"  - {{id: c{c}, vars: {{x: {f}-{c}}}, expect: [{{equals: ok}}]}}"
            for c in range(cases)
        ]
        head = [f"name: p{f}", "model: openai:bench", f"samples: {samples}", "min_pass_rate: 0.3"]
        text = "\n".join([*head, 'prompt: "Echo {{ x }}"', "cases:", *rows]) + "\n"
        (folder / f"p{f:03}.prompt.yaml").write_text(text)


def answering(rate: float) -> Any:
    rng, lock = random.Random(12), threading.Lock()

    def respond(request: RecordedRequest) -> str:
        with lock:
            return "ok" if rng.random() < rate else "no"

    return respond


def run(folder: Path, env: dict[str, str], *args: str) -> Measurement:
    done = measure([*PYTEST, *args], folder, env)
    if done.returncode not in (0, 1):
        raise SystemExit(f"pytest {' '.join(args)} exited {done.returncode}:\n{done.tail()}")
    return done


def judged(path: Path) -> dict[tuple[str, str], Any]:
    cases = json.loads(path.read_text())["cases"]
    return {(c["file"], c["case"]): (c["verdict"], c["drift"]) for c in cases}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=50)
    parser.add_argument("--cases", type=int, default=10)
    parser.add_argument("--samples", type=int, default=10)
    parser.add_argument("--shards", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temp, LoopbackServer() as server:
        folder = Path(temp)
        write_project(folder, args.files, args.cases, args.samples)
        env = {"OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "sk-bench", "PATH": "/usr/bin"}
        server.set_model("bench", answering(0.9))
        run(folder, env, "--promptcheck-cache=off", "--promptcheck-update-baseline")
        server.set_model("bench", answering(0.4))
        run(folder, env, "--promptcheck-cache=refresh")
        server.reset()
        replay = ("--promptcheck-cache=replay", "--promptcheck-drift=fail")
        whole = run(folder, env, *replay, "--promptcheck-report=whole.json")
        shards = [
            run(
                folder,
                env,
                *replay,
                f"--promptcheck-shard={k}/{args.shards}",
                f"--promptcheck-report=s{k}.json",
            )
            for k in range(1, args.shards + 1)
        ]
        reports = [f"s{k}.json" for k in range(1, args.shards + 1)]
        merged = measure(
            [sys.executable, "-m", "pytest_promptcheck", "merge", *reports, "--report", "m.json"],
            folder,
            env,
        )
        whole_cases = judged(folder / "whole.json")
        same = judged(folder / "m.json") == whole_cases
        regressed = sum(
            d is not None and d["effect"] == "regressed" for _, d in whole_cases.values()
        )
        sizes = {name: (folder / name).stat().st_size / 1e6 for name in ["whole.json", *reports]}
        walls = " + ".join(f"{s.wall_s:.2f}" for s in shards)
        exits = merged.returncode == whole.returncode
        lines = [
            f"{args.files} files x {args.cases} cases x {args.samples} samples, "
            f"{args.shards} shards, replay",
            f"whole run   {whole.wall_s:.2f} s wall, exit {whole.returncode}, "
            f"{regressed} regressed",
            f"shard runs  {walls} s wall (slowest {max(s.wall_s for s in shards):.2f} s)",
            f"merge       {merged.wall_s:.2f} s wall, {merged.peak_rss_mb:.0f} MB peak RSS, "
            f"exit {merged.returncode}",
            f"reports     whole {sizes['whole.json']:.2f} MB, shards together "
            f"{sum(sizes[r] for r in reports):.2f} MB",
            f"merged == whole: verdicts and drift {'equal' if same else 'DIFFER'}, "
            f"exit code {'equal' if exits else 'DIFFERS'}",
        ]
        print("\n".join(lines))
        return 0 if same and exits else 1


if __name__ == "__main__":
    sys.exit(main())
