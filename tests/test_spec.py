"""Loading prompt files (DESIGN §2) into PromptSpec and Case objects, and their errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from pytest_promptcheck import SampleContext, Verdict
from pytest_promptcheck.cache import cache_key
from pytest_promptcheck.checks.api import Check
from pytest_promptcheck.checks.builtins import builtin_registry
from pytest_promptcheck.errors import SpecError
from pytest_promptcheck.project import Project
from pytest_promptcheck.records import ModelRequest
from pytest_promptcheck.schemas import Schema
from pytest_promptcheck.spec import PromptSpec, load_spec

FULL_YAML = """\
name: classify
version: "3"
description: Route tickets.
model: openai:gpt-x
params: {temperature: 0, max_tokens: 20}
messages:
  - role: system
    content: "Route the ticket."
  - role: user
    content: "{{ ticket }}"
format:
  type: json
  schema: {type: object, required: [queue]}
samples: 4
min_pass_rate: 0.75
cases:
  - id: refund
    vars: {ticket: "charged twice"}
"""

FULL_JSON = json.dumps(
    {
        "name": "classify",
        "version": "3",
        "description": "Route tickets.",
        "model": "openai:gpt-x",
        "params": {"temperature": 0, "max_tokens": 20},
        "messages": [
            {"role": "system", "content": "Route the ticket."},
            {"role": "user", "content": "{{ ticket }}"},
        ],
        "format": {"type": "json", "schema": {"type": "object", "required": ["queue"]}},
        "samples": 4,
        "min_pass_rate": 0.75,
        "cases": [{"id": "refund", "vars": {"ticket": "charged twice"}}],
    },
    indent=2,
)

FULL_TOML = """\
name = "classify"
version = "3"
description = "Route tickets."
model = "openai:gpt-x"
params = {temperature = 0, max_tokens = 20}
messages = [
  {role = "system", content = "Route the ticket."},
  {role = "user", content = "{{ ticket }}"},
]
samples = 4
min_pass_rate = 0.75

[format]
type = "json"
schema = {type = "object", required = ["queue"]}

[[cases]]
id = "refund"
vars = {ticket = "charged twice"}
"""

BASE = """\
params: {temperature: 0}
messages:
  - role: user
    content: "Classify: {{ ticket }}"
format:
  type: json
  schema: {type: object}
cases:
  - id: a
    vars: {ticket: x}
    expect:
      - contains: x
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def load(tmp_path: Path, name: str, text: str) -> PromptSpec:
    return load_spec(write(tmp_path, name, text), builtin_registry(Project.at(tmp_path)))


def spec_error(tmp_path: Path, name: str, text: str) -> tuple[Path, SpecError]:
    path = write(tmp_path, name, text)
    with pytest.raises(SpecError) as info:
        load_spec(path, builtin_registry(Project.at(tmp_path)))
    return path, info.value


def fingerprint(tmp_path: Path, text: str, name: str = "p.prompt.yaml") -> str:
    return load(tmp_path, name, text).fingerprint


# fields


@pytest.mark.parametrize(
    "file_name", ["triage.prompt.yaml", "triage.prompt.yml", "triage.prompt.json"]
)
def test_name_defaults_to_file_name(tmp_path: Path, file_name: str) -> None:
    text = '{"prompt": "hi"}' if file_name.endswith(".json") else "prompt: hi\n"
    assert load(tmp_path, file_name, text).name == "triage"


def test_name_defaults_to_file_name_for_toml(tmp_path: Path) -> None:
    assert load(tmp_path, "triage.prompt.toml", 'prompt = "hi"\n').name == "triage"


def test_explicit_name_wins_over_file_name(tmp_path: Path) -> None:
    assert load(tmp_path, "x.prompt.yaml", "name: other\nprompt: hi\n").name == "other"


def test_version_number_becomes_a_string_label(tmp_path: Path) -> None:
    assert load(tmp_path, "p.prompt.yaml", "version: 3\nprompt: hi\n").version == "3"


def test_version_is_none_when_absent(tmp_path: Path) -> None:
    assert load(tmp_path, "p.prompt.yaml", "prompt: hi\n").version is None


def test_all_top_level_fields_load(tmp_path: Path) -> None:
    spec = load(tmp_path, "p.prompt.yaml", FULL_YAML)
    assert spec.name == "classify"
    assert spec.version == "3"
    assert spec.description == "Route tickets."
    assert spec.model == "openai:gpt-x"
    assert spec.params == {"temperature": 0, "max_tokens": 20}
    assert spec.format_type == "json"
    assert spec.format_schema == Schema({"type": "object", "required": ["queue"]})
    assert spec.samples == 4
    assert spec.min_pass_rate == 0.75


def test_defaults_when_fields_are_absent(tmp_path: Path) -> None:
    spec = load(tmp_path, "p.prompt.yaml", "prompt: hi\n")
    assert spec.params == {}
    assert spec.model is None
    assert spec.description is None
    assert spec.format_type == "text"
    assert spec.format_schema is None
    assert spec.samples == 1
    assert spec.min_pass_rate == 1.0
    assert spec.cases == ()


def test_messages_are_rendered_per_case(tmp_path: Path) -> None:
    case = load(tmp_path, "p.prompt.yaml", FULL_YAML).cases[0]
    assert case.prompt is None
    assert case.messages == (
        {"role": "system", "content": "Route the ticket."},
        {"role": "user", "content": "charged twice"},
    )


def test_prompt_is_rendered_per_case(tmp_path: Path) -> None:
    text = 'prompt: "Q: {{ q }}\\nA:"\ncases:\n  - vars: {q: why}\n'
    case = load(tmp_path, "p.prompt.yaml", text).cases[0]
    assert case.messages is None
    assert case.prompt == "Q: why\nA:"


def test_request_carries_params_and_format(tmp_path: Path) -> None:
    spec = load(tmp_path, "p.prompt.yaml", FULL_YAML)
    request = spec.request(spec.cases[0], "openai:m")
    assert request == ModelRequest(
        model="openai:m",
        messages=spec.cases[0].messages,
        prompt=None,
        params={"temperature": 0, "max_tokens": 20},
        format={"type": "json", "schema": {"type": "object", "required": ["queue"]}},
    )


def test_format_schema_by_path_is_relative_to_prompt_file(tmp_path: Path) -> None:
    write(tmp_path, "sub/schemas/t.json", '{"type": "object", "required": ["a"]}')
    text = "prompt: hi\nformat:\n  type: json\n  schema: schemas/t.json\n"
    spec = load(tmp_path, "sub/p.prompt.yaml", text)
    assert spec.format_schema == Schema({"type": "object", "required": ["a"]})


def test_format_json_without_schema(tmp_path: Path) -> None:
    spec = load(tmp_path, "p.prompt.yaml", "prompt: hi\nformat: {type: json}\n")
    assert spec.format_type == "json"
    assert spec.format_schema is None


def test_case_fields_load(tmp_path: Path) -> None:
    text = (
        "prompt: '{{ a }}'\ncases:\n  - id: one\n    description: d\n    vars: {a: 1}\n"
        "    threshold: 0.5\n    expect:\n      - contains: '1'\n        weight: 2\n"
    )
    case = load(tmp_path, "p.prompt.yaml", text).cases[0]
    assert case.id == "one"
    assert case.vars == {"a": 1}
    assert case.threshold == 0.5
    assert [(c.kind, c.arg, c.weight) for c in case.checks] == [("contains", "1", 2.0)]
    assert case.line == 3
    assert case.prompt == "1"


def test_integer_case_id_becomes_a_string(tmp_path: Path) -> None:
    spec = load(tmp_path, "p.prompt.yaml", "prompt: hi\ncases:\n  - id: 7\n")
    assert spec.cases[0].id == "7"


def test_file_level_expect_is_prepended_to_each_case(tmp_path: Path) -> None:
    text = (
        "prompt: hi\nexpect:\n  - max_latency_ms: 8000\n  - contains: h\n"
        "cases:\n  - expect: [{not_contains: sorry}]\n  - id: bare\n"
    )
    first, second = load(tmp_path, "p.prompt.yaml", text).cases
    assert [c.kind for c in first.checks] == ["max_latency_ms", "contains", "not_contains"]
    assert [c.kind for c in second.checks] == ["max_latency_ms", "contains"]


def test_file_threshold_is_inherited_unless_case_sets_its_own(tmp_path: Path) -> None:
    text = "prompt: hi\nthreshold: 0.6\ncases:\n  - id: a\n  - id: b\n    threshold: 0.9\n"
    a, b = load(tmp_path, "p.prompt.yaml", text).cases
    assert a.threshold == 0.6
    assert b.threshold == 0.9


def test_no_threshold_anywhere_is_none(tmp_path: Path) -> None:
    spec = load(tmp_path, "p.prompt.yaml", "prompt: hi\ncases:\n  - id: a\n")
    assert spec.cases[0].threshold is None


def test_case_without_vars_has_empty_vars(tmp_path: Path) -> None:
    spec = load(tmp_path, "p.prompt.yaml", "prompt: hi\ncases:\n  - id: a\n")
    assert spec.cases[0].vars == {}
    assert spec.cases[0].checks == ()


# case files


def test_default_ids_count_inline_and_file_cases(tmp_path: Path) -> None:
    write(tmp_path, "c.jsonl", '{"vars": {"x": 2}}\n{"id": "named", "vars": {"x": 3}}\n')
    text = "prompt: '{{ x }}'\ncases:\n  - vars: {x: 1}\n  - file: c.jsonl\n  - vars: {x: 4}\n"
    spec = load(tmp_path, "p.prompt.yaml", text)
    assert [c.id for c in spec.cases] == ["case-1", "case-2", "named", "case-4"]
    assert [c.prompt for c in spec.cases] == ["1", "2", "3", "4"]


def test_jsonl_cases_have_file_and_line(tmp_path: Path) -> None:
    cases_path = write(
        tmp_path,
        "c.jsonl",
        '{"id": "a", "vars": {"x": 1}}\n\n{"id": "b", "vars": {"x": 2}, '
        '"expect": [{"contains": "2"}]}\n',
    )
    spec = load(tmp_path, "p.prompt.yaml", "prompt: '{{ x }}'\ncases:\n  - file: c.jsonl\n")
    a, b = spec.cases
    assert (a.source, a.line) == (cases_path, 1)
    assert (b.source, b.line) == (cases_path, 3)
    assert [(c.kind, c.arg) for c in b.checks] == [("contains", "2")]


def test_csv_columns_are_vars_with_id_and_expected(tmp_path: Path) -> None:
    cases_path = write(tmp_path, "c.csv", "x,__id,__expected\nhello,greet,HELLO\nbye,,\n")
    spec = load(tmp_path, "p.prompt.yaml", "prompt: '{{ x }}'\ncases:\n  - file: c.csv\n")
    greet, second = spec.cases
    assert greet.id == "greet"
    assert greet.vars == {"x": "hello"}
    assert [(c.kind, c.arg) for c in greet.checks] == [("equals", "HELLO")]
    assert (greet.source, greet.line) == (cases_path, 2)
    assert second.id == "case-2"
    assert second.vars == {"x": "bye"}
    assert second.checks == ()


def test_csv_expected_comes_after_file_level_checks(tmp_path: Path) -> None:
    write(tmp_path, "c.csv", "x,__expected\nhi,hi\n")
    text = "prompt: '{{ x }}'\nexpect: [{max_tokens: 10}]\ncases:\n  - file: c.csv\n"
    case = load(tmp_path, "p.prompt.yaml", text).cases[0]
    assert [c.kind for c in case.checks] == ["max_tokens", "equals"]


def test_csv_with_utf8_bom_names_first_column_plainly(tmp_path: Path) -> None:
    (tmp_path / "c.csv").write_bytes("\ufeffx,__id\nhello,a\n".encode())
    spec = load(tmp_path, "p.prompt.yaml", "prompt: '{{ x }}'\ncases:\n  - file: c.csv\n")
    assert spec.cases[0].vars == {"x": "hello"}


def test_yaml_case_file_as_a_list(tmp_path: Path) -> None:
    cases_path = write(tmp_path, "c.yaml", "- id: a\n  vars: {x: 1}\n- vars: {x: 2}\n")
    spec = load(tmp_path, "p.prompt.yaml", "prompt: '{{ x }}'\ncases:\n  - file: c.yaml\n")
    assert [(c.id, c.prompt, c.line) for c in spec.cases] == [("a", "1", 1), ("case-2", "2", 3)]
    assert spec.cases[0].source == cases_path


def test_yaml_case_file_as_a_mapping_with_cases(tmp_path: Path) -> None:
    write(tmp_path, "c.yaml", "# cases\ncases:\n  - id: m\n    vars: {x: 6}\n")
    spec = load(tmp_path, "p.prompt.yaml", "prompt: '{{ x }}'\ncases:\n  - file: c.yaml\n")
    assert [(c.id, c.prompt, c.line) for c in spec.cases] == [("m", "6", 3)]


# fingerprint


def test_same_prompt_in_yaml_json_toml_has_same_fingerprint(tmp_path: Path) -> None:
    yaml_spec = load(tmp_path, "a.prompt.yaml", FULL_YAML)
    json_spec = load(tmp_path, "b.prompt.json", FULL_JSON)
    toml_spec = load(tmp_path, "c.prompt.toml", FULL_TOML)
    assert yaml_spec.fingerprint == json_spec.fingerprint == toml_spec.fingerprint


def test_fingerprint_is_pinned(tmp_path: Path) -> None:
    # Committed baselines record this fingerprint: a silent change of how it is computed
    # would report every prompt as changed in every project.
    assert fingerprint(tmp_path, BASE) == (
        "c2e783bc9ab9058e16de637c0cf0eb1d7b67c4401cb8a8d746598b2b1a2f8afc"
    )


def test_fingerprint_changes_with_template(tmp_path: Path) -> None:
    changed = BASE.replace("Classify:", "Classify this:")
    assert fingerprint(tmp_path, BASE) != fingerprint(tmp_path, changed, "q.prompt.yaml")


def test_fingerprint_changes_with_params(tmp_path: Path) -> None:
    changed = BASE.replace("temperature: 0", "temperature: 0.5")
    assert fingerprint(tmp_path, BASE) != fingerprint(tmp_path, changed, "q.prompt.yaml")


def test_fingerprint_changes_with_inline_schema(tmp_path: Path) -> None:
    changed = BASE.replace("{type: object}", "{type: object, required: [a]}")
    assert fingerprint(tmp_path, BASE) != fingerprint(tmp_path, changed, "q.prompt.yaml")


def test_fingerprint_changes_with_schema_file_content_at_same_path(tmp_path: Path) -> None:
    text = BASE.replace("{type: object}", "s.json")
    write(tmp_path, "s.json", '{"type": "object"}')
    before = fingerprint(tmp_path, text)
    write(tmp_path, "s.json", '{"type": "object", "required": ["a"]}')
    assert fingerprint(tmp_path, text) != before


def test_fingerprint_same_for_schema_by_path_and_inline(tmp_path: Path) -> None:
    write(tmp_path, "schemas/s.json", '{"type": "object"}')
    by_path = BASE.replace("{type: object}", "schemas/s.json")
    assert fingerprint(tmp_path, BASE) == fingerprint(tmp_path, by_path, "q.prompt.yaml")


def test_fingerprint_ignores_cases(tmp_path: Path) -> None:
    more = BASE + "  - id: b\n    vars: {ticket: y}\n"
    assert fingerprint(tmp_path, BASE) == fingerprint(tmp_path, more, "q.prompt.yaml")


def test_fingerprint_ignores_case_checks(tmp_path: Path) -> None:
    changed = BASE.replace("contains: x", "not_contains: sorry")
    assert fingerprint(tmp_path, BASE) == fingerprint(tmp_path, changed, "q.prompt.yaml")


def test_fingerprint_ignores_file_level_checks(tmp_path: Path) -> None:
    changed = "expect: [{max_latency_ms: 100}]\n" + BASE
    assert fingerprint(tmp_path, BASE) == fingerprint(tmp_path, changed, "q.prompt.yaml")


def test_fingerprint_ignores_version(tmp_path: Path) -> None:
    first = fingerprint(tmp_path, 'version: "1"\n' + BASE)
    assert first == fingerprint(tmp_path, 'version: "2"\n' + BASE, "q.prompt.yaml")


# errors


def test_both_messages_and_prompt_is_an_error(tmp_path: Path) -> None:
    text = "messages:\n  - {role: user, content: hi}\nprompt: hi\n"
    path, error = spec_error(tmp_path, "p.prompt.yaml", text)
    assert str(error).startswith(f"{path}:3: the prompt file has both 'messages' and 'prompt'")


def test_neither_messages_nor_prompt_is_an_error(tmp_path: Path) -> None:
    path, error = spec_error(tmp_path, "p.prompt.yaml", "# a prompt\nname: x\n")
    assert str(error).startswith(f"{path}:2: the prompt file needs 'messages' or 'prompt'")


def test_schema_with_text_format_is_an_error(tmp_path: Path) -> None:
    text = "prompt: hi\nformat:\n  type: text\n  schema: {type: object}\n"
    path, error = spec_error(tmp_path, "p.prompt.yaml", text)
    assert str(error).startswith(f"{path}:4: format.schema needs format.type: json")
    assert error.hint == "add 'type: json' to format"


def test_check_with_two_types_is_an_error(tmp_path: Path) -> None:
    text = "prompt: hi\ncases:\n  - expect:\n      - contains: a\n        equals: b\n"
    path, error = spec_error(tmp_path, "p.prompt.yaml", text)
    assert str(error).startswith(f"{path}:4: check has several check types (contains, equals)")


def test_check_with_only_weight_is_an_error(tmp_path: Path) -> None:
    text = "prompt: hi\ncases:\n  - expect:\n      - weight: 2\n"
    path, error = spec_error(tmp_path, "p.prompt.yaml", text)
    assert str(error).startswith(f"{path}:4: check has no check type")


def test_unknown_check_type_is_an_error_at_its_line(tmp_path: Path) -> None:
    text = "prompt: hi\nexpect:\n  - contans: a\n"
    path, error = spec_error(tmp_path, "p.prompt.yaml", text)
    assert str(error).startswith(f"{path}:3: check 'contans': unknown check type 'contans'")
    assert error.hint is not None and "did you mean 'contains'?" in error.hint


def test_a_check_written_on_every_case_is_compiled_once(tmp_path: Path) -> None:
    """The README's promise to check plugins: one factory call per distinct plain entry."""
    case = "  - {{id: {0}, vars: {{x: 1}}, expect: [{{equals: ok}}, {{equals: {1}}}]}}\n"
    cases = "".join(case.format(name, arg) for name, arg in [("a", 1), ("b", 1.0), ("c", "true")])
    spec = load(tmp_path, "p.prompt.yaml", "prompt: '{{ x }}'\ncases:\n" + cases)
    a, b, c = (case.checks for case in spec.cases)
    assert a[0] is b[0] is c[0]
    assert [type(checks[1].arg) for checks in (a, b, c)] == [int, float, bool]


def test_a_plugin_check_is_compiled_for_every_entry(tmp_path: Path) -> None:
    """A plugin's factory may keep state per case: its checks are never shared."""
    registry = builtin_registry(Project.at(tmp_path))
    made: list[object] = []

    def factory(arg: object, base_dir: Path) -> Check:
        def check(ctx: SampleContext) -> Verdict:
            return Verdict(True, 1.0, "mine")

        made.append(check)
        return check

    registry.register("mine", factory)
    cases = "".join(f"  - {{id: c{i}, expect: [{{mine: 1}}, {{equals: ok}}]}}\n" for i in range(3))
    spec = load_spec(write(tmp_path, "p.prompt.yaml", "prompt: hi\ncases:\n" + cases), registry)
    assert len(made) == 3
    assert len({id(case.checks[0].check) for case in spec.cases}) == 3
    assert len({id(case.checks[1]) for case in spec.cases}) == 1  # the built-in one is shared


def test_checks_whose_values_are_equal_but_not_the_same_are_compiled_apart(
    tmp_path: Path,
) -> None:
    """0.0 == -0.0 in Python, but a check's label (in baselines and reports) shows which."""
    case = "  - {{id: {0}, vars: {{x: 1}}, expect: [{{max_tokens: {1}}}]}}\n"
    cases = "".join(case.format(name, arg) for name, arg in [("a", "-0.0"), ("b", "0.0")])
    spec = load(tmp_path, "p.prompt.yaml", "prompt: '{{ x }}'\ncases:\n" + cases)
    assert [case.checks[0].label for case in spec.cases] == ["max_tokens -0.0", "max_tokens 0.0"]


def test_a_bad_check_is_an_error_at_its_line_after_the_same_check_compiled(
    tmp_path: Path,
) -> None:
    text = (
        "prompt: hi\ncases:\n  - id: a\n    expect: [{contains: x, weight: 2}]\n"
        "  - id: b\n    expect:\n      - contains: x\n        weight: -2\n"
    )
    path, error = spec_error(tmp_path, "p.prompt.yaml", text)
    assert str(error).startswith(f"{path}:8: check 'contains': weight must be a number of 0")


def test_wrong_type_says_what_is_expected(tmp_path: Path) -> None:
    path, error = spec_error(tmp_path, "p.prompt.yaml", "prompt: hi\nsamples: '3'\n")
    assert re.match(
        re.escape(f"{path}:2: field 'samples' must be ") + r"(an )?integer, got a string",
        str(error),
    )
    assert error.hint == "e.g. samples: 5"


def test_wrong_type_in_json_has_line(tmp_path: Path) -> None:
    text = '{\n  "prompt": "hi",\n  "samples": "3"\n}\n'
    path, error = spec_error(tmp_path, "p.prompt.json", text)
    assert re.match(re.escape(f"{path}:3: field 'samples' must be ") + "(an )?integer", str(error))


def test_min_pass_rate_above_one_is_an_error(tmp_path: Path) -> None:
    path, error = spec_error(tmp_path, "p.prompt.yaml", "prompt: hi\nmin_pass_rate: 2\n")
    assert str(error).startswith(
        f"{path}:2: field 'min_pass_rate': 2 is greater than the maximum of 1"
    )


def test_unknown_top_level_field_suggests_a_close_one(tmp_path: Path) -> None:
    path, error = spec_error(tmp_path, "p.prompt.yaml", "prompt: hi\nsampels: 3\n")
    assert str(error).startswith(f"{path}:2: unknown field 'sampels'")
    assert error.hint is not None and error.hint.startswith("did you mean 'samples'? ")


def test_unknown_case_field_suggests_expect(tmp_path: Path) -> None:
    text = "prompt: hi\ncases:\n  - id: a\n  - id: b\n    vars: {}\n    expct: []\n"
    path, error = spec_error(tmp_path, "p.prompt.yaml", text)
    assert str(error).startswith(f"{path}:6: unknown field 'expct'")
    assert error.hint == (
        "did you mean 'expect'? allowed fields: description, expect, id, threshold, turns, vars"
    )


def test_unknown_case_field_in_toml_has_line(tmp_path: Path) -> None:
    text = 'prompt = "hi"\n[[cases]]\nid = "a"\nexpct = []\n'
    path, error = spec_error(tmp_path, "p.prompt.toml", text)
    assert str(error).startswith(f"{path}:4: unknown field 'expct'")


def test_missing_template_variable_names_case_and_variable(tmp_path: Path) -> None:
    text = "prompt: 'hi {{ who }}'\ncases:\n  - id: q\n    vars: {x: 1}\n"
    path, error = spec_error(tmp_path, "p.prompt.yaml", text)
    assert str(error).startswith(
        f"{path}:3: case 'q': template variable 'who' is missing from the case's vars"
    )


def test_template_syntax_error_in_quoted_prompt_has_its_line(tmp_path: Path) -> None:
    text = "name: x\nprompt: 'hi {{ x }'\n"
    path, error = spec_error(tmp_path, "p.prompt.yaml", text)
    assert str(error).startswith(f"{path}:2: prompt: template syntax error: ")


def test_template_syntax_error_in_block_scalar_points_at_the_bad_line(tmp_path: Path) -> None:
    text = "messages:\n  - role: user\n    content: |\n      line one\n      {{ x }\n"
    path, error = spec_error(tmp_path, "p.prompt.yaml", text)
    assert str(error).startswith(f"{path}:5: messages.0.content: template syntax error: ")


def test_duplicate_case_id_is_an_error(tmp_path: Path) -> None:
    text = "prompt: hi\ncases:\n  - id: a\n  - id: a\n"
    path, error = spec_error(tmp_path, "p.prompt.yaml", text)
    assert str(error).startswith(f"{path}:4: duplicate case id 'a' (first at p.prompt.yaml:3)")


def test_csv_row_with_more_fields_than_header_is_an_error(tmp_path: Path) -> None:
    cases_path = write(tmp_path, "c.csv", "x,__id\n1,a\n2,b,extra\n")
    _, error = spec_error(tmp_path, "p.prompt.yaml", "prompt: '{{ x }}'\ncases:\n  - file: c.csv\n")
    assert str(error).startswith(f"{cases_path}:3: row has more fields than the header")


def test_unsupported_case_file_type_is_an_error(tmp_path: Path) -> None:
    write(tmp_path, "c.txt", "x")
    path, error = spec_error(tmp_path, "p.prompt.yaml", "prompt: hi\ncases:\n  - file: c.txt\n")
    assert str(error).startswith(f"{path}:3: unsupported case file type '.txt' (c.txt)")


def test_missing_case_file_is_an_error(tmp_path: Path) -> None:
    text = "prompt: hi\ncases:\n  - id: a\n  - file: nope.jsonl\n"
    path, error = spec_error(tmp_path, "p.prompt.yaml", text)
    assert str(error).startswith(f"{path}:4: case file not found: nope.jsonl")


def test_invalid_jsonl_line_is_an_error_at_that_line(tmp_path: Path) -> None:
    cases_path = write(tmp_path, "c.jsonl", '{"id": "a"}\n{"id": \n')
    _, error = spec_error(tmp_path, "p.prompt.yaml", "prompt: hi\ncases:\n  - file: c.jsonl\n")
    assert str(error).startswith(f"{cases_path}:2: invalid JSON: ")


def test_prompt_file_that_is_not_a_mapping_is_an_error(tmp_path: Path) -> None:
    path, error = spec_error(tmp_path, "p.prompt.yaml", "- a\n- b\n")
    assert str(error).startswith(f"{path}:1: a prompt file must be a mapping of fields")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("messages: []\ncases: [{}]\n", "field 'messages': [] should be non-empty"),
        ("prompt: x\nversion: true\ncases: [{}]\n", "field 'version' must be a string or a number"),
        (
            "messages:\n  - {role: user, content: hi, name: z}\ncases: [{}]\n",
            "unknown field 'name' in messages.0",
        ),
        ("prompt: x\ncases:\n  - file: 123\n", "a case file entry is just 'file: <path>'"),
        (
            "prompt: x\ncases:\n  - {file: a.csv, id: b}\n",
            "a case file entry is just 'file: <path>'",
        ),
        ("prompt: x\nformat: {type: xml}\ncases: [{}]\n", "field 'format.type' is 'xml'"),
        ("prompt: x\nsamples: 1001\ncases: [{}]\n", "field 'samples': 1001 is greater than"),
        ("prompt: x\nname: 'a b'\ncases: [{}]\n", "field 'name' is 'a b': use letters"),
    ],
)
def test_files_the_quick_look_passes_on_are_still_validated(
    tmp_path: Path, text: str, message: str
) -> None:
    _, error = spec_error(tmp_path, "x.prompt.yaml", text)
    assert error.message.startswith(message), error.message


# values that would be silent outcomes


NOT_FINITE = [
    ("min_pass_rate: .nan\n" + "prompt: hi\n", "min_pass_rate", 1, "nan"),
    ("prompt: hi\nthreshold: .inf\n", "threshold", 2, "inf"),
    ("prompt: hi\ncases:\n  - id: a\n    threshold: -.inf\n", "cases.0.threshold", 4, "-inf"),
    (
        "prompt: hi\ncases:\n  - expect:\n      - contains: h\n        weight: .nan\n",
        "cases.0.expect.0.weight",
        5,
        "nan",
    ),
    ("prompt: hi\nparams: {temperature: -.inf}\n", "params.temperature", 2, "-inf"),
    ("prompt: hi\nparams:\n  logit_bias:\n    '7': .nan\n", "params.logit_bias.7", 4, "nan"),
    ("prompt: hi\nexpect:\n  - max_latency_ms: .nan\n", "expect.0.max_latency_ms", 3, "nan"),
    ("prompt: hi\nexpect:\n  - max_cost_usd: .inf\n", "expect.0.max_cost_usd", 3, "inf"),
    ("prompt: hi\nexpect:\n  - max_tokens: .inf\n", "expect.0.max_tokens", 3, "inf"),
    (
        "prompt: hi\nexpect:\n  - python: {function: m:f, min: .nan}\n",
        "expect.0.python.min",
        3,
        "nan",
    ),
    ("prompt: '{{ x }}'\ncases:\n  - vars: {x: .nan}\n", "cases.0.vars.x", 3, "nan"),
]


@pytest.mark.parametrize(
    ("text", "field", "line", "value"), NOT_FINITE, ids=[n[1] for n in NOT_FINITE]
)
def test_non_finite_number_is_an_error_naming_field_and_line(
    tmp_path: Path, text: str, field: str, line: int, value: str
) -> None:
    path, error = spec_error(tmp_path, "p.prompt.yaml", text)
    assert str(error).startswith(
        f"{path}:{line}: field '{field}' is not a finite number ({value})\n  hint: numbers must"
    )


def test_json_nan_and_toml_inf_are_errors_too(tmp_path: Path) -> None:
    _, error = spec_error(tmp_path, "p.prompt.json", '{"prompt": "hi",\n "threshold": NaN}')
    assert (error.line, error.message) == (2, "field 'threshold' is not a finite number (nan)")
    _, error = spec_error(tmp_path, "p.prompt.toml", 'prompt = "hi"\nmin_pass_rate = inf\n')
    assert (error.line, error.message) == (2, "field 'min_pass_rate' is not a finite number (inf)")


def test_non_finite_number_in_a_case_file_names_that_file(tmp_path: Path) -> None:
    cases = write(tmp_path, "c.jsonl", '{"id": "a"}\n{"id": "b", "threshold": Infinity}\n')
    _, error = spec_error(tmp_path, "p.prompt.yaml", "prompt: hi\ncases:\n  - file: c.jsonl\n")
    assert (error.path, error.line) == (cases, 2)
    assert error.message == "field 'threshold' is not a finite number (inf)"


def test_integer_beyond_float_range_is_an_error(tmp_path: Path) -> None:
    text = f"prompt: hi\ncases:\n  - expect:\n      - contains: h\n        weight: {10**400}\n"
    _, error = spec_error(tmp_path, "p.prompt.yaml", text)
    assert (error.line, error.message) == (
        5,
        "field 'cases.0.expect.0.weight' is too large a number",
    )


@pytest.mark.parametrize(("value", "kind"), [("2.0", "a float"), ("true", "a boolean")])
def test_samples_must_be_an_integer(tmp_path: Path, value: str, kind: str) -> None:
    path, error = spec_error(tmp_path, "p.prompt.yaml", f"prompt: hi\nsamples: {value}\n")
    assert (
        str(error)
        == f"{path}:2: field 'samples' must be an integer, got {kind}\n  hint: e.g. samples: 5"
    )


def test_float_case_id_is_an_error(tmp_path: Path) -> None:
    _, error = spec_error(tmp_path, "p.prompt.yaml", "prompt: hi\ncases:\n  - id: 1.0\n")
    assert error.message == "field 'cases.0.id' must be a string or an integer, got a float"


def test_csv_row_with_fewer_fields_than_the_header_is_an_error(tmp_path: Path) -> None:
    cases = write(tmp_path, "c.csv", "x,y,__id\n1,2,a\n3\n")
    _, error = spec_error(tmp_path, "p.prompt.yaml", "prompt: '{{ x }}'\ncases:\n  - file: c.csv\n")
    assert (error.path, error.line) == (cases, 3)
    assert error.message == "row has fewer fields than the header (1 of 3)"


def test_csv_empty_fields_are_empty_strings(tmp_path: Path) -> None:
    write(tmp_path, "c.csv", "x,y\n1,\n")
    spec = load(tmp_path, "p.prompt.yaml", "prompt: '{{ x }}'\ncases:\n  - file: c.csv\n")
    assert spec.cases[0].vars == {"x": "1", "y": ""}


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("c.jsonl", ""),
        ("c.jsonl", "\n  \n"),
        ("c.csv", "x,__id\n"),
        ("c.yaml", "# nothing yet\n"),
        ("c.yaml", "cases: []\n"),
        ("c.json", "[]"),
    ],
    ids=[
        "empty jsonl",
        "blank jsonl",
        "header-only csv",
        "comment-only yaml",
        "cases-[]",
        "json-[]",
    ],
)
def test_case_file_without_cases_is_an_error(tmp_path: Path, name: str, text: str) -> None:
    cases = write(tmp_path, name, text)
    _, error = spec_error(tmp_path, "p.prompt.yaml", f"prompt: hi\ncases:\n  - file: {name}\n")
    assert (error.path, error.line) == (cases, 1)
    assert error.message == "the case file has no cases: nothing to run"


@pytest.mark.parametrize("text", ["prompt: hi\n", "prompt: hi\ncases: []\n"])
def test_a_collected_prompt_file_without_cases_is_an_error(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, "p.prompt.yaml", text)
    with pytest.raises(SpecError) as info:
        load_spec(path, builtin_registry(Project.at(tmp_path)), require_cases=True)
    assert info.value.message == "no cases: nothing to run"
    assert info.value.hint is not None and "cases: [{id: first" in info.value.hint
    # the promptcheck fixture needs none
    assert load_spec(path, builtin_registry(Project.at(tmp_path))).cases == ()


BAD_IDS = [
    "a::b",
    "a[1]",
    "it's",
    'say "hi"',
    "tab\there",
    "bell\a",
    " lead",
    "trail ",
    "x\n",
    "$(x)",
]


@pytest.mark.parametrize("case_id", BAD_IDS)
def test_case_id_that_cannot_be_selected_is_an_error(tmp_path: Path, case_id: str) -> None:
    text = f"prompt: hi\ncases:\n  - id: {json.dumps(case_id)}\n"
    path, error = spec_error(tmp_path, "p.prompt.yaml", text)
    assert str(error).startswith(f"{path}:3: field 'cases.0.id' is {case_id!r}: a case id is")


@pytest.mark.parametrize("case_id", ["a::b", "a[1]", "it's"])
def test_case_id_rule_holds_in_jsonl_and_csv(tmp_path: Path, case_id: str) -> None:
    jsonl = write(tmp_path, "c.jsonl", '{"id": "ok"}\n' + json.dumps({"id": case_id}) + "\n")
    _, error = spec_error(tmp_path, "p.prompt.yaml", "prompt: hi\ncases:\n  - file: c.jsonl\n")
    assert (error.path, error.line) == (jsonl, 2)
    assert error.message.startswith(f"field 'id' is {case_id!r}: a case id is")
    csv_file = write(tmp_path, "c.csv", f'x,__id\n1,"{case_id}"\n')
    _, error = spec_error(tmp_path, "q.prompt.yaml", "prompt: hi\ncases:\n  - file: c.csv\n")
    assert (error.path, error.line) == (csv_file, 2)


def test_allowed_case_id_characters(tmp_path: Path) -> None:
    ids = ["refund 2 (EUR)", "a.b-c_d,e:f/g+h", "été", "7"]
    text = "prompt: hi\ncases:\n" + "".join(f"  - id: {json.dumps(i)}\n" for i in ids)
    assert [c.id for c in load(tmp_path, "p.prompt.yaml", text).cases] == ids


def test_utf8_byte_order_mark_is_accepted_in_json_prompt_and_case_files(tmp_path: Path) -> None:
    bom = b"\xef\xbb\xbf"
    (tmp_path / "c.jsonl").write_bytes(bom + b'{"id": "a", "vars": {"x": 1}}\n')
    (tmp_path / "c.json").write_bytes(bom + b'[{"id": "b", "vars": {"x": 2}}]')
    prompt = '{"prompt": "{{ x }}", "cases": [{"file": "c.jsonl"}, {"file": "c.json"}]}'
    (tmp_path / "p.prompt.json").write_bytes(bom + prompt.encode())
    spec = load_spec(tmp_path / "p.prompt.json", builtin_registry(Project.at(tmp_path)))
    assert [(c.id, c.prompt) for c in spec.cases] == [("a", "1"), ("b", "2")]


def test_jsonl_string_may_hold_a_line_separator(tmp_path: Path) -> None:
    write(
        tmp_path,
        "c.jsonl",
        '{"id": "a", "vars": {"x": "one\u2028two"}}\n{"id": "b", "vars": {"x": 2}}\n',
    )
    spec = load(tmp_path, "p.prompt.yaml", "prompt: '{{ x }}'\ncases:\n  - file: c.jsonl\n")
    assert spec.cases[0].vars == {"x": "one\u2028two"}
    assert spec.cases[1].line == 2


NOT_JSON_DATA = [
    ("prompt: hi\nparams: {seed: 2024-01-02}\n", 2, "field 'params.seed' is a date (2024-01-02)"),
    ("prompt: hi\nparams: {stop: !!set {a}}\n", 2, "field 'params.stop' is a set ({'a'})"),
    (
        "prompt: '{{ x }}'\ncases:\n  - vars: {x: !!binary aGk=}\n",
        3,
        "field 'cases.0.vars.x' is binary",
    ),
    ("prompt: hi\n1: 2\n", 1, "the file has a key that is not a string (1)"),
    ("prompt: hi\ncases:\n  - on: x\n", 3, "field 'cases.0' has a key that is not a string (True)"),
    (
        "prompt: hi\ncases:\n  - expect:\n      - 1: a\n",
        4,
        "field 'cases.0.expect.0' has a key that is not a string (1)",
    ),
    (
        "prompt: hi\nparams:\n  logit_bias: {50256: -100}\n",
        3,
        "field 'params.logit_bias' has a key",
    ),
]


@pytest.mark.parametrize(
    ("text", "line", "message"), NOT_JSON_DATA, ids=[n[2][:40] for n in NOT_JSON_DATA]
)
def test_value_that_is_not_json_data_is_an_error(
    tmp_path: Path, text: str, line: int, message: str
) -> None:
    _, error = spec_error(tmp_path, "p.prompt.yaml", text)
    assert error.line == line
    assert error.message.startswith(message)


def test_lone_surrogate_in_a_json_case_file_is_an_error(tmp_path: Path) -> None:
    cases = write(tmp_path, "c.jsonl", '{"id": "a", "vars": {"x": "\\udc00"}}\n')
    _, error = spec_error(tmp_path, "p.prompt.yaml", "prompt: hi\ncases:\n  - file: c.jsonl\n")
    assert (error.path, error.line) == (cases, 1)
    assert (
        error.message
        == "field 'vars.x' holds a lone surrogate ('\\udc00'), which is not Unicode text"
    )


def test_surrogate_pair_in_json_is_one_character(tmp_path: Path) -> None:
    spec = load(
        tmp_path,
        "p.prompt.json",
        '{"prompt": "\\ud83d\\ude00 {{ x }}", "cases": [{"vars": {"x": 1}}]}',
    )
    assert spec.cases[0].prompt == "\U0001f600 1"


@pytest.mark.parametrize("name", ["p.prompt.yaml", "p.prompt.toml"])
def test_integer_too_long_to_convert_is_an_error_at_its_line(tmp_path: Path, name: str) -> None:
    text = (
        "prompt: hi\nparams: {seed: X}\n" if name.endswith("yaml") else 'prompt = "hi"\nseed = X\n'
    )
    _, error = spec_error(tmp_path, name, text.replace("X", "9" * 5000))
    assert (error.line, error.message) == (2, "a number has more than 4300 digits")


def test_csv_header_naming_a_column_twice_is_an_error(tmp_path: Path) -> None:
    cases = write(tmp_path, "c.csv", "x,y,x\n1,2,3\n")
    _, error = spec_error(tmp_path, "p.prompt.yaml", "prompt: '{{ x }}'\ncases:\n  - file: c.csv\n")
    assert (error.path, error.line, error.message) == (
        cases,
        1,
        "the header names column 'x' more than once",
    )


def test_csv_field_over_the_size_limit_is_an_error(tmp_path: Path) -> None:
    cases = write(tmp_path, "c.csv", "x\nshort\n" + "a" * 200_000 + "\n")
    _, error = spec_error(tmp_path, "p.prompt.yaml", "prompt: '{{ x }}'\ncases:\n  - file: c.csv\n")
    assert (error.path, error.line) == (cases, 3)
    assert error.message == "invalid CSV: field larger than field limit (131072)"


def test_duplicate_key_in_a_jsonl_case_is_an_error(tmp_path: Path) -> None:
    cases = write(tmp_path, "c.jsonl", '{"id": "a"}\n{"id": "b", "vars": {"x": 1, "x": 2}}\n')
    _, error = spec_error(tmp_path, "p.prompt.yaml", "prompt: hi\ncases:\n  - file: c.jsonl\n")
    assert (error.path, error.line, error.message) == (cases, 2, "duplicate key 'x'")


def test_jsonl_lines_may_end_in_cr_lf_or_cr(tmp_path: Path) -> None:
    (tmp_path / "c.jsonl").write_bytes(b'{"id": "a"}\r\n{"id": "b"}\r{"id": "c"}\n')
    spec = load(tmp_path, "p.prompt.yaml", "prompt: hi\ncases:\n  - file: c.jsonl\n")
    assert [(c.id, c.line) for c in spec.cases] == [("a", 1), ("b", 2), ("c", 3)]


@pytest.mark.parametrize("name", ["model", "messages", "prompt", "stream"])
def test_param_that_promptcheck_sets_is_an_error(tmp_path: Path, name: str) -> None:
    text = f"prompt: hi\nparams:\n  temperature: 0\n  {name}: x\n"
    path, error = spec_error(tmp_path, "p.prompt.yaml", text)
    assert str(error).startswith(
        f"{path}:4: params: '{name}' is set by promptcheck, not by params\n  hint: the model is"
    )


def test_a_prompt_file_linking_outside_is_refused_through_a_linked_folder_too(
    tmp_path: Path,
) -> None:
    """pytest given a path through a symlinked folder (macOS's /tmp is one) sees the prompt
    file's unresolved path, which is not under the resolved rootdir."""
    real, outside = tmp_path / "real", tmp_path / "outside"
    real.mkdir()
    outside.mkdir()
    (outside / "secret.prompt.yaml").write_text("prompt: secret\ncases: [{id: a}]\n")
    (real / "leak.prompt.yaml").symlink_to(outside / "secret.prompt.yaml")
    (tmp_path / "link").symlink_to(real)
    link = tmp_path / "link"
    with pytest.raises(SpecError) as info:
        load_spec(link / "leak.prompt.yaml", builtin_registry(Project.at(link)))
    assert "links to a file outside the project" in info.value.message


PINNED_CASES = """\
model: openai:m
params: {temperature: 0, max_tokens: 20}
messages:
  - role: system
    content: "Answer in {{ language }}."
  - role: user
    content: |
      Question: {{ q }}
      Context: {{ ctx }}
cases:
  - {id: c0, vars: {language: en, q: "2 + 2?", ctx: 4}, expect: [{equals: ok}]}
  - id: c1
    vars: {language: fr, q: yes, ctx: [1, 2.5, null, {a: true}]}
    expect: [{equals: ok}]
"""


def test_cache_keys_of_loaded_cases_are_pinned(tmp_path: Path) -> None:
    """Reading, rendering and compiling faster must not move a key: every cached answer is
    filed under them (values from the code before the YAML event path and layouts)."""
    spec = load(tmp_path, "p.prompt.yaml", PINNED_CASES)
    keys = [
        cache_key(spec.request(case, "openai:m"), {"base_url": "http://x/v1"}, 0)
        for case in spec.cases
    ]
    assert keys == [
        "11cb5bb92b1692b3c054ae909b10af90cf8143ee0c8f6e7bb672298ef37d758c",
        "ff294d75e15142ca6eff576e1d7b85cfef0fa5b8ca46458401ddc8be2287630b",
    ]
