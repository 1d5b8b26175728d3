"""The shared training loop: every family's run goes through :func:`run_training`.

What it does around a family trainer's ``train_step``: reads the run's options, checks the dataset
(the checker's errors stop the start), builds the trainer, restores the newest checkpoint on a
resume, then per iteration fetches this process's share of the global batch, zeroes gradients,
calls ``train_step`` and, every ``log_every`` steps, appends a progress line (losses averaged
over the interval, images/s, ETA); every ``sample_every`` steps it writes the preview grid; every
``checkpoint_every`` steps or ``checkpoint_minutes`` minutes it writes the full state and
``latest.safetensors``.

Stopping: a ``STOP`` file in the run directory, SIGTERM or SIGINT, or ``should_stop()`` ends
the run after the current iteration with a final checkpoint. A NaN or infinite loss stops the
run at once WITHOUT saving (its parameters are suspect): the last good checkpoint stays the
newest. A failed save (e.g. a full disk) stops the run with a message; the previous checkpoint
is intact because every file is written atomically.

Determinism: weights come from ``torch.manual_seed(seed)``, then the global RNGs are seeded with
``seed + rank``; sampling is stateless (:mod:`engine.training.data`); previews and exports run
with the RNG states saved and restored and the networks' train/eval modes restored, so they never
change the training. The checkpoint holds every RNG state, so on the CPU with ``deterministic``
a run resumed from step k ends with the same parameters as one that never stopped.
"""

from __future__ import annotations

import contextlib
import logging
import math
import random
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import torch

from engine.data import folders
from engine.errors import EngineError, InputError
from engine.training import distributed as dist_util
from engine.training.data import Prefetcher, TrainData
from engine.training.families import trainer_class
from engine.training.options import TrainOptions, resolve
from engine.training.rundir import RunDir
from engine.training.trainer import NonFiniteError, RunContext, Trainer

log = logging.getLogger(__name__)

STATE_VERSION = 1


@dataclass(frozen=True)
class RunResult:
    """How a run ended: ``state`` is "done", "stopped" or "failed"; ``step`` the iterations done."""

    state: str
    step: int
    message: str = ""
    checkpoint_step: int | None = None


# ---------------------------------------------------------------------------------------------
# RNG state


def rng_state() -> dict[str, Any]:
    """Every global RNG state (torch CPU and CUDA, numpy, python) as storable values."""
    name, keys, pos, has_gauss, gauss = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "cuda": list(torch.cuda.get_rng_state_all()) if torch.cuda.is_available() and torch.cuda.is_initialized() else [],
        "numpy": [name, keys.astype(np.int64), int(pos), int(has_gauss), float(gauss)],
        "python": random.getstate(),
    }


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    if state.get("cuda") and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    name, keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, gauss))
    random.setstate(state["python"])


def seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)


@contextlib.contextmanager
def side_effect_free(trainer: Trainer) -> Iterator[None]:
    """Run previews/exports without touching RNGs, gradients or the networks' train/eval modes."""
    modes = [(m, m.training) for net in trainer.networks().values() for m in net.modules()]
    saved = rng_state()
    try:
        with torch.no_grad():
            yield
    finally:
        set_rng_state(saved)
        for module, training in modes:
            module.train(training)


# ---------------------------------------------------------------------------------------------
# state of a trainer


def trainer_state(trainer: Trainer, step: int, elapsed_s: float) -> dict[str, Any]:
    return {
        "version": STATE_VERSION,
        "family": trainer.family,
        "step": step,
        "elapsed_s": elapsed_s,
        "networks": {name: net.state_dict() for name, net in trainer.networks().items()},
        "optimizers": {name: opt.state_dict() for name, opt in trainer.optimizers().items()},
        "scaler": trainer.scaler_state(),
        "extra": trainer.extra_state(),
        "rng": rng_state(),
    }


def load_trainer_state(trainer: Trainer, state: dict[str, Any]) -> None:
    if state.get("family") != trainer.family:
        raise InputError(f"The checkpoint holds a {state.get('family')} run, not {trainer.family}.")
    nets, opts = trainer.networks(), trainer.optimizers()
    if set(state["networks"]) != set(nets) or set(state["optimizers"]) != set(opts):
        raise InputError(
            f"The checkpoint's networks {sorted(state['networks'])} / optimizers {sorted(state['optimizers'])} do not match "
            f"this {trainer.family} trainer's {sorted(nets)} / {sorted(opts)}; it was saved by another version."
        )
    for name, net in nets.items():
        net.load_state_dict(state["networks"][name], strict=True)
    for name, opt in opts.items():
        opt.load_state_dict(state["optimizers"][name])
    trainer.load_scaler_state(state.get("scaler"))
    trainer.load_extra_state(state.get("extra") or {})
    set_rng_state(state["rng"])


# ---------------------------------------------------------------------------------------------
# the loop


def tensorboard_writer(folder: Path) -> Any:
    """A TensorBoard SummaryWriter writing into ``folder`` when tensorboard is installed (the
    optional ``train`` extra), else None."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        return None
    return SummaryWriter(log_dir=str(folder))


class _StopFlag:
    """Set by SIGTERM/SIGINT; the loop checks it once per iteration."""

    def __init__(self) -> None:
        self.signal: int | None = None
        self._previous: dict[int, Any] = {}

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in (signal.SIGTERM, signal.SIGINT):
            self._previous[sig] = signal.signal(sig, self._handle)

    def _handle(self, signum: int, frame: Any) -> None:
        self.signal = signum

    def restore(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


def prepare_data(opts: TrainOptions, layout: str, *, check: bool = True) -> TrainData:
    """Check the dataset (errors stop the start) and wrap it as :class:`TrainData`."""
    if check:
        report = folders.check(layout, opts.data, opts.resolution, opts.get("label_nc"))
        for warning in report.warnings:
            log.warning("dataset: %s", warning)
        if not report.ok:
            raise InputError("The dataset is not ready:\n" + "\n".join(f"- {e}" for e in report.errors))
    return TrainData(folders.scan(layout, opts.data), opts.resolution, load_size=opts.get("load_size"),
                     resize=opts.get("resize", "short_side"), flip=bool(opts.flip), seed=opts.seed,
                     label_nc=opts.get("label_nc"))


def resolve_device(opts: TrainOptions, info: dist_util.ProcessInfo) -> torch.device:
    from engine.device import select_device

    device = select_device(opts.device).device
    if device.type == "cuda" and info.distributed:
        device = torch.device("cuda", info.local_rank)
        torch.cuda.set_device(device)
    return device


def run_training(run_dir: str | Path, *, resume: bool = False,
                 on_progress: Callable[[dict[str, Any]], None] | None = None,
                 should_stop: Callable[[], bool] | None = None) -> RunResult:
    """Run (or resume) the training run in ``run_dir`` (prepared with :meth:`RunDir.prepare`)."""
    rd = RunDir(run_dir)
    raw = rd.read_options()
    cls = trainer_class(raw.family)
    opts = resolve(raw, cls.defaults, cls.losses)
    info = dist_util.env_info()
    if opts != raw and info.rank == 0:
        rd.write_options(opts)  # options.json holds every value the run uses, family defaults included
    device = resolve_device(opts, info)
    info = dist_util.init_from_env(device)
    deterministic_before = torch.are_deterministic_algorithms_enabled()
    warn_only_before = torch.is_deterministic_algorithms_warn_only_enabled()
    try:
        loop = TrainLoop(rd, opts, cls, device, info, on_progress, should_stop)
        return loop.run(resume)
    finally:
        torch.use_deterministic_algorithms(deterministic_before, warn_only=warn_only_before)
        dist_util.shutdown()


class TrainLoop:
    """One process's run; :func:`run_training` builds and runs it."""

    def __init__(self, rd: RunDir, opts: TrainOptions, cls: type[Trainer], device: torch.device,
                 info: dist_util.ProcessInfo, on_progress: Callable[[dict[str, Any]], None] | None = None,
                 should_stop: Callable[[], bool] | None = None) -> None:
        self.rd, self.opts, self.cls, self.device, self.info = rd, opts, cls, device, info
        self.main = info.rank == 0
        self.on_progress = on_progress
        self.should_stop = should_stop
        self.step = 0
        self.checkpoint_step: int | None = None
        self.elapsed_before = 0.0
        self.tensorboard: Any = None
        if opts.batch % info.world_size:
            raise InputError(f"--batch {opts.batch} does not divide over {info.world_size} processes; "
                             f"use a multiple of {info.world_size}.")

    # ---- reporting (rank 0) ------------------------------------------------------------------

    def _record(self, record: dict[str, Any]) -> None:
        if not self.main:
            return
        self.rd.append_progress(record)
        if self.on_progress is not None:
            self.on_progress(record)

    def _event(self, event: str, message: str = "", **more: Any) -> None:
        if message:
            log.info("%s", message)
        self._record({"kind": "event", "event": event, "step": self.step, "message": message, **more})

    def _status(self, state: str, message: str = "") -> None:
        if self.main:
            with contextlib.suppress(OSError):
                self.rd.write_status(state, self.step, self.opts.steps, message)

    # ---- setup -------------------------------------------------------------------------------

    def _build(self, resume: bool) -> Trainer:
        opts = self.opts
        if opts.deterministic:
            torch.use_deterministic_algorithms(True, warn_only=True)
            torch.backends.cudnn.benchmark = False
        data = prepare_data(opts, self.cls.layout, check=self.main)  # rank 0 checks; torchrun ends the others if it fails
        ctx = RunContext(self.rd.path, self.info.rank, self.info.world_size,
                         on_note=lambda message: self._event("note", message))
        seed_everything(opts.seed)
        trainer = self.cls(opts, data, self.device, ctx)
        if opts.channels_last:
            for net in trainer.networks().values():
                net.to(memory_format=torch.channels_last)
        if self.info.distributed:
            dist_util.broadcast_module_state(trainer.networks().values())
        seed_everything(opts.seed + self.info.rank)
        if resume:
            loaded = self.rd.load_latest_state(on_skip=lambda message: self._event("note", message))
            if loaded is None:
                self._event("note", "no complete checkpoint to resume from: the run starts at step 0")
            else:
                step, state = loaded
                load_trainer_state(trainer, state)
                self.step = self.checkpoint_step = step
                self.elapsed_before = float(state.get("elapsed_s", 0.0))
                if self.info.distributed:  # the state holds rank 0's RNG: give each process its own stream again
                    seed_everything(opts.seed + self.info.rank + 7919 * step)
        return trainer

    # ---- checkpoints and samples ---------------------------------------------------------

    def save(self, trainer: Trainer, elapsed_s: float) -> None:
        """Write the state checkpoint, then latest.safetensors (rank 0); OSError -> EngineError."""
        if not self.main:
            return
        from engine.loaders import native

        try:
            with side_effect_free(trainer):
                state = trainer_state(trainer, self.step, elapsed_s)
                self.rd.save_state(self.step, state, self.opts.keep)
                model = trainer.export()
                native.save(model, self.rd.latest_path,
                            training_recipe={"family": self.opts.family, "step": self.step, "options": self.opts.to_dict()},
                            source=f"trained: {self.rd.path.name}, step {self.step}")
        except OSError as exc:
            before = (f"the previous checkpoint (step {self.checkpoint_step}) is intact"
                      if self.checkpoint_step is not None else "no checkpoint had been written yet")
            raise EngineError(
                f"Saving the checkpoint at step {self.step} failed: {exc.strerror or exc}. {before.capitalize()}. "
                "Free some disk space (or fix the folder's permissions), then resume the run."
            ) from exc
        self.checkpoint_step = self.step
        self._event("checkpoint", f"checkpoint at step {self.step}")

    def sample(self, trainer: Trainer, fixed: dict[str, torch.Tensor]) -> None:
        if not self.main:
            return
        from engine.imageio import write_png

        with side_effect_free(trainer):
            grid = trainer.preview(fixed)
        grid = np.asarray(grid)
        if grid.dtype != np.uint8 or grid.ndim != 3 or grid.shape[2] != 3:
            raise TypeError(f"{type(trainer).__name__}.preview must return HxWx3 uint8, got {grid.dtype} {grid.shape}")
        path = self.rd.sample_path(self.step)
        write_png(path, grid)
        write_png(self.rd.samples_dir / "latest.png", grid)
        if self.tensorboard is not None:
            self.tensorboard.add_image("samples", grid, self.step, dataformats="HWC")
        self._event("sample", path=str(path.relative_to(self.rd.path)))

    # ---- the loop ----------------------------------------------------------------------------

    def run(self, resume: bool) -> RunResult:
        opts = self.opts
        stop = _StopFlag()
        self._status("running", "starting")
        try:
            trainer = self._build(resume)
        except EngineError as exc:
            self._status("failed", str(exc))
            self._event("error", str(exc))
            raise
        if self.main:
            self.rd.clear_stop()
        self._event("resume" if self.step else "start",
                    f"{opts.family}: step {self.step} of {opts.steps}, {len(trainer.data)} images, "
                    f"{self.info.world_size} process(es) on {self.device}")
        fixed = {k: v.to(self.device) for k, v in trainer.data.fixed_batch(opts.preview_count).items()}
        if self.main:
            self.tensorboard = tensorboard_writer(self.rd.path / "tensorboard")
        stop.install()
        try:
            result = self._iterate(trainer, fixed, stop)
        except OSError as exc:
            message = (f"The run stopped at step {self.step}: {exc.strerror or exc} ({getattr(exc, 'filename', '') or 'a file'}). "
                       "Free some disk space or fix the folder's permissions, then resume the run.")
            self._status("failed", message)
            raise EngineError(message) from exc
        except EngineError as exc:
            self._status("failed", str(exc))
            self._event("error", str(exc))
            raise
        finally:
            stop.restore()
            if self.tensorboard is not None:
                self.tensorboard.close()
        if self.main:
            self.rd.clear_stop()
        self._status(result.state, result.message)
        self._event({"done": "done", "stopped": "stop"}.get(result.state, "error"), result.message)
        return result

    def _iterate(self, trainer: Trainer, fixed: dict[str, torch.Tensor], stop: _StopFlag) -> RunResult:
        opts, info = self.opts, self.info
        prefetch = Prefetcher(trainer.data, opts.batch, info.rank, info.world_size)
        try:
            return self._iterations(trainer, fixed, stop, prefetch)
        finally:
            prefetch.close()

    def _iterations(self, trainer: Trainer, fixed: dict[str, torch.Tensor], stop: _StopFlag,
                    prefetch: Prefetcher) -> RunResult:
        opts, info = self.opts, self.info
        local = opts.batch // info.world_size
        start = time.monotonic()
        last_save = start
        window_start, window_steps = start, 0
        sums: dict[str, float] = {}
        nets = list(trainer.networks().values())
        while self.step < opts.steps:
            batch = prefetch.get(self.step, prefetch_next=self.step + 1 < opts.steps)
            batch = {k: v.to(self.device, non_blocking=True) for k, v in batch.items()}
            if info.distributed:
                dist_util.broadcast_module_state(nets, buffers_only=True)
            trainer.zero_all_grads()
            try:
                losses = trainer.train_step(batch, self.step)
                trainer.end_iteration()
                bad = [k for k, v in losses.items() if not math.isfinite(v)]
            except NonFiniteError as exc:
                losses, bad = {"gradients": math.nan}, [str(exc)]
            if info.distributed and dist_util.any_rank(bool(bad), self.device):
                bad = bad or ["(in another process)"]
            if bad:
                return self._non_finite(losses, bad)
            self.step += 1
            window_steps += 1
            for k, v in losses.items():
                sums[k] = sums.get(k, 0.0) + v
            now = time.monotonic()
            if self.step % opts.log_every == 0 or self.step == opts.steps:
                self._log(sums, window_steps, now - window_start, now - start, local * info.world_size)
                sums, window_start, window_steps = {}, now, 0
            if self.step % opts.sample_every == 0:
                self.sample(trainer, fixed)
            wants_stop = stop.signal is not None or (self.main and self.rd.stop_requested()) or \
                bool(self.should_stop and self.should_stop())
            minutes_due = self.main and (now - last_save) >= opts.checkpoint_minutes * 60
            if info.distributed:  # every process must take the same branch
                wants_stop = dist_util.any_rank(wants_stop, self.device)
                minutes_due = dist_util.any_rank(minutes_due, self.device)
            if (self.step % opts.checkpoint_every == 0 or minutes_due) and self.step < opts.steps and not wants_stop:
                self.save(trainer, self.elapsed_before + now - start)
                last_save = time.monotonic()
            if wants_stop:
                break
        elapsed = self.elapsed_before + time.monotonic() - start
        if self.checkpoint_step != self.step:
            self.save(trainer, elapsed)
        if self.main and (self.step % opts.sample_every != 0):
            self.sample(trainer, fixed)
        if self.step >= opts.steps:
            return RunResult("done", self.step, f"finished {self.step} steps", self.checkpoint_step)
        why = "a stop was asked for"
        if stop.signal is not None:
            why = f"signal {signal.Signals(stop.signal).name}"
        return RunResult("stopped", self.step, f"stopped at step {self.step} ({why}); resume to continue", self.checkpoint_step)

    def _non_finite(self, losses: dict[str, float], bad: list[str]) -> RunResult:
        shown = ", ".join(f"{k}: {losses.get(k)}" for k in bad)
        kept = (f"the last good checkpoint (step {self.checkpoint_step}) is kept"
                if self.checkpoint_step is not None else "no checkpoint had been written yet")
        message = (f"The losses became NaN or infinite at step {self.step + 1} ({shown}); the run stopped and {kept}. "
                   "Lower the learning rates (or turn mixed precision off) and resume.")
        log.error("%s", message)
        return RunResult("failed", self.step, message, self.checkpoint_step)

    def _log(self, sums: dict[str, float], steps: int, window_s: float, elapsed_s: float, global_batch: int) -> None:
        rate = steps / window_s if window_s > 0 else 0.0
        remaining = self.opts.steps - self.step
        record = {
            "kind": "log",
            "step": self.step,
            "steps": self.opts.steps,
            "losses": {k: v / steps for k, v in sums.items()},
            "images_per_s": rate * global_batch,
            "elapsed_s": self.elapsed_before + elapsed_s,
            "eta_s": remaining / rate if rate > 0 else None,
        }
        self._record(record)
        if self.tensorboard is not None:
            for name, value in record["losses"].items():
                self.tensorboard.add_scalar(f"loss/{name}", value, self.step)
            self.tensorboard.add_scalar("images_per_s", record["images_per_s"], self.step)
