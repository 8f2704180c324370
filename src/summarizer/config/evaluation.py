"""The ``evaluate`` section: decoding options (defined once here, and carried by a packaged model
directory as ``decode.json``), scoring and test sets."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from summarizer.config.base import Location, Section, format_validation_error
from summarizer.config.choices import CORPUS_METRICS, LENGTH_PENALTIES
from summarizer.config.data import DatasetSpec
from summarizer.config.document import ParamsDocument
from summarizer.config.tracking import TrackingParams
from summarizer.errors import ConfigError

# The search's own list: a penalty it gains is an option here, one it drops is refused by name.
LengthPenalty = Literal[LENGTH_PENALTIES]  # type: ignore[valid-type]
CorpusMetric = Literal[CORPUS_METRICS]  # type: ignore[valid-type]

# In a model directory: the decoding options it is evaluated and served with (the package stage
# writes it; a directory as train exports it has none).
DECODE_FILE = "decode.json"


MAX_NAMED = 5  # unknown option names an error lists
MAX_NAME_CHARS = 40


def _shortened(name: str) -> str:
    return name if len(name) <= MAX_NAME_CHARS else name[: MAX_NAME_CHARS - 1] + "…"


class DecodeParams(Section):
    """Search settings: the one definition of the decoding options.

    Everything else is derived from these fields: the ``summarize`` command's options, the
    ``tune-decoding`` grid, the serving params and the pyfunc signature, and the keyword arguments
    of :func:`summarizer.model.beam_search` (:meth:`search_args`; a test checks they match).
    The defaults are ``params.yaml``'s (tests/unit/test_defaults.py); the search functions have
    none of their own. A packaged model directory carries its own (:meth:`read`, :meth:`write`).
    """

    beam_size: int = Field(5, ge=1, le=64)  # 1 is greedy search
    max_length: int = Field(20, ge=1, le=1000)
    min_length: int = Field(2, ge=0)
    length_penalty: LengthPenalty = "gnmt"
    alpha: float = Field(2.0, ge=0)
    no_repeat_ngram_size: int = Field(3, ge=0)
    # A content word the summary already has is not written again; function words and the data's
    # markers ("#", UNK) may repeat (summarizer/content_words.py).
    no_repeat_content_words: bool = True
    # Beam search: beta of OpenNMT-py's "summary" coverage penalty, paid for the attention given
    # beyond 1 to each source word (See et al.'s repetition); 0 is off.
    coverage_penalty: float = Field(0.0, ge=0)
    # Copy the most-attended source word in place of <unk> (a model without attention keeps it).
    replace_unk: bool = True
    batch_tokens: int = Field(4000, gt=0)  # source tokens per decoding batch

    # Options that change what is written; the rest only change speed.
    SPEED_ONLY: ClassVar[frozenset[str]] = frozenset({"batch_tokens"})

    @model_validator(mode="after")
    def _lengths_ordered(self) -> DecodeParams:
        if self.min_length > self.max_length:
            raise ValueError(
                f"min_length ({self.min_length}) must not exceed max_length ({self.max_length})"
            )
        return self

    @classmethod
    def output_options(cls) -> tuple[str, ...]:
        """The options that change the summaries: what tuning may vary."""
        return tuple(name for name in cls.model_fields if name not in cls.SPEED_ONLY)

    def with_overrides(
        self, overrides: Mapping[str, Any] | None, source: str = "decoding options"
    ) -> DecodeParams:
        """These options with ``overrides`` applied and validated as ``params.yaml`` is.

        Raises :class:`ConfigError` naming every unknown option and every bad value, so a request,
        a command line and a tuning grid fail the same way before any model is loaded.
        """
        if not overrides:
            return self
        unknown = sorted(set(overrides) - set(type(self).model_fields))
        if unknown:
            # Names come from requests too: cut, so an error never echoes a huge key back.
            named = [_shortened(str(name)) for name in unknown[:MAX_NAMED]]
            more = f" and {len(unknown) - MAX_NAMED} more" if len(unknown) > MAX_NAMED else ""
            raise ConfigError(
                f"{source}: unknown option(s) {', '.join(named)}{more}; "
                f"allowed: {', '.join(type(self).model_fields)}"
            )
        try:
            return type(self).model_validate({**self.model_dump(), **overrides})
        except ValidationError as exc:
            raise ConfigError(format_validation_error(exc, source)) from None

    @classmethod
    def read(cls, model_dir: Path | str) -> DecodeParams | None:
        """The options ``model_dir`` carries in :data:`DECODE_FILE`, validated as ``params.yaml``
        is; None for a directory without them. A bad file is a :class:`ConfigError` naming it."""
        path = Path(model_dir) / DECODE_FILE
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        try:
            return cls.model_validate_json(text)
        except ValidationError as exc:
            raise ConfigError(format_validation_error(exc, path)) from None

    def write(self, model_dir: Path | str) -> None:
        """Write these options into ``model_dir`` as :data:`DECODE_FILE`."""
        text = self.model_dump_json(indent=2) + "\n"
        (Path(model_dir) / DECODE_FILE).write_text(text, encoding="utf-8")

    def search_args(self) -> dict[str, Any]:
        """Keyword arguments of :func:`~summarizer.model.greedy_search`; beam search also takes
        ``beam_size``. ``replace_unk`` and ``batch_tokens`` act around the search, not in it;
        ``no_repeat_content_words`` reaches it as a mask over the vocabulary, which
        :class:`summarizer.inference.Summarizer` derives from the model's."""
        return {
            "max_length": self.max_length,
            "min_length": self.min_length,
            "no_repeat_ngram_size": self.no_repeat_ngram_size,
            "length_penalty": self.length_penalty,
            "alpha": self.alpha,
            "coverage_penalty": self.coverage_penalty,
        }


class ScoringParams(Section):
    """ROUGE (and BLEU/chrF) settings shared by ``evaluate``, ``score`` and ``tune-decoding``.

    The one definition of the scoring options and their rules:
    :class:`summarizer.evaluation.scoring.ScoringOptions` is these plus a test set's
    :class:`ScoreConvention`, validated by the same model.
    """

    ROUGE_TYPES: ClassVar[frozenset[str]] = frozenset(
        {f"rouge{n}" for n in range(1, 10)} | {"rougeL", "rougeLsum"}
    )

    rouge_types: list[str] = ["rouge1", "rouge2", "rougeL", "rougeLsum"]
    use_stemmer: bool = True
    # default: rouge-score's tokenizer (lowercase, ASCII letters and digits only, as ROUGE-1.5.5
    # and the published numbers); unicode: keeps letters of any script.
    tokenizer: Literal["default", "unicode"] = "default"
    # Corpus metrics from sacrebleu beside ROUGE (evaluation/corpus_metrics.py): translation is
    # judged by BLEU and chrF, which register.metric may then rank by.
    corpus_metrics: list[CorpusMetric] = []
    # sacrebleu's BLEU tokenizer: 13a (its default, for English and other spaced text), zh
    # (Chinese: every character a token), intl, char, none.
    bleu_tokenize: Literal["13a", "zh", "intl", "char", "none"] = "13a"
    bootstrap_samples: int = Field(1000, ge=0)  # 0: no confidence intervals
    confidence: float = Field(0.95, gt=0, lt=1)
    seed: int = 0

    @model_validator(mode="after")
    def _known_rouge_types(self) -> ScoringParams:
        if not self.rouge_types:
            raise ValueError("rouge_types must name at least one ROUGE type")
        unknown = [name for name in self.rouge_types if name not in self.ROUGE_TYPES]
        if unknown:
            raise ValueError(
                f"unknown ROUGE type(s) {unknown}; use rouge1..rouge9, rougeL or rougeLsum"
            )
        if len(set(self.rouge_types)) != len(self.rouge_types):
            raise ValueError(f"rouge_types has duplicates: {self.rouge_types}")
        if len(set(self.corpus_metrics)) != len(self.corpus_metrics):
            raise ValueError(f"corpus_metrics has duplicates: {self.corpus_metrics}")
        return self


class ScoreConvention(Section):
    """How a test set's scores are reported: the headline measure (``f``: F1, as for Gigaword and
    CNN-DM; ``r``: recall, as for DUC-2004) and a cut of every prediction to ``truncate_bytes``
    UTF-8 bytes (DUC: 75; references are never cut)."""

    # The long spellings users know from rouge-score's Score fields.
    MEASURE_ALIASES: ClassVar[dict[str, str]] = {
        "precision": "p",
        "recall": "r",
        "fmeasure": "f",
        "f1": "f",
    }

    measure: Literal["f", "r", "p"] = "f"
    truncate_bytes: int | None = Field(None, gt=0)  # DUC convention: 75

    @model_validator(mode="before")
    @classmethod
    def _measure_alias(cls, values: Any) -> Any:
        measure = values.get("measure") if isinstance(values, dict) else None
        if isinstance(measure, str) and measure in cls.MEASURE_ALIASES:
            return {**values, "measure": cls.MEASURE_ALIASES[measure]}
        return values


class ExtraTestSet(ScoreConvention):
    """A test-only set such as DUC-2004: line-aligned documents and several reference files,
    scored by its own :class:`ScoreConvention`."""

    # A directory, or remote://<remote>/<dir> under a DVC remote (summarizer.project).
    path: Location
    document: str
    references: list[str] = Field(min_length=1)


class EvaluateParams(Section):
    """Decoding, scoring, baseline and report settings of the ``evaluate`` stage."""

    decode: DecodeParams = DecodeParams()
    scoring: ScoringParams = ScoringParams()
    # lead_words, lead_sentences: the document's first lead_n words or sentences (summaries);
    # source: the document itself (translation: the untranslated input, a floor to beat).
    baseline: Literal["lead_words", "lead_sentences", "source"] = "lead_words"
    lead_n: int = Field(8, ge=1)  # words for lead_words, sentences for lead_sentences
    max_test_examples: int | None = Field(None, ge=1)  # null: the whole test split
    attention_examples: int = Field(4, ge=0)  # heatmaps drawn for the first N test examples
    length_buckets: list[int] = [10, 20, 30, 40, 60]  # source-length bucket edges (tokens)
    extra_test_sets: dict[str, ExtraTestSet] = {}


class DecodeSection(BaseModel):
    """The ``evaluate`` section as the ``package`` stage reads it: its decoding options alone
    (the rest is validated by the stages that read it)."""

    model_config = ConfigDict(extra="ignore", frozen=True, strict=True)

    decode: DecodeParams = DecodeParams()


class PackageStageParams(ParamsDocument):
    """What the ``package`` stage reads of ``params.yaml``: ``evaluate.decode``, the options
    the packaged model directory carries (its only DVC param)."""

    model_config = ConfigDict(extra="ignore", frozen=True, strict=True)

    evaluate: DecodeSection = DecodeSection()


class EvaluationStageParams(ParamsDocument):
    """The sections of ``params.yaml`` the ``evaluate`` stage reads."""

    model_config = ConfigDict(extra="ignore", frozen=True, strict=True)

    dataset: DatasetSpec
    evaluate: EvaluateParams = EvaluateParams()
    tracking: TrackingParams = TrackingParams()
