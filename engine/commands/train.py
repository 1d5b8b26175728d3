"""gan-studio train FAMILY --data DIR [DIR2] --out RUN_DIR [--steps N] [--resolution R] [--batch B]
[--from CKPT] [--resume] [--nproc N] [--preset NAME] [--check]

Checks the dataset (the report goes to stderr; errors stop the start), prepares the run directory
(:mod:`engine.training.rundir`), starts the run as its own process (:mod:`engine.training.launcher`;
``--nproc N`` through torchrun) and shows a progress bar (steps, losses, images/s, ETA) until it
ends. Ctrl-C asks the run to stop with a final checkpoint (a second Ctrl-C stops it at once with
SIGTERM, still checkpointing); ``--resume`` continues it. ``--check`` only checks the dataset.
Exit status: 0 done or stopped, 1 error (dataset, options, run failure), 3 NaN losses.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from engine.commands.common import parse_options
from engine.data import folders
from engine.errors import InputError
from engine.training import families, presets

log = logging.getLogger(__name__)

NAME = "train"
HELP = "train or fine-tune a model on your images (runs in its own process; resumable)"

#: flags that map onto TrainOptions fields (flag dest -> field)
_FIELD_FLAGS = ("steps", "resolution", "batch", "lr_g", "lr_d", "loss", "seed", "amp", "augment", "freeze_d",
                "log_every", "sample_every", "checkpoint_every", "checkpoint_minutes", "keep")


def _epilog() -> str:
    lines = ["families (dataset layout):"]
    available = families.present()
    for family, layout in families.LAYOUTS.items():
        note = "" if available.get(family) else "  [not available in this build]"
        lines.append(f"  {family:<16} {layout}{note}")
    lines.append("\npresets (--preset NAME):")
    lines += [f"  {p.name:<24} {p.family:<16} {p.title}" for p in presets.PRESETS.values()]
    lines.append("\ndataset layouts:")
    lines += [f"  {name:<9} {text}" for name, text in folders.LAYOUTS.items()]
    lines.append("\nexamples:\n  gan-studio train stylegan2 --data paintings/ --out runs/paint --from ffhq.pkl --preset finetune-stylegan2"
                 "\n  gan-studio train spade --data pairs/ --check"
                 "\n  gan-studio train --out runs/paint --resume")
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = _epilog()
    parser.add_argument("family", nargs="?", help="what to train (see the list below); optional with --preset or --resume")
    parser.add_argument("--data", nargs="+", metavar="DIR", help="the dataset folder (two folders A B for cyclegan)")
    parser.add_argument("--out", metavar="RUN_DIR", help="the run directory (created; must be new unless --resume)")
    parser.add_argument("--preset", help="start from a preset (explicit flags win)")
    parser.add_argument("--check", action="store_true", help="only check the dataset and print the report")
    parser.add_argument("--resume", action="store_true", help="continue the run in RUN_DIR from its newest checkpoint")
    parser.add_argument("--prepare", action="store_true",
                        help="check the dataset and create RUN_DIR, but start nothing (for torchrun on several machines)")
    parser.add_argument("--from", dest="from_ckpt", metavar="CKPT", help="fine-tune from a checkpoint the app opens")
    parser.add_argument("--nproc", type=int, default=1, help="processes (GPUs) on this machine, through torchrun; default 1")
    parser.add_argument("--steps", type=int, help="optimiser steps in all")
    parser.add_argument("--resolution", type=int, help="training crop size in pixels")
    parser.add_argument("--batch", type=int, help="global batch size (over all processes)")
    parser.add_argument("--loss", help="GAN loss, for families that offer a choice (hinge, lsgan, nonsaturating, wgan-gp)")
    parser.add_argument("--lr-g", dest="lr_g", type=float, help="generator learning rate")
    parser.add_argument("--lr-d", dest="lr_d", type=float, help="discriminator learning rate")
    parser.add_argument("--seed", type=int, help="random seed (default 0)")
    parser.add_argument("--amp", choices=("off", "bf16", "fp16"), help="mixed precision on GPUs (default off)")
    parser.add_argument("--channels-last", action="store_true", help="channels_last memory format (GPUs)")
    parser.add_argument("--deterministic", action="store_true", help="deterministic algorithms (exact resume on the CPU)")
    parser.add_argument("--augment", choices=("none", "ada", "diffaugment"), help="augmentation of the discriminator's input")
    parser.add_argument("--freeze-d", dest="freeze_d", type=int, help="freeze the first N discriminator layers (fine-tuning)")
    parser.add_argument("--log-every", dest="log_every", type=int, help="steps between progress lines")
    parser.add_argument("--sample-every", dest="sample_every", type=int, help="steps between preview grids")
    parser.add_argument("--checkpoint-every", dest="checkpoint_every", type=int, help="steps between checkpoints")
    parser.add_argument("--checkpoint-minutes", dest="checkpoint_minutes", type=float, help="minutes between checkpoints")
    parser.add_argument("--keep", type=int, help="state checkpoints kept (default 3)")
    parser.add_argument("--set", dest="extra", action="append", metavar="KEY=VALUE",
                        help="a family option (e.g. --set ngf=32 --set vae=true); repeatable")
    parser.add_argument("--vae", action="store_true",
                        help="spade: train the VAE style encoder too (the same as --set vae=true)")
    parser.add_argument("--threads", type=int, help="CPU threads of the run process")


def run(args: argparse.Namespace) -> int:
    from engine.training.rundir import RunDir

    preset = presets.get(args.preset) if args.preset else None
    family = _family(args, preset)
    if args.check:
        return _check(args, family)
    rd = RunDir(_need(args.out, "--out RUN_DIR"))
    if args.resume and rd.exists() and not args.data:
        opts = rd.read_options()
        if opts.family != family:
            raise InputError(f"{rd.path} holds a {opts.family} run, not {family}. Resume it as {opts.family}, "
                             "or give another folder for the new run.")
        if args.steps:
            opts = opts.replace(steps=args.steps)
    else:
        opts = _options(args, family, preset)
    cls = families.trainer_class(family)
    from engine.training.options import resolve

    resolved = resolve(opts, cls.defaults, cls.losses)
    report = folders.check(cls.layout, resolved.data, resolved.resolution, resolved.get("label_nc"))
    print(report.text(), file=sys.stderr)
    if not report.ok:
        return 1
    rd.prepare(resolved, resume=args.resume)
    if args.prepare:
        print(f"prepared {rd.path}; start it with: python -m engine.training.run {rd.path}")
        return 0
    return _launch(rd, args)


def _need(value: Any, flag: str) -> Any:
    if not value:
        raise InputError(f"gan-studio train needs {flag}.")
    return value


def _family(args: argparse.Namespace, preset: presets.Preset | None) -> str:
    family = args.family or (preset.family if preset else None)
    if family is None and args.resume and args.out:
        from engine.training.rundir import RunDir

        family = RunDir(args.out).read_options().family
    if family is None:
        raise InputError("Name the family to train (e.g. gan-studio train spade ...), or give --preset. "
                         "gan-studio train --help lists them.")
    if family not in families.FAMILIES:
        raise InputError(f"Unknown family {family!r}. The families are: {', '.join(families.FAMILIES)}.")
    if preset and preset.family != family:
        raise InputError(f"The preset {preset.name} trains {preset.family}, not {family}.")
    return family


def _check(args: argparse.Namespace, family: str) -> int:
    report = folders.check(families.LAYOUTS[family], _need(args.data, "--data DIR"), args.resolution)
    print(report.text())
    return 0 if report.ok else 1


def _options(args: argparse.Namespace, family: str, preset: presets.Preset | None):
    from dataclasses import fields

    from engine.training.options import TrainOptions

    names = {f.name for f in fields(TrainOptions)}
    values: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, value in (preset.values if preset else {}).items():
        (values if key in names else extra)[key] = value
    for key in _FIELD_FLAGS:
        if getattr(args, key) is not None:
            values[key] = getattr(args, key)
    extra.update(parse_options(args.extra))
    if getattr(args, "vae", False):
        if family != "spade":
            raise InputError(f"--vae is a SPADE option (its style encoder); a {family} run has none.")
        extra["vae"] = True
    if "betas" in values:
        values["betas"] = tuple(values["betas"])
    data = tuple(str(Path(d).expanduser().resolve()) for d in _need(args.data, "--data DIR"))
    return TrainOptions(family=family, data=data, out=str(Path(args.out).expanduser().resolve()),
                        from_ckpt=args.from_ckpt, channels_last=args.channels_last,
                        deterministic=args.deterministic, device=getattr(args, "device", None) or "auto",
                        preset=preset.name if preset else None, extra=extra, **values)


def _launch(rd, args: argparse.Namespace) -> int:
    from engine.training import launcher

    proc = launcher.start(rd.path, resume=args.resume, nproc=args.nproc, threads=args.threads)
    bar = ProgressBar(sys.stderr)
    offset = 0
    interrupts = 0
    while True:
        try:
            offset = _follow(rd, offset, bar)
            code = proc.poll()
            if code is not None:
                _follow(rd, offset, bar)
                break
            time.sleep(0.25)
        except KeyboardInterrupt:
            interrupts += 1
            if interrupts == 1:
                bar.message("stopping after this step, with a final checkpoint (Ctrl-C again to hurry)")
                proc.stop()
            else:
                proc.terminate()
    bar.close()
    if code != 0:
        tail = _log_tail(proc.log_path)
        if tail:
            print(tail, file=sys.stderr)
        return 3 if code == 3 else 1
    status = rd.read_status() or {}
    print(f"{status.get('state', 'ended')} at step {status.get('step')}: {rd.latest_path}")
    return 0


def _follow(rd, offset: int, bar: "ProgressBar") -> int:
    """Show the progress lines appended since ``offset``; return the new offset."""
    import json

    try:
        with open(rd.progress_path, encoding="utf-8") as handle:
            handle.seek(offset)
            while True:
                line = handle.readline()
                if not line.endswith("\n"):
                    return offset
                offset += len(line.encode("utf-8"))
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                bar.show(record)
    except FileNotFoundError:
        return offset


def _log_tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    errors = [line for line in text if line.startswith("error:")]
    return "\n".join(errors[-3:] if errors else text[-lines:])


class ProgressBar:
    """One updating terminal line: ``[####......] step/steps pct | losses | img/s | ETA``.

    Events (notes, checkpoints, errors) print as their own lines above it. Without a terminal
    (output piped) every progress record becomes a plain line."""

    WIDTH = 24

    def __init__(self, stream) -> None:
        self.stream = stream
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self.width = min(shutil.get_terminal_size((100, 20)).columns, 160)
        self._open = False

    def show(self, record: dict[str, Any]) -> None:
        if record.get("kind") == "log":
            self._line(format_progress(record, self.WIDTH))
        elif record.get("kind") == "event" and record.get("event") in ("note", "checkpoint", "error", "resume", "start", "stop", "done"):
            self.message(f"[{record['event']}] step {record.get('step')}: {record.get('message', '')}")

    def _line(self, text: str) -> None:
        if self.tty:
            self.stream.write("\r" + text[: self.width - 1].ljust(self.width - 1))
            self._open = True
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def message(self, text: str) -> None:
        if self._open:
            self.stream.write("\n")
            self._open = False
        self.stream.write(text + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self._open:
            self.stream.write("\n")
            self._open = False


def format_progress(record: dict[str, Any], width: int = 24) -> str:
    step, steps = int(record.get("step", 0)), max(1, int(record.get("steps") or 1))
    done = min(width, round(width * step / steps))
    losses = " ".join(f"{k} {v:.4g}" for k, v in (record.get("losses") or {}).items())
    eta = record.get("eta_s")
    return (f"[{'#' * done}{'.' * (width - done)}] {step}/{steps} {100 * step / steps:.0f}% | {losses} | "
            f"{record.get('images_per_s', 0):.1f} img/s | ETA {format_duration(eta)}")


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}h{m:02d}m" if h else (f"{m}m{s:02d}s" if m else f"{s}s")
