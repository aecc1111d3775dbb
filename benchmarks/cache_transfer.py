"""What `python -m pytest_promptcheck cache export|import` costs for a large cache.

    python benchmarks/cache_transfer.py [--entries 10000]

Fills a cache with completions the size of a short JSON answer, then times the export, an
import into an empty cache, and the same import again (every entry already there: all "same"),
each through the command's own main(). Prints seconds and the export's size on disk.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pytest_promptcheck.cache_cli import main
from pytest_promptcheck.cache_entries import Kind, checked
from pytest_promptcheck.canonical import sha256_of
from pytest_promptcheck.stores import open_store


def fill(cache_dir: Path, entries: int) -> None:
    store = open_store(cache_dir / "responses")
    with store.transact():
        for index in range(entries):
            value = {
                "text": f'{{"queue": "billing", "urgent": false, "n": {index}}}',
                "model_reported": "gpt-x-2025-01-01",
                "tokens_in": 120,
                "tokens_out": 14,
                "latency_ms": 412.5,
                "cost_usd": 0.00042,
                "system_fingerprint": "fp_1",
                "finish_reason": "stop",
            }
            entry = checked(Kind.COMPLETION, sha256_of({"bench": index}), value)
            store.set(entry.store_key, entry.store_text())
    store.close()


def timed(*argv: str) -> float:
    started = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        code = main(list(argv))
    assert code == 0, argv
    return time.perf_counter() - started


def run(entries: int) -> None:
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        fill(root / "cache", entries)
        exported = timed("export", str(root / "out"), "--cache-dir", str(root / "cache"))
        size = sum(p.stat().st_size for p in (root / "out").rglob("*.json"))
        first = timed("import", str(root / "out"), "--cache-dir", str(root / "copy"))
        again = timed("import", str(root / "out"), "--cache-dir", str(root / "copy"))
    print(f"{entries} completions: export {exported:.2f} s ({size / 1e6:.1f} MB of files)")
    print(f"import into an empty cache {first:.2f} s, again (all same) {again:.2f} s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=10_000)
    run(parser.parse_args().entries)
