"""Every malformed prompt file is one clean collection error: file, line, what, and a hint."""

from __future__ import annotations

import sys

import pytest

from tests.loopback import LoopbackServer, rules

BAD_FILES = [
    ("malformed_yaml.prompt.yaml", 6, "invalid YAML: *"),
    ("malformed_json.prompt.json", 5, "invalid JSON: Expecting ',' delimiter*"),
    ("malformed_toml.prompt.toml", 5, "invalid TOML: *"),
    ("unknown_field.prompt.yaml", 2, "unknown field 'modle'"),
    ("unknown_check.prompt.yaml", 6, "check 'containz': unknown check type 'containz'"),
    (
        "duplicate_id.prompt.yaml",
        7,
        "duplicate case id 'same' (first at duplicate_id.prompt.yaml:3)",
    ),
    ("missing_var.prompt.yaml", 5, "case 'forgot': template variable 'language' is missing*"),
    (
        "missing_schema.prompt.yaml",
        4,
        "format.schema: schema file not found: *nowhere.schema.json*",
    ),
    ("missing_case_file.prompt.yaml", 3, "case file not found: cases/nowhere.jsonl*"),
    ("invalid_schema.prompt.yaml", 4, "format.schema: *strng*"),
    ("sandbox_escape.prompt.yaml", 3, "case 'case-1': template tries to reach Python internals*"),
    ("bad_regex.prompt.yaml", 5, "check 'regex': *"),
    ("unknown_provider.prompt.yaml", None, "model: unknown provider 'openia'*"),
]
HINTS = {
    "unknown_field.prompt.yaml": "did you mean 'model'?*",
    "unknown_check.prompt.yaml": "did you mean 'contains'?*",
    "missing_var.prompt.yaml": "add language to this case's vars*",
}


@pytest.mark.parametrize(("name", "line", "message"), BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_bad_file_is_a_clean_collection_error(
    pytester: pytest.Pytester, name: str, line: int | None, message: str
) -> None:
    pytester.copy_example("bad_input")
    result = pytester.runpytest(name)
    assert result.ret == pytest.ExitCode.INTERRUPTED
    where = f"{name}:{line}" if line else name
    result.stdout.fnmatch_lines([f"*{where}: {message}", f"*hint: {HINTS.get(name, '*')}"])
    assert "Traceback" not in result.stdout.str()
    assert "site-packages" not in result.stdout.str()


def test_bad_line_in_a_case_file_names_that_file(pytester: pytest.Pytester) -> None:
    pytester.copy_example("bad_input")
    result = pytester.runpytest("bad_case_line.prompt.yaml")
    result.stdout.fnmatch_lines(["*cases/bad.jsonl:2: invalid JSON: *"])


def test_other_files_run_with_continue_on_collection_errors(
    pytester: pytest.Pytester, openai_env: LoopbackServer
) -> None:
    pytester.copy_example("bad_input")
    openai_env.set_model("m", rules({"x": "yes"}))
    good = "prompt: 'x'\nmodel: openai:m\ncases: [{expect: [{equals: 'yes'}]}]\n"
    pytester.makefile(".prompt.yaml", good=good)
    result = pytester.runpytest("--continue-on-collection-errors")
    result.assert_outcomes(passed=1, errors=len(BAD_FILES) + 1)


def test_a_case_id_with_every_allowed_character_can_be_selected_by_node_id(
    pytester: pytest.Pytester, openai_env: LoopbackServer
) -> None:
    openai_env.set_model("m", rules({}, default="yes"))
    case_id = "Refund 2 (EUR),a.b-c_d:e/f+g été"
    cases = f"cases:\n  - id: {case_id!r}\n  - id: other\n"
    pytester.makefile(".prompt.yaml", p=f"prompt: 'x'\nmodel: openai:m\n{cases}")
    # the shell-quoted node id that an accept command prints
    result = pytester.run("sh", "-c", f"{sys.executable} -m pytest 'p.prompt.yaml::{case_id}' -v")
    result.stdout.fnmatch_lines([f"*p.prompt.yaml::{case_id} PASSED*", "*1 passed*"])


def test_a_prompt_without_cases_is_an_error_unless_only_python_runs_it(
    pytester: pytest.Pytester, openai_env: LoopbackServer
) -> None:
    openai_env.set_model("m", rules({}, default="yes"))
    (pytester.path / "prompts").mkdir()
    (pytester.path / "prompts" / "ask.prompt.yaml").write_text("model: openai:m\nprompt: 'x'\n")
    pytester.makepyfile(
        test_flow="def test_flow(promptcheck):\n    assert promptcheck.run('ask').text == 'yes'\n"
    )
    result = pytester.runpytest()
    result.stdout.fnmatch_lines(
        ["*ask.prompt.yaml:1: no cases: nothing to run", "*hint: add cases*"]
    )
    assert result.ret == pytest.ExitCode.INTERRUPTED
    pytester.makeconftest("collect_ignore = ['prompts']\n")
    pytester.runpytest().assert_outcomes(passed=1)
