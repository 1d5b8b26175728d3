"""Training data: a dataset folder (:mod:`engine.data.folders`) as batches of tensors.

Batch dicts (the loop moves them to the trainer's device; B is the per-process batch):

* paired, labels: ``{"label": int64 BxHxW, "image": float Bx3xHxW in [-1, 1]}`` plus
  ``"instance": int64 BxHxW`` when the folder has ``instances/``;
* paired, inputs (image-to-image): ``{"input": float Bx3xHxW, "image": float Bx3xHxW}``;
* flat: ``{"image"}``; classes: ``{"image", "class_index": int64 B}``; unpaired: ``{"A", "B"}``.

Every image becomes RGB (grey repeated, alpha dropped, 16-bit scaled), is resized so that its
short side is ``load_size`` pixels (``resize="short_side"``, the default; ``resize="none"`` keeps the
native size and only scales up images smaller than the crop), then cropped to ``resolution`` x
``resolution`` at a random place and flipped left-right with probability 1/2 (``flip``). The
files of a pair get the same resize (labels and instances nearest-neighbour), crop and flip.

Sampling is stateless, so resuming and distributed runs need no sampler state: the global batch
of step ``s`` is positions ``s*B .. s*B+B-1`` of an endless sequence of epochs, each epoch a
permutation of the items drawn from ``(seed, epoch)``; each example's crop and flip come from
``(seed, step, slot)``. Process ``r`` of ``W`` takes slots ``r*B/W .. (r+1)*B/W - 1`` of the global
batch (what DistributedSampler gives, with the same global batch for any number of processes).
As a batch is a pure function of its step, the loop builds the next one in a thread while the
current one trains (:class:`Prefetcher`).
"""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from PIL import Image

from engine.data import folders
from engine.errors import ImageReadError, InputError
from engine.imageio import read_image

log = logging.getLogger(__name__)

DEFAULT_CACHE_MB = 512


class TrainData:
    """A scanned dataset folder that yields batches. See the module docstring.

    Attributes: ``layout``, ``resolution`` (crop side, px), ``channels`` (3), ``label_nc`` and
    ``label_set`` (paired with labels: the number of label values and the label-set dict or None),
    ``class_names`` (classes layout), ``items`` (and ``items_b`` for unpaired), ``source``.
    """

    channels = 3

    def __init__(self, scan: folders.DatasetScan, resolution: int, *, load_size: int | None = None,
                 resize: str = "short_side", flip: bool = True, seed: int = 0, label_nc: int | None = None,
                 cache_mb: float = DEFAULT_CACHE_MB) -> None:
        if resize not in ("short_side", "none"):
            raise InputError(f"resize must be 'short_side' or 'none', not {resize!r}.")
        self.scan = scan
        self.layout = scan.layout
        self.items = scan.items
        self.items_b = scan.items_b
        self.class_names = scan.class_names
        self.source = scan.source
        self.resolution = int(resolution)
        self.load_size = int(load_size or resolution)
        if self.load_size < self.resolution:
            raise InputError(f"load_size ({self.load_size}) must be at least the resolution ({self.resolution}).")
        self.resize = resize
        self.flip = flip
        self.seed = int(seed)
        self.label_set: dict[str, Any] | None = None
        self.label_nc: int | None = None
        if self.source == "labels":
            self._init_labels(label_nc)
        self._cache: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
        self._cache_bytes = 0
        self._cache_limit = int(cache_mb * 2**20)
        self._lock = threading.Lock()

    @classmethod
    def from_folders(cls, layout: str, dirs: Sequence[str | os.PathLike], resolution: int, **kwargs: Any) -> "TrainData":
        return cls(folders.scan(layout, dirs), resolution, **kwargs)

    def __len__(self) -> int:
        return len(self.items)

    # ---- labels ----------------------------------------------------------------------------

    def _init_labels(self, label_nc: int | None) -> None:
        path = self.scan.labelset_path
        if path is not None:
            from engine.labelsets import LabelSet

            labelset = LabelSet.load(path)
            self.label_set = labelset.to_dict()
            self.label_nc = labelset.num_indices
        elif label_nc is not None:
            self.label_nc = int(label_nc)
        else:
            top = max(int(self._read_label(item.files["label"]).max()) for item in self.items)
            self.label_nc = top + 1
            log.info("no labelset.json: %d label values (0..%d) found in the label maps", self.label_nc, top)
        if self.label_set is None:
            from engine.labelsets import generic

            self.label_set = generic(self.label_nc).to_dict()

    @staticmethod
    def _read_label(path: Path) -> np.ndarray:
        from engine.labelsets import read_index_png

        return read_index_png(path)

    # ---- sampling ----------------------------------------------------------------------------

    def _index(self, position: int, count: int, stream: int) -> int:
        epoch, offset = divmod(position, count)
        order = np.random.default_rng([self.seed, stream, epoch]).permutation(count)
        return int(order[offset])

    def batch(self, step: int, global_batch: int, rank: int = 0, world_size: int = 1) -> dict[str, torch.Tensor]:
        """This process's share of the global batch of ``step`` (CPU tensors)."""
        if global_batch % world_size:
            raise InputError(f"The batch ({global_batch}) must divide evenly over {world_size} processes.")
        local = global_batch // world_size
        slots = range(rank * local, (rank + 1) * local)
        examples = []
        for slot in slots:
            position = step * global_batch + slot
            rng = np.random.default_rng([self.seed, 7, step, slot])
            if self.layout == "unpaired":
                a = self.items[self._index(position, len(self.items), 0)]
                b = self.items_b[self._index(position, len(self.items_b), 1)]
                examples.append({"A": self._example(a, rng)["image"], "B": self._example(b, rng)["image"]})
            else:
                examples.append(self._example(self.items[self._index(position, len(self.items), 0)], rng))
        return _collate(examples)

    def fixed_batch(self, n: int) -> dict[str, torch.Tensor]:
        """``n`` examples spread evenly over the dataset, center-cropped, not flipped: the preview inputs."""
        n = max(1, int(n))
        examples = []
        for i in range(n):
            if self.layout == "unpaired":
                a = self.items[(i * len(self.items)) // n]
                b = self.items_b[(i * len(self.items_b)) // n]
                examples.append({"A": self._example(a, None)["image"], "B": self._example(b, None)["image"]})
            else:
                examples.append(self._example(self.items[(i * len(self.items)) // n], None))
        return _collate(examples)

    # ---- one example -----------------------------------------------------------------------

    def _example(self, item: folders.Item, rng: np.random.Generator | None) -> dict[str, Any]:
        """Resize, crop and flip the item's files alike; ``rng=None``: center crop, no flip."""
        arrays = {role: self._load(item, role) for role in item.files}
        h, w = arrays["image"].shape[:2]
        r = self.resolution
        top = (h - r) // 2 if rng is None else int(rng.integers(0, h - r + 1))
        left = (w - r) // 2 if rng is None else int(rng.integers(0, w - r + 1))
        flip = rng is not None and self.flip and bool(rng.integers(0, 2))
        out: dict[str, Any] = {}
        for role, array in arrays.items():
            crop = array[top:top + r, left:left + r]
            if flip:
                crop = crop[:, ::-1]
            if role in ("label", "instance"):
                out[role] = torch.from_numpy(np.ascontiguousarray(crop).astype(np.int64))
            else:
                out[role] = torch.from_numpy(np.ascontiguousarray(crop).transpose(2, 0, 1).copy()).float() / 127.5 - 1.0
        if item.class_index is not None:
            out["class_index"] = torch.tensor(item.class_index, dtype=torch.int64)
        return out

    def _load(self, item: folders.Item, role: str) -> np.ndarray:
        """The item's file for ``role``, resized (uint8 HxWx3 or int HxW), from the cache when there."""
        key = (str(item.files[role]), role)  # by path: the two folders of an unpaired set often share file names
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        array = self._decode(item, role)
        self._cache[key] = array
        self._cache_bytes += array.nbytes
        while self._cache_bytes > self._cache_limit and len(self._cache) > 1:
            _, old = self._cache.popitem(last=False)
            self._cache_bytes -= old.nbytes
        return array

    def _decode(self, item: folders.Item, role: str) -> np.ndarray:
        path = item.files[role]
        nearest = role in ("label", "instance")
        try:
            array = self._read_label(path) if nearest else to_rgb8(read_image(path))
        except ImageReadError as exc:
            raise InputError(f"{exc} Run the dataset check (gan-studio train --check) and fix the folder.") from exc
        if self.label_nc is not None and role == "label" and array.size and int(array.max()) >= self.label_nc:
            raise InputError(f"{path.name} holds label value {int(array.max())}, outside the label set (0..{self.label_nc - 1}).")
        return self._resize(array, nearest)

    def _resize(self, array: np.ndarray, nearest: bool) -> np.ndarray:
        h, w = array.shape[:2]
        if self.resize == "short_side":
            scale = self.load_size / min(h, w)
        else:
            scale = max(1.0, self.resolution / min(h, w))
        size = (max(self.resolution, round(w * scale)), max(self.resolution, round(h * scale)))
        if size == (w, h):
            return array
        if nearest:
            im = Image.fromarray(array.astype(np.int32), mode="I").resize(size, Image.NEAREST)
            return np.asarray(im).astype(array.dtype)
        return np.asarray(Image.fromarray(array).resize(size, Image.BICUBIC))


class Prefetcher:
    """Builds the batch of step ``s + 1`` in a background thread while step ``s`` trains."""

    def __init__(self, data: TrainData, global_batch: int, rank: int = 0, world_size: int = 1) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self._make = lambda step: data.batch(step, global_batch, rank, world_size)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="train-data")
        self._next: tuple[int, Any] | None = None

    def get(self, step: int, prefetch_next: bool = True) -> dict[str, torch.Tensor]:
        if self._next is not None and self._next[0] == step:
            batch = self._next[1].result()
        else:
            if self._next is not None:
                self._next[1].cancel()
            batch = self._make(step)
        self._next = (step + 1, self._pool.submit(self._make, step + 1)) if prefetch_next else None
        return batch

    def close(self) -> None:
        if self._next is not None:
            self._next[1].cancel()
        self._pool.shutdown(wait=True)


def to_rgb8(array: np.ndarray) -> np.ndarray:
    """Any image array from :func:`engine.imageio.read_image` as HxWx3 uint8."""
    if array.dtype == np.uint16:
        array = (array.astype(np.float32) / 257.0 + 0.5).astype(np.uint8)
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    return np.ascontiguousarray(array[:, :, :3])


def _collate(examples: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
    return {key: torch.stack([e[key] for e in examples]) for key in examples[0]}
