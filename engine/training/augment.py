"""Augmentation of the discriminator's inputs, so that a GAN trained on 50-500 images does not
overfit its discriminator: DiffAugment (Zhao et al. 2020) and ADA (Karras et al. 2020).

Both are differentiable with respect to the image (the generator learns through them) and are
applied to real AND fake images alike, each call drawing fresh random parameters from torch's
global RNG (which the training loop saves and restores, so resumed runs draw the same numbers).

Images are ``[N, C, H, W]`` float in about ``[-1, 1]``; colour transforms use the first three
channels. A conditional discriminator's condition (e.g. a one-hot label map ``[N, L, H, W]``)
may be passed as ``cond``: it gets the same geometric transforms as the image (nearest, no
interpolation) and no colour change.

* :class:`DiffAugment` applies every op of its policy to every sample: ``color`` (brightness
  +U(-0.5, 0.5), saturation x U(0, 2), contrast x U(0.5, 1.5)), ``translation`` (integer shift up
  to 1/8 of the side, zero fill) and ``cutout`` (a zeroed square of half the side).
* :class:`AdaptiveAugment` applies each op of a differentiable subset of ADA's pipeline with
  probability ``p``: x-flip, 90-degree rotations, integer translation (up to 1/8 of the side,
  reflected borders), brightness, contrast, hue rotation, saturation. ``p`` follows the sign
  heuristic ``r_t = E[sign(D(real))]``: every ``interval`` steps it moves by
  ``sign(r_t - target) * images_seen / (speed_kimg * 1000)``, clamped to ``[0, max_p]``.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from engine.training.losses import logits_per_scale

#: DiffAugment's default policy for few-shot training
DIFFAUGMENT_POLICY = ("color", "translation", "cutout")

_LUMA_AXIS = torch.tensor([1.0, 1.0, 1.0]) / math.sqrt(3.0)


def _with_cond(x: torch.Tensor, cond: torch.Tensor | None):
    return x if cond is None else (x, cond)


def _per_sample(values: torch.Tensor) -> torch.Tensor:
    return values.reshape(-1, 1, 1, 1)


def _colour_mean(x: torch.Tensor) -> torch.Tensor:
    return x[:, :3].mean(dim=(1, 2, 3), keepdim=True)


def _replace_rgb(x: torch.Tensor, rgb: torch.Tensor) -> torch.Tensor:
    return rgb if x.shape[1] == 3 else torch.cat([rgb, x[:, 3:]], dim=1)


def _gather_shift(x: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
    """``out[n, :, i, j] = x[n, :, rows[n, i], cols[n, j]]`` (differentiable in x)."""
    n = x.shape[0]
    batch = torch.arange(n, device=x.device)[:, None, None]
    out = x.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]]
    return out.permute(0, 3, 1, 2)


def _reflect(index: torch.Tensor, size: int) -> torch.Tensor:
    """Indices reflected into ``[0, size)`` (mirror without repeating the edge pixel)."""
    if size == 1:
        return torch.zeros_like(index)
    period = 2 * (size - 1)
    index = index.remainder(period)
    return torch.where(index >= size, period - index, index)


def _translate(x: torch.Tensor, cond: torch.Tensor | None, shift_y: torch.Tensor, shift_x: torch.Tensor,
               reflect: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Shift each sample by integer (shift_y[n], shift_x[n]) pixels; borders reflected or zero."""
    h, w = x.shape[2:]
    rows = torch.arange(h, device=x.device)[None, :] - shift_y[:, None]
    cols = torch.arange(w, device=x.device)[None, :] - shift_x[:, None]
    if reflect:
        rows, cols = _reflect(rows, h), _reflect(cols, w)
        return _gather_shift(x, rows, cols), None if cond is None else _gather_shift(cond, rows, cols)
    inside = ((rows >= 0) & (rows < h))[:, None, :, None] & ((cols >= 0) & (cols < w))[:, None, None, :]
    rows, cols = rows.clamp(0, h - 1), cols.clamp(0, w - 1)
    x = _gather_shift(x, rows, cols) * inside
    cond = None if cond is None else _gather_shift(cond, rows, cols) * inside
    return x, cond


class DiffAugment:
    """DiffAugment with a policy of ``"color"``, ``"translation"``, ``"cutout"`` (see the module docstring).

    Args:
        policy: the ops to apply, in order.
        translation_ratio: largest shift as a fraction of the side (1/8).
        cutout_ratio: side of the cut-out square as a fraction of the image side (1/2).
    """

    def __init__(self, policy: tuple[str, ...] = DIFFAUGMENT_POLICY, translation_ratio: float = 0.125,
                 cutout_ratio: float = 0.5):
        unknown = sorted(set(policy) - set(DIFFAUGMENT_POLICY))
        if unknown:
            raise ValueError(f"unknown DiffAugment ops {unknown}; known: {', '.join(DIFFAUGMENT_POLICY)}")
        self.policy = tuple(policy)
        self.translation_ratio, self.cutout_ratio = translation_ratio, cutout_ratio

    def __call__(self, x: torch.Tensor, cond: torch.Tensor | None = None):
        for op in self.policy:
            x, cond = getattr(self, f"_{op}")(x, cond)
        return _with_cond(x, cond)

    def _color(self, x, cond):
        n = x.shape[0]
        rgb = x[:, :3]
        rgb = rgb + _per_sample(torch.rand(n, device=x.device) - 0.5)
        luma = rgb.mean(dim=1, keepdim=True)
        rgb = (rgb - luma) * _per_sample(torch.rand(n, device=x.device) * 2) + luma
        mean = rgb.mean(dim=(1, 2, 3), keepdim=True)
        rgb = (rgb - mean) * _per_sample(torch.rand(n, device=x.device) + 0.5) + mean
        return _replace_rgb(x, rgb), cond

    def _translation(self, x, cond):
        n, _, h, w = x.shape
        sy, sx = int(h * self.translation_ratio + 0.5), int(w * self.translation_ratio + 0.5)
        shift_y = torch.randint(-sy, sy + 1, (n,), device=x.device)
        shift_x = torch.randint(-sx, sx + 1, (n,), device=x.device)
        return _translate(x, cond, shift_y, shift_x, reflect=False)

    def _cutout(self, x, cond):
        n, _, h, w = x.shape
        ch, cw = int(h * self.cutout_ratio + 0.5), int(w * self.cutout_ratio + 0.5)
        top = torch.randint(0, h + (1 - ch % 2), (n,), device=x.device) - ch // 2
        left = torch.randint(0, w + (1 - cw % 2), (n,), device=x.device) - cw // 2
        rows = torch.arange(h, device=x.device)[None, :]
        cols = torch.arange(w, device=x.device)[None, :]
        in_rows = (rows >= top[:, None]) & (rows < top[:, None] + ch)
        in_cols = (cols >= left[:, None]) & (cols < left[:, None] + cw)
        keep = ~(in_rows[:, :, None] & in_cols[:, None, :])
        keep = keep[:, None].to(x.dtype)
        return x * keep, None if cond is None else cond * keep.to(cond.dtype)


class AdaptiveAugment:
    """ADA: each op applied with probability ``p``; ``p`` tuned by the sign of D on real images.

    Args:
        p: initial probability in ``[0, max_p]``.
        target: the wanted ``E[sign(D(real))]`` (0.6 in the paper).
        interval: steps between adjustments of ``p``.
        speed_kimg: thousands of images over which ``p`` may go from 0 to 1 (500 in the paper;
            smaller reacts faster on short runs).
        max_p: upper bound of ``p`` (kept below 1 so that the augmentations do not leak).
        fixed: keep ``p`` as given (no adjustment).
    """

    OPS = ("xflip", "rotate90", "translate", "brightness", "contrast", "hue", "saturation")

    def __init__(self, p: float = 0.0, target: float = 0.6, interval: int = 4, speed_kimg: float = 100.0,
                 max_p: float = 0.85, fixed: bool = False):
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"the augmentation probability must be in [0, 1], got {p}")
        self.p, self.target, self.interval = float(p), float(target), int(interval)
        self.speed_kimg, self.max_p, self.fixed = float(speed_kimg), float(max_p), bool(fixed)
        self._sign_sum, self._count, self._images = 0.0, 0, 0

    # -- the heuristic

    def observe(self, real_logits: Any) -> None:
        """Record the discriminator's raw outputs on (augmented) real images of one step: a
        logits tensor, or a multi-scale output (a list per scale of logits or of features whose
        last entry is the logits); patch logits count one sign each."""
        scales = logits_per_scale(real_logits)
        for logits in scales:
            signs = torch.sign(logits.detach().float())
            self._sign_sum += float(signs.sum())
            self._count += signs.numel()
        self._images += int(scales[0].shape[0])

    def observe_and_update(self, real_logits: Any, step: int) -> None:
        """:meth:`observe` then :meth:`update` (what a trainer calls once per D step)."""
        self.observe(real_logits)
        self.update(step)

    def update(self, step: int) -> None:
        """Adjust ``p`` after every ``interval``-th step (``step`` counts from 0) from what was observed."""
        if (step + 1) % self.interval:
            return
        self._sum_over_processes()
        if self._count == 0:
            return
        if not self.fixed:
            r_t = self._sign_sum / self._count
            adjust = math.copysign(1.0, r_t - self.target) * self._images / (self.speed_kimg * 1000.0)
            self.p = min(max(self.p + adjust, 0.0), self.max_p)
        self._sign_sum, self._count, self._images = 0.0, 0, 0

    def _sum_over_processes(self) -> None:
        """In a distributed run, every process adds up all processes' observations (so ``p``
        stays the same everywhere)."""
        import torch.distributed as dist

        if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() < 2:
            return
        totals = torch.tensor([self._sign_sum, float(self._count), float(self._images)], dtype=torch.float64)
        if dist.get_backend() == "nccl":
            totals = totals.cuda()
        dist.all_reduce(totals)
        self._sign_sum, self._count, self._images = float(totals[0]), int(totals[1]), int(totals[2])

    @property
    def last_r_t(self) -> float | None:
        return self._sign_sum / self._count if self._count else None

    def state_dict(self) -> dict[str, Any]:
        return {"p": self.p, "sign_sum": self._sign_sum, "count": self._count, "images": self._images}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.p = float(state["p"])
        self._sign_sum, self._count = float(state["sign_sum"]), int(state["count"])
        self._images = int(state["images"])

    # -- the pipeline

    def __call__(self, x: torch.Tensor, cond: torch.Tensor | None = None):
        if self.p <= 0.0:
            return _with_cond(x, cond)
        x, cond = self._xflip(x, cond)
        x, cond = self._rotate90(x, cond)
        x, cond = self._translate(x, cond)
        x = self._colour(x)
        return _with_cond(x, cond)

    def _chosen(self, n: int, device: torch.device) -> torch.Tensor:
        return torch.rand(n, device=device) < self.p

    def _xflip(self, x, cond):
        chosen = _per_sample(self._chosen(x.shape[0], x.device))
        x = torch.where(chosen, x.flip(3), x)
        return x, None if cond is None else torch.where(chosen, cond.flip(3), cond)

    def _rotate90(self, x, cond):
        if x.shape[2] != x.shape[3]:
            return x, cond  # quarter turns only keep square images' shape
        n = x.shape[0]
        turns = torch.randint(0, 4, (n,), device=x.device) * self._chosen(n, x.device)
        for k in (1, 2, 3):
            mask = _per_sample(turns == k)
            x = torch.where(mask, torch.rot90(x, k, dims=(2, 3)), x)
            if cond is not None:
                cond = torch.where(mask, torch.rot90(cond, k, dims=(2, 3)), cond)
        return x, cond

    def _translate(self, x, cond):
        n, _, h, w = x.shape
        chosen = self._chosen(n, x.device)
        shift_y = torch.round((torch.rand(n, device=x.device) * 2 - 1) * 0.125 * h).long() * chosen
        shift_x = torch.round((torch.rand(n, device=x.device) * 2 - 1) * 0.125 * w).long() * chosen
        return _translate(x, cond, shift_y, shift_x, reflect=True)

    def _colour(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] < 3:
            return x
        n, device = x.shape[0], x.device
        rgb = x[:, :3]
        brightness = torch.randn(n, device=device) * 0.2 * self._chosen(n, device)
        rgb = rgb + _per_sample(brightness)
        contrast = torch.exp2(torch.randn(n, device=device) * 0.5 * self._chosen(n, device))
        mean = _colour_mean(rgb)
        rgb = (rgb - mean) * _per_sample(contrast) + mean
        angle = (torch.rand(n, device=device) * 2 - 1) * math.pi * self._chosen(n, device)
        rgb = torch.einsum("nij,njhw->nihw", _hue_rotation(angle).to(rgb.dtype), rgb)
        saturation = torch.exp2(torch.randn(n, device=device) * self._chosen(n, device))
        axis = _LUMA_AXIS.to(device=device, dtype=rgb.dtype)
        luma = torch.einsum("i,nihw->nhw", axis, rgb)[:, None] * axis[None, :, None, None]
        rgb = luma + (rgb - luma) * _per_sample(saturation)
        return _replace_rgb(x, rgb)


def _hue_rotation(angle: torch.Tensor) -> torch.Tensor:
    """``[N, 3, 3]`` rotations by ``angle`` (radians) about the grey axis (Rodrigues' formula)."""
    axis = _LUMA_AXIS.to(angle.device)
    cross = torch.tensor([[0.0, -axis[2], axis[1]], [axis[2], 0.0, -axis[0]], [-axis[1], axis[0], 0.0]], device=angle.device)
    outer = torch.outer(axis, axis)
    eye = torch.eye(3, device=angle.device)
    c, s = torch.cos(angle)[:, None, None], torch.sin(angle)[:, None, None]
    return c * eye + s * cross + (1 - c) * outer


def make_augment(mode: str, **kwargs: Any) -> DiffAugment | AdaptiveAugment | None:
    """The augmentation for a ``TrainOptions.augment`` value: ``"none"`` -> None, ``"diffaugment"``,
    ``"ada"`` (keyword arguments go to the class)."""
    if mode in (None, "none"):
        return None
    if mode == "diffaugment":
        return DiffAugment(**kwargs)
    if mode == "ada":
        return AdaptiveAugment(**kwargs)
    raise ValueError(f"unknown augmentation {mode!r}; use none, ada or diffaugment")
