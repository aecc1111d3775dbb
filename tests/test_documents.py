"""Parsing prompt and case documents (YAML, JSON, TOML) with a line for every key and item."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from pytest_promptcheck.documents import Document, load_document
from pytest_promptcheck.errors import SpecError

NESTED_YAML = """\
a: 1
b:
  c: [1, 2]
  d:
    - x: 1
      y: 2
    - z
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def load(tmp_path: Path, name: str, text: str) -> Document:
    return load_document(write(tmp_path, name, text))


def load_error(tmp_path: Path, name: str, text: str) -> SpecError:
    with pytest.raises(SpecError) as info:
        load(tmp_path, name, text)
    return info.value


# parsing


def test_yaml_is_parsed(tmp_path: Path) -> None:
    doc = load(tmp_path, "a.yaml", NESTED_YAML)
    assert doc.data == {"a": 1, "b": {"c": [1, 2], "d": [{"x": 1, "y": 2}, "z"]}}


def test_yml_suffix_is_yaml(tmp_path: Path) -> None:
    assert load(tmp_path, "a.yml", "k: [v]\n").data == {"k": ["v"]}


def test_json_is_parsed(tmp_path: Path) -> None:
    doc = load(tmp_path, "a.json", '{"a": [1, {"b": null}], "c": true}')
    assert doc.data == {"a": [1, {"b": None}], "c": True}


def test_toml_is_parsed(tmp_path: Path) -> None:
    doc = load(tmp_path, "a.toml", 'a = 1\n[t]\nb = "x"\n[[cases]]\nid = "c"\n')
    assert doc.data == {"a": 1, "t": {"b": "x"}, "cases": [{"id": "c"}]}


def test_document_keeps_path_and_text(tmp_path: Path) -> None:
    path = write(tmp_path, "a.yaml", "k: v\n")
    doc = load_document(path)
    assert doc.path == path
    assert doc.text == "k: v\n"


def test_suffix_is_case_insensitive(tmp_path: Path) -> None:
    assert load(tmp_path, "A.YAML", "k: 1\n").data == {"k": 1}


def test_empty_yaml_is_none_with_no_lines(tmp_path: Path) -> None:
    doc = load(tmp_path, "a.yaml", "")
    assert doc.data is None
    assert doc.lines == {}


# the line map


def test_line_of_top_level_key(tmp_path: Path) -> None:
    doc = load(tmp_path, "a.yaml", NESTED_YAML)
    assert doc.line_of(("a",)) == 1
    assert doc.line_of(("b",)) == 2


def test_line_of_nested_key(tmp_path: Path) -> None:
    doc = load(tmp_path, "a.yaml", NESTED_YAML)
    assert doc.line_of(("b", "c")) == 3
    assert doc.line_of(("b", "d")) == 4


def test_line_of_flow_list_items(tmp_path: Path) -> None:
    doc = load(tmp_path, "a.yaml", NESTED_YAML)
    assert doc.line_of(("b", "c", 1)) == 3


def test_line_of_block_list_items(tmp_path: Path) -> None:
    doc = load(tmp_path, "a.yaml", NESTED_YAML)
    assert doc.line_of(("b", "d", 0)) == 5
    assert doc.line_of(("b", "d", 1)) == 7


def test_line_of_key_inside_list_item(tmp_path: Path) -> None:
    doc = load(tmp_path, "a.yaml", NESTED_YAML)
    assert doc.line_of(("b", "d", 0, "y")) == 6


def test_line_of_root_is_first_content_line(tmp_path: Path) -> None:
    doc = load(tmp_path, "a.yaml", "# comment\n\nk: v\n")
    assert doc.line_of(()) == 3


def test_line_of_falls_back_to_nearest_ancestor(tmp_path: Path) -> None:
    doc = load(tmp_path, "a.yaml", NESTED_YAML)
    assert doc.line_of(("b", "d", 0, "missing", 3)) == 5


def test_line_of_unknown_top_level_falls_back_to_root(tmp_path: Path) -> None:
    doc = load(tmp_path, "a.yaml", "\nk: v\n")
    assert doc.line_of(("nope",)) == 2


def test_line_of_without_any_line_is_none(tmp_path: Path) -> None:
    doc = Document(tmp_path / "x.yaml", {})
    assert doc.line_of(("a", 0)) is None


def test_json_has_a_line_map(tmp_path: Path) -> None:
    doc = load(tmp_path, "a.json", '{\n "a": 1,\n "b": {\n  "c": [1,\n   2]\n }\n}\n')
    assert doc.line_of(("a",)) == 2
    assert doc.line_of(("b", "c")) == 4
    assert doc.line_of(("b", "c", 1)) == 5


def test_toml_top_level_keys_and_case_tables_have_lines(tmp_path: Path) -> None:
    text = 'a = 1\nb = 2\n\n[[cases]]\nid = "x"\n[[cases]]\nid = "y"\n'
    doc = load(tmp_path, "a.toml", text)
    assert doc.line_of(("b",)) == 2
    assert doc.line_of(("cases", 0)) == 4
    assert doc.line_of(("cases", 1)) == 6
    assert doc.line_of(("cases", 1, "id")) == 7


def test_toml_key_inside_multiline_string_is_not_a_key(tmp_path: Path) -> None:
    text = 'prompt = """\nsamples = 2\n"""\nsamples = 3\n'
    doc = load(tmp_path, "a.toml", text)
    assert doc.data == {"prompt": "samples = 2\n", "samples": 3}
    assert doc.line_of(("samples",)) == 4


def test_toml_other_quote_kind_inside_multiline_string(tmp_path: Path) -> None:
    text = 'prompt = """\nUse \'\'\' for code\n"""\nsamples = 3\n'
    doc = load(tmp_path, "a.toml", text)
    assert doc.data == {"prompt": "Use ''' for code\n", "samples": 3}
    assert doc.line_of(("samples",)) == 4


# duplicate keys


def test_duplicate_yaml_key_is_an_error_naming_both_lines(tmp_path: Path) -> None:
    path = write(tmp_path, "a.yaml", "a: 1\nb: 2\na: 3\n")
    with pytest.raises(SpecError) as info:
        load_document(path)
    error = info.value
    assert error.line == 3
    assert error.message == "duplicate key 'a' (first at line 1)"
    assert str(error).startswith(f"{path}:3: duplicate key 'a' (first at line 1)")


def test_duplicate_key_in_nested_list_item(tmp_path: Path) -> None:
    text = "cases:\n  - id: a\n    vars: {}\n    id: b\n"
    error = load_error(tmp_path, "a.yaml", text)
    assert error.line == 4
    assert error.message == "duplicate key 'id' (first at line 2)"


def test_same_key_in_sibling_mappings_is_fine(tmp_path: Path) -> None:
    doc = load(tmp_path, "a.yaml", "- id: a\n- id: b\n")
    assert doc.data == [{"id": "a"}, {"id": "b"}]


# malformed documents


def test_malformed_yaml_error_has_line(tmp_path: Path) -> None:
    error = load_error(tmp_path, "a.yaml", "a: 1\nb: [1, 2\nc: 3\n")
    assert error.line == 3
    assert error.message.startswith("invalid YAML: ")


def test_yaml_mapping_value_error_hints_at_quoting(tmp_path: Path) -> None:
    path = write(tmp_path, "a.yaml", "a: 1\nb: c: d\n")
    with pytest.raises(SpecError) as info:
        load_document(path)
    assert str(info.value).startswith(f"{path}:2: invalid YAML: mapping values are not allowed")
    assert info.value.hint is not None and "quote values" in info.value.hint


def test_malformed_json_error_has_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, "a.json", '{\n "a": 1,\n "b": 2,\n}\n')
    with pytest.raises(SpecError) as info:
        load_document(path)
    assert info.value.line == 4
    assert str(info.value).startswith(
        f"{path}:4: invalid JSON: Expecting property name enclosed in double quotes (column 1)"
    )


def test_malformed_toml_error_has_line(tmp_path: Path) -> None:
    path = write(tmp_path, "a.toml", "a = 1\nb = \n")
    with pytest.raises(SpecError) as info:
        load_document(path)
    assert info.value.line == 2
    assert str(info.value).startswith(f"{path}:2: invalid TOML: Invalid value")


def test_toml_message_does_not_repeat_the_position(tmp_path: Path) -> None:
    error = load_error(tmp_path, "a.toml", 'a = 1\nb = "x"\nb = "y"\n')
    assert error.line == 3
    assert error.message == "invalid TOML: Cannot overwrite a value"


# unreadable files


def test_non_utf8_file_is_an_error_at_its_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    path.write_bytes("a: ok\nb: été caf".encode() + b"\xe9\n")
    with pytest.raises(SpecError) as info:
        load_document(path)
    assert str(info.value).startswith(
        f"{path}:2: not UTF-8 text (invalid continuation byte at column 11)\n  hint: save the file"
    )


def test_binary_file_is_an_error_that_says_so(tmp_path: Path) -> None:
    path = tmp_path / "a.prompt.json"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    with pytest.raises(SpecError) as info:
        load_document(path)
    assert (info.value.line, info.value.message) == (
        1,
        "not UTF-8 text (invalid start byte at column 1)",
    )
    assert info.value.hint == "this looks like a binary file; prompt and case files are text"


@pytest.mark.parametrize(
    ("name", "text"),
    [("a.json", '{"k": "v"}'), ("a.yaml", "k: v\n"), ("a.toml", 'k = "v"\n')],
)
def test_utf8_byte_order_mark_is_accepted_in_every_format(
    tmp_path: Path, name: str, text: str
) -> None:
    path = tmp_path / name
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    assert load_document(path).data == {"k": "v"}


def test_json_integer_too_long_to_convert_is_an_error_at_its_line(tmp_path: Path) -> None:
    error = load_error(tmp_path, "a.json", '{\n  "k":\n  ' + "9" * 5000 + "\n}")
    assert (error.line, error.message) == (3, "invalid JSON: a number has more than 4300 digits")


def test_missing_file_is_an_error_with_hint(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    with pytest.raises(SpecError) as info:
        load_document(path)
    assert info.value.message == "file not found"
    assert str(info.value).startswith(f"{path}: file not found\n  hint: ")


def test_unsupported_suffix_is_an_error(tmp_path: Path) -> None:
    error = load_error(tmp_path, "a.txt", "k: v\n")
    assert error.message == "unsupported file type '.txt'"
    assert error.hint == "use .yaml, .yml, .json or .toml"


TRICKY_YAML = [
    "a: 1\nb: [1, 2.5, true, null, ~, 0x1F, 1_000, .inf, '3', \"x\"]\nc: 2024-01-02\n",
    "base: {x: 1, y: [1, 2]}\nmerged:\n  <<: {x: 1, y: [1, 2]}\n  z: 3\n",
    "!!set {a, b}\n",
    "- !!binary aGVsbG8=\n- !!str 12\n- !!int '7'\n",
    "key: |\n  multi\n  line\nk2: >-\n  folded\n  text\n",
    "o: !!omap [{a: 1}, {b: 2}]\n",
]


@pytest.mark.parametrize("text", TRICKY_YAML)
def test_yaml_builds_what_pyyaml_builds(tmp_path: Path, text: str) -> None:
    path = tmp_path / "p.prompt.yaml"
    path.write_text(text)
    assert load_document(path).data == yaml.load(text, Loader=yaml.SafeLoader)


def test_a_yaml_alias_is_refused_at_its_line(tmp_path: Path) -> None:
    error = load_error(tmp_path, "p.yaml", "base: &b {x: [1]}\nother: *b\n")
    assert (error.line, error.message) == (2, "YAML alias *b is not allowed")
    assert error.hint is not None and error.hint.startswith("write the value out in full")


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        ("a: 1\nx: 0x_\n", 2, "'0x_' is not a valid int"),
        ("cases:\n  - {id: a, vars: {n: 0b_}}\n", 2, "'0b_' is not a valid int"),
        ("when: 2024-13-45\n", 1, "'2024-13-45' is not a valid timestamp"),
        ("a: 0x_\nb: [\n", 3, "did not find expected node content"),  # the syntax error
    ],
)
def test_a_scalar_yaml_accepts_but_python_cannot_build_is_an_error_at_its_line(
    tmp_path: Path, text: str, line: int, problem: str
) -> None:
    error = load_error(tmp_path, "p.yaml", text)
    assert error.line == line
    assert problem in error.message


def test_a_complex_yaml_key_is_a_clear_error(tmp_path: Path) -> None:
    error = load_error(tmp_path, "p.yaml", "? [a, b]\n: 1\n")
    assert "invalid YAML: found unhashable key" in str(error)


def test_duplicate_json_key_is_an_error_at_the_second_one(tmp_path: Path) -> None:
    text = '{\n  "cases": [{"id": "a"}, {"id": "b"}],\n  "prompt": "x",\n  "prompt": "y"\n}'
    error = load_error(tmp_path, "a.json", text)
    assert (error.line, error.message) == (4, "duplicate key 'prompt'")
    assert error.hint == "remove one of them; a JSON reader would silently keep only the last"


def test_lone_surrogate_escape_in_json_is_an_error_at_its_line(tmp_path: Path) -> None:
    text = '{\n  "ok": "\\ud83d\\ude00 and \\\\ud800",\n  "bad": "x\\ud800"\n}'
    error = load_error(tmp_path, "a.json", text)
    assert (error.line, error.message) == (
        3,
        "a string holds a lone surrogate escape, which is not Unicode text",
    )


def test_a_base_60_int_too_long_to_build_is_refused(tmp_path: Path) -> None:
    """YAML 1.1 reads 1:1:1:... as a base-60 int, built in quadratic time past Python's
    4,300-digit limit (160,000 parts: 5.8 s)."""
    path = tmp_path / "p.prompt.yaml"
    path.write_text("prompt: hi\nsamples: " + ":".join(["1"] * 3000) + "\n")
    with pytest.raises(SpecError) as info:
        load_document(path)
    assert info.value.line == 2 and info.value.message == "a number has more than 4300 digits"


def test_yaml_larger_than_its_limit_is_refused_before_parsing(tmp_path: Path) -> None:
    """Its node tree takes about 100 bytes per byte: 64 MB of YAML would take gigabytes."""
    path = tmp_path / "p.prompt.yaml"
    path.write_text("prompt: hi\ncases:\n" + "  - {id: a, vars: {x: 'y'}}\n" * 330_000)
    with pytest.raises(SpecError) as info:
        load_document(path)
    assert "MB read as YAML" in info.value.message
    assert info.value.hint is not None and ".jsonl" in info.value.hint


SHALLOW = """name: x
format:
  schema: {type: object}
cases:
  - id: a
    vars: {x: 1}

  - {id: b}
  -
    id: c
"""
SHALLOW_KEYS = [(), ("name",), ("format",), ("format", "schema"), ("cases",)] + [
    ("cases", i) for i in range(3)
]


def test_a_cases_line_is_known_from_the_parse_without_the_line_maps(tmp_path: Path) -> None:
    """Every item asks for its case's line (pytest's reportinfo); the line maps compose the
    whole file again, so a 10,000-case file was parsed twice and held both node trees."""
    doc = load(tmp_path, "p.yaml", SHALLOW)
    maps = doc.line_maps
    assert maps is not None
    asked: list[int] = []
    doc.line_maps = lambda: (asked.append(1), maps())[1]
    known = [doc.line_of(key) for key in SHALLOW_KEYS]
    assert asked == []
    full = Document(doc.path, doc.data, text=doc.text, line_maps=maps)
    assert known == [full.line_of(key) for key in SHALLOW_KEYS] == [1, 1, 2, 3, 4, 5, 8, 10]
    assert doc.line_of(("cases", 0, "vars", "x")) == 6  # deeper: from the line maps
