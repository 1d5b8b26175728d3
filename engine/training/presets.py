"""Named starting points for a run: a family plus the few settings that matter for a use case.

``gan-studio train --preset NAME`` (and the GUI's preset list) fill the run's options from the
preset; anything given explicitly (command-line flags, GUI fields) wins over the preset. Values are
TrainOptions fields; names that are not fields go into ``extra`` (family options).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.errors import InputError


@dataclass(frozen=True)
class Preset:
    """``title``: what the GUI shows; ``description``: a tooltip-length sentence for people."""

    name: str
    family: str
    title: str
    description: str
    values: dict[str, Any] = field(default_factory=dict)


PRESETS: dict[str, Preset] = {p.name: p for p in (
    Preset("finetune-stylegan2", "stylegan2", "Fine-tune StyleGAN2 on my images",
           "Start from a StyleGAN2 checkpoint (--from) and adapt it to 50-500 of your images with adaptive "
           "augmentation; a few thousand steps at the checkpoint's resolution.",
           {"steps": 5000, "batch": 8, "lr_g": 2e-3, "lr_d": 2e-3, "augment": "ada", "freeze_d": 0,
            "sample_every": 250, "checkpoint_every": 500}),
    Preset("stylegan2-from-scratch", "stylegan2", "Train StyleGAN2 from scratch",
           "A new StyleGAN2 on a folder of images (thousands work best); DiffAugment for small sets.",
           {"steps": 50000, "batch": 16, "resolution": 256, "augment": "diffaugment"}),
    Preset("spade-pairs", "spade", "Train SPADE on label/photo pairs",
           "SPADE on DIR/labels + DIR/images pairs (the paired layout): hinge loss, feature matching, TTUR.",
           {"steps": 20000, "batch": 4, "resolution": 256, "lr_g": 1e-4, "lr_d": 4e-4, "betas": (0.0, 0.9)}),
    Preset("pix2pixhd-pairs", "pix2pixhd", "Train pix2pixHD on label/photo pairs",
           "pix2pixHD's global generator on paired label maps and photos: LSGAN and feature matching.",
           {"steps": 20000, "batch": 4, "resolution": 256}),
    Preset("pix2pix-translation", "pix2pix", "Image-to-image translation (pix2pix)",
           "A U-Net translating DIR/inputs to DIR/images (or labels to images): cGAN + L1.",
           {"steps": 10000, "batch": 4, "resolution": 256}),
    Preset("cyclegan-domains", "cyclegan", "Translate between two image folders (CycleGAN)",
           "Two generators learning A->B and B->A from unpaired folders: LSGAN, cycle and identity losses.",
           {"steps": 20000, "batch": 1, "resolution": 256}),
    Preset("upscaler-textures", "esrgan", "Train an upscaler on my textures",
           "A compact x4 upscaler (SRVGGNetCompact) on your textures: crops at native size (no resizing), "
           "on-the-fly blur/noise/JPEG degradations.",
           {"steps": 20000, "batch": 8, "resolution": 128, "resize": "none", "arch": "srvgg"}),
    Preset("inpainter-photos", "context_encoder", "Train an inpainter on my photos",
           "A context encoder filling holes in your photos: masked L2 + adversarial loss.",
           {"steps": 5000, "batch": 16, "resolution": 128}),
    Preset("biggan-classes", "biggan", "Train a class-conditional BigGAN",
           "BigGAN on one sub-folder per class: hinge loss, spectral norm, orthogonal regularization, EMA.",
           {"steps": 20000, "batch": 16, "resolution": 128}),
)}


def get(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        raise InputError(f"Unknown preset {name!r}. The presets are: {', '.join(PRESETS)}.") from None


def for_family(family: str) -> list[Preset]:
    return [p for p in PRESETS.values() if p.family == family]
