"""Where the hardware profiles are, and the command that applies one: what a hint names without
loading the whole of ``params.yaml`` (training reads it to suggest the GPU profile)."""

from __future__ import annotations

from pathlib import Path

GPU_PROFILE = Path("configs/profiles/gpu-gigaword.yaml")
OVERLAY_MODULE = "summarizer.config.overlay"


def apply_command(overlay: Path | str) -> str:
    """The shell command that applies ``overlay`` to ``params.yaml`` and runs the pipeline."""
    return f"python -m {OVERLAY_MODULE} {overlay} && dvc repro"
