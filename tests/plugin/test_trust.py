"""A prompt file cannot run code, reach the network, or read a file outside the project."""

from __future__ import annotations

import json
import socket
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.loopback import LoopbackServer, rules

INI = "[pytest]\npythonpath = .\n"
HINT = "*hint: a prompt file may name only functions defined in modules under the rootdir; *"


def python_prompt(target: str) -> str:
    head = "prompt: 'run {{ x }}'\nmodel: openai:m\ncases:\n  - vars: {x: go}\n"
    return head + f"    expect: [{{python: '{target}'}}]\n"


@pytest.fixture
def project(pytester: pytest.Pytester, openai_env: LoopbackServer) -> LoopbackServer:
    pytester.makeini(INI)
    openai_env.set_model("m", rules({}, default="import os; os.system('touch pwned')"))
    return openai_env


@pytest.mark.parametrize(
    ("target", "why"),
    [
        ("builtins:exec", "module builtins is built into Python"),
        ("shutil:rmtree", "module shutil is at *, outside the rootdir *"),
        ("os:system", "module os is *"),  # frozen into the interpreter on Python 3.11+
        ("subprocess:getoutput", "module subprocess is at *, outside the rootdir *"),
    ],
)
def test_python_check_refuses_functions_outside_the_project(
    pytester: pytest.Pytester, project: LoopbackServer, target: str, why: str
) -> None:
    pytester.makefile(".prompt.yaml", hostile=python_prompt(target))
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(
        [
            f"*hostile.prompt.yaml:5: check 'python': {target} is not the project's code: {why}",
            HINT + "promptcheck_python_modules*",
        ]
    )
    assert project.requests == []
    assert not (pytester.path / "pwned").exists()


def test_a_project_module_cannot_hand_out_another_modules_function(
    pytester: pytest.Pytester, project: LoopbackServer
) -> None:
    pytester.makepyfile(mychecks="import os\n\nmycheck = os.system\n")
    pytester.makefile(".prompt.yaml", hostile=python_prompt("mychecks:mycheck"))
    result = pytester.runpytest()
    result.stdout.fnmatch_lines(
        ["*check 'python': mychecks:mycheck is not the project's code: it is defined in *os*"]
    )
    assert project.requests == []


def test_a_function_of_the_project_runs(pytester: pytest.Pytester, project: LoopbackServer) -> None:
    pytester.makepyfile(mychecks="def mentions_os(output, case):\n    return 'os' in output\n")
    pytester.makefile(".prompt.yaml", mine=python_prompt("mychecks:mentions_os"))
    pytester.runpytest().assert_outcomes(passed=1)


@pytest.fixture
def outside_module(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """A package on sys.path but outside the rootdir; importing it leaves a marker file."""
    folder = tmp_path_factory.mktemp("elsewhere")
    package = folder / "extchecks"
    package.mkdir()
    marker = folder / "imported"
    (package / "__init__.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    (package / "tone.py").write_text("def ok(output, case):\n    return True\n")
    monkeypatch.syspath_prepend(str(folder))
    return marker


def test_a_module_outside_the_rootdir_is_refused_before_it_is_imported(
    pytester: pytest.Pytester, project: LoopbackServer, outside_module: Path
) -> None:
    pytester.makefile(".prompt.yaml", external=python_prompt("extchecks.tone:ok"))
    result = pytester.runpytest()
    result.stdout.fnmatch_lines(
        ["*extchecks.tone:ok is not the project's code: module extchecks *"]
    )
    assert not outside_module.exists()


def test_the_ini_allowlist_allows_a_module_and_its_submodules(
    pytester: pytest.Pytester, project: LoopbackServer, outside_module: Path
) -> None:
    pytester.makeini(INI + "promptcheck_python_modules =\n    extchecks\n")
    pytester.makefile(".prompt.yaml", external=python_prompt("extchecks.tone:ok"))
    pytester.runpytest().assert_outcomes(passed=1)


def test_a_virtualenv_inside_the_rootdir_is_not_the_project(
    pytester: pytest.Pytester, project: LoopbackServer
) -> None:
    site = pytester.mkdir(".venv") / "lib" / "site-packages"
    site.mkdir(parents=True)
    (pytester.path / ".venv" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (site / "vendored.py").write_text("def ok(output, case):\n    return True\n")
    pytester.makeini(f"[pytest]\npythonpath = . {site}\n")
    pytester.makefile(".prompt.yaml", hostile=python_prompt("vendored:ok"))
    result = pytester.runpytest()
    result.stdout.fnmatch_lines(["*vendored:ok is not the project's code: * environment inside*"])


def test_an_ini_allowlist_entry_must_be_a_module_name(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\npromptcheck_python_modules = my-checks\n")
    result = pytester.runpytest()
    result.stderr.fnmatch_lines(
        ["*ini promptcheck_python_modules: 'my-checks' is not a module name*"]
    )


# --- files and $ref -------------------------------------------------------------------------

SCHEMA_PROMPT = """\
model: openai:m
prompt: 'ticket {{{{ x }}}}'
format:
  type: json
  schema: {schema}
cases:
  - vars: {{x: a}}
"""


def schema_prompt(schema: object) -> str:
    return SCHEMA_PROMPT.format(schema=json.dumps(schema))


def test_ref_to_an_http_server_makes_no_request(
    pytester: pytest.Pytester, project: LoopbackServer, openai_server: LoopbackServer
) -> None:
    project.set_model("m", rules({}, default='{"queue": "tech"}'))
    url = f"{openai_server.base_url}/schema.json"
    pytester.makefile(".prompt.yaml", remote=schema_prompt({"$ref": url}))
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(
        [f"*remote.prompt.yaml:5: format.schema: $ref {url}: remote references are not fetched"]
    )
    assert openai_server.requests == []


def test_file_uri_ref_to_etc_passwd_is_refused(
    pytester: pytest.Pytester, project: LoopbackServer
) -> None:
    pytester.makefile(".prompt.yaml", passwd=schema_prompt({"$ref": "file:///etc/passwd"}))
    result = pytester.runpytest()
    result.stdout.fnmatch_lines(
        ["*passwd.prompt.yaml:5: format.schema: $ref file:///etc/passwd is outside the project*"]
    )
    assert project.requests == []


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        yield silent.getsockname()[1]


def test_ref_to_a_server_that_never_answers_does_not_hang(
    pytester: pytest.Pytester, project: LoopbackServer, silent_port: int
) -> None:
    project.set_model("m", rules({}, default='{"queue": "tech"}'))  # JSON: validation would run
    url = f"http://127.0.0.1:{silent_port}/schema.json"
    pytester.makefile(".prompt.yaml", silent=schema_prompt({"$ref": url}))
    result = pytester.runpytest_subprocess(timeout=60)  # a guard: the fixed run ends at once
    result.stdout.fnmatch_lines(
        ["*silent.prompt.yaml:5: format.schema: $ref *: remote references*"]
    )


def test_relative_ref_to_a_sibling_schema_validates(
    pytester: pytest.Pytester, openai_env: LoopbackServer
) -> None:
    pytester.makeini(INI)
    defs = {"$defs": {"queue": {"enum": ["billing", "tech"]}}}
    ticket = {"type": "object", "properties": {"queue": {"$ref": "defs.json#/$defs/queue"}}}
    (pytester.mkdir("schemas") / "defs.json").write_text(json.dumps(defs))
    (pytester.path / "schemas" / "ticket.json").write_text(json.dumps(ticket))
    pytester.makefile(
        ".prompt.yaml",
        tickets=SCHEMA_PROMPT.format(schema="schemas/ticket.json") + "  - vars: {x: b}\n",
    )
    openai_env.set_model(
        "m", rules({"ticket a": '{"queue": "tech"}', "ticket b": '{"queue": "x"}'})
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        ["*output does not match format.schema: $.queue: 'x' is not one of*"]
    )


@pytest.fixture
def outside(pytester: pytest.Pytester, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder beside the project with a case file and a schema that must stay unread."""
    folder = tmp_path_factory.mktemp("outside")
    (folder / "cases.jsonl").write_text('{"id": "leak", "vars": {"x": "SECRET-FILE"}}\n')
    (folder / "schema.json").write_text('{"type": "object"}')
    return folder


def relative(target: Path, start: Path) -> str:
    return Path(*[".."] * len(start.parts[1:]), *target.parts[1:]).as_posix()


CASE_FILE_PROMPT = "model: openai:m\nprompt: '{{ x }}'\ncases:\n  - file: {path}\n"


@pytest.mark.parametrize("via", ["dotdot", "absolute", "symlink"])
def test_case_file_outside_the_rootdir_is_refused(
    pytester: pytest.Pytester, project: LoopbackServer, outside: Path, via: str
) -> None:
    path = {
        "dotdot": relative(outside / "cases.jsonl", pytester.path),
        "absolute": str(outside / "cases.jsonl"),
        "symlink": "cases/link.jsonl",
    }[via]
    pytester.mkdir("cases")
    (pytester.path / "cases" / "link.jsonl").symlink_to(outside / "cases.jsonl")
    pytester.makefile(".prompt.yaml", leak=CASE_FILE_PROMPT.replace("{path}", path))
    result = pytester.runpytest()
    result.stdout.fnmatch_lines(
        [
            f"*leak.prompt.yaml:4: {path} is outside the project (rootdir {pytester.path})",
            "*hint: *",
        ]
    )
    assert project.requests == []


@pytest.mark.parametrize("where", ["format", "check"])
def test_schema_path_outside_the_rootdir_is_refused(
    pytester: pytest.Pytester, project: LoopbackServer, outside: Path, where: str
) -> None:
    path = relative(outside / "schema.json", pytester.path)
    text = (
        schema_prompt(path)
        if where == "format"
        else f"model: openai:m\nprompt: p\ncases:\n  - expect: [{{schema: '{path}'}}]\n"
    )
    pytester.makefile(".prompt.yaml", leak=text)
    result = pytester.runpytest()
    result.stdout.fnmatch_lines([f"*leak.prompt.yaml:*: {path} is outside the project (rootdir *"])
    assert project.requests == []


def test_prompt_api_refuses_a_prompt_file_outside_the_rootdir(
    pytester: pytest.Pytester, openai_env: LoopbackServer, outside: Path
) -> None:
    (outside / "far.prompt.yaml").write_text("model: openai:m\nprompt: hi\ncases: [{}]\n")
    pytester.makepyfile(
        test_far=textwrap.dedent(
            f"""
            import pytest
            from pytest_promptcheck.errors import PromptcheckError

            def test_far(promptcheck):
                with pytest.raises(PromptcheckError, match="is outside the project"):
                    promptcheck.run({str(outside / "far.prompt.yaml")!r})
            """
        )
    )
    pytester.runpytest().assert_outcomes(passed=1)
