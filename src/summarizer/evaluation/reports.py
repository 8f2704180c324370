"""The evaluate stage's report files besides ``evaluation.json``: every prediction with its scores,
ROUGE by source length, and attention heatmaps. Each is written atomically."""

from __future__ import annotations

import json
from collections.abc import Sequence
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from summarizer.io import atomic_directory, atomic_path

if TYPE_CHECKING:
    from summarizer.inference import Summary


def write_predictions(
    path: Path,
    table: pd.DataFrame,
    predictions: Sequence[str],
    per_example: Sequence[dict[str, float]],
) -> None:
    """One JSON line per test example: id, document, references, prediction and its ROUGE."""
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as handle:
        for row, prediction, scores in zip(
            table.itertuples(index=False), predictions, per_example, strict=True
        ):
            record = {
                "id": row.id,
                "document": row.document,
                "reference": row.summary,
                "references": list(row.references),
                "prediction": prediction,
                "rouge": {k: round(v, 3) for k, v in scores.items()},
            }
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")


def rouge_by_length(
    source_lengths: list[int], per_example: list[dict[str, float]], edges: list[int]
) -> pd.DataFrame:
    """Mean F1 of every ROUGE type and the example count per source-length bucket (the bucket
    ``a-b`` holds lengths a..b, the last ``>e`` everything above the largest edge)."""
    frame = pd.DataFrame(per_example)
    bins = [0, *sorted(edges), float("inf")]
    labels = [
        f"{low + 1}-{high}" if high != float("inf") else f">{low}" for low, high in pairwise(bins)
    ]
    frame["source_length"] = pd.cut(source_lengths, bins=bins, labels=labels)
    columns = [c for c in frame.columns if c.endswith("_f")]
    grouped = frame.groupby("source_length", observed=True)[columns].mean().round(3)
    grouped["examples"] = frame.groupby("source_length", observed=True).size()
    return grouped.reset_index()


def write_rouge_by_length(
    path: Path, source_lengths: list[int], per_example: list[dict[str, float]], edges: list[int]
) -> None:
    """:func:`rouge_by_length` as CSV (what ``dvc plots`` draws)."""
    with atomic_path(path) as tmp:
        rouge_by_length(source_lengths, per_example, edges).to_csv(tmp, index=False)


def draw_attention(summaries: Sequence[Summary], ids: Sequence[str], out_dir: Path) -> None:
    """One attention heatmap (summary tokens × source tokens) per summary, as ``{id}.png``;
    the directory is replaced as a whole, so no stale plot survives."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with atomic_directory(out_dir) as tmp:
        tmp.mkdir(parents=True)
        for example_id, summary in zip(ids, summaries, strict=True):
            if not summary.tokens:
                continue
            weights = summary.attention.float().numpy()
            width = max(6.0, 0.32 * len(summary.source_tokens))
            height = max(3.0, 0.32 * len(summary.tokens) + 1.5)
            fig, ax = plt.subplots(figsize=(width, height))
            ax.imshow(weights, cmap="viridis", aspect="auto", vmin=0.0)
            ax.set_xticks(range(len(summary.source_tokens)), summary.source_tokens, rotation=90)
            ax.set_yticks(range(len(summary.tokens)), summary.tokens)
            ax.set_xlabel("source")
            ax.set_ylabel("summary")
            ax.set_title(f"attention, test example {example_id}")
            fig.tight_layout()
            fig.savefig(tmp / f"{example_id}.png", dpi=90)
            plt.close(fig)
