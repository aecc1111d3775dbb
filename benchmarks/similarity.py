"""How well each embedding backend of the ``similar`` check separates paraphrases from pairs
that differ in meaning, and how fast it embeds.

Run: python benchmarks/similarity.py [--backend NAME ...] [--pairs FILE] [--json FILE]
     python benchmarks/similarity.py --batching      # an endpoint model's requests on the wire

On benchmarks/similarity/pairs.jsonl (hand-written pairs: paraphrases are the same meaning; an
unrelated text, a negation, a swapped number or a swapped name are not), prints per backend:
the AUC over every pair and per kind (paraphrases against that kind), the cosine at which 95% of
passing pairs are paraphrases over every kind and over paraphrases and unrelated pairs only (a
bundled backend's default ``min``: see calibration.py), the recall each keeps and the share of
each kind that passes the default, and throughput (texts per second, the whole pair set
embedded in one batch, best of 3, after a warm-up). A backend whose extra is not installed
is skipped with a note.

With ``--batching``: 500 distinct texts embedded through the run's client and the OpenAI
provider against the loopback server's ``/embeddings``, at the default concurrency (16) and at
64 (a named endpoint's ``max_concurrency``): how many HTTP requests they took, and the batch sizes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pytest_promptcheck.embeddings import Embedder, cosine  # noqa: E402
from pytest_promptcheck.embeddings.bundled import BUNDLED  # noqa: E402
from pytest_promptcheck.embeddings.calibration import (  # noqa: E402
    PRECISION,
    Pair,
    auc,
    default_min,
    load_pairs,
    recall_at,
    threshold_at_precision,
)

PAIRS = ROOT / "benchmarks" / "similarity" / "pairs.jsonl"
BATCHING_TEXTS = 500
KINDS = ("unrelated", "negation", "number_swap", "entity_swap")


def scores(embedder: Embedder, pairs: list[Pair]) -> list[float]:
    """Each pair's cosine."""
    texts = sorted({text for pair in pairs for text in (pair.a, pair.b)})
    vectors = dict(zip(texts, embedder.embed(texts), strict=True))
    return [cosine(vectors[pair.a], vectors[pair.b]) for pair in pairs]


def throughput(embedder: Embedder, pairs: list[Pair]) -> float:
    texts = [text for pair in pairs for text in (pair.a, pair.b)]
    embedder.embed(texts[:8])  # warm-up
    best = min(_timed(lambda: embedder.embed(texts)) for _ in range(3))
    return len(texts) / best


def _timed(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def measure(name: str, pairs: list[Pair]) -> dict[str, Any]:
    """Every figure of one backend."""
    started = time.perf_counter()
    embedder = BUNDLED[name].load()
    load_s = time.perf_counter() - started
    cosines = scores(embedder, pairs)
    same = [pair.same for pair in pairs]
    positives = [c for c, pair in zip(cosines, pairs, strict=True) if pair.same]
    negatives = [c for c, pair in zip(cosines, pairs, strict=True) if not pair.same]
    by_kind = {
        kind: auc(positives, [c for c, p in zip(cosines, pairs, strict=True) if p.kind == kind])
        for kind in KINDS
    }
    threshold = threshold_at_precision(cosines, same)
    default = default_min(pairs, cosines)
    return {
        "backend": name,
        "pairs": len(pairs),
        "auc": auc(positives, negatives),
        "auc_by_kind": by_kind,
        "threshold": threshold,
        "recall_at_threshold": recall_at(cosines, same, threshold),
        "default_min": default,
        "recall_at_default": recall_at(cosines, same, default),
        "passing_at_default": {
            kind: sum(c >= default for c, p in zip(cosines, pairs, strict=True) if p.kind == kind)
            / sum(p.kind == kind for p in pairs)
            for kind in KINDS
        },
        "texts_per_s": throughput(embedder, pairs),
        "load_s": load_s,
    }


def _row(figures: dict[str, Any]) -> str:
    kinds = " | ".join(f"{figures['auc_by_kind'][kind]:.3f}" for kind in KINDS)
    passing = " | ".join(f"{figures['passing_at_default'][kind]:.0%}" for kind in KINDS)
    return (
        f"| {figures['backend']} | {figures['auc']:.3f} | {kinds} | {figures['threshold']:.2f} "
        f"({figures['recall_at_threshold']:.0%}) | {figures['default_min']:.2f} "
        f"({figures['recall_at_default']:.0%}) | {passing} | {figures['texts_per_s']:,.0f} "
        f"| {figures['load_s']:.2f} |"
    )


def batching(concurrency: int) -> list[int]:
    """The batch sizes the loopback server saw for ``BATCHING_TEXTS`` distinct texts."""
    from pytest_promptcheck.cache import CacheMode, ResponseCache
    from pytest_promptcheck.client import ModelClient
    from pytest_promptcheck.providers import ProviderConfig, ProviderSet
    from pytest_promptcheck.records import ModelRequest
    from tests.loopback import LoopbackServer

    config = ProviderConfig(name="openai", type="openai", max_concurrency=concurrency)
    texts = [f"distinct text number {i}" for i in range(BATCHING_TEXTS)]
    with LoopbackServer() as server, tempfile.TemporaryDirectory() as cache:
        os.environ |= {"OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "sk-bench"}
        client = ModelClient(
            ProviderSet({"openai": config}, Path(cache)), ResponseCache(Path(cache), CacheMode.OFF)
        )

        async def embed_all() -> None:
            requests = [ModelRequest("openai:embed", None, None, embed_input=t) for t in texts]
            await asyncio.gather(*(client.sample(request, 0) for request in requests))
            await client.providers.aclose()

        asyncio.run(embed_all())
        return server.embedding_batches


def _print_batching() -> None:
    for concurrency in (16, 64):
        sizes = batching(concurrency)
        print(
            f"{BATCHING_TEXTS} texts at max_concurrency {concurrency}: {len(sizes)} requests, "
            f"batch sizes {min(sizes)}-{max(sizes)} (first: {sizes[:6]})"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", action="append", choices=sorted(BUNDLED))
    parser.add_argument("--pairs", type=Path, default=PAIRS)
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")
    parser.add_argument("--batching", action="store_true", help="measure endpoint batching")
    args = parser.parse_args()
    if args.batching:
        _print_batching()
        return 0
    pairs = load_pairs(args.pairs)
    print(f"{len(pairs)} pairs from {args.pairs.name}; threshold at {PRECISION:.0%} precision\n")
    aucs = " | ".join(f"AUC {kind}" for kind in KINDS)
    passing = " | ".join(f"{kind} passing" for kind in KINDS)
    print(
        f"| backend | AUC | {aucs} | min at {PRECISION:.0%}, all kinds (recall) "
        f"| default min: vs unrelated (recall) | {passing} | texts/s | load s |"
    )
    print("|---" * (2 * len(KINDS) + 6) + "|")
    results = []
    for name in args.backend or sorted(BUNDLED):
        if not BUNDLED[name].installed():
            print(f"| {name} | not installed ({BUNDLED[name].install}) |")
            continue
        results.append(measure(name, pairs))
        print(_row(results[-1]))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
