"""A guard against a reference-count bug of the installed PySide6 on CPython < 3.12.

PySide6 6.12.0 on CPython 3.11 drops one reference to ``None`` each time Python calls a C++ method
that returns void (``QLabel.setText``, ``QPainterPath.lineTo``, ``QCoreApplication.processEvents`` ...),
and one reference to ``True`` or ``False`` each time Python emits a signal (``emit`` returns a bool);
it adds one to ``None`` each time C++ calls a Python override (``paintEvent`` ...). An app that makes
many such calls (a plot drawn point by point, labels updated and signals emitted on a timer) drains
those counts, and when one reaches zero the interpreter aborts ("none_dealloc: deallocating None",
"bool_dealloc: deallocating True or False"), at once or when it exits. Since CPython 3.12 these
objects are immortal and none of this matters.

:func:`protect_singletons` raises the reference counts of ``None``, ``True`` and ``False`` out of
reach once per process (no memory is used: they are static objects that are never freed).
``gui.app.create_application`` calls it, so every window is covered. The project also excludes
PySide6 6.12.0 in its dependencies (6.11.3 has no such leak: 3,000 ``setText`` calls leave the
count of ``None`` unchanged); this guard covers an environment that has 6.12.0 all the same.
"""

from __future__ import annotations

import ctypes
import logging
import sys

log = logging.getLogger(__name__)

#: references added to each object (each buggy call spends one; 2**40 is ~10**12 calls)
RESERVE = 1 << 40
SINGLETONS = (None, True, False)
_applied = False


def needed() -> bool:
    """True on CPython before 3.12 (``None``, ``True`` and ``False`` are not immortal there)."""
    return sys.implementation.name == "cpython" and sys.version_info < (3, 12)


def protect_singletons() -> bool:
    """Raise the reference counts of ``None``, ``True`` and ``False`` by :data:`RESERVE` once
    (idempotent); True when applied."""
    global _applied
    if _applied or not needed():
        return _applied
    for obj in SINGLETONS:
        refcount = ctypes.c_ssize_t.from_address(id(obj))  # ob_refcnt, the first field of every PyObject
        refcount.value += RESERVE
    _applied = True
    log.info("raised the reference counts of None/True/False (PySide6 reference bug on CPython %d.%d)",
             *sys.version_info[:2])
    return True
