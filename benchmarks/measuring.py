"""Run one command and measure it: wall time, pytest's own duration, the child's peak RSS.

Shared by run.py and http_bench.py.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

COMMAND_TIMEOUT_S = 600.0
INTERNAL_TIME = re.compile(r"\bin ([0-9]+(?:\.[0-9]+)?)s\b")


@dataclass(frozen=True)
class Measurement:
    """One run of one command: wall time, pytest's own "in X.XXs", the child's peak RSS."""

    wall_s: float
    internal_s: float | None
    peak_rss_mb: float
    returncode: int
    output: str

    def tail(self, lines: int = 12) -> str:
        return "\n".join(self.output.rstrip().splitlines()[-lines:])


def measure(command: Sequence[str], cwd: Path, env: dict[str, str]) -> Measurement:
    """Run `command`; the rusage comes from wait4 on this child alone, never on the server."""
    with tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as output:
        started = time.perf_counter()
        child = subprocess.Popen(list(command), cwd=cwd, env=env, stdout=output, stderr=output)
        watchdog = threading.Timer(COMMAND_TIMEOUT_S, child.kill)
        watchdog.start()
        try:
            _, status, usage = os.wait4(child.pid, 0)
        finally:
            watchdog.cancel()
        wall = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        output.seek(0)
        text = output.read()
    return Measurement(wall, internal_seconds(text), usage.ru_maxrss / 1024, child.returncode, text)


def internal_seconds(output: str) -> float | None:
    """The duration pytest prints on its last line ("... passed in 1.23s ..."), if any."""
    lines = [line for line in output.splitlines() if line.strip()]
    found = INTERNAL_TIME.search(lines[-1]) if lines else None
    return float(found.group(1)) if found else None
