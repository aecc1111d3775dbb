"""Read a prompt or case file's text: UTF-8, with or without a byte-order mark."""

from __future__ import annotations

from pathlib import Path

from pytest_promptcheck.bounds import file_too_large
from pytest_promptcheck.errors import SpecError


def read_text(path: Path) -> str:
    """The file's text, without a UTF-8 byte-order mark (editors and spreadsheet programs write
    one; YAML and CSV readers skip it, JSON's does not), whatever the format."""
    too_large = file_too_large(path)
    if too_large is not None:  # refused before it is read whole
        raise SpecError(path, too_large, hint="split it into several smaller files")
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise SpecError(
            path, "file not found", hint="check the path; paths are relative to the prompt file"
        ) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _not_utf8(path, data, exc) from None


def _not_utf8(path: Path, data: bytes, exc: UnicodeDecodeError) -> SpecError:
    """Where the first bad byte is, as a line and a column (in characters) an editor can go to."""
    line_start = data.rfind(b"\n", 0, exc.start) + 1
    column = len(data[line_start : exc.start].decode("utf-8", "replace")) + 1
    binary = b"\0" in data[:8192]
    return SpecError(
        path,
        f"not UTF-8 text ({exc.reason} at column {column})",
        line=data.count(b"\n", 0, exc.start) + 1,
        hint="this looks like a binary file; prompt and case files are text"
        if binary
        else "save the file as UTF-8 (most editors have an 'encoding' menu)",
    )
