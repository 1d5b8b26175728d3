"""Training SPADE (Park et al. 2019) on label/photo pairs, as the official code does.

Networks: the app's generator (:class:`engine.models.spade.SpadeGenerator`, spectral norm in its
residual blocks), with ``--vae`` (``extra vae=true``) the style encoder
(:class:`engine.models.spade.ConvEncoder`), and a multi-scale PatchGAN discriminator
(:mod:`engine.models.patchgan`: 2 scales, 4 layers, spectral norm + instance norm, padding 2,
as SPADE's ``spectralinstance`` D) that sees the one-hot label map and the image concatenated.

Losses (official weights): hinge GAN loss (``--loss hinge``; ``lsgan`` / ``nonsaturating`` also
accepted), discriminator feature matching (``lambda_feat`` 10), with the VAE the KL divergence of
the encoder's posterior (``lambda_kld`` 0.05; the encoder learns with G's optimizer). TTUR: D at
lr 4e-4, G at 1e-4, Adam betas (0, 0.9). The VGG perceptual loss of the paper is not used (it
needs ImageNet VGG19 weights the app does not ship).

Generator input (as the official preprocessing): the one-hot label map (``label_nc`` channels
[+ a don't-care channel for models that have one]) and, when the folder has ``instances/``, the
instance-edge channel last.

Options (``opts.extra``): ``ngf`` (64), ``ndf`` (64), ``n_layers_d`` (4), ``num_d`` (2),
``norm_G`` (``spectralspadesyncbatch3x3``; ``spectralspadeinstance3x3`` suits batches of 1),
``num_upsampling_layers`` (``normal``), ``z_dim`` (256), ``vae`` (False), ``lambda_feat``,
``lambda_kld``.

Fine-tuning (``--from``): a SPADE generator the app loads (official ``latest_net_G.pth`` with
``latest_net_E.pth`` beside it for VAE models, or our own file). Options the official file does
not tell (label_nc ...) are taken from the dataset when no opt.txt / gan_studio.json gives them.
A ``latest_net_D.pth`` beside the generator is used as the discriminator; otherwise a fresh one
(said in the log). ``--freeze-d N`` freezes the first N discriminator blocks of every scale.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from engine.errors import CheckpointError, InputError, MissingOptionError
from engine.loaders.base import strict_load
from engine.models.loaded import LoadedModel
from engine.models.patchgan import (
    PatchGAN,
    PatchGANConfig,
    init_normal_,
    official_state,
)
from engine.models.spade import ConvEncoder, SpadeConfig, SpadeGenerator, parse_norm_G
from engine.training import losses
from engine.training.augment import AdaptiveAugment, make_augment
from engine.training.gan_helpers import (
    FrozenLayers,
    eval_copy,
    find_sibling,
    image_grid,
    read_state_dict,
    trainable,
)
from engine.training.trainer import Trainer

# ---- shared with the pix2pixHD trainer ---------------------------------------------------------------


def label_edges(ids: torch.Tensor) -> torch.Tensor:
    """``B x H x W`` integer ids -> ``B x 1 x H x W`` float, 1 where a pixel differs from a 4-neighbour
    (both pixels of each differing pair marked), as the official preprocessing does."""
    edge = torch.zeros(ids.shape, dtype=torch.bool, device=ids.device)
    horizontal = ids[:, :, 1:] != ids[:, :, :-1]
    vertical = ids[:, 1:, :] != ids[:, :-1, :]
    edge[:, :, 1:] |= horizontal
    edge[:, :, :-1] |= horizontal
    edge[:, 1:, :] |= vertical
    edge[:, :-1, :] |= vertical
    return edge[:, None].float()


def semantic_input(labels: torch.Tensor, instances: torch.Tensor | None, onehot_nc: int, with_edges: bool) -> torch.Tensor:
    """The generator/discriminator condition: one-hot ``labels`` (``B x H x W`` ids below
    ``onehot_nc``) and, when ``with_edges``, the edges of ``instances`` (of the labels when the
    folder has no instance maps) as the last channel."""
    onehot = torch.nn.functional.one_hot(labels.long(), onehot_nc).permute(0, 3, 1, 2).float()
    if not with_edges:
        return onehot
    return torch.cat([onehot, label_edges(instances if instances is not None else labels)], dim=1)


def check_label_range(labels: torch.Tensor, onehot_nc: int, what: str) -> None:
    top = int(labels.max())
    if top >= onehot_nc or int(labels.min()) < 0:
        raise InputError(f"The label maps hold the value {top}, but {what} has only {onehot_nc} label channels "
                         f"(0..{onehot_nc - 1}). Fix the label maps or the dataset's labelset.json.")


def label_colours(labels: torch.Tensor, label_set: dict[str, Any] | None) -> torch.Tensor:
    """``B x H x W`` ids -> ``B x 3 x H x W`` in [-1, 1] with the label set's colours (for previews)."""
    from engine.labelsets import LabelSet, generic

    top = int(labels.max()) + 1
    labelset = LabelSet.from_dict(label_set) if label_set else generic(top)
    rgb = labelset.colorize(labels.cpu().numpy().astype(np.int32))
    return torch.from_numpy(rgb).permute(0, 3, 1, 2).float().div(127.5).sub(1.0)


def multiscale_patchgan_from_file(path: Path, wanted: PatchGANConfig, what: str) -> PatchGAN:
    """An official SPADE / pix2pixHD ``latest_net_D.pth`` as a :class:`PatchGAN` (its architecture
    read from the weights; the input channels must be ``wanted.input_nc``)."""
    state = read_state_dict(path)
    config = _patchgan_config_from_state(state, wanted, path)
    if config.input_nc != wanted.input_nc:
        raise CheckpointError(f"{path.name} sees {config.input_nc} input channels but {what} gives the discriminator "
                              f"{wanted.input_nc}; it belongs to another model. Remove it or train a fresh discriminator.")
    D = PatchGAN(config)
    strict_load(D, official_state(state, config), f"{path.name} (discriminator)")
    return D


def _scale_count(keys: list[str]) -> int:
    """Scales of an official multi-scale D from its key names (SPADE ``discriminator_{s}.``,
    pix2pixHD ``scale{s}_layer{j}.`` or ``layer{s}.``; a lone pix2pix D ``model.`` is one scale)."""
    for pattern in (r"discriminator_(\d+)\.", r"scale(\d+)_layer\d+\.", r"layer(\d+)\."):
        found = {int(m[1]) for k in keys if (m := re.match(pattern, k))}
        if found:
            return max(found) + 1
    return 1


def _patchgan_config_from_state(state: dict[str, torch.Tensor], wanted: PatchGANConfig, path: Path) -> PatchGANConfig:
    """Scales, layers, width, norm, spectral norm of an official multi-scale D, from its keys."""
    num_d = _scale_count(list(state))
    mapped = official_state(state, PatchGANConfig(num_d=num_d))
    blocks = sorted({int(k.split(".")[1][5:]) for k in mapped if k.startswith("discriminator_0.model")})
    first = next((v for k, v in mapped.items() if k.startswith("discriminator_0.model0.") and v.dim() == 4), None)
    if first is None or len(blocks) < 3:
        raise CheckpointError(f"{path.name} is not a multi-scale PatchGAN discriminator.")
    spectral = any(k.endswith("weight_orig") for k in mapped)
    norm = "batch" if any(k.endswith("running_mean") for k in mapped) else "instance"
    return PatchGANConfig(input_nc=int(first.shape[1]), ndf=int(first.shape[0]), n_layers=len(blocks) - 2, norm=norm,
                          spectral_norm=spectral, padding=wanted.padding, num_d=num_d)


def load_generator(trainer: Trainer, family: str, path: str, fallback_options: dict[str, Any]) -> LoadedModel:
    """``trainer.load_checkpoint_for_finetune``; when the file does not tell an option the loader
    needs, load again with ``fallback_options`` (taken from the dataset) and say so."""
    try:
        return trainer.load_checkpoint_for_finetune(path, family)
    except MissingOptionError:
        from engine.loaders.detect import load_model

        model = load_model(path, fallback_options)
        if model.family != family:
            raise CheckpointError(f"{Path(path).name} is a {model.family} model, but a {trainer.family} run fine-tunes "
                                  f"{family} models.") from None
        shown = ", ".join(f"{k}={v}" for k, v in fallback_options.items())
        trainer.note(f"fine-tuning from {Path(path).name} ({model.source_format}); options from the dataset: {shown}")
        model.to(trainer.device)
        return model


# ---- the trainer -------------------------------------------------------------------------------------


class SpadeTrainer(Trainer):
    family = "spade"
    layout = "paired"
    losses = ("hinge", "lsgan", "nonsaturating")
    defaults: ClassVar[dict[str, Any]] = {
        "resolution": 256, "batch": 1, "lr_g": 1e-4, "lr_d": 4e-4, "betas": (0.0, 0.9), "steps": 20000,
        "ngf": 64, "ndf": 64, "n_layers_d": 4, "num_d": 2, "norm_G": "spectralspadesyncbatch3x3",
        "num_upsampling_layers": "normal", "z_dim": 256, "vae": False, "lambda_feat": 10.0, "lambda_kld": 0.05,
    }

    def build(self) -> None:
        if self.data.source != "labels" or not self.data.label_nc:
            raise InputError("SPADE trains on label maps: the dataset needs DIR/labels/ (class-index PNGs) beside DIR/images/.")
        self.has_instances = any("instance" in item.files for item in self.data.items)
        label_set = self.data.label_set
        if self.opts.from_ckpt:
            model = load_generator(self, "spade", self.opts.from_ckpt, self._dataset_options())
            self.config: SpadeConfig = model.config
            self.G = model.networks["G"]
            self.E = model.networks.get("E")
            label_set = model.label_set or label_set
            self._check_finetune()
        else:
            self.config = self._fresh_config()
            self.G = SpadeGenerator(self.config)
            self.E = ConvEncoder(self.config) if self.config.use_vae else None
        self.label_set = label_set
        for net in self._generators():
            net.to(self.device).train().requires_grad_(True)
        self.D = self._discriminator().to(self.device).train()
        self.frozen = FrozenLayers(self.D.blocks()[: self.opts.freeze_d * self.D.config.num_d])
        self.frozen.set_trainable(self.D, True)
        betas = tuple(self.opts.betas)
        g_params = [p for net in self._generators() for p in net.parameters()]
        self.opt_G = torch.optim.Adam(g_params, lr=self.opts.lr_g, betas=betas)
        self.opt_D = torch.optim.Adam(trainable(self.D.parameters(), self.frozen), lr=self.opts.lr_d, betas=betas)
        self.augment = make_augment(self.opts.augment)

    def _generators(self) -> list[torch.nn.Module]:
        return [self.G] + ([self.E] if self.E is not None else [])

    def _dataset_options(self) -> dict[str, Any]:
        return {"label_nc": int(self.data.label_nc), "contain_dontcare_label": False,
                "no_instance": not self.has_instances, "crop_size": int(self.opts.resolution)}

    def _fresh_config(self) -> SpadeConfig:
        o = self.opts
        try:
            config = SpadeConfig(label_nc=int(self.data.label_nc), no_instance=not self.has_instances, ngf=int(o.get("ngf")),
                                 norm_G=str(o.get("norm_G")), use_vae=bool(o.get("vae")), z_dim=int(o.get("z_dim")),
                                 num_upsampling_layers=str(o.get("num_upsampling_layers")), crop_size=int(o.resolution))
        except ValueError as exc:
            raise InputError(f"SPADE options: {exc}") from None
        if config.output_size != (o.resolution, o.resolution):
            step = 2 ** config.upsampling_steps
            raise InputError(f"SPADE ({config.num_upsampling_layers} up-sampling) renders multiples of {step} px; "
                             f"use --resolution {max(step, o.resolution // step * step)} instead of {o.resolution}.")
        self._check_normalisable(config)
        return config

    def _check_normalisable(self, config: SpadeConfig) -> None:
        """The first blocks run at the latent size: a 1x1 map cannot be instance-normalised, nor
        batch-normalised over one sample."""
        sh, sw = config.latent_size
        if sh * sw > 1:
            return
        _, norm, _ = parse_norm_G(config.norm_G)
        local_batch = max(1, self.opts.batch // self.ctx.world_size)
        if norm == "instance" or local_batch == 1:
            raise InputError(f"At {self.opts.resolution} px SPADE starts from a 1x1 map, which {norm} norm cannot normalise"
                             + (" over a batch of 1" if norm != "instance" else "") + f"; use --resolution "
                             f"{2 * config.output_size[0]} or more" + (" or a batch of 2 or more." if norm != "instance" else "."))

    def _check_finetune(self) -> None:
        name = Path(self.opts.from_ckpt).name
        if self.data.label_nc > self.config.onehot_nc:
            raise InputError(f"{name} knows {self.config.onehot_nc} label values, but the dataset's labels go up to "
                             f"{self.data.label_nc - 1}. Fine-tune it on labels of its own label set.")
        if self.config.output_size != (self.opts.resolution, self.opts.resolution):
            h, w = self.config.output_size
            raise InputError(f"{name} renders {w}x{h} images; fine-tune it with --resolution {w}"
                             + ("" if h == w else " (square crops cannot train a non-square model)") + ".")
        if self.config.use_vae and self.E is None:
            raise CheckpointError(f"{name} is a style-latent (VAE) SPADE generator but no latest_net_E.pth is beside it.")
        if not self.config.no_instance and not self.has_instances:
            self.note("the model takes instance edges but the dataset has no instances/: edges come from the label maps")

    def _discriminator(self) -> PatchGAN:
        o = self.opts
        wanted = PatchGANConfig(input_nc=self.config.semantic_nc + 3, ndf=int(o.get("ndf")), n_layers=int(o.get("n_layers_d")),
                                norm="instance", spectral_norm=True, padding=2, num_d=int(o.get("num_d")))
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

    def _condition(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        labels = batch["label"]
        check_label_range(labels, self.config.onehot_nc, "the model")
        return semantic_input(labels, batch.get("instance"), self.config.onehot_nc, not self.config.no_instance)

    def _generate(self, seg: torch.Tensor, real: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(fake, KL term or None): with the VAE, z is sampled from the encoder's posterior of ``real``."""
        if self.E is None:
            return self.G(seg), None
        mu, logvar = self.E(real)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        return self.G(seg, z), losses.kl_divergence(mu.float(), logvar.float())

    def _d(self, seg: torch.Tensor, image: torch.Tensor):
        if self.augment is not None:
            image, seg = self.augment(image, seg)
        return self.D(torch.cat([seg, image], dim=1))

    def train_step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, float]:
        kind = self.opts.loss
        seg, real = self._condition(batch), batch["image"]
        # -- generator (and encoder)
        self.frozen.set_trainable(self.D, False)
        with self.autocast():
            fake, kld = self._generate(seg, real)
            fake_out = self._d(seg, fake)
            with torch.no_grad():
                real_out = self._d(seg, real)
            loss_gan = losses.g_loss(kind, fake_out)
            loss_feat = losses.feature_matching(real_out, fake_out) * float(self.opts.get("lambda_feat"))
            total = loss_gan + loss_feat
            if kld is not None:
                kld = kld * float(self.opts.get("lambda_kld"))
                total = total + kld
        self.backward(total)
        self.step("G")
        # -- discriminator
        self.frozen.set_trainable(self.D, True)
        with self.autocast():
            real_logits = self._d(seg, real)
            loss_d = losses.d_loss(kind, real_logits, self._d(seg, fake.detach()))
        self.backward(loss_d)
        self.step("D")
        out = {"loss_g_gan": float(loss_gan.detach()), "loss_g_feat": float(loss_feat.detach()), "loss_d": float(loss_d.detach())}
        if isinstance(self.augment, AdaptiveAugment):
            self.augment.observe_and_update(real_logits, step)
            out["ada_p"] = self.augment.p
        if kld is not None:
            out["loss_kld"] = float(kld.detach())
        return out

    # ---- outputs -------------------------------------------------------------------------------

    def preview(self, fixed: dict[str, torch.Tensor]) -> np.ndarray:
        """Rows: the label map in its colours, the photo, G's image (with the VAE: from the photo's style)."""
        self.G.eval()
        seg = self._condition(fixed)
        if self.E is not None:
            self.E.eval()
            mu, _ = self.E(fixed["image"])
            fake = self.G(seg, mu)
        else:
            fake = self.G(seg)
        return image_grid([label_colours(fixed["label"], self.label_set), fixed["image"].cpu(), fake.float().cpu()])

    def export(self) -> LoadedModel:
        nets = {"G": eval_copy(self.G)}
        if self.E is not None:
            nets["E"] = eval_copy(self.E)
        return LoadedModel(path="", family="spade", source_format="gan-studio", config=self.config, networks=nets,
                           label_set=self.label_set)


TRAINER = SpadeTrainer
