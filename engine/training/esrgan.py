"""Training upscalers: ESRGAN's RRDBNet (:mod:`engine.models.esrgan`), Real-ESRGAN's compact
SRVGGNetCompact (:mod:`engine.models.srvgg`) or BasicSR's MSRResNet (:mod:`engine.models.srresnet`,
SRGAN's generator), x2 or x4, on a flat folder of high-resolution images (Wang et al., 2018 and 2021).

Each step crops ``resolution`` px HR patches, makes their LR inputs on the fly
(:mod:`engine.training.degradations`: blur, downscaling, noise, JPEG; ``degradations="bicubic"``
for plain downscaling) and trains in two stages:

1. steps ``< psnr_steps``: L1 only (the PSNR-oriented model; no discriminator);
2. then ``l1_weight * L1 + perceptual_weight * |VGG19(sr) - VGG19(hr)|_1 + gan_weight * L_G``,
   with the relativistic average GAN (``--loss ragan``, ESRGAN) or the plain non-saturating
   one (``--loss nonsaturating``, Real-ESRGAN), and the discriminator trained on the same loss.

The perceptual term needs ImageNet VGG19 weights, which GAN Studio cannot download: give a file
with ``--set vgg19_weights=PATH`` or ``$GAN_STUDIO_VGG19``, or have torchvision's cache file
on disk. Without one the run says so in its log and trains without the perceptual term.

Options (``opts.extra``): ``arch`` (``"rrdb"``, ``"srvgg"`` or ``"srresnet"``), ``scale`` (2 or 4),
``num_feat``, ``num_block`` (RRDBNet, MSRResNet), ``num_grow_ch`` (RRDBNet), ``num_conv`` /
``act_type`` (SRVGG), ``discriminator``
(``"unet"``: Real-ESRGAN's U-Net with spectral norm, per-pixel; ``"vgg"``: ESRGAN's VGG-style,
needs ``resolution`` a power of two), ``d_feat``, ``psnr_steps`` (default: half the steps from
scratch, 0 when fine-tuning), ``l1_weight``, ``perceptual_weight``, ``gan_weight``,
``perceptual_layer`` (``conv5_4``), ``vgg19_weights``, ``degradations``, ``ema`` (0.999: the
exported generator is an exponential moving average of the trained one, as Real-ESRGAN's
``params_ema``; its decay ramps up as ``min(ema, (1 + t) / (10 + t))`` so short runs move too;
0 exports the trained generator itself). ``--augment diffaugment|ada`` augments the
discriminator's inputs (few images), ``--freeze-d N`` freezes its first N layers.

Fine-tuning (``--from``): any RRDBNet / SRVGGNetCompact / MSRResNet the app loads (BasicSR, Real-ESRGAN,
the original ESRGAN code, our own files); its architecture and scale are used. A discriminator
beside it (BasicSR ``net_d_*.pth`` next to ``net_g_*.pth``, Real-ESRGAN ``NAME_netD.pth`` next to
``NAME.pth``) is used, otherwise a fresh one.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from engine.errors import CheckpointError, InputError
from engine.loaders import native
from engine.loaders.base import strict_load
from engine.models.esrgan import RRDBNet, RRDBNetConfig, ResidualDenseBlock
from engine.models.loaded import LoadedModel
from engine.models.srresnet import MSRResNet, MSRResNetConfig
from engine.models.srvgg import SRVGGConfig, SRVGGNetCompact
from engine.models.unet_discriminator import UNetDiscriminatorConfig, UNetDiscriminatorSN
from engine.models.vgg19 import VGG19Features, find_weights
from engine.models.vgg_discriminator import VGGDiscriminatorConfig, VGGStyleDiscriminator
from engine.training import losses
from engine.training.degradations import DegradationSettings, degrade
from engine.training.gan_helpers import (
    DiscriminatorAugment, FrozenLayers, check_freeze, eval_copy, find_sibling, first_layers, image_grid,
    option_errors, read_state_dict, trainable, weight_layer_count,
)
from engine.training.trainer import Trainer

ARCHS = ("rrdb", "srvgg", "srresnet")
DISCRIMINATORS = ("unet", "vgg")
DEGRADATIONS = ("realistic", "bicubic")
FAMILY_OF_ARCH = {"rrdb": "esrgan", "srvgg": "srvgg", "srresnet": "srresnet"}
ARCH_OF_FAMILY = {family: arch for arch, family in FAMILY_OF_ARCH.items()}


class ESRGANTrainer(Trainer):
    family = "esrgan"
    layout = "flat"
    losses = ("ragan", "nonsaturating")
    defaults: dict[str, Any] = {
        "resolution": 128, "batch": 4, "lr_g": 1e-4, "lr_d": 1e-4, "betas": (0.9, 0.99), "steps": 40000,
        "arch": "rrdb", "scale": 4, "num_feat": 64, "num_block": 23, "num_grow_ch": 32, "num_conv": 16,
        "act_type": "prelu", "discriminator": "unet", "d_feat": 64, "psnr_steps": None,
        "l1_weight": 1.0, "perceptual_weight": 1.0, "gan_weight": 0.1, "perceptual_layer": "conv5_4",
        "vgg19_weights": None, "degradations": "realistic", "ema": 0.999,
    }

    # ---- building ----------------------------------------------------------------------------

    def build(self) -> None:
        """Networks and optimizers from the options (or ``--from``); option mistakes become InputError."""
        with option_errors(self.family):
            self._build()

    def _build(self) -> None:
        if self.opts.from_ckpt:
            self._finetune_generator()
        else:
            self._fresh_generator()
        self._check_resolution()
        self.D = self._discriminator().to(self.device).train()
        self.G.to(self.device).train()
        self.G.requires_grad_(True)
        check_freeze(self.opts.freeze_d, weight_layer_count(self.D))
        self.frozen = FrozenLayers(first_layers(self.D, self.opts.freeze_d))
        self.frozen.set_trainable(self.D, True)
        betas = tuple(self.opts.betas)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=self.opts.lr_g, betas=betas)
        self.opt_d = torch.optim.Adam(trainable(self.D.parameters(), self.frozen), lr=self.opts.lr_d, betas=betas)
        chosen = self.opts.get("psnr_steps")
        self.psnr_steps = int(chosen) if chosen is not None else (0 if self.opts.from_ckpt else self.opts.steps // 2)
        self.degradation = self._degradation_settings()
        self.augment = DiscriminatorAugment(self.opts.augment)
        self.vgg = self._perceptual_network()
        self.ema_decay = float(self.opts.get("ema") or 0.0)
        if not 0.0 <= self.ema_decay < 1.0:
            raise InputError(f"ema must be in [0, 1) (got {self.ema_decay}); 0 turns the moving average off.")
        self.G_ema = copy.deepcopy(self.G).eval().requires_grad_(False) if self.ema_decay else None

    def _fresh_generator(self) -> None:
        arch = self._choice("arch", ARCHS)
        scale = int(self.opts.get("scale"))
        if scale not in (2, 4):
            raise InputError(f"Upscalers train at scale 2 or 4 (got {scale}).")
        feat = int(self.opts.get("num_feat"))
        if arch == "rrdb":
            self.config = RRDBNetConfig(scale=scale, num_feat=feat, num_block=int(self.opts.get("num_block")),
                                        num_grow_ch=int(self.opts.get("num_grow_ch")))
            self.G = RRDBNet(self.config)
            for block in self.G.body.modules():  # as BasicSR: the dense blocks' convs start small (x0.1),
                if isinstance(block, ResidualDenseBlock):  # so the deep residual trunk starts near identity
                    _scale_init(block, 0.1)
        elif arch == "srvgg":
            self.config = SRVGGConfig(num_feat=feat, num_conv=int(self.opts.get("num_conv")), upscale=scale,
                                      act_type=str(self.opts.get("act_type")))
            self.G = SRVGGNetCompact(self.config)
        else:
            self.config = MSRResNetConfig(num_feat=feat, num_block=int(self.opts.get("num_block")), upscale=scale)
            self.G = MSRResNet(self.config)
            _scale_init(self.G, 0.1)  # as BasicSR; the bilinear skip carries the image from the start
        self.arch = arch

    def _finetune_generator(self) -> None:
        model = self.load_checkpoint_for_finetune(self.opts.from_ckpt, tuple(ARCH_OF_FAMILY))
        self.config = model.config
        self.G = model.networks["G"]
        self.arch = ARCH_OF_FAMILY[model.family]
        if self.config.scale not in (2, 4):
            raise CheckpointError(f"{Path(self.opts.from_ckpt).name} upscales x{self.config.scale}; training supports x2 and x4.")
        if self.arch != self.opts.get("arch") or self.config.scale != int(self.opts.get("scale")):
            self.note(f"the checkpoint is a x{self.config.scale} {self.arch} network: training that")

    def _choice(self, name: str, allowed: tuple[str, ...]) -> str:
        value = str(self.opts.get(name))
        if value not in allowed:
            raise InputError(f"{name} must be one of {', '.join(allowed)}, not {value!r}.")
        return value

    @property
    def scale(self) -> int:
        return int(self.config.scale)

    def _lr_multiple(self) -> int:
        return getattr(self.config, "input_multiple", 1)

    def _check_resolution(self) -> None:
        res, scale = self.opts.resolution, self.scale
        multiple = scale * self._lr_multiple()
        if self.opts.get("discriminator") == "unet":
            multiple = math.lcm(multiple, 8)
        if res % multiple:
            raise InputError(f"HR crops must be a multiple of {multiple} px for this x{scale} model and its "
                             f"discriminator; got --resolution {res}. Try {multiple * max(1, round(res / multiple))}.")

    def _degradation_settings(self) -> DegradationSettings:
        kind = self._choice("degradations", DEGRADATIONS)
        return DegradationSettings() if kind == "realistic" else DegradationSettings.none()

    # ---- discriminators -----------------------------------------------------------------------

    def _discriminator(self) -> nn.Module:
        kind = self._choice("discriminator", DISCRIMINATORS)
        if self.opts.from_ckpt:
            sibling = self._discriminator_file()
            if sibling is not None:
                return self._load_discriminator(sibling)
            self.note(f"{Path(self.opts.from_ckpt).name} has no discriminator beside it: a fresh one is trained")
        feat = int(self.opts.get("d_feat"))
        if kind == "unet":
            return UNetDiscriminatorSN(UNetDiscriminatorConfig(num_feat=feat))
        return VGGStyleDiscriminator(self._vgg_config(feat))

    def _vgg_config(self, feat: int) -> VGGDiscriminatorConfig:
        try:
            return VGGDiscriminatorConfig(num_feat=feat, input_size=self.opts.resolution)
        except ValueError:
            raise InputError(f"The VGG-style discriminator needs a power-of-two --resolution (got "
                             f"{self.opts.resolution}); use 64, 128 or 256, or --set discriminator=unet.") from None

    def _discriminator_file(self) -> Path | None:
        path = Path(self.opts.from_ckpt)
        found = find_sibling(path, [("net_g", "net_d")])
        if found is None:
            candidate = path.with_name(f"{path.stem}_netD{path.suffix}")
            found = candidate if candidate.is_file() else None
        return found

    def _load_discriminator(self, path: Path) -> nn.Module:
        state = read_state_dict(path)
        if "conv9.weight" in state:
            net: nn.Module = UNetDiscriminatorSN(UNetDiscriminatorConfig(num_feat=int(state["conv0.weight"].shape[0])))
            kind = "unet"
        elif "linear1.weight" in state:
            stages = len([k for k in state if k.endswith("_1.weight") and k.startswith("conv")])
            net = VGGStyleDiscriminator(VGGDiscriminatorConfig(num_feat=int(state["conv0_0.weight"].shape[0]),
                                                               input_size=2 ** (stages + 2)))
            kind = "vgg"
            if net.config.input_size != self.opts.resolution:
                raise InputError(f"{path.name} is a VGG-style discriminator for {net.config.input_size} px crops; "
                                 f"train with --resolution {net.config.input_size}.")
        else:
            raise CheckpointError(f"{path.name} is neither a Real-ESRGAN U-Net nor an ESRGAN VGG-style discriminator.")
        strict_load(net, state, f"{path.name} ({kind} discriminator)")
        self.note(f"using the discriminator {path.name} ({kind})")
        return net

    # ---- perceptual loss ----------------------------------------------------------------------

    def _perceptual_network(self) -> VGG19Features | None:
        if float(self.opts.get("perceptual_weight")) <= 0:
            return None
        explicit = self.opts.get("vgg19_weights")
        path = find_weights(explicit)
        if path is None or not path.is_file():
            if explicit:
                raise InputError(f"The VGG19 weights file {explicit} does not exist; fix --set vgg19_weights=PATH or leave it out.")
            where = f"$GAN_STUDIO_VGG19 names {path}, which does not exist" if path is not None else "no VGG19 weights on disk"
            self.note(f"{where} (--set vgg19_weights=PATH or $GAN_STUDIO_VGG19 naming torchvision's "
                      "vgg19-dcbb9e9d.pth): training without the perceptual loss")
            return None
        net = VGG19Features(str(self.opts.get("perceptual_layer")))
        net.load_weights(read_state_dict(path), f"{path.name} (VGG19)")
        self.note(f"perceptual loss on VGG19 {net.last} features from {path.name}")
        return net.to(self.device).eval()

    # ---- the contract ------------------------------------------------------------------------

    def networks(self) -> dict[str, nn.Module]:
        nets = {"G": self.G, "D": self.D}
        if self.G_ema is not None:
            nets["G_ema"] = self.G_ema
        return nets

    def update_ema(self, step: int) -> None:
        """Move G_ema towards G (parameters averaged, buffers copied)."""
        if self.G_ema is None:
            return
        decay = min(self.ema_decay, (1 + step) / (10 + step))
        with torch.no_grad():
            for averaged, current in zip(self.G_ema.parameters(), self.G.parameters()):
                averaged.lerp_(current.detach(), 1.0 - decay)
            for averaged, current in zip(self.G_ema.buffers(), self.G.buffers()):
                averaged.copy_(current)

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"G": self.opt_g, "D": self.opt_d}

    def make_pair(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(LR, HR) in [0, 1] from a batch of crops in [-1, 1]; LR degraded on the fly."""
        hr = (images.float() + 1.0) / 2.0
        return degrade(hr, self.scale, self.degradation).to(hr.device), hr

    def train_step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, float]:
        lr, hr = self.make_pair(batch["image"])
        if step < self.psnr_steps:
            with self.autocast():
                loss = F.l1_loss(self.G(lr).float(), hr)
            self.backward(loss)
            self.step("G")
            self.update_ema(step)
            return {"loss_l1": loss.item()}
        losses_now = self._gan_step(lr, hr, step)
        self.update_ema(step)
        return losses_now

    def _gan_step(self, lr: torch.Tensor, hr: torch.Tensor, step: int) -> dict[str, float]:
        kind = self.opts.loss
        # generator
        self.frozen.set_trainable(self.D, False)
        with self.autocast():
            sr = self.G(lr)
            loss_l1 = F.l1_loss(sr.float(), hr)
            loss_percep = self._perceptual(sr, hr)
            fake = self.D(self.augment(sr))
            if kind == "ragan":
                loss_gan = losses.relativistic_g_loss(self.D(self.augment(hr)).detach(), fake)
            else:
                loss_gan = losses.g_loss(kind, fake)
            loss_g = (float(self.opts.get("l1_weight")) * loss_l1 + float(self.opts.get("perceptual_weight")) * loss_percep
                      + float(self.opts.get("gan_weight")) * loss_gan)
        self.backward(loss_g)
        self.step("G")
        # discriminator
        self.frozen.set_trainable(self.D, True)
        with self.autocast():
            real, fake = self.D(self.augment(hr)), self.D(self.augment(sr.detach()))
            loss_d = losses.relativistic_d_loss(real, fake) if kind == "ragan" else losses.d_loss(kind, real, fake)
        self.backward(loss_d)
        self.step("D")
        out = {"loss_l1": loss_l1.item(), "loss_percep": loss_percep.item(), "loss_g_gan": loss_gan.item(),
               "loss_d": loss_d.item()}
        self.augment.observe(real, step, out)
        return out

    def _perceptual(self, sr: torch.Tensor, hr: torch.Tensor) -> torch.Tensor:
        if self.vgg is None:
            return torch.zeros((), device=sr.device)
        return F.l1_loss(self.vgg(sr.float()), self.vgg(hr).detach())

    def preview(self, fixed: dict[str, torch.Tensor]) -> np.ndarray:
        """Rows: the degraded input (nearest-neighbour enlarged), the (averaged) model's output, the original."""
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)  # the same degradations every time
            lr, hr = self.make_pair(fixed["image"].to(self.device))
        net = self.G_ema if self.G_ema is not None else self.G
        was_training = net.training
        net.eval()
        with torch.no_grad():
            sr = net(lr).clamp(0, 1)
        net.train(was_training)
        shown_lr = F.interpolate(lr, scale_factor=self.scale, mode="nearest")
        return image_grid([shown_lr, sr, hr], value_range=(0.0, 1.0))

    def extra_state(self) -> dict[str, Any]:
        return self.augment.state()

    def load_extra_state(self, state: dict[str, Any]) -> None:
        self.augment.load_state(state)

    def export(self) -> LoadedModel:
        return LoadedModel(path="", family=FAMILY_OF_ARCH[self.arch], source_format=native.NAME, config=self.config,
                           networks={"G": eval_copy(self.G_ema if self.G_ema is not None else self.G)})


def _scale_init(net: nn.Module, factor: float) -> None:
    """Kaiming-normal conv weights scaled by ``factor``, zero biases (BasicSR's ``default_init_weights``)."""
    for module in net.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight)
            module.weight.data.mul_(factor)
            if module.bias is not None:
                nn.init.zeros_(module.bias)


TRAINER = ESRGANTrainer
