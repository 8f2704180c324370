"""``reports/evaluation.json``, typed: what the ``evaluate`` stage measured, in one schema.

The evaluate stage builds an :class:`EvaluationReport` and writes :meth:`~EvaluationReport.to_dict`;
its headline (``reports/metrics.json``, :mod:`summarizer.stages.headline`) and the registration
gate (:mod:`summarizer.registry.gate`) read it back with :meth:`~EvaluationReport.from_dict`.
Nothing else knows the file's keys. On disk it is one flat JSON object, the layout it always had
(so older reports still read)::

    {
      "test_set": {"name", "examples", "documented_examples", "modified_rows", "note"},
      "test": {"<rouge type>_<f|p|r>[_low|_high]": score, ..., "n_examples": n},
      "baseline_<kind>_<n>": {... as "test"},
      "checks": {"distinct_prediction_share", "repeated_trigram_rate", ...},
      "decoding": {"examples", "seconds", "examples_per_second", "beam_size"},
      "<extra test set>": {"measure", "truncate_bytes", "model": {...}, "baseline": {...}},
      "run_id": "<the MLflow run the scores were logged to>"
    }

Every entry may be missing from a report read back (the gate says what it lacks; older reports
lack ``test_set`` and ``run_id``); one the evaluate stage writes has all of them but ``run_id``,
which it has only when the model came from a tracked training run. Values, no I/O: the stages
read and write the file.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from summarizer.errors import DataError

# One set of ROUGE scores, as ``CorpusScores.to_metrics()`` writes it: ``<rouge type>_<f|p|r>``
# (×100), their confidence bounds ``..._low``/``..._high``, and ``n_examples``. A mapping, not a
# model: its keys follow the configured ROUGE types.
Scores = dict[str, float | int | None]

# Top-level keys: fixed ones, and a prefix before each baseline's name (``lead_words_8``).
TEST_SET_KEY = "test_set"
TEST_KEY = "test"
BASELINE_PREFIX = "baseline_"
CHECKS_KEY = "checks"
DECODING_KEY = "decoding"
RUN_ID_KEY = "run_id"


class _Entry(BaseModel):
    """An entry of the report: the keys the code reads are typed; others a report holds are kept."""

    model_config = ConfigDict(extra="allow")


class ScoredTestSet(_Entry):
    """``test_set``: what the scores were computed on (``evaluation.inputs.size_entry``)."""

    name: str | None = None
    examples: int | None = None
    documented_examples: int | None = None  # the standard test set's size, if documented
    modified_rows: int | None = None  # rows ``ingest.filter_test`` changed (None: not counted)
    note: str | None = None


class DegeneracyChecks(_Entry):
    """``checks``: signs of a collapsed model (``evaluation.checks.degeneracy_metrics``)."""

    distinct_prediction_share: float | None = None
    repeated_trigram_rate: float | None = None
    empty_prediction_share: float | None = None
    repeated_word_share: float | None = None
    reference_repeated_word_share: float | None = None
    repeated_bigram_share: float | None = None
    reference_repeated_bigram_share: float | None = None
    mean_prediction_length: float | None = None
    mean_reference_length: float | None = None
    length_ratio: float | None = None
    n_examples: int | None = None


class Decoding(_Entry):
    """``decoding``: how many test examples were decoded, how fast, with which beam."""

    examples: int | None = None
    seconds: float | None = None
    examples_per_second: float | None = None
    beam_size: int | None = None


class ExtraTestSetScores(_Entry):
    """An extra test set's entry (DUC-2004 ...): model and baseline under that set's convention."""

    measure: str | None = None
    truncate_bytes: int | None = None
    model: Scores = Field(default_factory=dict)
    baseline: Scores = Field(default_factory=dict)


class EvaluationReport(BaseModel):
    """``reports/evaluation.json`` as data. Build it from fields (the evaluate stage) or from the
    file's content (:meth:`from_dict`); :meth:`to_dict` gives the file's content back."""

    model_config = ConfigDict(extra="forbid")

    test_set: ScoredTestSet | None = None
    test: Scores | None = None  # the model on the test split
    baselines: dict[str, Scores] = Field(default_factory=dict)  # by name: lead_words_8
    checks: DegeneracyChecks | None = None
    decoding: Decoding | None = None
    extra_test_sets: dict[str, ExtraTestSetScores] = Field(default_factory=dict)  # by name
    run_id: str | None = None

    # ------------------------------------------------------------------------------- on disk
    @classmethod
    def from_dict(cls, layout: Any, source: str = "evaluation report") -> EvaluationReport:
        """The report in ``layout``, the content of ``reports/evaluation.json``; a
        :class:`DataError` naming ``source`` and the first entry that does not fit."""
        if not isinstance(layout, Mapping):
            raise DataError(f"{source}: expected a JSON object, got {type(layout).__name__}")
        fields: dict[str, Any] = {"baselines": {}, "extra_test_sets": {}}
        for key, value in layout.items():
            if key in (TEST_SET_KEY, TEST_KEY, CHECKS_KEY, DECODING_KEY, RUN_ID_KEY):
                fields[key] = value
            elif key.startswith(BASELINE_PREFIX):
                fields["baselines"][key.removeprefix(BASELINE_PREFIX)] = value
            else:
                fields["extra_test_sets"][key] = value
        try:
            return cls.model_validate(fields)
        except ValidationError as exc:
            issue = exc.errors()[0]
            where = _layout_key(fields, issue["loc"])
            raise DataError(
                f"{source}: {where}: {issue['msg']}; not an evaluation report as the evaluate "
                "stage writes it (run the evaluate stage)"
            ) from None

    def to_dict(self) -> dict[str, Any]:
        """The content of ``reports/evaluation.json``: entries in the order the evaluate stage
        has always written them, each with the keys it was given (none added)."""
        layout: dict[str, Any] = {}
        if self.test_set is not None:
            layout[TEST_SET_KEY] = self.test_set.model_dump(exclude_unset=True)
        if self.test is not None:
            layout[TEST_KEY] = dict(self.test)
        for name, scores in self.baselines.items():
            layout[self.baseline_key(name)] = dict(scores)
        if self.checks is not None:
            layout[CHECKS_KEY] = self.checks.model_dump(exclude_unset=True)
        if self.decoding is not None:
            layout[DECODING_KEY] = self.decoding.model_dump(exclude_unset=True)
        for name, entry in self.extra_test_sets.items():
            layout[name] = entry.model_dump(exclude_unset=True)
        if self.run_id is not None:
            layout[RUN_ID_KEY] = self.run_id
        return layout

    # ---------------------------------------------------------------------------- accessors
    @staticmethod
    def baseline_name(kind: str, n: int) -> str:
        """The name of baseline ``kind`` of ``n`` words or sentences (``evaluate.baseline``,
        ``evaluate.lead_n``): ``lead_words_8``; ``source`` takes no ``n``."""
        return kind if kind == "source" else f"{kind}_{n}"

    @staticmethod
    def baseline_key(name: str) -> str:
        """The file's key of baseline ``name``: ``baseline_lead_words_8``."""
        return f"{BASELINE_PREFIX}{name}"

    @staticmethod
    def check_key(name: str) -> str:
        """Where check ``name`` is in the file, as messages name it: ``checks.<name>``."""
        return f"{CHECKS_KEY}.{name}"

    def baseline(self, name: str) -> Scores:
        """The scores of baseline ``name`` (``lead_words_8``), or a :class:`DataError` listing
        the baselines there are."""
        if name not in self.baselines:
            known = ", ".join(map(self.baseline_key, self.baselines)) or "none"
            raise DataError(
                f"the evaluation report has no {self.baseline_key(name)} (baselines: {known}); "
                "run the evaluate stage"
            )
        return self.baselines[name]

    def required_test(self) -> Scores:
        """The model's test scores, or a :class:`DataError` saying the evaluate stage must run."""
        if self.test is None:
            raise DataError(
                f"the evaluation report has no '{TEST_KEY}' entry; run the evaluate stage"
            )
        return self.test

    def modified_test_rows(self) -> int | None:
        """How many rows of the standard test set ``ingest.filter_test`` changed (None or 0: it
        is whole, or the report does not say)."""
        return None if self.test_set is None else self.test_set.modified_rows


def f1_by_rouge_type(scores: Scores) -> dict[str, float | int | None]:
    """``{rouge type: F1}`` of ``scores``, in the order they were scored."""
    return {key.removesuffix("_f"): value for key, value in scores.items() if key.endswith("_f")}


def _layout_key(fields: Mapping[str, Any], loc: tuple[int | str, ...]) -> str:
    """A validation error's location as the file's key: ``baselines.lead_words_8.rougeL_f`` is
    ``baseline_lead_words_8.rougeL_f``, ``extra_test_sets.duc2004.model`` is ``duc2004.model``;
    the parts naming no key of the input (pydantic's union members) are left out."""
    parts: list[str] = []
    value: Any = fields
    for part in loc:
        if not isinstance(value, Mapping) or part not in value:
            break
        parts.append(str(part))
        value = value[part]
    if parts[:1] == ["baselines"] and len(parts) > 1:
        parts = [f"{BASELINE_PREFIX}{parts[1]}", *parts[2:]]
    elif parts[:1] == ["extra_test_sets"] and len(parts) > 1:
        parts = parts[1:]
    return ".".join(parts) or "the report"
