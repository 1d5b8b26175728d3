"""What the Train workspace offers: the families (in words), their presets, and where a trained model opens.

Families and their dataset layouts come from :mod:`engine.training.families` (a plain table, no
torch). Presets come from ``engine.training.presets`` when this build has that module (the engine's
named starting points, also used by ``gan-studio train --preset``); every family also gets a
"custom" entry with no preset values. A family whose trainer module is missing from this build is
listed but cannot be chosen. Nothing here imports torch (availability is found with
``importlib.util.find_spec``, which does not run the trainer module).
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.training.families import FAMILIES, LAYOUTS
from engine.training.options import TrainOptions

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FamilyInfo:
    """A family as the GUI names it: ``title`` (short), ``what`` (one sentence), ``opens_in`` (the workspace
    a trained model of it goes to: "Paint", "Latent", "Inpaint" or "Upscale")."""

    title: str
    what: str
    opens_in: str


FAMILY_INFO: dict[str, FamilyInfo] = {
    "spade": FamilyInfo("SPADE", "Label maps to images (semantic image synthesis), with a style encoder option.", "Paint"),
    "pix2pixhd": FamilyInfo("pix2pixHD", "Label maps to high-resolution images (global generator + local enhancer).", "Paint"),
    "pix2pix": FamilyInfo("pix2pix", "Image-to-image translation from paired examples (U-Net + PatchGAN).", "Paint"),
    "cyclegan": FamilyInfo("CycleGAN", "Translate between two unpaired image folders (A to B and back).", "Paint"),
    "stylegan2": FamilyInfo("StyleGAN2", "An unconditional generator with a latent space to explore.", "Latent"),
    "biggan": FamilyInfo("BigGAN", "A class-conditional generator, one class per sub-folder.", "Latent"),
    "context_encoder": FamilyInfo("Context encoder", "An inpainter that fills holes in your photos.", "Inpaint"),
    "esrgan": FamilyInfo("ESRGAN", "An upscaler (x2/x4) trained on your textures or photos.", "Upscale"),
}

#: what the dataset folder of each layout must look like, for people
LAYOUT_HINTS: dict[str, str] = {
    "paired": "A folder with images/NAME.png and, for each, labels/NAME.png (class indices) or inputs/NAME.png "
              "(input images). Optional: instances/, labelset.json.",
    "flat": "A folder of images (sub-folders included). 50-500 images work for fine-tuning; more for training from scratch.",
    "classes": "A folder with one sub-folder per class, each holding that class's images.",
    "unpaired": "Two folders: domain A and domain B (any images, no pairing needed).",
}

#: the losses a run may choose (``--loss``); which a family takes is checked when the run starts
LOSS_CHOICES = ("hinge", "lsgan", "nonsaturating", "wgan-gp")
AUGMENT_CHOICES = ("none", "ada", "diffaugment")
DEVICE_CHOICES = ("auto", "cpu", "cuda")
AMP_CHOICES = ("off", "bf16", "fp16")


@dataclass(frozen=True)
class Recipe:
    """One entry of the "What to train" list: a family, an optional engine preset, its values
    (TrainOptions fields or family options), and a title and description for people."""

    family: str
    title: str
    description: str
    preset: str | None = None
    values: dict[str, Any] = field(default_factory=dict)

    @property
    def layout(self) -> str:
        return LAYOUTS[self.family]

    @property
    def info(self) -> FamilyInfo:
        return FAMILY_INFO.get(self.family, FamilyInfo(self.family, "", "Paint"))

    @property
    def available(self) -> bool:
        return family_available(self.family)

    @property
    def fine_tunes(self) -> bool:
        """True for presets that adapt an existing checkpoint (they need "Start from")."""
        return bool(self.preset) and ("finetune" in self.preset or self.title.lower().startswith("fine-tune"))


def family_available(family: str) -> bool:
    """Whether this build has the family's trainer: its module exists and assigns ``TRAINER`` at top
    level (read from the source, so the module, which imports torch, is not run)."""
    module = FAMILIES.get(family)
    if module is None:
        return False
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return False
    if spec is None or not spec.origin:
        return False
    try:
        source = Path(spec.origin).read_text(encoding="utf-8")
    except OSError:
        return True  # a compiled-only build: trust the module being there
    return re.search(r"^TRAINER\s*[:=]", source, re.MULTILINE) is not None


def engine_presets() -> list[Any]:
    """The engine's presets (``engine.training.presets.PRESETS``), or [] when this build has none."""
    try:
        module = importlib.import_module("engine.training.presets")
    except ModuleNotFoundError as exc:
        if exc.name != "engine.training.presets":
            raise
        return []
    return list(getattr(module, "PRESETS", {}).values())


def recipes() -> list[Recipe]:
    """The presets first (in the engine's order), then a custom entry per family."""
    out = [Recipe(p.family, p.title, p.description, p.name, dict(p.values))
           for p in engine_presets() if p.family in FAMILIES]
    for family in FAMILIES:
        info = FAMILY_INFO.get(family, FamilyInfo(family, "", "Paint"))
        out.append(Recipe(family, f"{info.title}: custom settings", info.what))
    return out


def opens_in(family: str) -> str:
    """The workspace a trained model of ``family`` opens in."""
    return FAMILY_INFO.get(family, FamilyInfo(family, "", "Paint")).opens_in


def build_options(recipe: Recipe, data: tuple[str, ...], chosen: dict[str, Any]) -> TrainOptions:
    """The new run's options: the recipe's preset values, overridden by what the user ``chosen``
    (TrainOptions field names; a value of None means "the family's default"). Names that are not
    TrainOptions fields go into ``extra`` (family options)."""
    values = {**recipe.values, **{k: v for k, v in chosen.items() if v is not None}}
    fields = {f.name for f in dataclasses.fields(TrainOptions)} - {"family", "data", "extra", "preset"}
    known = {k: v for k, v in values.items() if k in fields}
    extra = {k: v for k, v in values.items() if k not in fields and k != "extra"}
    extra.update(values.get("extra") or {})
    if known.get("betas") is not None:
        known["betas"] = tuple(float(b) for b in known["betas"])
    return TrainOptions(recipe.family, data=tuple(str(d) for d in data), preset=recipe.preset, extra=extra, **known)
