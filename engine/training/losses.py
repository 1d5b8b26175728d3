"""GAN losses and regularisers shared by the trainers.

Discriminator outputs may be one tensor of logits, or (multi-scale / feature-returning
discriminators, e.g. :class:`engine.models.patchgan.MultiscalePatchGAN`) a list with one entry
per scale, each either a logits tensor or a list of features whose last element is the logits.
Every loss averages over scales.

Adversarial losses (``kind``):

* ``"hinge"`` (SPADE, BigGAN): D ``relu(1 - real) + relu(1 + fake)``, G ``-fake``;
* ``"lsgan"`` (pix2pixHD, CycleGAN): D ``(real - 1)^2 + fake^2`` (halved), G ``(fake - 1)^2``;
* ``"nonsaturating"`` (StyleGAN2, pix2pix's "vanilla"): D ``softplus(-real) + softplus(fake)``,
  G ``softplus(-fake)``;
* ``"wgan-gp"``: D ``fake - real`` (add :func:`gradient_penalty`), G ``-fake``;
* ``"ragan"`` (ESRGAN, relativistic average): each side judged against the other side's mean,
  see :func:`relativistic_d_loss` / :func:`relativistic_g_loss`.
"""

from __future__ import annotations

from typing import Callable, Sequence, Union

import torch
import torch.nn.functional as F
from torch import nn

from engine.errors import InputError

#: the choices of ``--loss`` that plain (non-relativistic) GANs offer
ADVERSARIAL_KINDS = ("hinge", "lsgan", "nonsaturating", "wgan-gp")

Logits = Union[torch.Tensor, Sequence[Union[torch.Tensor, Sequence[torch.Tensor]]]]


def check_kind(kind: str, allowed: Sequence[str] = ADVERSARIAL_KINDS) -> str:
    """``kind`` if it is one of ``allowed``, else an :class:`InputError` naming the choices."""
    if kind not in allowed:
        raise InputError(f"Unknown GAN loss {kind!r}; choose one of {', '.join(allowed)}.")
    return kind


def logits_per_scale(output: Logits) -> list[torch.Tensor]:
    """The logits tensors of a discriminator output, one per scale (see the module docstring)."""
    if isinstance(output, torch.Tensor):
        return [output]
    scales = []
    for entry in output:
        scales.append(entry if isinstance(entry, torch.Tensor) else entry[-1])
    return scales


def _mean_over_scales(values: list[torch.Tensor]) -> torch.Tensor:
    return torch.stack([v.float() for v in values]).mean()


def d_loss(kind: str, real: Logits, fake: Logits) -> torch.Tensor:
    """The discriminator's loss for real and fake outputs (gradient penalties are separate)."""
    check_kind(kind)
    terms = []
    for r, f in zip(logits_per_scale(real), logits_per_scale(fake), strict=True):
        r, f = r.float(), f.float()
        if kind == "hinge":
            terms.append(F.relu(1.0 - r).mean() + F.relu(1.0 + f).mean())
        elif kind == "lsgan":
            terms.append(0.5 * (((r - 1.0) ** 2).mean() + (f ** 2).mean()))
        elif kind == "nonsaturating":
            terms.append(F.softplus(-r).mean() + F.softplus(f).mean())
        else:  # wgan-gp
            terms.append(f.mean() - r.mean())
    return _mean_over_scales(terms)


def g_loss(kind: str, fake: Logits) -> torch.Tensor:
    """The generator's adversarial loss for the discriminator's output on its fakes."""
    check_kind(kind)
    terms = []
    for f in logits_per_scale(fake):
        f = f.float()
        if kind == "lsgan":
            terms.append(((f - 1.0) ** 2).mean())
        elif kind == "nonsaturating":
            terms.append(F.softplus(-f).mean())
        else:  # hinge and wgan-gp: the critic's score, raised
            terms.append(-f.mean())
    return _mean_over_scales(terms)


def lsgan_target_loss(output: Logits, target_is_real: bool) -> torch.Tensor:
    """Least-squares distance of ``output`` to 1 (real) or 0 (fake), averaged over scales
    (CycleGAN's ``GANLoss('lsgan')``, used where real and fake are scored in separate passes)."""
    target = 1.0 if target_is_real else 0.0
    return _mean_over_scales([((o.float() - target) ** 2).mean() for o in logits_per_scale(output)])


def relativistic_d_loss(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """Relativistic average GAN, discriminator side (ESRGAN): real should look more real than
    the average fake, fakes less real than the average real. ``fake`` is usually detached."""
    real, fake = real.float(), fake.float()
    loss_real = F.binary_cross_entropy_with_logits(real - fake.mean(), torch.ones_like(real))
    loss_fake = F.binary_cross_entropy_with_logits(fake - real.mean(), torch.zeros_like(fake))
    return 0.5 * (loss_real + loss_fake)


def relativistic_g_loss(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """Relativistic average GAN, generator side: the roles swapped (``real`` detached by the caller)."""
    real, fake = real.float(), fake.float()
    loss_real = F.binary_cross_entropy_with_logits(real - fake.mean(), torch.zeros_like(real))
    loss_fake = F.binary_cross_entropy_with_logits(fake - real.mean(), torch.ones_like(fake))
    return 0.5 * (loss_real + loss_fake)


def feature_matching(real: Sequence[Sequence[torch.Tensor]], fake: Sequence[Sequence[torch.Tensor]]) -> torch.Tensor:
    """Discriminator feature matching (pix2pixHD, SPADE): the L1 distance between the
    intermediate features (all but the last, the logits) of real and fake inputs, summed over
    layers and averaged over scales. Real features are detached here."""
    terms = []
    for real_scale, fake_scale in zip(real, fake, strict=True):
        layers = [F.l1_loss(f.float(), r.detach().float()) for r, f in zip(real_scale[:-1], fake_scale[:-1], strict=True)]
        if layers:
            terms.append(torch.stack(layers).sum())
    if not terms:
        raise ValueError("feature matching needs discriminators that return intermediate features")
    return torch.stack(terms).mean()


def gradient_penalty(critic: Callable[[torch.Tensor], Logits], real: torch.Tensor, fake: torch.Tensor,
                     target_norm: float = 1.0) -> torch.Tensor:
    """WGAN-GP: ``mean((|grad critic(x_hat)| - 1)^2)`` at random interpolates ``x_hat`` of real and
    fake (the mixing weights come from torch's global RNG). Multiply by lambda (10) yourself."""
    alpha = torch.rand(real.shape[0], *([1] * (real.dim() - 1)), device=real.device, dtype=real.dtype)
    mixed = (alpha * real.detach() + (1 - alpha) * fake.detach()).requires_grad_(True)
    scores = sum(s.sum() for s in logits_per_scale(critic(mixed)))
    (grad,) = torch.autograd.grad(scores, mixed, create_graph=True)
    return ((grad.flatten(1).norm(dim=1) - target_norm) ** 2).mean()


def r1_penalty(real_logits: Logits, real: torch.Tensor) -> torch.Tensor:
    """R1: ``mean |grad_x D(x)|^2`` on real images (``real`` must require grad before D saw it).
    Multiply by ``gamma / 2`` yourself."""
    scores = sum(s.float().sum() for s in logits_per_scale(real_logits))
    (grad,) = torch.autograd.grad(scores, real, create_graph=True)
    return grad.float().pow(2).flatten(1).sum(1).mean()


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, 1)) summed over latent dimensions, averaged over the batch
    (SPADE's VAE style encoder uses this with weight 0.05)."""
    return (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(dim=1)).mean()


def masked_mse(prediction: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Squared error weighted per pixel by ``weight`` (N x 1 x H x W), normalised by the total
    weight times the channels (an average over the weighted pixels)."""
    squared = (prediction - target) ** 2
    return (squared * weight).sum() / (weight.sum() * prediction.shape[1]).clamp_min(1.0)


class ImageHistory:
    """CycleGAN's image buffer (Shrivastava et al.): up to ``size`` earlier fakes; each query
    returns, per image, the new fake (and stores it while the buffer fills; afterwards with
    probability 1/2 it swaps it for a random stored one and returns that instead). Random draws
    come from torch's global RNG, so they are restored on resume; :meth:`state` / :meth:`load_state`
    hold the images."""

    def __init__(self, size: int = 50):
        self.size = size
        self.images: list[torch.Tensor] = []

    def query(self, images: torch.Tensor) -> torch.Tensor:
        if self.size <= 0:
            return images
        out = []
        for image in images.detach():
            image = image.unsqueeze(0)
            if len(self.images) < self.size:
                self.images.append(image.clone())
                out.append(image)
            elif float(torch.rand(())) > 0.5:
                index = int(torch.randint(0, self.size, ()))
                out.append(self.images[index].clone())
                self.images[index] = image.clone()
            else:
                out.append(image)
        return torch.cat(out, 0)

    def state(self) -> torch.Tensor:
        """The stored images as one ``K x C x H x W`` tensor (K may be 0), on the CPU."""
        if not self.images:
            return torch.zeros(0)
        return torch.cat(self.images, 0).cpu()

    def load_state(self, stored: torch.Tensor, device: torch.device) -> None:
        self.images = [] if stored.numel() == 0 else [img.unsqueeze(0).to(device) for img in stored]


def set_requires_grad(net: nn.Module, flag: bool) -> None:
    """Freeze (``False``) or unfreeze a network's parameters (saves D's gradients during G steps)."""
    for p in net.parameters():
        p.requires_grad_(flag)
