"""What a checkpoint leaves open, as plain data the options dialog can show (torch-free).

When a loader cannot tell an option from the weights it raises
:class:`engine.errors.MissingOptionError`; where it knows more than one option name (e.g. a SPADE
generator's input channels split into ``label_nc`` + a don't-care class + an instance-edge
channel) it attaches an :class:`OptionsQuestion`: every open option with its kind, a plain-words
explanation, the values the weights allow, a pre-filled value (marked ``guessed`` when it is the
loader's guess, for the user to confirm) and presets for the official datasets. For any other
missing option :func:`question_for_error` builds a one-option question from :data:`OPTION_TEXTS`.

Answers are remembered next to the checkpoint in ``<checkpoint name>.json`` (the sidecar that
:func:`engine.loaders.files.read_sidecar_options` and the CLI read): :func:`remember_options`.

:data:`ASK_BEFORE_ASSUMING` is an option the GUI passes with a load: a loader that would otherwise
assume an option (and only note it) raises a question with its guess pre-filled instead.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from engine.errors import CheckpointError
from engine.fileutil import atomic_write

#: option the GUI passes so that loaders ask (with their guess pre-filled) rather than assume
ASK_BEFORE_ASSUMING = "ask_before_assuming"
#: options that belong to one load only, never remembered in a sidecar
TRANSIENT_OPTIONS = (ASK_BEFORE_ASSUMING,)


@dataclass(frozen=True)
class OptionSpec:
    """One open option.

    ``kind`` is "int", "float", "bool", "choice" or "text"; ``minimum``/``maximum`` bound numbers;
    ``choices`` lists a choice's words; ``value`` is the pre-filled value (None: nothing to
    suggest) and ``guessed`` says it is the loader's guess; ``help`` says in plain words what the
    option means.
    """

    name: str
    label: str
    kind: str
    help: str = ""
    value: Any = None
    guessed: bool = False
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None


@dataclass(frozen=True)
class Preset:
    """Option values (and a label set) of an official dataset, set in one click."""

    name: str
    values: Mapping[str, Any]
    label_set: str | None = None


@dataclass(frozen=True)
class OptionsQuestion:
    """Everything the options dialog asks about one checkpoint.

    ``channels``: for SPADE-like label layouts, the input-channel count the weights fix
    (``label_nc + contain_dontcare_label + (not no_instance)`` must equal it); None otherwise.
    ``ask_label_set``: offer a label-set choice too.
    """

    path: str
    summary: str
    options: tuple[OptionSpec, ...]
    presets: tuple[Preset, ...] = ()
    channels: int | None = None
    ask_label_set: bool = False
    label_set: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    def spec(self, name: str) -> OptionSpec | None:
        return next((s for s in self.options if s.name == name), None)


# ------------------------------------------------------------------------------ label layouts

#: the official datasets' label layouts (SPADE / pix2pixHD): label_nc, don't-care, instances, label set
DATASET_PRESETS = (
    Preset("ADE20K", {"label_nc": 150, "contain_dontcare_label": True, "no_instance": True}, "ade20k"),
    Preset("COCO-Stuff", {"label_nc": 182, "contain_dontcare_label": True, "no_instance": False}, "cocostuff"),
    Preset("Cityscapes", {"label_nc": 35, "contain_dontcare_label": False, "no_instance": False}, "cityscapes"),
)

LABEL_NC_HELP = ("How many label classes the model was trained with (the classes you paint with). "
                 "It is in the training run's opt.txt as label_nc.")
DONTCARE_HELP = ("Whether the training data had an extra 'don't care' class for unlabelled pixels "
                 "(ADE20K and COCO-Stuff do; it takes one input channel).")
NO_INSTANCE_HELP = ("Tick when the model was trained WITHOUT instance maps (outlines separating objects "
                    "of the same class). Models trained with them take one more input channel.")


def layout_channels(label_nc: int, contain_dontcare_label: bool, no_instance: bool) -> int:
    """Input channels a label layout takes: label_nc + 1 for don't-care + 1 unless no_instance."""
    return int(label_nc) + int(bool(contain_dontcare_label)) + int(not no_instance)


def layout_problem(values: Mapping[str, Any], channels: int | None) -> str | None:
    """None when ``values`` fit ``channels`` input channels, else a sentence saying what does not."""
    if channels is None or not {"label_nc", "contain_dontcare_label", "no_instance"} <= set(values):
        return None
    total = layout_channels(values["label_nc"], values["contain_dontcare_label"], values["no_instance"])
    if total == channels:
        return None
    return (f"These add up to {total} input channels, but the weights take {channels} "
            f"(label_nc + 1 for a don't-care class + 1 unless no instance maps).")


def label_layout_question(path: str, channels: int, given: Mapping[str, Any],
                          guess: Mapping[str, Any] | None = None, why: str = "") -> OptionsQuestion:
    """The question for a generator whose ``channels`` input channels split into label_nc,
    a don't-care class and an instance-edge channel; ``given`` are the values already given,
    ``guess`` the loader's guess (pre-filled, marked guessed)."""
    guess = dict(guess or {})

    def value(name: str) -> tuple[Any, bool]:
        if given.get(name) is not None:
            return given[name], False
        if name in guess:
            return guess[name], True
        return None, False

    label_nc, label_guessed = value("label_nc")
    dontcare, dontcare_guessed = value("contain_dontcare_label")
    no_instance, instance_guessed = value("no_instance")
    specs = (
        OptionSpec("label_nc", "Label classes", "int", LABEL_NC_HELP, label_nc, label_guessed,
                   minimum=max(1, channels - 2), maximum=channels),
        OptionSpec("contain_dontcare_label", "Has a don't-care class", "bool", DONTCARE_HELP,
                   dontcare, dontcare_guessed),
        OptionSpec("no_instance", "Trained without instance maps", "bool", NO_INSTANCE_HELP,
                   no_instance, instance_guessed),
    )
    presets = tuple(p for p in DATASET_PRESETS if layout_channels(**p.values) == channels)
    summary = why or (f"{Path(path).name} takes {channels} input channels. How they split into label classes, "
                      "a don't-care class and an instance-outline channel is not stored in the weights: set "
                      "them as the model was trained, or pick the dataset it was trained on.")
    label_set = next((p.label_set for p in presets
                      if all(p.values[k] == v for k, v in (("label_nc", label_nc), ("contain_dontcare_label", dontcare),
                                                            ("no_instance", no_instance)))), None)
    return OptionsQuestion(path=str(path), summary=summary, options=specs, presets=presets, channels=channels,
                           ask_label_set=True, label_set=given.get("label_set") or label_set)


# ------------------------------------------------------------------------------ any other option

#: plain-words label, kind, help and choices of options loaders may ask for
OPTION_TEXTS: dict[str, tuple[str, str, str, tuple[str, ...]]] = {
    "label_nc": ("Label classes", "int", LABEL_NC_HELP, ()),
    "contain_dontcare_label": ("Has a don't-care class", "bool", DONTCARE_HELP, ()),
    "no_instance": ("Trained without instance maps", "bool", NO_INSTANCE_HELP, ()),
    "crop_size": ("Training image size (pixels)", "int",
                  "The width the model was trained at (crop_size in opt.txt), e.g. 256 or 512.", ()),
    "aspect_ratio": ("Aspect ratio (width / height)", "float",
                     "Width divided by height of the training images: 1 for square, 2 for Cityscapes.", ()),
    "num_upsampling_layers": ("Upsampling layers", "choice",
                              "How many times the generator doubles the image size (num_upsampling_layers in "
                              "opt.txt); 'normal' unless the model was trained otherwise.",
                              ("normal", "more", "most")),
    "scale": ("Upscaling factor", "int", "How many times larger the model makes an image (e.g. 2 or 4).", ()),
}


def question_for_error(path: str, error: BaseException) -> OptionsQuestion:
    """The loader's own question when it attached one, else a one-option question for ``error.option``."""
    question = getattr(error, "question", None)
    if isinstance(question, OptionsQuestion):
        return question
    name = str(getattr(error, "option", "") or "option")
    label, kind, help_text, choices = OPTION_TEXTS.get(name, (name, "text", "", ()))
    return OptionsQuestion(path=str(path), summary=str(error),
                           options=(OptionSpec(name, label, kind, help_text, choices=choices),))


# ------------------------------------------------------------------------------ remembering answers

def sidecar_path(checkpoint: str | Path) -> Path:
    """Where a checkpoint's remembered options live: ``<checkpoint name>.json`` next to it (a
    folder model: ``gan_studio.json`` inside it)."""
    path = Path(checkpoint).expanduser()
    return path / "gan_studio.json" if path.is_dir() else path.with_suffix(".json")


def remember_options(checkpoint: str | Path, values: Mapping[str, Any]) -> Path:
    """Merge ``values`` (official option names; transient ones left out) into the checkpoint's
    sidecar JSON, keeping what it already holds. Returns the sidecar's path; raises
    :class:`CheckpointError` with a message when it cannot be written or read."""
    target = sidecar_path(checkpoint)
    current: dict[str, Any] = {}
    if target.is_file():
        try:
            current = json.loads(target.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CheckpointError(f"{target} exists but is not valid JSON ({exc}); fix or remove it to "
                                  "remember these options.") from exc
        if not isinstance(current, dict):
            raise CheckpointError(f"{target} does not hold a JSON object; fix or remove it to remember these options.")
    current.update({k: v for k, v in values.items() if k not in TRANSIENT_OPTIONS})
    try:
        with atomic_write(target) as tmp:
            tmp.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    except OSError as exc:
        raise CheckpointError(f"Could not remember the options in {target} ({exc.strerror or exc}); "
                              "they apply to this load only.") from exc
    return target
