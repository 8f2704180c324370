"""Where training runs and in which precision: the device, the autocast dtype, and the context
that applies it."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
import yaml

from summarizer.config.profiles import GPU_PROFILE, apply_command
from summarizer.errors import SummarizerError
from summarizer.model.rnn import cpu_has_native_bf16

log = logging.getLogger(__name__)

# The knobs by which a run scales to its hardware; the values for a GPU are the profile's.
SIZE_KEYS = (("model", "emb_dim"), ("model", "hidden_dim"), ("train", "batch_tokens"))


class DeviceError(SummarizerError):
    """A forced device or precision is not available on this machine."""


def select_device(requested: str) -> torch.device:
    """CUDA, then Apple MPS, then the CPU; a forced device that is absent is a
    :class:`DeviceError` naming the devices that are present."""
    available = {
        "cuda": torch.cuda.is_available(),
        "mps": getattr(torch.backends, "mps", None) is not None
        and torch.backends.mps.is_available(),
        "cpu": True,
    }
    if requested == "auto":
        return torch.device(next(name for name in ("cuda", "mps", "cpu") if available[name]))
    if not available[requested]:
        present = ", ".join(name for name, ok in available.items() if ok)
        raise DeviceError(
            f"train.device is '{requested}' but no {requested.upper()} device is available "
            f"here (available: {present}); set train.device to 'auto' or 'cpu'"
        )
    return torch.device(requested)


def select_precision(requested: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype for ``train.precision`` on ``device``, or None for plain fp32."""
    if requested == "fp32":
        return None
    if requested == "auto":
        if device.type == "cpu":
            return torch.bfloat16 if cpu_has_native_bf16() else None
        if device.type != "cuda":
            return None  # MPS autocast is still partial
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if requested == "fp16" and device.type != "cuda":
        raise DeviceError("train.precision fp16 needs a CUDA device; use bf16 or fp32")
    return torch.bfloat16 if requested == "bf16" else torch.float16


def precision_name(dtype: torch.dtype | None) -> str:
    """``train.precision``'s word for an autocast dtype from :func:`select_precision`."""
    return {torch.bfloat16: "bf16", torch.float16: "fp16"}.get(dtype, "fp32")


def autocast(device: torch.device, dtype: torch.dtype | None) -> contextlib.AbstractContextManager:
    """Mixed precision in ``dtype`` on ``device`` for the block, or nothing when ``dtype`` is
    None (fp32)."""
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=dtype)


def gpu_profile_hint(
    device_type: str,
    sections: Mapping[str, Any],
    profile: Mapping[str, Mapping[str, Any]],
    profile_path: Path | str,
) -> str | None:
    """What to tell someone training on ``device_type`` with ``sections`` (``model`` and
    ``train``, as objects with attributes) when a GPU ``profile`` (its sections, read from
    ``profile_path``) exists, or None when there is nothing to say.

    A run is CPU-sized when every size knob (:data:`SIZE_KEYS`) that the profile sets is below
    the profile's value: a run already grown past it on any knob was sized by someone.
    """
    if device_type != "cuda":
        return None
    knobs = [
        (f"{section}.{key}", getattr(sections[section], key), profile[section][key])
        for section, key in SIZE_KEYS
        if key in profile.get(section, {})
    ]
    if not knobs or any(current >= gpu for _, current, gpu in knobs):
        return None
    sizes = ", ".join(f"{name} {current}" for name, current, _ in knobs)
    gpu_sizes = ", ".join(str(gpu) for _, _, gpu in knobs)
    return (
        f"training on a CUDA GPU with CPU-sized settings: {sizes}; the GPU profile "
        f"{profile_path} has {gpu_sizes}. Apply it with: {apply_command(profile_path)}"
    )


def log_gpu_profile_hint(
    device: torch.device, model: Any, train: Any, profile_path: Path = GPU_PROFILE
) -> None:
    """Log :func:`gpu_profile_hint` for ``device`` with the profile at ``profile_path``
    (relative to the working directory, the project root under ``dvc repro``); nothing when
    the file is not there."""
    if device.type != "cuda" or not profile_path.is_file():
        return
    profile = yaml.safe_load(profile_path.read_text(encoding="utf-8")) or {}
    hint = gpu_profile_hint(device.type, {"model": model, "train": train}, profile, profile_path)
    if hint is not None:
        log.info(hint)
