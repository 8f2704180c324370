"""ROUGE scoring, baselines and degenerate-output checks, shared by ``evaluate`` and ``score``.

Everything here is plain Python on top of `rouge-score` and NumPy (no MLflow, no DVC), so the
pipeline stage and the ``score`` command produce the same numbers for the same inputs.

Conventions, chosen to match how the summarization literature reports ROUGE:

* **Scores are ×100** (``66.67``, not ``0.6667``), Porter stemming on by default.
* **Several references**: each reference is scored separately and, *independently for every ROUGE
  type*, the reference with the best F1 is kept for that example. This is what rouge-score's
  ``RougeScorer.score_multi`` does and what ROUGE-1.5.5 does with jackknifing off and its
  "best model" scoring formula (``-f B``). Note that ROUGE-1.5.5's *default* formula (``-f A``)
  instead pools n-gram hits over all references; numbers from the two are not interchangeable.
  Precision and recall reported for a type come from the reference chosen by F1 for that type.
* **ROUGE-Lsum** (summary-level LCS) needs the sentences of a multi-sentence summary separated by
  newlines (``"first sentence .\\nsecond sentence ."``); use :func:`join_sentences`. Without
  newlines ROUGE-Lsum equals ROUGE-L. Single-sentence data (headlines) need nothing.
* **Tokenizer** (:attr:`ScoringOptions.tokenizer`):

  - ``"default"``: rouge-score's own tokenizer. It lowercases and keeps only ``[a-z0-9]`` runs, so
    every non-ASCII character is *dropped* (``"café"`` becomes ``"caf"``, a Greek or Chinese summary
    becomes empty and scores 0). It is what published rouge-score numbers use; pick it for English.
  - ``"unicode"``: :class:`UnicodeTokenizer`. NFKC-normalises and lowercases, then keeps runs of
    Unicode letters and digits of any script. On pure-ASCII text it gives exactly the same tokens as
    ``"default"``; pick it for text with accents or non-Latin scripts.

* **DUC-2004 convention**: recall as the headline measure and system output cut to 75 bytes:
  ``ScoringOptions(measure="r", truncate_bytes=75)``. Only predictions are cut, never references.
* **Empty predictions** are scored (0 for every measure) and counted in the mean, never dropped,
  so a model cannot raise its score by emitting nothing for hard inputs.
* **Confidence intervals**: percentile bootstrap over examples (the scheme of rouge-score's
  ``BootstrapAggregator`` and ROUGE-1.5.5), seeded and vectorised with NumPy. The reported point
  value is the plain mean over examples, not the bootstrap median.
"""

from __future__ import annotations

import gzip
import json
import re
import unicodedata
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from nltk.stem import porter
from rouge_score import rouge_scorer, tokenizers

from summarizer.errors import ConfigError, DataError

__all__ = [
    "CorpusScores",
    "ScoringOptions",
    "UnicodeTokenizer",
    "degeneracy_metrics",
    "join_sentences",
    "lead_sentences",
    "lead_words",
    "read_texts",
    "score_corpus",
    "score_files",
    "split_sentences",
    "truncate_bytes",
]

DEFAULT_ROUGE_TYPES: tuple[str, ...] = ("rouge1", "rouge2", "rougeL", "rougeLsum")
MEASURES: tuple[str, ...] = ("p", "r", "f")
# Accept the long spellings users may know from rouge-score's ``Score`` fields.
_MEASURE_ALIASES = {"precision": "p", "recall": "r", "fmeasure": "f", "f1": "f"}
_ROUGE_TYPE_RE = re.compile(r"^rouge(?:[1-9]|L|Lsum)$")
_JSONL_SUFFIXES = {".jsonl", ".ndjson", ".json"}


# ------------------------------------------------------------------------------------ options
@dataclass(frozen=True)
class ScoringOptions:
    """How predictions are scored. Defaults follow the Gigaword/CNN-DM literature.

    Attributes:
        rouge_types: ``rouge1`` … ``rouge9``, ``rougeL`` (LCS over the whole text) and
            ``rougeLsum`` (summary-level LCS over newline-separated sentences).
        use_stemmer: Porter stemming of tokens longer than 3 characters (ROUGE-1.5.5 ``-m``).
        tokenizer: ``"default"`` (rouge-score's; drops non-ASCII characters) or ``"unicode"``
            (keeps letters and digits of any script). See the module docstring.
        bootstrap_samples: resamples for the confidence intervals; 0 turns them off (no
            ``*_low``/``*_high`` keys are then reported).
        confidence: two-sided level of the percentile bootstrap interval.
        seed: seed of the resampling, so the same inputs give the same intervals.
        truncate_bytes: cut each prediction to this many UTF-8 bytes before scoring (DUC: 75);
            ``None`` leaves predictions whole.
        measure: the headline measure of :meth:`CorpusScores.headline`: ``"f"`` (F1, Gigaword and
            CNN-DM), ``"r"`` (recall, DUC-2004) or ``"p"``.
    """

    rouge_types: tuple[str, ...] = DEFAULT_ROUGE_TYPES
    use_stemmer: bool = True
    tokenizer: str = "default"
    bootstrap_samples: int = 1000
    confidence: float = 0.95
    seed: int = 0
    truncate_bytes: int | None = None
    measure: str = "f"

    def __post_init__(self) -> None:
        # Normalise here so a list from YAML or a long measure name still gives a hashable,
        # canonical options object.
        object.__setattr__(self, "rouge_types", tuple(self.rouge_types))
        object.__setattr__(self, "measure", _MEASURE_ALIASES.get(self.measure, self.measure))
        if not self.rouge_types:
            raise ConfigError("scoring: rouge_types must name at least one ROUGE type")
        bad = [t for t in self.rouge_types if not _ROUGE_TYPE_RE.match(t)]
        if bad:
            raise ConfigError(
                f"scoring: unknown ROUGE type(s) {bad}; use rouge1..rouge9, rougeL or rougeLsum"
            )
        if len(set(self.rouge_types)) != len(self.rouge_types):
            raise ConfigError(f"scoring: rouge_types has duplicates: {list(self.rouge_types)}")
        if self.tokenizer not in ("default", "unicode"):
            raise ConfigError(
                f"scoring: tokenizer must be 'default' or 'unicode', got {self.tokenizer!r}"
            )
        if self.measure not in MEASURES:
            raise ConfigError(f"scoring: measure must be 'f', 'p' or 'r', got {self.measure!r}")
        if self.bootstrap_samples < 0:
            raise ConfigError("scoring: bootstrap_samples must be >= 0")
        if not 0 < self.confidence < 1:
            raise ConfigError("scoring: confidence must lie strictly between 0 and 1")
        if self.truncate_bytes is not None and self.truncate_bytes <= 0:
            raise ConfigError("scoring: truncate_bytes must be positive or null")


# ---------------------------------------------------------------------------------- tokenizer
class UnicodeTokenizer(tokenizers.Tokenizer):
    """rouge-score tokenizer that keeps letters and digits of every script.

    Text is NFKC-normalised (so composed and decomposed accents match, and full-width digits
    become ASCII) and lowercased; tokens are maximal runs of Unicode letters or digits, everything
    else separates tokens. With ``use_stemmer`` the Porter stemmer is applied, like rouge-score,
    to tokens longer than 3 characters, but only to ASCII tokens: it is an English stemmer and
    would mangle other languages. On ASCII input the tokens equal rouge-score's default ones.
    """

    # ``[^\W_]`` is "word character but not underscore": letters and digits of any script.
    _TOKEN_RE = re.compile(r"[^\W_]+")
    _ASCII_TOKEN_RE = re.compile(r"^[a-z0-9]+$")

    def __init__(self, use_stemmer: bool = False) -> None:
        self._stemmer = porter.PorterStemmer() if use_stemmer else None

    def tokenize(self, text: str) -> list[str]:
        text = unicodedata.normalize("NFKC", text).lower()
        tokens = self._TOKEN_RE.findall(text)
        if self._stemmer is not None:
            tokens = [
                self._stemmer.stem(t) if len(t) > 3 and self._ASCII_TOKEN_RE.match(t) else t
                for t in tokens
            ]
        return tokens


def _make_scorer(options: ScoringOptions) -> rouge_scorer.RougeScorer:
    tokenizer = UnicodeTokenizer(options.use_stemmer) if options.tokenizer == "unicode" else None
    # split_summaries=False: sentence boundaries for rougeLsum are the newlines the caller put in,
    # never NLTK's guess (which needs the punkt download and differs between versions).
    return rouge_scorer.RougeScorer(
        list(options.rouge_types),
        use_stemmer=options.use_stemmer,
        split_summaries=False,
        tokenizer=tokenizer,
    )


# ------------------------------------------------------------------------------------ helpers
def join_sentences(sentences: Iterable[str]) -> str:
    """Join the sentences of one summary with newlines, the separator ROUGE-Lsum expects.

    An item that itself holds newlines is taken as several sentences (some corpora store a
    whole summary as one newline-separated string in a list), other whitespace is normalised to
    single spaces and empty sentences are dropped, so the result has one line per sentence.
    """
    lines = (" ".join(line.split()) for s in sentences for line in s.split("\n"))
    return "\n".join(line for line in lines if line)


def truncate_bytes(text: str, limit: int) -> str:
    """First ``limit`` bytes of ``text`` in UTF-8, never splitting a multi-byte character."""
    return text.encode("utf-8")[:limit].decode("utf-8", errors="ignore")


# ------------------------------------------------------------------------------------ scoring
@dataclass
class CorpusScores:
    """Corpus-level ROUGE with confidence intervals, plus every example's own scores.

    Attributes:
        options: the options the scores were computed with.
        per_example: one dict per example, keys ``"{type}_{p|r|f}"`` (e.g. ``rouge1_f``), ×100.
        mean: corpus mean of every key of ``per_example``.
        low, high: bounds of the bootstrap confidence interval per key (empty when bootstrap is
            off).
    """

    options: ScoringOptions
    per_example: list[dict[str, float]]
    mean: dict[str, float]
    low: dict[str, float] = field(default_factory=dict)
    high: dict[str, float] = field(default_factory=dict)

    @property
    def n_examples(self) -> int:
        return len(self.per_example)

    def headline(self) -> dict[str, float]:
        """``{rouge_type: mean}`` of the headline measure (F1, or recall for DUC)."""
        return {t: self.mean[f"{t}_{self.options.measure}"] for t in self.options.rouge_types}

    def to_metrics(self) -> dict[str, float | int]:
        """Flat, JSON-safe mapping for ``metrics.json``/MLflow.

        Keys per ROUGE type: ``{t}_f``, ``{t}_f_low``, ``{t}_f_high``, ``{t}_p``, ``{t}_r`` (and
        ``_low``/``_high`` for p and r too), plus ``n_examples``. Values are rounded to 4 decimals
        so metric diffs are not noise.
        """
        out: dict[str, float | int] = {}
        for rouge_type in self.options.rouge_types:
            for measure in ("f", "p", "r"):
                key = f"{rouge_type}_{measure}"
                out[key] = round(float(self.mean[key]), 4)
                if key in self.low:
                    out[f"{key}_low"] = round(float(self.low[key]), 4)
                    out[f"{key}_high"] = round(float(self.high[key]), 4)
        out["n_examples"] = self.n_examples
        return out


def _score_example(
    scorer: rouge_scorer.RougeScorer,
    rouge_types: Sequence[str],
    prediction: str,
    references: Sequence[str],
) -> dict[str, float]:
    # Best reference by F1, separately per ROUGE type; ties keep the first reference. This is
    # rouge-score's score_multi, re-done here so per-type precision/recall stay available.
    per_ref = [scorer.score(ref, prediction) for ref in references]
    row: dict[str, float] = {}
    for rouge_type in rouge_types:
        best = max(per_ref, key=lambda s: s[rouge_type].fmeasure)[rouge_type]
        row[f"{rouge_type}_p"] = 100.0 * best.precision
        row[f"{rouge_type}_r"] = 100.0 * best.recall
        row[f"{rouge_type}_f"] = 100.0 * best.fmeasure
    return row


def _bootstrap(
    matrix: np.ndarray, samples: int, confidence: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Percentile bootstrap of the column means of ``matrix`` (examples × metrics).

    Each resample is expressed as per-example counts so that the mean of a resample is one matrix
    product; resamples are drawn in chunks to keep memory near a few tens of MB on large test sets.
    """
    n = matrix.shape[0]
    rng = np.random.default_rng(seed)
    chunk = max(1, min(samples, 4_000_000 // max(n, 1)))
    means = np.empty((samples, matrix.shape[1]))
    for start in range(0, samples, chunk):
        rows = min(chunk, samples - start)
        idx = rng.integers(0, n, size=(rows, n))
        # Offset each row's indices so one bincount gives a (rows × n) count table.
        offsets = (idx + (np.arange(rows) * n)[:, None]).ravel()
        counts = np.bincount(offsets, minlength=rows * n).reshape(rows, n)
        means[start : start + rows] = counts @ matrix / n
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(means, [alpha, 1.0 - alpha], axis=0)
    return low, high


def score_corpus(
    predictions: Sequence[str],
    references: Sequence[Sequence[str]] | Sequence[str],
    options: ScoringOptions | None = None,
    *,
    progress: bool = False,
) -> CorpusScores:
    """Score predictions against one or more references per example.

    Args:
        predictions: one text per example. Multi-sentence texts must be newline-joined for
            ROUGE-Lsum (:func:`join_sentences`). Empty strings score 0 and are counted.
        references: per example, a list of reference texts (any number ≥ 1); a plain string is
            accepted as a single reference.
        options: scoring options; defaults to :class:`ScoringOptions()`.
        progress: show a tqdm progress bar (when tqdm is installed).

    Raises:
        DataError: if the counts differ, there is nothing to score, or an example has no reference.
    """
    options = options or ScoringOptions()
    if len(predictions) != len(references):
        raise DataError(
            f"{len(predictions)} predictions but {len(references)} references: "
            "they must be aligned one to one"
        )
    if not predictions:
        raise DataError("nothing to score: no predictions were given")
    refs: list[list[str]] = [[r] if isinstance(r, str) else list(r) for r in references]
    for i, example_refs in enumerate(refs):
        if not example_refs:
            raise DataError(f"example {i} has no reference")

    scorer = _make_scorer(options)
    pairs: Iterable[tuple[str, list[str]]] = zip(predictions, refs, strict=True)
    if progress:
        try:
            from tqdm.auto import tqdm

            pairs = tqdm(pairs, total=len(refs), desc="ROUGE", unit="ex", disable=None)
        except ImportError:  # the bar is a nicety, not a reason to fail
            pass

    per_example: list[dict[str, float]] = []
    for prediction, example_refs in pairs:
        if options.truncate_bytes is not None:
            prediction = truncate_bytes(prediction, options.truncate_bytes)
        per_example.append(_score_example(scorer, options.rouge_types, prediction, example_refs))

    keys = list(per_example[0])
    matrix = np.array([[row[k] for k in keys] for row in per_example], dtype=np.float64)
    mean = dict(zip(keys, matrix.mean(axis=0).tolist(), strict=True))
    low: dict[str, float] = {}
    high: dict[str, float] = {}
    if options.bootstrap_samples > 0:
        lo, hi = _bootstrap(matrix, options.bootstrap_samples, options.confidence, options.seed)
        low = dict(zip(keys, lo.tolist(), strict=True))
        high = dict(zip(keys, hi.tolist(), strict=True))
    return CorpusScores(options=options, per_example=per_example, mean=mean, low=low, high=high)


# ---------------------------------------------------------------------------------- baselines
def lead_words(document: str, n: int) -> str:
    """The first ``n`` whitespace tokens of ``document``, space-joined (headline baseline)."""
    if n < 1:
        raise ValueError(f"lead_words: n must be >= 1, got {n}")
    return " ".join(document.split()[:n])


# Tokens that end in a period but rarely end a sentence. Kept short on purpose: this is a
# baseline splitter, not a sentence segmenter.
_ABBREVIATIONS = frozenset(
    {"mr.", "mrs.", "ms.", "dr.", "prof.", "st.", "jr.", "sr.", "gen.", "sen.", "rep.", "gov."}
    | {"lt.", "col.", "sgt.", "capt.", "vs.", "no.", "fig."}
)
# Tokens that close a sentence after its final punctuation: quotes and brackets, raw or in the
# PTB-escaped form of the tokenized datasets ('' and -rrb-).
_CLOSERS = frozenset(["''", "'", '"', "”", "’", ")", "]", "}", "-rrb-", "-rsb-", "-rcb-"])
_SENT_END_RE = re.compile(r"[.!?]+[\"'”’)\]}]*$")


def _ends_sentence(token: str) -> bool:
    if not _SENT_END_RE.search(token):
        return False
    lower = token.lower()
    if lower in _ABBREVIATIONS:
        return False
    # Initialisms such as "u.s." or "a.m.": a period inside the token means an abbreviation.
    core = lower.rstrip(".!?\"'”’)]}")
    return "." not in core


def split_sentences(document: str) -> list[str]:
    """Split a document into sentences, for tokenized (``"... end . next ..."``) or raw text.

    Rules: a newline always ends a sentence; so does a token ending in ``.``, ``!`` or ``?``
    (possibly followed by closing quotes/brackets, which stay with the sentence), except known
    title abbreviations (``mr.``) and initialisms (``u.s.``). Whitespace inside a sentence is
    normalised to single spaces. Abbreviations outside the short list (``inc.``) may split a
    sentence early; that is acceptable for a lead baseline.
    """
    sentences: list[str] = []
    for line in document.split("\n"):
        current: list[str] = []
        closing = False  # just saw a sentence end; attach following closer tokens, then cut
        for token in line.split():
            if closing and token.lower() in _CLOSERS:
                current.append(token)
                continue
            if closing:
                sentences.append(" ".join(current))
                current = []
                closing = False
            current.append(token)
            closing = _ends_sentence(token)
        if current:
            sentences.append(" ".join(current))
    return sentences


def lead_sentences(document: str, n: int = 3) -> str:
    """The first ``n`` sentences of ``document`` (see :func:`split_sentences`), newline-joined so
    that ROUGE-Lsum sees the sentence boundaries (the lead-3 baseline)."""
    if n < 1:
        raise ValueError(f"lead_sentences: n must be >= 1, got {n}")
    return join_sentences(split_sentences(document)[:n])


# ------------------------------------------------------------------------------- degeneracy
def _repeated_trigram_rate(tokens: Sequence[str]) -> float:
    trigrams = [tuple(tokens[i : i + 3]) for i in range(len(tokens) - 2)]
    if not trigrams:
        return 0.0
    return (len(trigrams) - len(set(trigrams))) / len(trigrams)


def degeneracy_metrics(
    predictions: Sequence[str], references: Sequence[str] | Sequence[Sequence[str]]
) -> dict[str, float | int | None]:
    """Checks that catch a collapsed model, on whitespace tokens.

    Returns:
        ``distinct_prediction_share``: distinct predictions / predictions (whitespace-normalised);
            a model that writes the same headline for every input scores near 0.
        ``repeated_trigram_rate``: mean over predictions of the share of a prediction's trigrams
            that repeat an earlier trigram of the same prediction (0 for fewer than 3 tokens).
        ``empty_prediction_share``: share of predictions with no token.
        ``mean_prediction_length`` / ``mean_reference_length``: mean token counts; with several
            references an example's reference length is the mean over its references.
        ``length_ratio``: prediction over reference length, ``None`` if references are all empty.
        ``n_examples``.
    """
    if len(predictions) != len(references):
        raise DataError(
            f"{len(predictions)} predictions but {len(references)} references: "
            "they must be aligned one to one"
        )
    n = len(predictions)
    if n == 0:
        raise DataError("degeneracy checks: no predictions were given")
    pred_tokens = [p.split() for p in predictions]
    ref_lengths = []
    for refs in references:
        refs_list = [refs] if isinstance(refs, str) else list(refs)
        lengths = [len(r.split()) for r in refs_list]
        ref_lengths.append(sum(lengths) / len(lengths) if lengths else 0.0)
    mean_pred = sum(len(t) for t in pred_tokens) / n
    mean_ref = sum(ref_lengths) / n
    return {
        "distinct_prediction_share": len({" ".join(t) for t in pred_tokens}) / n,
        "repeated_trigram_rate": sum(_repeated_trigram_rate(t) for t in pred_tokens) / n,
        "empty_prediction_share": sum(1 for t in pred_tokens if not t) / n,
        "mean_prediction_length": mean_pred,
        "mean_reference_length": mean_ref,
        "length_ratio": mean_pred / mean_ref if mean_ref > 0 else None,
        "n_examples": n,
    }


# ------------------------------------------------------------------------------------ readers
def _read_lines(path: Path) -> list[str]:
    """Decoded lines of a text file (``.gz`` transparently), without line terminators.

    Splits on ``\\n`` only (``str.splitlines`` would also split on form feeds and Unicode line
    separators inside a summary and misalign the files); a final newline does not add a line.
    """
    if not path.exists():
        raise DataError(f"{path}: file not found")
    if not path.is_file():
        raise DataError(f"{path}: not a regular file")
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as fh:
                data = fh.read()
        else:
            data = path.read_bytes()
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"{path}: cannot read: {exc}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise DataError(
            f"{path}, line {line}: bytes are not valid UTF-8 ({exc.reason} at byte {exc.start})"
        ) from None
    text = text.removeprefix("\ufeff")
    if not text:
        return []
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line.removesuffix("\r") for line in lines]


def _is_jsonl(path: Path) -> bool:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    return bool(suffixes) and suffixes[-1] in _JSONL_SUFFIXES


def _is_str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _json_value_to_texts(value: Any, where: str, field_name: str) -> str | list[str]:
    # A string is one summary; a list of strings is the sentences of one summary; a list of
    # such (strings or sentence lists) inside a list of lists means several references.
    if isinstance(value, str):
        return value
    if _is_str_list(value):
        return join_sentences(value)
    if isinstance(value, list) and value and all(_is_str_list(v) for v in value):
        return [join_sentences(v) for v in value]
    raise DataError(
        f"{where}: field '{field_name}' must be a string, a list of sentence strings, or a list "
        f"of sentence lists (several references), got {type(value).__name__}"
    )


def read_texts(
    path: Path | str, field: str | None = None, *, sentence_separator: str | None = None
) -> list[str] | list[list[str]]:
    """Read summaries from a line-aligned text file or a JSON Lines file (either may be ``.gz``).

    * Text (any suffix other than ``.jsonl``/``.ndjson``/``.json``, and no ``field``): one summary
      per line; an empty line is an empty summary (scored as 0, not dropped). Lines cannot hold
      newlines, so for ROUGE-Lsum give ``sentence_separator`` (e.g. ``"<q>"``): each line is split
      on it and newline-joined.
    * JSON Lines (by suffix, or whenever ``field`` is given): one object per line; ``field`` holds
      a string (newlines separate sentences), a list of sentences (newline-joined), or a list of
      sentence lists meaning several references for that example.

    Returns a ``list[str]``, or a ``list[list[str]]`` when any line holds several references
    (single ones are then wrapped in a one-element list).

    Raises:
        DataError: naming the file (and line) for a missing or unreadable file, bytes that are not
            UTF-8, a JSON line that is not an object, a missing field or a field of the wrong type.
    """
    path = Path(path)
    lines = _read_lines(path)
    if field is None and not _is_jsonl(path):
        if sentence_separator:
            return [join_sentences(line.split(sentence_separator)) for line in lines]
        return lines
    if field is None:
        raise DataError(f"{path}: a JSON Lines file needs the name of the field holding the text")

    texts: list[str | list[str]] = []
    for number, line in enumerate(lines, start=1):
        where = f"{path}, line {number}"
        if not line.strip():
            # Blank lines would silently shift every later example against the other file.
            raise DataError(f"{where}: blank line, expected a JSON object")
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{where}: not valid JSON ({exc.msg})") from None
        if not isinstance(obj, dict):
            raise DataError(f"{where}: expected a JSON object, got {type(obj).__name__}")
        if field not in obj:
            keys = ", ".join(sorted(obj)) or "none"
            raise DataError(f"{where}: field '{field}' is missing (keys: {keys})")
        texts.append(_json_value_to_texts(obj[field], where, field))

    if any(isinstance(t, list) for t in texts):
        return [t if isinstance(t, list) else [t] for t in texts]
    return [t for t in texts if isinstance(t, str)]


def score_files(
    predictions_path: Path | str,
    reference_paths: Sequence[Path | str],
    *,
    prediction_field: str | None = None,
    reference_field: str | None = None,
    options: ScoringOptions | None = None,
    sentence_separator: str | None = None,
    progress: bool = False,
) -> CorpusScores:
    """Score a predictions file against one or more line-aligned reference files.

    Several reference files give several references per example (DUC-2004's four); a JSON Lines
    reference file may also hold several references per line (see :func:`read_texts`).

    Raises:
        DataError: for any unreadable input (see :func:`read_texts`), a predictions file holding
            several texts per line, or a count mismatch (naming both files).
    """
    if not reference_paths:
        raise DataError("no reference file given")
    predictions_path = Path(predictions_path)
    predictions = read_texts(
        predictions_path, prediction_field, sentence_separator=sentence_separator
    )
    if any(isinstance(p, list) for p in predictions):
        raise DataError(f"{predictions_path}: predictions must hold one text per line, not lists")
    preds = [p for p in predictions if isinstance(p, str)]

    references: list[list[str]] = [[] for _ in preds]
    for ref_path in map(Path, reference_paths):
        refs = read_texts(ref_path, reference_field, sentence_separator=sentence_separator)
        if len(refs) != len(preds):
            first_unpaired = min(len(refs), len(preds)) + 1
            longer = predictions_path if len(preds) > len(refs) else ref_path
            raise DataError(
                f"{predictions_path} has {len(preds)} examples but {ref_path} has {len(refs)}: "
                f"line {first_unpaired} of {longer} has no counterpart"
            )
        for example_refs, ref in zip(references, refs, strict=True):
            example_refs.extend([ref] if isinstance(ref, str) else ref)
    if not preds:
        raise DataError(f"{predictions_path}: no predictions to score")
    return score_corpus(preds, references, options, progress=progress)
