"""TrainOptions: everything that defines a training run (saved as the run's ``options.json``).

Fields left at ``None`` take the family's default (``Trainer.defaults``) and then the global
default in :data:`GLOBAL_DEFAULTS`; :func:`resolve` returns options with every field filled in.
Family-specific knobs (network widths, loss weights, ``--vae`` ...) live in ``extra``, a JSON-able
dict; a trainer reads them with ``opts.get("ngf", 64)``.

Units: ``steps`` are optimiser iterations (one batch each), ``batch`` is the GLOBAL batch (summed
over all processes of a distributed run), ``resolution`` is the training crop side in pixels,
``checkpoint_minutes`` is wall-clock minutes.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any, Mapping

from engine.errors import InputError

#: amp values: "off" (fp32), "bf16" (autocast, no scaler), "fp16" (autocast + grad scaler)
AMP_MODES = ("off", "bf16", "fp16")
#: augmentation on the discriminator's input (implemented by the families that train on few images)
AUGMENT_MODES = ("none", "ada", "diffaugment")


@dataclass(frozen=True)
class TrainOptions:
    """One training run's settings; see the module docstring for units and defaults."""

    family: str
    data: tuple[str, ...] = ()
    out: str = ""
    steps: int | None = None
    resolution: int | None = None
    batch: int | None = None
    lr_g: float | None = None
    lr_d: float | None = None
    betas: tuple[float, float] | None = None
    loss: str | None = None
    seed: int = 0
    from_ckpt: str | None = None
    amp: str = "off"
    channels_last: bool = False
    device: str = "auto"
    deterministic: bool = False
    augment: str | None = None
    freeze_d: int = 0
    flip: bool | None = None
    log_every: int | None = None
    sample_every: int | None = None
    checkpoint_every: int | None = None
    checkpoint_minutes: float | None = None
    keep: int | None = None
    preview_count: int | None = None
    preset: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    # ---- access ----------------------------------------------------------------------------

    def get(self, name: str, default: Any = None) -> Any:
        """A family-specific option from ``extra`` (e.g. ``opts.get("ngf", 64)``)."""
        return self.extra.get(name, default)

    def replace(self, **changes: Any) -> "TrainOptions":
        return dataclasses.replace(self, **changes)

    # ---- JSON ------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return json.loads(json.dumps(dataclasses.asdict(self)))

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> "TrainOptions":
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise InputError(
                f"The run options name settings this version of GAN Studio does not know: {', '.join(unknown)}. "
                "The run was probably started by a newer version; update GAN Studio or start a new run."
            )
        kwargs = dict(values)
        if kwargs.get("data") is not None:
            kwargs["data"] = tuple(kwargs["data"])
        if kwargs.get("betas") is not None:
            kwargs["betas"] = tuple(float(b) for b in kwargs["betas"])
        kwargs["extra"] = dict(kwargs.get("extra") or {})
        return cls(**kwargs)


#: defaults for every family, used where neither the user nor the family set a value
GLOBAL_DEFAULTS: dict[str, Any] = {
    "steps": 10000,
    "resolution": 256,
    "batch": 4,
    "lr_g": 2e-4,
    "lr_d": 2e-4,
    "betas": (0.5, 0.999),
    "augment": "none",
    "flip": True,
    "log_every": 10,
    "sample_every": 500,
    "checkpoint_every": 1000,
    "checkpoint_minutes": 15.0,
    "keep": 3,
    "preview_count": 8,
}

_FIELDS = {f.name for f in dataclasses.fields(TrainOptions)}


def resolve(opts: TrainOptions, family_defaults: Mapping[str, Any], losses: tuple[str, ...] = ()) -> TrainOptions:
    """Fill every ``None`` field from ``family_defaults`` then :data:`GLOBAL_DEFAULTS`; family
    defaults that are not fields go into ``extra`` unless the user set them there. Validates values."""
    changes: dict[str, Any] = {}
    for name, value in GLOBAL_DEFAULTS.items():
        if getattr(opts, name) is None:
            changes[name] = family_defaults.get(name, value)
    extra = dict(opts.extra)
    for name, value in family_defaults.items():
        if name not in _FIELDS and name not in extra:
            extra[name] = value
    if opts.loss is None and losses:
        changes["loss"] = losses[0]
    if changes.get("betas") is not None:
        changes["betas"] = tuple(float(b) for b in changes["betas"])
    resolved = dataclasses.replace(opts, extra=extra, **changes)
    validate(resolved, losses)
    return resolved


def validate(opts: TrainOptions, losses: tuple[str, ...] = ()) -> None:
    """Raise :class:`InputError` for values no run can use."""
    def need(ok: bool, message: str) -> None:
        if not ok:
            raise InputError(message)

    need(opts.steps is not None and opts.steps >= 1, f"--steps must be at least 1 (got {opts.steps}).")
    need(opts.resolution is not None and 4 <= opts.resolution <= 8192,
         f"--resolution must be between 4 and 8192 pixels (got {opts.resolution}).")
    need(opts.batch is not None and opts.batch >= 1, f"--batch must be at least 1 (got {opts.batch}).")
    need(opts.amp in AMP_MODES, f"amp must be one of {', '.join(AMP_MODES)} (got {opts.amp!r}).")
    need(opts.augment in AUGMENT_MODES, f"augment must be one of {', '.join(AUGMENT_MODES)} (got {opts.augment!r}).")
    need(opts.freeze_d >= 0, f"freeze_d counts discriminator layers; it cannot be negative (got {opts.freeze_d}).")
    if losses:
        need(opts.loss in losses, f"{opts.family} trains with --loss {' | '.join(losses)}, not {opts.loss!r}.")
    elif opts.loss is not None:
        raise InputError(f"{opts.family} has no loss choice; leave --loss out.")
    for name in ("log_every", "sample_every", "checkpoint_every", "keep", "preview_count"):
        value = getattr(opts, name)
        need(value is not None and value >= 1, f"{name} must be at least 1 (got {value}).")
