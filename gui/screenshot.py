"""Render the main window and each panel to PNG, offscreen: ``python -m gui.screenshot OUT_DIR``.

Options: ``--fake`` uses a stand-in engine (no torch at all); by default the real engine is
imported inside :func:`main` (this module itself never imports torch). Writes:

* ``main_window_empty.png``: fresh start, no model, no image (starter models turned off);
* ``main_window_first_minute.png``: what a newcomer sees: the shipped starter models loaded, Paint
  showing the example scene and its render (real engine only, when starter models are shipped);
* ``main_window_self_test.png``: after Help > Engine self-test, with an example model summary;
* ``panel_<name>.png``: each dock panel on its own.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import itertools
import os
import sys
import tempfile
import time
from typing import Any, Callable, Sequence

WINDOW_SIZE = (1400, 900)


class StandInEngine:
    """Just enough of the engine API to render screenshots without torch (``--fake``)."""

    device_description = "CPU (stand-in engine)"

    def __init__(self):
        self._ids = itertools.count(1)

    def submit(self, request: Any, channel: str | None = None, progress=None):
        import numpy as np

        from engine.types import ImageResult, TestPatternRequest

        future = concurrent.futures.Future()
        future.job_id, future.channel, future.request = next(self._ids), channel, request
        if isinstance(request, TestPatternRequest):
            ys, xs = np.mgrid[0:request.height, 0:request.width]
            image = np.stack([xs * 255 // max(1, request.width - 1), ys * 255 // max(1, request.height - 1),
                              np.full_like(xs, 160)], axis=-1).astype(np.uint8)
            future.set_result(ImageResult(image=image, duration_s=0.004))
        else:
            future.set_exception(NotImplementedError(type(request).__name__))
        return future

    def cancel(self, future) -> bool:
        return future.cancel()

    def cancel_channel(self, channel: str) -> None:
        pass

    def state(self):
        from engine.types import EngineState

        return EngineState(device=self.device_description, busy=False, queue_length=0, last_duration_s=0.004)

    def shutdown(self) -> None:
        pass


def example_summary():
    """A ModelSummary like a real SPADE checkpoint gives, to show the Models panel filled in."""
    from engine.types import ModelSummary

    return ModelSummary(
        path=os.path.expanduser("~/checkpoints/coco_pretrained/latest_net_G.pth"),
        family="spade", source_format="spade-official",
        config={"label_nc": 182, "ngf": 64, "norm_G": "spectralspadesyncbatch3x3",
                "num_upsampling_layers": "normal", "crop_size": 256, "use_vae": False},
        parameter_count=97_471_684, networks=("netG",), capabilities=("synthesize",),
        label_set={"name": "coco-stuff", "labels": [{}] * 182},
        notes=("Example summary for the screenshot.",),
    )


def _wait(app, condition: Callable[[], bool], timeout_s: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        app.processEvents()
        time.sleep(0.01)
    app.processEvents()
    return True


def main(argv: Sequence[str] | None = None, engine_factory: Callable[[], Any] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gui.screenshot", description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", help="folder to write the PNGs to")
    parser.add_argument("--fake", action="store_true", help="use a stand-in engine instead of the real one")
    args = parser.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    from PySide6.QtCore import QSettings

    from gui.app import create_application
    from gui.main_window import MainWindow

    app = create_application([sys.argv[0]])
    if engine_factory is None:
        if args.fake:
            engine_factory = StandInEngine
        else:
            from engine.service import Engine  # imports torch; only here, never at module import

            engine_factory = lambda: Engine(device="cpu")
    engine = engine_factory()
    os.makedirs(args.out_dir, exist_ok=True)
    written: list[str] = []

    def shoot(widget, name: str) -> None:
        app.processEvents()
        path = os.path.join(args.out_dir, f"{name}.png")
        if not widget.grab().save(path):
            raise OSError(f"could not write {path}")
        written.append(path)

    with tempfile.TemporaryDirectory() as tmp:
        settings = QSettings(os.path.join(tmp, "settings.ini"), QSettings.Format.IniFormat)
        window = MainWindow(engine, settings=settings, confirm_close=False,
                            recovery_folder=os.path.join(tmp, "recovery"), load_starters=False,
                            shutdown=lambda: None)  # the engine serves the first-minute window next
        window.resize(*WINDOW_SIZE)
        window.show()
        _wait(app, lambda: window.isVisible())
        shoot(window, "main_window_empty")

        window.run_self_test()
        if not _wait(app, lambda: window.document.has_image):
            raise RuntimeError("the engine self-test did not answer within 30 s")
        window.models_panel.model_loaded(example_summary())
        window._update_model_state()
        window.show_panel("Models")
        window.show_panel("Paint")
        shoot(window, "main_window_self_test")

        for title, panel in window.panels.items():
            dock = window.docks[title]
            dock.show()
            dock.raise_()
            app.processEvents()
            panel.resize(max(panel.width(), 340), max(panel.height(), 520))
            shoot(panel, f"panel_{title.lower()}")

        window.close()
        if not args.fake:
            _first_minute(app, engine, tmp, shoot)
        engine.shutdown()
    for path in written:
        print(path)
    return 0


def _first_minute(app, engine, tmp: str, shoot) -> None:
    """Open a window as a newcomer does (starter models on) and shoot it once Paint has rendered."""
    from PySide6.QtCore import QSettings

    from engine.starter import scan
    from gui.main_window import MainWindow

    if not scan().models:
        return
    settings = QSettings(os.path.join(tmp, "first.ini"), QSettings.Format.IniFormat)
    window = MainWindow(engine, settings=settings, confirm_close=False, recovery_folder=os.path.join(tmp, "rec2"),
                        load_starters=True, shutdown=lambda: None)
    window.resize(*WINDOW_SIZE)
    window.show()
    paint = window.workspace("Paint").session
    _wait(app, lambda: paint.last is not None and len(window.models_panel.summaries) == len(window.starters.paths),
          timeout_s=300)
    window.show_panel("Models")
    window.show_panel("Paint")
    shoot(window, "main_window_first_minute")
    window.close()


if __name__ == "__main__":
    sys.exit(main())
