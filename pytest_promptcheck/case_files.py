"""Expand a prompt file's ``cases:`` list: inline cases and cases from .jsonl, .csv, .yaml files."""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_promptcheck.bounds import json_hint
from pytest_promptcheck.documents import (
    Document,
    LineMaps,
    PathKey,
    load_document,
)
from pytest_promptcheck.errors import SpecError
from pytest_promptcheck.json_text import DUPLICATE_HINT, DuplicateJsonKey, json_error, parse_json
from pytest_promptcheck.project import OutsideProject, Project
from pytest_promptcheck.text_files import read_text

CASE_FILE_TYPES = ".jsonl, .csv, .yaml, .yml, .json"
_JSONL_HINT = 'each line is one case: {"id": ..., "vars": {...}, "expect": [...]}'


@dataclass(frozen=True)
class RawCase:
    """One case as written, with the document (and key inside it) it came from."""

    data: dict[str, Any]
    doc: Document
    key: PathKey
    prompt_dir: Path


def expand_cases(doc: Document, project: Project) -> Iterator[RawCase]:
    prompt_dir = doc.path.parent  # once: a Path's parent is a new object each time
    for index, entry in enumerate(doc.data.get("cases", [])):
        if "file" in entry:
            _check_file_entry(doc, entry, ("cases", index))
            yield from _from_file(doc, entry["file"], ("cases", index), project)
        else:
            yield RawCase(entry, doc, ("cases", index), prompt_dir)


def _check_file_entry(doc: Document, entry: dict[str, Any], key: PathKey) -> None:
    if not isinstance(entry["file"], str) or len(entry) != 1:
        raise SpecError(
            doc.path,
            "a case file entry is just 'file: <path>' (a string, no other fields)",
            line=doc.line_of(key),
            hint=f"write '- file: cases/more.jsonl'; supported: {CASE_FILE_TYPES}",
        )


def _from_file(doc: Document, name: str, key: PathKey, project: Project) -> Iterator[RawCase]:
    try:
        path = project.confine(doc.path.parent / name, name)
    except OutsideProject as exc:
        raise SpecError(
            doc.path, exc.message, line=doc.line_of((*key, "file")), hint=exc.hint
        ) from None
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
    prompt_dir = doc.path.parent
    for index, item in enumerate(case_doc.data):
        yield RawCase(item, case_doc, (index,), prompt_dir)


def _with_cases(doc: Document) -> Document:
    """An empty case file is a mistake (a truncated export, a wrong path), not zero tests."""
    if doc.data:
        return doc
    raise SpecError(
        doc.path,
        "the case file has no cases: nothing to run",
        line=1,
        hint="add cases (one per line in .jsonl, one per row below the header in .csv,"
        " '- id: ...' items in .yaml/.json), or remove its '- file:' entry",
    )


def _jsonl(path: Path) -> Document:
    items: list[Any] = []
    lines: dict[PathKey, int] = {}
    for number, line in enumerate(_lines(read_text(path)), start=1):
        if not line.strip():
            continue
        try:
            item = parse_json(line)
        except DuplicateJsonKey as dup:
            message = f"duplicate key '{dup.key}'"
            raise SpecError(path, message, line=number, hint=DUPLICATE_HINT) from None
        except ValueError as exc:  # JSONDecodeError, or an integer of more than 4300 digits
            raise SpecError(
                path,
                json_error(exc),
                line=number,
                hint=json_hint(exc, _JSONL_HINT),
            ) from None
        _require_mapping(path, item, number)
        lines[(len(items),)] = number
        items.append(item)
    return _with_cases(Document(path, items, lines))


def _lines(text: str) -> list[str]:
    """Lines as an editor counts them (LF, CRLF or CR); not str.splitlines(), which also
    splits at U+2028 and other separators that JSON allows unescaped inside strings."""
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _csv(path: Path) -> Document:
    reader = csv.DictReader(io.StringIO(read_text(path), newline=""))
    items: list[Any] = []
    lines: dict[PathKey, int] = {}
    good = 0  # the last line read without error: a csv.Error is in the record after it
    try:
        columns = _header(path, reader.fieldnames)
        good = reader.line_num
        for row in reader:
            _check_row(path, row, columns, reader.line_num)
            lines[(len(items),)] = good = reader.line_num
            items.append(_csv_case(row))
    except csv.Error as exc:  # a field over csv.field_size_limit()
        raise SpecError(
            path,
            f"invalid CSV: {exc}",
            line=good + 1,
            hint="put long or multi-line texts in a .jsonl case file",
        ) from None
    return _with_cases(Document(path, items, lines))


def _header(path: Path, names: Sequence[str] | None) -> int:
    if not names:
        raise SpecError(
            path,
            "the CSV file has no header row",
            line=1,
            hint="the first row names the vars; optional columns __id and __expected",
        )
    blank = [number for number, name in enumerate(names, start=1) if not name.strip()]
    if blank:  # it would become a var named '' that no template can use
        raise SpecError(
            path,
            f"column {blank[0]} of the header has no name",
            line=1,
            hint="name every column (it is the var's name), or remove the empty column",
        )
    twice = sorted(name for name, count in Counter(names).items() if count > 1)
    if twice:  # DictReader would keep the last column of that name and drop the others
        raise SpecError(
            path,
            f"the header names column '{twice[0]}' more than once",
            line=1,
            hint="each column is one var; rename or remove the other",
        )
    return len(names)


def _check_row(path: Path, row: dict[str | None, Any], columns: int, line: int) -> None:
    if None in row:  # DictReader keeps the surplus under the key None
        raise SpecError(
            path,
            f"row has more fields than the header ({columns} columns)",
            line=line,
            hint="quote values that contain commas",
        )
    if None in row.values():  # and fills missing fields with None, which would render "None"
        given = sum(value is not None for value in row.values())
        raise SpecError(
            path,
            f"row has fewer fields than the header ({given} of {columns})",
            line=line,
            hint="write every column; an empty value is an empty field (a,,c)",
        )


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
    if doc.data is None:  # an empty YAML file, or one with comments only
        return _with_cases(Document(path, []))
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
    return _with_cases(doc)


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
