"""Every project under fixtures/hostile/ is one clean collection error, in bounded time and memory.

Each directory is a tiny project whose ``expect.txt`` holds, on its first line, text the error must
contain; a second line ``requests: allowed`` lets the run reach the model. Runs are real ``pytest``
processes (a hang, a crash or a memory bomb cannot take this test run with it), under an
address-space limit so that a bomb fails fast instead of swapping, with the API key set and the
provider pointed at a loopback server that counts what reaches it.

Starting pytest costs about a second, so the plain directories share one run (with
``--continue-on-collection-errors``, each directory's error is found by its path); a directory
with its own configuration (an ini file, a conftest.py) or that may reach the model runs alone.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.loopback import LoopbackServer
from tests.loopback_fixtures import TEST_API_KEY

CORPUS = Path(__file__).parents[2] / "fixtures" / "hostile"
DIRECTORIES = sorted(p.name for p in CORPUS.iterdir() if (p / "expect.txt").is_file())
OWN_CONFIG = {"pytest.ini", "pyproject.toml", "tox.ini", "setup.cfg", "conftest.py"}
TIMEOUT_S = 60
MEMORY_LIMIT = 2 * 1024**3
# pytest in a child process whose address space is capped (a limit applies to the process that
# sets it and its children, so the child sets its own before importing anything heavy)
RUNNER = (
    "import resource, sys\n"
    f"resource.setrlimit(resource.RLIMIT_AS, ({MEMORY_LIMIT}, {MEMORY_LIMIT}))\n"
    "import pytest\n"
    "sys.exit(pytest.main(sys.argv[1:]))\n"
)
ERROR_HEADER = re.compile(r"^_+ ERROR collecting (.+?) _+$", re.MULTILINE)


@dataclass(frozen=True)
class Expectation:
    text: str
    requests_allowed: bool
    alone: bool

    @classmethod
    def of(cls, name: str) -> Expectation:
        text, *rest = (CORPUS / name / "expect.txt").read_text("utf-8").splitlines()
        files = {p.name for p in (CORPUS / name).rglob("*")}
        allowed = "requests: allowed" in rest
        return cls(text, allowed, alone=allowed or bool(files & OWN_CONFIG))


@dataclass(frozen=True)
class Run:
    code: int
    output: str
    seconds: float
    requests: int


def run_pytest(project: Path, server: LoopbackServer, *args: str) -> Run:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PYTEST_", "OPENAI_", "ANTHROPIC_"))
    }
    env |= {"OPENAI_API_KEY": TEST_API_KEY, "OPENAI_BASE_URL": server.base_url}
    server.reset()
    started = time.monotonic()
    try:
        done = subprocess.run(
            [sys.executable, "-c", RUNNER, "-p", "no:cacheprovider", *args],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=TIMEOUT_S,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"pytest in {project} took more than {TIMEOUT_S} s: {exc.stdout!r}")
    seconds = time.monotonic() - started
    return Run(done.returncode, done.stdout + done.stderr, seconds, len(server.requests))


@pytest.fixture(scope="module")
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer() as started:
        yield started


@pytest.fixture(scope="module")
def shared_run(
    server: LoopbackServer, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Run]:
    """One pytest run over every directory that needs no run of its own."""
    root = tmp_path_factory.mktemp("hostile")
    for name in DIRECTORIES:
        if not Expectation.of(name).alone:
            shutil.copytree(CORPUS / name, root / name, symlinks=True)
    return root, run_pytest(root, server, "--continue-on-collection-errors", "-q")


@pytest.mark.parametrize("name", DIRECTORIES)
def test_hostile_project_is_one_clean_error(
    name: str,
    server: LoopbackServer,
    shared_run: tuple[Path, Run],
    tmp_path: Path,
) -> None:
    expect = Expectation.of(name)
    if expect.alone:
        shutil.copytree(CORPUS / name, tmp_path / name, symlinks=True)
        run, errors = run_pytest(tmp_path / name, server, "-q"), None
    else:
        run, errors = shared_run[1], _errors_of(shared_run[1].output, name)
        assert len(errors) == 1, f"{name}: expected one collection error\n{run.output}"
    output = run.output if errors is None else errors[0]
    assert run.code in (pytest.ExitCode.TESTS_FAILED, pytest.ExitCode.INTERRUPTED), run.output
    assert expect.text in output, run.output
    assert _offending_file(CORPUS / name, expect.text) in output
    assert "hint: " in output, f"{name}: the error says what to do next\n{output}"
    for leak in ("Traceback", "INTERNALERROR", TEST_API_KEY):
        assert leak not in run.output
    assert expect.requests_allowed or run.requests == 0
    assert run.seconds < TIMEOUT_S


def _errors_of(output: str, name: str) -> list[str]:
    """The collection error sections of the files in directory ``name``."""
    headers = list(ERROR_HEADER.finditer(output))
    summary = re.search(r"^=+ short test summary info =+$", output, re.MULTILINE)
    ends = [h.start() for h in headers[1:]] + [summary.start() if summary else len(output)]
    return [
        output[h.start() : end]
        for h, end in zip(headers, ends, strict=True)
        if h.group(1).startswith(f"{name}/")
    ]


def _offending_file(project: Path, expected: str) -> str:
    """The file the error must name: the one named in expect.txt, else the only prompt file."""
    files = sorted(p.name for p in project.rglob("*") if p.is_file() and p.name != "expect.txt")
    named = [f for f in files if f in expected]
    if named:
        return max(named, key=len)
    prompts = [f for f in files if ".prompt." in f]
    assert len(prompts) == 1, f"expect.txt must name the offending file among {files}"
    return prompts[0]
