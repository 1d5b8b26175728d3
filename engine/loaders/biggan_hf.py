"""BigGAN-deep checkpoints in the Hugging Face ``pytorch-pretrained-BigGAN`` format.

What the user can open:
  * the model folder, holding ``pytorch_model.bin`` and ``config.json`` (what
    ``BigGAN.from_pretrained(folder)`` reads);
  * the ``.bin`` file itself, with its config beside it: ``config.json``, or the name the
    released files had on the download server (``biggan-deep-256-pytorch_model.bin`` next to
    ``biggan-deep-256-config.json``).

``config.json`` is read as plain JSON (no code). When it is somewhere else, the option
``config_json`` (a path) names it; the config fields may also come as options themselves
(e.g. in a ``gan_studio.json`` sidecar). The weights are read with
``torch.load(weights_only=True)``: torch's zip format and the legacy format of the 2019 releases
both work. A ``model.safetensors`` with the same keys works too.

Checked against the weights (a config that disagrees is an error naming both values):
``num_classes`` and the class-embedding width (``embeddings.weight``), ``z_dim`` (``gen_z`` input),
``n_stats`` (rows of the standing statistics), ``attention_layer_position`` (which module holds
``gamma``); every other shape through the strict load. The official code ignores
``class_embed_dim`` (it sizes the embedding with ``z_dim``), so a ``class_embed_dim`` that
disagrees with the weights while ``z_dim`` agrees is corrected with a note.

Class names are not in the file. ``classes.json`` or ``labels.txt`` beside the model supplies them:
``labels.txt`` is one name per line; ``classes.json`` is a list of names, an object
``{"0": "tench", ...}`` or ``{"0": ["n01440764", "tench"], ...}`` (the usual ImageNet index files),
or a GAN Studio label set. Without one the classes are "class 0", "class 1", ... (noted).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Mapping

import torch

from engine.errors import CheckpointError, MissingOptionError
from engine.labelsets import LabelClass, LabelSet, generic, voc_color
from engine.models.loaded import LoadedModel
from engine.loaders.base import RawCheckpoint, strict_load
from engine.loaders.files import read_torch_file
from engine.models.biggan import BigGANConfig, build_networks
from engine.models.layers import spectral_sigmas

log = logging.getLogger(__name__)

NAME = "biggan-hf"
FAMILY = "biggan"

WEIGHTS_NAMES = ("pytorch_model.bin", "model.safetensors")
CONFIG_NAME = "config.json"
LABEL_FILES = ("classes.json", "labels.txt")
CONFIG_FIELDS = ("output_dim", "z_dim", "class_embed_dim", "channel_width", "num_classes", "layers",
                 "attention_layer_position", "eps", "n_stats")
_TELLTALE = ("embeddings.weight", "generator.gen_z.weight_orig", "generator.conv_to_rgb.weight_orig")


# --------------------------------------------------------------------------------------------
# Detection


def is_biggan_state(state: Mapping[str, Any]) -> bool:
    return all(key in state for key in _TELLTALE)


def is_biggan_config(values: Any) -> bool:
    return isinstance(values, Mapping) and {"layers", "channel_width", "n_stats"} <= set(values)


def sniff(ckpt: RawCheckpoint) -> bool:
    if ckpt.kind in ("torch", "safetensors"):
        return is_biggan_state(ckpt.tensors())
    if ckpt.kind != "directory":
        return False
    weights = _weights_file(ckpt.path)
    if weights is None:
        return False
    config_file = ckpt.path / CONFIG_NAME
    if config_file.is_file():
        try:
            return is_biggan_config(json.loads(config_file.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            return False
    # No config.json: look at the weights, so that the message can say what is missing.
    state = _read_weights(weights)
    if is_biggan_state(state):
        ckpt.obj = state  # keep what was read; load() uses it instead of reading the file again
        return True
    return False


def _weights_file(folder: Path) -> Path | None:
    for name in WEIGHTS_NAMES:
        if (folder / name).is_file():
            return folder / name
    return None


def _read_weights(path: Path) -> dict[str, torch.Tensor]:
    if path.suffix == ".safetensors":
        from engine.loaders.files import read_checkpoint

        return read_checkpoint(path).tensors()
    obj = read_torch_file(path)
    if not isinstance(obj, Mapping) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        return {}
    return dict(obj)


# --------------------------------------------------------------------------------------------
# Loading


def load(ckpt: RawCheckpoint, options: dict[str, Any]) -> LoadedModel:
    notes: list[str] = []
    state, weights_path = _state(ckpt)
    if not is_biggan_state(state):
        missing = [k for k in _TELLTALE if k not in state]
        raise CheckpointError(
            f"{weights_path.name} is not a complete BigGAN (pytorch-pretrained-BigGAN) checkpoint: it lacks "
            f"{', '.join(missing)}. The file may be truncated or belong to another model."
        )
    raw_config, config_source = _raw_config(ckpt, weights_path, options)
    config = _config(raw_config, config_source, state, weights_path, notes)
    what = f"{weights_path.name} (BigGAN generator, config from {config_source})"
    G = build_networks(config)["G"]
    strict_load(G, {k: v.detach().to(torch.float32) for k, v in state.items()}, what)
    _check_spectral_vectors(G, weights_path)
    G.eval()
    label_set = _label_set(ckpt, config.num_classes, notes)
    metadata = {"hf_config": dict(raw_config), "config_file": config_source}
    for note in notes:
        log.info("%s: %s", weights_path.name, note)
    return LoadedModel(
        path=str(ckpt.path), family=FAMILY, source_format=NAME, config=config, networks={"G": G},
        label_set=label_set, metadata=metadata, notes=notes,
    )


def _state(ckpt: RawCheckpoint) -> tuple[dict[str, torch.Tensor], Path]:
    """The state dict and the file it came from."""
    if ckpt.kind == "directory":
        weights = _weights_file(ckpt.path)
        if weights is None:
            raise CheckpointError(
                f"The folder {ckpt.path} holds no pytorch_model.bin; pick the folder that contains the "
                "BigGAN weights (pytorch_model.bin and config.json)."
            )
        if isinstance(ckpt.obj, Mapping) and is_biggan_state(ckpt.obj):
            return dict(ckpt.obj), weights
        return _read_weights(weights), weights
    return ckpt.tensors(), ckpt.path


def _config_candidates(ckpt: RawCheckpoint, weights_path: Path) -> list[Path]:
    folder = weights_path.parent
    names = [CONFIG_NAME]
    stem = weights_path.stem
    if stem.endswith("pytorch_model") and stem != "pytorch_model":  # biggan-deep-256-pytorch_model.bin
        names.append(stem[: -len("pytorch_model")] + "config.json")
    return [folder / name for name in names]


def _raw_config(ckpt: RawCheckpoint, weights_path: Path, options: Mapping[str, Any]) -> tuple[dict[str, Any], str]:
    """The config values and where they came from (a file name, or "options")."""
    given = options.get("config_json")
    if given:
        path = Path(str(given)).expanduser()
        if not path.is_absolute():
            path = weights_path.parent / path
        if not path.is_file():
            raise MissingOptionError(
                f"The BigGAN config file {path} (option config_json) does not exist. Point config_json at the "
                "config.json that came with the model.", option="config_json",
            )
        return _read_config_file(path), path.name
    for candidate in _config_candidates(ckpt, weights_path):
        if candidate.is_file():
            return _read_config_file(candidate), candidate.name
    from_options = {k: options[k] for k in CONFIG_FIELDS if k in options}
    if "layers" in from_options:
        return from_options, "options"
    expected = _config_candidates(ckpt, weights_path)[-1]
    raise MissingOptionError(
        f"{weights_path.name} is a BigGAN (pytorch-pretrained-BigGAN) checkpoint, but its config.json is not "
        f"beside it, and the layer layout cannot be read from the weights. Put the config.json that came with "
        f"the model in {weights_path.parent} (as {expected.name}), or give the option config_json=<path to the "
        "config file>.",
        option="config_json",
    )


def _read_config_file(path: Path) -> dict[str, Any]:
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"The BigGAN config {path} is not readable JSON ({exc}). Fix it or get a fresh copy.") from exc
    if not is_biggan_config(values):
        raise CheckpointError(
            f"{path} is not a BigGAN config: it needs at least 'layers', 'channel_width' and 'n_stats'. "
            "Use the config.json that came with the model."
        )
    return dict(values)


def _config(raw: Mapping[str, Any], source: str, state: Mapping[str, torch.Tensor], weights_path: Path, notes: list[str]) -> BigGANConfig:
    unknown = sorted(set(raw) - set(CONFIG_FIELDS))
    if unknown:
        notes.append(f"{source} has fields GAN Studio does not use: {', '.join(unknown)}.")
    values: dict[str, Any] = {}
    for name in CONFIG_FIELDS:
        if name in raw:
            values[name] = raw[name] if name == "layers" else _number(raw[name], float if name == "eps" else int, name, source)

    # what the weights say
    embed_dim, num_classes = (int(n) for n in state["embeddings.weight"].shape)
    cond_dim = int(state["generator.gen_z.weight_orig"].shape[1])
    n_stats = int(state["generator.bn.running_means"].shape[0])
    attention = sorted(int(k.split(".")[2]) for k in state if k.startswith("generator.layers.") and k.endswith(".gamma"))
    from_weights = {"num_classes": num_classes, "z_dim": cond_dim - embed_dim, "n_stats": n_stats}
    if len(attention) > 1:
        raise CheckpointError(f"{weights_path.name} has {len(attention)} self-attention layers; BigGAN-deep has one at most.")

    if int(values.get("class_embed_dim", embed_dim)) != embed_dim:
        if int(values.get("z_dim", from_weights["z_dim"])) == from_weights["z_dim"]:
            notes.append(
                f"{source} says class_embed_dim={values['class_embed_dim']} but the class embedding has {embed_dim} "
                f"values; using {embed_dim} (the official code sizes the embedding by z_dim)."
            )
        values["class_embed_dim"] = embed_dim
    values.setdefault("class_embed_dim", embed_dim)
    for name, actual in from_weights.items():
        if name in values and int(values[name]) != actual:
            raise CheckpointError(
                f"{source} says {name}={values[name]} but the weights in {weights_path.name} have {name}={actual}; "
                "the config belongs to another model. Use the config.json that came with these weights."
            )
        values.setdefault(name, actual)
    if "layers" not in values:
        raise MissingOptionError(f"{source} has no 'layers'; use the config.json that came with the model.", option="layers")
    layers = values["layers"]
    if not isinstance(layers, (list, tuple)) or not all(isinstance(l, (list, tuple)) and len(l) == 3 for l in layers):
        raise CheckpointError(f"{source}: 'layers' must be a list of [up_sample, in_multiplier, out_multiplier] triples.")
    try:
        values["layers"] = tuple((bool(up), _number(a, int, "layers", source), _number(b, int, "layers", source)) for up, a, b in layers)
    except CheckpointError:
        raise CheckpointError(f"{source}: 'layers' must hold [up_sample, in_multiplier, out_multiplier] with whole-number multipliers.") from None
    stored_position = attention[0] if attention else len(values["layers"])
    position = int(values.get("attention_layer_position", stored_position))
    has_attention = 0 <= position < len(values["layers"])
    if (attention and position != stored_position) or (not attention and has_attention):
        where = f"module {stored_position}" if attention else "nowhere"
        raise CheckpointError(
            f"{source} says attention_layer_position={position} but the self-attention weights in "
            f"{weights_path.name} sit at {where}; the config belongs to another model."
        )
    values["attention_layer_position"] = position
    if "output_dim" not in values:
        values["output_dim"] = 4 * 2 ** sum(1 for up, _, _ in values["layers"] if up)
    if "eps" not in values:
        values["eps"] = 1e-4
        notes.append(f"{source} has no 'eps'; using the official 1e-4.")
    try:
        return BigGANConfig(**values)
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"{source} describes an impossible BigGAN-deep generator: {exc}.") from exc


def _number(value: Any, cast: type, name: str, source: str) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (cast is int and float(value) != int(value)):
        raise CheckpointError(f"{source}: '{name}' must be a {'whole ' if cast is int else ''}number, got {value!r}.")
    return cast(value)


def _check_spectral_vectors(G: torch.nn.Module, weights_path: Path) -> None:
    bad = [name for name, sigma in spectral_sigmas(G).items() if not (sigma > 0 and sigma < float("inf"))]
    if bad:
        raise CheckpointError(
            f"{weights_path.name}: the stored spectral-norm vectors of {', '.join(bad[:4])} give no usable "
            "normalisation (sigma <= 0 or not finite); the file is damaged. Get a fresh copy."
        )


# --------------------------------------------------------------------------------------------
# Class names


def _label_set(ckpt: RawCheckpoint, num_classes: int, notes: list[str]) -> dict[str, Any]:
    for name in LABEL_FILES:
        path = ckpt.sibling(name)
        if path is None:
            continue
        try:
            label_set = _read_label_file(path, num_classes)
        except (OSError, ValueError) as exc:
            notes.append(f"{path.name} beside the model was not used ({exc}); classes are shown as numbers.")
            break
        notes.append(f"Class names from {path.name}.")
        return label_set.to_dict()
    else:
        notes.append(
            f"The checkpoint holds no class names; its {num_classes} classes are shown as 'class 0', 'class 1', ... "
            "Put classes.json or labels.txt (one name per line) beside the model to name them."
        )
    return generic(num_classes, name=f"biggan-{num_classes}").to_dict()


def _read_label_file(path: Path, num_classes: int) -> LabelSet:
    if path.suffix == ".txt":
        lines = path.read_text(encoding="utf-8").splitlines()
        while lines and not lines[-1].strip():
            lines.pop()
        names = [line.strip() for line in lines]
    else:
        data = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(data, Mapping) and "classes" in data:
            label_set = LabelSet.from_dict(data)
            if label_set.num_indices != num_classes:
                raise ValueError(f"it has {label_set.num_indices} classes, the model {num_classes}")
            return label_set
        names = _names_from_json(data, num_classes)
    if len(names) != num_classes:
        raise ValueError(f"it names {len(names)} classes, the model has {num_classes}")
    if not all(names):
        raise ValueError("it has empty names")
    classes = tuple(LabelClass(index=i, name=n, color=voc_color(i)) for i, n in enumerate(names))
    return LabelSet(name=f"biggan-{num_classes}", title=f"{path.name} ({num_classes} classes)",
                    source=str(path.name), classes=classes, label_nc=num_classes)


def _names_from_json(data: Any, num_classes: int) -> list[str]:
    if isinstance(data, list):
        return [str(n).strip() for n in data]
    if isinstance(data, Mapping):
        names: list[str] = [""] * num_classes
        for key, value in data.items():
            index = int(key)
            if not 0 <= index < num_classes:
                raise ValueError(f"index {index} is outside 0..{num_classes - 1}")
            if isinstance(value, (list, tuple)):
                value = value[-1]
            names[index] = str(value).strip()
        return names
    raise ValueError("it must be a list of names or an object of index -> name")
