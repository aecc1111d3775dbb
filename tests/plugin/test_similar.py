"""``similar`` in whole runs: on an endpoint model its embeddings are model calls (planned,
counted by --promptcheck-max-calls, cached per text, batched, made once under xdist, none on a
rerun); on the bundled wordllama backend it runs in the item; ``to: baseline`` compares with
the recorded outputs."""

from __future__ import annotations

import pytest

from tests.loopback import LoopbackServer

REPLIES = {
    "Ana": "hello Ana and welcome to our shop",
    "Bo": "hello Bo and welcome to the shop",
    "Cy": "the invoice is attached",
}
FIRST_PLAN = "promptcheck: 9 model calls (6 asked by checks): 9 live, 0 from cache"
"""Before any output exists each sample's embeddings are counted (its own and the reference's);
the reference text is the same for every case, so 7 distinct calls are made."""


@pytest.fixture
def embedding(pytester: pytest.Pytester, openai_env: LoopbackServer) -> LoopbackServer:
    pytester.copy_example("similar")
    openai_env.set_model("writer", lambda request: REPLIES[request.user_text.split()[-1]])
    return openai_env


def embedded_texts(server: LoopbackServer) -> list[str]:
    return sorted(t for r in server.embedding_requests for t in r.body["input"])


def test_outputs_are_compared_through_the_endpoint(
    pytester: pytest.Pytester, embedding: LoopbackServer
) -> None:
    result = pytester.runpytest()
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines([FIRST_PLAN])
    result.stdout.fnmatch_lines(
        ['*FAIL  similar: cosine 0.* < min 0.5 to "hello and welcome to our shop" (openai:embed)']
    )
    assert embedded_texts(embedding) == sorted([*REPLIES.values(), "hello and welcome to our shop"])


def test_concurrent_embeddings_share_requests(
    pytester: pytest.Pytester, embedding: LoopbackServer
) -> None:
    pytester.runpytest("--promptcheck-cache=off").assert_outcomes(passed=2, failed=1)
    assert sum(embedding.embedding_batches) == 4
    assert len(embedding.embedding_requests) < 4


def test_a_rerun_embeds_nothing_and_plans_from_the_cache(
    pytester: pytest.Pytester, embedding: LoopbackServer
) -> None:
    pytester.runpytest()
    embedding.reset()
    result = pytester.runpytest()
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["promptcheck: 7 model calls (4 asked by checks): 0 live, 7 from*"])
    assert embedding.requests == []


def test_max_calls_counts_the_embeddings(
    pytester: pytest.Pytester, embedding: LoopbackServer
) -> None:
    refused = pytester.runpytest("--promptcheck-max-calls=8")
    assert refused.ret == pytest.ExitCode.USAGE_ERROR
    refused.stdout.fnmatch_lines(["*needs 9 live model calls, more than*=8*"])
    assert embedding.requests == []


def test_under_xdist_each_text_is_embedded_once(
    pytester: pytest.Pytester, embedding: LoopbackServer
) -> None:
    embedding.latency_ms = 20
    pytester.runpytest("-n", "2").assert_outcomes(passed=2, failed=1)
    assert embedded_texts(embedding) == sorted([*REPLIES.values(), "hello and welcome to our shop"])


def test_to_baseline_passes_without_an_entry_then_compares_with_it(
    pytester: pytest.Pytester, embedding: LoopbackServer
) -> None:
    path = pytester.path / "reply.prompt.yaml"
    text = path.read_text().replace('to: "hello and welcome to our shop"', "to: baseline")
    path.write_text(text)
    first = pytester.runpytest("-v")
    first.assert_outcomes(passed=3)
    assert embedding.embedding_requests == []  # nothing to compare with: no call
    pytester.runpytest("--promptcheck-update-baseline").assert_outcomes(passed=3)

    embedding.set_model("writer", lambda request: "the invoice is attached")
    moved = pytester.runpytest("--promptcheck-cache=refresh")
    moved.assert_outcomes(passed=1, failed=2)
    moved.stdout.fnmatch_lines(["*similar: cosine 0.* < min 0.5 to baseline sample 1*"])


def test_the_bundled_backend_judges_in_the_item(
    pytester: pytest.Pytester, embedding: LoopbackServer
) -> None:
    path = pytester.path / "reply.prompt.yaml"
    path.write_text(path.read_text().replace(", min: 0.5, model: openai:embed", ", min: 0.6"))
    result = pytester.runpytest()
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["promptcheck: 3 model calls: 3 live, 0 from cache"])
    result.stdout.fnmatch_lines(["*similar: cosine 0.* < min 0.6 to * (wordllama)*"])
    assert embedding.embedding_requests == []


def test_a_missing_extra_is_one_collection_error_naming_the_install(
    pytester: pytest.Pytester, embedding: LoopbackServer
) -> None:
    path = pytester.path / "reply.prompt.yaml"
    path.write_text(path.read_text().replace(", min: 0.5, model: openai:embed", ""))
    pytester.makeconftest("import sys\nsys.modules['wordllama'] = None  # not installed\n")
    result = pytester.runpytest_subprocess()
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(
        [
            "*reply.prompt.yaml:6: check 'similar': model 'wordllama' needs the wordllama "
            "package, which is not installed*"
        ]
    )
    assert "  hint: pip install 'pytest-promptcheck[similar]'" in result.stdout.lines
    assert "Traceback" not in result.stdout.str()
    assert embedding.requests == []
