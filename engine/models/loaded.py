"""What every loader returns and every pipeline runs: a model ready to use, with its config.

``LoadedModel`` belongs to the models, not to any loader: loaders build it, pipelines, the
model cache and the trainers use it. Config dataclasses round-trip through JSON-able dicts with
``config_to_dict`` / ``config_from_dict`` (saved in every GAN Studio checkpoint).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping

import torch
from torch import nn

from engine.errors import CheckpointError
from engine.types import ModelSummary


@dataclass
class LoadedModel:
    """A model ready to run: its networks in eval mode, the config it was built from, its label set.

    ``networks`` maps a role to a module, e.g. ``{"G": generator, "E": style_encoder}``.
    ``config`` is the family's config dataclass (saved in every gan-studio checkpoint).
    ``label_set`` is a label-set dict in the assets format, or None.
    """

    path: str
    family: str
    source_format: str
    config: Any
    networks: dict[str, nn.Module]
    label_set: dict[str, Any] | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    #: per-model working memory of the pipelines (e.g. cached activations of the last render);
    #: only touched on the engine thread.
    runtime_cache: dict[str, Any] = field(default_factory=dict)

    def parameters(self) -> Iterator[torch.nn.Parameter]:
        for net in self.networks.values():
            yield from net.parameters()

    def parameter_count(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def nbytes(self) -> int:
        """Bytes held by parameters and buffers (what the model cache bounds)."""
        total = 0
        for net in self.networks.values():
            for t in list(net.parameters()) + list(net.buffers()):
                total += t.numel() * t.element_size()
        return total

    def to(self, device: torch.device | str) -> "LoadedModel":
        device = torch.device(device)
        for net in self.networks.values():
            net.to(device)
        self.device = device
        return self

    def capabilities(self) -> tuple[str, ...]:
        caps = getattr(self.config, "capabilities", None)
        if callable(caps):
            return tuple(caps())
        return ()

    def summary(self) -> ModelSummary:
        return ModelSummary(
            path=self.path,
            family=self.family,
            source_format=self.source_format,
            config=config_to_dict(self.config),
            parameter_count=self.parameter_count(),
            networks=tuple(self.networks),
            capabilities=self.capabilities(),
            label_set=self.label_set,
            metadata=dict(self.metadata),
            notes=tuple(self.notes),
        )


def config_to_dict(config: Any) -> dict[str, Any]:
    """A config dataclass as JSON-able values (tuples become lists)."""
    if config is None:
        return {}
    if dataclasses.is_dataclass(config):
        return json.loads(json.dumps(dataclasses.asdict(config), default=str))
    if isinstance(config, Mapping):
        return json.loads(json.dumps(dict(config), default=str))
    raise TypeError(f"config must be a dataclass or a mapping, got {type(config).__name__}")


def config_from_dict(cls: type, values: Mapping[str, Any]) -> Any:
    """Build config dataclass ``cls`` from ``values``; unknown keys are an error, not ignored."""
    names = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(names))
    if unknown:
        raise CheckpointError(
            f"The stored {cls.__name__} has fields this version of GAN Studio does not know: "
            f"{', '.join(unknown)}. The checkpoint was probably written by a newer version; update GAN Studio."
        )
    kwargs = {}
    for name, value in values.items():
        f = names[name]
        if isinstance(value, list) and ("tuple" in str(f.type)):
            value = _to_tuple(value)
        kwargs[name] = value
    return cls(**kwargs)


def _to_tuple(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_to_tuple(v) for v in value)
    return value
