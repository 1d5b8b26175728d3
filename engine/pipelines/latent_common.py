"""What both Latent explorer families share: seeds and interpolation of latent vectors.

Pure numpy; :mod:`engine.pipelines.latent_stylegan2` and :mod:`engine.pipelines.latent_biggan`
import it (and nothing imports them both but the table in :mod:`engine.pipelines`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from engine.errors import InputError
from engine.latent_types import SEED_MAX


def check_seed(seed: Any, what: str = "seed") -> int:
    """``seed`` as an int in ``[0, 2**32 - 1]``, else :class:`InputError`."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise InputError(f"The {what} must be a whole number from 0 to {SEED_MAX}, got {seed!r}.")
    if not 0 <= int(seed) <= SEED_MAX:
        raise InputError(f"The {what} {seed} is out of range; use a whole number from 0 to {SEED_MAX}.")
    return int(seed)


def z_from_seed(seed: int, z_dim: int) -> np.ndarray:
    """The z of ``seed``: ``RandomState(seed).randn(z_dim)`` as float32 (the official scripts' rule)."""
    return np.random.RandomState(check_seed(seed)).randn(z_dim).astype(np.float32)


def lerp(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    """Linear interpolation (for w): ``a + t * (b - a)``."""
    return (np.asarray(a, np.float32) + np.float32(t) * (np.asarray(b, np.float32) - np.asarray(a, np.float32))).astype(np.float32)


def slerp(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    """Spherical interpolation (for Gaussian z): constant-speed along the great circle between
    ``a`` and ``b``, with the norm interpolated linearly; falls back to lerp for (anti)parallel inputs."""
    a64, b64 = np.asarray(a, np.float64), np.asarray(b, np.float64)
    na, nb = np.linalg.norm(a64), np.linalg.norm(b64)
    if na == 0 or nb == 0:
        return lerp(a, b, t)
    ua, ub = a64 / na, b64 / nb
    omega = math.acos(float(np.clip(np.dot(ua, ub), -1.0, 1.0)))
    if omega < 1e-6 or abs(omega - math.pi) < 1e-6:
        return lerp(a, b, t)
    direction = (math.sin((1 - t) * omega) * ua + math.sin(t * omega) * ub) / math.sin(omega)
    return (direction * ((1 - t) * na + t * nb)).astype(np.float32)
