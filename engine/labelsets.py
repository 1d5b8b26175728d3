"""Label sets: which class each label-map index means, and the color it is painted with.

One JSON format serves both the shipped sets (``assets/labelsets/*.json``) and a model's own
set (stored in the ``label_set`` field of GAN Studio checkpoints)::

    {
      "format": "gan-studio-labelset", "format_version": 1,
      "name": "cityscapes",                    # short id, used to refer to the set
      "title": "Cityscapes (labelIds)",         # for menus
      "description": "...", "source": "where names/colors/indices come from (attribution)",
      "label_nc": 35,                          # the official label_nc option of models trained on it
      "contain_dontcare_label": false,         # SPADE: one extra one-hot channel at index label_nc
      "dontcare_index": null,                  # where unlabeled pixels land (an index), or null
      "no_instance": false,                    # hint: official models of this set take an instance map
      "notes": "...",
      "classes": [
        {"index": 0, "name": "unlabeled", "color": [0, 0, 0],
         "short_name": "...", "group": "void", "unused": false, "dontcare": false, "extra": {...}}
      ]
    }

``index`` is the value in the label map, i.e. the one-hot channel the network receives (not the
dataset's raw id when the official loader shifts it). Only ``index``, ``name`` and ``color``
are required per class; ``unused`` marks classes that never occurred in training,
``dontcare`` the unlabeled class, ``extra`` keeps dataset-specific ids as they are.

Image I/O: index PNGs (8-bit ``P``/``L``, or 16-bit when an index exceeds 255) and color PNGs
(through the palette; unknown colors produce a :class:`ColorImportReport`, optionally mapped to
the nearest palette color).

numpy + PIL only: the GUI imports this module, so it must never import torch.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np

from engine.errors import ImageReadError, InputError
from engine.resources import assets_dir

log = logging.getLogger(__name__)

FORMAT = "gan-studio-labelset"
FORMAT_VERSION = 1
#: the shipped label sets (package data, see engine.resources)
ASSETS_DIR = assets_dir() / "labelsets"
BUILTIN_NAMES = ("ade20k", "cocostuff", "cityscapes", "world")

Color = tuple[int, int, int]


def voc_color(index: int) -> Color:
    """The bit-interleaved color of ``index`` (the PASCAL VOC colormap): distinct for every
    index below 2**24, black for 0."""
    r = g = b = 0
    value = int(index)
    for shift in range(7, -1, -1):
        r |= (value & 1) << shift
        g |= ((value >> 1) & 1) << shift
        b |= ((value >> 2) & 1) << shift
        value >>= 3
    return (r, g, b)


@dataclass(frozen=True)
class LabelClass:
    """One class: its label-map ``index``, ``name`` and RGB ``color`` (0..255 each)."""

    index: int
    name: str
    color: Color
    short_name: str | None = None
    group: str | None = None
    unused: bool = False
    dontcare: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def display_name(self) -> str:
        return self.short_name or self.name

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"index": self.index, "name": self.name, "color": list(self.color)}
        if self.short_name:
            out["short_name"] = self.short_name
        if self.group:
            out["group"] = self.group
        if self.unused:
            out["unused"] = True
        if self.dontcare:
            out["dontcare"] = True
        if self.extra:
            out["extra"] = dict(self.extra)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "LabelClass":
        try:
            index = int(data["index"])
            name = str(data["name"])
            color = _color(data["color"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"a class entry needs index, name and color [r, g, b] in 0..255; got {dict(data)!r}") from exc
        return cls(index=index, name=name, color=color, short_name=data.get("short_name"), group=data.get("group"),
                   unused=bool(data.get("unused", False)), dontcare=bool(data.get("dontcare", False)),
                   extra=dict(data.get("extra", {})))


def _color(value: Any) -> Color:
    rgb = tuple(int(v) for v in value)
    if len(rgb) != 3 or not all(0 <= v <= 255 for v in rgb):
        raise ValueError(f"a color is [r, g, b] with values 0..255, not {value!r}")
    return rgb  # type: ignore[return-value]


@dataclass(frozen=True)
class ColorImportReport:
    """What happened to the colors of a color label image.

    ``unknown_pixels``: pixels whose color is in no class (after nearest mapping: how many were
    moved); ``unknown_colors``: ``(color, pixel count)`` most frequent first; ``mapped_to_nearest``:
    whether those pixels were mapped to the nearest class color (else they hold ``fill``);
    ``ambiguous_colors``: ``(color, indices)`` for colors several classes share (the first index
    listed was used).
    """

    total_pixels: int
    unknown_pixels: int = 0
    unknown_colors: tuple[tuple[Color, int], ...] = ()
    mapped_to_nearest: bool = False
    fill: int = -1
    ambiguous_colors: tuple[tuple[Color, tuple[int, ...]], ...] = ()

    @property
    def ok(self) -> bool:
        return self.unknown_pixels == 0

    def message(self, limit: int = 5) -> str:
        parts = []
        if self.unknown_pixels:
            shown = ", ".join(f"rgb{c} x{n}" for c, n in self.unknown_colors[:limit])
            more = f" and {len(self.unknown_colors) - limit} more" if len(self.unknown_colors) > limit else ""
            what = "were mapped to the nearest class color" if self.mapped_to_nearest else f"were set to {self.fill}"
            parts.append(f"{self.unknown_pixels} of {self.total_pixels} pixels have colors that belong to no class "
                         f"({len(self.unknown_colors)} colors: {shown}{more}); they {what}.")
            if not self.mapped_to_nearest:
                parts.append("Import again with 'map to nearest color' to assign them, or pick the right label set.")
        if self.ambiguous_colors:
            shown = ", ".join(f"rgb{c} -> {idx[0]} (shared by {', '.join(map(str, idx))})" for c, idx in self.ambiguous_colors[:limit])
            parts.append(f"Some colors are shared by several classes and were read as the first: {shown}.")
        return " ".join(parts) if parts else "All colors matched a class."


@dataclass(frozen=True)
class LabelSet:
    """A label set: classes by index, with colors. See the module docstring for the JSON format."""

    name: str
    classes: tuple[LabelClass, ...]
    title: str = ""
    description: str = ""
    source: str = ""
    label_nc: int | None = None
    contain_dontcare_label: bool = False
    dontcare_index: int | None = None
    no_instance: bool | None = None
    notes: str = ""

    def __post_init__(self) -> None:
        seen: set[int] = set()
        for cls in self.classes:
            if cls.index < 0:
                raise ValueError(f"label set {self.name!r}: class {cls.name!r} has a negative index {cls.index}")
            if cls.index in seen:
                raise ValueError(f"label set {self.name!r}: index {cls.index} is used by more than one class")
            seen.add(cls.index)
        object.__setattr__(self, "_index", {c.index: c for c in self.classes})

    # ---- size and lookup -------------------------------------------------------------------

    @property
    def num_indices(self) -> int:
        """Label-map values run from 0 to ``num_indices - 1`` (one-hot channels incl. dontcare)."""
        top = max((c.index for c in self.classes), default=-1) + 1
        if self.label_nc is not None:
            top = max(top, self.label_nc + (1 if self.contain_dontcare_label else 0))
        return top

    def __len__(self) -> int:
        return len(self.classes)

    def __iter__(self):
        return iter(self.classes)

    def by_index(self, index: int) -> LabelClass | None:
        return self._index.get(int(index))  # type: ignore[attr-defined]

    def name_of(self, index: int) -> str:
        cls = self.by_index(index)
        return cls.name if cls else f"unnamed {int(index)}"

    def color_of(self, index: int) -> Color:
        """The class color; an index without a class gets its distinct VOC color."""
        cls = self.by_index(index)
        return cls.color if cls else voc_color(index)

    def by_name(self, name: str) -> LabelClass:
        """The class called ``name`` (full or short name, any case). KeyError with suggestions otherwise."""
        wanted = name.strip().lower()
        for cls in self.classes:
            names = {cls.name.lower(), (cls.short_name or "").lower()}
            names |= {part.strip().lower() for part in cls.name.split(",")}
            if wanted in names:
                return cls
        close = [c.name for c in self.search(name)[:5]]
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        raise KeyError(f"label set {self.name!r} has no class named {name!r}.{hint}")

    def search(self, text: str) -> list[LabelClass]:
        """Classes whose name or short name contains ``text`` (any case): names starting with it
        first, then the rest, each by index; unused classes last."""
        needle = text.strip().lower()
        hits = [c for c in self.classes if needle in c.name.lower() or needle in (c.short_name or "").lower()]

        def rank(c: LabelClass) -> tuple[int, int, int]:
            starts = c.name.lower().startswith(needle) or (c.short_name or "").lower().startswith(needle)
            return (int(c.unused), 0 if starts else 1, c.index)

        return sorted(hits, key=rank)

    # ---- palettes --------------------------------------------------------------------------

    def palette(self) -> np.ndarray:
        """``(num_indices, 3) uint8``: the color of every index (indices without a class: VOC color)."""
        return np.array([self.color_of(i) for i in range(self.num_indices)], dtype=np.uint8).reshape(-1, 3)

    def colorize(self, label_map: np.ndarray) -> np.ndarray:
        """HxW integer label map -> HxWx3 uint8 RGB. Values outside the set raise :class:`InputError`."""
        labels = np.asarray(label_map)
        check_label_range(labels, self.num_indices, what=f"the {self.title or self.name} label map")
        return self.palette()[labels.astype(np.int64)]

    def duplicate_colors(self) -> dict[Color, tuple[int, ...]]:
        """Colors used by more than one class, with their indices (preferred index first)."""
        groups: dict[Color, list[LabelClass]] = {}
        for cls in self.classes:
            groups.setdefault(cls.color, []).append(cls)
        return {color: tuple(c.index for c in _preferred_order(members))
                for color, members in groups.items() if len(members) > 1}

    def labels_from_colors(self, image: np.ndarray, nearest: bool = False, fill: int = -1) -> tuple[np.ndarray, ColorImportReport]:
        """HxWx3 (or x4, alpha ignored) uint8 color image -> (HxW int32 label map, report).

        A color several classes share is read as the preferred one (a used, non-dontcare class
        with the lowest index). Colors of no class are set to ``fill``, or to the class with the
        nearest color (Euclidean RGB) when ``nearest``."""
        rgb = np.asarray(image)
        if rgb.ndim != 3 or rgb.shape[2] not in (3, 4):
            raise InputError(f"A color label image must be HxWx3 RGB; got shape {rgb.shape}.")
        rgb = rgb[..., :3].astype(np.int64)
        keys = (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]
        unique, inverse, counts = np.unique(keys.ravel(), return_inverse=True, return_counts=True)
        table: dict[int, int] = {}
        for cls in reversed(_preferred_order(self.classes)):
            r, g, b = cls.color
            table[(r << 16) | (g << 8) | b] = cls.index
        values = np.full(len(unique), fill, dtype=np.int64)
        unknown: list[tuple[Color, int]] = []
        class_colors = np.array([c.color for c in self.classes], dtype=np.int64).reshape(-1, 3)
        class_indices = np.array([c.index for c in _preferred_order(self.classes)], dtype=np.int64)
        preferred_colors = np.array([c.color for c in _preferred_order(self.classes)], dtype=np.int64).reshape(-1, 3)
        for i, key in enumerate(unique.tolist()):
            if key in table:
                values[i] = table[key]
                continue
            color = ((key >> 16) & 255, (key >> 8) & 255, key & 255)
            unknown.append((color, int(counts[i])))
            if nearest and len(class_colors):
                distance = ((preferred_colors - np.array(color)) ** 2).sum(axis=1)
                values[i] = class_indices[int(np.argmin(distance))]
        unknown.sort(key=lambda item: -item[1])
        used_keys = set(unique.tolist())
        ambiguous = tuple((c, idx) for c, idx in self.duplicate_colors().items()
                          if ((c[0] << 16) | (c[1] << 8) | c[2]) in used_keys)
        report = ColorImportReport(
            total_pixels=int(keys.size), unknown_pixels=sum(n for _, n in unknown), unknown_colors=tuple(unknown),
            mapped_to_nearest=bool(nearest and unknown), fill=fill, ambiguous_colors=ambiguous,
        )
        if unknown:
            log.info("color label import: %s", report.message())
        return values[inverse].reshape(keys.shape).astype(np.int32), report

    # ---- JSON ------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "name": self.name,
            "title": self.title,
            "description": self.description,
            "source": self.source,
            "label_nc": self.label_nc,
            "contain_dontcare_label": self.contain_dontcare_label,
            "dontcare_index": self.dontcare_index,
            "no_instance": self.no_instance,
            "notes": self.notes,
            "classes": [c.to_dict() for c in sorted(self.classes, key=lambda c: c.index)],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "LabelSet":
        if not isinstance(data, Mapping):
            raise ValueError("a label set is a JSON object")
        if data.get("format", FORMAT) != FORMAT:
            raise ValueError(f"not a GAN Studio label set (format {data.get('format')!r})")
        if int(data.get("format_version", 1)) > FORMAT_VERSION:
            raise ValueError(f"label set format {data['format_version']} is newer than this GAN Studio; update it")
        if "name" not in data or not isinstance(data.get("classes"), list):
            raise ValueError("a label set needs 'name' and a list of 'classes'")
        label_nc = data.get("label_nc")
        dontcare = data.get("dontcare_index")
        no_instance = data.get("no_instance")
        return cls(
            name=str(data["name"]),
            classes=tuple(LabelClass.from_dict(c) for c in data["classes"]),
            title=str(data.get("title", "") or ""),
            description=str(data.get("description", "") or ""),
            source=str(data.get("source", "") or ""),
            label_nc=int(label_nc) if label_nc is not None else None,
            contain_dontcare_label=bool(data.get("contain_dontcare_label", False)),
            dontcare_index=int(dontcare) if dontcare is not None else None,
            no_instance=bool(no_instance) if no_instance is not None else None,
            notes=str(data.get("notes", "") or ""),
        )

    @classmethod
    def load(cls, path: str | Path) -> "LabelSet":
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls.from_dict(data)
        except OSError as exc:
            raise InputError(f"The label set {path} cannot be read ({exc.strerror or exc}).") from exc
        except ValueError as exc:
            raise InputError(f"{path.name} is not a valid label set: {exc}.") from exc

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(self.to_dict(), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        tmp.replace(path)
        return path


def _preferred_order(classes: Iterable[LabelClass]) -> list[LabelClass]:
    """Used classes before unused, real classes before dontcare, then by index."""
    return sorted(classes, key=lambda c: (int(c.unused), int(c.dontcare), c.index))


# --------------------------------------------------------------------------------------------
# Shipped and generic sets


def builtin(name: str) -> LabelSet:
    """A shipped label set: ``"ade20k"``, ``"cocostuff"``, ``"cityscapes"`` or ``"world"`` (the
    procedural starter world's classes) (any case; ``"coco"`` and ``"ade"`` work too). Loaded once and shared (label sets are immutable)."""
    key = name.strip().lower().replace("-", "").replace("_", "").replace(" ", "")
    aliases = {"ade": "ade20k", "ade20k": "ade20k", "coco": "cocostuff", "cocostuff": "cocostuff", "cityscapes": "cityscapes",
               "world": "world"}
    if key not in aliases:
        raise KeyError(f"no built-in label set {name!r}; the built-in sets are {', '.join(BUILTIN_NAMES)}")
    return _load_builtin(aliases[key])


@lru_cache(maxsize=None)
def _load_builtin(name: str) -> LabelSet:
    return LabelSet.load(ASSETS_DIR / f"{name}.json")


def generic(n: int, name: str | None = None) -> LabelSet:
    """``n`` unnamed classes 0..n-1 ("class 0", ...) with distinct (VOC) colors."""
    if n < 1:
        raise ValueError(f"a label set needs at least one class, not {n}")
    return LabelSet(
        name=name or f"generic-{n}",
        title=f"{n} unnamed classes",
        description="Classes of a model whose label set is not known; rename them as you learn what they are.",
        classes=tuple(LabelClass(index=i, name=f"class {i}", color=voc_color(i)) for i in range(n)),
        label_nc=n,
    )


#: official ``label_nc`` values of the public SPADE / pix2pixHD checkpoints
_LABEL_NC_GUESSES = {150: "ade20k", 182: "cocostuff", 35: "cityscapes"}


def for_label_nc(label_nc: int) -> LabelSet:
    """Best guess for a model with ``label_nc`` classes (the official option value): 150 ->
    ADE20K, 182 -> COCO-Stuff, 35 -> Cityscapes, anything else -> :func:`generic`."""
    name = _LABEL_NC_GUESSES.get(int(label_nc))
    if name is not None:
        try:
            return builtin(name)
        except InputError:
            log.warning("built-in label set %s is missing from %s; using generic classes", name, ASSETS_DIR)
    return generic(int(label_nc))


# --------------------------------------------------------------------------------------------
# Checks and image files


def check_label_range(labels: np.ndarray, num_indices: int, what: str = "the label map") -> None:
    """Raise :class:`InputError` naming how many pixels hold which values outside [0, num_indices)."""
    labels = np.asarray(labels)
    if not np.issubdtype(labels.dtype, np.integer):
        raise InputError(f"{what} must hold integer class indices, not {labels.dtype} values.")
    bad = (labels < 0) | (labels >= num_indices)
    if bad.any():
        values, counts = np.unique(labels[bad], return_counts=True)
        order = np.argsort(-counts)[:8]
        shown = ", ".join(f"{int(values[i])} ({int(counts[i])} px)" for i in order)
        more = f" and {len(values) - 8} more values" if len(values) > 8 else ""
        raise InputError(
            f"{int(bad.sum())} pixels of {what} hold values outside 0..{num_indices - 1}: {shown}{more}. "
            "Repaint them with a class of this model, or pick the label set the model was trained with."
        )


def read_index_png(path: str | Path) -> np.ndarray:
    """An index label image (8-bit ``P``/``L`` or 16-bit gray) -> HxW int32 label map.

    A ``P`` image's values are its palette indices (the palette is ignored)."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    try:
        with Image.open(path) as img:
            img.load()
            mode = img.mode
            if mode in ("P", "L"):
                return np.asarray(img, dtype=np.uint8).astype(np.int32)
            if mode in ("I;16", "I;16B", "I;16L", "I"):
                return np.asarray(img).astype(np.int32)
    except (OSError, UnidentifiedImageError, ValueError) as exc:
        raise ImageReadError(f"{path.name} cannot be read as a label image ({exc}); it may be truncated or not an image.") from exc
    raise ImageReadError(
        f"{path.name} is a {mode} image, not an index label image (8-bit palette/gray or 16-bit gray). "
        "If it shows classes as colors, import it as a color label image instead."
    )


def write_index_png(path: str | Path, label_map: np.ndarray, label_set: LabelSet | None = None) -> Path:
    """Save an HxW label map as an index PNG: 8-bit palette image (colored by ``label_set``, so
    it also looks right in viewers) when every value is <= 255, else 16-bit gray."""
    from PIL import Image

    labels = np.asarray(label_map)
    if labels.ndim != 2 or not np.issubdtype(labels.dtype, np.integer):
        raise InputError(f"A label map is an HxW array of integers; got {labels.dtype} {labels.shape}.")
    if labels.size and int(labels.min()) < 0:
        raise InputError(f"{int((labels < 0).sum())} pixels hold negative labels; fill them with a class before saving.")
    top = int(labels.max()) if labels.size else 0
    path = Path(path)
    if top <= 255:
        img = Image.fromarray(labels.astype(np.uint8), mode="P")
        colors = np.array([voc_color(i) for i in range(256)], dtype=np.uint8)
        if label_set is not None:
            pal = label_set.palette()[:256]
            colors[: len(pal)] = pal
        img.putpalette(colors.reshape(-1).tolist())
    elif top <= 65535:
        img = Image.fromarray(labels.astype(np.uint16))
    else:
        raise InputError(f"Label values up to {top} do not fit a 16-bit PNG (max 65535).")
    img.save(path, format="PNG")
    return path


def read_color_png(path: str | Path, label_set: LabelSet, nearest: bool = False, fill: int = -1) -> tuple[np.ndarray, ColorImportReport]:
    """A color label image -> (HxW int32 label map, report); see :meth:`LabelSet.labels_from_colors`."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    try:
        with Image.open(path) as img:
            rgb = np.asarray(img.convert("RGB"))
    except (OSError, UnidentifiedImageError, ValueError) as exc:
        raise ImageReadError(f"{path.name} cannot be read as an image ({exc}); it may be truncated or not an image.") from exc
    return label_set.labels_from_colors(rgb, nearest=nearest, fill=fill)


def write_color_png(path: str | Path, label_map: np.ndarray, label_set: LabelSet) -> Path:
    """Save an HxW label map as an RGB PNG in the label set's colors."""
    from PIL import Image

    path = Path(path)
    Image.fromarray(label_set.colorize(label_map)).save(path, format="PNG")
    return path


def model_label_set(label_nc: int, contain_dontcare_label: bool = False) -> dict[str, Any] | None:
    """The label set (as a dict, for LoadedModel.label_set) of a model trained with the official
    ``label_nc`` option: the official set for the public values (see :func:`for_label_nc`), else
    generic classes covering every index the model takes (don't-care included). None when the
    model takes no label map."""
    if label_nc <= 0:
        return None
    guess = for_label_nc(label_nc)
    needed = label_nc + (1 if contain_dontcare_label else 0)
    if guess.num_indices < needed:
        guess = generic(needed)
    return guess.to_dict()
