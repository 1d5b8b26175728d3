"""Training BigGAN (Brock et al. 2019) on a class-per-folder dataset: the app's BigGAN-deep
generator at a small configuration and a projection discriminator.

Networks: G (:class:`engine.models.biggan.BigGANGenerator`: shared class embedding feeding every
conditional BatchNorm with z, self-attention, spectral norm everywhere), its moving average
``G_ema`` (exported), and D (:class:`engine.models.biggan_discriminator.BigGANDiscriminator`:
spectral norm, projection of the class embedding).

Losses: hinge (G ``-D(G(z, y), y)``, D ``relu(1 - D(x, y)) + relu(1 + D(G(z), y))``), plus
orthogonal regularisation of G's weights ``ortho_reg / 2 * sum ||W W^T * (1 - I)||_F^2`` (the
shared embedding excluded). TTUR: G lr 1e-4, D lr 4e-4, Adam betas (0, 0.999). ``G_ema`` follows G
with decay ``ema_decay`` from step ``ema_start`` (a copy before). z is N(0, I) in training;
truncation is a sampling-time choice.

BatchNorm: G trains on batch statistics; the exported model's per-truncation "standing
statistics" (the format's ``n_stats`` rows) are gathered from ``G_ema`` at each export
(:func:`engine.models.biggan.collect_standing_statistics`, ``standing_batches`` batches of
``batch`` per row), on a copy, so training state is never touched.

Classes: dataset class ``i`` (the i-th sub-folder) is generator class ``class_indices[i]``
(default ``i``); a fresh model has as many classes as the dataset.

Options (``opts.extra``): ``channel_width`` (64), ``z_dim`` (128), ``d_channel_width`` (64),
``n_stats`` (11), ``ortho_reg`` (1e-4), ``ema_decay`` (0.999), ``ema_start`` (0),
``standing_batches`` (2), ``class_indices`` (None).

Fine-tuning (``--from``): a BigGAN the app loads (Hugging Face folder or .bin, our own file); such
files hold no discriminator, so a fresh one is trained (said in the log). Map the dataset's
classes onto the model's with ``class_indices`` (e.g. ImageNet indices).
"""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F

from engine.errors import InputError
from engine.models.biggan import (
    BigGANConfig,
    BigGANGenerator,
    collect_standing_statistics,
    truncated_noise_sample,
)
from engine.models.biggan_discriminator import (
    BigGANDiscriminator,
    BigGANDiscriminatorConfig,
)
from engine.models.layers import SpectralNormLayer
from engine.models.loaded import LoadedModel
from engine.training import losses
from engine.training.augment import AdaptiveAugment, make_augment
from engine.training.gan_helpers import FrozenLayers, eval_copy, image_grid, trainable
from engine.training.trainer import Trainer

#: preview latents come from this seed (numpy RandomState; the training RNG is not touched)
PREVIEW_SEED = 4321
#: truncation of the preview samples
PREVIEW_TRUNCATION = 0.8
#: widest block multiplier of a generated layer table
MAX_MULTIPLIER = 16


def deep_layers(resolution: int) -> tuple[tuple[bool, int, int], ...]:
    """BigGAN-deep's block table for ``resolution`` (a power of two >= 8): per resolution step a
    block that keeps the size, then one that doubles it; widths ``min(16, 2**k)`` halving toward
    the output (the official 128 px table for 128)."""
    ups = round(math.log2(resolution)) - 2
    mults = [min(MAX_MULTIPLIER, 2 ** (ups - i)) for i in range(ups + 1)]
    layers = []
    for i in range(ups):
        layers += [(False, mults[i], mults[i]), (True, mults[i], mults[i + 1])]
    return tuple(layers)


def orthogonal_penalty(module: torch.nn.Module) -> torch.Tensor:
    """``1/2 * sum ||W W^T * (1 - I)||_F^2`` over the spectral-norm layers' raw weights ``W`` (rows: outputs)."""
    terms = []
    for m in module.modules():
        if isinstance(m, SpectralNormLayer):
            w = m.weight_orig.reshape(m.weight_orig.shape[0], -1).float()
            gram = w @ w.t()
            off = gram * (1.0 - torch.eye(gram.shape[0], device=gram.device))
            terms.append(off.square().sum())
    return 0.5 * torch.stack(terms).sum()


class BigGANTrainer(Trainer):
    family = "biggan"
    layout = "classes"
    losses = ("hinge",)
    defaults: ClassVar[dict[str, Any]] = {
        "resolution": 128, "batch": 16, "lr_g": 1e-4, "lr_d": 4e-4, "betas": (0.0, 0.999), "steps": 20000,
        "channel_width": 64, "z_dim": 128, "d_channel_width": 64, "n_stats": 11, "ortho_reg": 1e-4,
        "ema_decay": 0.999, "ema_start": 0, "standing_batches": 2, "class_indices": None,
    }

    # ---- building ------------------------------------------------------------------------------

    def build(self) -> None:
        classes = len(self.data.class_names or [])
        if classes < 1:
            raise InputError("BigGAN trains on a folder with one sub-folder of images per class.")
        if self.opts.from_ckpt:
            model = self.load_checkpoint_for_finetune(self.opts.from_ckpt, "biggan")
            self.config: BigGANConfig = model.config
            self.G = model.networks["G"]
            if self.config.output_dim != self.opts.resolution:
                raise InputError(f"{Path(self.opts.from_ckpt).name} makes {self.config.output_dim} px images; fine-tune it "
                                 f"with --resolution {self.config.output_dim}.")
            self.note(f"{Path(self.opts.from_ckpt).name} holds no discriminator: a fresh one is trained")
        else:
            self.config = self._fresh_config(classes)
            self.G = BigGANGenerator(self.config)
        self.class_map = self._class_map(classes).to(self.device)
        self.G.to(self.device).train().requires_grad_(True)
        self.G_ema = copy.deepcopy(self.G).eval().requires_grad_(False)
        self.D = BigGANDiscriminator(self._discriminator_config(classes)).to(self.device).train()
        self.frozen = FrozenLayers(self.D.input_blocks()[: self.opts.freeze_d])
        self.frozen.set_trainable(self.D, True)
        betas = tuple(self.opts.betas)
        self.opt_G = torch.optim.Adam(self.G.parameters(), lr=self.opts.lr_g, betas=betas, eps=1e-6)
        self.opt_D = torch.optim.Adam(trainable(self.D.parameters(), self.frozen), lr=self.opts.lr_d, betas=betas, eps=1e-6)
        self.augment = make_augment(self.opts.augment)

    def _fresh_config(self, classes: int) -> BigGANConfig:
        res = int(self.opts.resolution)
        if res < 8 or res & (res - 1):
            raise InputError(f"BigGAN trains at a power-of-two resolution of at least 8 px, not {res}.")
        layers = deep_layers(res)
        z_dim = int(self.opts.get("z_dim"))
        # self-attention before the last resolution step's blocks (64 px in the 128 px model)
        attention = len(layers) - 2 if res >= 32 else -1
        try:
            return BigGANConfig(output_dim=res, z_dim=z_dim, class_embed_dim=z_dim, channel_width=int(self.opts.get("channel_width")),
                                num_classes=classes, layers=layers, attention_layer_position=attention,
                                n_stats=int(self.opts.get("n_stats")))
        except ValueError as exc:
            raise InputError(f"BigGAN options: {exc}") from None

    def _class_map(self, classes: int) -> torch.Tensor:
        """Generator class index of each dataset class."""
        chosen = self.opts.get("class_indices")
        indices = list(range(classes)) if chosen is None else [int(i) for i in chosen]
        if len(indices) != classes:
            raise InputError(f"class_indices lists {len(indices)} classes but the dataset has {classes} class folders.")
        bad = [i for i in indices if not 0 <= i < self.config.num_classes]
        if bad:
            raise InputError(f"The model has classes 0..{self.config.num_classes - 1}; the dataset's {classes} classes map "
                             f"onto {bad[:5]}. Set class_indices to the model's indices of your classes.")
        return torch.tensor(indices, dtype=torch.int64)

    def _discriminator_config(self, classes: int) -> BigGANDiscriminatorConfig:
        res = int(self.opts.resolution)
        attention = 64 if res >= 128 else (res // 2 if res >= 32 else 0)
        return BigGANDiscriminatorConfig(resolution=res, channel_width=int(self.opts.get("d_channel_width")),
                                         num_classes=classes, attention_resolution=attention)

    # ---- the contract --------------------------------------------------------------------------

    def networks(self) -> dict[str, torch.nn.Module]:
        return {"G": self.G, "D": self.D, "G_ema": self.G_ema}

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"G": self.opt_G, "D": self.opt_D}

    def extra_state(self) -> dict[str, Any]:
        return {"ada": self.augment.state_dict()} if isinstance(self.augment, AdaptiveAugment) else {}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        if isinstance(self.augment, AdaptiveAugment) and "ada" in state:
            self.augment.load_state_dict(state["ada"])

    # ---- one iteration -------------------------------------------------------------------------

    def _d(self, image: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.D(image if self.augment is None else self.augment(image), y)

    def train_step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, float]:
        real, y = batch["image"], batch["class_index"]
        n = real.shape[0]
        onehot = F.one_hot(self.class_map[y], self.config.num_classes).float()
        self.frozen.set_trainable(self.D, False)
        with self.autocast():
            fake = self.G(torch.randn(n, self.config.z_dim, device=self.device), onehot, 1.0)
            loss_g = losses.g_loss("hinge", self._d(fake, y))
        ortho = orthogonal_penalty(self.G) * float(self.opts.get("ortho_reg"))
        self.backward(loss_g + ortho)
        self.step("G")
        self.frozen.set_trainable(self.D, True)
        with self.autocast():
            real_logits = self._d(real, y)
            loss_d = losses.d_loss("hinge", real_logits, self._d(fake.detach(), y))
        self.backward(loss_d)
        self.step("D")
        out = {"loss_g": float(loss_g.detach()), "loss_d": float(loss_d.detach()), "ortho": float(ortho.detach())}
        if isinstance(self.augment, AdaptiveAugment):
            self.augment.observe_and_update(real_logits, step)
            out["ada_p"] = self.augment.p
        self._update_ema(step)
        return out

    @torch.no_grad()
    def _update_ema(self, step: int) -> None:
        decay = float(self.opts.get("ema_decay")) if step >= int(self.opts.get("ema_start")) else 0.0
        for p_ema, p in zip(self.G_ema.parameters(), self.G.parameters()):
            p_ema.copy_(p.detach().lerp(p_ema, decay))
        for b_ema, b in zip(self.G_ema.buffers(), self.G.buffers()):
            b_ema.copy_(b)

    # ---- outputs -------------------------------------------------------------------------------

    def _inference_generator(self) -> BigGANGenerator:
        """A copy of G_ema with standing statistics gathered for the dataset's classes."""
        G = copy.deepcopy(self.G_ema).eval()
        batch = max(2, min(int(self.opts.batch), 64))
        collect_standing_statistics(G, self.class_map.tolist(), batch=batch, batches=int(self.opts.get("standing_batches")),
                                    seed=self.opts.seed)
        return G

    def preview(self, fixed: dict[str, torch.Tensor]) -> np.ndarray:
        """Two rows of G_ema samples per column, one column per class (up to 8 classes), truncation 0.8."""
        G = self._inference_generator()
        classes = self.class_map.tolist()[:8]
        z = torch.from_numpy(truncated_noise_sample(2 * len(classes), self.config.z_dim, PREVIEW_TRUNCATION, seed=PREVIEW_SEED))
        columns = []
        for i, cls in enumerate(classes):
            onehot = torch.zeros(2, self.config.num_classes, device=self.device)
            onehot[:, cls] = 1.0
            columns.append(G(z[2 * i:2 * i + 2].to(self.device), onehot, PREVIEW_TRUNCATION).float().cpu())
        return image_grid(columns)

    def export(self) -> LoadedModel:
        return LoadedModel(path="", family="biggan", source_format="gan-studio", config=self.config,
                           networks={"G": eval_copy(self._inference_generator())})


TRAINER = BigGANTrainer
