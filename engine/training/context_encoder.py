"""Training a context encoder (:mod:`engine.models.context_encoder`) for inpainting.

Loss, as in Pathak et al.: ``lambda_rec * L_rec + lambda_adv * L_adv`` for the generator, where

* ``L_rec`` is the masked reconstruction loss: the squared error on the hole, averaged over the
  hole's pixels and channels; pixels of the *overlap band* (for the center variant: the part of
  the predicted square outside the hole; for the full variant: ``overlap`` pixels around the hole)
  count ``overlap_weight`` times (10 in the paper; 0 turns it off);
* ``L_adv`` is the non-saturating GAN loss of a discriminator that sees the predicted region,
  real or with the fill composited in.

Optimiser: Adam (beta1 0.5), the discriminator at a tenth of the generator's learning rate.

Masks are drawn at random per sample from ``mask_kinds``: ``"center"`` (the central square),
``"rectangles"`` (one to three boxes) and ``"strokes"`` (free-form brush strokes); for the center
variant every mask lies inside the square the model fills.

Training data: a folder of images (any sizes; random crops, rescaled so the short side is at least
the resolution, with random horizontal flips) or a numpy array ``N x H x W x 3 uint8``.

Runs go through the shared training loop with :class:`ContextEncoderTrainer` (``gan-studio train
context_encoder --data DIR --out RUN_DIR``: run folder, previews, checkpoints, resume). Options
(``opts.extra``): ``variant``, ``mask_channel``, ``base_width``, ``max_width``, ``bottleneck_size``,
``overlap`` (default resolution/32), ``disc_base_width``, ``overlap_weight``, ``lambda_rec``,
``lambda_adv`` and ``masks`` (comma-separated kinds; ``"strokes"`` alone trains for free-form
holes). ``--from`` fine-tunes a context encoder file (its generator and discriminator).
``--augment diffaugment|ada`` augments the discriminator's inputs, ``--freeze-d N`` freezes its
first N layers.

The masks of step ``s`` come from a generator seeded with ``(seed, rank, s)``: stateless, so a
resumed run draws the same masks as an uninterrupted one.

:func:`train` is the earlier in-memory entry point (a folder or arrays in, a ``.safetensors`` out,
``on_step`` / ``should_stop`` callbacks), kept on the same training step; so is its command line::

    python -m engine.training.context_encoder --images DIR --out model.safetensors --steps 2000 --resolution 64
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from engine.errors import EngineError, InputError
from engine.imageio import IMAGE_EXTENSIONS, read_image
from engine.loaders import native
from engine.models.loaded import LoadedModel, config_to_dict
from engine.models.context_encoder import (
    ContextEncoderConfig,
    build_networks,
    composite,
    crop_output_box,
    prepare_input,
)
from engine.training import losses
from engine.training.gan_helpers import (
    DiscriminatorAugment, FrozenLayers, check_freeze, eval_copy, first_layers, image_grid, option_errors, trainable,
    weight_layer_count,
)
from engine.training.options import TrainOptions, resolve
from engine.training.trainer import RunContext, Trainer

log = logging.getLogger(__name__)

FAMILY = "context_encoder"
MASK_KINDS = ("center", "rectangles", "strokes")


@dataclass(frozen=True)
class TrainSettings:
    """Args:
        steps: optimiser steps.
        batch_size: windows per step.
        lr: generator learning rate (Adam); the discriminator uses ``lr * d_lr_factor``.
        beta1: Adam's beta1.
        lambda_rec / lambda_adv: weights of the reconstruction and adversarial losses.
        overlap_weight: weight of the overlap band in the reconstruction loss (0 = off).
        mask_kinds: which random masks to draw (see the module docstring).
        seed: seeds weights, data order and masks.
        device: "cpu", "cuda", ...
    """

    steps: int = 2000
    batch_size: int = 16
    lr: float = 2e-4
    d_lr_factor: float = 0.1
    beta1: float = 0.5
    lambda_rec: float = 0.999
    lambda_adv: float = 0.001
    overlap_weight: float = 10.0
    mask_kinds: tuple[str, ...] = MASK_KINDS
    seed: int = 0
    device: str = "cpu"

    def __post_init__(self) -> None:
        unknown = [k for k in self.mask_kinds if k not in MASK_KINDS]
        if unknown or not self.mask_kinds:
            raise InputError(f"mask kinds must be some of {', '.join(MASK_KINDS)}; got {list(self.mask_kinds)}")
        if self.steps < 1 or self.batch_size < 1:
            raise InputError("steps and batch size must be at least 1.")


@dataclass(frozen=True)
class StepReport:
    """What one step did: losses as floats (``masked_l2``: the plain squared error on the hole)."""

    step: int
    steps: int
    masked_l2: float
    loss_rec: float
    loss_adv: float
    loss_d: float
    seconds: float


@dataclass
class TrainReport:
    """The whole run: one :class:`StepReport` per step done, and where the model was saved."""

    history: list[StepReport] = field(default_factory=list)
    saved_to: Path | None = None
    stopped_early: bool = False


# ---------------------------------------------------------------------------------------------
# data


class WindowSampler:
    """Random ``resolution x resolution`` crops (float tensors in [-1, 1]) of a set of images."""

    def __init__(self, images: Sequence[np.ndarray], resolution: int, rng: np.random.Generator):
        self.resolution = resolution
        self.rng = rng
        self.images = [self._prepare(image) for image in images]
        if not self.images:
            raise InputError("There are no training images.")

    def _prepare(self, image: np.ndarray) -> np.ndarray:
        image = np.asarray(image)
        if image.dtype == np.uint16:
            image = (image >> 8).astype(np.uint8)
        if image.dtype != np.uint8:
            raise InputError(f"Training images must be uint8 (or uint16), not {image.dtype}.")
        if image.ndim == 2:
            image = np.repeat(image[..., None], 3, axis=2)
        image = image[..., :3]
        short = min(image.shape[:2])
        if short < self.resolution:  # too small for a crop: scale it up
            factor = self.resolution / short
            size = (max(self.resolution, round(image.shape[1] * factor)), max(self.resolution, round(image.shape[0] * factor)))
            image = np.asarray(Image.fromarray(image).resize(size, Image.Resampling.BICUBIC))
        return np.ascontiguousarray(image)

    def batch(self, count: int) -> torch.Tensor:
        out = np.empty((count, self.resolution, self.resolution, 3), dtype=np.uint8)
        for i in range(count):
            image = self.images[int(self.rng.integers(len(self.images)))]
            top = int(self.rng.integers(image.shape[0] - self.resolution + 1))
            left = int(self.rng.integers(image.shape[1] - self.resolution + 1))
            crop = image[top:top + self.resolution, left:left + self.resolution]
            out[i] = crop[:, ::-1] if self.rng.random() < 0.5 else crop
        return torch.from_numpy(out).permute(0, 3, 1, 2).float() / 127.5 - 1.0


def read_image_folder(folder: str | Path) -> list[np.ndarray]:
    """Every readable image in ``folder`` (recursively); unreadable files are skipped with a warning."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder} is not a folder of images.")
    images = []
    for path in sorted(folder.rglob("*")):
        if path.suffix.lower() in IMAGE_EXTENSIONS and path.is_file():
            try:
                images.append(read_image(path))
            except EngineError as exc:
                log.warning("skipping %s: %s", path, exc)
    if not images:
        raise InputError(f"{folder} holds no images GAN Studio can read ({', '.join(IMAGE_EXTENSIONS)}).")
    return images


# ---------------------------------------------------------------------------------------------
# masks


def random_mask(config: ContextEncoderConfig, kind: str, rng: np.random.Generator) -> np.ndarray:
    """One ``R x R`` bool mask (True = hole) of ``kind``, inside ``config.fill_box``; never empty."""
    resolution = config.resolution
    start, stop = config.fill_box
    if config.variant == "full":  # leave context around free-form holes too
        quarter = resolution // 4
        start, stop = quarter // 2, resolution - quarter // 2
    mask = np.zeros((resolution, resolution), dtype=bool)
    span = stop - start
    if kind == "center":
        if config.variant == "center":
            mask[start:stop, start:stop] = True
        else:
            mask[resolution // 4:resolution - resolution // 4, resolution // 4:resolution - resolution // 4] = True
    elif kind == "rectangles":
        for _ in range(int(rng.integers(1, 4))):
            h, w = (int(v) for v in rng.integers(max(2, span // 6), max(3, span // 2) + 1, size=2))
            top = start + int(rng.integers(0, span - h + 1))
            left = start + int(rng.integers(0, span - w + 1))
            mask[top:top + h, left:left + w] = True
    elif kind == "strokes":
        yy, xx = np.mgrid[0:resolution, 0:resolution]
        for _ in range(int(rng.integers(1, 4))):
            radius = rng.uniform(max(1.0, resolution / 32), max(1.5, resolution / 12))
            y, x = rng.uniform(start + radius, stop - radius, size=2)
            angle = rng.uniform(0, 2 * math.pi)
            for _ in range(int(rng.integers(3, 9))):
                angle += rng.normal(0, 0.8)
                length = rng.uniform(span / 8, span / 3)
                ny = float(np.clip(y + length * math.sin(angle), start + radius, stop - radius))
                nx = float(np.clip(x + length * math.cos(angle), start + radius, stop - radius))
                mask |= _segment_mask(yy, xx, (y, x), (ny, nx), radius)
                y, x = ny, nx
    else:
        raise InputError(f"unknown mask kind {kind!r}; use one of {', '.join(MASK_KINDS)}")
    mask[:start] = mask[stop:] = False
    mask[:, :start] = mask[:, stop:] = False
    if not mask.any():
        mid = resolution // 2
        mask[mid - 1:mid + 1, mid - 1:mid + 1] = True
    return mask


def _segment_mask(yy: np.ndarray, xx: np.ndarray, a: tuple[float, float], b: tuple[float, float], radius: float) -> np.ndarray:
    """Pixels within ``radius`` of the segment ``a``-``b`` (a round brush)."""
    ay, ax = a
    dy, dx = b[0] - ay, b[1] - ax
    length2 = dy * dy + dx * dx
    t = np.clip(((yy - ay) * dy + (xx - ax) * dx) / length2, 0, 1) if length2 > 0 else 0.0
    return (yy - (ay + t * dy)) ** 2 + (xx - (ax + t * dx)) ** 2 <= radius * radius


def overlap_band(config: ContextEncoderConfig, mask: torch.Tensor) -> torch.Tensor:
    """The overlap band of ``mask`` (N x 1 x R x R) within the output box: for the center variant the
    predicted square outside the hole, for the full variant ``overlap`` pixels around the hole."""
    if config.variant == "center":
        band = 1.0 - mask
    else:
        radius = max(1, config.overlap)
        grown = F.max_pool2d(mask, 2 * radius + 1, stride=1, padding=radius)
        band = grown - mask
    return crop_output_box(config, band)


# ---------------------------------------------------------------------------------------------
# the trainer (shared loop)


CONFIG_KEYS = ("variant", "mask_channel", "base_width", "max_width", "bottleneck_size", "overlap", "disc_base_width")


class ContextEncoderTrainer(Trainer):
    """Generator (encoder, channel-wise FC, decoder) and discriminator of a context encoder."""

    family = "context_encoder"
    layout = "flat"
    defaults: dict[str, Any] = {
        "resolution": 64, "batch": 16, "lr_g": 2e-4, "lr_d": 2e-5, "betas": (0.5, 0.999), "steps": 2000,
        "variant": "full", "mask_channel": True, "base_width": 32, "max_width": 256, "bottleneck_size": 4,
        "overlap": None, "disc_base_width": 64, "overlap_weight": 10.0, "lambda_rec": 0.999, "lambda_adv": 0.001,
        "masks": ",".join(MASK_KINDS),
    }

    def build(self) -> None:
        """Networks and optimizers from the options (or ``--from``); option mistakes become InputError."""
        with option_errors(self.family):
            self._build()

    def _build(self) -> None:
        self.mask_kinds = self._mask_kinds()
        if self.opts.from_ckpt:
            model = self.load_checkpoint_for_finetune(self.opts.from_ckpt, FAMILY)
            self.config = model.config
            if self.config.resolution != self.opts.resolution:
                raise InputError(f"{Path(self.opts.from_ckpt).name} fills {self.config.resolution} px windows; "
                                 f"fine-tune it with --resolution {self.config.resolution}.")
            if "D" not in model.networks:
                raise InputError(f"{Path(self.opts.from_ckpt).name} holds no discriminator; train from scratch instead.")
            self.G, self.D = model.networks["G"], model.networks["D"]
            self.G.requires_grad_(True)
            self.D.requires_grad_(True)
        else:
            self.config = self._config()
            nets = build_networks(self.config)
            self.G, self.D = nets["G"], nets["D"]
        self.G.to(self.device).train()
        self.D.to(self.device).train()
        check_freeze(self.opts.freeze_d, weight_layer_count(self.D))
        self.frozen = FrozenLayers(first_layers(self.D, self.opts.freeze_d))
        self.frozen.set_trainable(self.D, True)
        betas = tuple(self.opts.betas)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=self.opts.lr_g, betas=betas)
        self.opt_d = torch.optim.Adam(trainable(self.D.parameters(), self.frozen), lr=self.opts.lr_d, betas=betas)
        self.augment = DiscriminatorAugment(self.opts.augment)

    def _config(self) -> ContextEncoderConfig:
        values = {k: self.opts.get(k) for k in CONFIG_KEYS if self.opts.get(k) is not None}
        values.setdefault("overlap", max(1, self.opts.resolution // 32))
        try:
            return ContextEncoderConfig(resolution=self.opts.resolution, **values)
        except ValueError as exc:
            raise InputError(f"The context encoder cannot be built with these options: {exc}") from None

    def _mask_kinds(self) -> tuple[str, ...]:
        value = self.opts.get("masks", MASK_KINDS)
        kinds = tuple(k.strip() for k in value.split(",") if k.strip()) if isinstance(value, str) else tuple(value)
        unknown = [k for k in kinds if k not in MASK_KINDS]
        if unknown or not kinds:
            raise InputError(f"mask kinds must be some of {', '.join(MASK_KINDS)}; got {list(kinds)}")
        return kinds

    def networks(self) -> dict[str, torch.nn.Module]:
        return {"G": self.G, "D": self.D}

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"G": self.opt_g, "D": self.opt_d}

    def masks(self, count: int, rng: np.random.Generator) -> torch.Tensor:
        """``count x 1 x R x R`` float masks (1 = hole) of kinds drawn from ``mask_kinds``."""
        kinds = rng.choice(len(self.mask_kinds), size=count)
        masks = np.stack([random_mask(self.config, self.mask_kinds[k], rng) for k in kinds])
        return torch.from_numpy(masks).float()[:, None].to(self.device)

    def train_step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, float]:
        real = batch["image"]
        rng = np.random.default_rng([self.opts.seed, self.ctx.rank, step])
        return self.step_on(real, self.masks(real.shape[0], rng), step)

    def step_on(self, real: torch.Tensor, mask: torch.Tensor, step: int = 0) -> dict[str, float]:
        """One discriminator and one generator update on windows ``real`` with holes ``mask``."""
        config = self.config
        with self.autocast():
            prediction = self.G(prepare_input(config, real, mask))
            real_region = crop_output_box(config, real)
            fake_region = crop_output_box(config, composite(config, real, mask, prediction))

        # discriminator: real windows vs windows with the fill composited in
        self.frozen.set_trainable(self.D, True)
        with self.autocast():
            real_logits = self.D(self.augment(real_region))
            loss_d = 0.5 * losses.d_loss("nonsaturating", real_logits, self.D(self.augment(fake_region.detach())))
        self.backward(loss_d)
        self.step("D")

        # generator: masked reconstruction + adversarial
        self.frozen.set_trainable(self.D, False)
        hole = crop_output_box(config, mask)
        weight = hole + float(self.opts.get("overlap_weight")) * overlap_band(config, mask)
        with self.autocast():
            prediction32 = prediction.float()
            loss_rec = losses.masked_mse(prediction32, real_region, weight)
            loss_adv = losses.g_loss("nonsaturating", self.D(self.augment(fake_region)))
            loss_g = float(self.opts.get("lambda_rec")) * loss_rec + float(self.opts.get("lambda_adv")) * loss_adv
        self.backward(loss_g)
        self.step("G")
        self.frozen.set_trainable(self.D, True)
        with torch.no_grad():
            masked_l2 = losses.masked_mse(prediction32, real_region, hole)
        out = {"masked_l2": masked_l2.item(), "loss_rec": loss_rec.item(), "loss_adv": loss_adv.item(),
               "loss_d": loss_d.item()}
        self.augment.observe(real_logits, step, out)
        return out

    def preview(self, fixed: dict[str, torch.Tensor]) -> np.ndarray:
        """Rows: the window with its hole greyed out, the filled window, the original."""
        real = fixed["image"].to(self.device)
        mask = self.masks(real.shape[0], np.random.default_rng([self.opts.seed, 99]))
        was_training = self.G.training
        self.G.eval()
        with torch.no_grad():
            filled = composite(self.config, real, mask, self.G(prepare_input(self.config, real, mask)))
        self.G.train(was_training)
        return image_grid([real * (1 - mask), filled, real])

    def extra_state(self) -> dict[str, Any]:
        return self.augment.state()

    def load_extra_state(self, state: dict[str, Any]) -> None:
        self.augment.load_state(state)

    def export(self) -> LoadedModel:
        return LoadedModel(path="", family=FAMILY, source_format=native.NAME, config=self.config,
                           networks={"G": eval_copy(self.G), "D": eval_copy(self.D)})


TRAINER = ContextEncoderTrainer


class _InMemoryData:
    """What :class:`ContextEncoderTrainer` needs of a dataset when :func:`train` feeds it batches itself."""

    layout = "flat"
    channels = 3

    def __init__(self, resolution: int, count: int):
        self.resolution = resolution
        self.count = count

    def __len__(self) -> int:
        return self.count


def trainer_for_settings(config: ContextEncoderConfig, settings: TrainSettings, image_count: int) -> ContextEncoderTrainer:
    """A trainer built from the earlier :class:`TrainSettings` API (seeded from ``settings.seed``)."""
    extra = {k: getattr(config, k) for k in CONFIG_KEYS}
    extra.update(overlap_weight=settings.overlap_weight, lambda_rec=settings.lambda_rec,
                 lambda_adv=settings.lambda_adv, masks=",".join(settings.mask_kinds))
    opts = TrainOptions(family=FAMILY, steps=settings.steps, batch=settings.batch_size, resolution=config.resolution,
                        lr_g=settings.lr, lr_d=settings.lr * settings.d_lr_factor, betas=(settings.beta1, 0.999),
                        seed=settings.seed, device=settings.device, extra=extra)
    opts = resolve(opts, ContextEncoderTrainer.defaults)
    torch.manual_seed(settings.seed)
    return ContextEncoderTrainer(opts, _InMemoryData(config.resolution, image_count), torch.device(settings.device),
                                 RunContext())


# ---------------------------------------------------------------------------------------------
# the earlier in-memory entry point


def train(config: ContextEncoderConfig, images: Sequence[np.ndarray] | np.ndarray | str | Path, settings: TrainSettings,
          out: str | Path | None = None, *, on_step: Callable[[StepReport], None] | None = None,
          should_stop: Callable[[], bool] | None = None, source: str | None = None) -> tuple[LoadedModel, TrainReport]:
    """Train a context encoder from scratch; returns the model (in eval mode) and the report, and
    saves it to ``out`` (GAN Studio ``.safetensors``, the training recipe stored) when given.

    ``images``: a folder, or images (``N x H x W x 3`` uint8 array or a list of arrays).
    ``on_step`` is called after every step; ``should_stop()`` is checked before every step.
    Each step is :meth:`ContextEncoderTrainer.train_step` (the shared loop's step)."""
    if isinstance(images, (str, Path)):
        source = source or f"trained on the images in {Path(images).name}"
        images = read_image_folder(images)
    elif isinstance(images, np.ndarray) and images.ndim == 3:
        images = [images]
    sampler = WindowSampler(list(images), config.resolution, np.random.default_rng(settings.seed))
    trainer = trainer_for_settings(config, settings, len(sampler.images))
    report = TrainReport()
    for step in range(1, settings.steps + 1):
        if should_stop is not None and should_stop():
            report.stopped_early = True
            log.info("training stopped at step %d of %d", step - 1, settings.steps)
            break
        started = time.perf_counter()
        trainer.zero_all_grads()
        result = trainer.train_step({"image": sampler.batch(settings.batch_size).to(trainer.device)}, step - 1)
        entry = StepReport(step=step, steps=settings.steps, seconds=time.perf_counter() - started, **result)
        report.history.append(entry)
        if on_step is not None:
            on_step(entry)
    model = trainer.export()
    model.path = str(out) if out else "(trained in memory)"
    recipe = training_recipe(config, settings, report, len(sampler.images))
    model.metadata["training_recipe"] = recipe
    if out is not None:
        report.saved_to = native.save(model, out, training_recipe=recipe,
                                      source=source or f"trained on {len(sampler.images)} images")
        log.info("saved %s", report.saved_to)
    return model, report


def training_recipe(config: ContextEncoderConfig, settings: TrainSettings, report: TrainReport, image_count: int) -> dict:
    """What is stored with the weights: enough to repeat the run."""
    last = report.history[-5:]
    return {
        "trainer": "engine.training.context_encoder",
        "config": config_to_dict(config),
        "settings": json_ready(dataclasses.asdict(settings)),
        "steps_done": len(report.history),
        "images": image_count,
        "final_masked_l2": float(np.mean([s.masked_l2 for s in last])) if last else None,
    }


def json_ready(values: dict) -> dict:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}


# ---------------------------------------------------------------------------------------------
# command line


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m engine.training.context_encoder",
                                     description="Train a context encoder (inpainting model) on a folder of images.")
    parser.add_argument("--images", required=True, metavar="DIR", help="folder of training images (any sizes)")
    parser.add_argument("--out", required=True, metavar="MODEL.safetensors", help="where to save the model")
    parser.add_argument("--steps", type=int, default=TrainSettings.steps)
    parser.add_argument("--batch-size", type=int, default=TrainSettings.batch_size)
    parser.add_argument("--lr", type=float, default=TrainSettings.lr)
    parser.add_argument("--resolution", type=int, default=64, help="window edge in pixels (power of two)")
    parser.add_argument("--variant", choices=("full", "center"), default="full")
    parser.add_argument("--no-mask-channel", action="store_true", help="do not give the mask to the network")
    parser.add_argument("--base-width", type=int, default=32)
    parser.add_argument("--max-width", type=int, default=256)
    parser.add_argument("--bottleneck-size", type=int, default=4)
    parser.add_argument("--overlap", type=int, default=None, help="overlap band in pixels (default: resolution/32)")
    parser.add_argument("--overlap-weight", type=float, default=TrainSettings.overlap_weight)
    parser.add_argument("--masks", default=",".join(MASK_KINDS), help=f"comma-separated mask kinds: {', '.join(MASK_KINDS)}")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--log-every", type=int, default=50, help="print the losses every N steps")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        out = Path(args.out)
        if out.suffix.lower() != ".safetensors":
            raise InputError(f"{out.name}: models are saved as .safetensors; name the output accordingly.")
        config = ContextEncoderConfig(
            resolution=args.resolution, variant=args.variant, mask_channel=not args.no_mask_channel,
            base_width=args.base_width, max_width=args.max_width, bottleneck_size=args.bottleneck_size,
            overlap=args.overlap if args.overlap is not None else max(1, args.resolution // 32),
        )
        settings = TrainSettings(steps=args.steps, batch_size=args.batch_size, lr=args.lr,
                                 overlap_weight=args.overlap_weight, seed=args.seed, device=args.device,
                                 mask_kinds=tuple(k.strip() for k in args.masks.split(",") if k.strip()))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except EngineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1

    def report_step(entry: StepReport) -> None:
        if entry.step % max(1, args.log_every) == 0 or entry.step in (1, entry.steps):
            print(f"step {entry.step}/{entry.steps}  masked L2 {entry.masked_l2:.4f}  rec {entry.loss_rec:.4f}  "
                  f"adv {entry.loss_adv:.3f}  D {entry.loss_d:.3f}", flush=True)

    try:
        _, report = train(config, args.images, settings, out, on_step=report_step)
    except EngineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; nothing was saved", file=sys.stderr)
        return 130
    print(f"wrote {report.saved_to}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
