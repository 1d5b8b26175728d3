"""Loaded models, kept for reuse, keyed by checkpoint path + options + device, bounded in memory.

The cache is used on the engine thread only (no locking needed). When adding a model would
exceed ``max_bytes``, the least recently used models are dropped first; a single model larger
than the bound is still kept (alone) so that it can run.
"""

from __future__ import annotations

import collections
import logging
import os
from pathlib import Path
from typing import Callable

import torch

from engine.models.loaded import LoadedModel
from engine.loaders.detect import load_model
from engine.types import ModelRef

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 4 * 1024**3


class ModelCache:
    def __init__(self, device: torch.device | str = "cpu", max_bytes: int = DEFAULT_MAX_BYTES,
                 loader: Callable[..., LoadedModel] = load_model):
        self.device = torch.device(device)
        self.max_bytes = int(max_bytes)
        self._loader = loader
        self._models: "collections.OrderedDict[tuple, LoadedModel]" = collections.OrderedDict()

    def key(self, ref: ModelRef) -> tuple:
        path = Path(ref.path).expanduser()
        try:
            stat = path.stat()
            stamp = (stat.st_mtime_ns, stat.st_size)
        except OSError:
            stamp = None
        return (os.path.realpath(path), stamp, ref.cache_key(), str(self.device))

    def get(self, ref: ModelRef) -> LoadedModel:
        """The model for ``ref``, loading it (and moving it to the device) if needed."""
        key = self.key(ref)
        model = self._models.get(key)
        if model is not None:
            self._models.move_to_end(key)
            return model
        model = self._loader(ref.path, dict(ref.options)).to(self.device)
        self._models[key] = model
        self._evict(keep=key)
        return model

    def _evict(self, keep: tuple) -> None:
        while self.total_bytes() > self.max_bytes and len(self._models) > 1:
            oldest = next(k for k in self._models if k != keep)
            dropped = self._models.pop(oldest)
            log.info("model cache: dropped %s (%.1f MB) to stay under %.1f MB",
                     dropped.path, dropped.nbytes() / 1e6, self.max_bytes / 1e6)
        if self.device.type == "cuda":
            torch.cuda.empty_cache()

    def total_bytes(self) -> int:
        return sum(m.nbytes() for m in self._models.values())

    def __len__(self) -> int:
        return len(self._models)

    def __contains__(self, ref: ModelRef) -> bool:
        return self.key(ref) in self._models

    def clear(self) -> None:
        self._models.clear()
