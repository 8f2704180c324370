"""Two evaluated models compared example by example, from what their runs keep: the evaluate
stage logs every test prediction with its per-example ROUGE (``evaluation/predictions.jsonl``)
and its scoring options as params (``evaluate.scoring.*``), so any two versions or runs can be
compared later without decoding again.

Two evaluations are comparable only if they scored the same examples (ids, documents and
references, whatever their order) with the same scoring options; otherwise the comparison says
what differs, and nothing is computed. The statistics are
:mod:`summarizer.evaluation.significance` (imported when a comparison runs: a serving machine,
which imports this package, has no scipy or sacrebleu need).
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from summarizer import tracking
from summarizer.registry.errors import RegistryError
from summarizer.registry.stored_model import use_store

if TYPE_CHECKING:
    from summarizer.evaluation.significance import PairedComparison

PREDICTIONS_ARTIFACT = "evaluation/predictions.jsonl"
SCORING_PARAM = "evaluate.scoring."
# Scoring options that change intervals, not any example's score.
INTERVAL_ONLY = ("bootstrap_samples", "confidence", "seed")
CORPUS_METRICS = ("bleu", "chrf")  # scored from sentence statistics, not per-example means


@dataclass
class ScoredExamples:
    """What one evaluation scored, example by example, and with which options."""

    label: str  # "version 3", for messages
    examples: dict[str, dict[str, Any]]  # id -> document, references, prediction, rouge
    scoring: dict[str, str]  # evaluate.scoring.* params, interval-only ones left out

    @classmethod
    def from_lines(cls, label: str, lines: list[str], scoring: dict[str, str]) -> ScoredExamples:
        examples = {}
        for number, line in enumerate(lines, start=1):
            try:
                record = json.loads(line)
                examples[str(record["id"])] = {
                    "document": record["document"],
                    "references": record.get("references") or [record["reference"]],
                    "prediction": record["prediction"],
                    "rouge": record["rouge"],
                }
            except (ValueError, KeyError, TypeError) as exc:
                raise RegistryError(
                    f"{label}: {PREDICTIONS_ARTIFACT}, line {number}: not a prediction record "
                    f"as the evaluate stage writes it ({exc})"
                ) from None
        return cls(label, examples, scoring)


def scoring_options(params: dict[str, str]) -> dict[str, str]:
    """The scoring options among a run's params that change example scores."""
    return {
        key.removeprefix(SCORING_PARAM): value
        for key, value in params.items()
        if key.startswith(SCORING_PARAM) and key.removeprefix(SCORING_PARAM) not in INTERVAL_ONLY
    }


def load_scored_examples(uri: str, run_id: str, label: str) -> ScoredExamples:
    """The test predictions and scoring options of the evaluation logged in run ``run_id``."""
    import mlflow
    from mlflow.exceptions import MlflowException

    use_store(uri)
    run = tracking.client(uri).get_run(run_id)
    with tempfile.TemporaryDirectory(prefix="summarizer-compare-") as scratch:
        try:
            path = mlflow.artifacts.download_artifacts(
                run_id=run_id, artifact_path=PREDICTIONS_ARTIFACT, dst_path=scratch
            )
        except (MlflowException, OSError):
            raise RegistryError(
                f"{label}: no {PREDICTIONS_ARTIFACT} in run {run_id} (evaluated before "
                "predictions were logged, or not by the evaluate stage): it cannot be compared "
                "example by example"
            ) from None
        lines = [line for line in Path(path).read_text(encoding="utf-8").splitlines() if line]
    return ScoredExamples.from_lines(label, lines, scoring_options(run.data.params))


def incomparability(a: ScoredExamples, b: ScoredExamples) -> str | None:
    """Why ``a`` and ``b`` cannot be compared example by example, or None when they can."""
    if a.examples.keys() != b.examples.keys():
        only_a = len(a.examples.keys() - b.examples.keys())
        only_b = len(b.examples.keys() - a.examples.keys())
        return (
            f"{a.label} and {b.label} were scored on different test sets ({len(a.examples)} and "
            f"{len(b.examples)} examples; {only_a} and {only_b} ids of one not in the other)"
        )
    for key in a.examples:
        for field in ("document", "references"):
            if a.examples[key][field] != b.examples[key][field]:
                return (
                    f"{a.label} and {b.label} were scored on different test sets: example "
                    f"{key} has another {field}"
                )
    if a.scoring != b.scoring:
        changed = sorted(
            k for k in a.scoring.keys() | b.scoring.keys() if a.scoring.get(k) != b.scoring.get(k)
        )
        return (
            f"{a.label} and {b.label} were scored with different options "
            f"({', '.join(f'evaluate.scoring.{k}' for k in changed)})"
        )
    return None


def comparable_metrics(a: ScoredExamples, b: ScoredExamples) -> list[str]:
    """The metrics both evaluations can be compared on: per-example ROUGE F1, and BLEU/chrF
    where the scoring options list them."""
    first_a, first_b = _first(a), _first(b)
    rouge = [k for k in first_a["rouge"] if k.endswith("_f") and k in first_b["rouge"]]
    listed = a.scoring.get("corpus_metrics", "")
    return rouge + [name for name in CORPUS_METRICS if f"'{name}'" in listed]


def compare(
    a: ScoredExamples,
    b: ScoredExamples,
    metrics: list[str],
    *,
    greater_is_better: bool = True,
    confidence: float = 0.95,
    resamples: int = 1000,
    seed: int = 0,
) -> list[PairedComparison]:
    """B against A on each of ``metrics``, over the same examples; a :class:`RegistryError`
    says why when they cannot be compared."""
    from summarizer.evaluation.significance import mean_score, paired_comparison

    reason = incomparability(a, b)
    if reason is not None:
        raise RegistryError(reason)
    ids = sorted(a.examples)
    results = []
    for metric in metrics:
        if metric in CORPUS_METRICS:
            rows_a, rows_b, score, own = _corpus_rows(metric, a, b, ids)
        else:
            missing = [
                s.label for s in (a, b) if metric not in next(iter(s.examples.values()))["rouge"]
            ]
            if missing:
                raise RegistryError(f"{', '.join(missing)}: no per-example {metric} to compare")
            rows_a = np.array([a.examples[i]["rouge"][metric] for i in ids])
            rows_b = np.array([b.examples[i]["rouge"][metric] for i in ids])
            score, own = mean_score, None
        results.append(
            paired_comparison(
                metric,
                rows_a,
                rows_b,
                score,
                per_example=own,
                greater_is_better=greater_is_better,
                resamples=resamples,
                confidence=confidence,
                seed=seed,
            )
        )
    return results


def _corpus_rows(
    metric: str, a: ScoredExamples, b: ScoredExamples, ids: list[str]
) -> tuple[np.ndarray, np.ndarray, Any, tuple[np.ndarray, np.ndarray]]:
    from summarizer.evaluation.corpus_metrics import sentence_statistics

    tokenize = a.scoring.get("bleu_tokenize", "13a")
    references = [a.examples[i]["references"] for i in ids]
    rows = []
    for system in (a, b):
        predictions = [system.examples[i]["prediction"] for i in ids]
        stats, score = sentence_statistics(metric, predictions, references, tokenize)
        rows.append(stats)
    # An example's own score, for the win counts: its sentence-level score.
    own = tuple(np.array([score(row[None, :]) for row in stats]) for stats in rows)
    return rows[0], rows[1], score, own  # type: ignore[return-value]


def evaluation_run(uri: str, model_uri: str) -> tuple[str, str]:
    """The run whose evaluation scored ``model_uri`` (``models:/NAME/VERSION``,
    ``models:/NAME@ALIAS`` or ``runs:/RUN_ID``), and a label for messages."""
    from summarizer.registry.versions import resolve_version

    if model_uri.startswith("runs:/"):
        run_id = model_uri.removeprefix("runs:/").strip("/").split("/")[0]
        return run_id, f"run {run_id[:12]}"
    version = resolve_version(uri, model_uri)
    if version is None:
        raise RegistryError(
            f"{model_uri}: give a registered version (models:/NAME/VERSION, models:/NAME@ALIAS) "
            "or an evaluated run (runs:/RUN_ID)"
        )
    if not version.run_id:
        raise RegistryError(f"{model_uri}: version {version.version} has no run")
    return version.run_id, f"version {version.version}"


def compare_models(
    uri: str, reference_uri: str, candidate_uri: str, greater_is_better: bool = True
) -> tuple[ScoredExamples, ScoredExamples, list[PairedComparison]]:
    """The candidate against the reference on every metric both can be compared on."""
    reference = load_scored_examples(uri, *evaluation_run(uri, reference_uri))
    candidate = load_scored_examples(uri, *evaluation_run(uri, candidate_uri))
    reason = incomparability(reference, candidate)
    if reason is not None:
        raise RegistryError(reason)
    metrics = comparable_metrics(reference, candidate)
    results = compare(reference, candidate, metrics, greater_is_better=greater_is_better)
    return reference, candidate, results


def _first(scored: ScoredExamples) -> dict[str, Any]:
    return next(iter(scored.examples.values()))
