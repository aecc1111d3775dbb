"""diskcache stores that never unpickle.

diskcache pickles any value that is not a str, bytes or number, and unpickles what it finds.
A cache directory can come from elsewhere (a CI artifact, a restored cache, a shared disk), and
a pickled value there would run code when read. Everything promptcheck stores is text (JSON),
so a pickled value is refused on reading, as a corrupt value, and never written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import diskcache
from diskcache.core import MODE_PICKLE


class _TextDisk(diskcache.Disk):  # type: ignore[misc]  # diskcache has no type hints
    def store(self, value: Any, *args: Any, **kwargs: Any) -> Any:
        if not isinstance(value, str):
            raise TypeError(f"the cache stores text only, not {type(value).__name__}")
        return super().store(value, *args, **kwargs)

    def fetch(self, mode: int, filename: Any, value: Any, read: bool) -> Any:
        if mode == MODE_PICKLE:
            raise ValueError(
                "a pickled value in the cache directory (never read: it could run code)"
            )
        return super().fetch(mode, filename, value, read)


def open_store(directory: Path) -> Any:
    """A diskcache.Cache in ``directory`` that reads and writes text only, and never evicts.

    diskcache's default evicts the oldest entries past 1 GB, checking the size on every write
    (half the cost of a write: benchmarks/README.md). A response cache is the record a replay
    needs, so nothing is dropped behind the user's back. Growth is bounded by what the runs
    ask for."""
    return diskcache.Cache(str(directory), disk=_TextDisk, cull_limit=0)
