"""The per-epoch training history as the train stage reports it: a CSV for ``dvc plots`` and a
PNG of the curves."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from summarizer.io import atomic_path


def write_history(history: Sequence[dict[str, float]], csv_path: Path, png_path: Path) -> None:
    """Write the epoch records (:class:`~summarizer.training.progress.EpochRecord` as dicts) to
    ``csv_path`` and plot loss, learning rate and throughput per epoch to ``png_path``; each
    file is replaced atomically."""
    # Imported here: only the stage's end needs them, and the loop's modules stay light.
    import matplotlib
    import pandas as pd

    frame = pd.DataFrame(history)
    with atomic_path(csv_path) as tmp:
        frame.to_csv(tmp, index=False)
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    axes[0].plot(frame["epoch"], frame["train_loss"], marker="o", label="train")
    axes[0].plot(frame["epoch"], frame["val_loss"], marker="o", label="validation")
    # Histories written before val_nll existed (a resumed run) have no such column or gaps.
    if "val_nll" in frame and not frame["val_nll"].equals(frame["val_loss"]):
        axes[0].plot(
            frame["epoch"], frame["val_nll"], marker="o", linestyle="--", label="validation NLL"
        )
    axes[0].set(title="loss per target token", xlabel="epoch")
    axes[0].legend()
    axes[1].plot(frame["epoch"], frame["lr"], marker="o")
    axes[1].set(title="learning rate (end of epoch)", xlabel="epoch")
    axes[2].plot(frame["epoch"], frame["tokens_per_second"], marker="o")
    axes[2].set(title="target tokens / s", xlabel="epoch")
    fig.tight_layout()
    with atomic_path(png_path) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)
