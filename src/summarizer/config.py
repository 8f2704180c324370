"""Typed view of ``params.yaml`` and every path the pipeline reads or writes.

Each DVC stage reads its own section through :func:`load_params`. Models forbid unknown keys, so a
typo in ``params.yaml`` stops the stage with a message naming the key instead of being silently
ignored and leaving the run unreproducible.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from summarizer.errors import ConfigError

PARAMS_FILE = Path("params.yaml")


# YAML has no path type: a path is a string, taken as a Path even under strict validation.
FilePath = Annotated[Path, Field(strict=False)]


class Section(BaseModel):
    """Base of every params section: unknown keys are errors and values are immutable once read."""

    # strict: "yes" is not a boolean and "3" is not a number; a YAML typo must not change a run.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


# --------------------------------------------------------------------------------------- data
class SplitFiles(Section):
    """Where one split lives inside the dataset directory.

    ``parallel_text`` uses ``document`` and ``summary`` (several summary files mean several
    references, line-aligned); ``jsonl`` and ``csv`` use ``file``.
    """

    file: str | None = None
    document: str | None = None
    summary: str | list[str] | None = None


class Fields(Section):
    """Column or key names in JSON Lines and CSV files."""

    id: str | None = None
    document: str = "document"
    summary: str = "summary"


class DatasetSpec(Section):
    """Where a dataset lives and how to read it: the ``dataset`` section."""

    name: str
    path: FilePath
    format: Literal["parallel_text", "jsonl", "csv"]
    splits: dict[Literal["train", "validation", "test"], SplitFiles]
    fields: Fields = Fields()
    encoding: str = "utf-8"

    @model_validator(mode="after")
    def _splits_match_format(self) -> DatasetSpec:
        if "train" not in self.splits or "test" not in self.splits:
            raise ValueError("splits must name at least 'train' and 'test'")
        for split, files in self.splits.items():
            if self.format == "parallel_text":
                if not files.document or not files.summary:
                    raise ValueError(
                        f"split '{split}': format parallel_text needs "
                        "'document' and 'summary' files"
                    )
            elif not files.file:
                raise ValueError(f"split '{split}': format {self.format} needs 'file'")
        return self


class IngestParams(Section):
    """Cleaning and splitting done by the ``ingest`` stage."""

    validation_size: float = Field(0.05, gt=0, lt=1)
    seed: int = 42
    drop_duplicates: bool = True
    drop_test_overlap: bool = True


class LengthBounds(Section):
    """Inclusive length range for a text column."""

    min: int = Field(1, ge=0)
    max: int = Field(..., gt=0)


class ValidateParams(Section):
    """Thresholds of the Great Expectations suite run by the ``validate`` stage."""

    length_unit: Literal["tokens", "characters"] = "tokens"
    document_length: LengthBounds = LengthBounds(min=3, max=2000)
    summary_length: LengthBounds = LengthBounds(min=1, max=200)
    # Share of rows whose summary must be shorter than the document (headlines sometimes are not).
    summary_shorter_mostly: float = Field(0.9, ge=0, le=1)
    # Share of rows that must respect the length bounds.
    length_mostly: float = Field(1.0, ge=0, le=1)
    max_failed_examples: int = Field(5, ge=1)


class TokenizeParams(Section):
    """How the ``tokenize`` stage turns text into tokens; saved with the model, so serving
    tokenizes the same way."""

    lang: str = "en"
    lowercase: bool = True
    mask_digits: bool = False
    max_source_len: int = Field(100, gt=0)
    max_target_len: int = Field(30, gt=0)
    batch_size: int = Field(1000, gt=0)
    n_process: int = Field(1, ge=1)
    # Datasets mark out-of-vocabulary words themselves (Gigaword: "<unk>" in train, "UNK" in
    # test). Each marker is kept as one token and becomes ``unknown_token``, the vocabulary's
    # unknown token, so the model learns one unknown and UNK replacement can copy a source word.
    unknown_markers: list[str] = ["<unk>", "UNK"]
    unknown_token: str = "<unk>"


class VocabParams(Section):
    """Size, frequency cut-off and special tokens of the vocabularies."""

    min_freq: int = Field(2, ge=1)
    max_size: int = Field(30000, gt=4)
    shared: bool = False
    pad_token: str = "<pad>"
    unk_token: str = "<unk>"
    bos_token: str = "<s>"
    eos_token: str = "</s>"

    @model_validator(mode="after")
    def _specials_distinct(self) -> VocabParams:
        specials = [self.pad_token, self.unk_token, self.bos_token, self.eos_token]
        if len(set(specials)) != len(specials):
            raise ValueError("special tokens must be distinct")
        return self


class ModelParams(Section):
    """Architecture; see :class:`summarizer.model.Seq2SeqConfig` for what each knob does."""

    rnn_type: Literal["lstm", "gru"] = "lstm"
    emb_dim: int = Field(256, gt=0)
    hidden_dim: int = Field(512, gt=0)
    enc_layers: int = Field(2, ge=1)
    dec_layers: int = Field(2, ge=1)
    bidirectional: bool = True
    dropout: float = Field(0.3, ge=0, lt=1)
    attention: Literal["dot", "general", "concat", "bahdanau"] = "general"
    input_feeding: bool = False
    tie_embeddings: bool = False
    share_src_tgt_embeddings: bool = False


class TrainParams(Section):
    """Optimisation, device, precision, batching and checkpointing of the ``train`` stage."""

    seed: int = 42
    device: Literal["auto", "cpu", "cuda", "mps"] = "auto"
    # auto: bf16 autocast on CUDA GPUs that support it, fp16 + gradient scaler on older ones,
    # fp32 elsewhere (this CPU has no bf16 speed-up).
    precision: Literal["auto", "fp32", "bf16", "fp16"] = "auto"
    threads: int = Field(0, ge=0)  # 0: torch's default (one per physical core)
    max_epochs: int = Field(10, ge=1)
    max_train_examples: int | None = Field(None, ge=1)  # a quick look at a subset
    batch_tokens: int = Field(4000, gt=0)  # padded source + target tokens per batch
    max_batch_size: int = Field(256, gt=0)
    grad_accum_steps: int = Field(1, ge=1)
    lr: float = Field(1e-3, gt=0)
    weight_decay: float = Field(0.01, ge=0)
    clip_grad_norm: float = Field(1.0, gt=0)
    scheduler: Literal["warmup_decay", "plateau", "constant"] = "warmup_decay"
    warmup_steps: int = Field(200, ge=0)
    min_lr_ratio: float = Field(0.1, ge=0, le=1)  # cosine decay floor, as a share of lr
    plateau_factor: float = Field(0.5, gt=0, lt=1)
    plateau_patience: int = Field(1, ge=0)
    label_smoothing: float = Field(0.0, ge=0, lt=1)
    teacher_forcing: float = Field(1.0, ge=0, le=1)
    teacher_forcing_min: float = Field(1.0, ge=0, le=1)  # reached linearly at the last epoch
    early_stopping_patience: int = Field(3, ge=1)
    checkpoint_every_steps: int = Field(500, ge=0)  # 0: only at the end of an epoch


class TrackingParams(Section):
    """Which MLflow store and experiment the runs go to."""

    experiment: str = "summarizer"
    # null: $MLFLOW_TRACKING_URI if set, else an SQLite database in the repository root.
    uri: str | None = None
    log_system_metrics: bool = True


LengthPenalty = Literal["none", "avg", "gnmt"]  # summarizer.model.search.LENGTH_PENALTIES (tested)


class DecodeParams(Section):
    """Search settings: the one definition of the decoding options.

    Everything else is derived from these fields: the ``summarize`` command's options, the
    ``tune-decoding`` grid, the serving params and the pyfunc signature, and the keyword arguments
    of :func:`summarizer.model.beam_search` (:meth:`search_args`; a test checks they match).
    """

    beam_size: int = Field(5, ge=1, le=64)  # 1 is greedy search
    max_length: int = Field(20, ge=1, le=1000)
    min_length: int = Field(0, ge=0)
    length_penalty: LengthPenalty = "gnmt"
    alpha: float = Field(0.6, ge=0)
    no_repeat_ngram_size: int = Field(3, ge=0)
    replace_unk: bool = True  # copy the most-attended source word in place of <unk>
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
            raise ConfigError(
                f"{source}: unknown option(s) {', '.join(map(str, unknown))}; "
                f"allowed: {', '.join(type(self).model_fields)}"
            )
        try:
            return type(self).model_validate({**self.model_dump(), **overrides})
        except ValidationError as exc:
            raise ConfigError(format_validation_error(exc, source)) from None

    def search_args(self) -> dict[str, Any]:
        """Keyword arguments of :func:`~summarizer.model.greedy_search`; beam search also takes
        ``beam_size``. ``replace_unk`` and ``batch_tokens`` act around the search, not in it."""
        return {
            "max_length": self.max_length,
            "min_length": self.min_length,
            "no_repeat_ngram_size": self.no_repeat_ngram_size,
            "length_penalty": self.length_penalty,
            "alpha": self.alpha,
        }


class ScoringParams(Section):
    """ROUGE settings shared by ``evaluate``, ``score`` and ``tune-decoding``.

    The one definition of the scoring options and their rules:
    :class:`summarizer.evaluation.ScoringOptions` is these plus a test set's
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

    path: FilePath
    document: str
    references: list[str] = Field(min_length=1)


class EvaluateParams(Section):
    """Decoding, scoring, baseline and report settings of the ``evaluate`` stage."""

    decode: DecodeParams = DecodeParams()
    scoring: ScoringParams = ScoringParams()
    baseline: Literal["lead_words", "lead_sentences"] = "lead_words"
    lead_n: int = Field(8, ge=1)  # words for lead_words, sentences for lead_sentences
    max_test_examples: int | None = Field(None, ge=1)  # null: the whole test split
    attention_examples: int = Field(4, ge=0)  # heatmaps drawn for the first N test examples
    length_buckets: list[int] = [10, 20, 30, 40, 60]  # source-length bucket edges (tokens)
    extra_test_sets: dict[str, ExtraTestSet] = {}


class RegisterParams(Section):
    """What the register stage registers, and the metric that ranks versions."""

    model_name: str = Field("summarizer", min_length=1)
    # Key of the "test" entry of reports/metrics.json: a run is registered only if it beats every
    # registered version on it, and promote refuses a version that is worse than the champion.
    metric: str = "rougeL_f"
    greater_is_better: bool = True


class Params(BaseModel):
    """The whole of ``params.yaml``. Later stages add their sections here."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, populate_by_name=True)

    dataset: DatasetSpec
    ingest: IngestParams = IngestParams()
    validate_: ValidateParams = Field(ValidateParams(), alias="validate")
    tokenize: TokenizeParams = TokenizeParams()
    vocab: VocabParams = VocabParams()
    model: ModelParams = ModelParams()
    train: TrainParams = TrainParams()
    tracking: TrackingParams = TrackingParams()
    evaluate: EvaluateParams = EvaluateParams()
    register_: RegisterParams = Field(RegisterParams(), alias="register")

    @model_validator(mode="after")
    def _one_unknown_token(self) -> Params:
        if self.tokenize.unknown_token != self.vocab.unk_token:
            raise ValueError(
                f"tokenize.unknown_token ({self.tokenize.unknown_token!r}) must equal "
                f"vocab.unk_token ({self.vocab.unk_token!r})"
            )
        return self

    def to_flat_dict(self) -> dict[str, object]:
        """``section.key`` -> value, for MLflow's flat parameter list."""
        flat: dict[str, object] = {}

        def walk(prefix: str, value: object) -> None:
            if isinstance(value, dict):
                for key, item in value.items():
                    walk(f"{prefix}.{key}" if prefix else str(key), item)
            else:
                flat[prefix] = value

        walk("", self.model_dump(mode="json", by_alias=True))
        return flat


def format_validation_error(error: ValidationError, source: Path | str) -> str:
    """One line per bad key, named by its dotted path, for people rather than pydantic."""
    lines = [f"{source}: invalid parameters"]
    for issue in error.errors():
        key = ".".join(str(part) for part in issue["loc"])
        message = "unknown key" if issue["type"] == "extra_forbidden" else issue["msg"]
        message = message.removeprefix("Value error, ")
        lines.append(f"  {key}: {message}" if key else f"  {message}")
    return "\n".join(lines)


def load_params(path: Path | str = PARAMS_FILE) -> Params:
    """Read and validate ``params.yaml``; any problem is a :class:`ConfigError` naming the key."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: parameter file not found") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of sections at the top level")
    try:
        return Params.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, path)) from None


# -------------------------------------------------------------------------------------- paths
class Paths:
    """Every file the stages exchange. Stages talk to each other only through these."""

    interim = Path("data/interim")
    processed = Path("data/processed")
    vocab_dir = Path("data/vocab")
    reports = Path("reports")
    models = Path("models")

    ingest_report = reports / "ingest.json"
    validation_dir = reports / "validation"
    validation_summary = validation_dir / "summary.json"
    validation_docs = validation_dir / "data_docs"
    vocab_metrics = reports / "vocab.json"

    checkpoints = models / "checkpoints"  # last.pt and best.pt: training.CheckpointStore
    model_dir = models / "summarizer"  # self-describing: weights, config, vocab, tokenizer
    train_run = models / "mlflow_run.json"
    train_history = reports / "train_history.csv"
    train_metrics = reports / "train_metrics.json"
    metrics = reports / "metrics.json"
    predictions = reports / "predictions.jsonl"
    rouge_by_length = reports / "rouge_by_length.csv"
    attention_dir = reports / "attention"

    @classmethod
    def interim_split(cls, split: str) -> Path:
        """The ingested table of ``split`` (written by ``ingest``)."""
        return cls.interim / f"{split}.parquet"

    @classmethod
    def processed_split(cls, split: str) -> Path:
        """The tokenized table of ``split`` (written by ``tokenize``)."""
        return cls.processed / f"{split}.parquet"

    @classmethod
    def vocab_file(cls, side: Literal["source", "target"]) -> Path:
        """The vocabulary of one side (written by ``vocab``)."""
        return cls.vocab_dir / f"{side}.json"


SPLITS: tuple[str, ...] = ("train", "validation", "test")
