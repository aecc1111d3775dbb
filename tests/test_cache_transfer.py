"""cache export/import (cache_cli.py, cache_transfer.py): deterministic content-addressed files,
union-merge in any order, conflicts said and never silently overwritten."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path
from typing import Any

import pytest

from pytest_promptcheck.cache import CacheMode, ResponseCache
from pytest_promptcheck.cache_cli import main
from pytest_promptcheck.claims_db import ClaimsDb
from pytest_promptcheck.stores import open_store
from tests.test_cache import COMPLETION, key, request

RECORD = [{"step": "sql", "key": "a" * 64, "request": {"model": "m", "messages": []}}]
HTTP_TEXT = (
    '{"body": "{\\"ok\\": \\"é\\"}", "format": 1, "headers": [["content-type", '
    '"application/json"]], "latency_ms": 3.5, "request": {"method": "POST"}, "status": 200}'
)


def filled(directory: Path, *texts: str) -> Path:
    """A cache holding one completion per text, a flow record and a captured response."""
    cache = ResponseCache(directory, CacheMode.USE)
    for text in texts:
        completion = dataclasses.replace(COMPLETION, text=text)
        cache.put(key(request(params={"text": text})), completion)
    cache.put_record("b" * 64, RECORD)
    cache.put_http("c" * 64, HTTP_TEXT)
    cache.close()
    return directory


def contents(directory: Path) -> dict[str, Any]:
    store = open_store(directory / "responses")
    try:
        return {k: store.get(k) for k in store.iterkeys()}
    finally:
        store.close()


def files(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in directory.rglob("*.json")}


def cli(command: str, path: Path, cache: Path, *extra: str) -> int:
    return main([command, str(path), "--cache-dir", str(cache), *extra])


def test_export_writes_one_content_addressed_file_per_entry(tmp_path: Path) -> None:
    cache = filled(tmp_path / "cache", "billing", "tech")
    assert cli("export", tmp_path / "out", cache) == 0
    written = files(tmp_path / "out")
    assert len(written) == 4
    for name, data in written.items():
        digest = hashlib.sha256(data).hexdigest()
        assert name == f"{digest[:2]}/{digest}.json"
    kinds = sorted(data.split(b'"kind":"')[1].split(b'"')[0] for data in written.values())
    assert kinds == [b"completion", b"completion", b"flow-record", b"http"]


def test_export_is_the_same_bytes_every_time(tmp_path: Path) -> None:
    filled(tmp_path / "one", "billing", "tech")
    filled(tmp_path / "two", "tech", "billing")  # written in another order
    cli("export", tmp_path / "a", tmp_path / "one")
    cli("export", tmp_path / "b", tmp_path / "two")
    assert files(tmp_path / "a") == files(tmp_path / "b")


def test_export_leaves_claims_out(tmp_path: Path) -> None:
    """An export after a claim is the export before it: no file, no byte of the claim."""
    cache = filled(tmp_path / "cache", "billing")
    cli("export", tmp_path / "before", cache)
    claims = ClaimsDb(cache / "in-flight")
    assert claims.claim(["d" * 64], '{"pid": 1}', 60, lambda holder: True) == {"d" * 64: True}
    claims.close()
    cli("export", tmp_path / "out", cache)
    exported = files(tmp_path / "out")
    assert exported == files(tmp_path / "before")
    assert b"d" * 64 not in b"".join(exported.values())


def test_two_exports_imported_in_either_order_give_the_same_cache(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cli("export", tmp_path / "a", filled(tmp_path / "ca", "billing", "tech"))
    cli("export", tmp_path / "b", filled(tmp_path / "cb", "tech", "other"))
    assert cli("import", tmp_path / "a", tmp_path / "ab") == 0
    assert cli("import", tmp_path / "b", tmp_path / "ab") == 0
    assert cli("import", tmp_path / "b", tmp_path / "ba") == 0
    assert cli("import", tmp_path / "a", tmp_path / "ba") == 0
    merged = contents(tmp_path / "ab")
    assert merged == contents(tmp_path / "ba")
    assert len(merged) == 5  # billing, tech, other, the record and the response
    assert merged.items() >= contents(tmp_path / "ca").items()
    assert "1 added, 3 same, 0 conflicting" in capsys.readouterr().out.splitlines()[-1]


def test_an_import_reads_back_what_the_cache_wrote(tmp_path: Path) -> None:
    source = filled(tmp_path / "cache", "billing")
    cli("export", tmp_path / "out", source)
    cli("import", tmp_path / "out", tmp_path / "copy")
    assert contents(tmp_path / "copy") == contents(source)
    cache = ResponseCache(tmp_path / "copy", CacheMode.REPLAY)
    completion = cache.get(key(request(params={"text": "billing"})))
    assert completion == dataclasses.replace(COMPLETION, text="billing", cached=True)
    cache.close()


def test_an_export_killed_mid_write_still_imports(tmp_path: Path) -> None:
    """What a kill -9 between writing and renaming leaves is not an entry, and not in the way."""
    source = filled(tmp_path / "cache", "billing")
    cli("export", tmp_path / "out", source)
    shard = next(path for path in (tmp_path / "out").iterdir() if path.is_dir())
    entry = next(shard.iterdir())
    (shard / f".{entry.name}.4242.partial").write_bytes(entry.read_bytes()[:10])
    assert cli("import", tmp_path / "out", tmp_path / "copy") == 0
    assert contents(tmp_path / "copy") == contents(source)


def conflicting(tmp_path: Path) -> tuple[Path, Path, str]:
    """An export and a cache holding another answer to one of its requests."""
    cli("export", tmp_path / "out", filled(tmp_path / "theirs", "billing"))
    ours = ResponseCache(tmp_path / "ours", CacheMode.USE)
    same_request = key(request(params={"text": "billing"}))
    ours.put(same_request, dataclasses.replace(COMPLETION, text="something else"))
    ours.close()
    return tmp_path / "out", tmp_path / "ours", same_request


def test_a_conflict_keeps_the_cache_value_and_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export, ours, same_request = conflicting(tmp_path)
    before = contents(ours)[same_request]
    assert cli("import", export, ours) == 1
    out = capsys.readouterr().out
    assert "2 added, 0 same, 1 conflicting" in out
    assert "conflict (cache's value kept): " in out
    assert "--on-conflict=overwrite" in out
    assert contents(ours)[same_request] == before


def test_on_conflict_keep_and_overwrite(tmp_path: Path) -> None:
    export, ours, same_request = conflicting(tmp_path)
    before = contents(ours)[same_request]
    assert cli("import", export, ours, "--on-conflict=keep") == 0
    assert contents(ours)[same_request] == before
    assert cli("import", export, ours, "--on-conflict=overwrite") == 0
    assert contents(ours)[same_request] == contents(tmp_path / "theirs")[same_request]


def test_the_same_value_written_differently_is_no_conflict(tmp_path: Path) -> None:
    cli("export", tmp_path / "out", filled(tmp_path / "theirs", "billing"))
    ours = filled(tmp_path / "ours", "billing")
    store = open_store(ours / "responses")
    store.set("http/" + "c" * 64, HTTP_TEXT.replace(", ", ",  "))  # other spacing, same JSON
    store.close()
    assert cli("import", tmp_path / "out", ours) == 0
