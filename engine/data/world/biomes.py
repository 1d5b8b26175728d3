"""The world's classes and biomes.

Class indices are the label-map values (and the one-hot channels of paint models trained on the
world); they match ``assets/labelsets/world.json``. Biomes are the classes of class-conditional
models (BigGAN), in :data:`BIOME_NAMES` order, which is alphabetical: the order in which a dataset
reader lists the class folders of the ``classes`` layout.
"""

from __future__ import annotations

from dataclasses import dataclass

#: label-map index -> class name (the order of assets/labelsets/world.json)
CLASS_NAMES: tuple[str, ...] = (
    "sky", "cloud", "sun", "mountain", "rock", "snow", "water", "sea",
    "sand", "grass", "forest", "tree", "flowers", "dirt", "road", "building",
)
CLASS = {name: index for index, name in enumerate(CLASS_NAMES)}

RGB = tuple[float, float, float]


@dataclass(frozen=True)
class Biome:
    """How a biome composes its scenes. Probabilities in [0, 1]; ranges are (low, high) in scene
    units (the picture is 1 x 1, y down) unless said otherwise; colors are RGB in 0..255."""

    name: str
    title: str
    times: tuple[tuple[str, float], ...]        # time of day -> weight
    horizon: tuple[float, float]                # y of the horizon
    mountain_layers: tuple[int, int]            # how many ridge layers (inclusive range)
    mountain_height: tuple[float, float]        # height of the nearest layer above the horizon
    mountain_color: RGB
    snow_line: tuple[float, float]              # fraction of a layer's height above which snow lies (>1: none)
    mesa: bool                                  # flat-topped layers (desert)
    ground: str                                 # the main ground class
    ground_color: RGB
    patch_classes: tuple[tuple[str, float], ...]  # ground patches: class -> probability of appearing
    water: str                                  # "none", "lake" or "sea"
    water_p: float
    forest_p: float                             # a forest band along the horizon
    trees: tuple[int, int]
    conifer_p: float                            # share of conifers among trees
    buildings: tuple[int, int]
    building_p: float
    rocks: tuple[int, int]
    road_p: float
    clouds: tuple[float, float]                 # cloud cover range
    foliage_color: RGB


BIOMES: tuple[Biome, ...] = (  # sorted by name: the order a class-folder dataset lists them in
    Biome("alpine", "Alpine meadow", (("day", 0.7), ("golden", 0.3)), (0.42, 0.58), (2, 3), (0.22, 0.38),
          (118, 112, 110), (0.45, 0.65), False, "grass", (92, 140, 58),
          (("flowers", 0.8), ("dirt", 0.3), ("rock", 0.0)), "none", 0.0, 0.45, (2, 7), 0.9, (0, 1), 0.15, (1, 4),
          0.1, (0.05, 0.45), (46, 84, 44)),
    Biome("coast", "Coast", (("day", 0.7), ("golden", 0.3)), (0.4, 0.55), (0, 1), (0.05, 0.14),
          (110, 112, 108), (2.0, 2.0), False, "sand", (226, 208, 166),
          (("grass", 0.5),), "sea", 1.0, 0.0, (0, 2), 0.1, (1, 3), 0.45, (0, 3),
          0.0, (0.1, 0.5), (70, 110, 60)),
    Biome("desert", "Desert", (("day", 0.6), ("golden", 0.4)), (0.45, 0.6), (1, 2), (0.08, 0.22),
          (178, 104, 62), (2.0, 2.0), True, "sand", (222, 182, 124),
          (("rock", 0.3), ("dirt", 0.25)), "none", 0.0, 0.0, (0, 0), 0.0, (0, 2), 0.15, (1, 5),
          0.45, (0.0, 0.15), (90, 110, 60)),
    Biome("dusk", "Village at dusk", (("dusk", 1.0),), (0.5, 0.65), (1, 2), (0.05, 0.14),
          (90, 80, 100), (2.0, 2.0), False, "grass", (84, 110, 52),
          (("dirt", 0.4), ("flowers", 0.2)), "none", 0.0, 0.3, (1, 5), 0.3, (2, 5), 1.0, (0, 1),
          0.8, (0.1, 0.5), (40, 60, 36)),
    Biome("forest", "Forest", (("day", 0.7), ("golden", 0.3)), (0.35, 0.5), (0, 1), (0.08, 0.2),
          (100, 110, 115), (2.0, 2.0), False, "grass", (76, 120, 48),
          (("dirt", 0.7), ("flowers", 0.35)), "none", 0.0, 1.0, (6, 14), 0.45, (0, 0), 0.0, (0, 2),
          0.0, (0.1, 0.45), (40, 80, 36)),
    Biome("lake", "Mountain lake", (("day", 0.6), ("golden", 0.4)), (0.38, 0.5), (1, 3), (0.18, 0.32),
          (104, 108, 116), (0.55, 0.8), False, "grass", (84, 128, 56),
          (("flowers", 0.3), ("dirt", 0.2)), "lake", 1.0, 0.9, (1, 5), 0.8, (0, 1), 0.15, (0, 3),
          0.0, (0.05, 0.45), (38, 76, 42)),
    Biome("tundra", "Tundra", (("overcast", 0.6), ("golden", 0.4)), (0.42, 0.58), (1, 2), (0.1, 0.22),
          (112, 116, 124), (0.15, 0.45), False, "snow", (236, 241, 248),
          (("rock", 0.7), ("grass", 0.3)), "lake", 0.35, 0.25, (0, 4), 1.0, (0, 1), 0.1, (1, 4),
          0.0, (0.35, 0.8), (36, 60, 48)),
)

BIOME_NAMES: tuple[str, ...] = tuple(b.name for b in BIOMES)


def biome_index(biome: str | int | None, seed: int) -> int:
    """The biome of a scene: ``biome`` by name or index, or by default ``seed % len(BIOMES)``
    (so consecutive seeds cycle through the biomes)."""
    if biome is None:
        return int(seed) % len(BIOMES)
    if isinstance(biome, (int,)) and not isinstance(biome, bool):
        if not 0 <= biome < len(BIOMES):
            raise ValueError(f"biome index {biome} is out of range 0..{len(BIOMES) - 1}")
        return int(biome)
    name = str(biome).strip().lower()
    if name not in BIOME_NAMES:
        raise ValueError(f"no biome named {biome!r}; the biomes are: {', '.join(BIOME_NAMES)}")
    return BIOME_NAMES.index(name)
