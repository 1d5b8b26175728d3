"""A training run in its own process: ``python -m engine.training.run RUN_DIR [--resume]``.

The run directory must hold ``options.json`` (written by :meth:`engine.training.rundir.RunDir.prepare`,
which the launcher and ``gan-studio train`` call). Under torchrun every process runs this module;
rank 0 writes the files. Exit status: 0 done or stopped (the state is in ``status.json``),
1 error (message on stderr and in progress.jsonl), 3 NaN losses, 2 usage error.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import Sequence

from engine.errors import EngineError

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_NONFINITE = 0, 1, 2, 3


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m engine.training.run", description="Run a prepared training run.")
    parser.add_argument("run_dir", help="the run directory (holds options.json)")
    parser.add_argument("--resume", action="store_true", help="continue from the newest checkpoint")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads for torch (default: torch's choice)")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    rank = os.environ.get("RANK", "0")
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format=f"%(asctime)s [rank {rank}] %(levelname)s %(name)s: %(message)s")
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    from engine.training.loop import run_training

    try:
        result = run_training(args.run_dir, resume=args.resume)
    except EngineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    if result.state == "failed":
        print(f"error: {result.message}", file=sys.stderr)
        return EXIT_NONFINITE
    print(result.message, file=sys.stderr)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
