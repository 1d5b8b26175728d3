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
    #: where the training data comes from, for presets tied to one data set (the starter models)
    data_recipe: str = ""


#: how the starter data folders are made: ``python tools/starter_data.py DATA_ROOT`` (training seeds only)
_WORLD_RECIPE = "python tools/starter_data.py DATA_ROOT; --data DATA_ROOT/{folder} ({what})"

#: The starter models GAN Studio ships in checkpoints/ (issue 12): small configurations that learn
#: something useful on a 2-core CPU in about two hours, on the procedural starter world.
STARTER_PRESETS: tuple[Preset, ...] = (
    Preset("starter-spade", "spade", "Starter: SPADE on the starter world",
           "The shipped Paint model: SPADE with a VAE style encoder at 64x64 on 2,000 paired world scenes "
           "(128x128 costs 16 s a step on a shared 2-core CPU; use --resolution 128 on a faster machine).",
           {"steps": 30000, "batch": 2, "resolution": 64, "lr_g": 2e-4, "lr_d": 4e-4, "betas": (0.0, 0.9),
            "loss": "hinge", "ngf": 16, "ndf": 32, "n_layers_d": 3, "num_d": 2, "vae": True,
            "lambda_feat": 10.0, "lambda_kld": 0.05, "flip": True, "seed": 0, "sample_every": 250,
            "checkpoint_every": 1000, "checkpoint_minutes": 5.0, "keep": 2, "preview_count": 4},
           _WORLD_RECIPE.format(folder="world-paired-128", what="world seeds 0..1999, paired, 128 px, resized to 64")),
    Preset("starter-stylegan2", "stylegan2", "Starter: StyleGAN2 on the starter world",
           "The shipped Latent model: a narrow StyleGAN2 at 64x64 on 1,500 world images with DiffAugment.",
           {"steps": 40000, "batch": 8, "resolution": 64, "lr_g": 0.0025, "lr_d": 0.0025, "augment": "diffaugment",
            "z_dim": 128, "w_dim": 128, "mapping_layers": 2, "channel_base": 2048, "channel_max": 64,
            "r1_gamma": 0.1, "style_mixing": 0.5, "flip": True, "seed": 0, "sample_every": 500,
            "checkpoint_every": 1000, "checkpoint_minutes": 5.0, "keep": 2, "preview_count": 16},
           _WORLD_RECIPE.format(folder="world-flat-128", what="world seeds 5000..6499, flat, 128 px, resized to 64")),
    Preset("starter-biggan", "biggan", "Starter: BigGAN with biomes as classes",
           "The shipped class-conditional model: a small BigGAN at 64x64 on world images, one class per biome.",
           {"steps": 30000, "batch": 16, "resolution": 64, "channel_width": 16, "d_channel_width": 16, "z_dim": 64,
            "flip": True, "seed": 0, "sample_every": 500, "checkpoint_every": 1000, "checkpoint_minutes": 5.0,
            "keep": 2, "preview_count": 16},
           _WORLD_RECIPE.format(folder="world-classes-64", what="world seeds 10000..12099, one folder per biome")),
    Preset("starter-inpaint", "context_encoder", "Starter: inpainter for world scenes and photos",
           "The shipped Inpaint model: a context encoder filling free-form holes in 128x128 windows, trained on "
           "world images and scikit-image's sample photos.",
           {"steps": 30000, "batch": 8, "resolution": 128, "lr_g": 2e-4, "lr_d": 2e-5, "betas": (0.5, 0.999),
            "variant": "full", "base_width": 32, "max_width": 256, "bottleneck_size": 4, "lambda_rec": 0.999,
            "lambda_adv": 0.001, "flip": True, "seed": 0, "sample_every": 500, "checkpoint_every": 1000,
            "checkpoint_minutes": 5.0, "keep": 2, "preview_count": 8},
           _WORLD_RECIPE.format(folder="inpaint-train",
                                what="world seeds 5000..6499 at 128 px plus 256 px crops of scikit-image photos")),
    Preset("starter-upscale-x4", "esrgan", "Starter: x4 upscaler for photos and world scenes",
           "The shipped Upscale model: a compact x4 SRVGGNet trained with L1 only (PSNR-oriented) on bicubic "
           "downscales of world images and scikit-image's sample photos.",
           {"steps": 40000, "batch": 8, "resolution": 128, "resize": "none", "lr_g": 5e-4, "betas": (0.9, 0.99),
            "arch": "srvgg", "scale": 4, "num_feat": 48, "num_conv": 10, "act_type": "prelu",
            "psnr_steps": 40000, "perceptual_weight": 0.0, "gan_weight": 0.0, "l1_weight": 1.0,
            "degradations": "bicubic", "flip": True, "seed": 0, "sample_every": 500, "checkpoint_every": 1000,
            "checkpoint_minutes": 5.0, "keep": 2, "preview_count": 4},
           _WORLD_RECIPE.format(folder="sr-train", what="world seeds 2000..2999 at 256 px plus scikit-image photo crops")),
)


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
    *STARTER_PRESETS,
)}


def get(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        raise InputError(f"Unknown preset {name!r}. The presets are: {', '.join(PRESETS)}.") from None


def for_family(family: str) -> list[Preset]:
    return [p for p in PRESETS.values() if p.family == family]
