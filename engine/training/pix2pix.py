"""Training pix2pix (Isola et al., 2017): a U-Net generator (:mod:`engine.models.pix2pix`) and a
conditional PatchGAN discriminator (:mod:`engine.models.patchgan`) that sees the input and the
output concatenated.

Losses: the discriminator's GAN loss (halved, as in the paper) on real pairs vs generated pairs;
the generator's GAN loss plus ``lambda_l1`` (100) times the L1 distance to the target.
``--loss`` picks the GAN loss: ``nonsaturating`` (the paper's, official ``vanilla``), ``lsgan``,
``hinge`` or ``wgan-gp`` (with a gradient penalty of weight ``gp_weight``).

Data: the paired layout. With ``DIR/inputs/`` the input is an RGB image (image-to-image); with
``DIR/labels/`` the input is the label map, given to the network as the label set's colours
(``label_input="color"``, the default: 3 channels, as the official facades data; the model then
runs in the Paint workspace on a document painted with the palette) or one-hot
(``label_input="onehot"``, ``label_nc`` channels; the exported model keeps its label set, but the
translate pipeline feeds pix2pix models RGB images only, so it cannot render one-hot models yet).

Options (``opts.extra``): ``ngf``, ``ndf`` (64), ``num_downs`` (U-Net levels; default the most the
resolution allows, at most 8), ``n_layers_d`` (3), ``norm`` (``"instance"``: the exported network
then behaves in the app exactly as in training; ``"batch"`` is the paper's), ``dropout`` (True),
``lambda_l1`` (100), ``gp_weight`` (10), ``label_input``, ``decay_from`` (0.5: the learning
rates stay constant for the first half of the steps, then fall linearly to 0, as the official
100 + 100 epochs; 1 keeps them constant). ``--augment diffaugment|ada`` augments
D's input pairs (the condition moves with its image), ``--freeze-d N`` freezes D's first N blocks.

Fine-tuning (``--from``): a pix2pix U-Net the app loads (official ``latest_net_G.pth`` or our own
file); an official ``*_net_D.pth`` beside it is used as the discriminator, otherwise a fresh one.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from engine.errors import CheckpointError, InputError
from engine.loaders import native
from engine.loaders.base import strict_load
from engine.models.loaded import LoadedModel
from engine.models.patchgan import PatchGAN, PatchGANConfig, init_normal_, official_state
from engine.models.pix2pix import Pix2PixUnetConfig, UnetGenerator
from engine.training import losses
from engine.training.gan_helpers import (
    DiscriminatorAugment, FrozenLayers, check_freeze, eval_copy, find_sibling, image_grid, linear_decay, one_hot,
    option_errors, read_state_dict, set_learning_rate, trainable,
)
from engine.training.trainer import Trainer

LABEL_INPUTS = ("color", "onehot")


class Pix2PixTrainer(Trainer):
    family = "pix2pix"
    layout = "paired"
    losses = ("nonsaturating", "lsgan", "hinge", "wgan-gp")
    defaults: dict[str, Any] = {
        "resolution": 256, "batch": 1, "lr_g": 2e-4, "lr_d": 2e-4, "betas": (0.5, 0.999), "steps": 20000,
        "ngf": 64, "ndf": 64, "n_layers_d": 3, "num_downs": None, "norm": "instance", "dropout": True,
        "lambda_l1": 100.0, "gp_weight": 10.0, "label_input": "color", "decay_from": 0.5,
    }

    # ---- building ----------------------------------------------------------------------------

    def build(self) -> None:
        """Networks and optimizers from the options (or ``--from``); option mistakes become InputError."""
        with option_errors(self.family):
            self._build()

    def _build(self) -> None:
        self.label_input = self._label_input()
        input_nc = self.data.label_nc if self.label_input == "onehot" else 3
        if self.opts.from_ckpt:
            model = self.load_checkpoint_for_finetune(self.opts.from_ckpt, "pix2pix_unet")
            self.config = model.config
            self._check_finetune_config(input_nc)
            self.G = model.networks["G"]
            self.G.requires_grad_(True)
        else:
            self.config = Pix2PixUnetConfig(input_nc=input_nc, output_nc=3, ngf=int(self.opts.get("ngf")),
                                            num_downs=self._num_downs(), norm=str(self.opts.get("norm")),
                                            use_dropout=bool(self.opts.get("dropout")))
            self.G = init_normal_(UnetGenerator(self.config.input_nc, self.config.output_nc, self.config.num_downs,
                                                self.config.ngf, self.config.norm, self.config.use_dropout))
        self._check_resolution()
        self.D = self._build_discriminator()
        self.G.to(self.device).train()
        self.D.to(self.device).train()
        check_freeze(self.opts.freeze_d, self.D.discriminator_0.n_blocks)
        self.frozen = FrozenLayers(self.D.blocks()[:self.opts.freeze_d * self.D.config.num_d])
        self.frozen.set_trainable(self.D, True)
        betas = tuple(self.opts.betas)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=self.opts.lr_g, betas=betas)
        self.opt_d = torch.optim.Adam(trainable(self.D.parameters(), self.frozen), lr=self.opts.lr_d, betas=betas)
        self.augment = DiscriminatorAugment(self.opts.augment)

    def _label_input(self) -> str:
        if self.data.source != "labels":
            return "image"
        mode = str(self.opts.get("label_input", "color"))
        if mode not in LABEL_INPUTS:
            raise InputError(f"label_input must be one of {', '.join(LABEL_INPUTS)}, not {mode!r}.")
        return mode

    def _num_downs(self) -> int:
        chosen = self.opts.get("num_downs")
        if chosen:
            return int(chosen)
        levels = int(math.log2(self.opts.resolution & -self.opts.resolution))  # how often it halves evenly
        if levels < 5:
            raise InputError(f"pix2pix's U-Net needs a resolution that is a multiple of 32 (got {self.opts.resolution}).")
        return min(8, levels)

    def _check_resolution(self) -> None:
        multiple = self.config.size_multiple
        if self.opts.resolution % multiple:
            raise InputError(f"This U-Net ({self.config.num_downs} levels) needs a resolution that is a multiple of "
                             f"{multiple}; got {self.opts.resolution}. Pick --resolution {multiple * max(1, round(self.opts.resolution / multiple))}.")

    def _check_finetune_config(self, input_nc: int) -> None:
        if self.config.input_nc != input_nc or self.config.output_nc != 3:
            raise CheckpointError(
                f"{Path(self.opts.from_ckpt).name} takes {self.config.input_nc} input channels and makes "
                f"{self.config.output_nc}, but this dataset gives {input_nc} ({self._input_words()}) and RGB targets. "
                "Fine-tune it on a dataset of the same kind, or train from scratch.")

    def _input_words(self) -> str:
        return {"image": "RGB images", "color": "label colours",
                "onehot": f"{self.data.label_nc} one-hot label channels"}[self.label_input]

    def _build_discriminator(self) -> PatchGAN:
        config = PatchGANConfig(input_nc=self.config.input_nc + self.config.output_nc, ndf=int(self.opts.get("ndf")),
                                n_layers=int(self.opts.get("n_layers_d")), norm=self.config.norm, padding=1)
        if self.opts.from_ckpt:
            sibling = find_sibling(self.opts.from_ckpt, [("net_G", "net_D")])
            if sibling is not None:
                return self._official_discriminator(sibling, config)
            self.note(f"{Path(self.opts.from_ckpt).name} has no discriminator beside it (no *_net_D.pth): a fresh one is trained.")
        return init_normal_(PatchGAN(config))

    def _official_discriminator(self, path: Path, wanted: PatchGANConfig) -> PatchGAN:
        state = read_state_dict(path)
        first = state.get("model.0.weight")
        if first is None:
            raise CheckpointError(f"{path.name} is not a pix2pix PatchGAN discriminator (no model.0.weight).")
        convs = sorted(int(k.split(".")[1]) for k in state if k.endswith(".weight") and state[k].dim() == 4)
        norm = "batch" if any(k.endswith("running_mean") for k in state) else "instance"
        config = PatchGANConfig(input_nc=int(first.shape[1]), ndf=int(first.shape[0]), n_layers=len(convs) - 2,
                                norm=norm, padding=1)
        if config.input_nc != wanted.input_nc:
            raise CheckpointError(f"{path.name} sees {config.input_nc} channels but this generator's pairs have "
                                  f"{wanted.input_nc}; it does not belong to this generator.")
        net = PatchGAN(config)
        strict_load(net, official_state(state, config), f"{path.name} (pix2pix discriminator)")
        self.note(f"using the discriminator {path.name} ({config.n_layers} layers, {config.ndf} wide, {norm} norm)")
        return net

    # ---- the contract ------------------------------------------------------------------------

    def networks(self) -> dict[str, torch.nn.Module]:
        return {"G": self.G, "D": self.D}

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"G": self.opt_g, "D": self.opt_d}

    def condition(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """The generator's input for a batch: an image in [-1, 1], one-hot labels or label colours."""
        if self.label_input == "image":
            return batch["input"]
        labels = batch["label"]
        if self.label_input == "onehot":
            return one_hot(labels, self.config.input_nc)
        palette = torch.as_tensor(self._palette(), device=labels.device, dtype=torch.float32) / 127.5 - 1.0
        return palette[labels].permute(0, 3, 1, 2)

    def _palette(self) -> np.ndarray:
        from engine.labelsets import LabelSet

        return LabelSet.from_dict(self.data.label_set).palette()

    def _d(self, condition: torch.Tensor, image: torch.Tensor):
        """D's output for a pair (augmented together with ``--augment``)."""
        image, condition = self.augment(image, condition)
        return self.D(torch.cat([condition, image], 1))

    def _schedule(self, step: int) -> None:
        """pix2pix / CycleGAN's schedule: constant, then linear decay to 0 from ``decay_from * steps``."""
        factor = linear_decay(step, self.opts.steps, float(self.opts.get("decay_from")))
        set_learning_rate(self.opt_g, self.opts.lr_g * factor)
        set_learning_rate(self.opt_d, self.opts.lr_d * factor)

    def train_step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, float]:
        kind = self.opts.loss
        self._schedule(step)
        real_a, real_b = self.condition(batch), batch["image"]
        with self.autocast():
            fake_b = self.G(real_a)

        # discriminator: real pairs vs generated pairs
        self.frozen.set_trainable(self.D, True)
        with self.autocast():
            pred_fake = self._d(real_a, fake_b.detach())
            pred_real = self._d(real_a, real_b)
            loss_d = 0.5 * losses.d_loss(kind, pred_real, pred_fake)
        if kind == "wgan-gp":
            penalty = losses.gradient_penalty(self.D, torch.cat([real_a, real_b], 1), torch.cat([real_a, fake_b], 1))
            loss_d = loss_d + float(self.opts.get("gp_weight")) * penalty
        self.backward(loss_d)
        self.step("D")

        # generator: fool D and stay close to the target
        self.frozen.set_trainable(self.D, False)
        with self.autocast():
            loss_gan = losses.g_loss(kind, self._d(real_a, fake_b))
            loss_l1 = F.l1_loss(fake_b.float(), real_b)
            loss_g = loss_gan + float(self.opts.get("lambda_l1")) * loss_l1
        self.backward(loss_g)
        self.step("G")
        out = {"loss_d": loss_d.item(), "loss_g_gan": loss_gan.item(), "loss_l1": loss_l1.item()}
        self.augment.observe(pred_real, step, out)
        return out

    def preview(self, fixed: dict[str, torch.Tensor]) -> np.ndarray:
        """Rows: input (labels shown in their colours), output, target."""
        fixed = {k: v.to(self.device) for k, v in fixed.items()}
        condition = self.condition(fixed)
        shown = condition if self.label_input == "image" else self._colour_labels(fixed["label"])
        was_training = self.G.training
        self.G.eval()
        with torch.no_grad():
            out = self.G(condition)
        self.G.train(was_training)
        return image_grid([shown, out, fixed["image"]])

    def _colour_labels(self, labels: torch.Tensor) -> torch.Tensor:
        palette = torch.as_tensor(self._palette(), device=labels.device, dtype=torch.float32) / 127.5 - 1.0
        return palette[labels].permute(0, 3, 1, 2)

    def extra_state(self) -> dict[str, Any]:
        return self.augment.state()

    def load_extra_state(self, state: dict[str, Any]) -> None:
        self.augment.load_state(state)

    def export(self) -> LoadedModel:
        return LoadedModel(path="", family="pix2pix_unet", source_format=native.NAME, config=self.config,
                           networks={"G": eval_copy(self.G)},
                           label_set=self.data.label_set if self.label_input != "image" else None)


TRAINER = Pix2PixTrainer
