"""Training CycleGAN (Zhu et al., 2017): two ResNet generators (:mod:`engine.models.cyclegan`),
``G_A`` (A -> B) and ``G_B`` (B -> A), and two PatchGAN discriminators, ``D_A`` (is this a real
B?) and ``D_B`` (is this a real A?), as the official code names them.

Generator loss: GAN losses of both directions + cycle consistency
``lambda_A * |G_B(G_A(A)) - A|_1 + lambda_B * |G_A(G_B(B)) - B|_1`` + identity
``lambda_identity * (lambda_B * |G_A(B) - B|_1 + lambda_A * |G_B(A) - A|_1)`` (identity needs
both domains to have the same channels). Discriminators: half the GAN loss of a real image vs
a fake drawn from a 50-image history of earlier fakes (:class:`engine.training.losses.ImageHistory`;
kept in the checkpoint, so a resumed run continues with the same history). ``--loss``: ``lsgan``
(the paper's), ``nonsaturating`` or ``hinge``.

Data: the unpaired layout, ``--data A_DIR B_DIR``. Options (``opts.extra``): ``ngf``, ``ndf``
(64), ``n_blocks`` (9; 6 below 256 px as the official ``resnet_6blocks`` for 128 px),
``n_layers_d`` (3), ``norm`` (instance), ``lambda_A``, ``lambda_B`` (10), ``lambda_identity``
(0.5), ``pool_size`` (50), ``decay_from`` (0.5: constant learning rates for the first half of the
steps, then a linear decay to 0, as the official 100 + 100 epochs; 1 keeps them constant). ``--augment diffaugment|ada`` augments both discriminators' inputs,
``--freeze-d N`` freezes their first N blocks.

Fine-tuning (``--from``): a CycleGAN ResNet generator the app loads (official
``latest_net_G_A.pth`` with ``latest_net_G_B.pth`` beside it, or our own file); official
``*_net_D_A.pth`` / ``*_net_D_B.pth`` beside it are used, otherwise fresh discriminators. A file
with one direction only trains the missing one from scratch (said in the log).
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from engine.errors import CheckpointError, InputError
from engine.loaders import native
from engine.loaders.base import strict_load
from engine.models.cyclegan import CycleGANResnetConfig, ResnetGenerator
from engine.models.loaded import LoadedModel
from engine.models.patchgan import PatchGAN, PatchGANConfig, init_normal_, official_state
from engine.training import losses
from engine.training.gan_helpers import (
    DiscriminatorAugment, FrozenLayers, check_freeze, eval_copy, find_sibling, image_grid, linear_decay,
    option_errors, read_state_dict, set_learning_rate, trainable,
)
from engine.training.trainer import Trainer


class CycleGANTrainer(Trainer):
    family = "cyclegan"
    layout = "unpaired"
    losses = ("lsgan", "nonsaturating", "hinge")
    defaults: dict[str, Any] = {
        "resolution": 256, "batch": 1, "lr_g": 2e-4, "lr_d": 2e-4, "betas": (0.5, 0.999), "steps": 50000,
        "ngf": 64, "ndf": 64, "n_blocks": None, "n_layers_d": 3, "norm": "instance",
        "lambda_A": 10.0, "lambda_B": 10.0, "lambda_identity": 0.5, "pool_size": 50, "decay_from": 0.5,
    }

    # ---- building ----------------------------------------------------------------------------

    def build(self) -> None:
        """Networks and optimizers from the options (or ``--from``); option mistakes become InputError."""
        with option_errors(self.family):
            self._build()

    def _build(self) -> None:
        if self.opts.from_ckpt:
            self._finetune_generators()
        else:
            n_blocks = self.opts.get("n_blocks") or (9 if self.opts.resolution >= 256 else 6)
            self.config = CycleGANResnetConfig(input_nc=3, output_nc=3, ngf=int(self.opts.get("ngf")), n_blocks=int(n_blocks),
                                               norm=str(self.opts.get("norm")))
            self.G_A = init_normal_(self._generator("G_A"))
            self.G_B = init_normal_(self._generator("G_B"))
        self._check_resolution()
        self.D_A = self._discriminator("D_A", self.config.output_nc)
        self.D_B = self._discriminator("D_B", self.config.input_nc)
        for net in (self.G_A, self.G_B, self.D_A, self.D_B):
            net.to(self.device).train()
        freeze = self.opts.freeze_d
        check_freeze(freeze, self.D_A.discriminator_0.n_blocks, "the discriminators")
        self.frozen = FrozenLayers(self.D_A.blocks()[:freeze] + self.D_B.blocks()[:freeze])
        betas = tuple(self.opts.betas)
        self.opt_g = torch.optim.Adam(itertools.chain(self.G_A.parameters(), self.G_B.parameters()), lr=self.opts.lr_g, betas=betas)
        d_params = trainable(itertools.chain(self.D_A.parameters(), self.D_B.parameters()), self.frozen)
        self.opt_d = torch.optim.Adam(d_params, lr=self.opts.lr_d, betas=betas)
        self._set_d_trainable(True)
        size = int(self.opts.get("pool_size"))
        self.pool_fake_A, self.pool_fake_B = losses.ImageHistory(size), losses.ImageHistory(size)
        self.augment = DiscriminatorAugment(self.opts.augment)

    def _generator(self, role: str) -> ResnetGenerator:
        c = self.config
        in_ch, out_ch = c.channels(role)
        return ResnetGenerator(in_ch, out_ch, c.ngf, c.n_blocks, c.n_downsampling, c.norm, c.use_dropout, c.padding_type)

    def _finetune_generators(self) -> None:
        model = self.load_checkpoint_for_finetune(self.opts.from_ckpt, "cyclegan_resnet")
        stored = model.config
        if stored.input_nc != 3 or stored.output_nc != 3:
            raise CheckpointError(f"{Path(self.opts.from_ckpt).name} translates {stored.input_nc}-channel to "
                                  f"{stored.output_nc}-channel images; training here uses RGB in both domains.")
        nets = dict(model.networks)
        if "G" in nets:  # a single exported direction: treat it as A -> B
            nets["G_A"] = nets.pop("G")
        self.config = CycleGANResnetConfig(input_nc=3, output_nc=3, ngf=stored.ngf, n_blocks=stored.n_blocks,
                                           n_downsampling=stored.n_downsampling, norm=stored.norm,
                                           use_dropout=stored.use_dropout, padding_type=stored.padding_type)
        for role in ("G_A", "G_B"):
            if role in nets:
                net = nets[role]
                net.requires_grad_(True)
            else:
                net = init_normal_(self._generator(role))
                self.note(f"{Path(self.opts.from_ckpt).name} holds no {role}: it is trained from scratch")
            setattr(self, role, net)

    def _check_resolution(self) -> None:
        multiple = self.config.size_multiple
        if self.opts.resolution % multiple or self.opts.resolution < 2 * multiple:
            raise InputError(f"CycleGAN's generators need a resolution that is a multiple of {multiple} "
                             f"(at least {2 * multiple}); got {self.opts.resolution}.")

    def _discriminator(self, role: str, channels: int) -> PatchGAN:
        config = PatchGANConfig(input_nc=channels, ndf=int(self.opts.get("ndf")), n_layers=int(self.opts.get("n_layers_d")),
                                norm=self.config.norm, padding=1)
        if self.opts.from_ckpt:
            name = Path(self.opts.from_ckpt).name
            sibling = find_sibling(self.opts.from_ckpt, [("net_G_A", f"net_{role}"), ("net_G_B", f"net_{role}"),
                                                         ("net_G", f"net_{role}")])
            if sibling is not None:
                return self._official_discriminator(sibling, config, role)
            self.note(f"{name} has no {role} beside it (no *_net_{role}.pth): a fresh one is trained")
        return init_normal_(PatchGAN(config))

    def _official_discriminator(self, path: Path, wanted: PatchGANConfig, role: str) -> PatchGAN:
        state = read_state_dict(path)
        first = state.get("model.0.weight")
        if first is None or int(first.shape[1]) != wanted.input_nc:
            raise CheckpointError(f"{path.name} is not a CycleGAN PatchGAN discriminator for {wanted.input_nc}-channel images.")
        convs = [k for k in state if k.endswith(".weight") and state[k].dim() == 4]
        norm = "batch" if any(k.endswith("running_mean") for k in state) else "instance"
        config = PatchGANConfig(input_nc=wanted.input_nc, ndf=int(first.shape[0]), n_layers=len(convs) - 2, norm=norm, padding=1)
        net = PatchGAN(config)
        strict_load(net, official_state(state, config), f"{path.name} (CycleGAN {role})")
        self.note(f"using the discriminator {path.name} as {role}")
        return net

    def _set_d_trainable(self, flag: bool) -> None:
        self.frozen.set_trainable(self.D_A, flag)
        self.frozen.set_trainable(self.D_B, flag)

    # ---- the contract ------------------------------------------------------------------------

    def networks(self) -> dict[str, torch.nn.Module]:
        return {"G_A": self.G_A, "G_B": self.G_B, "D_A": self.D_A, "D_B": self.D_B}

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"G": self.opt_g, "D": self.opt_d}

    def _schedule(self, step: int) -> None:
        """pix2pix / CycleGAN's schedule: constant, then linear decay to 0 from ``decay_from * steps``."""
        factor = linear_decay(step, self.opts.steps, float(self.opts.get("decay_from")))
        set_learning_rate(self.opt_g, self.opts.lr_g * factor)
        set_learning_rate(self.opt_d, self.opts.lr_d * factor)

    def train_step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, float]:
        kind = self.opts.loss
        self._schedule(step)
        real_a, real_b = batch["A"], batch["B"]
        lambda_a, lambda_b = float(self.opts.get("lambda_A")), float(self.opts.get("lambda_B"))
        lambda_idt = float(self.opts.get("lambda_identity"))

        # generators (the official order: G first, then D on the same fakes)
        self._set_d_trainable(False)
        with self.autocast():
            fake_b = self.G_A(real_a)
            rec_a = self.G_B(fake_b)
            fake_a = self.G_B(real_b)
            rec_b = self.G_A(fake_a)
            loss_gan = losses.g_loss(kind, self.D_A(self.augment(fake_b))) + losses.g_loss(kind, self.D_B(self.augment(fake_a)))
            loss_cycle = lambda_a * F.l1_loss(rec_a.float(), real_a) + lambda_b * F.l1_loss(rec_b.float(), real_b)
            loss_idt = torch.zeros((), device=real_a.device)
            if lambda_idt > 0:
                loss_idt = lambda_idt * (lambda_b * F.l1_loss(self.G_A(real_b).float(), real_b)
                                         + lambda_a * F.l1_loss(self.G_B(real_a).float(), real_a))
            loss_g = loss_gan + loss_cycle + loss_idt
        self.backward(loss_g)
        loss_gan, loss_cycle, loss_idt = loss_gan.detach(), loss_cycle.detach(), loss_idt.detach()
        self.step("G")

        # discriminators: real vs a fake from the history
        self._set_d_trainable(True)
        pooled_b = self.pool_fake_B.query(fake_b.detach().float())
        pooled_a = self.pool_fake_A.query(fake_a.detach().float())
        with self.autocast():
            real_a_out, real_b_out = self.D_A(self.augment(real_b)), self.D_B(self.augment(real_a))
            loss_d_a = 0.5 * losses.d_loss(kind, real_a_out, self.D_A(self.augment(pooled_b)))
            loss_d_b = 0.5 * losses.d_loss(kind, real_b_out, self.D_B(self.augment(pooled_a)))
        self.backward(loss_d_a + loss_d_b)
        self.step("D")
        out = {"loss_g_gan": loss_gan.item(), "loss_cycle": loss_cycle.item(), "loss_idt": loss_idt.item(),
               "loss_d_a": loss_d_a.item(), "loss_d_b": loss_d_b.item()}
        self.augment.observe([real_a_out, real_b_out], step, out)
        return out

    def preview(self, fixed: dict[str, torch.Tensor]) -> np.ndarray:
        """Rows: A, G_A(A), G_B(G_A(A)), then B, G_B(B), G_A(G_B(B))."""
        a, b = fixed["A"].to(self.device), fixed["B"].to(self.device)
        modes = (self.G_A.training, self.G_B.training)
        self.G_A.eval()
        self.G_B.eval()
        with torch.no_grad():
            fake_b, fake_a = self.G_A(a), self.G_B(b)
            rec_a, rec_b = self.G_B(fake_b), self.G_A(fake_a)
        self.G_A.train(modes[0])
        self.G_B.train(modes[1])
        return image_grid([torch.cat([a, b]), torch.cat([fake_b, fake_a]), torch.cat([rec_a, rec_b])])

    def export(self) -> LoadedModel:
        return LoadedModel(path="", family="cyclegan_resnet", source_format=native.NAME, config=self.config,
                           networks={"G_A": eval_copy(self.G_A), "G_B": eval_copy(self.G_B)})

    def extra_state(self) -> dict[str, Any]:
        return {"pool_fake_A": self.pool_fake_A.state(), "pool_fake_B": self.pool_fake_B.state(), **self.augment.state()}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        self.augment.load_state(state)
        for name in ("pool_fake_A", "pool_fake_B"):
            if name in state:
                getattr(self, name).load_state(torch.as_tensor(state[name]), self.device)


TRAINER = CycleGANTrainer
