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
