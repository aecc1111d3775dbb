"""Multi-turn cases at scale: turns of a case in order, cases concurrently, and a cached rerun.

Run: python benchmarks/turns_bench.py [--cases 200] [--turns 3] [--repeat 3]

Against the loopback server at 100 ms latency, concurrency 16 (the default): a live run of N
cases of T turns has the ideal ceil(N/16) x T x 100 ms, since turn k waits for turn k-1. A cached
rerun of the turns suite is compared with a cached run of as many single-call cases.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from measuring import Measurement, measure  # noqa: E402

from tests.loopback import LoopbackServer  # noqa: E402

PYTEST = (sys.executable, "-m", "pytest", "-q", "-p", "no:randomly")
LATENCY_MS = 100


def turns_prompt(cases: int, turns: int) -> str:
    lines = ["model: openai:bench", "messages: [{role: system, content: Be brief.}]", "cases:"]
    talk = ", ".join(
        f'{{user: "turn {k} of {{{{ x }}}}", expect: [{{equals: ok}}]}}' for k in range(turns)
    )
    lines += [f"  - {{id: c{i}, vars: {{x: {i}}}, turns: [{talk}]}}" for i in range(cases)]
    return "\n".join(lines) + "\n"


def plain_prompt(cases: int) -> str:
    lines = ["model: openai:bench", 'messages: [{role: user, content: "{{ x }}"}]', "cases:"]
    lines += [f"  - {{id: c{i}, vars: {{x: {i}}}, expect: [{{equals: ok}}]}}" for i in range(cases)]
    return "\n".join(lines) + "\n"


def folder_with(root: Path, name: str, text: str) -> Path:
    folder = root / name
    folder.mkdir()
    (folder / "pytest.ini").write_text("[pytest]\n")
    (folder / f"{name}.prompt.yaml").write_text(text)
    return folder


def runs(folder: Path, env: dict[str, str], repeat: int, *options: str) -> list[Measurement]:
    done = [measure((*PYTEST, *options), folder, env) for _ in range(repeat)]
    for run in done:
        if run.returncode != 0:
            raise SystemExit(f"run failed in {folder}:\n{run.tail()}")
    return done


def internal(measured: list[Measurement]) -> float:
    return statistics.median(m.internal_s or m.wall_s for m in measured)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=200)
    parser.add_argument("--turns", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with LoopbackServer(latency_ms=LATENCY_MS) as server, tempfile.TemporaryDirectory() as tmp:
        server.set_model("bench", lambda request: "ok")
        env = {**os.environ, "OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "sk-bench"}
        turns = folder_with(Path(tmp), "turns", turns_prompt(args.cases, args.turns))
        plain = folder_with(Path(tmp), "plain", plain_prompt(args.cases))
        live = runs(turns, env, args.repeat, "--promptcheck-cache=off")
        ideal = math.ceil(args.cases / 16) * args.turns * LATENCY_MS / 1000
        print(
            f"{args.cases} cases x {args.turns} turns live, {LATENCY_MS} ms, concurrency 16: "
            f"{internal(live):.2f} s in pytest (median of {args.repeat}), ideal {ideal:.2f} s, "
            f"{internal(live) / ideal:.2f}x; max in flight {server.max_in_flight}"
        )
        runs(turns, env, 1)  # fill the caches
        runs(plain, env, 1)
        server.reset()
        cached_turns = internal(runs(turns, env, args.repeat))
        cached_plain = internal(runs(plain, env, args.repeat))
        extra_ms = (cached_turns - cached_plain) / args.cases * 1000
        print(
            f"cached rerun: turns {cached_turns:.2f} s, {args.cases} single-call cases "
            f"{cached_plain:.2f} s: {extra_ms:+.2f} ms per case; "
            f"requests {len(server.completion_requests)}"
        )


if __name__ == "__main__":
    main()
