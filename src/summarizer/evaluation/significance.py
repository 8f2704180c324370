"""Is one system really better than another on the same test set? A paired comparison over
examples, from scipy.stats.

Both systems were scored on the same examples, so what matters is each example's difference,
not two independent intervals (which overlap long after a difference is real). Two tests, both
on the example pairs:

* the **interval** of the difference: a paired bootstrap (``scipy.stats.bootstrap`` with
  ``paired=True``: every resample draws the same examples for both systems, Koehn 2004);
* the **p-value** that the candidate is better: approximate randomization
  (``scipy.stats.permutation_test`` with ``permutation_type="samples"``: each example's two
  outputs are swapped at random, Riezler and Maxwell 2005; sacrebleu's ``--paired-ar``), one-sided.

A system's score is a function of its examples' rows: the mean of per-example ROUGE F1, or for
BLEU and chrF the corpus score recomputed from summed n-gram statistics (the rows are
sacrebleu's sentence statistics), so both metrics get the same paired treatment.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import stats

# rows (n_examples x k) -> the system's score
Score = Callable[[np.ndarray], float]


def mean_score(rows: np.ndarray) -> float:
    """A per-example metric's corpus score: the mean (ROUGE)."""
    return float(np.mean(rows))


@dataclass(frozen=True)
class PairedComparison:
    """Candidate B against reference A on the same ``examples``: scores, the difference B - A
    with its interval, the one-sided p-value of "B is better", and the examples each wins."""

    metric: str
    examples: int
    score_a: float
    score_b: float
    difference: float
    low: float
    high: float
    confidence: float
    p_value: float
    wins_a: int
    wins_b: int
    ties: int
    greater_is_better: bool = True

    def significant(self, alpha: float, min_difference: float = 0.0) -> bool:
        """B is better beyond noise: p below ``alpha``, and better by at least
        ``min_difference`` (and by more than nothing)."""
        gain = self.difference if self.greater_is_better else -self.difference
        return self.p_value < alpha and gain > 0 and gain >= min_difference

    def summary(self) -> str:
        """``rougeL_f +0.52 [0.21, 0.84] (95%), p = 0.001, wins 512/431 of 1951``."""
        return (
            f"{self.metric} {self.difference:+.2f} [{self.low:.2f}, {self.high:.2f}] "
            f"({100 * self.confidence:g}%), p = {self.p_value:.3g}, "
            f"wins {self.wins_b}/{self.wins_a} of {self.examples}"
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def paired_comparison(
    metric: str,
    rows_a: np.ndarray,
    rows_b: np.ndarray,
    score: Score = mean_score,
    *,
    per_example: tuple[np.ndarray, np.ndarray] | None = None,
    greater_is_better: bool = True,
    resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> PairedComparison:
    """Compare system B with system A, row ``i`` of both being example ``i``. ``score`` turns a
    system's rows into its corpus score; ``per_example`` (each example's own score, for the
    win counts) defaults to the rows themselves when they are one column. The p-value is of B
    being better: higher, or lower where ``greater_is_better`` is False."""
    rows_a, rows_b = _as_rows(rows_a), _as_rows(rows_b)
    if rows_a.shape != rows_b.shape or len(rows_a) < 2:
        raise ValueError(
            f"a paired comparison needs the same examples (at least 2) for both systems; got "
            f"{len(rows_a)} and {len(rows_b)}"
        )

    # scipy resamples 1-D samples; the statistics resample example indices instead, so that a
    # row of several columns (sacrebleu's statistics) stays whole.
    n = len(rows_a)
    both = np.vstack([rows_a, rows_b])  # example i of A is row i, of B row n + i
    index = np.arange(n)

    def resampled(examples: np.ndarray) -> float:
        return score(rows_b[examples]) - score(rows_a[examples])

    def swapped(a: np.ndarray, b: np.ndarray) -> float:
        return score(both[b]) - score(both[a])

    rng = np.random.default_rng(seed)
    interval = stats.bootstrap(
        (index,),
        resampled,
        vectorized=False,
        n_resamples=resamples,
        confidence_level=confidence,
        method="percentile",
        rng=rng,
    ).confidence_interval
    randomization = stats.permutation_test(
        (index, index + n),
        swapped,
        permutation_type="samples",
        vectorized=False,
        n_resamples=resamples,
        alternative="greater" if greater_is_better else "less",
        rng=rng,
    )
    if per_example is None:
        per_example = (rows_a[:, 0], rows_b[:, 0])
    own_a, own_b = per_example
    if not greater_is_better:  # a win is the lower score
        own_a, own_b = -own_a, -own_b
    return PairedComparison(
        metric=metric,
        examples=len(rows_a),
        score_a=score(rows_a),
        score_b=score(rows_b),
        difference=score(rows_b) - score(rows_a),
        low=float(interval.low),
        high=float(interval.high),
        confidence=confidence,
        p_value=float(randomization.pvalue),
        wins_a=int(np.sum(own_a > own_b)),
        wins_b=int(np.sum(own_b > own_a)),
        ties=int(np.sum(own_a == own_b)),
        greater_is_better=greater_is_better,
    )


def _as_rows(values: np.ndarray) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    return array.reshape(-1, 1) if array.ndim == 1 else array
