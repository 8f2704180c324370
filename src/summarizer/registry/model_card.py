"""What a model card says, as data: every fact the pipeline knows about a model it logs, typed.

:mod:`.card_facts` (in :mod:`summarizer.stages`) gathers them from the model directory, the
reports and the training run; :mod:`.card_markdown` writes them as the card a reviewer reads (the
logged model's ``README.md`` and the registered version's description). Nothing here is typed by
hand: a fact the pipeline does not know is None, and the card says "not recorded".

Values, no I/O; no evaluation code either (the serving runtime, which imports this package, has
no rouge-score): the evaluation report travels as the plain content of ``evaluation.json``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Facts(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Architecture(_Facts):
    """The model's shape, from its ``config.json``, and its size."""

    rnn_type: str
    bidirectional: bool
    enc_layers: int
    dec_layers: int
    emb_dim: int
    hidden_dim: int
    attention: str
    input_feeding: bool = False
    copy_source: bool = Field(False, alias="copy")  # "copy" would shadow BaseModel.copy
    coverage: bool = False
    tie_embeddings: bool = False
    share_src_tgt_embeddings: bool = False
    src_vocab_size: int
    tgt_vocab_size: int
    parameters: int | None = None

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class Training(_Facts):
    """How the model was trained (``meta.json``, what the train stage measured)."""

    seconds: float | None = None
    device: str | None = None
    precision: str | None = None
    best_epoch: int | None = None
    epochs: int | None = None


class Provenance(_Facts):
    """Where the model comes from: code, data and the run that recorded it."""

    run_id: str | None = None
    git_commit: str | None = None
    git_dirty: str | None = None  # "True"/"False" as the run's tag holds it
    data_hash: str | None = None
    dvc_remote: str | None = None


class Tokenization(_Facts):
    """What a user must know of the text the model reads and writes (``tokenizer.json``)."""

    lang: str = "en"
    target_lang: str | None = None
    lowercase: bool = True
    mask_digits: bool = False
    max_source_len: int | None = None
    max_target_len: int | None = None

    @property
    def target_language(self) -> str:
        return self.target_lang or self.lang

    @property
    def translates(self) -> bool:
        return self.target_language != self.lang


class Vocabulary(_Facts):
    """Sizes and out-of-vocabulary rates (``reports/vocab.json``)."""

    shared: bool | None = None
    source_size: int | None = None
    target_size: int | None = None
    source_oov_rate: float | None = None  # on the validation split, as a share
    target_oov_rate: float | None = None


class Data(_Facts):
    """What the model was trained and tested on."""

    dataset: str | None = None
    preset: str | None = None  # configs/datasets/<file> whose dataset section this is
    rows: dict[str, int] = Field(default_factory=dict)  # split -> rows after ingest
    validation_carved_from_train: bool | None = None
    tokenization: Tokenization = Field(default_factory=Tokenization)
    vocabulary: Vocabulary = Field(default_factory=Vocabulary)


class Example(_Facts):
    """One test example with the model's output, chosen by its score on the ranking metric."""

    kind: str  # typical | best | worst
    id: str
    document: str
    references: list[str]
    prediction: str
    score: float | None = None


class GateRow(_Facts):
    """One registration-gate condition the model was checked against."""

    name: str
    value: float | None = None
    threshold: float | None = None
    passed: bool


class ModelCard(_Facts):
    """Every fact of a model card. ``evaluation``: the content of ``reports/evaluation.json``
    (:class:`~summarizer.evaluation.report.EvaluationReport.to_dict`) that the version was
    scored with."""

    model_name: str
    metric: str  # the ranking metric, a key of evaluation["test"]
    baseline: str | None = None  # the evaluation report's baseline named in the results table
    architecture: Architecture | None = None
    training: Training = Field(default_factory=Training)
    provenance: Provenance = Field(default_factory=Provenance)
    data: Data = Field(default_factory=Data)
    evaluation: dict[str, Any] = Field(default_factory=dict)
    scoring: dict[str, Any] = Field(default_factory=dict)  # evaluate.scoring
    decode: dict[str, Any] = Field(default_factory=dict)  # the served decoding defaults
    gate: list[GateRow] = Field(default_factory=list)
    # The paired test against the best version before it (registry.evidence.Evidence.to_report).
    evidence: dict[str, Any] | None = None
    by_source_length: list[dict[str, Any]] = Field(default_factory=list)  # rouge_by_length.csv
    examples: list[Example] = Field(default_factory=list)
