"""Training pix2pixHD (Wang et al. 2018): global generator, then the local enhancer, multi-scale D.

Networks: the app's generators (:mod:`engine.models.pix2pixhd`): ``netG=global`` (the default) or
``netG=local`` (a global generator at half resolution inside a full-resolution enhancer), the
optional instance-feature encoder E (``instance_feat=true``: per-instance mean features of the
photo join the generator input; E learns with G's optimizer), and a multi-scale PatchGAN
(:mod:`engine.models.patchgan`: ``num_d`` 2 scales of ``n_layers_d`` 3, instance norm, padding 2)
that sees the generator's input (labels, edges) and the image concatenated.

Losses: LSGAN (``--loss lsgan``; ``hinge`` / ``nonsaturating`` also accepted) and discriminator
feature matching, weighted ``lambda_feat * 4 / (n_layers_d + 1)`` as the official code does (the
VGG loss is not used: it needs ImageNet VGG19 weights the app does not ship). Adam, lr 2e-4,
betas (0.5, 0.999).

Coarse to fine: train ``netG=global`` first, then start a ``netG=local`` run ``--from`` that
model. Its global part starts from the file's weights (the output head dropped, as the
official ``load_pretrain`` does) and stays fixed for ``fix_global_steps`` steps, then the two
train together.

Data: the paired layout with ``labels/`` (one-hot ``label_nc`` channels, plus the instance-edge
channel when the folder has ``instances/``) or with ``inputs/`` (an RGB image, ``label_nc=0``).

Options (``opts.extra``): ``netG``, ``ngf`` (64; 32 for local), ``n_downsample_global`` (4),
``n_blocks_global`` (9), ``n_local_enhancers`` (1), ``n_blocks_local`` (3), ``norm`` (instance),
``instance_feat`` (False), ``feat_num`` (3), ``nef`` (16), ``n_downsample_E`` (4), ``ndf`` (64),
``n_layers_d`` (3), ``num_d`` (2), ``lambda_feat`` (10), ``fix_global_steps`` (0).

Fine-tuning (``--from``): a pix2pixHD generator the app loads (``latest_net_G.pth`` with its
``latest_net_E.pth``, or our own file); options the file does not tell come from the dataset
(and ``instance_feat`` / ``feat_num`` from the run's options). A ``latest_net_D.pth`` beside it
is used as the discriminator, otherwise a fresh one (said in the log).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from engine.errors import CheckpointError, InputError
from engine.models.loaded import LoadedModel
from engine.models.patchgan import PatchGAN, PatchGANConfig, init_normal_
from engine.models.pix2pixhd import (
    FeatureEncoder,
    LocalEnhancer,
    Pix2PixHDConfig,
    build_generator,
)
from engine.training import losses
from engine.training.augment import AdaptiveAugment, make_augment
from engine.training.gan_helpers import (
    FrozenLayers,
    eval_copy,
    find_sibling,
    image_grid,
    trainable,
)
from engine.training.spade import (
    check_label_range,
    label_colours,
    load_generator,
    multiscale_patchgan_from_file,
    semantic_input,
)
from engine.training.trainer import Trainer

#: layers at the end of a global generator that a local enhancer does not keep (pad, conv, tanh)
GLOBAL_HEAD_LAYERS = 3


class Pix2PixHDTrainer(Trainer):
    family = "pix2pixhd"
    layout = "paired"
    losses = ("lsgan", "hinge", "nonsaturating")
    defaults: ClassVar[dict[str, Any]] = {
        "resolution": 512, "batch": 1, "lr_g": 2e-4, "lr_d": 2e-4, "betas": (0.5, 0.999), "steps": 20000,
        "netG": "global", "ngf": None, "n_downsample_global": 4, "n_blocks_global": 9, "n_local_enhancers": 1,
        "n_blocks_local": 3, "norm": "instance", "instance_feat": False, "feat_num": 3, "nef": 16,
        "n_downsample_E": 4, "ndf": 64, "n_layers_d": 3, "num_d": 2, "lambda_feat": 10.0, "fix_global_steps": 0,
    }

    # ---- building ------------------------------------------------------------------------------

    def build(self) -> None:
        self.has_instances = any("instance" in item.files for item in self.data.items)
        self.label_set = self.data.label_set
        self.global_params: list[torch.nn.Parameter] = []
        if self.opts.from_ckpt:
            self._from_checkpoint(self.opts.from_ckpt)
        else:
            self.config = self._fresh_config()
            self.G = build_generator(self.config)
            self.E = self._encoder(self.config)
            for net in self._generators():
                init_normal_(net)
        self._check_resolution()
        for net in self._generators():
            net.to(self.device).train().requires_grad_(True)
        self.D = self._discriminator().to(self.device).train()
        self.frozen = FrozenLayers(self.D.blocks()[: self.opts.freeze_d * self.D.config.num_d])
        self.frozen.set_trainable(self.D, True)
        betas = tuple(self.opts.betas)
        self.opt_G = torch.optim.Adam([p for net in self._generators() for p in net.parameters()], lr=self.opts.lr_g, betas=betas)
        self.opt_D = torch.optim.Adam(trainable(self.D.parameters(), self.frozen), lr=self.opts.lr_d, betas=betas)
        self.augment = make_augment(self.opts.augment)

    def _generators(self) -> list[torch.nn.Module]:
        return [self.G] + ([self.E] if self.E is not None else [])

    @staticmethod
    def _encoder(config: Pix2PixHDConfig) -> FeatureEncoder | None:
        if not config.use_features:
            return None
        return FeatureEncoder(config.output_nc, config.feat_num, config.nef, config.n_downsample_E, config.norm)

    def _input_kind(self) -> tuple[int, int]:
        """(label_nc, input_nc) of the dataset: labels, or RGB inputs (label_nc 0)."""
        if self.data.source == "labels":
            return int(self.data.label_nc), 3
        return 0, 3

    def _fresh_config(self) -> Pix2PixHDConfig:
        o = self.opts
        label_nc, input_nc = self._input_kind()
        net = str(o.get("netG"))
        if o.get("instance_feat") and not (self.has_instances and label_nc > 0):
            raise InputError("instance_feat needs instance maps: add DIR/instances/ (and DIR/labels/) to the dataset.")
        ngf = o.get("ngf") or (32 if net == "local" else 64)
        try:
            return Pix2PixHDConfig(
                netG=net, label_nc=label_nc, input_nc=input_nc, no_instance=not (self.has_instances and label_nc > 0),
                ngf=int(ngf), n_downsample_global=int(o.get("n_downsample_global")), n_blocks_global=int(o.get("n_blocks_global")),
                n_local_enhancers=int(o.get("n_local_enhancers")), n_blocks_local=int(o.get("n_blocks_local")),
                norm=str(o.get("norm")), instance_feat=bool(o.get("instance_feat")),
                feat_num=int(o.get("feat_num")), nef=int(o.get("nef")), n_downsample_E=int(o.get("n_downsample_E")))
        except ValueError as exc:
            raise InputError(f"pix2pixHD options: {exc}") from None

    def _dataset_options(self) -> dict[str, Any]:
        label_nc, _ = self._input_kind()
        return {"label_nc": label_nc, "no_instance": not self.has_instances, "instance_feat": bool(self.opts.get("instance_feat")),
                "feat_num": int(self.opts.get("feat_num"))}

    def _from_checkpoint(self, path: str) -> None:
        model = load_generator(self, "pix2pixhd", path, self._dataset_options())
        loaded: Pix2PixHDConfig = model.config
        self.label_set = model.label_set or self.label_set
        label_nc, _ = self._input_kind()
        if (loaded.label_nc > 0) != (label_nc > 0) or label_nc > max(loaded.label_nc, 0):
            kind = f"{loaded.label_nc} label classes" if loaded.label_nc else "RGB input images"
            raise InputError(f"{Path(path).name} takes {kind}, which this dataset does not match "
                             f"({'label maps up to ' + str(label_nc - 1) if label_nc else 'input images'}).")
        if not loaded.no_instance and not self.has_instances:
            self.note("the model takes instance edges but the dataset has no instances/: edges come from the label maps")
        wanted = str(self.opts.get("netG"))
        if wanted == "local" and loaded.netG == "global":
            self._local_from_global(model)
            return
        if wanted != loaded.netG:
            self.note(f"{Path(path).name} is a {loaded.netG} generator: it is fine-tuned as one (netG={wanted} ignored)")
        self.config, self.G, self.E = loaded, model.networks["G"], model.networks.get("E")
        if self.config.use_features and self.E is None:
            raise CheckpointError(f"{Path(path).name} uses instance features but no latest_net_E.pth is beside it.")

    def _local_from_global(self, model: LoadedModel) -> None:
        """A local enhancer whose global part starts from ``model``'s global generator."""
        g: Pix2PixHDConfig = model.config
        n_local = int(self.opts.get("n_local_enhancers"))
        if g.ngf % 2 ** n_local:
            raise InputError(f"The global generator's width ({g.ngf}) cannot be halved {n_local} time(s) for the local enhancer.")
        self.config = Pix2PixHDConfig(**{**g.__dict__, "netG": "local", "ngf": g.ngf // 2 ** n_local,
                                         "n_local_enhancers": n_local, "n_blocks_local": int(self.opts.get("n_blocks_local"))})
        self.G = build_generator(self.config)
        init_normal_(self.G)
        assert isinstance(self.G, LocalEnhancer)
        source = model.networks["G"].model
        kept = list(source.children())[:-GLOBAL_HEAD_LAYERS]
        self.G.model.load_state_dict(torch.nn.Sequential(*kept).state_dict(), strict=True)
        self.global_params = list(self.G.model.parameters())
        self.E = model.networks.get("E")
        steps = int(self.opts.get("fix_global_steps"))
        self.note(f"local enhancer around the global generator of {Path(self.opts.from_ckpt).name}"
                  + (f"; the global part stays fixed for {steps} steps" if steps else ""))

    def _check_resolution(self) -> None:
        multiple = self.config.size_multiple
        if self.opts.resolution % multiple or self.opts.resolution < 2 * multiple:
            raise InputError(f"This pix2pixHD generator needs a resolution that is a multiple of {multiple} (at least "
                             f"{2 * multiple}); got {self.opts.resolution}.")

    def _discriminator(self) -> PatchGAN:
        o = self.opts
        cond_nc = self.config.generator_input_nc - (self.config.feat_num if self.config.use_features else 0)
        wanted = PatchGANConfig(input_nc=cond_nc + self.config.output_nc, ndf=int(o.get("ndf")),
                                n_layers=int(o.get("n_layers_d")), norm="instance", padding=2, num_d=int(o.get("num_d")))
        if o.from_ckpt:
            sibling = find_sibling(o.from_ckpt, [("net_G", "net_D")])
            if sibling is not None:
                D = multiscale_patchgan_from_file(sibling, wanted, "this generator")
                self.note(f"the discriminator comes from {sibling.name}")
                return D
            self.note(f"{Path(o.from_ckpt).name} has no latest_net_D.pth beside it: a fresh discriminator is trained")
        return init_normal_(PatchGAN(wanted))

    # ---- the contract --------------------------------------------------------------------------

    def networks(self) -> dict[str, torch.nn.Module]:
        nets = {"G": self.G, "D": self.D}
        if self.E is not None:
            nets["E"] = self.E
        return nets

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"G": self.opt_G, "D": self.opt_D}

    def extra_state(self) -> dict[str, Any]:
        return {"ada": self.augment.state_dict()} if isinstance(self.augment, AdaptiveAugment) else {}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        if isinstance(self.augment, AdaptiveAugment) and "ada" in state:
            self.augment.load_state_dict(state["ada"])

    # ---- one iteration -------------------------------------------------------------------------

    def _condition(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Labels one-hot (+ edges), or the input image: what G and D are conditioned on."""
        c = self.config
        if c.label_nc == 0:
            return batch["input"]
        check_label_range(batch["label"], c.label_nc, "the model")
        return semantic_input(batch["label"], batch.get("instance"), c.label_nc, not c.no_instance)

    def _features(self, batch: dict[str, torch.Tensor]) -> torch.Tensor | None:
        if self.E is None:
            return None
        ids = batch.get("instance") if self.config.instance_feat else batch.get("label")
        if ids is None:
            ids = batch["label"]
        return self.E(batch["image"], ids[:, None])

    def _generate(self, cond: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        features = self._features(batch)
        return self.G(cond if features is None else torch.cat([cond, features], dim=1))

    def _d(self, cond: torch.Tensor, image: torch.Tensor):
        if self.augment is not None:
            image, cond = self.augment(image, cond)
        return self.D(torch.cat([cond, image], dim=1))

    def train_step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, float]:
        kind = self.opts.loss
        fixed_global = step < int(self.opts.get("fix_global_steps"))
        for p in self.global_params:
            p.requires_grad_(not fixed_global)
        cond, real = self._condition(batch), batch["image"]
        feat_weight = float(self.opts.get("lambda_feat")) * 4.0 / (self.D.config.n_layers + 1)
        self.frozen.set_trainable(self.D, False)
        with self.autocast():
            fake = self._generate(cond, batch)
            fake_out = self._d(cond, fake)
            with torch.no_grad():
                real_out = self._d(cond, real)
            loss_gan = losses.g_loss(kind, fake_out)
            loss_feat = losses.feature_matching(real_out, fake_out) * feat_weight
        self.backward(loss_gan + loss_feat)
        self.step("G")
        self.frozen.set_trainable(self.D, True)
        with self.autocast():
            real_logits = self._d(cond, real)
            loss_d = losses.d_loss(kind, real_logits, self._d(cond, fake.detach()))
        self.backward(loss_d)
        self.step("D")
        out = {"loss_g_gan": float(loss_gan.detach()), "loss_g_feat": float(loss_feat.detach()), "loss_d": float(loss_d.detach())}
        if isinstance(self.augment, AdaptiveAugment):
            self.augment.observe_and_update(real_logits, step)
            out["ada_p"] = self.augment.p
        return out

    # ---- outputs -------------------------------------------------------------------------------

    def preview(self, fixed: dict[str, torch.Tensor]) -> np.ndarray:
        """Rows: the input (label colours or image), the photo, G's image."""
        for net in self._generators():
            net.eval()
        fake = self._generate(self._condition(fixed), fixed)
        shown = fixed["input"] if self.config.label_nc == 0 else label_colours(fixed["label"], self.label_set)
        return image_grid([shown.cpu(), fixed["image"].cpu(), fake.float().cpu()])

    def export(self) -> LoadedModel:
        nets = {"G": eval_copy(self.G)}
        if self.E is not None:
            nets["E"] = eval_copy(self.E)
        return LoadedModel(path="", family="pix2pixhd", source_format="gan-studio", config=self.config, networks=nets,
                           label_set=self.label_set if self.config.label_nc else None)


TRAINER = Pix2PixHDTrainer
