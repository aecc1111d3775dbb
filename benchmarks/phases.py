"""Where a 10,000-case live run spends its time, phase by phase, beside pytest's own floor.

Run: python benchmarks/phases.py [--cases N] [--repeat R]

Two projects in a temporary folder, each run R times with benchmarks/phase_marks.py:
- ours: one prompt file with N inline cases, every call live (--promptcheck-cache=refresh,
  concurrency 50) against benchmarks/fast_server.py;
- floor: N trivial items of a plugin's own (pytest.Item subclasses, no fixtures, no checks),
  with the plugin off: what pytest's run protocol costs for N items.
Each line gives the seconds since the process started at which the run reached a phase (and
the process's own CPU seconds by then), and the wall time to the process's end. The children
keep the caller's PYTHONPATH, so ``PYTHONPATH=<checkout> python benchmarks/phases.py`` measures
that checkout's package (the "before" of a change).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fast_server import FastServer
from run import write_prompt, write_workdir

FLOOR_CONFTEST = """
import pytest


class Trivial(pytest.Item):
    def runtest(self):
        pass

    def reportinfo(self):
        return self.path, 0, self.name


class Trivials(pytest.File):
    def collect(self):
        for i in range(int(self.path.read_text())):
            yield Trivial.from_parent(self, name=f"c{i}")


def pytest_collect_file(parent, file_path):
    if file_path.suffix == ".trivial":
        return Trivials.from_parent(parent, path=file_path)
"""


def run(folder: Path, args: list[str], env: dict[str, str]) -> str:
    started = time.time()
    child_env = {
        **env,
        "PYTHONPATH": os.pathsep.join(
            [str(Path(__file__).resolve().parent), *filter(None, [env.get("PYTHONPATH")])]
        ),
        "PHASE_START": repr(started),
    }
    command = [sys.executable, "-m", "pytest", "-p", "phase_marks", "-p", "no:cacheprovider", *args]
    done = subprocess.run(command, cwd=folder, env=child_env, capture_output=True, text=True)
    wall = time.time() - started
    phases = [line for line in done.stderr.splitlines() if line.startswith("phases: ")]
    outcome = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else "no output"
    return f"{phases[-1] if phases else 'phases: none'} | wall {wall:.2f}  ({outcome.strip('= ')})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args()
    # as run.py: no bytecode-less runs (this sandbox sets PYTHONDONTWRITEBYTECODE)
    dropped = ("OPENAI_", "PYTEST_", "PYTHONDONTWRITEBYTECODE")
    env = {k: v for k, v in os.environ.items() if not k.startswith(dropped)}
    with tempfile.TemporaryDirectory() as temp, FastServer() as server:
        ours = write_workdir(Path(temp) / "ours")
        write_prompt(ours / "live.prompt.yaml", options.cases)
        floor = write_workdir(Path(temp) / "floor")
        (floor / "conftest.py").write_text(FLOOR_CONFTEST)
        (floor / "items.trivial").write_text(str(options.cases))
        live_env = {**env, "OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "sk-bench"}
        live = ["--promptcheck-cache=refresh", "--promptcheck-concurrency=50"]
        for _ in range(options.repeat):
            print("ours: ", run(ours, live, live_env), flush=True)
            print("floor:", run(floor, ["-p", "no:promptcheck"], env), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
