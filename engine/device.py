"""Which device the engine runs on, and at what precision.

Selection order: an explicit choice (CLI ``--device`` or the ``GAN_STUDIO_DEVICE`` environment
variable: ``cuda``, ``cuda:1``, ``mps``, ``cpu`` or ``auto``), else CUDA, else Apple MPS, else CPU.
Precision (CLI ``--precision`` or ``GAN_STUDIO_PRECISION``): ``fp32`` (default, exact),
``fp16`` or ``bf16`` (CUDA only; faster, small differences), or ``auto`` (fp16 on CUDA, else fp32).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch

from engine.errors import DeviceError

DEVICE_ENV = "GAN_STUDIO_DEVICE"
PRECISION_ENV = "GAN_STUDIO_PRECISION"
_PRECISIONS = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


@dataclass(frozen=True)
class DeviceChoice:
    """The device and the compute dtype for inference; ``description`` is for the status bar."""

    device: torch.device
    dtype: torch.dtype
    description: str

    @property
    def precision(self) -> str:
        return {v: k for k, v in _PRECISIONS.items()}[self.dtype]


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def select_device(preference: str | None = None, precision: str | None = None) -> DeviceChoice:
    """Pick the device. ``preference``/``precision`` override the environment variables."""
    wanted = (preference or os.environ.get(DEVICE_ENV) or "auto").strip().lower()
    if wanted == "auto":
        if torch.cuda.is_available():
            device = torch.device("cuda")
        elif _mps_available():
            device = torch.device("mps")
        else:
            device = torch.device("cpu")
    else:
        try:
            device = torch.device(wanted)
        except RuntimeError:
            raise DeviceError(f"'{wanted}' is not a device name; use auto, cpu, cuda, cuda:N or mps.") from None
        if device.type == "cuda" and not torch.cuda.is_available():
            raise DeviceError(f"{DEVICE_ENV}/--device asks for '{wanted}' but no CUDA GPU is usable here; use cpu or auto.")
        if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
            raise DeviceError(f"'{wanted}' does not exist: this machine has {torch.cuda.device_count()} CUDA device(s).")
        if device.type == "mps" and not _mps_available():
            raise DeviceError("Apple MPS was asked for but is not available on this machine; use cpu or auto.")
        if device.type not in ("cpu", "cuda", "mps"):
            raise DeviceError(f"Device type '{device.type}' is not supported; use cpu, cuda or mps.")
    dtype = _select_dtype(device, precision or os.environ.get(PRECISION_ENV) or "fp32")
    return DeviceChoice(device=device, dtype=dtype, description=_describe(device, dtype))


def _select_dtype(device: torch.device, precision: str) -> torch.dtype:
    precision = precision.strip().lower()
    if precision == "auto":
        return torch.float16 if device.type == "cuda" else torch.float32
    if precision not in _PRECISIONS:
        raise DeviceError(f"Precision '{precision}' is not known; use fp32, fp16, bf16 or auto.")
    dtype = _PRECISIONS[precision]
    if dtype != torch.float32 and device.type != "cuda":
        raise DeviceError(f"{precision} inference is only offered on CUDA GPUs; use fp32 on {device.type}.")
    if dtype == torch.bfloat16 and not torch.cuda.is_bf16_supported():
        raise DeviceError("This GPU does not support bf16; use fp16 or fp32.")
    return dtype


def _describe(device: torch.device, dtype: torch.dtype) -> str:
    precision = {v: k for k, v in _PRECISIONS.items()}[dtype]
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        return f"CUDA: {torch.cuda.get_device_name(index)} ({precision})"
    if device.type == "mps":
        return f"Apple MPS ({precision})"
    return f"CPU, {torch.get_num_threads()} threads ({precision})"
