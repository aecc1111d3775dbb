"""cache export|import PATH: move cached responses between machines as JSON files.

``python -m pytest_promptcheck cache export PATH`` writes content-addressed JSON files that
union-merge; ``cache import PATH`` adds them to a cache (DESIGN §11).

Exit status: 0 done; 1 an import met conflicts (``--on-conflict=fail``, the default); 2 bad
usage or a bad import folder, with one line saying which file and why, and nothing imported.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, NoReturn

from pytest_promptcheck.cache_transfer import (
    ImportCounts,
    Limits,
    OnConflict,
    TransferError,
    export_store,
    import_folder,
)
from pytest_promptcheck.ini_lookup import default_cache_dir

PROG = "python -m pytest_promptcheck cache"
SHOWN_CONFLICTS = 10


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        """One line, not argparse's usage block."""
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    cache_dir = Path(args.cache_dir) if args.cache_dir else default_cache_dir(Path.cwd())
    try:
        if args.command == "export":
            return _export(cache_dir, Path(args.path))
        limits = Limits(args.max_files, args.max_file_bytes, args.max_total_bytes)
        return _import(cache_dir, Path(args.path), OnConflict(args.on_conflict), limits)
    except TransferError as exc:
        after = "; nothing was imported" if args.command == "import" else ""
        print(f"{PROG} {args.command}: error: {exc}{after}", file=sys.stderr)
        return 2
    except _store_failures() as exc:
        print(f"{PROG} {args.command}: error: the cache at {cache_dir}: {exc}", file=sys.stderr)
        return 2


def _store_failures() -> tuple[type[BaseException], ...]:
    """What a broken or unwritable cache folder raises (a bad row is skipped, not raised)."""
    import sqlite3

    import diskcache

    return (OSError, sqlite3.Error, diskcache.Timeout)


def _export(cache_dir: Path, destination: Path) -> int:
    responses = cache_dir / "responses"
    if not (responses / "cache.db").is_file():
        raise TransferError(
            f"no response cache in {cache_dir} (run pytest first, or pass --cache-dir)"
        )
    if destination.exists() and not destination.is_dir():
        raise TransferError(f"{destination}: not a folder")
    with _opened(responses) as store:
        counts = export_store(store, destination)
    print(
        f"exported {counts.written + counts.present} entries from {cache_dir} to {destination}: "
        f"{counts.written} new files, {counts.present} already there"
        + (f"; {counts.unreadable} unreadable rows left out" if counts.unreadable else "")
    )
    return 0


def _import(cache_dir: Path, source: Path, on_conflict: OnConflict, limits: Limits) -> int:
    if not source.is_dir():
        raise TransferError(f"{source}: not a folder (give the folder `cache export` wrote)")
    with _opened(cache_dir / "responses") as store:
        counts = import_folder(store, source, on_conflict, limits)
    print(
        f"imported {source} into {cache_dir}: {counts.added} added, {counts.same} same, "
        f"{len(counts.conflicts)} conflicting"
    )
    _report_conflicts(counts, on_conflict)
    return 1 if counts.conflicts and on_conflict is OnConflict.FAIL else 0


def _report_conflicts(counts: ImportCounts, on_conflict: OnConflict) -> None:
    if not counts.conflicts:
        return
    kept = "imported value stored" if on_conflict is OnConflict.OVERWRITE else "cache's value kept"
    for name in counts.conflicts[:SHOWN_CONFLICTS]:
        print(f"  conflict ({kept}): {name}")
    if len(counts.conflicts) > SHOWN_CONFLICTS:
        print(f"  ... and {len(counts.conflicts) - SHOWN_CONFLICTS} more")
    if on_conflict is OnConflict.FAIL:
        print(
            "hint: the same request has another recorded answer; pass --on-conflict=keep to "
            "keep the cache's answers, or --on-conflict=overwrite to take the imported ones"
        )


class _opened:
    """The response store, closed on the way out."""

    def __init__(self, directory: Path) -> None:
        from pytest_promptcheck.stores import open_store  # diskcache, only when needed

        self._store = open_store(directory)

    def __enter__(self) -> Any:
        return self._store

    def __exit__(self, *exc: object) -> None:
        self._store.close()


def _parser() -> _Parser:
    parser = _Parser(
        prog=PROG, description="Move cached responses as content-addressed JSON files."
    )
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    export = commands.add_parser("export", help="write every cached response to PATH")
    _common(export, "folder to write entry files into (created; existing files are kept)")
    imported = commands.add_parser("import", help="add the entries of PATH to the cache")
    _common(imported, "folder an export wrote (untrusted input: checked before storing)")
    imported.add_argument(
        "--on-conflict",
        choices=[c.value for c in OnConflict],
        default=OnConflict.FAIL.value,
        help="an entry whose key the cache holds with another value: fail (keep the cache's, "
        "exit 1), keep (keep the cache's, exit 0), overwrite (store the imported one). "
        "Default: fail.",
    )
    defaults = Limits()
    for name, default, what in (
        ("--max-files", defaults.max_files, "files in the folder"),
        ("--max-file-bytes", defaults.max_file_bytes, "bytes in one file"),
        ("--max-total-bytes", defaults.max_total_bytes, "bytes in all files"),
    ):
        imported.add_argument(
            name, type=_positive, default=default, help=f"refuse more {what}. Default: {default}."
        )
    return parser


def _common(parser: argparse.ArgumentParser, path_help: str) -> None:
    parser.add_argument("path", metavar="PATH", help=path_help)
    parser.add_argument(
        "--cache-dir",
        help="the response cache. Default: promptcheck_cache_dir of the pytest ini file found "
        "from the current folder up (relative to it), else .promptcheck/cache here.",
    )


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a positive whole number")
    return number
