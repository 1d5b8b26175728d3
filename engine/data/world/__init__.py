"""GAN Studio's procedural starter world: landscapes with their label maps, from a seed.

    from engine.data.world import render, render_batch, BIOME_NAMES, label_set
    labels, image, instances = render(seed=123, size=256)            # one scene
    labels, images, biomes = render_batch(range(16), 128, "coast")    # arrays for training

* Classes (:data:`CLASS_NAMES`, label-map values) are the ``world`` label set
  (``assets/labelsets/world.json``, ``engine.labelsets.builtin("world")``).
* Biomes (:data:`BIOME_NAMES`) are the classes of class-conditional models, in that order.
* Seeds ``0 .. TRAIN_SEEDS - 1`` are for training; seeds from :data:`HELD_OUT_START` up are held
  out for evaluation (every metric of :mod:`engine.eval` uses held-out seeds only).
* :mod:`engine.data.world.writer` writes dataset folders (paired, flat, classes).

numpy only (no torch): trainers can render on the fly in data-loader workers.
"""

from __future__ import annotations

from engine.data.world.biomes import BIOME_NAMES, BIOMES, CLASS, CLASS_NAMES, Biome, biome_index
from engine.data.world.render import MAX_SIZE, MIN_SIZE, render, render_batch, render_scene
from engine.data.world.seeds import HELD_OUT_START, TRAIN_SEEDS, is_held_out


def label_set():
    """The world's :class:`engine.labelsets.LabelSet` (16 classes, index = class)."""
    from engine.labelsets import builtin

    return builtin("world")


__all__ = [
    "BIOMES", "BIOME_NAMES", "Biome", "CLASS", "CLASS_NAMES", "HELD_OUT_START", "MAX_SIZE", "MIN_SIZE",
    "TRAIN_SEEDS", "biome_index", "is_held_out", "label_set", "render", "render_batch", "render_scene",
]
