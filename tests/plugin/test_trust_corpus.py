"""Each hostile project in fixtures/hostile/trust-*/ is one clean collection error, promptly.

A project runs in its own pytest process (its pytest.ini makes its folder the rootdir) with the
key set and the base URL on a loopback server: nothing may reach that server or any other.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.loopback import LoopbackServer
from tests.loopback_fixtures import TEST_API_KEY

CORPUS = Path(__file__).parents[2] / "fixtures" / "hostile"
PROJECTS = sorted(CORPUS.glob("trust-*"))
TIME_LIMIT_S = 60  # a guard against a hang, not a measurement


@pytest.mark.parametrize("source", PROJECTS, ids=[p.name for p in PROJECTS])
def test_hostile_project_is_one_clean_collection_error(
    source: Path, tmp_path: Path, openai_server: LoopbackServer
) -> None:
    project = shutil.copytree(source, tmp_path / source.name, symlinks=True)
    expected = (project / "expect.txt").read_text(encoding="utf-8").splitlines()[0]
    env = {
        **os.environ,
        "OPENAI_API_KEY": TEST_API_KEY,
        "OPENAI_BASE_URL": openai_server.base_url,
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:randomly"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIME_LIMIT_S,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode in (1, 2), output
    assert expected in output
    assert "hostile.prompt.yaml" in output
    for forbidden in ("Traceback", "INTERNALERROR", TEST_API_KEY):
        assert forbidden not in output
    assert openai_server.requests == []
    assert not (project / "pwned").exists()
