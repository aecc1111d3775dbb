"""How well a judge agrees with people: Cohen's kappa (quadratic-weighted on a scale), the
true-positive and true-negative rates, the confusion counts, and how well its own votes agree.

Pure functions over plain numbers; the judge check and the reports bring the data.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from itertools import combinations
from typing import Any


@dataclass(frozen=True)
class Confusion:
    """People's pass/fail against the judge's: ``tp`` both pass, ``fp`` only the judge passes."""

    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def tpr(self) -> float | None:
        """Of the outputs people passed, the share the judge passed (sensitivity)."""
        return _ratio(self.tp, self.tp + self.fn)

    @property
    def tnr(self) -> float | None:
        """Of the outputs people failed, the share the judge failed (specificity)."""
        return _ratio(self.tn, self.tn + self.fp)


def confusion(people: Sequence[bool], judge: Sequence[bool]) -> Confusion:
    pairs = list(zip(people, judge, strict=True))
    return Confusion(
        tp=sum(p and j for p, j in pairs),
        fp=sum(j and not p for p, j in pairs),
        fn=sum(p and not j for p, j in pairs),
        tn=sum(not p and not j for p, j in pairs),
    )


def cohen_kappa(
    people: Sequence[int], judge: Sequence[int], categories: Sequence[int], *, weighted: bool
) -> float | None:
    """Cohen's kappa of two raters over ``categories`` (in order); with ``weighted``, quadratic
    weights (a disagreement costs the square of its distance). None when it is undefined:
    no items, or both raters always gave one and the same category (no chance to disagree)."""
    n = len(people)
    if n == 0:
        return None
    index = {c: i for i, c in enumerate(categories)}
    k = len(categories)
    observed = [[0.0] * k for _ in range(k)]
    for p, j in zip(people, judge, strict=True):
        observed[index[p]][index[j]] += 1 / n
    rows = [sum(row) for row in observed]
    cols = [sum(observed[i][c] for i in range(k)) for c in range(k)]

    def cost(i: int, c: int) -> float:
        if weighted:
            return ((i - c) / (k - 1)) ** 2 if k > 1 else 0.0
        return 0.0 if i == c else 1.0

    cells = [(i, c) for i in range(k) for c in range(k)]
    disagreement = sum(cost(i, c) * observed[i][c] for i, c in cells)
    chance = sum(cost(i, c) * rows[i] * cols[c] for i, c in cells)
    if chance == 0:
        return None
    return 1 - disagreement / chance


def self_agreement(votes: Sequence[Sequence[Any]]) -> float | None:
    """Mean pairwise agreement of the votes on each item: the share of pairs of votes that
    gave the same decision, averaged over the items. None with fewer than two votes."""
    shares = []
    for item in votes:
        pairs = list(combinations(item, 2))
        if pairs:
            shares.append(sum(a == b for a, b in pairs) / len(pairs))
    return sum(shares) / len(shares) if shares else None


@dataclass(frozen=True)
class Agreement:
    """A judge against one labels file: what the summary and the reports print."""

    judge: str
    labels: str
    n: int
    kappa: float | None
    weighted: bool
    confusion: Confusion
    self_agreement: float | None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["tpr"], data["tnr"] = self.confusion.tpr, self.confusion.tnr
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Agreement:
        fields = {k: v for k, v in data.items() if k not in ("tpr", "tnr")}
        return cls(**{**fields, "confusion": Confusion(**data["confusion"])})

    def cells(self) -> tuple[str, ...]:
        """A table row: judge, labels, n, kappa, TPR, TNR, the four counts, votes' agreement."""
        c = self.confusion
        kappa = _num(self.kappa) + (" (weighted)" if self.weighted else "")
        counts = (str(c.tp), str(c.fp), str(c.fn), str(c.tn))
        rates = (_num(c.tpr), _num(c.tnr))
        return (
            self.judge,
            self.labels,
            str(self.n),
            kappa,
            *rates,
            *counts,
            _num(self.self_agreement),
        )

    def describe(self) -> str:
        kind = "weighted kappa" if self.weighted else "kappa"
        c = self.confusion
        votes = (
            ""
            if self.self_agreement is None
            else f", votes agree {_num(self.self_agreement)} (mean pairwise)"
        )
        return (
            f"{self.judge} on {self.labels} ({self.n} labels): {kind} {_num(self.kappa)}, "
            f"TPR {_num(c.tpr)}, TNR {_num(c.tnr)} (tp {c.tp}, fp {c.fp}, fn {c.fn}, "
            f"tn {c.tn}){votes}"
        )


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def run_agreements(per_case: Iterable[Iterable[dict[str, Any]]]) -> list[Agreement]:
    """Each judge's agreement once, from the case records that carry them, in a stable order."""
    found: dict[tuple[str, str], Agreement] = {}
    for agreements in per_case:
        for data in agreements:
            agreement = Agreement.from_json(data)
            found.setdefault((agreement.judge, agreement.labels), agreement)
    return [found[key] for key in sorted(found)]


def agreement_lines(per_case: Iterable[Iterable[dict[str, Any]]]) -> list[str]:
    """The summary's section: each judge with labels against the people who labelled."""
    agreements = run_agreements(per_case)
    if not agreements:
        return []
    return ["judges against people's labels:", *(f"  {a.describe()}" for a in agreements)]
