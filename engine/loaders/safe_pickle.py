"""A restricted unpickler for network pickles (NVlabs StyleGAN2-ADA / StyleGAN3 ``.pkl``).

Official network pickles embed the source of their modules and the official loader ``exec``s
it. This unpickler executes nothing from the file. It resolves only the globals in
:data:`ALLOWED_GLOBALS`, each mapped to a function of ours:

* ``torch_utils.persistence._reconstruct_persistent_obj(meta)`` becomes a
  :class:`PersistentObject` that keeps ``class_name``, ``state`` and the constructor kwargs;
  ``meta['module_src']`` is dropped unread;
* ``dnnlib.util.EasyDict`` becomes a plain ``dict``;
* tensors are rebuilt by torch's own rebuild helpers; each storage blob (a nested legacy
  ``torch.save`` stream) is read with ``torch.load(weights_only=True)``;
* numpy scalars and dtypes become numpy values (no code runs for them).

Any other global (``os.system``, ``builtins.eval``, an unknown class ...) raises
:class:`UnsafePickleError` naming it, before anything is called.
"""

from __future__ import annotations

import collections
import io
import logging
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import torch

from engine.errors import CheckpointError, UnsafePickleError

log = logging.getLogger(__name__)


@dataclass
class PersistentObject:
    """A module object from a network pickle, reconstructed as plain data.

    ``class_name``: e.g. ``"Generator"``; ``state``: the object's ``__dict__`` (``_parameters``,
    ``_buffers``, ``_modules``, plain attributes, ``_init_args``/``_init_kwargs``).
    """

    class_name: str
    module_name: str
    state: dict[str, Any] = field(default_factory=dict)

    @property
    def init_kwargs(self) -> dict[str, Any]:
        return dict(self.state.get("_init_kwargs") or {})

    @property
    def init_args(self) -> tuple[Any, ...]:
        return tuple(self.state.get("_init_args") or ())

    def children(self) -> dict[str, "PersistentObject"]:
        modules = self.state.get("_modules") or {}
        return {k: v for k, v in modules.items() if isinstance(v, PersistentObject)}

    def state_dict(self, prefix: str = "") -> dict[str, torch.Tensor]:
        """The tensors a ``torch.nn.Module.state_dict()`` of this object would hold."""
        out: dict[str, torch.Tensor] = {}
        for group in ("_parameters", "_buffers"):
            for name, value in (self.state.get(group) or {}).items():
                if isinstance(value, torch.Tensor):
                    out[prefix + name] = value.detach()
        for name, child in self.children().items():
            out.update(child.state_dict(prefix + name + "."))
        return out

    def walk(self) -> Iterator[tuple[str, "PersistentObject"]]:
        yield "", self
        for name, child in self.children().items():
            for sub, obj in child.walk():
                yield (name + "." + sub if sub else name), obj


def _reconstruct_persistent_obj(meta: Any) -> PersistentObject:
    if not isinstance(meta, dict) or meta.get("type") != "class" or "state" not in meta:
        raise UnsafePickleError("The network pickle holds a persistent object of an unknown layout; it cannot be loaded safely.")
    state = meta.get("state")
    if not isinstance(state, dict):
        raise UnsafePickleError("The network pickle holds a persistent object whose state is not a plain dict.")
    module_src = meta.get("module_src") or ""
    return PersistentObject(
        class_name=str(meta.get("class_name", "?")),
        module_name=f"<embedded source, {len(module_src)} characters, not executed>",
        state=state,
    )


class PlainDict(dict):
    """Stands in for ``dnnlib.EasyDict``: a dict, with no behaviour of its own."""


def _load_storage_from_bytes(blob: bytes) -> Any:
    if not isinstance(blob, (bytes, bytearray)):
        raise UnsafePickleError("A tensor storage in the pickle is not a byte string.")
    try:
        return torch.load(io.BytesIO(blob), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise UnsafePickleError(f"A tensor storage inside the pickle holds more than tensor data ({str(exc)[:120]}).") from exc


def _numpy_scalar(dtype: Any, data: Any = None) -> Any:
    if not isinstance(dtype, np.dtype) or dtype.hasobject:
        raise UnsafePickleError("The pickle holds a numpy scalar of an object dtype, which is not allowed.")
    if not isinstance(data, (bytes, bytearray)):
        raise UnsafePickleError("The pickle holds a numpy scalar without raw data.")
    return np.frombuffer(bytes(data), dtype=dtype, count=1)[0]


def _numpy_dtype(name: Any, align: bool = False, copy: bool = False) -> np.dtype:
    if not isinstance(name, str) or name.startswith("O") or name in ("object",):
        raise UnsafePickleError(f"The pickle asks for numpy dtype {name!r}, which is not allowed.")
    return np.dtype(name)


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False, backward_hooks=None, metadata=None):
    return torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, collections.OrderedDict())


def _rebuild_parameter(data, requires_grad, backward_hooks=None, *rest):
    return torch.nn.Parameter(data, requires_grad=False)


ALLOWED_GLOBALS: dict[tuple[str, str], Callable[..., Any] | type] = {
    ("torch_utils.persistence", "_reconstruct_persistent_obj"): _reconstruct_persistent_obj,
    ("dnnlib.util", "EasyDict"): PlainDict,
    ("dnnlib", "EasyDict"): PlainDict,
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch.storage", "_load_from_bytes"): _load_storage_from_bytes,
    ("numpy.core.multiarray", "scalar"): _numpy_scalar,
    ("numpy._core.multiarray", "scalar"): _numpy_scalar,
    ("numpy", "dtype"): _numpy_dtype,
}


class RestrictedUnpickler(pickle.Unpickler):
    """An Unpickler that resolves only :data:`ALLOWED_GLOBALS` and refuses everything else."""

    def find_class(self, module: str, name: str) -> Any:
        try:
            return ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise UnsafePickleError(
                f"The pickle asks for '{module}.{name}', which GAN Studio does not allow: it only reads "
                "network weights and never runs code from a file. If this is a genuine network pickle "
                "of a kind GAN Studio does not know yet, export its state_dict to .pth or .safetensors."
            ) from None

    def persistent_load(self, pid: Any) -> Any:
        raise UnsafePickleError("The pickle refers to external storage (a persistent id) that a network pickle should not use.")


def loads(data: bytes) -> Any:
    """Unpickle ``data`` with :class:`RestrictedUnpickler`."""
    return RestrictedUnpickler(io.BytesIO(data)).load()


def load_pickle_file(path: Path) -> Any:
    """Read a network pickle safely; errors say what was wrong and never run anything."""
    try:
        with open(path, "rb") as handle:
            return RestrictedUnpickler(handle).load()
    except UnsafePickleError as exc:
        raise UnsafePickleError(f"{path.name}: {exc}") from exc
    except (EOFError, pickle.UnpicklingError, ValueError, TypeError, IndexError, KeyError, AttributeError, RuntimeError, MemoryError) as exc:
        raise CheckpointError(
            f"{path.name} could not be read as a network pickle ({type(exc).__name__}: {str(exc)[:160]}). "
            "It may be truncated (an interrupted download) or not a pickle; get a fresh copy."
        ) from exc
    except OSError as exc:
        raise CheckpointError(f"{path.name} could not be opened: {exc.strerror or exc}.") from exc
