"""A cache directory on a read-only mount (a CI cache restored read-only) is still read."""

from __future__ import annotations

import dataclasses
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_promptcheck.cache import CacheMode, ResponseCache
from pytest_promptcheck.records import Completion

COMPLETION = Completion(text="billing", model_reported="m", tokens_in=3, tokens_out=1)


@pytest.fixture
def read_only_copy(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """(writable dir, the same dir bind-mounted read-only); skipped where mounting is not
    allowed (it needs root, as CI runs here)."""
    source, mount = tmp_path / "cache", tmp_path / "mounted"
    source.mkdir()
    mount.mkdir()
    if subprocess.run(["mount", "--bind", str(source), str(mount)], check=False).returncode:
        pytest.skip("cannot bind-mount here")
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(mount)], check=True)
        yield source, mount
    finally:
        # lazy: a connection that a failed open left for the garbage collector may hold a file
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_read_only_cache_is_read_and_not_written(read_only_copy: tuple[Path, Path]) -> None:
    source, mount = read_only_copy
    writer = ResponseCache(source, CacheMode.USE)
    writer.put("recorded", COMPLETION)
    writer.put("long", dataclasses.replace(COMPLETION, text="x" * 100_000))  # kept in a file
    writer.close()
    for mode in (CacheMode.REPLAY, CacheMode.USE):
        cache = ResponseCache(mount, mode)
        assert cache.get("recorded") == dataclasses.replace(COMPLETION, cached=True)
        assert cache.holds("long") and not cache.holds("missing")
        got = cache.get("long")
        assert got is not None and len(got.text) == 100_000
        cache.put("new", COMPLETION)  # nowhere to write: dropped, with the note
        assert cache.get("new") is None
        note = cache.health.note() or ""
        assert note.startswith("promptcheck: cache disabled for this run: ")
        assert note.endswith("(writes only: recorded answers are still read)")
        cache.close()
