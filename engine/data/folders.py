"""Training dataset folders: the four layouts, scanning them, and the checker's report.

Layouts (file names compare without their extension; image files are those ending in
:data:`engine.imageio.IMAGE_EXTENSIONS`, hidden files and folders are skipped):

* ``paired`` (spade, pix2pixhd, pix2pix): ``DIR/images/NAME.*`` with either
  ``DIR/labels/NAME.png`` (class indices: 8-bit grey or palette, or 16-bit grey PNG) or
  ``DIR/inputs/NAME.*`` (input images, image-to-image); optional ``DIR/instances/NAME.png``
  (instance ids, same formats as labels) and optional ``DIR/labelset.json`` (the label set, in
  the format of :mod:`engine.labelsets`; its classes fix the allowed label values).
* ``flat`` (stylegan2, context_encoder, esrgan): every image under ``DIR``, sub-folders included.
* ``classes`` (biggan): ``DIR/CLASS_NAME/*.*``, one sub-folder per class (classes sorted by name;
  images in deeper folders count for their top-level class).
* ``unpaired`` (cyclegan): two folders ``A`` and ``B``, every image under each.

:func:`scan` lists the items (fast: no image is opened); :func:`check` opens every file and
returns a :class:`CheckReport` (counts, sizes, modes, unreadable files, unmatched pairs, label
values outside the label set), which runs before every start and as ``gan-studio train --check``.
Plain Python + numpy + Pillow (no torch, no Qt).
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from engine.errors import EngineError, InputError
from engine.imageio import IMAGE_EXTENSIONS

log = logging.getLogger(__name__)

LAYOUTS: dict[str, str] = {
    "paired": "DIR/images/NAME.* with DIR/labels/NAME.png (class indices) or DIR/inputs/NAME.*; "
              "optional DIR/instances/NAME.png and DIR/labelset.json",
    "flat": "every image under DIR (sub-folders included)",
    "classes": "DIR/CLASS_NAME/*.*, one sub-folder per class",
    "unpaired": "two folders A_DIR B_DIR, every image under each",
}


@dataclass(frozen=True)
class Item:
    """One training example: its files by role ("image", "label", "input", "instance") and, in the
    classes layout, its class index."""

    name: str
    files: dict[str, Path]
    class_index: int | None = None


@dataclass(frozen=True)
class DatasetScan:
    """What :func:`scan` found. ``items`` is the dataset (domain A for unpaired), ``items_b`` the
    B domain; ``source`` is "labels" or "inputs" for paired; ``labelset_path`` is the labelset.json."""

    layout: str
    roots: tuple[Path, ...]
    items: tuple[Item, ...]
    items_b: tuple[Item, ...] = ()
    class_names: tuple[str, ...] = ()
    source: str | None = None
    labelset_path: Path | None = None
    unmatched: tuple[str, ...] = ()


def is_image(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_EXTENSIONS and not path.name.startswith(".")


def list_images(folder: Path) -> list[Path]:
    """Every image file under ``folder`` (sub-folders included), sorted, hidden entries skipped."""
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found.extend(Path(root) / f for f in files if is_image(Path(f)))
    return sorted(found)


def _need_folder(path: Path, what: str) -> None:
    if not path.exists():
        raise InputError(f"The {what} {path} does not exist. Check the path.")
    if not path.is_dir():
        raise InputError(f"The {what} {path} is a file; give the folder that holds the images.")


def scan(layout: str, dirs: Sequence[str | os.PathLike]) -> DatasetScan:
    """List the items of a dataset folder; raise :class:`InputError` for an unusable one."""
    if layout not in LAYOUTS:
        raise InputError(f"Unknown dataset layout {layout!r}; the layouts are {', '.join(LAYOUTS)}.")
    roots = tuple(Path(d).expanduser() for d in dirs)
    wanted = 2 if layout == "unpaired" else 1
    if len(roots) != wanted:
        usage = "two folders (--data A_DIR B_DIR)" if wanted == 2 else "one folder (--data DIR)"
        raise InputError(f"The {layout} layout takes {usage}; got {len(roots)}.")
    for root in roots:
        _need_folder(root, "dataset folder")
    scanner = {"paired": _scan_paired, "flat": _scan_flat, "classes": _scan_classes, "unpaired": _scan_unpaired}[layout]
    return scanner(roots)


def _scan_flat(roots: tuple[Path, ...]) -> DatasetScan:
    items = _flat_items(roots[0])
    if not items:
        raise InputError(f"{roots[0]} holds no images ({', '.join(IMAGE_EXTENSIONS)}). Put the training images there.")
    return DatasetScan("flat", roots, items)


def _flat_items(root: Path) -> tuple[Item, ...]:
    return tuple(Item(str(p.relative_to(root)), {"image": p}) for p in list_images(root))


def _scan_unpaired(roots: tuple[Path, ...]) -> DatasetScan:
    a, b = _flat_items(roots[0]), _flat_items(roots[1])
    for side, items, root in (("A", a, roots[0]), ("B", b, roots[1])):
        if not items:
            raise InputError(f"Domain {side} ({root}) holds no images. Each of the two folders needs images.")
    return DatasetScan("unpaired", roots, a, items_b=b)


def _scan_classes(roots: tuple[Path, ...]) -> DatasetScan:
    root = roots[0]
    classes = sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    items, empty = [], []
    for index, name in enumerate(classes):
        found = list_images(root / name)
        if not found:
            empty.append(name)
        items.extend(Item(str(p.relative_to(root)), {"image": p}, index) for p in found)
    if not classes:
        raise InputError(f"{root} has no sub-folders. The classes layout needs one sub-folder per class (DIR/CLASS_NAME/*.png).")
    if empty:
        raise InputError(f"The class folders {', '.join(empty[:8])} in {root} hold no images; fill or remove them.")
    return DatasetScan("classes", roots, tuple(items), class_names=tuple(classes))


def _by_stem(folder: Path) -> dict[str, Path]:
    out: dict[str, Path] = {}
    for p in sorted(folder.iterdir()):
        if p.is_file() and is_image(p):
            out.setdefault(p.stem, p)
    return out


def _scan_paired(roots: tuple[Path, ...]) -> DatasetScan:
    root = roots[0]
    images_dir, labels_dir, inputs_dir = root / "images", root / "labels", root / "inputs"
    if not images_dir.is_dir():
        raise InputError(f"{root} has no images/ folder. The paired layout is DIR/images/NAME.* with DIR/labels/NAME.png or DIR/inputs/NAME.*.")
    if labels_dir.is_dir() and inputs_dir.is_dir():
        raise InputError(f"{root} has both labels/ and inputs/; keep one (labels/ for label maps, inputs/ for input images).")
    if not labels_dir.is_dir() and not inputs_dir.is_dir():
        raise InputError(f"{root} has images/ but neither labels/ nor inputs/. Add the label maps as DIR/labels/NAME.png.")
    source = "labels" if labels_dir.is_dir() else "inputs"
    images, sources = _by_stem(images_dir), _by_stem(root / source)
    instances = _by_stem(root / "instances") if (root / "instances").is_dir() else None
    names = sorted(set(images) & set(sources))
    unmatched = sorted(f"images/{n}" for n in set(images) - set(sources)) + sorted(f"{source}/{n}" for n in set(sources) - set(images))
    if instances is not None:
        unmatched += sorted(f"instances/{n}" for n in set(names) - set(instances))
        names = [n for n in names if n in instances]
    if not names:
        raise InputError(
            f"{root}: no image in images/ has a file of the same name in {source}/ "
            f"({len(images)} images, {len(sources)} {source}). Name each pair alike, e.g. images/a.jpg and {source}/a.png."
        )
    role = "label" if source == "labels" else "input"
    items = []
    for n in names:
        files = {"image": images[n], role: sources[n]}
        if instances is not None:
            files["instance"] = instances[n]
        items.append(Item(n, files))
    labelset = root / "labelset.json"
    return DatasetScan("paired", roots, tuple(items), source=source,
                       labelset_path=labelset if labelset.is_file() else None, unmatched=tuple(unmatched))


# ---------------------------------------------------------------------------------------------
# the checker


@dataclass
class CheckReport:
    """The checker's findings. ``errors`` block a start; ``warnings`` do not."""

    layout: str
    roots: tuple[str, ...]
    counts: dict[str, int] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)       # "WxH" -> number of images
    modes: dict[str, int] = field(default_factory=dict)       # "RGB", "L", "RGBA", "16-bit" ...
    classes: dict[str, int] = field(default_factory=dict)     # classes layout: images per class
    label_values: list[int] = field(default_factory=list)     # paired/labels: the values seen
    label_nc: int | None = None
    unreadable: list[str] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        return asdict(self) | {"ok": self.ok}

    def text(self, limit: int = 8) -> str:
        """The report as lines for a terminal or a dialog."""
        lines = [f"dataset ({self.layout}): {', '.join(self.roots)}"]
        if self.counts:
            lines.append("  " + ", ".join(f"{n} {k}" for k, n in self.counts.items()))
        if self.sizes:
            lines.append("  sizes: " + _top(self.sizes, limit))
        if self.modes:
            lines.append("  modes: " + _top(self.modes, limit))
        if self.classes:
            lines.append("  classes: " + _top(self.classes, limit))
        if self.label_nc is not None:
            shown = ", ".join(map(str, self.label_values[:24])) + (" ..." if len(self.label_values) > 24 else "")
            lines.append(f"  label values: {shown} (label set: {self.label_nc} values)")
        lines += [f"  warning: {w}" for w in self.warnings]
        lines += [f"  error: {e}" for e in self.errors]
        lines.append("  OK" if self.ok else "  NOT READY: fix the errors above")
        return "\n".join(lines)


def _top(counts: dict[str, int], limit: int) -> str:
    items = sorted(counts.items(), key=lambda kv: -kv[1])
    shown = ", ".join(f"{k} ({v})" for k, v in items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _short(paths: list[str], limit: int = 6) -> str:
    return ", ".join(paths[:limit]) + (f" and {len(paths) - limit} more" if len(paths) > limit else "")


def check(layout: str, dirs: Sequence[str | os.PathLike], resolution: int | None = None,
          label_nc: int | None = None) -> CheckReport:
    """Scan and open every file of the dataset; never raises for a bad dataset (the report says it).

    ``resolution``: the training size (warns about smaller images); ``label_nc``: the number of
    label values the model takes when there is no labelset.json (values >= it are errors)."""
    report = CheckReport(layout, tuple(str(d) for d in dirs))
    try:
        found = scan(layout, dirs)
    except EngineError as exc:
        report.errors.append(str(exc))
        return report
    report.unmatched = list(found.unmatched)
    if found.unmatched:
        report.warnings.append(f"{len(found.unmatched)} files have no partner and are left out: {_short(report.unmatched)}")
    groups = {"images": found.items} if layout != "unpaired" else {"A images": found.items, "B images": found.items_b}
    for key, items in groups.items():
        report.counts[key] = len(items)
    if layout == "classes":
        report.classes = dict(Counter(found.class_names[i.class_index] for i in found.items))
    small = 0
    values: set[int] = set()
    for items in groups.values():
        for item in items:
            small += _check_item(item, report, values, resolution)
    if small:
        report.warnings.append(f"{small} images are smaller than the training resolution {resolution} px; they are scaled up.")
    if len(report.modes) > 1:
        report.warnings.append(f"the images mix modes ({', '.join(sorted(report.modes))}); all are converted to RGB for training.")
    if found.source == "labels":
        _check_labels(found, report, values, label_nc)
    if report.unreadable:
        report.errors.append(f"{len(report.unreadable)} files cannot be read: {_short(report.unreadable)}. Remove or replace them.")
    return report


def _check_item(item: Item, report: CheckReport, values: set[int], resolution: int | None) -> int:
    """Open the item's files, fill ``report``; returns 1 when its image is smaller than ``resolution``."""
    from PIL import Image

    small = 0
    size = None
    for role, path in item.files.items():
        try:
            with Image.open(path) as im:
                im.load()
                mode, this_size = im.mode, im.size
                array = np.asarray(im) if role in ("label", "instance") else None
        except Exception as exc:  # noqa: BLE001 (any decoder failure means unreadable, and is reported)
            report.unreadable.append(f"{path.name} ({type(exc).__name__})")
            continue
        if role == "label" and array is not None:
            if mode not in ("P", "L", "I;16", "I;16B", "I;16L", "I"):
                report.errors.append(f"{path.name} is a {mode} image; labels must be 8-bit grey/palette or 16-bit grey class indices.")
            else:
                values.update(int(v) for v in np.unique(array))
        if role in ("image", "input"):
            key = "16-bit" if mode.startswith("I") else mode
            report.modes[key] = report.modes.get(key, 0) + 1
            if role == "image":
                report.sizes[f"{this_size[0]}x{this_size[1]}"] = report.sizes.get(f"{this_size[0]}x{this_size[1]}", 0) + 1
                size = this_size
                if resolution and min(this_size) < resolution:
                    small = 1
        if role in ("label", "instance", "input") and size is not None and this_size != size:
            report.errors.append(f"{item.name}: the {role} is {this_size[0]}x{this_size[1]} but the image is {size[0]}x{size[1]}; a pair must have one size.")
    return small


def _check_labels(found: DatasetScan, report: CheckReport, values: set[int], label_nc: int | None) -> None:
    report.label_values = sorted(values)
    allowed: set[int] | None = None
    if found.labelset_path is not None:
        from engine.labelsets import LabelSet

        try:
            labelset = LabelSet.load(found.labelset_path)
        except (EngineError, ValueError, OSError) as exc:
            report.errors.append(f"labelset.json cannot be used: {exc}")
            return
        allowed = {c.index for c in labelset.classes}
        if labelset.dontcare_index is not None:
            allowed.add(labelset.dontcare_index)
        report.label_nc = labelset.num_indices
    elif label_nc is not None:
        allowed = set(range(label_nc))
        report.label_nc = label_nc
    else:
        report.label_nc = (max(values) + 1) if values else 0
    if allowed is not None:
        outside = sorted(values - allowed)
        if outside:
            report.errors.append(
                f"label values {', '.join(map(str, outside[:12]))} are outside the label set "
                f"({'labelset.json' if found.labelset_path else f'{label_nc} classes'}). "
                "Repaint those pixels or add the classes to labelset.json."
            )
