"""The key never reaches the terminal or the JUnit XML when a call fails at the socket level.

pytest prints every frame's locals with -l and the full traceback with --tb=long; the run
must still show one clean error per item and no key, whatever the server sends.
"""

from __future__ import annotations

import pytest

from tests.loopback_fixtures import TEST_API_KEY
from tests.raw_server import RawServer, response

SCRIPTS = {
    "status 2OO": response(b"{}", status=b"HTTP/1.1 2OO OK"),
    "chunk size ZZ": response(b"ZZ\r\nhello\r\n0\r\n\r\n", headers=b"Transfer-Encoding: chunked"),
}


@pytest.mark.parametrize("script", SCRIPTS)
def test_a_malformed_answer_is_one_clean_error_without_the_key(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, script: str
) -> None:
    pytester.copy_example("http_faults")
    with RawServer(SCRIPTS[script]) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", TEST_API_KEY)
        result = pytester.runpytest_subprocess(
            "--junitxml=junit.xml",
            "-l",
            "--tb=long",
            "--showlocals",
            "--promptcheck-cache=off",
            "--promptcheck-retries=0",  # a malformed answer is retried like a broken connection
        )
    xml = (pytester.path / "junit.xml").read_text()
    output = "\n".join([*result.outlines, *result.errlines])
    assert TEST_API_KEY not in output
    assert TEST_API_KEY not in xml
    assert "Traceback" not in output
    assert "During handling" not in output  # the error is not shown a second time as a chain
    assert sum(line.startswith("one errored: ") for line in result.outlines) == 1
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*one errored: openai: no response after 1 try: *malformed*"])
    assert server.requests  # the call was made, with the key, to the configured server only
