"""What the Latent explorer needs to know about a loaded model, read from its ModelSummary,
and small pure helpers: layer ranges, the seed grid, latents as text.

No Qt, no torch: plain Python and numpy, so every rule here is easy to test.

Terms (see :mod:`engine.latent_types`):
  * layers are the generator's w slots ``0 .. num_ws - 1``, coarse to fine; a range
    ``(start, end)`` is half-open, ``end=None`` meaning "to the last";
  * the seed grid: integer grid point ``(i, j)`` holds the seed ``(i + j * GRID_STRIDE) mod 2**32``;
    typing a seed ``s`` puts you at ``(s, 0)``, so moving right steps to the next seed and moving
    down jumps by :data:`GRID_STRIDE`. Between grid points the latent is blended bilinearly.
"""

from __future__ import annotations

import base64
import math
from typing import Any, Iterable, Sequence

import numpy as np

from engine.labelsets import LabelSet
from engine.latent_types import SEED_MAX
from engine.types import ModelSummary

GRID_STRIDE = 1000
#: named layer ranges as fractions of the w slots (the same as ``gan-studio sample --mix``)
LAYER_PRESETS: dict[str, tuple[float, float]] = {
    "all": (0.0, 1.0),
    "coarse": (0.0, 0.25),
    "middle": (0.25, 0.5),
    "fine": (0.5, 1.0),
    "coarse+middle": (0.0, 0.5),
    "middle+fine": (0.25, 1.0),
}
PRESET_LABELS = {
    "all": "All layers",
    "coarse": "Coarse (pose, shape)",
    "middle": "Middle (features)",
    "fine": "Fine (colour, texture)",
    "coarse+middle": "Coarse + middle",
    "middle+fine": "Middle + fine",
}


# ---------------------------------------------------------------------------------------------
# the model


def num_layers(summary: ModelSummary | None) -> int:
    """The model's w slots (``num_ws``): from its config, else from its resolution (StyleGAN2:
    two per resolution from 4 px), else 1 (a model without per-layer latents)."""
    if summary is None:
        return 1
    config = summary.config or {}
    for key in ("num_ws", "num_layers_latent"):
        if config.get(key):
            return int(config[key])
    resolution = config.get("img_resolution") or config.get("resolution")
    if summary.family == "stylegan2" and resolution:
        return max(1, int(2 * math.log2(int(resolution)) - 2))
    return 1


def class_count(summary: ModelSummary | None) -> int:
    """How many classes a class-conditional model knows (0 for an unconditional one)."""
    if summary is None:
        return 0
    config = summary.config or {}
    for key in ("c_dim", "n_classes", "num_classes"):
        value = config.get(key)
        if value:
            return int(value)
    if "class_conditional" in summary.capabilities and summary.label_set:
        return len(LabelSet.from_dict(summary.label_set))
    return 0


def class_names(summary: ModelSummary | None) -> list[str]:
    """A display name per class index: the model's label set names, else "class N"."""
    count = class_count(summary)
    names = [f"class {i}" for i in range(count)]
    if summary is not None and summary.label_set:
        try:
            label_set = LabelSet.from_dict(summary.label_set)
        except (ValueError, KeyError, TypeError):
            return names
        for cls in label_set:
            if 0 <= cls.index < count:
                names[cls.index] = cls.name
    return names


def model_size(summary: ModelSummary | None) -> tuple[int, int] | None:
    """(height, width) of the images the model makes, when its config says."""
    if summary is None:
        return None
    config = summary.config or {}
    resolution = config.get("img_resolution") or config.get("resolution") or config.get("output_dim")
    return (int(resolution), int(resolution)) if resolution else None


# ---------------------------------------------------------------------------------------------
# layer ranges


def preset_range(name: str, layers: int) -> tuple[int, int]:
    """The half-open layer range of a preset name for a model with ``layers`` w slots."""
    lo, hi = LAYER_PRESETS[name]
    start, end = int(round(lo * layers)), int(round(hi * layers))
    if end <= start:  # tiny models: every preset keeps at least one layer
        end = min(layers, start + 1)
        start = end - 1
    return start, end


def preset_of(start: int, end: int | None, layers: int) -> str | None:
    """The preset name matching a range, or None."""
    end = layers if end is None else end
    for name in LAYER_PRESETS:
        if preset_range(name, layers) == (start, end):
            return name
    return None


def describe_range(start: int, end: int | None, layers: int) -> str:
    """'layers 4–7' (inclusive, as people count), or the preset's label."""
    end = layers if end is None else end
    preset = preset_of(start, end, layers)
    if preset is not None:
        return PRESET_LABELS[preset]
    if end - start == 1:
        return f"Layer {start}"
    return f"Layers {start}–{end - 1}"


def parse_range(text: str, layers: int) -> tuple[int, int]:
    """'4-8' -> (4, 8) half-open; '8-' -> (8, layers); '3' -> (3, 4); preset names too.

    Raises ValueError with a message for people."""
    text = text.strip().lower()
    if text in LAYER_PRESETS:
        return preset_range(text, layers)
    try:
        if "-" in text:
            first, _, last = text.partition("-")
            start, end = int(first or 0), (int(last) if last.strip() else layers)
        else:
            start = int(text)
            end = start + 1
    except ValueError:
        raise ValueError(f"'{text}' is not a layer range; write e.g. 4-8, 8-, 3, coarse, middle or fine.") from None
    if not 0 <= start < end <= layers:
        raise ValueError(f"Layers {start}..{end} are outside this model's 0..{layers} layers.")
    return start, end


def runs(layers: Iterable[int]) -> list[tuple[int, int]]:
    """Contiguous half-open runs of a set of layer indices: {0, 1, 2, 5} -> [(0, 3), (5, 6)]."""
    out: list[tuple[int, int]] = []
    for layer in sorted(set(int(k) for k in layers)):
        if out and out[-1][1] == layer:
            out[-1] = (out[-1][0], layer + 1)
        else:
            out.append((layer, layer + 1))
    return out


# ---------------------------------------------------------------------------------------------
# the seed grid


def grid_seed(i: int, j: int) -> int:
    """The seed at integer grid point (i, j)."""
    return (int(i) + int(j) * GRID_STRIDE) % (SEED_MAX + 1)


def grid_neighbours(x: float, y: float) -> list[tuple[int, float]]:
    """The seeds around grid position (x, y) with their bilinear weights (weights > 0, sum 1).

    On a grid point it is that one seed with weight 1."""
    x0, y0 = math.floor(x), math.floor(y)
    fx, fy = x - x0, y - y0
    out: dict[int, float] = {}
    for dx, dy, weight in ((0, 0, (1 - fx) * (1 - fy)), (1, 0, fx * (1 - fy)),
                           (0, 1, (1 - fx) * fy), (1, 1, fx * fy)):
        if weight > 1e-9:
            seed = grid_seed(x0 + dx, y0 + dy)
            out[seed] = out.get(seed, 0.0) + weight
    return list(out.items())


def blend(latents: Sequence[tuple[np.ndarray, float]]) -> np.ndarray:
    """Weighted sum of latents (same shape) as float32."""
    total = np.zeros_like(np.asarray(latents[0][0], np.float32))
    for latent, weight in latents:
        total += np.float32(weight) * np.asarray(latent, np.float32)
    return total


# ---------------------------------------------------------------------------------------------
# latents as text (recipes)


def array_to_text(array: np.ndarray) -> dict[str, Any]:
    """A float32 array as JSON-able ``{"shape": [...], "float32_b64": "..."}`` (exact)."""
    a = np.ascontiguousarray(np.asarray(array, dtype="<f4"))
    return {"shape": list(a.shape), "float32_b64": base64.b64encode(a.tobytes()).decode("ascii")}


def array_from_text(data: dict[str, Any]) -> np.ndarray:
    """Inverse of :func:`array_to_text`; ValueError when it does not hold what it says."""
    try:
        raw = base64.b64decode(data["float32_b64"])
        shape = tuple(int(n) for n in data["shape"])
        return np.frombuffer(raw, dtype="<f4").reshape(shape).astype(np.float32)
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"a stored latent is damaged ({exc})") from exc
