"""Several training processes under ``torchrun``: joining its process group, who this rank is,
and the few collectives the trainer needs.

``torchrun --nproc_per_node N`` (or ``train.nproc: N``, which re-launches the stage under it)
starts N copies of ``summarizer train`` with ``RANK``, ``LOCAL_RANK`` and ``WORLD_SIZE`` set. Each
joins the group (NCCL on CUDA, gloo on the CPU), trains on its share of every step's batches and
takes the same optimizer step, so the ranks hold equal weights throughout. Rank 0 alone writes.

Outside torchrun every helper here is the identity: one process computes exactly what it did
before this module existed.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator, Sequence
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from summarizer.training.reporting import ProgressReporter

log = logging.getLogger(__name__)


def launched() -> bool:
    """Whether this process is one of several workers started by ``torchrun``."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1 and "RANK" in os.environ


def rank() -> int:
    """This process's rank, 0 for a single process."""
    if dist.is_initialized():
        return dist.get_rank()
    return int(os.environ["RANK"]) if launched() else 0


def world_size() -> int:
    """How many processes train together, 1 for a single process."""
    if dist.is_initialized():
        return dist.get_world_size()
    return int(os.environ["WORLD_SIZE"]) if launched() else 1


def is_main() -> bool:
    """Whether this process writes: checkpoints, the model, reports, MLflow, progress."""
    return rank() == 0


def init(device: torch.device) -> torch.device:
    """Join torchrun's process group, if launched by it, and return the device this rank trains
    on (its own GPU on a CUDA machine); ``device`` unchanged for a single process."""
    if not launched():
        return device
    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)  # NCCL collectives run on the current device
    if not dist.is_initialized():
        # The rendezvous address and port come from torchrun's environment (env://).
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
        if not is_main():
            # One voice: the other ranks' progress and epoch lines would repeat rank 0's.
            logging.getLogger("summarizer").setLevel(logging.WARNING)
        log.info("rank %d of %d on %s", rank(), world_size(), device)
    return device


def teardown() -> None:
    """Leave the process group (nothing for a single process)."""
    if dist.is_initialized():
        dist.destroy_process_group()


def wrap(model: nn.Module, find_unused_parameters: bool) -> nn.Module:
    """``model`` inside DistributedDataParallel, which averages gradients across ranks during
    backward; ``model`` itself for a single process. ``find_unused_parameters`` for a model
    some of whose parameters sit out a phase (coverage before its phase)."""
    if world_size() == 1:
        return model
    # No device_ids: the batches are on the device already, and DDP would otherwise move the
    # source lengths there too, which packing reads on the CPU.
    return DistributedDataParallel(model, find_unused_parameters=find_unused_parameters)


def gradient_sync(network: nn.Module, sync: bool) -> contextlib.AbstractContextManager:
    """The context for one backward pass: gradients are all-reduced only when ``sync`` (the last
    batch of an accumulated step), so accumulation costs one all-reduce per step."""
    if sync or not isinstance(network, DistributedDataParallel):
        return contextlib.nullcontext()
    return network.no_sync()


def gradient_scale() -> int:
    """DistributedDataParallel divides the summed gradients by the world size; a loss
    multiplied by it turns that mean back into the sum over every rank's tokens."""
    return world_size()


def all_sum(*values: float, device: torch.device) -> tuple[float, ...]:
    """The sums of ``values`` over every rank (``values`` as they are for a single process)."""
    if world_size() == 1:
        return values
    # float64: token counts stay exact, and loss sums lose nothing to the reduction
    tensor = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tuple(tensor.tolist())


def any_signal(signals: Sequence[int], device: torch.device) -> int:
    """The signal any rank received (0 for none), so every rank stops at the same step."""
    mine = signals[0] if signals else 0
    if world_size() == 1:
        return mine
    tensor = torch.tensor([mine], dtype=torch.int64, device=device)
    dist.all_reduce(tensor, op=dist.ReduceOp.MAX)
    return int(tensor.item())


def all_gather(value: Any) -> list[Any]:
    """``value`` of every rank, by rank (``[value]`` for a single process)."""
    if world_size() == 1:
        return [value]
    gathered: list[Any] = [None] * world_size()
    dist.all_gather_object(gathered, value)
    return gathered


@contextlib.contextmanager
def main_first() -> Iterator[None]:
    """Rank 0 runs the block before the others do: it may set a damaged checkpoint aside or
    clear a stale one, which the others must not race."""
    waits = world_size() > 1 and not is_main()
    if waits:
        dist.barrier()
    try:
        yield
    finally:
        if world_size() > 1 and not waits:
            dist.barrier()


class QuietReporter(ProgressReporter):
    """The reporter of the ranks other than 0: rank 0 already shows the progress of all."""

    def start_epoch(self, epoch: int, max_epochs: int, steps: int, done: int) -> None:
        pass

    def end_epoch(self, record: Any, improved: bool) -> None:
        pass


def reporter() -> ProgressReporter:
    """The progress reporter of this rank."""
    return ProgressReporter() if is_main() else QuietReporter()


def torchrun_command(nproc: int, arguments: Sequence[str]) -> list[str]:
    """The command that runs ``summarizer <arguments>`` as ``nproc`` workers on this machine."""
    return [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",  # a local rendezvous on a free port
        f"--nproc-per-node={nproc}",
        "--no-python",
        # Not the console script: this works however `summarizer` was started.
        sys.executable,
        "-c",
        "from summarizer.cli import app; app()",
        *arguments,
    ]


def relaunch(nproc: int, arguments: Sequence[str]) -> None:
    """Replace this process with ``torchrun`` running ``summarizer <arguments>`` as ``nproc``
    workers, when ``nproc`` > 1 and this is not already one of them; return otherwise.

    ``exec`` keeps the process id, so a SIGTERM for the stage (DVC, a scheduler) reaches
    torchrun, which passes it on to every worker.
    """
    if nproc <= 1 or launched():
        return
    command = torchrun_command(nproc, arguments)
    log.info("train.nproc is %d: re-launching under torchrun", nproc)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(command[0], command)
