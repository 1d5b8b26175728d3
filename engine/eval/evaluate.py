"""Scoring a model with the world's judges, on held-out world seeds only.

:func:`evaluate` picks the metrics by the model's family:

* ``spade``, ``pix2pixhd`` (paint): the FCN score — the segmenter segments the model's renders of
  held-out label maps; pixel accuracy and mean IoU against those label maps, with the same scores
  of the real world images of the same seeds as the ceiling;
* ``stylegan2``: the world feature distance (WFD), the Frechet distance between the biome
  classifier's penultimate features of N generated and N held-out world images, with the floor:
  the distance between two disjoint held-out world sets of N;
* ``biggan``: per biome, the fraction of samples the classifier assigns to the biome they were
  asked for (AC-GAN's protocol), with the classifier's accuracy on real held-out images of that
  biome as the ceiling; diversity as the mean MS-SSIM of same-class pairs next to real images';
* ``context_encoder``: PSNR and SSIM inside the holes of held-out images, next to mean-colour
  fill and scikit-image's biharmonic inpainting;
* ``esrgan``, ``srvgg``, ``srresnet``: PSNR on Y and SSIM (on Y) of x-scale super-resolution of
  held-out images downscaled with bicubic, next to bicubic upscaling.

Networks run through the app's own pipelines (the same code as the GUI). Models judged here are
trained on the world with the world label set (label index i = world class i) and, for BigGAN,
biomes as classes in :data:`engine.data.world.BIOME_NAMES` order.
"""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from engine.data.world import BIOME_NAMES, CLASS_NAMES, HELD_OUT_START, render
from engine.errors import InputError
from engine.eval import metrics
from engine.eval.judges import shipped
from engine.models.loaded import LoadedModel

log = logging.getLogger(__name__)

PAINT_FAMILIES = ("spade", "pix2pixhd")
SR_FAMILIES = ("esrgan", "srvgg", "srresnet")
FAMILIES = PAINT_FAMILIES + SR_FAMILIES + ("stylegan2", "biggan", "context_encoder")
MIN_N, MAX_N = 2, 100_000
DEFAULT_N = {"spade": 100, "pix2pixhd": 100, "stylegan2": 500, "biggan": 350, "context_encoder": 100,
             "esrgan": 50, "srvgg": 50, "srresnet": 50}

Progress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class Metric:
    """One line of the table: ``value`` of the model; ``reference`` and what it is
    (``reference_kind``: "ceiling", "floor" or "baseline", named by ``reference_name``);
    ``higher_is_better`` says which way is good."""

    name: str
    value: float
    reference: float | None = None
    reference_kind: str = ""
    reference_name: str = ""
    unit: str = ""
    higher_is_better: bool = True
    baselines: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Report:
    """What :func:`evaluate` measured, with the held-out seeds it used."""

    family: str
    checkpoint: str
    n: int
    seeds: tuple[int, int]
    metrics: tuple[Metric, ...]
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"family": self.family, "checkpoint": self.checkpoint, "n": self.n, "held_out_seeds": list(self.seeds),
                "metrics": [asdict(m) for m in self.metrics], "notes": list(self.notes)}


class _Ctx:
    """A pipeline context that forwards nothing and never cancels (evaluation runs to the end)."""

    def __init__(self, device):
        self.device = device

    def progress(self, fraction, message: str = "") -> None:
        pass

    def check_cancelled(self) -> None:
        pass


def evaluate(model: LoadedModel, n: int | None = None, progress: Progress | None = None,
             images_dir: str | Path | None = None) -> Report:
    """Score ``model`` on ``n`` held-out world scenes (the family's default when None).

    ``images_dir``: for super-resolution and inpainting, score on the images of this folder
    instead of world scenes (e.g. held-out photographs). Raises :class:`InputError` for a
    family without a world metric or a model that does not speak the world's vocabulary."""
    family = model.family
    if family not in FAMILIES:
        raise InputError(f"There is no world metric for a '{family}' model; gan-studio evaluate scores "
                         f"{', '.join(FAMILIES)} models.")
    n = DEFAULT_N[family] if n is None else int(n)
    if not MIN_N <= n <= MAX_N:
        raise InputError(f"--n {n} is out of range: use {MIN_N} to {MAX_N:,} scenes.")
    progress = progress or (lambda done, total, message: None)
    ctx = _Ctx(model.device)
    if family in PAINT_FAMILIES:
        return _paint(model, n, progress, ctx)
    if family == "stylegan2":
        return _stylegan2(model, n, progress, ctx)
    if family == "biggan":
        return _biggan(model, n, progress, ctx)
    if family == "context_encoder":
        return _inpaint(model, n, progress, ctx, images_dir)
    return _super_resolution(model, n, progress, ctx, images_dir)


# --------------------------------------------------------------------------------------------
# paint: FCN score


def _label_count(model: LoadedModel) -> int:
    return int(getattr(model.config, "label_nc", 0))


def _paint(model: LoadedModel, n: int, progress: Progress, ctx) -> Report:
    from engine.pipelines import run as run_pipeline
    from engine.types import ModelRef, SynthesizeRequest

    if _label_count(model) != len(CLASS_NAMES):
        raise InputError(
            f"This {model.family} model takes {_label_count(model)} label classes; the world's judges score models "
            f"trained on the world's {len(CLASS_NAMES)} classes (label_set=world)."
        )
    size = _paint_size(model)
    seeds = range(HELD_OUT_START, HELD_OUT_START + n)
    fakes, reals, truths = [], [], []
    for i, seed in enumerate(seeds):
        labels, image, instances = render(seed, size)
        request = SynthesizeRequest(model=ModelRef(model.path), label_map=labels, instance_map=instances, seed=seed)
        out = run_pipeline(model, request, ctx).image
        fakes.append(out), reals.append(image), truths.append(labels)
        progress(i + 1, n, "rendering held-out label maps")
    seg = shipped("segmenter").net
    fake = metrics.segmentation_scores(seg, np.stack(fakes), np.stack(truths))
    real = metrics.segmentation_scores(seg, np.stack(reals), np.stack(truths))
    ratio = fake["pixel_accuracy"] / max(real["pixel_accuracy"], 1e-9)
    rows = (
        Metric("FCN pixel accuracy", fake["pixel_accuracy"], real["pixel_accuracy"], "ceiling", "real world images"),
        Metric("FCN mean IoU", fake["mean_iou"], real["mean_iou"], "ceiling", "real world images"),
        Metric("FCN pixel accuracy / ceiling", ratio, 1.0, "ceiling", "real world images"),
    )
    notes = (f"label maps of held-out seeds rendered at {size}x{size}; outputs segmented at 128x128",)
    return Report(model.family, model.path, n, (seeds[0], seeds[-1]), rows, notes)


def _paint_size(model: LoadedModel) -> int:
    config = model.config
    if hasattr(config, "output_size"):
        return int(min(config.output_size))
    multiple = int(getattr(config, "size_multiple", 16))
    return max(128, 2 * multiple) // multiple * multiple


# --------------------------------------------------------------------------------------------
# StyleGAN2: world feature distance


def _stylegan2(model: LoadedModel, n: int, progress: Progress, ctx) -> Report:
    from engine.latent_types import LatentSampleRequest
    from engine.pipelines.latent_stylegan2 import sample
    from engine.types import ModelRef

    size = int(np.clip(int(getattr(model.config, "img_resolution", 128)), 32, 512))
    c_dim = int(getattr(model.config, "c_dim", 0))
    total = 3 * n
    fakes = []
    for i in range(n):
        request = LatentSampleRequest(model=ModelRef(model.path), seed=i, class_index=(i % c_dim) if c_dim else None)
        fakes.append(sample(model, request, ctx).image)
        progress(i + 1, total, "sampling the generator")
    real_a = _world_images(range(HELD_OUT_START, HELD_OUT_START + n), size, progress, n, total)
    real_b = _world_images(range(HELD_OUT_START + n, HELD_OUT_START + 2 * n), size, progress, 2 * n, total)
    clf = shipped("classifier").net
    feats_a = metrics.features(clf, real_a)
    wfd = metrics.frechet_distance(metrics.features(clf, np.stack(fakes)), feats_a)
    floor = metrics.frechet_distance(metrics.features(clf, real_b), feats_a)
    rows = (
        Metric("world feature distance (WFD)", wfd, floor, "floor", f"two disjoint held-out world sets of {n}",
               higher_is_better=False),
        Metric("WFD / floor", wfd / max(floor, 1e-9), 1.0, "floor", "two disjoint held-out world sets", higher_is_better=False),
    )
    notes = ("WFD: Frechet distance of the world biome classifier's penultimate features (not Inception: not an FID)",
             f"generator seeds 0..{n - 1} (psi 1); real sets: held-out seeds {HELD_OUT_START}..{HELD_OUT_START + 2 * n - 1}")
    return Report(model.family, model.path, n, (HELD_OUT_START, HELD_OUT_START + 2 * n - 1), rows, notes)


def held_out_seeds_of_biome(biome: int, count: int) -> list[int]:
    """The first ``count`` held-out seeds whose own biome (``seed % 7``) is ``biome``."""
    first = HELD_OUT_START + (biome - HELD_OUT_START) % len(BIOME_NAMES)
    return [first + len(BIOME_NAMES) * k for k in range(count)]


def _world_images(seeds, size: int, progress: Progress, offset: int, total: int, biome=None) -> np.ndarray:
    images = []
    for i, seed in enumerate(seeds):
        images.append(render(seed, size, biome)[1])
        progress(offset + i + 1, total, "rendering held-out world scenes")
    return np.stack(images)


# --------------------------------------------------------------------------------------------
# BigGAN: classification accuracy per biome and diversity


def _biggan(model: LoadedModel, n: int, progress: Progress, ctx) -> Report:
    from engine.latent_types import LatentSampleRequest
    from engine.pipelines.latent_biggan import sample
    from engine.types import ModelRef

    classes = int(getattr(model.config, "num_classes", 0))
    if classes != len(BIOME_NAMES):
        raise InputError(f"This BigGAN has {classes} classes; the world's classifier scores models whose classes are "
                         f"the {len(BIOME_NAMES)} biomes ({', '.join(BIOME_NAMES)}), in that order.")
    per = max(2, n // len(BIOME_NAMES))
    size = int(np.clip(int(getattr(model.config, "output_dim", 128)), 32, 512))  # real images at (about) the model's size
    clf = shipped("classifier").net
    rng = np.random.default_rng(0)
    total = 2 * per * len(BIOME_NAMES)
    done = 0
    rows, fake_ssim, real_ssim = [], [], []
    for b, biome in enumerate(BIOME_NAMES):
        fakes = []
        for i in range(per):
            request = LatentSampleRequest(model=ModelRef(model.path), seed=i, class_index=b)
            fakes.append(sample(model, request, ctx).image)
            done += 1
            progress(done, total, f"sampling {biome}")
        seeds = held_out_seeds_of_biome(b, per)
        reals = _world_images(seeds, size, progress, done, total)
        done += per
        fakes_arr = np.stack(fakes)
        fake_acc = float((metrics.classify(clf, fakes_arr) == b).mean())
        real_acc = float((metrics.classify(clf, reals) == b).mean())
        rows.append(Metric(f"classified as {biome}", fake_acc, real_acc, "ceiling", "real held-out images"))
        pairs = min(50, per * (per - 1) // 2)
        fake_ssim.append(metrics.mean_pairwise_ms_ssim(fakes_arr, pairs, rng))
        real_ssim.append(metrics.mean_pairwise_ms_ssim(reals, pairs, rng))
    mean_fake = float(np.mean([r.value for r in rows]))
    mean_real = float(np.mean([r.reference for r in rows]))
    rows.insert(0, Metric("classification accuracy (mean over biomes)", mean_fake, mean_real, "ceiling", "real held-out images"))
    rows.append(Metric("same-class MS-SSIM (lower = more diverse)", float(np.mean(fake_ssim)), float(np.mean(real_ssim)),
                       "baseline", "real held-out images", higher_is_better=False))
    notes = (f"{per} samples per biome (generator seeds 0..{per - 1}, psi 1)",)
    return Report(model.family, model.path, per * len(BIOME_NAMES), (HELD_OUT_START, HELD_OUT_START + len(BIOME_NAMES) * per - 1),
                  tuple(rows), notes)


# --------------------------------------------------------------------------------------------
# inpainting


def hole_mask(index: int, height: int, width: int) -> np.ndarray:
    """A deterministic free-form hole for evaluation image ``index``: one rectangle (a fifth to
    two fifths of each side) plus a brush stroke; about 10-25 % of the image. HxW bool."""
    rng = np.random.default_rng([index, 7])
    mask = np.zeros((height, width), bool)
    h, w = int(rng.uniform(0.2, 0.4) * height), int(rng.uniform(0.2, 0.4) * width)
    top, left = rng.integers(0, height - h), rng.integers(0, width - w)
    mask[top:top + h, left:left + w] = True
    yy, xx = np.mgrid[:height, :width]
    size = min(height, width)
    y, x = rng.uniform(0.15, 0.85) * height, rng.uniform(0.15, 0.85) * width
    radius = max(2.0, size * 0.035)
    for _ in range(12):
        angle = rng.uniform(0, 2 * math.pi)
        ny = float(np.clip(y + math.sin(angle) * size * 0.06, 0, height - 1))
        nx = float(np.clip(x + math.cos(angle) * size * 0.06, 0, width - 1))
        for t in np.linspace(0, 1, 6):
            cy, cx = y + (ny - y) * t, x + (nx - x) * t
            mask |= (yy - cy) ** 2 + (xx - cx) ** 2 <= radius ** 2
        y, x = ny, nx
    return mask


def _eval_images(images_dir, n: int, size: int, progress: Progress, total: int) -> tuple[list[np.ndarray], str]:
    """Held-out world scenes at ``size`` px, or the first ``n`` images of ``images_dir`` centre-cropped
    to at most ``size`` px."""
    if images_dir is None:
        images = list(_world_images(range(HELD_OUT_START, HELD_OUT_START + n), size, progress, 0, total))
        return images, f"held-out world seeds {HELD_OUT_START}..{HELD_OUT_START + n - 1} at {size}x{size}"
    from engine.imageio import IMAGE_EXTENSIONS, read_image

    folder = Path(images_dir)
    if not folder.is_dir():
        raise InputError(f"--images {folder}: not a folder of images.")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS)[:n]
    if len(files) < MIN_N:
        raise InputError(f"--images {folder} holds {len(files)} images; evaluation needs at least {MIN_N}.")
    images = []
    for i, path in enumerate(files):
        image = np.asarray(read_image(path))[..., :3]
        h, w = image.shape[:2]
        side = min(h, w, size)
        top, left = (h - side) // 2, (w - side) // 2
        images.append(np.ascontiguousarray(image[top:top + side, left:left + side]))
        progress(i + 1, total, "reading images")
    return images, f"{len(files)} images of {folder} (centre crops of at most {size}x{size})"


def _inpaint(model: LoadedModel, n: int, progress: Progress, ctx, images_dir) -> Report:
    from skimage.restoration import inpaint_biharmonic

    from engine.inpaint_types import InpaintRequest
    from engine.pipelines.inpaint import inpaint
    from engine.types import ModelRef

    size = int(getattr(model.config, "resolution", 128))
    images, source = _eval_images(images_dir, n, size, progress, 2 * n)
    scores: dict[str, list[tuple[float, float]]] = {"model": [], "mean colour fill": [], "biharmonic (scikit-image)": []}
    for i, image in enumerate(images):
        mask = hole_mask(i, image.shape[0], image.shape[1])
        filled = inpaint(model, InpaintRequest(model=ModelRef(model.path), image=image, mask=mask, seed=i), ctx).image
        mean_fill = image.copy()
        mean_fill[mask] = image[~mask].mean(axis=0).round().astype(np.uint8)
        damaged = image.astype(np.float64) / 255.0
        damaged[mask] = 0
        biharmonic = (np.clip(inpaint_biharmonic(damaged, mask, channel_axis=-1), 0, 1) * 255).round().astype(np.uint8)
        for name, result in (("model", filled), ("mean colour fill", mean_fill), ("biharmonic (scikit-image)", biharmonic)):
            scores[name].append((metrics.psnr(result, image, mask), metrics.ssim(result, image, mask)))
        progress(n + i + 1, 2 * n, "inpainting")
    means = {name: np.mean(np.array(values), axis=0) for name, values in scores.items()}
    rows = (
        Metric("hole PSNR", float(means["model"][0]), None, "baseline", "", "dB",
               baselines={k: float(v[0]) for k, v in means.items() if k != "model"}),
        Metric("hole SSIM", float(means["model"][1]), None, "baseline", "",
               baselines={k: float(v[1]) for k, v in means.items() if k != "model"}),
    )
    return Report(model.family, model.path, len(images), (HELD_OUT_START, HELD_OUT_START + n - 1), rows,
                  (source, "free-form holes (a rectangle and a brush stroke, 10-25 % of the image), fixed per image index"))


# --------------------------------------------------------------------------------------------
# super-resolution


def _super_resolution(model: LoadedModel, n: int, progress: Progress, ctx, images_dir) -> Report:
    from PIL import Image

    from engine.pipelines.upscale import model_scale, upscale_image

    scale = model_scale(model)
    images, source = _eval_images(images_dir, n, 256, progress, 2 * n)
    rows_model, rows_bicubic = [], []
    for i, hr in enumerate(images):
        h, w = (hr.shape[0] // scale) * scale, (hr.shape[1] // scale) * scale
        hr = hr[:h, :w]
        lr = np.asarray(Image.fromarray(hr).resize((w // scale, h // scale), Image.BICUBIC))
        sr = np.asarray(upscale_image(model, lr, ctx)[0])[..., :3]
        if sr.shape[:2] != hr.shape[:2]:
            sr = np.asarray(Image.fromarray(sr).resize((w, h), Image.BICUBIC))
        bicubic = np.asarray(Image.fromarray(lr).resize((w, h), Image.BICUBIC))
        rows_model.append(_sr_scores(sr, hr, scale))
        rows_bicubic.append(_sr_scores(bicubic, hr, scale))
        progress(n + i + 1, 2 * n, "upscaling")
    m, b = np.mean(rows_model, axis=0), np.mean(rows_bicubic, axis=0)
    rows = (
        Metric(f"PSNR (Y) x{scale}", float(m[0]), float(b[0]), "baseline", "bicubic", "dB"),
        Metric(f"PSNR (Y) gain over bicubic x{scale}", float(m[0] - b[0]), 0.0, "baseline", "bicubic", "dB"),
        Metric(f"SSIM (Y) x{scale}", float(m[1]), float(b[1]), "baseline", "bicubic"),
    )
    return Report(model.family, model.path, len(images), (HELD_OUT_START, HELD_OUT_START + n - 1), rows,
                  (source, f"low-resolution inputs: bicubic downscale by {scale}; {scale} border pixels excluded"))


def _sr_scores(out: np.ndarray, truth: np.ndarray, scale: int) -> tuple[float, float]:
    crop = (slice(scale, -scale), slice(scale, -scale))
    y_out, y_truth = metrics.luma(out)[crop], metrics.luma(truth)[crop]
    return metrics.psnr(y_out, y_truth), metrics.ssim(y_out, y_truth)
