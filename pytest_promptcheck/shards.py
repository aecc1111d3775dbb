"""Shards (``--promptcheck-shard=K/N``): which files a shard runs.

A file belongs to one shard, chosen by a stable hash of its path relative to the rootdir
(sha256 of the POSIX form: the same on every machine, OS and Python process, unlike ``hash``).
Whole files go together, so a prompt file runs with all its models and its baseline file has
exactly one owner.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path, PurePath

from pytest_promptcheck.errors import UsageError

_SHARD = re.compile(r"\s*(\d+)\s*/\s*(\d+)\s*")


@dataclass(frozen=True)
class Shard:
    index: int
    """1-based: shard 1 of 3 is the first."""
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def owns(self, path: Path, rootdir: Path) -> bool:
        return shard_of(relative_posix(path, rootdir), self.count) == self.index


def parse_shard(value: str, source: str) -> Shard:
    """``K/N`` with 1 <= K <= N; the error says where the value came from."""
    found = _SHARD.fullmatch(value)
    index, count = (int(found[1]), int(found[2])) if found else (0, 0)
    if not found or count < 1 or not 1 <= index <= count:
        raise UsageError(
            f"{source}: '{value}' is not a shard; use K/N with 1 <= K <= N, "
            "e.g. 1/3 for the first of three shards"
        )
    return Shard(index, count)


def relative_posix(path: Path, rootdir: Path) -> str:
    """The path relative to the rootdir, with POSIX separators (absolute when outside it)."""
    try:
        return PurePath(path).relative_to(rootdir).as_posix()
    except ValueError:
        return PurePath(path).as_posix()


def shard_of(relative: str, count: int) -> int:
    """The 1-based shard that runs the file at this rootdir-relative POSIX path."""
    digest = hashlib.sha256(relative.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count + 1
