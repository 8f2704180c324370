"""A :class:`~.model_card.ModelCard` written as Markdown: the ``README.md`` that travels in the
logged model's artifacts (with the metadata header model hubs read: language, datasets, metrics,
``model-index``) and the registered version's description, which the MLflow UI renders.

Text that comes from data (documents, references, predictions, names) is escaped: a dataset row
holding Markdown or HTML must show as text, never become a link, an image that calls a server
when the page opens, or markup in the registry's pages.
"""

from __future__ import annotations

from typing import Any

import yaml

from summarizer.registry.card_format import count, escape, label, scored_keys, test_scores
from summarizer.registry.card_sections import (
    checks_section,
    data_section,
    evidence_section,
    examples_section,
    length_section,
    model_section,
    results_section,
    stutter_section,
)
from summarizer.registry.model_card import ModelCard

# The SQL stores keep a version's description in a VARCHAR(5000); PostgreSQL refuses a longer one.
DESCRIPTION_LIMIT = 5000


# ------------------------------------------------------------------------------- front matter
def hub_metric(key: str) -> str:
    """The metric's id on model hubs: every ROUGE variant is ``rouge``, named apart by label."""
    return "rouge" if key.startswith("rouge") else key.removesuffix("_f")


def front_matter(card: ModelCard) -> str:
    """The YAML header model hubs read (Hugging Face's model card metadata and ``model-index``)."""
    tokens = card.data.tokenization
    languages = list(dict.fromkeys([tokens.lang, tokens.target_language]))
    task = "translation" if tokens.translates else "summarization"
    test = test_scores(card)
    metrics = [
        {"type": hub_metric(key), "name": label(key), "value": test[key]}
        for key in scored_keys(test)
    ]
    dataset = card.data.dataset or "unknown"
    header: dict[str, Any] = {
        "language": languages,
        "library_name": "pytorch",
        "pipeline_tag": task,
        "tags": ["seq2seq", "rnn", "attention", "mlflow", "dvc"],
        "datasets": [dataset],
        "metrics": sorted({m["type"] for m in metrics}),
        "model-index": [
            {
                "name": card.model_name,
                "results": [
                    {
                        "task": {"type": task},
                        "dataset": {"name": dataset, "type": dataset, "split": "test"},
                        "metrics": metrics,
                    }
                ],
            }
        ],
    }
    return "---\n" + yaml.safe_dump(header, sort_keys=False, allow_unicode=True) + "---\n"


# -------------------------------------------------------------------------------------- whole
# ------------------------------------------------------------------------ limits and use
def limits_section(card: ModelCard) -> list[str]:
    tokens, rows = card.data.tokenization, card.data.rows
    pairs = "translation pairs" if tokens.translates else "document-summary pairs"
    size = f"{count(rows['train'])} " if "train" in rows else ""
    source = f" of {escape(card.data.dataset)}" if card.data.dataset else ""
    limits = [
        f"Trained on {size}{pairs}{source} only: it has seen no other domain or style, and "
        "writes what those targets look like.",
        f"Reads {tokens.lang} only"
        + (f", writes {tokens.target_language}" if tokens.translates else "")
        + "; other languages come out as unknown words.",
    ]
    if tokens.max_source_len is not None:
        limits.append(
            f"Reads the first {tokens.max_source_len} tokens of a document; the rest is ignored."
        )
    if tokens.lowercase:
        limits.append("Output is lowercase.")
    if tokens.mask_digits:
        limits.append("Digits come out as `#` (they were masked in training): check every number.")
    limits.append(
        "An abstractive model: it can state things the document does not say. Do not publish "
        "its output unread."
    )
    return ["## Limits", "", *(f"- {item}" for item in limits), ""]


def usage_section(card: ModelCard, model_uri: str | None) -> list[str]:
    uri = model_uri or f"models:/{card.model_name}@champion"
    commit = card.provenance.git_commit or "<commit>"
    return [
        "## Use",
        "",
        "```bash",
        f'summarizer summarize -m "{uri}" "Text to summarize."',
        f'mlflow models serve -m "{uri}" --env-manager local -p 5000',
        "curl -s 127.0.0.1:5000/invocations -H 'Content-Type: application/json' \\",
        """  -d '{"dataframe_records": [{"document": "Text to summarize."}]}'""",
        "```",
        "",
        "Reproduce it:",
        "",
        "```bash",
        f"git checkout {commit}",
        "dvc pull   # the data of this commit, from the DVC remote above",
        "dvc repro",
        "```",
        "",
    ]


def render(
    card: ModelCard,
    *,
    header: bool = True,
    model_uri: str | None = None,
    intro: str = "",
    details: bool = True,
) -> str:
    """The card as Markdown. ``header``: with the model-hub YAML header (the README); ``intro``:
    a paragraph after the title (the version's registration); ``details``: with the examples and
    ROUGE by source length (left out where space is short)."""
    title = f"# {escape(card.model_name)}"
    lines = [title, ""]
    if intro:
        lines += [intro, ""]
    lines += model_section(card)
    lines += data_section(card)
    lines += results_section(card)
    lines += evidence_section(card)
    lines += checks_section(card)
    lines += stutter_section(card)
    if details:
        lines += length_section(card)
        lines += examples_section(card)
    lines += limits_section(card)
    lines += usage_section(card, model_uri)
    body = "\n".join(lines).rstrip() + "\n"
    return (front_matter(card) + "\n" + body) if header else body


def description(card: ModelCard, intro: str, model_uri: str, limit: int = DESCRIPTION_LIMIT) -> str:
    """The card as a registered version's description: without the YAML header (the UI would
    show it as text), whole if it fits in ``limit`` characters, else without the examples and
    the length table (the README keeps them), else cut with a pointer to the README."""
    for details in (True, False):
        text = render(card, header=False, model_uri=model_uri, intro=intro, details=details)
        if len(text) <= limit:
            return text
    pointer = "\n\n… (cut: the whole card is README.md in the model's artifacts)\n"
    return text[: limit - len(pointer)] + pointer
