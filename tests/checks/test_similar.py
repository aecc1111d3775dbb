"""The ``similar`` check: its argument, its verdicts on the bundled wordllama backend, and
the embedding calls it declares for an endpoint model."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pytest_promptcheck.checks.api import Check, CheckFn, ModelCheck, SampleContext
from pytest_promptcheck.checks.builtins import builtin_registry
from pytest_promptcheck.checks.similar import MAX_RECORDED, MAX_TARGETS
from pytest_promptcheck.checks.similar import _vector as similar_vector
from pytest_promptcheck.embeddings.wordllama import DEFAULT_MIN
from pytest_promptcheck.errors import CheckArgError
from pytest_promptcheck.project import Project
from pytest_promptcheck.records import Completion


def compile_similar(arg: object, kind: str = "similar") -> Check:
    return builtin_registry(Project.at(Path.cwd())).compile(kind, arg, Path())


def sample(text: str, recorded: tuple[str, ...] | None = None) -> SampleContext:
    return SampleContext(text=text, completion=Completion(text, "m"), recorded=recorded)


def local(arg: object, kind: str = "similar") -> CheckFn:
    check = compile_similar(arg, kind)
    assert not isinstance(check, ModelCheck)
    return check


# the argument


@pytest.mark.parametrize(
    ("arg", "message"),
    [
        ("refund", "expected a mapping with 'to'"),
        ({"min": 0.5}, "'to' is missing"),
        ({"to": "x", "mn": 0.5}, "unknown key 'mn'"),
        ({"to": ""}, "to: expected a non-empty string, a list of them, or baseline"),
        ({"to": []}, "to: expected a non-empty string"),
        ({"to": ["ok", 3]}, "to item 1: expected a non-empty string, got the number 3"),
        ({"to": "x", "min": 1.5}, "min: 1.5 is not a cosine (from -1 to 1)"),
        ({"to": "x", "min": "high"}, "min: expected a number from -1 to 1"),
        ({"to": "x", "min": True}, "min: expected a number from -1 to 1"),
        ({"to": "x", "min": float("nan")}, "min: expected a number from -1 to 1"),
        ({"to": "x", "model": "openai:embed"}, "min is required with the endpoint model"),
        ({"to": "x", "model": "word-llama"}, "model: unknown similarity backend 'word-llama'"),
        ({"to": "x", "model": "local:gemma-3-270m", "min": 0.5}, "does not embed text"),
        ({"to": "x", "model": "anthropic:claude-x", "min": 0.5}, "does not embed text"),
    ],
)
def test_a_bad_argument_is_one_clear_error(arg: object, message: str) -> None:
    with pytest.raises(CheckArgError) as info:
        compile_similar(arg)
    assert message in info.value.message


def test_a_huge_to_list_is_refused() -> None:
    with pytest.raises(CheckArgError, match=f"more than {MAX_TARGETS}"):
        compile_similar({"to": [f"text {i}" for i in range(MAX_TARGETS + 1)]})


# the bundled backend


def test_a_paraphrase_passes_with_the_calibrated_default_min() -> None:
    check = local({"to": "I was charged twice, please refund me."})
    got = check(sample("Please refund the double charge on my card."))
    assert got.passed
    assert f">= min {DEFAULT_MIN:g} to " in got.reason
    assert got.reason.startswith("similar: cosine 0.")
    assert got.reason.endswith("(wordllama)")


def test_an_unrelated_text_fails_and_the_reason_shows_the_cosine() -> None:
    got = local({"to": "Your refund is on its way.", "min": 0.5})(sample("Paris is in France."))
    assert not got.passed
    assert '< min 0.5 to "Your refund is on its way." (wordllama)' in got.reason
    assert 0.0 <= got.score < 0.5


def test_the_best_match_of_a_list_counts_and_is_named() -> None:
    to = ["The weather is sunny today.", "We will refund your order.", "Paris is in France."]
    got = local({"to": to, "min": 0.5})(sample("Your order will be refunded."))
    assert got.passed
    assert '"We will refund your order." (best of 3, item 1)' in got.reason


def test_the_same_text_scores_one() -> None:
    got = local({"to": "Same words here.", "min": 0.99})(sample("Same words here."))
    assert got.passed
    assert got.score == pytest.approx(1.0, abs=1e-5)


def test_an_empty_output_is_similar_to_nothing() -> None:
    got = local({"to": "anything"})(sample("  "))
    assert not got.passed
    assert got.reason == "similar: the output is empty (wordllama)"


def test_baseline_without_an_entry_passes_saying_so() -> None:
    got = local({"to": "baseline"})(sample("Anything at all."))
    assert got.passed
    assert got.reason == "similar to baseline: no baseline entry yet (wordllama)"


def test_baseline_compares_with_the_recorded_outputs() -> None:
    check = local({"to": "baseline", "min": 0.6})
    recorded = ("We will refund your order.", "Paris is in France.")
    assert check(sample("Your order will be refunded.", recorded)).passed
    drifted = check(sample("The weather is sunny today.", recorded))
    assert not drifted.passed
    assert "to baseline sample" in drifted.reason


def test_not_similar_flips_the_verdict() -> None:
    got = local({"to": "Paris is in France.", "min": 0.5}, "not_similar")(sample("Rain today."))
    assert got.passed
    assert got.reason.startswith("not_similar: cosine")


# an endpoint model


def endpoint(arg: dict[str, object]) -> ModelCheck:
    check = compile_similar({"model": "openai:embed", "min": 0.5, **arg})
    assert isinstance(check, ModelCheck)
    return check


def vector_answer(vector: list[float]) -> Completion:
    return Completion(json.dumps(vector), "embed")


def test_an_endpoint_asks_one_embedding_per_text_and_declares_them() -> None:
    check = endpoint({"to": ["first", "second"]})
    assert check.calls == 3
    assert check.models == ("openai:embed",)
    jobs = check.requests(sample("output"))
    assert [(r.embed_input, r.model, index) for r, index in jobs] == [
        ("output", "openai:embed", 0),
        ("first", "openai:embed", 0),
        ("second", "openai:embed", 0),
    ]


def test_an_endpoint_judges_the_vectors_it_got() -> None:
    check = endpoint({"to": ["first", "second"]})
    answers = [vector_answer([1.0, 0.0]), vector_answer([0.0, 1.0]), vector_answer([1.0, 1.0])]
    got = check.judge(sample("output"), answers)
    assert got.passed
    assert got.reason == (
        'similar: cosine 0.707 >= min 0.5 to "second" (best of 2, item 1) (openai:embed)'
    )


def test_an_unusable_embedding_is_not_evaluated() -> None:
    check = endpoint({"to": "first"})
    got = check.judge(sample("output"), [vector_answer([1.0]), Completion("oops", "embed")])
    assert not got.passed and not got.evaluated
    assert "openai:embed answered no usable embedding" in got.reason


def test_an_endpoint_baseline_asks_nothing_without_an_entry() -> None:
    check = endpoint({"to": "baseline"})
    assert check.calls == 1 + MAX_RECORDED
    assert check.requests(sample("output")) == []
    assert check.judge(sample("output"), []).passed
    recorded = tuple(f"old {i}" for i in range(MAX_RECORDED + 3))
    assert len(check.requests(sample("output", recorded))) == 1 + MAX_RECORDED


# loading


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_wordllama_loads_from_its_wheel_without_opening_a_socket() -> None:
    done = run_python(
        """
        import socket

        class NoNetwork(socket.socket):
            def __init__(self, *args, **kwargs):
                raise OSError("no socket may be opened")

        socket.socket = NoNetwork
        socket.create_connection = NoNetwork
        from pytest_promptcheck.embeddings.wordllama import WordLlamaEmbedder

        print(len(WordLlamaEmbedder().embed(["offline"])[0]))
        """
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "256"


def test_a_backend_is_imported_only_when_a_check_first_embeds() -> None:
    done = run_python(
        """
        import sys
        from pathlib import Path
        from pytest_promptcheck.checks.api import SampleContext
        from pytest_promptcheck.checks.builtins import builtin_registry
        from pytest_promptcheck.project import Project
        from pytest_promptcheck.records import Completion

        import pytest_promptcheck.plugin
        registry = builtin_registry(Project.at(Path.cwd()))
        print("pytest_promptcheck.checks.similar" in sys.modules)
        check = registry.compile("similar", {"to": "hello"}, Path())
        print("wordllama" in sys.modules)
        check(SampleContext(text="hi", completion=Completion("hi", "m")))
        print("wordllama" in sys.modules)
        """
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "False", "True"]


@pytest.mark.parametrize(
    "text", ["[NaN, 1]", "[1e999, 1]", "[1" + "0" * 400 + ", 1]", "[true, 1]", "[" * 100_000]
)
def test_an_embedding_that_is_not_finite_numbers_is_unusable(text: str) -> None:
    # a NaN vector's cosine came out as 1.0 (min/max pass NaN over), passing any min
    with pytest.raises(ValueError, match="not a list of numbers"):
        similar_vector(text)
