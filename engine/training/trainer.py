"""The base class of every family trainer, and the run context it is given.

A family trainer (``engine/training/<family>.py``, exposing ``TRAINER = TheClass``) implements
:meth:`Trainer.build`, :meth:`networks`, :meth:`optimizers`, :meth:`train_step`, :meth:`preview`
and :meth:`export`; the shared loop (:mod:`engine.training.loop`) does everything else: data,
logging, samples, checkpoints, resume, stop, NaN stop, distributed runs.

Rules for a trainer (they make resume exact and distributed runs correct):

* Every random draw comes from torch's global RNG (or numpy's / python's global RNG), which the
  loop saves and restores, or from a generator kept in :meth:`extra_state`. No hidden state
  outside networks, optimizers and ``extra_state``.
* Each optimizer's update goes through :meth:`step` (never ``opt.step()`` directly): it averages
  gradients over the processes of a distributed run, unscales fp16 gradients, clips them when
  ``opts.extra["clip_grad"]`` is set, steps, and zeroes that optimizer's gradients.
* Losses go backward through :meth:`backward` (fp16 loss scaling) inside :meth:`autocast`.
* The loop zeroes every gradient before each ``train_step``. A backward pass that reaches a
  network whose optimizer steps later in the same iteration (e.g. the generator's loss reaching
  the discriminator before the D step) must be kept off it with :meth:`requires_grad` or
  ``.detach()``; GAN trainers usually do ``self.requires_grad(D, False)`` for the G phase.
* State that must agree over the processes of a distributed run (ADA's p, running statistics a
  trainer keeps itself) is computed from :meth:`mean_over_processes`.
* ``batch`` arrives on ``self.device``: see :mod:`engine.training.data` for the dict formats.
  Its size is the per-process batch (``opts.batch // ctx.world_size``).

Distributed runs: every process builds the same networks from the same seed, the loop broadcasts
rank 0's parameters and buffers at the start and the buffers before every step (as
DistributedDataParallel does), and :meth:`step` all-reduces (averages) the gradients of the
optimizer it steps. As GAN iterations run the discriminator in both phases, this explicit
per-optimizer all-reduce is what keeps every process's update identical (a DDP wrapper would
synchronise on every backward, including the ones whose gradients are thrown away).
"""

from __future__ import annotations

import abc
import contextlib
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, ClassVar, ContextManager, Iterable

import numpy as np
import torch
from torch import nn

from engine.errors import CheckpointError, EngineError
from engine.models.loaded import LoadedModel
from engine.training.data import TrainData
from engine.training.options import TrainOptions

log = logging.getLogger(__name__)


class NonFiniteError(EngineError):
    """A loss or a gradient became NaN or infinite: the run stops and keeps its last good checkpoint."""


@dataclass
class RunContext:
    """What a trainer knows about the run it is part of.

    ``run_dir``: the run directory (see :mod:`engine.training.rundir`); ``rank`` / ``world_size``:
    this process and the number of processes (1 when not distributed); ``notes``: the lines
    :meth:`Trainer.note` added (also logged and written to progress.jsonl by the loop through
    ``on_note``).
    """

    run_dir: Path | None = None
    rank: int = 0
    world_size: int = 1
    notes: list[str] = field(default_factory=list)
    on_note: Callable[[str], None] | None = None

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


class Trainer(abc.ABC):
    """Base class of the family trainers; see the module docstring for the rules."""

    family: ClassVar[str]
    layout: ClassVar[str]                    # "paired" | "flat" | "classes" | "unpaired"
    losses: ClassVar[tuple[str, ...]] = ()   # accepted --loss values, first = default; () = no choice
    defaults: ClassVar[dict[str, Any]] = {}  # family defaults for TrainOptions fields / extra

    def __init__(self, opts: TrainOptions, data: TrainData, device: torch.device, ctx: RunContext) -> None:
        self.opts = opts
        self.data = data
        self.device = torch.device(device)
        self.ctx = ctx
        self._scaler: torch.amp.GradScaler | None = None
        if opts.amp == "fp16":
            self._scaler = torch.amp.GradScaler(self.device.type)
        self.build()

    # ---- family trainers implement -----------------------------------------------------------

    @abc.abstractmethod
    def build(self) -> None:
        """Create networks and optimizers (fine-tuning from ``self.opts.from_ckpt`` when set)."""

    @abc.abstractmethod
    def networks(self) -> dict[str, nn.Module]:
        """EVERY module whose state is saved (G, D, E, G_ema ...), by a stable name."""

    @abc.abstractmethod
    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """Every optimizer, by a stable name (the name :meth:`step` takes)."""

    @abc.abstractmethod
    def train_step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, float]:
        """One iteration (``step`` counts from 0); returns named losses as floats."""

    @abc.abstractmethod
    def preview(self, fixed: dict[str, torch.Tensor]) -> np.ndarray:
        """An HxWx3 uint8 grid made from the fixed inputs (the same inputs every call)."""

    @abc.abstractmethod
    def export(self) -> LoadedModel:
        """The inference model (networks in eval mode) that becomes ``latest.safetensors``."""

    def extra_state(self) -> dict[str, Any]:
        """State outside networks and optimizers (ADA p, history buffers ...): tensors or JSON-able."""
        return {}

    def load_extra_state(self, state: dict[str, Any]) -> None:  # noqa: B027 (an optional hook, empty by default)
        """Restore what :meth:`extra_state` returned."""

    # ---- provided for family trainers ------------------------------------------------------

    def autocast(self) -> ContextManager:
        """bf16/fp16 autocast when ``opts.amp`` asks for it, else a null context."""
        if self.opts.amp == "off":
            return contextlib.nullcontext()
        dtype = torch.bfloat16 if self.opts.amp == "bf16" else torch.float16
        return torch.autocast(device_type=self.device.type, dtype=dtype)

    def backward(self, loss: torch.Tensor) -> None:
        """``loss.backward()``, scaled when training in fp16."""
        if self._scaler is not None:
            self._scaler.scale(loss).backward()
        else:
            loss.backward()

    def step(self, name: str) -> None:
        """Update optimizer ``name``: average gradients over processes, unscale, clip, step, zero."""
        opt = self.optimizers()[name]
        params = [p for group in opt.param_groups for p in group["params"] if p.requires_grad]
        if self.ctx.distributed:
            from engine.training.distributed import all_reduce_gradients

            all_reduce_gradients(params, self.ctx.world_size)
        if self._scaler is not None:
            self._scaler.unscale_(opt)
        clip = self.opts.get("clip_grad")
        if clip:
            norm = torch.nn.utils.clip_grad_norm_(params, float(clip))
            if self._scaler is None and not math.isfinite(float(norm)):
                raise NonFiniteError(f"The gradients of '{name}' became NaN or infinite.")
        if self._scaler is not None:
            self._scaler.step(opt)
        else:
            opt.step()
        opt.zero_grad(set_to_none=True)

    def note(self, message: str) -> None:
        """A line for the run log the user sees (e.g. "the file has no discriminator: a fresh one is trained")."""
        self.ctx.notes.append(message)
        log.info("%s", message)
        if self.ctx.on_note is not None:
            self.ctx.on_note(message)

    def load_checkpoint_for_finetune(self, path: str | Path, expected_family: str | Iterable[str]) -> LoadedModel:
        """Load ``path`` with the app's loader (any format it opens); refuse another family by name.

        ``expected_family``: the model family name(s) this trainer accepts (e.g. ``"spade"`` or
        ``("esrgan", "srvgg")``). Returns the model on ``self.device`` in train mode."""
        from engine.loaders.detect import load_model

        accepted = (expected_family,) if isinstance(expected_family, str) else tuple(expected_family)
        model = load_model(path)
        if model.family not in accepted:
            raise CheckpointError(
                f"{Path(path).name} is a {model.family} model, but a {self.family} run fine-tunes "
                f"{' or '.join(accepted)} models. Pick a {self.family} checkpoint, or train the "
                f"{model.family} family instead."
            )
        model.to(self.device)
        for net in model.networks.values():
            net.train()
        self.note(f"fine-tuning from {Path(path).name} ({model.source_format}, {model.family})")
        return model

    def mean_over_processes(self, value: torch.Tensor) -> torch.Tensor:
        """``value`` averaged over the processes of a distributed run (itself otherwise): for
        statistics that must agree everywhere, e.g. ADA's discriminator-sign heuristic. Every
        process must call it at the same point."""
        if not self.ctx.distributed:
            return value
        import torch.distributed as dist

        out = value.detach().clone().float()
        dist.all_reduce(out, op=dist.ReduceOp.SUM)
        return (out / self.ctx.world_size).to(value.dtype)

    @staticmethod
    def requires_grad(module: nn.Module, flag: bool) -> None:
        """Turn gradient tracking of every parameter of ``module`` on or off."""
        for p in module.parameters():
            p.requires_grad_(flag)

    # ---- used by the loop --------------------------------------------------------------------

    def zero_all_grads(self) -> None:
        for opt in self.optimizers().values():
            opt.zero_grad(set_to_none=True)

    def end_iteration(self) -> None:
        """Called by the loop after each train_step (fp16 scale update)."""
        if self._scaler is not None:
            self._scaler.update()

    def scaler_state(self) -> dict[str, Any] | None:
        return self._scaler.state_dict() if self._scaler is not None else None

    def load_scaler_state(self, state: dict[str, Any] | None) -> None:
        if self._scaler is not None and state:
            self._scaler.load_state_dict(state)
