"""A guard against a reference-count bug of the installed PySide6 on CPython < 3.12.

PySide6 6.12 on CPython 3.11 drops one reference to ``None`` each time Python calls a C++ method
that returns void (``QLabel.setText``, ``QPainterPath.lineTo``, ``QCoreApplication.processEvents`` ...)
and adds one each time C++ calls a Python override (``paintEvent`` ...). Code that calls many void
methods per event (a plot drawing a line point by point, a label updated on a timer) drains
``None``'s count, and when it reaches zero the interpreter aborts with "none_dealloc: deallocating
None". Since CPython 3.12, ``None`` is immortal and none of this matters.

:func:`protect_none` raises ``None``'s reference count out of reach once per process (no memory is
used; ``None`` is a static object that is never freed anyway). The Train workspace calls it because
watching a run repaints its curves and labels for hours; the app's start-up is the better place
for it (``gui.app``), which the lead may move it to.
"""

from __future__ import annotations

import ctypes
import logging
import sys

log = logging.getLogger(__name__)

#: how many references are added (each buggy void call spends one; 2**40 is ~10**12 calls)
RESERVE = 1 << 40
_applied = False


def needed() -> bool:
    """True on CPython before 3.12 (``None`` is not immortal there)."""
    return sys.implementation.name == "cpython" and sys.version_info < (3, 12)


def protect_none() -> bool:
    """Raise ``None``'s reference count by :data:`RESERVE` once (idempotent); True when applied."""
    global _applied
    if _applied or not needed():
        return _applied
    refcount = ctypes.c_ssize_t.from_address(id(None))  # ob_refcnt, the first field of every PyObject
    refcount.value += RESERVE
    _applied = True
    log.info("raised None's reference count (PySide6 void-call reference bug on CPython %d.%d)", *sys.version_info[:2])
    return True
