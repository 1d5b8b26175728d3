"""numpy arrays <-> QImage, for display only (no colour management)."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage


def to_display_uint8(array: np.ndarray) -> np.ndarray:
    """Bring an image array to uint8 for display.

    Accepts HxW (grey), HxWx1, HxWx3 (RGB) or HxWx4 (RGBA) in uint8, uint16 (full 16-bit range),
    bool, or float (0..1). Returns a C-contiguous uint8 array of HxW, HxWx3 or HxWx4.
    """
    a = np.asarray(array)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (3, 4)):
        raise ValueError(f"cannot display an array of shape {a.shape}; expected HxW, HxWx3 or HxWx4")
    if a.dtype == np.uint8:
        pass
    elif a.dtype == np.bool_:
        a = a.astype(np.uint8) * 255
    elif a.dtype == np.uint16:
        a = (a >> 8).astype(np.uint8)
    elif np.issubdtype(a.dtype, np.floating):
        a = (np.clip(np.nan_to_num(a), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    elif np.issubdtype(a.dtype, np.integer):
        a = np.clip(a, 0, 255).astype(np.uint8)
    else:
        raise ValueError(f"cannot display an array of dtype {a.dtype}")
    return np.ascontiguousarray(a)


def array_to_qimage(array: np.ndarray) -> QImage:
    """A QImage that owns a copy of the pixels of ``array`` (see :func:`to_display_uint8`)."""
    a = to_display_uint8(array)
    height, width = a.shape[:2]
    if a.ndim == 2:
        fmt, channels = QImage.Format.Format_Grayscale8, 1
    elif a.shape[2] == 3:
        fmt, channels = QImage.Format.Format_RGB888, 3
    else:
        fmt, channels = QImage.Format.Format_RGBA8888, 4
    image = QImage(a.data, width, height, width * channels, fmt)
    return image.copy()  # detach from the numpy buffer


def qimage_to_array(image: QImage) -> np.ndarray:
    """An HxWx4 uint8 RGBA copy of ``image`` (for tests and screenshots)."""
    rgba = image.convertToFormat(QImage.Format.Format_RGBA8888)
    width, height = rgba.width(), rgba.height()
    buffer = np.frombuffer(rgba.constBits(), dtype=np.uint8, count=rgba.sizeInBytes())
    return buffer.reshape(height, rgba.bytesPerLine())[:, : width * 4].reshape(height, width, 4).copy()
