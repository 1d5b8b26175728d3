"""Peak process memory (Linux), for the upscale benchmark and the bounded-memory test.

``reset_peak_rss()`` restarts the kernel's high-water mark (``/proc/self/clear_refs``); False where
that is not possible. ``peak_rss()`` is the high-water mark in bytes since then (``VmHWM``);
OSError where ``/proc`` has none.
"""

from __future__ import annotations


def reset_peak_rss() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
        return True
    except OSError:
        return False


def peak_rss() -> int:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise OSError("/proc/self/status has no VmHWM line")


def release_freed_memory() -> bool:
    """Hand memory that the C allocator keeps after big frees back to the system (glibc's
    ``malloc_trim(0)``, through ctypes). True when it ran; a no-op returning False elsewhere
    (macOS, Windows, musl). Cheap next to a job that freed hundreds of MB; call it after one."""
    import ctypes
    import ctypes.util
    import platform

    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim(ctypes.c_size_t(0))
    except (OSError, AttributeError):
        return False
    return True
