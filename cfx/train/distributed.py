"""Data-parallel training under ``torchrun``: PyTorch DDP wiring, nothing of our own.

A trainer calls :func:`setup` once. Started by ``torchrun`` (``WORLD_SIZE`` > 1), it joins
the process group (NCCL on GPUs, gloo on the CPU) and each process trains on its slice
of every global batch; started plainly, it is a world of one and nothing changes. Only
rank 0 logs, validates, checkpoints and writes weights.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn


@dataclass(frozen=True)
class World:
    rank: int
    size: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def my_part(self, batch: list[int]) -> list[int]:
        """This process's contiguous share of a global batch (shares differ by at most one)."""
        step = len(batch) / self.size
        return batch[round(self.rank * step) : round((self.rank + 1) * step)]

    def sum(self, values: list[float]) -> list[float]:
        """Element-wise sum over all processes (identity in a world of one)."""
        if self.size == 1:
            return values
        tensor = torch.tensor(values, dtype=torch.float64, device=self.device)
        dist.all_reduce(tensor)
        return tensor.tolist()

    def barrier(self) -> None:
        if self.size > 1:
            dist.barrier()

    def wrap(self, module: nn.Module) -> nn.Module:
        """DistributedDataParallel around ``module`` when there are several processes."""
        if self.size == 1:
            return module
        ids = [self.device.index] if self.device.type == "cuda" else None
        # Every parameter takes part in every step (tests/test_registry.py checks each preset),
        # so DDP needs no search for unused ones.
        return nn.parallel.DistributedDataParallel(module, device_ids=ids)


def setup(device: str = "auto") -> World:
    """Join the torchrun process group if there is one; pick this process's device; give
    this process its share of the CPU cores for intra-op threads."""
    from cfx.runner import select_device

    size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    chosen = select_device(device)
    if chosen.type == "cuda" and size > 1:  # one GPU per process
        chosen = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    if chosen.type == "cuda":
        torch.cuda.set_device(chosen)
    if size > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if chosen.type == "cuda" else "gloo")
    torch.set_num_threads(max(1, (os.cpu_count() or 1) // size))
    return World(rank=rank, size=size, device=chosen)


def teardown(world: World) -> None:
    if world.size > 1 and dist.is_initialized():
        dist.destroy_process_group()


def alone(device: str = "auto") -> World:
    """A world of one process on the chosen device, for the trainers that do not run under
    torchrun (the cached ones); the number of threads is left as it is."""
    from cfx.runner import select_device

    return World(rank=0, size=1, device=select_device(device))
