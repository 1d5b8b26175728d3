"""Retrain the world's judges on world images (training seeds only) and measure their ceilings
on held-out seeds.

    python -m engine.eval.train_judges [--out assets/judges] [--train-images 4000] \
        [--classifier-steps 1000] [--segmenter-steps 1500] [--threads 1] [--cache DIR]

Steps:
1. render ``--train-images`` scenes at 128 px from training seeds ``0 ..`` (cached as .npy under
   ``--cache`` so that a restart does not render again);
2. train the biome classifier, then the segmenter (Adam, random flips and mild colour jitter),
   saving each to ``OUT/classifier.safetensors`` / ``OUT/segmenter.safetensors`` every few hundred
   steps (a restart with ``--resume`` continues from those weights);
3. measure each on ``--eval-images`` held-out scenes (seeds from 1,000,000): classifier accuracy,
   segmenter pixel accuracy and mean IoU; store them in the files' metadata as ``ceiling``.

``--remeasure`` trains nothing: it measures the ceilings of the judges already in ``--out`` on
freshly rendered held-out scenes (and puts the classifier's outputs in the current biome order).
A ``--cache`` holds rendered scenes, so use a fresh one whenever the world's renderer changes.

CPU is fine (minutes): run it under ``nice`` in the background.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from engine.data.world import BIOME_NAMES, CLASS_NAMES, HELD_OUT_START, render_batch
from engine.eval import metrics
from engine.eval.judges import JUDGES_DIR, judge_path, load_judge, save_judge
from engine.eval.nets import CLASSIFIER_SIZE, SEGMENTER_SIZE, BiomeClassifier, Segmenter, to_input

log = logging.getLogger("engine.eval.train_judges")


def world_arrays(first_seed: int, count: int, size: int, cache: Path | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(labels N x S x S uint8, images N x S x S x 3 uint8, biomes N)`` for seeds
    ``first_seed .. first_seed + count - 1``, read from / written to ``cache`` when given."""
    if cache is not None:
        stem = cache / f"world_{first_seed}_{count}_{size}"
        files = [stem.with_suffix(f".{part}.npy") for part in ("labels", "images", "biomes")]
        if all(f.is_file() for f in files):
            return tuple(np.load(f) for f in files)  # type: ignore[return-value]
    labels, images, biomes = [], [], []
    start = time.time()
    for chunk in range(first_seed, first_seed + count, 100):
        lab, img, bio = render_batch(range(chunk, min(chunk + 100, first_seed + count)), size)
        labels.append(lab), images.append(img), biomes.append(bio)
        log.info("rendered %d/%d scenes (%.1f s)", chunk + len(lab) - first_seed, count, time.time() - start)
    out = (np.concatenate(labels), np.concatenate(images), np.concatenate(biomes))
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
        for f, arr in zip(files, out):
            np.save(f, arr)
    return out


def augment(x: torch.Tensor, rng: np.random.Generator, labels: torch.Tensor | None = None):
    """Random horizontal flips and mild brightness/contrast jitter (labels flip along)."""
    flip = torch.from_numpy(rng.random(x.shape[0]) < 0.5)
    x = torch.where(flip[:, None, None, None], x.flip(-1), x)
    if labels is not None:
        labels = torch.where(flip[:, None, None], labels.flip(-1), labels)
    gain = torch.from_numpy(rng.uniform(0.88, 1.12, (x.shape[0], 1, 1, 1)).astype(np.float32))
    shift = torch.from_numpy(rng.uniform(-0.06, 0.06, (x.shape[0], 3, 1, 1)).astype(np.float32))
    x = ((x + 1) * gain - 1 + shift).clamp(-1, 1)
    return x, labels


def train_classifier(images, biomes, steps: int, out: Path, resume: bool, batch: int = 32, seed: int = 0) -> BiomeClassifier:
    rng = np.random.default_rng(seed)
    net = load_judge("classifier", out).net if resume and out.is_file() else BiomeClassifier()
    net.train()
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    for step in range(1, steps + 1):
        idx = rng.integers(0, len(images), batch)
        x, _ = augment(to_input(images[idx], CLASSIFIER_SIZE), rng)
        loss = F.cross_entropy(net(x), torch.from_numpy(biomes[idx]))
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 100 == 0 or step == steps:
            log.info("classifier step %d/%d loss %.4f", step, steps, loss.item())
        if step % 500 == 0 or step == steps:
            save_judge("classifier", net.eval(), _classifier_info(), out)
            net.train()
    return net.eval()


def train_segmenter(images, labels, steps: int, out: Path, resume: bool, batch: int = 12, seed: int = 1) -> Segmenter:
    rng = np.random.default_rng(seed)
    net = load_judge("segmenter", out).net if resume and out.is_file() else Segmenter()
    net.train()
    counts = np.bincount(labels[::10].ravel(), minlength=len(CLASS_NAMES)).astype(np.float64) + 1
    weights = torch.tensor((counts.sum() / counts) ** 0.5, dtype=torch.float32)
    weights = weights / weights.mean()
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    for step in range(1, steps + 1):
        idx = rng.integers(0, len(images), batch)
        x, y = augment(to_input(images[idx], SEGMENTER_SIZE), rng, torch.from_numpy(labels[idx].astype(np.int64)))
        loss = F.cross_entropy(net(x), y, weight=weights)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 50 == 0 or step == steps:
            log.info("segmenter step %d/%d loss %.4f", step, steps, loss.item())
        if step % 250 == 0 or step == steps:
            save_judge("segmenter", net.eval(), _segmenter_info(), out)
            net.train()
    return net.eval()


def _classifier_info() -> dict:
    return {"input_size": CLASSIFIER_SIZE, "classes": list(BIOME_NAMES), "trained_on": _trained_on("classifier")}


def _segmenter_info() -> dict:
    return {"input_size": SEGMENTER_SIZE, "classes": list(CLASS_NAMES), "trained_on": _trained_on("segmenter")}


_TRAINED_ON: dict = {}


def _trained_on(kind: str) -> dict:
    """What the ``kind`` judge was trained on (the other judge's settings left out)."""
    other = "segmenter" if kind == "classifier" else "classifier"
    return {k: v for k, v in _TRAINED_ON.items() if not k.startswith(other)}


def align_classifier(net: BiomeClassifier, classes: list[str]) -> bool:
    """Reorder the classifier's outputs from ``classes`` (the order it was trained with) to
    :data:`BIOME_NAMES`; True when anything moved. The weights of each biome's output are kept."""
    if list(classes) == list(BIOME_NAMES):
        return False
    if sorted(classes) != sorted(BIOME_NAMES):
        raise ValueError(f"the classifier knows biomes {classes}, not the world's {list(BIOME_NAMES)}")
    order = torch.tensor([list(classes).index(name) for name in BIOME_NAMES])
    with torch.no_grad():
        net.fc.weight.copy_(net.fc.weight[order].clone())
        net.fc.bias.copy_(net.fc.bias[order].clone())
    return True


def remeasure(out: Path, eval_images: int) -> None:
    """Measure the ceilings of the judges in ``out`` again on freshly rendered held-out scenes
    (e.g. after the world changed), aligning the classifier's outputs to the biome order first."""
    ev_labels, ev_images, ev_biomes = world_arrays(HELD_OUT_START, eval_images, SEGMENTER_SIZE, None)
    held_out = {"seeds": [HELD_OUT_START, HELD_OUT_START + eval_images - 1], "size": SEGMENTER_SIZE}
    path = judge_path("classifier", out)
    if path.is_file():
        judge = load_judge("classifier", path)
        info = dict(judge.info)
        info["trained_on"] = {k: v for k, v in info.get("trained_on", {}).items() if not k.startswith("segmenter")}
        if align_classifier(judge.net, info["classes"]):
            info["classes_reordered_from"] = info["classes"]
            info["classes"] = list(BIOME_NAMES)
        info["ceiling"] = dict(held_out, accuracy=metrics.classifier_accuracy(judge.net, ev_images, ev_biomes))
        save_judge("classifier", judge.net, {k: v for k, v in info.items() if k not in ("kind", "config")}, path)
        log.info("classifier: held-out accuracy %.4f", info["ceiling"]["accuracy"])
    path = judge_path("segmenter", out)
    if path.is_file():
        judge = load_judge("segmenter", path)
        info = dict(judge.info)
        info["trained_on"] = {k: v for k, v in info.get("trained_on", {}).items() if not k.startswith("classifier")}
        info["ceiling"] = dict(held_out, **metrics.segmentation_scores(judge.net, ev_images, ev_labels))
        save_judge("segmenter", judge.net, {k: v for k, v in info.items() if k not in ("kind", "config")}, path)
        log.info("segmenter: held-out pixel accuracy %.4f, mIoU %.4f", info["ceiling"]["pixel_accuracy"],
                 info["ceiling"]["mean_iou"])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Retrain the world's judges (segmenter, biome classifier).")
    parser.add_argument("--out", type=Path, default=JUDGES_DIR)
    parser.add_argument("--train-images", type=int, default=4000)
    parser.add_argument("--eval-images", type=int, default=350)
    parser.add_argument("--classifier-steps", type=int, default=1000)
    parser.add_argument("--segmenter-steps", type=int, default=1500)
    parser.add_argument("--classifier-batch", type=int, default=32)
    parser.add_argument("--segmenter-batch", type=int, default=8)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--cache", type=Path, default=None, help="folder to keep the rendered scenes in")
    parser.add_argument("--resume", action="store_true", help="start from the judges already in --out")
    parser.add_argument("--only", choices=("classifier", "segmenter"), default=None)
    parser.add_argument("--remeasure", action="store_true",
                        help="train nothing: measure the ceilings of the judges in --out again on freshly rendered held-out scenes")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    torch.set_num_threads(args.threads)
    if args.remeasure:
        remeasure(args.out, args.eval_images)
        return 0
    torch.manual_seed(0)
    _TRAINED_ON.update({"seeds": [0, args.train_images - 1], "size": SEGMENTER_SIZE,
                        "classifier_steps": args.classifier_steps, "segmenter_steps": args.segmenter_steps,
                        "classifier_batch": args.classifier_batch, "segmenter_batch": args.segmenter_batch,
                        "command": "python -m engine.eval.train_judges " + " ".join(argv if argv is not None else sys.argv[1:])})
    labels, images, biomes = world_arrays(0, args.train_images, SEGMENTER_SIZE, args.cache)
    ev_labels, ev_images, ev_biomes = world_arrays(HELD_OUT_START, args.eval_images, SEGMENTER_SIZE, args.cache)
    held_out = {"seeds": [HELD_OUT_START, HELD_OUT_START + args.eval_images - 1], "size": SEGMENTER_SIZE}
    if args.only in (None, "classifier"):
        path = judge_path("classifier", args.out)
        net = train_classifier(images, biomes, args.classifier_steps, path, args.resume, args.classifier_batch)
        accuracy = metrics.classifier_accuracy(net, ev_images, ev_biomes)
        save_judge("classifier", net, dict(_classifier_info(), ceiling=dict(held_out, accuracy=accuracy)), path)
        log.info("classifier: held-out accuracy %.4f", accuracy)
    if args.only in (None, "segmenter"):
        path = judge_path("segmenter", args.out)
        net = train_segmenter(images, labels, args.segmenter_steps, path, args.resume, args.segmenter_batch)
        scores = metrics.segmentation_scores(net, ev_images, ev_labels)
        save_judge("segmenter", net, dict(_segmenter_info(), ceiling=dict(held_out, **scores)), path)
        log.info("segmenter: held-out pixel accuracy %.4f, mIoU %.4f", scores["pixel_accuracy"], scores["mean_iou"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
