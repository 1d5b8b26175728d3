"""The Latent explorer's settings as plain data: what one image is made of.

:class:`LatentSettings` is everything the panel's widgets set (seed grid position, truncation,
class, noise, style mixing, direction sliders). It converts to and from JSON-able dicts, which
is how bookmarks (in the document) and recipes (in exported PNGs) store it. ``from_dict``
reads untrusted input (a PNG from anywhere): bad values raise ValueError with a message for people.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field, replace
from typing import Any

from engine.latent_types import NOISE_MODES, SEED_MAX
from gui.latent.model_info import grid_seed

_source_ids = itertools.count(1)


@dataclass
class MixSource:
    """Style mixing: the w slots ``layers`` come from ``seed`` (same truncation and class)."""

    seed: int
    layers: tuple[int, ...] = ()
    id: int = field(default_factory=lambda: next(_source_ids))


@dataclass
class LatentSettings:
    """Everything that makes one latent image.

    ``seed_x``, ``seed_y``: position on the seed grid (see :mod:`gui.latent.model_info`);
    ``psi``: truncation (-1..2; 1 = none); ``cutoff``: truncate only layers below it (None = all);
    ``class_index``: the class of a class-conditional model; ``class_mix``: class -> weight, used
    when two or more classes have weight (class mixing); ``noise_mode``/``noise_seed``;
    ``mix``: style-mixing sources; ``pca``: principal direction -> offset in standard deviations,
    ``pca_layers``: its layer range; ``named``: saved direction name -> amount (1 = as saved).
    """

    seed_x: float = 0.0
    seed_y: float = 0.0
    psi: float = 0.7
    cutoff: int | None = None
    class_index: int | None = None
    class_mix: dict[int, float] = field(default_factory=dict)
    noise_mode: str = "const"
    noise_seed: int = 0
    mix: list[MixSource] = field(default_factory=list)
    pca: dict[int, float] = field(default_factory=dict)
    pca_layers: dict[int, tuple[int, int | None]] = field(default_factory=dict)
    named: dict[str, float] = field(default_factory=dict)

    # ------------------------------------------------------------------ derived

    @property
    def on_grid(self) -> bool:
        """True when the position is exactly one seed (no blending)."""
        return float(self.seed_x).is_integer() and float(self.seed_y).is_integer()

    @property
    def seed(self) -> int:
        """The nearest grid seed (the one the seed box shows)."""
        return grid_seed(round(self.seed_x), round(self.seed_y))

    def class_weights(self) -> dict[int, float]:
        """The class mix with positive weights only."""
        return {int(k): float(v) for k, v in self.class_mix.items() if v > 0}

    def copy(self) -> "LatentSettings":
        return replace(self, class_mix=dict(self.class_mix),
                       mix=[MixSource(m.seed, tuple(m.layers), m.id) for m in self.mix],
                       pca=dict(self.pca), pca_layers=dict(self.pca_layers), named=dict(self.named))

    # ------------------------------------------------------------------ JSON

    def to_dict(self) -> dict[str, Any]:
        return {
            "seed_grid": [self.seed_x, self.seed_y],
            "seed": self.seed,
            "psi": self.psi,
            "cutoff": self.cutoff,
            "class": self.class_index,
            "class_mix": {str(k): v for k, v in self.class_mix.items()},
            "noise_mode": self.noise_mode,
            "noise_seed": self.noise_seed,
            "mix_sources": [{"seed": m.seed, "layers": list(m.layers)} for m in self.mix],
            "pca": {str(k): v for k, v in self.pca.items() if v},
            "pca_layers": {str(k): [s, e] for k, (s, e) in self.pca_layers.items()},
            "named": {k: v for k, v in self.named.items() if v},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "LatentSettings":
        """Settings from :meth:`to_dict` output, or from a ``gan-studio sample`` recipe
        (``seed``, ``psi``, ``cutoff``, ``class``, ``noise_mode``, ``noise_seed``, ``mix``)."""
        if not isinstance(data, dict):
            raise ValueError("the recipe holds no latent settings")
        try:
            if "seed_grid" in data:
                x, y = (float(v) for v in data["seed_grid"])
            else:
                x, y = float(_seed(data.get("seed", 0))), 0.0
            if not (math.isfinite(x) and math.isfinite(y)):
                raise ValueError("the seed position is not a number")
            psi = float(data.get("psi", 1.0))
            if not math.isfinite(psi):
                raise ValueError("psi is not a number")
            cutoff = data.get("cutoff")
            class_index = data.get("class")
            mix_sources = [MixSource(_seed(m["seed"]), tuple(int(k) for k in m["layers"])) for m in data.get("mix_sources", ())]
            if not mix_sources and data.get("mix"):  # the CLI's [[seed, start, end], ...]
                for seed, start, end in data["mix"]:
                    stop = int(end) if end is not None else int(start) + 64
                    mix_sources.append(MixSource(_seed(seed), tuple(range(int(start), stop))))
            noise_mode = str(data.get("noise_mode", "const"))
            if noise_mode not in NOISE_MODES:
                raise ValueError(f"noise mode {noise_mode!r} is unknown")
            return cls(
                seed_x=x, seed_y=y, psi=psi,
                cutoff=None if cutoff is None else int(cutoff),
                class_index=None if class_index is None else int(class_index),
                class_mix={int(k): float(v) for k, v in dict(data.get("class_mix", {})).items()},
                noise_mode=noise_mode,
                noise_seed=_seed(data.get("noise_seed", 0)),
                mix=mix_sources,
                pca={int(k): float(v) for k, v in dict(data.get("pca", {})).items()},
                pca_layers={int(k): (int(v[0]), None if v[1] is None else int(v[1]))
                            for k, v in dict(data.get("pca_layers", {})).items()},
                named={str(k): float(v) for k, v in dict(data.get("named", {})).items()},
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"The latent settings are damaged or from a newer GAN Studio ({exc}).") from exc


def _seed(value: Any) -> int:
    seed = int(value)
    if not 0 <= seed <= SEED_MAX:
        raise ValueError(f"seed {seed} is outside 0..{SEED_MAX}")
    return seed
