"""The ``register`` section: which registered model a run goes to, what ranks versions, and the
gate a run must pass before it may become a version at all."""

from __future__ import annotations

from pydantic import Field

from summarizer.config.base import Section


class RegisterParams(Section):
    """What the register stage registers, the metric that ranks versions, and the gate.

    The gate reads ``reports/evaluation.json`` as the evaluate stage wrote it
    (:class:`summarizer.evaluation.report.EvaluationReport`): the run's score beside the
    dataset's baseline (the ``baseline_*`` entry) and the degeneracy ``checks``
    (:func:`summarizer.evaluation.checks.degeneracy_metrics`). A run that fails any of them is not
    registered, whatever the registered versions score; the reasons go to
    ``reports/register.json`` and onto the training run.
    """

    model_name: str = Field("summarizer", min_length=1)
    # Key of the "test" entry of reports/evaluation.json: a run is registered only if it beats every
    # registered version on it, and promote refuses a version that is worse than the champion.
    metric: str = "rougeL_f"
    greater_is_better: bool = True
    # Gate. The default model passes with room to spare (README's `dvc repro` run: ROUGE-L 26.51
    # vs lead-8 19.95, distinct 0.987, repeated trigrams 0.0006, empty 0); a collapsed model fails
    # it (same headline for most inputs, empty output, "the the the" loops), whatever ROUGE says.
    require_beat_baseline: bool = True  # strictly better than the baseline on `metric`
    min_distinct_share: float = Field(0.8, ge=0, le=1)  # distinct predictions / predictions
    max_empty_share: float = Field(0.01, ge=0, le=1)  # predictions with no token
    max_repeated_trigram_rate: float = Field(0.1, ge=0, le=1)  # mean share of repeated trigrams
    # Better beyond noise: a run that beats the best version on `metric` must also beat it in a
    # paired test over the same test examples (evaluation/significance.py), and promote asks the
    # same of a candidate against @champion. Two trainings that differ in their seed alone
    # differ by about 0.2 ROUGE-L on Gigaword. null: the point estimates alone decide.
    significance: float | None = Field(0.05, gt=0, lt=1)
    min_difference: float = Field(0.0, ge=0)  # and better by at least this (metric's units)
