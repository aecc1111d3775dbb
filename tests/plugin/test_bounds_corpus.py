"""fixtures/hostile/bounds-*: each hostile project is one clean collection error, in bounded time.

The projects are run by one real pytest process (a hang or a memory bomb cannot take this test
run with it) under an address-space limit, with --continue-on-collection-errors; each project's
error is found by its path. The first line of a project's expect.txt is text its error contains.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CORPUS = Path(__file__).parents[2] / "fixtures" / "hostile"
PROJECTS = sorted(p.name for p in CORPUS.glob("bounds-*") if (p / "expect.txt").is_file())
TIMEOUT_S = 120
MEMORY_LIMIT = 2 * 1024**3
RUNNER = (
    "import resource, sys\n"
    f"resource.setrlimit(resource.RLIMIT_AS, ({MEMORY_LIMIT}, {MEMORY_LIMIT}))\n"
    "import pytest\n"
    "sys.exit(pytest.main(sys.argv[1:]))\n"
)
ERROR_HEADER = re.compile(r"^_+ ERROR collecting (.+?) _+$", re.MULTILINE)


@pytest.fixture(scope="module")
def output(tmp_path_factory: pytest.TempPathFactory) -> str:
    root = tmp_path_factory.mktemp("bounds")
    for name in PROJECTS:
        shutil.copytree(CORPUS / name, root / name)
    (root / "pytest.ini").write_text("[pytest]\n")
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            RUNNER,
            "-p",
            "no:cacheprovider",
            "-q",
            "--continue-on-collection-errors",
        ],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        env={"PATH": "/usr/bin:/bin", "OPENAI_API_KEY": "promptcheck-bounds-key"},
    )
    assert done.returncode in (pytest.ExitCode.TESTS_FAILED, pytest.ExitCode.INTERRUPTED), done
    return done.stdout + done.stderr


@pytest.mark.parametrize("name", PROJECTS)
def test_hostile_project_is_one_clean_collection_error(output: str, name: str) -> None:
    expected = (CORPUS / name / "expect.txt").read_text("utf-8").splitlines()[0]
    errors = _errors_of(output, name)
    assert len(errors) == 1, output
    assert expected in errors[0], errors[0]
    assert "hint: " in errors[0]
    for leak in ("Traceback", "INTERNALERROR", "promptcheck-bounds-key"):
        assert leak not in output


def _errors_of(output: str, name: str) -> list[str]:
    headers = list(ERROR_HEADER.finditer(output))
    summary = re.search(r"^=+ short test summary info =+$", output, re.MULTILINE)
    ends = [h.start() for h in headers[1:]] + [summary.start() if summary else len(output)]
    return [
        output[h.start() : end]
        for h, end in zip(headers, ends, strict=True)
        if h.group(1).startswith(f"{name}/")
    ]
