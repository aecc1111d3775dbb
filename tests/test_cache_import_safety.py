"""An import folder is untrusted input (a CI artifact): each bad file is one error line naming
it, nothing of the folder is stored, symlinks are never followed, and sizes are bounded."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pytest_promptcheck.cache_cli import main
from tests.test_cache_transfer import cli, contents, filled

GOOD_VALUE = {"text": "billing", "model_reported": "m", "tokens_in": 1, "tokens_out": 2}


def entry(folder: Path, data: bytes | dict[str, Any]) -> str:
    """Write an entry file under the name its bytes give it; returns that name."""
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    digest = hashlib.sha256(raw).hexdigest()
    path = folder / digest[:2] / f"{digest}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(raw)
    return f"{digest[:2]}/{digest}.json"


def document(kind: str = "completion", key: str = "e" * 64, value: Any = None) -> dict[str, Any]:
    return {"format": 1, "kind": kind, "key": key, "value": GOOD_VALUE if value is None else value}


def http_value(**fields: Any) -> dict[str, Any]:
    value = {"format": 1, "status": 200, "headers": [], "latency_ms": 1, "request": {}, "body": ""}
    return {**value, **fields}


def refused(folder: Path, cache: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> str:
    """The one error line of an import that must store nothing."""
    before = contents(cache) if (cache / "responses").exists() else {}
    assert cli("import", folder, cache, *extra) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert err.endswith("nothing was imported")
    assert (contents(cache) if (cache / "responses").exists() else {}) == before
    return err


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"{not json", "not JSON"),
        (b"\xff\xfe", "not UTF-8"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (document(kind="pickle"), "unknown kind 'pickle'"),
        (document(key="../../etc/passwd"), "is not a sha256 hex digest"),
        ({**document(), "format": 2}, "export format 2"),
        (document(value={**GOOD_VALUE, "text": 5}), "field 'text' has the wrong type"),
        (document(value={**GOOD_VALUE, "__class__": "x"}), "unknown field '__class__'"),
        (document(value={"text": "x"}), "missing field 'model_reported'"),
        (document(value={**GOOD_VALUE, "tokens_in": True}), "is a boolean"),
        (
            b'{"format":1,"kind":"completion","key":"' + b"e" * 64 + b'","value":'
            b'{"text":"x","model_reported":"m","latency_ms":NaN}}',
            "NaN is not a JSON number",
        ),
        (
            b'{"format":1,"kind":"completion","key":"' + b"e" * 64 + b'","value":'
            b'{"text":"x","model_reported":"m","latency_ms":1e999}}',
            "1e999 is not a JSON number",
        ),
        (
            document(kind="flow-record", value=[{"step": "s", "key": "x", "request": {}}]),
            "its key is not a sha256",
        ),
        (
            document(
                kind="http",
                value={
                    "format": 1,
                    "status": 500,
                    "headers": [],
                    "latency_ms": 1,
                    "request": {},
                    "body": "",
                },
            ),
            "only 2xx",
        ),
        (
            document(
                kind="http",
                value={
                    "format": 1,
                    "status": 200,
                    "headers": [],
                    "latency_ms": 1,
                    "request": {},
                    "body_base64": "!!",
                },
            ),
            "not base64",
        ),
        (document(kind="http", value=http_value(latency_ms=10**400)), "OverflowError"),
        (document(kind="http", value=http_value(body="\ud800")), "UnicodeEncodeError"),
        (document(kind="http", value=http_value(headers=[["x", "\ud800"]])), "lone surrogate"),
    ],
)
def test_a_malformed_entry_is_one_error_naming_its_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], data: Any, expected: str
) -> None:
    folder = tmp_path / "in"
    entry(folder, document(key="f" * 64))  # a good entry beside it is not imported either
    name = entry(folder, data)
    err = refused(folder, tmp_path / "cache", capsys)
    assert f"{name}: " in err
    assert expected in err


def test_content_that_does_not_match_its_name_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name = entry(tmp_path / "in", document())
    (tmp_path / "in" / name).write_bytes(json.dumps(document(key="d" * 64)).encode())
    assert "does not match its name" in refused(tmp_path / "in", tmp_path / "cache", capsys)


def test_symlinks_are_never_followed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    outside = tmp_path / "outside"
    name = entry(outside, document())
    linked_file = tmp_path / "files"
    (linked_file / name[:2]).mkdir(parents=True)
    (linked_file / name).symlink_to(outside / name)
    assert f"{name}: a symlink" in refused(linked_file, tmp_path / "cache", capsys)
    linked_folder = tmp_path / "folders"
    linked_folder.mkdir()
    (linked_folder / name[:2]).symlink_to(outside / name[:2])
    assert f"{name[:2]}: a symlink" in refused(linked_folder, tmp_path / "cache", capsys)


def test_anything_an_export_does_not_write_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "in"
    name = entry(folder, document())
    (folder / "README.txt").write_text("hello")
    assert "README.txt: not part of an export" in refused(folder, tmp_path / "cache", capsys)
    (folder / "README.txt").unlink()
    os.mkfifo(folder / name[:2] / ("0" * 64 + ".json"))  # reading it would block
    assert "not part of an export" in refused(folder, tmp_path / "cache", capsys)


def test_sizes_and_counts_are_bounded(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "in"
    names = [entry(folder, document()), entry(folder, document(key="f" * 64))]
    err = refused(folder, tmp_path / "cache", capsys, "--max-file-bytes", "50")
    assert "larger than 50 bytes (--max-file-bytes)" in err
    assert min(names) in err
    assert "more than 1 files (--max-files)" in refused(
        folder, tmp_path / "cache", capsys, "--max-files", "1"
    )
    assert "(--max-total-bytes)" in refused(
        folder, tmp_path / "cache", capsys, "--max-total-bytes", "200"
    )


def test_not_a_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert "not a folder" in refused(tmp_path / "missing", tmp_path / "cache", capsys)


def test_an_existing_cache_is_left_as_it_was(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cache = filled(tmp_path / "cache", "billing")
    entry(tmp_path / "in", document(key="f" * 64))
    entry(tmp_path / "in", b"{broken")
    refused(tmp_path / "in", cache, capsys)


def test_bad_usage_is_one_line_and_status_2(tmp_path: Path) -> None:
    for args in (
        ["cache"],
        ["cache", "import"],
        ["cache", "move", "x"],
        ["nope"],
        ["cache", "import", "x", "--max-files", "0"],
    ):
        done = subprocess.run(
            [sys.executable, "-m", "pytest_promptcheck", *args],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            check=False,
        )
        assert done.returncode == 2, (args, done.stderr)
        assert len(done.stderr.strip().splitlines()) == 1, (args, done.stderr)
        assert "Traceback" not in done.stderr


def test_export_without_a_cache_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", str(tmp_path / "out"), "--cache-dir", str(tmp_path / "none")]) == 2
    assert "no response cache in" in capsys.readouterr().err
    assert not (tmp_path / "none").exists()


def test_an_unwritable_export_folder_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cache = filled(tmp_path / "cache", "billing")
    (tmp_path / "out").write_text("a file, not a folder")
    assert cli("export", tmp_path / "out", cache) == 2
    assert capsys.readouterr().err.strip().endswith("out: not a folder")
    blocked = tmp_path / "blocked"  # every shard folder's name taken by a file
    blocked.mkdir()
    for prefix in range(256):
        (blocked / f"{prefix:02x}").write_text("")
    assert cli("export", blocked, cache) == 2
    err = capsys.readouterr().err
    assert "cannot be written (File exists)" in err
    assert len(err.strip().splitlines()) == 1
