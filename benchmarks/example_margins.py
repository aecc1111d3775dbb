"""How far each verdict of the example suite is from flipping on another CPU or llama.cpp build.

Run: python benchmarks/example_margins.py [--examples DIR] [--cache-dir DIR] [--json FILE]
                                          [--compare FILE]

llama.cpp's kernels differ per CPU (AVX2, AVX-512, AMX, repacked weights), so the logits of one
prompt differ slightly between machines: between an AVX-512 and an AVX2 build of llama.cpp
0.3.36 the gaps below moved by a median 0.04 and at most 0.34 nats over 100 cases (see
examples/README.md). A verdict is robust when no such difference can flip it:

- greedy cases (temperature 0): along the greedy answer, every token whose replacement by another
  candidate flips the case's verdict (the answer then continues greedily and is judged by the
  case's own checks) is a *decisive* token; the case's margin is the smallest log-probability gap
  between the chosen token and such a candidate. Gaps above 1 nat are far beyond kernel noise.
  The smallest top-1/top-2 gap anywhere on the path (decisive or not) is printed beside it.
- sampled cases: the exact probability that one sample passes, summed over every answer the
  sampler can produce (llama-cpp-python's chain: top_k 40, top_p 0.95, min_p 0.05, temperature),
  and from it the probability that at least ``ceil(min_pass_rate * samples)`` samples pass
  whatever the seeds.

Each greedy answer is also produced by ``create_completion``, as the plugin does, and must be the
same text (a check that this script decodes as the plugin does). Needs the ``[local]`` extra.
Prints a Markdown table; exits 1 when a margin is below its target.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pytest_promptcheck.checks.builtins import builtin_registry  # noqa: E402
from pytest_promptcheck.project import Project  # noqa: E402
from pytest_promptcheck.providers.local import PACKAGED_MODEL, LocalProvider  # noqa: E402
from pytest_promptcheck.records import Completion  # noqa: E402
from pytest_promptcheck.scoring import CaseAnswers, score_sample  # noqa: E402
from pytest_promptcheck.spec import Case, PromptSpec, load_spec  # noqa: E402

GREEDY_TARGET = 1.0
"""Nats: a decisive gap this large is far beyond what another CPU's kernels move."""
SAMPLED_TARGET = 0.999
"""The probability that a sampled case reaches its min_pass_rate, whatever the seeds."""
ALTERNATIVES = 8
"""Candidates tried in place of each greedy token (the most likely ones)."""
WINDOW = 12.0
"""Candidates further than this many nats below the chosen token are not tried."""
PRUNE = 1e-5
"""Answer prefixes less likely than this are not followed, and count as failing."""
SAMPLER = {"top_k": 40, "top_p": 0.95, "min_p": 0.05}
"""llama-cpp-python's defaults for create_completion; the examples do not change them."""


@dataclass(frozen=True)
class Margin:
    prompt: str
    case: str
    kind: str
    verdict: str
    answer: str
    rival: str | None
    """The nearest answer with the other verdict (sampled: the likeliest one, and its chance)."""
    decisive: float | None
    """Greedy: the smallest decisive gap in nats (None: no candidate flips the verdict)."""
    path: float | None
    """Greedy: the smallest top-1/top-2 gap anywhere along the answer."""
    p_sample: float | None
    """Sampled: the probability that one sample passes."""
    p_case: float | None
    """Sampled: the probability that the case passes (enough samples pass)."""
    ok: bool


class Model:
    """The packaged GGUF in llama.cpp, with the next-token log-probabilities of any token prefix."""

    def __init__(self, path: Path) -> None:
        from llama_cpp import Llama

        self.llama = Llama(
            model_path=str(path), n_ctx=2048, seed=0, logits_all=True, swa_full=False, verbose=False
        )
        self.logprobs = lru_cache(maxsize=65536)(self._logprobs)
        self._evaluated: tuple[int, ...] = ()

    def tokens(self, prompt: str) -> tuple[int, ...]:
        return tuple(self.llama.tokenize(prompt.encode("utf-8"), add_bos=True, special=True))

    def ends(self, token: int) -> bool:
        """An end-of-generation token: create_completion stops there and prints nothing of it."""
        from llama_cpp import llama_cpp as low_level

        return bool(low_level.llama_vocab_is_eog(self.llama._model.vocab, token))

    def piece(self, token: int) -> bytes:
        return bytes(self.llama.detokenize([token]))

    def _logprobs(self, tokens: tuple[int, ...]) -> np.ndarray:
        # reuse the KV cache of the common prefix, as create_completion does: eval() drops the
        # rest; the last token is evaluated again when nothing else is new, for its logits
        common = 0
        for old, new in zip(self._evaluated, tokens[:-1], strict=False):
            if old != new:
                break
            common += 1
        self.llama.n_tokens = common
        self.llama.eval(list(tokens[common:]))
        self._evaluated = tokens
        logits = np.asarray(self.llama.scores[len(tokens) - 1], dtype=np.float64)
        shifted = logits - logits.max()
        result: np.ndarray = shifted - math.log(float(np.exp(shifted).sum()))
        return result

    def create_completion(self, prompt: str, params: dict[str, Any]) -> str:
        self.llama.reset()
        self._evaluated = ()
        response = self.llama.create_completion(prompt, **params)
        return str(response["choices"][0]["text"])


@dataclass(frozen=True)
class Answer:
    tokens: tuple[int, ...]
    text: str
    done: bool
    """Ended by a stop string or the end-of-text token (not by max_tokens)."""


def answer_of(model: Model, tokens: tuple[int, ...], stops: list[str], limit: int) -> Answer:
    """The text of answer tokens as create_completion returns it: cut at the first stop."""
    raw = b"".join(model.piece(t) for t in tokens if not model.ends(t))
    text = raw.decode("utf-8", "ignore")
    cuts = [text.find(stop) for stop in stops if stop in text]
    if cuts:
        return Answer(tokens, text[: min(cuts)], True)
    ended = bool(tokens) and model.ends(tokens[-1])
    return Answer(tokens, text, ended or len(tokens) >= limit)


def greedy(model: Model, prompt: tuple[int, ...], start: tuple[int, ...], p: Params) -> Answer:
    answer = answer_of(model, start, p.stops, p.max_tokens)
    while not answer.done:
        token = int(np.argmax(model.logprobs(prompt + answer.tokens)))
        answer = answer_of(model, (*answer.tokens, token), p.stops, p.max_tokens)
    return answer


@dataclass(frozen=True)
class Params:
    temperature: float
    max_tokens: int
    stops: list[str]

    @classmethod
    def of(cls, spec: PromptSpec) -> Params:
        stop = spec.params.get("stop", [])
        return cls(
            float(spec.params.get("temperature", 0.0)),
            int(spec.params.get("max_tokens", 64)),
            [stop] if isinstance(stop, str) else list(stop),
        )


def passes(spec: PromptSpec, case: Case, text: str) -> bool:
    return score_sample(
        spec, case, CaseAnswers((Completion(text=text, model_reported="margins"),)), 0
    ).passed


def greedy_margin(model: Model, spec: PromptSpec, case: Case, p: Params) -> Margin:
    prompt = model.tokens(case.prompt or "")
    main = greedy(model, prompt, (), p)
    verdict = passes(spec, case, main.text)
    decisive: float | None = None
    rival: str | None = None
    path = math.inf
    for step in range(len(main.tokens)):
        logprobs = model.logprobs(prompt + main.tokens[:step])
        chosen = main.tokens[step]
        order = np.argsort(-logprobs)[: ALTERNATIVES + 1]
        path = min(path, float(logprobs[order[0]] - logprobs[order[1]]))
        for other in (int(t) for t in order if int(t) != chosen):
            gap = float(logprobs[chosen] - logprobs[other])
            if gap > WINDOW or (decisive is not None and gap >= decisive):
                break
            branch = greedy(model, prompt, (*main.tokens[:step], other), p)
            if passes(spec, case, branch.text) != verdict:
                decisive, rival = gap, json.dumps(branch.text)
                break
    produced = model.create_completion(case.prompt or "", _call_params(spec))
    if produced != main.text:
        raise SystemExit(f"{spec.name}::{case.id}: decoded {main.text!r}, plugin {produced!r}")
    ok = decisive is None or decisive > GREEDY_TARGET
    return Margin(
        spec.name,
        case.id,
        "greedy",
        _word(verdict),
        main.text,
        rival,
        decisive,
        path,
        None,
        None,
        ok,
    )


def sampled_margin(model: Model, spec: PromptSpec, case: Case, p: Params) -> Margin:
    prompt = model.tokens(case.prompt or "")
    answers: dict[str, float] = {}
    _enumerate(model, p, prompt, (), 1.0, answers)
    verdicts = {text: passes(spec, case, text) for text in answers}
    p_sample = sum(chance for text, chance in answers.items() if verdicts[text])
    need = math.ceil(spec.min_pass_rate * spec.samples - 1e-9)
    p_case = sum(
        math.comb(spec.samples, k) * p_sample**k * (1 - p_sample) ** (spec.samples - k)
        for k in range(need, spec.samples + 1)
    )
    top = max(answers, key=answers.__getitem__)
    failing = [text for text in answers if not verdicts[text]]
    rival = max(failing, key=answers.__getitem__) if failing else None
    rival_text = None if rival is None else f"{json.dumps(rival)} p={answers[rival]:.3f}"
    ok = p_case >= SAMPLED_TARGET or p_case <= 1 - SAMPLED_TARGET
    verdict = _word(p_case >= 0.5)
    return Margin(
        spec.name, case.id, "sampled", verdict, top, rival_text, None, None, p_sample, p_case, ok
    )


def _enumerate(
    model: Model,
    p: Params,
    prompt: tuple[int, ...],
    start: tuple[int, ...],
    reach: float,
    answers: dict[str, float],
) -> None:
    """Add the probability of every answer that starts with ``start`` (itself ``reach`` likely).

    Prefixes rarer than PRUNE are not followed: their mass is left out, so it counts as failing
    and the pass probability is a lower bound.
    """
    answer = answer_of(model, start, p.stops, p.max_tokens)
    if answer.done:
        answers[answer.text] = answers.get(answer.text, 0.0) + reach
    elif reach >= PRUNE:
        for token, chance in _sampler(model.logprobs(prompt + start), p.temperature):
            _enumerate(model, p, prompt, (*start, token), reach * chance, answers)


def _sampler(logprobs: np.ndarray, temperature: float) -> list[tuple[int, float]]:
    """The tokens llama.cpp's top_k, top_p, min_p, temp chain keeps, with their probabilities."""
    order = np.argsort(-logprobs)[: SAMPLER["top_k"]]
    probs = np.exp(logprobs[order] - logprobs[order].max())
    probs /= probs.sum()
    keep = int(np.searchsorted(np.cumsum(probs), SAMPLER["top_p"]) + 1)
    order = order[:keep]
    order = order[logprobs[order] >= logprobs[order[0]] + math.log(SAMPLER["min_p"])]
    scaled = logprobs[order] / temperature
    weights = np.exp(scaled - scaled.max())
    weights /= weights.sum()
    return [(int(t), float(w)) for t, w in zip(order, weights, strict=True)]


def _call_params(spec: PromptSpec) -> dict[str, Any]:
    params = dict(spec.params)
    params.setdefault("temperature", 0.0)
    params.setdefault("max_tokens", 64)
    params["seed"] = 0
    return params


def _word(passed: bool) -> str:
    return "passed" if passed else "failed"


def measure(model: Model, spec: PromptSpec) -> list[Margin]:
    p = Params.of(spec)
    measure_case = greedy_margin if p.temperature == 0 else sampled_margin
    margins = []
    for case in spec.cases:
        margins.append(measure_case(model, spec, case, p))
        print(f"  {spec.name}::{case.id}", file=sys.stderr, flush=True)
    return margins


def table(margins: list[Margin]) -> list[str]:
    rows = [
        "| case | kind | verdict | answer here | decisive gap (nats) | smallest top-1/top-2 gap "
        "| P(a sample fails) | P(the verdict flips) | nearest other verdict |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for m in margins:
        decisive = "none" if m.kind == "greedy" and m.decisive is None else _num(m.decisive, 2)
        fails = None if m.p_sample is None else 1 - m.p_sample
        flips = None if m.p_case is None else min(m.p_case, 1 - m.p_case)
        rival = "-" if m.rival is None else f"`{m.rival}`"
        rows.append(
            f"| {m.prompt}::{m.case} | {m.kind} | {m.verdict} | `{json.dumps(m.answer)}` "
            f"| {decisive} | {_num(m.path, 2)} | {_chance(fails)} | {_chance(flips)} | {rival} |"
        )
    return rows


def _chance(value: float | None) -> str:
    if value is None:
        return "-"
    return f"< {PRUNE:.0e}" if value < PRUNE else f"{value:.1e}"


def compare(margins: list[Margin], other_file: Path) -> list[str]:
    """How another build's run of the same cases (its --json file) differs from this one."""
    other = {f"{m['prompt']}::{m['case']}": m for m in json.loads(other_file.read_text())}
    gaps, chances, flipped = [], [], []
    for m in margins:
        theirs = other.get(f"{m.prompt}::{m.case}")
        if theirs is None:
            continue
        if theirs["verdict"] != m.verdict:
            flipped.append(f"{m.prompt}::{m.case} ({m.verdict} here, {theirs['verdict']} there)")
        if m.decisive is not None and theirs["decisive"] is not None:
            gaps.append(abs(m.decisive - theirs["decisive"]))
        if m.p_sample is not None and theirs["p_sample"] is not None:
            chances.append(abs(m.p_sample - theirs["p_sample"]))
    lines = [f"against {other_file}:"]
    if gaps:
        lines.append(
            f"  decisive gaps of {len(gaps)} greedy cases moved by median "
            f"{statistics.median(gaps):.3f}, at most {max(gaps):.3f} nats"
        )
    if chances:
        lines.append(
            f"  P(a sample passes) of {len(chances)} sampled cases moved by at most "
            f"{max(chances):.3f}"
        )
    lines.append(f"  verdicts that differ: {', '.join(flipped) if flipped else 'none'}")
    return lines


def _num(value: float | None, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=Path, default=ROOT / "examples")
    parser.add_argument("--cache-dir", type=Path, default=ROOT / ".promptcheck" / "cache")
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    parser.add_argument(
        "--compare", type=Path, help="a --json file of another build: print how its figures differ"
    )
    args = parser.parse_args()
    provider = LocalProvider(args.cache_dir)
    model = Model(provider.model_file(PACKAGED_MODEL).path)
    build = provider.build()
    registry = builtin_registry(Project.at(args.examples.resolve()))
    margins: list[Margin] = []
    for path in sorted(args.examples.glob("*.prompt.yaml")):
        margins += measure(model, load_spec(path, registry))
    print(f"build: {build}")
    print("\n".join(table(margins)))
    low = [f"{m.prompt}::{m.case}" for m in margins if not m.ok]
    print(f"\n{len(margins) - len(low)} of {len(margins)} verdicts clear their target", end="")
    print(f"; below it: {', '.join(low)}" if low else "")
    if args.compare:
        print("\n".join(compare(margins, args.compare)))
    if args.json:
        args.json.write_text(json.dumps([asdict(m) for m in margins], indent=2) + "\n")
    return 1 if low else 0


if __name__ == "__main__":
    sys.exit(main())
