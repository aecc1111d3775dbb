"""Export the response cache to a folder of entry files, and import such a folder into it.

An import folder is untrusted (a CI artifact, a shared disk): it is read whole and checked
before anything is stored, so a bad file leaves the cache as it was. Only regular files laid out
as an export lays them out are read (``ab/<sha256>.json``, the name matching the bytes); a symlink
is refused rather than followed, and file sizes, the number of files and their total are bounded.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from pytest_promptcheck.cache import cache_failures
from pytest_promptcheck.cache_entries import (
    Entry,
    InvalidEntry,
    from_file,
    from_store,
    same_value,
)

BATCH = 500
"""Entries written per store transaction: one commit each would cost a disk sync per entry."""


class TransferError(Exception):
    """The one line the command prints before it exits with status 2."""


class OnConflict(StrEnum):
    FAIL = "fail"
    """Keep the cache's value, list the conflicts, exit 1 (default)."""
    KEEP = "keep"
    """Keep the cache's value, list the conflicts, exit 0."""
    OVERWRITE = "overwrite"
    """Store the imported value, list the conflicts, exit 0."""


@dataclass(frozen=True)
class Limits:
    max_files: int = 1_000_000
    max_file_bytes: int = 64 * 1024**2
    max_total_bytes: int = 2 * 1024**3


@dataclass
class ExportCounts:
    written: int = 0
    present: int = 0
    """Entries whose file the folder already held (the same bytes: the same entry)."""
    unreadable: int = 0
    """Rows of the store that are not cache entries (corrupt, or of another kind): left out."""


@dataclass
class ImportCounts:
    added: int = 0
    same: int = 0
    conflicts: list[str] = field(default_factory=list)
    """The files whose value differs from the cache's for the same key."""


def export_store(store: Any, destination: Path) -> ExportCounts:
    counts = ExportCounts()
    for store_key in store.iterkeys():
        entry = _entry_of(store, store_key)
        if entry is None:
            counts.unreadable += 1
        elif _write_new(destination / entry.file_name(), entry.file_bytes()):
            counts.written += 1
        else:
            counts.present += 1
    return counts


def _entry_of(store: Any, store_key: object) -> Entry | None:
    if not isinstance(store_key, str):
        return None
    try:
        return from_store(store_key, store.get(store_key))
    except cache_failures():  # InvalidEntry is a ValueError; a pickled row raises one too
        return None


_PARTIAL = ".partial"
"""The ending of a file an export is writing (renamed to its real name once whole)."""


def _write_new(path: Path, data: bytes) -> bool:
    """Write a content-addressed file unless it is there intact; a crash never leaves a half
    file under its real name."""
    if path.is_file() and not path.is_symlink() and path.read_bytes() == data:
        return False
    partial = path.with_name(f".{path.name}.{os.getpid()}{_PARTIAL}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial.write_bytes(data)
        partial.replace(path)
    except OSError as exc:
        with contextlib.suppress(OSError):  # a folder that cannot be written may hold none
            partial.unlink(missing_ok=True)
        raise TransferError(f"{path}: cannot be written ({exc.strerror})") from None
    return True


def import_folder(
    store: Any, source: Path, on_conflict: OnConflict, limits: Limits
) -> ImportCounts:
    entries = list(_read_folder(source, limits))  # all checked before anything is stored
    counts = ImportCounts()
    for start in range(0, len(entries), BATCH):
        with store.transact():
            for name, store_key, text in entries[start : start + BATCH]:
                _merge(store, name, store_key, text, on_conflict, counts)
    return counts


def _merge(
    store: Any, name: str, key: str, text: str, on_conflict: OnConflict, counts: ImportCounts
) -> None:
    try:
        existing = store.get(key)
    except cache_failures():
        existing = ""  # unreadable in the cache: a conflict, which --on-conflict decides
    if existing is None:
        store.set(key, text)
        counts.added += 1
    elif isinstance(existing, str) and _same(existing, text):
        counts.same += 1
    else:
        counts.conflicts.append(name)
        if on_conflict is OnConflict.OVERWRITE:
            store.set(key, text)


def _same(existing: str, text: str) -> bool:
    try:
        return same_value(existing, text)
    except (ValueError, RecursionError):
        return False  # the cache's own value is corrupt


def _read_folder(source: Path, limits: Limits) -> Iterator[tuple[str, str, str]]:
    """(file name, store key, store text) of each entry file, in a stable order."""
    total = 0
    for path in _entry_files(source, limits.max_files):
        name = str(path.relative_to(source))
        data = _read_bounded(path, name, limits.max_file_bytes)
        total += len(data)
        if total > limits.max_total_bytes:
            raise TransferError(
                f"{source}: more than {limits.max_total_bytes} bytes in all (--max-total-bytes)"
            )
        if hashlib.sha256(data).hexdigest() != path.stem:
            raise TransferError(f"{name}: its content does not match its name (changed or corrupt)")
        try:
            entry = from_file(data)
            text = entry.store_text()
            text.encode("utf-8")  # a lone surrogate would fail in the store, mid-import
        except InvalidEntry as exc:
            raise TransferError(f"{name}: {exc}") from None
        except UnicodeEncodeError:
            raise TransferError(f"{name}: text that is not UTF-8 (a lone surrogate)") from None
        yield name, entry.store_key, text


def _entry_files(source: Path, max_files: int) -> Iterator[Path]:
    """The entry files, refusing anything an export does not write there."""
    if source.is_symlink() or not source.is_dir():
        raise TransferError(f"{source}: not a folder (give the folder `cache export` wrote)")
    seen = 0
    for shard in _listing(source, source, max_files):
        _expect(shard, source, directory=True)
        files = _listing(shard, source, max_files - seen)
        seen += len(files)
        for path in files:
            if path.name.startswith(".") and path.name.endswith(_PARTIAL):
                continue  # an export killed mid-write: not under an entry's name, so not one
            _expect(path, source, directory=False)
            if not (path.suffix == ".json" and path.stem.startswith(shard.name)):
                raise TransferError(f"{_rel(path, source)}: not an entry file ({_LAYOUT})")
            yield path


def _listing(folder: Path, source: Path, limit: int) -> list[Path]:
    """A folder's entries, sorted; counting stops past ``limit`` (a folder of millions)."""
    found: list[Path] = []
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                if len(found) == limit:
                    raise TransferError(f"{source}: more than {limit} files (--max-files)")
                found.append(Path(entry.path))
    except OSError as exc:
        raise TransferError(f"{_rel(folder, source)}: cannot be listed ({exc.strerror})") from None
    return sorted(found)


def _expect(path: Path, source: Path, *, directory: bool) -> None:
    try:
        mode = path.lstat().st_mode
    except OSError as exc:
        raise TransferError(f"{_rel(path, source)}: cannot be read ({exc.strerror})") from None
    if stat.S_ISLNK(mode):
        raise TransferError(f"{_rel(path, source)}: a symlink (never followed in an import)")
    kind_ok = stat.S_ISDIR(mode) if directory else stat.S_ISREG(mode)
    name_ok = len(path.name) == 2 if directory else len(path.stem) == 64
    if not (kind_ok and name_ok):
        raise TransferError(f"{_rel(path, source)}: not part of an export ({_LAYOUT})")


def _read_bounded(path: Path, name: str, limit: int) -> bytes:
    # no symlink, and no blocking on a FIFO swapped in since the listing
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        with os.fdopen(os.open(path, flags), "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise TransferError(f"{name}: not a regular file")
            data = handle.read(limit + 1)
    except OSError as exc:
        raise TransferError(f"{name}: cannot be read ({exc.strerror})") from None
    if len(data) > limit:
        raise TransferError(f"{name}: larger than {limit} bytes (--max-file-bytes)")
    return data


def _rel(path: Path, source: Path) -> str:
    with contextlib.suppress(ValueError):
        return str(path.relative_to(source))
    return str(path)


_LAYOUT = "an export holds only ab/<sha256>.json files"
