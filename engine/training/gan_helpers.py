"""Small pieces the image-to-image, upscaling and inpainting trainers share: preview grids,
copies of networks for export, discriminator files found next to a generator, frozen layers.
"""

from __future__ import annotations

import contextlib
import copy
import logging
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np
import torch
from torch import nn

from engine.errors import CheckpointError

log = logging.getLogger(__name__)

GRID_GAP = 2  # pixels between the cells of a preview grid


def to_uint8(image: torch.Tensor, value_range: tuple[float, float] = (-1.0, 1.0)) -> np.ndarray:
    """``C x H x W`` float in ``value_range`` -> ``H x W x 3`` uint8 (one channel repeated)."""
    low, high = value_range
    x = ((image.detach().float().cpu() - low) / (high - low)).clamp(0, 1)
    array = (x * 255.0).round().to(torch.uint8).permute(1, 2, 0).numpy()
    if array.shape[2] == 1:
        array = np.repeat(array, 3, axis=2)
    return array[..., :3]


def image_grid(columns: Sequence[torch.Tensor], value_range: tuple[float, float] = (-1.0, 1.0)) -> np.ndarray:
    """A preview grid: one row per example, one column per tensor of ``columns`` (each
    ``N x C x H x W``; columns may differ in size, cells are top-left aligned on a dark gap)."""
    rows = columns[0].shape[0]
    widths = [int(c.shape[-1]) for c in columns]
    heights = [int(c.shape[-2]) for c in columns]
    cell_h = max(heights)
    grid = np.full((rows * (cell_h + GRID_GAP) + GRID_GAP, sum(widths) + GRID_GAP * (len(columns) + 1), 3), 24, np.uint8)
    for r in range(rows):
        top = GRID_GAP + r * (cell_h + GRID_GAP)
        left = GRID_GAP
        for column, h, w in zip(columns, heights, widths):
            grid[top:top + h, left:left + w] = to_uint8(column[r], value_range)
            left += w + GRID_GAP
    return grid


def eval_copy(net: nn.Module) -> nn.Module:
    """A CPU copy of ``net`` in eval mode without gradients (what an export hands out, so the
    training network keeps its mode, device and autograd state)."""
    clone = copy.deepcopy(net).to("cpu").eval()
    clone.requires_grad_(False)
    return clone


def one_hot(labels: torch.Tensor, classes: int) -> torch.Tensor:
    """``N x H x W`` int64 class indices -> ``N x classes x H x W`` float one-hot maps."""
    return torch.nn.functional.one_hot(labels.long(), classes).permute(0, 3, 1, 2).float()


def find_sibling(path: str | Path, replacements: Iterable[tuple[str, str]]) -> Path | None:
    """The first existing file named like ``path`` with one of the ``(old, new)`` name
    replacements applied (e.g. ``("net_G", "net_D")``), or None."""
    path = Path(path)
    for old, new in replacements:
        if old in path.name:
            candidate = path.with_name(path.name.replace(old, new))
            if candidate != path and candidate.is_file():
                return candidate
    return None


def read_state_dict(path: str | Path, prefer: Sequence[str] = ("params_ema", "params", "state_dict")) -> dict[str, torch.Tensor]:
    """The tensors of a weights file (safetensors or torch, loaded without running code); for
    BasicSR-style files the first of ``prefer`` found. :class:`CheckpointError` when none."""
    from engine.loaders.files import read_checkpoint

    ckpt = read_checkpoint(path)
    for key in prefer:
        tensors = ckpt.tensors(key)
        if tensors:
            return tensors
    tensors = ckpt.tensors()
    if not tensors:
        raise CheckpointError(f"{Path(path).name} holds no plain weights GAN Studio can use as a discriminator.")
    return tensors


class FrozenLayers:
    """Which parameters stay frozen (``--freeze-d N``: the first N discriminator blocks), so that
    the usual on/off switching of D's gradients between the G and D phases leaves them frozen."""

    def __init__(self, modules: Iterable[nn.Module] = ()):
        self.params = {id(p) for m in modules for p in m.parameters()}

    def set_trainable(self, net: nn.Module, flag: bool) -> None:
        for p in net.parameters():
            p.requires_grad_(flag and id(p) not in self.params)


def first_layers(net: nn.Module, count: int) -> list[nn.Module]:
    """The first ``count`` weight layers (convs, linears, spectral-norm layers) of ``net`` in
    registration order (input to output for the discriminators here), with the norm layers
    between them: what ``--freeze-d count`` freezes in discriminators without blocks."""
    from engine.models.layers import SpectralNormLayer

    weighted = (nn.Conv2d, nn.ConvTranspose2d, nn.Linear, SpectralNormLayer)
    chosen: list[nn.Module] = []
    seen = 0
    for module in net.modules():
        if isinstance(module, weighted):
            if seen == count:
                break
            seen += 1
            chosen.append(module)
        elif seen and isinstance(module, (nn.BatchNorm2d, nn.InstanceNorm2d, nn.PReLU)):
            chosen.append(module)
    return chosen


def check_freeze(count: int, available: int, what: str = "the discriminator") -> None:
    """An :class:`InputError` when ``--freeze-d count`` would leave ``what`` nothing to train."""
    from engine.errors import InputError

    if count >= available:
        raise InputError(f"--freeze-d {count} would freeze all of {what} ({available} layers); use at most {available - 1}.")


def weight_layer_count(net: nn.Module) -> int:
    return len([m for m in first_layers(net, 10**6) if not isinstance(m, (nn.BatchNorm2d, nn.InstanceNorm2d, nn.PReLU))])


def trainable(params: Iterable[nn.Parameter], frozen: FrozenLayers) -> list[nn.Parameter]:
    """The parameters an optimizer should hold (frozen ones left out)."""
    return [p for p in params if id(p) not in frozen.params]


class DiscriminatorAugment:
    """``--augment`` for a trainer's discriminator inputs (:mod:`engine.training.augment`):
    DiffAugment or ADA on real and fake images alike (differentiable, so G learns through it),
    a condition given as ``cond`` transformed geometrically with its image. With ADA, the real
    logits of every D step adjust ``p`` (:meth:`observe`); :meth:`state` goes in ``extra_state``."""

    def __init__(self, mode: str | None):
        from engine.training.augment import make_augment

        self.mode = mode or "none"
        self.pipeline = make_augment(self.mode)

    @property
    def adaptive(self) -> bool:
        from engine.training.augment import AdaptiveAugment

        return isinstance(self.pipeline, AdaptiveAugment)

    def __call__(self, image: torch.Tensor, cond: torch.Tensor | None = None):
        """The augmented ``image`` (and ``cond`` when given, as a pair); unchanged without augmentation."""
        if self.pipeline is None:
            return image if cond is None else (image, cond)
        return self.pipeline(image, cond)

    def observe(self, real_logits, step: int, out: dict[str, float]) -> None:
        """ADA's sign heuristic on this D step's real logits; adds ``ada_p`` to the step's losses."""
        if self.adaptive:
            self.pipeline.observe_and_update(real_logits, step)
            out["ada_p"] = float(self.pipeline.p)

    def state(self) -> dict:
        return {"ada": self.pipeline.state_dict()} if self.adaptive else {}

    def load_state(self, state: dict) -> None:
        if self.adaptive and "ada" in state:
            self.pipeline.load_state_dict(state["ada"])


def linear_decay(step: int, steps: int, decay_from: float) -> float:
    """The learning-rate factor of pix2pix / CycleGAN's schedule: 1 until ``decay_from * steps``,
    then falling linearly to 0 at the last step (``decay_from >= 1``: constant)."""
    start = int(decay_from * steps)
    if decay_from >= 1 or step < start:
        return 1.0
    return max(0.0, 1.0 - (step - start + 1) / float(steps - start + 1))


def set_learning_rate(opt: torch.optim.Optimizer, lr: float) -> None:
    """Set every parameter group's learning rate (derived from the step, so resume needs no state)."""
    for group in opt.param_groups:
        group["lr"] = lr


@contextlib.contextmanager
def option_errors(family: str) -> Iterator[None]:
    """Turn a ValueError/TypeError raised while building networks from the run's options (a
    ``--set ngf=abc``, an unknown norm, a scale the architecture lacks) into an
    :class:`InputError` that names the family, instead of a traceback."""
    from engine.errors import InputError

    try:
        yield
    except (ValueError, TypeError) as exc:
        raise InputError(f"The {family} options do not make a valid model: {exc}. "
                         f"Check the values given with --set (see the {family} trainer's options).") from exc
