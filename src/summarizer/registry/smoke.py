"""The smoke test: summaries of news on unrelated topics through the full pyfunc path, and what
tells a working summarizer from a collapsed one in them.

Registration runs it as a check of its gate (:func:`smoke_check`), promote as a guard rail, and
:func:`smoke_test` on its own; all three judge the summaries by :func:`smoke_problems`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from summarizer import tracking
from summarizer.registry.errors import RegistryError
from summarizer.registry.gate import GateCheck
from summarizer.registry.loading import documents_frame
from summarizer.words import words

if TYPE_CHECKING:
    from mlflow.pyfunc import PyFuncModel

    from summarizer.registry.stored_model import StoredModel

# A short news sentence for the input example and the first smoke document: any model trained on
# news headlines must turn it into a non-empty summary.
SMOKE_DOCUMENT = (
    "the european union 's finance ministers agreed on tuesday to cut the budget deficit of "
    "member states by half over the next three years , officials said ."
)
# News on unrelated topics: a working summarizer writes a different summary for each, a collapsed
# one the same few words for all (see :func:`smoke_problems`).
SMOKE_DOCUMENTS = (
    SMOKE_DOCUMENT,
    "a powerful earthquake struck off the coast of northern japan on friday , shaking buildings "
    "in tokyo and triggering a small tsunami warning .",
    "police arrested five anti-nuclear protesters thursday after they sought to disrupt loading "
    "of a french antarctic research and supply vessel .",
    "the new york yankees beat the boston red sox #-# on sunday to take a two-game lead in the "
    "american league east .",
    "oil prices rose sharply on monday as traders worried about supply disruptions in the middle "
    "east .",
    "the united nations security council voted unanimously on wednesday to extend its "
    "peacekeeping mission in lebanon for another six months .",
)

SMOKE_MIN_DISTINCT_SHARE = 0.5  # of the smoke summaries, at least half must differ
# Of one smoke summary's words, the largest share that may repeat a word the summary already
# wrote. A model caught in a loop writes mostly repeats: "the the the next the the three the the
# tuesday" repeats 6 of its 10 words. Headlines hardly repeat a word: the default model's worst
# stutters repeat 1 in 9 ("bank of us markets to remain calm in calm") and 1 in 7 ("factory
# orders orders #.# percent in september"), a quality issue the ROUGE gate already weighs; the
# barely trained test model stays at or below 1 in 2 ("heavy dutch dutch tin dutch international
# international dutch"), poor but still writing about each document. So a summary fails when
# more than half of its words are repeats: a loop, not a stutter.
SMOKE_MAX_REPEATED_SHARE = 0.5


def smoke_summaries(model: StoredModel | PyFuncModel) -> list[str]:
    """Summaries of :data:`SMOKE_DOCUMENTS` through the full pyfunc path, or an error saying the
    prediction failed or did not return one string per document."""
    try:
        output = model.predict(documents_frame(SMOKE_DOCUMENTS))
    except Exception as exc:
        raise RegistryError(f"smoke prediction failed: {tracking.first_line(exc)}") from None
    if (
        not isinstance(output, list)
        or len(output) != len(SMOKE_DOCUMENTS)
        or not all(isinstance(summary, str) for summary in output)
    ):
        raise RegistryError(
            f"smoke prediction returned {output!r}; expected {len(SMOKE_DOCUMENTS)} summaries"
        )
    return output


def repeated_share(words: Sequence[str]) -> float:
    """The share of ``words`` that repeat a word already written (0 for no word)."""
    return (len(words) - len(set(words))) / len(words) if words else 0.0


def smoke_problems(documents: Sequence[str], summaries: Sequence[Any]) -> list[str]:
    """What makes smoke summaries of ``documents`` (news on unrelated topics) unlike the work of
    a summarizer: a missing or empty summary, a summary that is one word repeated ("on on") or
    mostly repeats of its own words (more than :data:`SMOKE_MAX_REPEATED_SHARE`: "the the the
    next the the three ..."), the same summary for most documents, or so few different words over
    all summaries that the model writes the same few words for everything. Empty when they look
    fine."""
    if len(summaries) != len(documents) or not all(isinstance(s, str) for s in summaries):
        return [f"expected {len(documents)} summaries (strings), got {list(summaries)!r}"]
    problems = []
    tokens = [words(summary) for summary in summaries]  # Chinese: characters
    empty = [row for row, said in enumerate(tokens) if not said]
    if empty:
        problems.append(f"empty summary for document(s) {', '.join(map(str, empty))}")
    repeated = [
        summaries[row] for row, said in enumerate(tokens) if len(said) > 1 and len(set(said)) == 1
    ]
    if repeated:
        problems.append(f"summary made of one word repeated: {repeated[0]!r}")
    looping = [
        row
        for row, said in enumerate(tokens)
        if len(set(said)) > 1 and repeated_share(said) > SMOKE_MAX_REPEATED_SHARE
    ]
    if looping:
        looped = tokens[looping[0]]
        problems.append(
            f"summary of document(s) {', '.join(map(str, looping))} mostly repeating its own "
            f"words: {len(looped) - len(set(looped))} of {len(looped)} words are repeats in "
            f"{summaries[looping[0]]!r} (at most {SMOKE_MAX_REPEATED_SHARE:.0%} may be)"
        )
    if len(documents) > 1:
        distinct = len({" ".join(said) for said in tokens})
        if distinct < SMOKE_MIN_DISTINCT_SHARE * len(documents):
            problems.append(
                f"{distinct} distinct summaries for {len(documents)} unrelated documents"
            )
        vocabulary = {word for said in tokens for word in said}
        if len(vocabulary) < len(documents):
            problems.append(
                f"{len(vocabulary)} different words over the summaries of {len(documents)} "
                f"unrelated documents ({', '.join(sorted(vocabulary)) or 'none'})"
            )
    return problems


def describe_problems(problems: Sequence[str], summaries: Sequence[str]) -> str:
    """The problems of smoke summaries and the summaries themselves, as every message says it."""
    return f"{'; '.join(problems)} (summaries: {list(summaries)!r})"


def smoke_check(model: StoredModel | PyFuncModel) -> GateCheck:
    """The registration gate's smoke check of ``model``. A model that cannot predict is an error
    (it must never reach the registry); one that predicts, but the same few words for every
    document, fails the check."""
    summaries = smoke_summaries(model)
    problems = smoke_problems(SMOKE_DOCUMENTS, summaries)
    reason = f"smoke prediction: {describe_problems(problems, summaries)}" if problems else ""
    return GateCheck("smoke", None, None, not problems, reason)


def smoke_test(model: StoredModel | PyFuncModel) -> str:
    """Smoke predictions through the full pyfunc path on news about unrelated topics; the first
    summary, or an error saying what failed: the prediction, an empty or one-word-repeated
    summary, or the same few words for every document (:func:`smoke_problems`)."""
    summaries = smoke_summaries(model)
    problems = smoke_problems(SMOKE_DOCUMENTS, summaries)
    if problems:
        raise RegistryError(
            "smoke prediction does not look like a summarizer: "
            + describe_problems(problems, summaries)
        )
    return summaries[0]
