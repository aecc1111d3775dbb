"""Expand a prompt file's ``cases:`` list: inline cases and cases from .jsonl, .csv, .yaml files."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_promptcheck.bounds import json_hint, loads_json
from pytest_promptcheck.documents import (
    Document,
    LineMaps,
    PathKey,
    load_document,
    read_text,
    refuse_large,
)
from pytest_promptcheck.errors import SpecError

CASE_FILE_TYPES = ".jsonl, .csv, .yaml, .yml, .json"
_JSONL_HINT = 'each line is one case: {"id": ..., "vars": {...}, "expect": [...]}'


@dataclass(frozen=True)
class RawCase:
    """One case as written, with the document (and key inside it) it came from."""

    data: dict[str, Any]
    doc: Document
    key: PathKey
    prompt_dir: Path


def expand_cases(doc: Document) -> Iterator[RawCase]:
    for index, entry in enumerate(doc.data.get("cases", [])):
        if "file" in entry:
            _check_file_entry(doc, entry, ("cases", index))
            yield from _from_file(doc, entry["file"], ("cases", index))
        else:
            yield RawCase(entry, doc, ("cases", index), doc.path.parent)


def _check_file_entry(doc: Document, entry: dict[str, Any], key: PathKey) -> None:
    if not isinstance(entry["file"], str) or len(entry) != 1:
        raise SpecError(
            doc.path,
            "a case file entry is just 'file: <path>' (a string, no other fields)",
            line=doc.line_of(key),
            hint=f"write '- file: cases/more.jsonl'; supported: {CASE_FILE_TYPES}",
        )


def _from_file(doc: Document, name: str, key: PathKey) -> Iterator[RawCase]:
    path = doc.path.parent / name
    if not path.is_file():
        raise SpecError(
            doc.path,
            f"case file not found: {name} (looked in {path})",
            line=doc.line_of((*key, "file")),
            hint="paths in a prompt file are relative to the prompt file",
        )
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        case_doc = _jsonl(path)
    elif suffix == ".csv":
        case_doc = _csv(path)
    elif suffix in (".yaml", ".yml", ".json"):
        case_doc = _listing(path)
    else:
        raise SpecError(
            doc.path,
            f"unsupported case file type '{suffix}' ({name})",
            line=doc.line_of((*key, "file")),
            hint=f"use one of {CASE_FILE_TYPES}",
        )
    for index, item in enumerate(case_doc.data):
        yield RawCase(item, case_doc, (index,), doc.path.parent)


def _jsonl(path: Path) -> Document:
    items: list[Any] = []
    lines: dict[PathKey, int] = {}
    refuse_large(path)
    for number, line in enumerate(read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = loads_json(line)
        except json.JSONDecodeError as exc:
            raise SpecError(
                path,
                f"invalid JSON: {exc.msg} (column {exc.colno})",
                line=number,
                hint=json_hint(exc, _JSONL_HINT),
            ) from None
        _require_mapping(path, item, number)
        lines[(len(items),)] = number
        items.append(item)
    return Document(path, items, lines)


def _csv(path: Path) -> Document:
    refuse_large(path)
    # utf-8-sig: spreadsheet programs start "CSV UTF-8" files with a byte-order mark
    reader = csv.DictReader(io.StringIO(read_text(path, "utf-8-sig"), newline=""))
    if not reader.fieldnames:
        raise SpecError(
            path,
            "the CSV file has no header row",
            line=1,
            hint="the first row names the vars; optional columns __id and __expected",
        )
    items: list[Any] = []
    lines: dict[PathKey, int] = {}
    for row in reader:
        if None in row:
            raise SpecError(
                path,
                "row has more fields than the header",
                line=reader.line_num,
                hint="quote values that contain commas",
            )
        lines[(len(items),)] = reader.line_num
        items.append(_csv_case(row))
    return Document(path, items, lines)


def _csv_case(row: dict[str, str]) -> dict[str, Any]:
    case: dict[str, Any] = {}
    case_id = row.pop("__id", "")
    expected = row.pop("__expected", "")
    if case_id:
        case["id"] = case_id
    if expected:
        case["expect"] = [{"equals": expected}]
    case["vars"] = row
    return case


def _listing(path: Path) -> Document:
    doc = load_document(path)
    if isinstance(doc.data, dict) and isinstance(doc.data.get("cases"), list):
        doc = Document(path, doc.data["cases"], text=doc.text, line_maps=_inside_cases(doc))
    if not isinstance(doc.data, list):
        raise SpecError(
            path,
            "a case file must hold a list of cases",
            line=1,
            hint="write '- id: ...' items (or a 'cases:' list)",
        )
    for index, item in enumerate(doc.data):
        if not isinstance(item, dict):
            _require_mapping(path, item, doc.line_of((index,)))
    return doc


def _inside_cases(doc: Document) -> Callable[[], LineMaps]:
    """Line maps of a ``cases:`` list, keyed from the list itself."""

    def maps() -> LineMaps:
        lines, content = (
            {k[1:]: v for k, v in m.items() if k[:1] == ("cases",)}
            for m in (doc.lines, doc.content_lines_map())
        )
        return lines, content

    return maps


def _require_mapping(path: Path, item: Any, line: int | None) -> None:
    if not isinstance(item, dict):
        raise SpecError(
            path,
            f"a case must be a mapping, got {type(item).__name__}",
            line=line,
            hint='write {"id": ..., "vars": {...}, "expect": [...]}',
        )
