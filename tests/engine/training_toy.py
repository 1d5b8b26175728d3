"""A tiny test-only trainer for the core training tests (not a family of the app).

"toy" trains a 2x SRVGGNetCompact (a few channels) against a two-conv discriminator on a flat
folder: L1 to the high-resolution crop plus a small non-saturating GAN term, Adam with momentum
(so optimizer state matters for resume), input noise from torch's global RNG (so RNG state
matters; ``extra["noise"] = 0`` turns it off for the distributed equivalence test), and a step
counter in ``extra_state``. Its export is a real ``srvgg`` model, so latest.safetensors loads
through the app's loader.

Run as a script (for subprocess and torchrun tests), it registers itself and runs
``engine.training.run``: ``python tests/engine/training_toy.py RUN_DIR [--resume]``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

if __name__ == "__main__":  # make the repository importable when run as a script
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from engine.models.loaded import LoadedModel
from engine.models.srvgg import SRVGGConfig, build_networks
from engine.training import families
from engine.training.trainer import Trainer


class ToyTrainer(Trainer):
    family = "toy"
    layout = "flat"
    losses = ("nonsaturating",)
    defaults = {"resolution": 16, "batch": 4, "lr_g": 1e-3, "lr_d": 1e-3, "betas": (0.5, 0.9),
                "noise": 0.05, "sample_every": 1000, "log_every": 1}

    def build(self) -> None:
        self.config = SRVGGConfig(num_feat=4, num_conv=1, upscale=2)
        self.G = build_networks(self.config)["G"].to(self.device)
        self.D = nn.Sequential(nn.Conv2d(3, 4, 3, 2, 1), nn.LeakyReLU(0.2), nn.Conv2d(4, 1, 3, 1, 1)).to(self.device)
        betas = tuple(self.opts.betas)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=self.opts.lr_g, betas=betas)
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=self.opts.lr_d, betas=betas)
        self.iterations = 0
        self.nan_at = self.opts.get("nan_at")

    def networks(self) -> dict[str, nn.Module]:
        return {"G": self.G, "D": self.D}

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"G": self.opt_g, "D": self.opt_d}

    def _low(self, hr: torch.Tensor) -> torch.Tensor:
        lr = F.avg_pool2d(hr, 2)
        noise = float(self.opts.get("noise", 0.0))
        return lr + noise * torch.randn_like(lr) if noise else lr

    def train_step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, float]:
        hr = batch["image"]
        lr = self._low(hr)
        with self.autocast():
            fake = self.G(lr)
        self.requires_grad(self.D, True)
        d_loss = F.softplus(self.D(fake.detach())).mean() + F.softplus(-self.D(hr)).mean()
        self.backward(d_loss)
        self.step("D")
        self.requires_grad(self.D, False)
        g_loss = F.l1_loss(fake, hr) + 0.01 * F.softplus(-self.D(fake)).mean()
        if self.nan_at is not None and step >= int(self.nan_at):
            g_loss = g_loss * float("nan")
        self.backward(g_loss)
        self.step("G")
        self.iterations += 1
        self._test_hooks(step)
        return {"G": g_loss.item(), "D": d_loss.item()}

    def _test_hooks(self, step: int) -> None:
        """``sleep_s``: slow each step (kill tests); ``dump_dir``: every process saves its
        parameters after the last step (distributed tests)."""
        if self.opts.get("sleep_s"):
            time.sleep(float(self.opts.get("sleep_s")))
        if self.opts.get("dump_dir") and step == self.opts.steps - 1:
            from safetensors.torch import save_file

            tensors = {f"{n}.{k}": v.detach().clone() for n, net in self.networks().items() for k, v in net.state_dict().items()}
            save_file(tensors, str(Path(self.opts.get("dump_dir")) / f"rank{self.ctx.rank}.safetensors"))

    def preview(self, fixed: dict[str, torch.Tensor]) -> np.ndarray:
        torch.randn(3)  # a preview that draws random numbers must not change the training
        out = self.G(self._low(fixed["image"])).clamp(-1, 1)
        row = torch.cat(list(out), dim=2)
        return ((row.permute(1, 2, 0).cpu().numpy() + 1) * 127.5).round().astype(np.uint8)

    def export(self) -> LoadedModel:
        self.G.eval()
        return LoadedModel(path="", family="srvgg", source_format="gan-studio", config=self.config, networks={"G": self.G})

    def extra_state(self) -> dict:
        return {"iterations": self.iterations}

    def load_extra_state(self, state: dict) -> None:
        self.iterations = int(state["iterations"])


TRAINER = ToyTrainer


def register() -> None:
    """Make "toy" a family of this process (tests only)."""
    families.FAMILIES.setdefault("toy", __name__ if __name__ != "__main__" else "tests.engine.training_toy")
    families.LAYOUTS.setdefault("toy", "flat")


register()


def write_images(folder: Path, count: int = 6, size: tuple[int, int] = (20, 24), seed: int = 0) -> Path:
    """``count`` smooth random RGB images (PNG) in ``folder``."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(count):
        base = rng.random((size[0] // 4 + 1, size[1] // 4 + 1, 3))
        img = np.kron(base, np.ones((4, 4, 1)))[: size[0], : size[1]]
        Image.fromarray((img * 255).astype(np.uint8)).save(folder / f"img{i}.png")
    return folder


if __name__ == "__main__":
    from engine.training.run import main

    sys.exit(main())
