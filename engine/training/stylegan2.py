"""Training StyleGAN2 (Karras et al. 2020), as StyleGAN2-ADA does it, on a flat image folder.

Networks: the app's generator (:mod:`engine.models.stylegan2`: mapping + modulated-conv synthesis,
equalised learning rate, per-pixel noise), the residual discriminator
(:mod:`engine.models.stylegan2_discriminator`) and ``G_ema``, the moving average of G that is
exported.

One iteration:
  1. G: non-saturating logistic loss ``softplus(-D(aug(G(z))))`` with style mixing (with
     probability ``style_mixing`` the ws after a random cut-off come from a second z) and random
     noise; every ``pl_interval`` steps, when ``pl_weight > 0``, the path-length penalty
     ``(|J_w^T y| - a)^2`` on half the batch (``a`` a running mean), weighted by ``pl_interval``
     (lazy regularisation). G's ``w_avg`` tracks the mean w (decay 0.995).
  2. D: ``softplus(D(aug(fake))) + softplus(-D(aug(real)))``; every ``r1_interval`` steps the R1
     penalty ``gamma/2 * |grad_x D(aug(x))|^2`` on the reals, weighted by ``r1_interval``.
  3. ``G_ema = lerp(G, G_ema, beta)`` with ``beta = 0.5 ** (batch / (ema_kimg * 1000))``, the
     half-life ramped up over the first images when training from scratch.
  4. ADA (``--augment ada``, the default): ``p`` follows ``E[sign(D(real))]`` toward
     ``ada_target``; DiffAugment (``--augment diffaugment``) is the alternative.

Options (``opts.extra``): ``z_dim``, ``w_dim`` (512), ``mapping_layers`` (8), ``channel_base``
(16384), ``channel_max`` (512) for G and D; ``r1_gamma`` (None: ``0.0002 * R^2 / batch``, the ADA
heuristic), ``r1_interval`` (16), ``pl_weight`` (0: off; 2 in the paper), ``pl_interval`` (4),
``style_mixing`` (0.9), ``ema_kimg`` (None: ``batch * 10 / 32``), ``ema_rampup`` (0.05),
``ada_target`` (0.6), ``ada_kimg`` (100), ``ada_interval`` (4), ``mbstd_group`` (4).

Fine-tuning (``--from``): any StyleGAN2 the app loads (StyleGAN2-ADA pickle, rosinality file, our
own). G and G_ema start from the file's (moving-average) generator. The discriminator comes from
the file when it holds one (an ADA pickle's ``D``, a rosinality train checkpoint's ``d``; the
pickle's augmentation probability too), otherwise a fresh one is trained (said in the log).
``--freeze-d N`` freezes the first N discriminator blocks (from the image side).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F

from engine.errors import CheckpointError, InputError
from engine.loaders.base import strict_load
from engine.models.loaded import LoadedModel
from engine.models.stylegan2 import StyleGAN2Config, StyleGAN2Generator
from engine.models.stylegan2_discriminator import (
    StyleGAN2Discriminator,
    StyleGAN2DiscriminatorConfig,
    config_from_ada,
    official_ada_state,
    rosinality_config,
    rosinality_state,
)
from engine.training import losses
from engine.training.augment import AdaptiveAugment, make_augment
from engine.training.gan_helpers import FrozenLayers, eval_copy, image_grid, trainable
from engine.training.trainer import Trainer

#: decay of G's running mean of w (official w_avg_beta)
W_AVG_BETA = 0.995
#: decay of the path-length running mean
PL_DECAY = 0.01
#: preview images drawn from this fixed seed, independent of the training RNG
PREVIEW_SEED = 1234


def mbstd_group_for(batch: int, wanted: int = 4) -> int:
    """The largest group size <= ``wanted`` that divides the per-process ``batch``."""
    return max(g for g in range(1, max(1, min(wanted, batch)) + 1) if batch % g == 0)


class StyleGAN2Trainer(Trainer):
    family = "stylegan2"
    layout = "flat"
    losses = ("nonsaturating",)
    defaults: ClassVar[dict[str, Any]] = {
        "resolution": 256, "batch": 8, "lr_g": 0.0025, "lr_d": 0.0025, "betas": (0.0, 0.99), "steps": 20000,
        "augment": "ada", "z_dim": 512, "w_dim": 512, "mapping_layers": 8, "channel_base": 16384,
        "channel_max": 512, "r1_gamma": None, "r1_interval": 16, "pl_weight": 0.0, "pl_interval": 4,
        "style_mixing": 0.9, "ema_kimg": None, "ema_rampup": 0.05, "ada_target": 0.6, "ada_kimg": 100.0,
        "ada_interval": 4, "mbstd_group": 4,
    }

    # ---- building ------------------------------------------------------------------------------

    def build(self) -> None:
        opts = self.opts
        self.local_batch = max(1, opts.batch // self.ctx.world_size)
        ada_p = None
        if opts.from_ckpt:
            self.G, self.D, ada_p = self._from_checkpoint(opts.from_ckpt)
            self.ema_rampup = None  # a trained G_ema is not ramped up again
        else:
            self.G = StyleGAN2Generator(self._generator_config()).to(self.device)
            self.D = StyleGAN2Discriminator(self._discriminator_config(self.G.config)).to(self.device)
            self.ema_rampup = opts.get("ema_rampup")
        self.G.train().requires_grad_(True)
        self.D.train().requires_grad_(True)
        self.G_ema = copy.deepcopy(self.G).eval().requires_grad_(False)
        self.frozen = FrozenLayers(self.D.blocks()[: opts.freeze_d])
        if opts.freeze_d:
            self.note(f"the first {opts.freeze_d} discriminator block(s) are frozen")
        betas = tuple(opts.betas)
        self.opt_G = torch.optim.Adam(self.G.parameters(), lr=opts.lr_g, betas=betas, eps=1e-8)
        self.opt_D = torch.optim.Adam(trainable(self.D.parameters(), self.frozen), lr=opts.lr_d, betas=betas, eps=1e-8)
        self.augment = self._make_augment(ada_p)
        self.pl_mean = torch.zeros((), device=self.device)
        res = self.G.config.img_resolution
        gamma = opts.get("r1_gamma")
        self.r1_gamma = float(gamma) if gamma is not None else 0.0002 * res * res / opts.batch
        ema_kimg = opts.get("ema_kimg")
        self.ema_kimg = float(ema_kimg) if ema_kimg is not None else opts.batch * 10 / 32

    def _generator_config(self) -> StyleGAN2Config:
        o = self.opts
        return StyleGAN2Config(
            z_dim=int(o.get("z_dim")), w_dim=int(o.get("w_dim")), img_resolution=self._resolution(),
            mapping_layers=int(o.get("mapping_layers")), channel_base=int(o.get("channel_base")),
            channel_max=int(o.get("channel_max")),
        )

    def _resolution(self) -> int:
        res = int(self.opts.resolution)
        if res < 8 or res & (res - 1):
            raise InputError(f"StyleGAN2 trains at a power-of-two resolution of at least 8 px, not {res}; "
                             "use --resolution 64, 128, 256, 512 or 1024.")
        return res

    def _discriminator_config(self, g: StyleGAN2Config) -> StyleGAN2DiscriminatorConfig:
        widths = tuple(reversed(g.widths))  # G lists 4..R, D goes R..4
        group = mbstd_group_for(self.local_batch, int(self.opts.get("mbstd_group")))
        return StyleGAN2DiscriminatorConfig(img_resolution=g.img_resolution, img_channels=g.img_channels,
                                            channels=widths, mbstd_group_size=group)

    def _make_augment(self, initial_p: float | None):
        mode = self.opts.augment
        if mode == "ada":
            p = float(initial_p or 0.0)
            if initial_p:
                self.note(f"ADA starts from the checkpoint's augmentation probability {p:.3f}")
            return AdaptiveAugment(p=min(p, 0.85), target=float(self.opts.get("ada_target")),
                                   interval=int(self.opts.get("ada_interval")), speed_kimg=float(self.opts.get("ada_kimg")))
        return make_augment(mode)

    # ---- fine-tuning ---------------------------------------------------------------------------

    def _from_checkpoint(self, path: str) -> tuple[StyleGAN2Generator, StyleGAN2Discriminator, float | None]:
        model = self.load_checkpoint_for_finetune(path, "stylegan2")
        config: StyleGAN2Config = model.config
        if config.c_dim > 0:
            raise InputError(f"{Path(path).name} is a class-conditional StyleGAN2 ({config.c_dim} classes); the stylegan2 "
                             "trainer fine-tunes unconditional generators on a flat image folder.")
        if config.img_resolution != self.opts.resolution:
            raise InputError(f"{Path(path).name} makes {config.img_resolution} px images; fine-tune it with "
                             f"--resolution {config.img_resolution}.")
        G = model.networks["G"]
        found = read_discriminator(path)
        if found is None:
            self.note(f"{Path(path).name} holds no discriminator: a fresh one is trained")
            D = StyleGAN2Discriminator(self._discriminator_config(config))
            return G, D.to(self.device), None
        d_config, d_state, ada_p, where = found
        if d_config.img_resolution != config.img_resolution or d_config.c_dim:
            raise CheckpointError(f"The discriminator in {Path(path).name} does not match its generator "
                                  f"({d_config.img_resolution} px, {d_config.c_dim} classes).")
        group = mbstd_group_for(self.local_batch, d_config.mbstd_group_size)
        d_config = StyleGAN2DiscriminatorConfig(**{**d_config.__dict__, "mbstd_group_size": group})
        D = StyleGAN2Discriminator(d_config)
        strict_load(D, d_state, f"{Path(path).name} ({where})")
        self.note(f"the discriminator comes from {Path(path).name} ({where})")
        return G, D.to(self.device), ada_p

    # ---- the contract --------------------------------------------------------------------------

    def networks(self) -> dict[str, torch.nn.Module]:
        return {"G": self.G, "D": self.D, "G_ema": self.G_ema}

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"G": self.opt_G, "D": self.opt_D}

    def extra_state(self) -> dict[str, Any]:
        state: dict[str, Any] = {"pl_mean": self.pl_mean.detach().cpu()}
        if isinstance(self.augment, AdaptiveAugment):
            state["ada"] = self.augment.state_dict()
        return state

    def load_extra_state(self, state: dict[str, Any]) -> None:
        if "pl_mean" in state:
            self.pl_mean = torch.as_tensor(state["pl_mean"]).to(self.device)
        if isinstance(self.augment, AdaptiveAugment) and "ada" in state:
            self.augment.load_state_dict(state["ada"])

    # ---- one iteration -------------------------------------------------------------------------

    def _aug(self, images: torch.Tensor) -> torch.Tensor:
        return images if self.augment is None else self.augment(images)

    def _mapping(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(ws with style mixing, the unmixed ws) for ``n`` fresh latents."""
        g = self.G
        z = torch.randn(n, g.z_dim, device=self.device)
        ws = g.mapping(z, None)
        plain = ws
        prob = float(self.opts.get("style_mixing"))
        if prob > 0 and g.num_ws > 1:
            cutoff = int(torch.randint(1, g.num_ws, ()))
            if float(torch.rand(())) < prob:
                mixed = g.mapping(torch.randn_like(z), None)
                ws = torch.cat([ws[:, :cutoff], mixed[:, cutoff:]], dim=1)
        return ws, plain

    def train_step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, float]:
        real = batch["image"]
        n = real.shape[0]
        out: dict[str, float] = {}

        # -- generator
        self.frozen.set_trainable(self.D, False)
        with self.autocast():
            ws, plain = self._mapping(n)
            fake = self.G.synthesis(ws, noise_mode="random")
            loss_g = F.softplus(-self.D(self._aug(fake))).mean()
        total = loss_g
        pl_weight = float(self.opts.get("pl_weight"))
        if pl_weight > 0 and step % int(self.opts.get("pl_interval")) == 0:
            penalty = self._path_length_penalty(max(1, n // 2))
            total = total + penalty * pl_weight * int(self.opts.get("pl_interval"))
            out["pl_penalty"] = float(penalty.detach())
        self.backward(total)
        self.step("G")
        with torch.no_grad():
            w_avg = self.G.mapping.w_avg
            w_avg.copy_(plain[:, 0].detach().float().mean(0).lerp(w_avg, W_AVG_BETA))
        out["loss_g"] = float(loss_g.detach())

        # -- discriminator
        self.frozen.set_trainable(self.D, True)
        do_r1 = step % int(self.opts.get("r1_interval")) == 0 and self.r1_gamma > 0
        real_in = real.detach().requires_grad_(do_r1)
        with self.autocast():
            fake_logits = self.D(self._aug(fake.detach()))
            real_logits = self.D(self._aug(real_in))
            loss_d = F.softplus(fake_logits).float().mean() + F.softplus(-real_logits).float().mean()
        total = loss_d
        if do_r1:
            r1 = losses.r1_penalty(real_logits, real_in)
            total = total + r1 * (self.r1_gamma / 2) * int(self.opts.get("r1_interval"))
            out["r1"] = float(r1.detach())
        self.backward(total)
        self.step("D")
        out["loss_d"] = float(loss_d.detach())
        out["d_real"] = float(real_logits.detach().float().mean())

        if isinstance(self.augment, AdaptiveAugment):
            self.augment.observe_and_update(real_logits, step)
            out["ada_p"] = self.augment.p
        self._update_ema(step)
        return out

    def _path_length_penalty(self, n: int) -> torch.Tensor:
        with self.autocast():
            ws, _ = self._mapping(n)
            images = self.G.synthesis(ws, noise_mode="random")
        noise = torch.randn_like(images) / math.sqrt(images.shape[2] * images.shape[3])
        (grad,) = torch.autograd.grad((images.float() * noise).sum(), ws, create_graph=True)
        lengths = grad.float().square().sum(2).mean(1).sqrt()
        self.pl_mean = self.pl_mean.lerp(lengths.mean().detach(), PL_DECAY)
        return (lengths - self.pl_mean).square().mean()

    @torch.no_grad()
    def _update_ema(self, step: int) -> None:
        images_seen = (step + 1) * self.opts.batch
        ema_nimg = self.ema_kimg * 1000
        if self.ema_rampup is not None:
            ema_nimg = min(ema_nimg, images_seen * float(self.ema_rampup))
        beta = 0.5 ** (self.opts.batch / max(ema_nimg, 1e-8))
        for p_ema, p in zip(self.G_ema.parameters(), self.G.parameters()):
            p_ema.copy_(p.detach().lerp(p_ema, beta))
        for b_ema, b in zip(self.G_ema.buffers(), self.G.buffers()):
            b_ema.copy_(b)

    # ---- outputs -------------------------------------------------------------------------------

    def preview(self, fixed: dict[str, torch.Tensor]) -> np.ndarray:
        """G_ema's images for fixed latents (truncation 1, the stored noise), two rows."""
        count = max(2, int(fixed["image"].shape[0]))
        gen = torch.Generator().manual_seed(PREVIEW_SEED)
        z = torch.randn(count, self.G_ema.z_dim, generator=gen).to(self.device)
        images = self.G_ema(z, None, noise_mode="const").float()
        rows = 2
        columns = [images[i:i + rows] for i in range(0, count - count % rows, rows)]
        return image_grid(columns)

    def export(self) -> LoadedModel:
        return LoadedModel(path="", family="stylegan2", source_format="gan-studio", config=self.G_ema.config,
                           networks={"G": eval_copy(self.G_ema)})


# ---- discriminators inside official files ----------------------------------------------------------


def read_discriminator(path: str | Path) -> tuple[StyleGAN2DiscriminatorConfig, dict[str, torch.Tensor], float | None, str] | None:
    """(config, state in our names, the file's ADA probability or None, where) of the
    discriminator an ADA pickle (``D``) or a rosinality train checkpoint (``d``) holds; None when
    the file holds none."""
    from engine.loaders.files import read_checkpoint
    from engine.loaders.safe_pickle import PersistentObject

    ckpt = read_checkpoint(path)
    obj = ckpt.obj
    if not isinstance(obj, Mapping):
        return None
    d = obj.get("D")
    if isinstance(d, PersistentObject):
        state = d.state_dict()
        p = None
        pipe = obj.get("augment_pipe")
        if isinstance(pipe, PersistentObject):
            p_tensor = pipe.state_dict().get("p")
            p = float(p_tensor) if p_tensor is not None else None
        return config_from_ada(d.init_kwargs, state), official_ada_state(state), p, "StyleGAN2-ADA 'D'"
    d = obj.get("d")
    if isinstance(d, Mapping) and any(str(k).startswith("convs.0.") for k in d):
        state = {str(k): v for k, v in d.items() if isinstance(v, torch.Tensor)}
        config = rosinality_config(state)
        ada_p = obj.get("ada_aug_p")
        p = float(ada_p) if isinstance(ada_p, (int, float)) and ada_p > 0 else None
        return config, rosinality_state(state, config), p, "rosinality 'd'"
    return None


TRAINER = StyleGAN2Trainer
