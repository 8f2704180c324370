"""Where training runs and in which precision: the device, the autocast dtype, and the context
that applies it."""

from __future__ import annotations

import contextlib

import torch

from summarizer.errors import SummarizerError


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
        if device.type != "cuda":
            return None  # no bf16 speed-up on common CPUs; MPS autocast is still partial
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if requested == "fp16" and device.type != "cuda":
        raise DeviceError("train.precision fp16 needs a CUDA device; use bf16 or fp32")
    return torch.bfloat16 if requested == "bf16" else torch.float16


def autocast(device: torch.device, dtype: torch.dtype | None) -> contextlib.AbstractContextManager:
    """Mixed precision in ``dtype`` on ``device`` for the block, or nothing when ``dtype`` is
    None (fp32)."""
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=dtype)
