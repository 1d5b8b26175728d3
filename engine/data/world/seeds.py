"""The seed rule: seeds ``0 .. 999,999`` are for training; ``1,000,000`` and up are held out for
evaluation (every metric of :mod:`engine.eval` uses held-out seeds only)."""

from __future__ import annotations

#: training seeds are 0 .. TRAIN_SEEDS - 1
TRAIN_SEEDS = 1_000_000
#: the first held-out (evaluation) seed
HELD_OUT_START = TRAIN_SEEDS


def is_held_out(seed: int) -> bool:
    """Whether ``seed`` is reserved for evaluation (never used to train)."""
    return int(seed) >= HELD_OUT_START
