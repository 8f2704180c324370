"""The data sections: ``dataset``, ``ingest``, ``validate``, ``tokenize`` and ``vocab``."""

from __future__ import annotations

import codecs
from typing import Any, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from summarizer.config.base import Location, Section
from summarizer.config.document import ParamsDocument


class SplitFiles(Section):
    """Where one split lives inside the dataset directory.

    ``parallel_text`` uses ``document`` and ``summary`` (several summary files mean several
    references, line-aligned); ``jsonl``, ``csv``, ``tsv`` and ``parquet`` use ``file``. For
    ``parquet``, ``file`` may be a glob: the shards of one split (``train-*.parquet``, as a
    model hub exports a dataset), read in name order.
    """

    file: str | None = None
    document: str | None = None
    summary: str | list[str] | None = None


class Fields(Section):
    """Column or key names in JSON Lines, CSV, TSV and Parquet files."""

    id: str | None = None
    document: str = "document"
    # Several names: several references per row (summary1, summary2, ...), scored as
    # multi-reference, as several summary files are for parallel text.
    summary: str | list[str] = "summary"


class DatasetSpec(Section):
    """Where a dataset lives and how to read it: the ``dataset`` section."""

    name: str
    # A directory, or remote://<remote>/<dir> under a DVC remote (summarizer.project).
    path: Location
    # tsv: one row a line, fields split on tabs, no quoting (the form of Tatoeba's and the
    # seq2seq tutorials' pair files); csv: RFC 4180, quoted fields may hold commas and newlines;
    # parquet: columns as fields, a list column as sentences or several references.
    format: Literal["parallel_text", "jsonl", "csv", "tsv", "parquet"]
    # Without a test split, ingest carves one (ingest.test_size).
    splits: dict[Literal["train", "validation", "test"], SplitFiles]
    fields: Fields = Fields()
    # The column names of a csv or tsv file that has no header row; null: line 1 is the header.
    columns: list[str] | None = None
    encoding: str = "utf-8"  # of the raw files: any Python text codec (utf-8, latin-1, cp1252...)

    @field_validator("encoding")
    @classmethod
    def _text_encoding(cls, name: str) -> str:
        # Checked here, not when ingest opens the first file: an unknown name would end in a
        # LookupError traceback, and rot13 or base64 are codecs but do not turn bytes into text.
        try:
            codec = codecs.lookup(name)
        except LookupError:
            raise ValueError(
                f"unknown encoding {name!r}; use a Python text codec such as utf-8, latin-1 "
                "or cp1252"
            ) from None
        if not getattr(codec, "_is_text_encoding", True):
            raise ValueError(
                f"{name!r} is not a text encoding (it maps bytes to bytes or text to text); "
                "use a Python text codec such as utf-8, latin-1 or cp1252"
            )
        return name

    @model_validator(mode="after")
    def _splits_match_format(self) -> DatasetSpec:
        if "train" not in self.splits:
            raise ValueError("splits must name at least 'train'")
        if self.columns is not None:
            if self.format not in ("csv", "tsv"):
                raise ValueError(
                    f"columns names the columns of a csv or tsv file, not {self.format}"
                )
            if len(set(self.columns)) != len(self.columns) or not all(self.columns):
                raise ValueError(f"columns must be distinct, non-empty names: {self.columns}")
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
    # The test split is a standard set: kept whole unless this is true, and then every report
    # and the MLflow run say "test set modified: N of M rows".
    filter_test: bool = False
    # A dataset without a test split (Tatoeba): the share of train carved out as test, seeded
    # as validation_size is. Must be null when the dataset has a test split.
    test_size: float | None = Field(None, gt=0, lt=1)
    # Carve validation and test by document: every row of one document (all translations of
    # one sentence) lands on the same side, so no test document was trained on.
    carve_by_document: bool = False
    # Test rows that share a document become one example scored against all their summaries
    # (several translations of one sentence are several references).
    merge_test_references: bool = False


class LengthBounds(Section):
    """Inclusive length range for a text column."""

    min: int = Field(1, ge=0)
    max: int = Field(..., gt=0)


class ValidateParams(Section):
    """Thresholds of the Great Expectations suite run by the ``validate`` stage."""

    length_unit: Literal["tokens", "characters"] = "tokens"
    document_length: LengthBounds = LengthBounds(min=1, max=2000)
    summary_length: LengthBounds = LengthBounds(min=1, max=200)
    # Share of rows whose summary must be shorter than the document (headlines sometimes are not).
    summary_shorter_mostly: float = Field(0.9, ge=0, le=1)
    # Share of rows that must respect the length bounds.
    length_mostly: float = Field(1.0, ge=0, le=1)
    max_failed_examples: int = Field(5, ge=1)
    # Train and validation rows that break a row-level expectation are dropped (counted, with
    # example ids, in the report) instead of failing the run. Test rows are reported and kept.
    drop_invalid_rows: bool = False


class TokenizeParams(Section):
    """How the ``tokenize`` stage turns text into tokens; saved with the model, so serving
    tokenizes the same way."""

    lang: str = "en"
    # The summaries' language when it is not the documents' (translation: zh); null: lang.
    # Chinese is cut into characters (spacy.blank("zh")) and detokenized without spaces.
    target_lang: str | None = None
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

    @property
    def target_language(self) -> str:
        """The language the summaries are tokenized and written in."""
        return self.target_lang or self.lang


class VocabParams(Section):
    """Size, frequency cut-off and special tokens of the vocabularies."""

    min_freq: int = Field(2, ge=1)
    max_size: int = Field(30000, gt=4)
    shared: bool = True  # one vocabulary for both sides (model.share_src_tgt_embeddings needs it)
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


def check_test_split_source(params: Any) -> Any:
    """A whole-document check of any params view holding ``dataset`` and ``ingest``: the test
    set comes from the dataset's test split or from ``ingest.test_size``, exactly one."""
    has_test = "test" in params.dataset.splits
    if has_test and params.ingest.test_size is not None:
        raise ValueError(
            "ingest.test_size carves a test set, but dataset.splits has one: set "
            "ingest.test_size to null, or leave 'test' out of dataset.splits"
        )
    if not has_test and params.ingest.test_size is None:
        raise ValueError(
            "dataset.splits has no 'test' split: name one, or set ingest.test_size to carve it "
            "from train (e.g. 0.05)"
        )
    return params


def check_one_unknown_token(params: Any) -> Any:
    """A whole-document check of any params view holding ``tokenize`` and ``vocab``: the
    tokenizer's unknown marker must be the vocabulary's unknown token."""
    if params.tokenize.unknown_token != params.vocab.unk_token:
        raise ValueError(
            f"tokenize.unknown_token ({params.tokenize.unknown_token!r}) must equal "
            f"vocab.unk_token ({params.vocab.unk_token!r})"
        )
    return params


class DataStageParams(ParamsDocument):
    """The sections of ``params.yaml`` the data stages after ``ingest`` read (``ingest`` checks
    the whole file, so that a typo in any section stops the pipeline before it starts)."""

    model_config = ConfigDict(extra="ignore", frozen=True, strict=True, populate_by_name=True)

    dataset: DatasetSpec
    ingest: IngestParams = IngestParams()
    validate_: ValidateParams = Field(ValidateParams(), alias="validate")
    tokenize: TokenizeParams = TokenizeParams()
    vocab: VocabParams = VocabParams()

    _one_unknown_token = model_validator(mode="after")(check_one_unknown_token)
    _test_split_source = model_validator(mode="after")(check_test_split_source)
