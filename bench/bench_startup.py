"""Time from process start to the main window's first painted frame, against importing torch.

Each measurement runs a fresh Python process: the parent notes the wall-clock time just before
starting it, the child prints the wall-clock time (``time.time()``, seconds) at the moment it is
done, and the difference is the figure (interpreter start and imports included). Measured in the
same run:

* ``window``: ``main.py``'s GUI path (DeferredEngine + gui.app.run_gui, throwaway settings)
  until the window's ``first_frame`` signal;
* ``import torch``: ``python -c "import torch"`` (the baseline: what the window used to wait for);
* ``window + engine``: the same window, until the engine (torch) is also ready.

Usage: ``python bench/bench_startup.py [--repeat N]``. Prints medians and ratios; QT_QPA_PLATFORM
defaults to offscreen.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

WINDOW_CHILD = r"""
import os, sys, time
from PySide6.QtCore import QSettings
from engine.deferred import DeferredEngine
from gui.app import run_gui

folder = sys.argv[1]
wait_engine = sys.argv[2] == "engine"

def build_engine():
    from engine.service import Engine
    return Engine(device="cpu")

engine = DeferredEngine(build_engine, start=False)

def first_frame(window):
    if not wait_engine:
        print(f"T {time.time():.6f}", flush=True)
        os._exit(0)
    def poll():
        if engine.ready.is_set():
            print(f"T {time.time():.6f}", flush=True)
            os._exit(0)
    from PySide6.QtCore import QTimer
    timer = QTimer(window)
    timer.timeout.connect(poll)
    timer.start(5)

settings = QSettings(os.path.join(folder, "settings.ini"), QSettings.Format.IniFormat)
run_gui(engine, settings=settings, on_first_frame=first_frame, recovery_folder=os.path.join(folder, "recovery"))
"""

TORCH_CHILD = "import time, torch; print(f'T {time.time():.6f}', flush=True)"


def time_child(code: str, *args: str) -> float:
    """Seconds from just before starting ``python -c code args`` to the time the child prints."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"))
    start = time.time()
    out = subprocess.run([sys.executable, "-c", code, *args], env=env, cwd=ROOT, capture_output=True, text=True,
                         timeout=300)
    stamps = [line for line in out.stdout.splitlines() if line.startswith("T ")]
    if not stamps:
        raise RuntimeError(f"the child printed no time (exit {out.returncode}): {out.stderr[-2000:]}")
    return float(stamps[-1][2:]) - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    results: dict[str, list[float]] = {"window": [], "import torch": [], "window + engine": []}
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(args.repeat):  # interleaved, so load on the machine hits all alike
            results["window"].append(time_child(WINDOW_CHILD, folder, "window"))
            results["import torch"].append(time_child(TORCH_CHILD))
            results["window + engine"].append(time_child(WINDOW_CHILD, folder, "engine"))
    medians = {name: statistics.median(times) for name, times in results.items()}
    baseline = medians["import torch"]
    for name, times in results.items():
        print(f"{name:16s} median {medians[name]:6.3f} s  (runs: {', '.join(f'{t:.3f}' for t in times)})"
              f"  ratio to import torch: {medians[name] / baseline:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
