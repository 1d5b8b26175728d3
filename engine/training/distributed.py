"""Distributed training with PyTorch's own engine (torch.distributed), launched by torchrun.

torchrun sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT``;
:func:`init_from_env` joins the process group (NCCL on CUDA, gloo on the CPU) when
``WORLD_SIZE > 1``. The scheme (DistributedDataParallel semantics, written out because GAN
iterations run the discriminator in both phases):

* same initial weights: every process builds its networks from the same seed, then
  :func:`broadcast_module_state` copies rank 0's parameters and buffers to all;
* every process trains on its own slice of the global batch (:meth:`TrainData.batch`);
* :func:`all_reduce_gradients` averages the gradients of one optimizer's parameters right before
  that optimizer steps (called by :meth:`Trainer.step`), so every process applies the same update,
  equal to a one-process step on the global batch for losses that average over the batch;
* buffers (batch-norm statistics ...) follow rank 0 before every step, as DDP's ``broadcast_buffers``;
* rank 0 alone logs, writes samples and checkpoints; a stop (STOP file, signal) is agreed on by all
  processes through :func:`any_rank`.

A multi-node run (two machines with 4 GPUs each) starts on every machine with::

    torchrun --nnodes 2 --nproc-per-node 4 --node-rank <0|1> --rdzv-backend c10d \\
        --rdzv-endpoint HOST0:29500 -m engine.training.run RUN_DIR
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Iterable

import torch
import torch.distributed as dist
from torch import nn

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProcessInfo:
    """This process in the run: ``rank`` of ``world_size``, ``local_rank`` on its machine."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def env_info() -> ProcessInfo:
    """The process info torchrun put in the environment (1 process when absent)."""
    return ProcessInfo(int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)),
                       int(os.environ.get("LOCAL_RANK", 0)))


def init_from_env(device: torch.device) -> ProcessInfo:
    """Join the process group when started by torchrun with more than one process."""
    info = env_info()
    if info.distributed and not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(backend=backend)
        log.info("process %d of %d joined the %s group", info.rank, info.world_size, backend)
    return info


def shutdown() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def all_reduce_gradients(params: Iterable[torch.Tensor], world_size: int) -> None:
    """Average the gradients of ``params`` over all processes.

    A parameter that has a gradient on some processes but not on others (a branch taken at random)
    gets a zero gradient where it had none; one without a gradient anywhere keeps none, so the
    optimizer skips it as a one-process run would. Two collectives: a small presence vector, then
    one flat all-reduce of the gradients (per dtype)."""
    params = list(params)
    if not params:
        return
    device = params[0].device
    present = torch.tensor([p.grad is not None for p in params], dtype=torch.uint8, device=device)
    dist.all_reduce(present, op=dist.ReduceOp.MAX)
    grads = []
    for p, anywhere in zip(params, present.tolist()):
        if anywhere and p.grad is None:
            p.grad = torch.zeros_like(p)
        if anywhere:
            grads.append(p.grad)
    for group in _by_dtype(grads):
        flat = torch.cat([g.reshape(-1) for g in group])
        dist.all_reduce(flat, op=dist.ReduceOp.SUM)
        flat /= world_size
        _scatter_back(flat, group)


def broadcast_module_state(modules: Iterable[nn.Module], buffers_only: bool = False) -> None:
    """Copy rank 0's parameters (unless ``buffers_only``) and buffers to every process
    (one broadcast per dtype)."""
    tensors: list[torch.Tensor] = []
    for module in modules:
        if not buffers_only:
            tensors += [p.data for p in module.parameters()]
        tensors += list(module.buffers())
    for group in _by_dtype(tensors):
        flat = torch.cat([t.reshape(-1) for t in group])
        dist.broadcast(flat, src=0)
        _scatter_back(flat, group)


def _by_dtype(tensors: list[torch.Tensor]) -> list[list[torch.Tensor]]:
    groups: dict[tuple[torch.dtype, torch.device], list[torch.Tensor]] = {}
    for t in tensors:
        if t.numel():
            groups.setdefault((t.dtype, t.device), []).append(t)
    return list(groups.values())


def _scatter_back(flat: torch.Tensor, tensors: list[torch.Tensor]) -> None:
    offset = 0
    for t in tensors:
        n = t.numel()
        t.copy_(flat[offset:offset + n].view_as(t))
        offset += n


def any_rank(flag: bool, device: torch.device) -> bool:
    """True on every process when ``flag`` is true on at least one."""
    if not dist.is_initialized():
        return flag
    value = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item() > 0)


def barrier() -> None:
    if dist.is_initialized():
        dist.barrier()
