"""Checks that catch a collapsed model, which ROUGE alone can hide: the same summary for every
input, repeated phrases, empty output, summaries far shorter or longer than the references; and
stutter a trigram count misses ("sales in supercomputer sales"), beside the references' own."""

from __future__ import annotations

from collections.abc import Sequence

from summarizer.content_words import ContentWords, repeats_a_bigram
from summarizer.errors import DataError
from summarizer.evaluation.scoring import check_aligned
from summarizer.words import words


def _repeated_trigram_rate(tokens: Sequence[str]) -> float:
    trigrams = [tuple(tokens[i : i + 3]) for i in range(len(tokens) - 2)]
    if not trigrams:
        return 0.0
    return (len(trigrams) - len(set(trigrams))) / len(trigrams)


def degeneracy_metrics(
    predictions: Sequence[str],
    references: Sequence[str] | Sequence[Sequence[str]],
    content_words: ContentWords,
) -> dict[str, float | int | None]:
    """Checks that catch a collapsed model, on words (:func:`summarizer.words.words`).

    Returns:
        ``distinct_prediction_share``: distinct predictions / predictions (whitespace-normalised);
            a model that writes the same headline for every input scores near 0.
        ``repeated_trigram_rate``: mean over predictions of the share of a prediction's trigrams
            that repeat an earlier trigram of the same prediction (0 for fewer than 3 tokens).
        ``empty_prediction_share``: share of predictions with no token.
        ``repeated_word_share`` / ``reference_repeated_word_share``: share of predictions (of
            references; with several, an example counts the share of its references) that say a
            content word twice (``content_words``: not a function word or a marker). A model
            that stutters says them twice far more often than the references do.
        ``repeated_bigram_share`` / ``reference_repeated_bigram_share``: the same for any two
            consecutive words.
        ``mean_prediction_length`` / ``mean_reference_length``: mean token counts; with several
            references an example's reference length is the mean over its references.
        ``length_ratio``: prediction over reference length, ``None`` if references are all empty.
        ``n_examples``.
    """
    check_aligned(predictions, references)
    n = len(predictions)
    if n == 0:
        raise DataError("degeneracy checks: no predictions were given")
    pred_tokens = [words(p) for p in predictions]
    ref_tokens = [
        [words(refs)] if isinstance(refs, str) else list(map(words, refs)) for refs in references
    ]
    ref_lengths = [_mean([len(one) for one in refs]) for refs in ref_tokens]
    mean_pred = sum(len(t) for t in pred_tokens) / n
    mean_ref = sum(ref_lengths) / n
    return {
        "distinct_prediction_share": len({" ".join(t) for t in pred_tokens}) / n,
        "repeated_trigram_rate": sum(_repeated_trigram_rate(t) for t in pred_tokens) / n,
        "empty_prediction_share": sum(1 for t in pred_tokens if not t) / n,
        "repeated_word_share": _mean([content_words.repeats_a_word(t) for t in pred_tokens]),
        "reference_repeated_word_share": _mean(
            [_mean([content_words.repeats_a_word(one) for one in refs]) for refs in ref_tokens]
        ),
        "repeated_bigram_share": _mean([repeats_a_bigram(t) for t in pred_tokens]),
        "reference_repeated_bigram_share": _mean(
            [_mean([repeats_a_bigram(one) for one in refs]) for refs in ref_tokens]
        ),
        "mean_prediction_length": mean_pred,
        "mean_reference_length": mean_ref,
        "length_ratio": mean_pred / mean_ref if mean_ref > 0 else None,
        "n_examples": n,
    }


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0
