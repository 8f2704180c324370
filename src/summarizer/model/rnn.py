"""The recurrent layers shared by encoder and decoder, and how to call them under autocast."""

from __future__ import annotations

import functools

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence

RNNState = Tensor | tuple[Tensor, Tensor]


@functools.cache
def cpu_has_native_bf16() -> bool:
    """Whether this CPU multiplies bf16 in hardware (AVX-512 BF16 or AMX), where oneDNN's bf16
    matmuls run about twice as fast as fp32 (bench/bench_train.py) and its bf16 LSTM works;
    elsewhere bf16 is emulated, slower than fp32, and the LSTM kernel cannot be built."""
    probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(getattr(torch.cpu, probe, lambda: False)() for probe in probes)


def make_rnn(
    rnn_type: str,
    input_dim: int,
    hidden_dim: int,
    layers: int,
    dropout: float,
    bidirectional: bool = False,
) -> nn.LSTM | nn.GRU:
    """An ``nn.LSTM`` or ``nn.GRU``, batch-first, with dropout between layers only when there are
    several."""
    rnn_cls = nn.LSTM if rnn_type == "lstm" else nn.GRU
    return rnn_cls(
        input_dim,
        hidden_dim,
        num_layers=layers,
        batch_first=True,
        # PyTorch applies RNN dropout between layers only; with one layer it would just warn.
        dropout=dropout if layers > 1 else 0.0,
        bidirectional=bidirectional,
    )


def run_rnn(
    rnn: nn.LSTM | nn.GRU, x: Tensor | PackedSequence, state: RNNState | None = None
) -> tuple[Tensor | PackedSequence, RNNState]:
    """``rnn(x, state)``, except under CPU autocast on a CPU without native bf16, where the RNN
    runs in float32.

    CPU autocast sends nn.LSTM to oneDNN's bf16 kernel, which fails outright ("could not create
    a primitive descriptor") on CPUs without AVX-512 bf16; the matmuls around the RNN still run in
    bf16 there. With AVX-512 BF16 or AMX the kernel works and is 1.5-1.9x faster than fp32. On
    CUDA, autocast's cuDNN RNN in half precision is used as is.
    """
    on_cpu = (x.data if isinstance(x, PackedSequence) else x).device.type == "cpu"
    if not (on_cpu and torch.is_autocast_enabled("cpu")) or cpu_has_native_bf16():
        return rnn(x, state)
    if state is not None:
        state = tuple(s.float() for s in state) if isinstance(state, tuple) else state.float()
    with torch.autocast("cpu", enabled=False):
        return rnn(x.float(), state)
