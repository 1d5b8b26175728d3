"""SPADE (semantic image synthesis with spatially-adaptive normalization), our own implementation.

The module and parameter names follow the layout of the official NVlabs/SPADE checkpoints
(``head_0``, ``G_middle_0``, ``up_0`` ..., ``norm_0.mlp_shared.0`` ...) so that their
``latest_net_G.pth`` / ``latest_net_E.pth`` load strictly, key for key. The code is written from
the published description of the architecture, not copied.

Networks:
  * :class:`SpadeGenerator` ("G"): label map (one-hot, ``semantic_nc`` channels) [+ style latent z]
    -> RGB image in [-1, 1].
  * :class:`ConvEncoder` ("E", only with ``use_vae``): RGB image in [-1, 1] -> (mu, logvar), 256 each.

Spectral normalisation is :class:`engine.models.layers.SNConv2d`, which stores ``weight_orig``,
``weight_u`` and ``weight_v`` under those names (the layout ``torch.nn.utils.spectral_norm``
writes): one power iteration per forward in train mode, the stored vectors as they are in eval.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from engine.models.layers import make_conv

#: hidden width of every SPADE modulation MLP; fixed in the original architecture
SPADE_HIDDEN = 128
#: number of upsampling steps per ``num_upsampling_layers`` value
UPSAMPLING_STEPS = {"normal": 5, "more": 6, "most": 7}
_NORM_G_RE = re.compile(r"^(spectral)?spade(syncbatch|batch|instance)(\d+)x(\d+)$")
_NORM_E_RE = re.compile(r"^(spectral)?(syncbatch|batch|instance|none)$")


def parse_norm_G(norm_G: str) -> tuple[bool, str, int]:
    """Split an official ``norm_G`` string such as ``"spectralspadesyncbatch3x3"``.

    Returns ``(spectral, param_free_norm, kernel_size)`` where ``param_free_norm`` is
    ``"syncbatch"``, ``"batch"`` or ``"instance"``. Raises ValueError for anything else.
    """
    match = _NORM_G_RE.match(norm_G)
    if not match or match.group(3) != match.group(4):
        raise ValueError(
            f"norm_G '{norm_G}' is not a SPADE generator norm; expected e.g. 'spectralspadesyncbatch3x3', "
            "'spadebatch3x3' or 'spectralspadeinstance5x5' (square odd kernels)."
        )
    ks = int(match.group(3))
    if ks % 2 == 0:
        raise ValueError(f"norm_G '{norm_G}': the SPADE kernel size must be odd.")
    return bool(match.group(1)), match.group(2), ks


def parse_norm_E(norm_E: str) -> tuple[bool, str]:
    """Split an official ``norm_E`` string (``"spectralinstance"``, ``"batch"``, ``"spectralnone"`` ...)."""
    match = _NORM_E_RE.match(norm_E)
    if not match:
        raise ValueError(f"norm_E '{norm_E}' is not a known encoder norm; expected e.g. 'spectralinstance'.")
    return bool(match.group(1)), match.group(2)


@dataclass(frozen=True)
class SpadeConfig:
    """Architecture of a SPADE model; field names are the official option names.

    Args:
        label_nc: number of label classes (ids 0 .. label_nc-1).
        contain_dontcare_label: the label set has a "don't care" class (raw value 255), which gets
            its own one-hot channel with id ``label_nc``.
        no_instance: True when the model takes no instance-edge channel.
        ngf: base width of the generator (and of the encoder).
        norm_G: generator norm, e.g. ``"spectralspadesyncbatch3x3"``.
        norm_E: encoder norm, e.g. ``"spectralinstance"``.
        use_vae: the generator starts from a style latent z (with a style encoder E).
        z_dim: length of z.
        num_upsampling_layers: ``"normal"`` (5 upsamplings), ``"more"`` (6) or ``"most"`` (7).
        crop_size: training image width in pixels; fixes the model's own output size.
        aspect_ratio: width / height of the training images.
        output_nc: output channels (3, RGB).
    """

    label_nc: int = 182
    contain_dontcare_label: bool = False
    no_instance: bool = False
    ngf: int = 64
    norm_G: str = "spectralspadesyncbatch3x3"
    norm_E: str = "spectralinstance"
    use_vae: bool = False
    z_dim: int = 256
    num_upsampling_layers: str = "normal"
    crop_size: int = 256
    aspect_ratio: float = 1.0
    output_nc: int = 3

    def __post_init__(self) -> None:
        if self.num_upsampling_layers not in UPSAMPLING_STEPS:
            raise ValueError(
                f"num_upsampling_layers must be one of {sorted(UPSAMPLING_STEPS)}, not '{self.num_upsampling_layers}'."
            )
        parse_norm_G(self.norm_G)
        parse_norm_E(self.norm_E)
        if self.label_nc < 1 or self.ngf < 1 or self.z_dim < 1 or self.crop_size < 1 or self.aspect_ratio <= 0:
            raise ValueError("label_nc, ngf, z_dim, crop_size and aspect_ratio must be positive.")
        sh, sw = self.latent_size
        if sh < 1 or sw < 1:
            raise ValueError(
                f"crop_size {self.crop_size} with aspect_ratio {self.aspect_ratio} is too small for "
                f"num_upsampling_layers '{self.num_upsampling_layers}' (needs at least {2 ** self.upsampling_steps} pixels)."
            )

    @property
    def semantic_nc(self) -> int:
        """Channels of the generator input: labels [+ don't care] [+ instance edges]."""
        return self.label_nc + int(self.contain_dontcare_label) + int(not self.no_instance)

    @property
    def onehot_nc(self) -> int:
        """One-hot label channels (without the instance-edge channel)."""
        return self.label_nc + int(self.contain_dontcare_label)

    @property
    def upsampling_steps(self) -> int:
        return UPSAMPLING_STEPS[self.num_upsampling_layers]

    @property
    def latent_size(self) -> tuple[int, int]:
        """(sh, sw): the spatial size the generator starts from, as the original computes it."""
        sw = self.crop_size // (2 ** self.upsampling_steps)
        sh = round(sw / self.aspect_ratio)
        return sh, sw

    @property
    def output_size(self) -> tuple[int, int]:
        """(height, width) of the image the model renders at its own size."""
        sh, sw = self.latent_size
        factor = 2 ** self.upsampling_steps
        return sh * factor, sw * factor

    @property
    def final_nc(self) -> int:
        return self.ngf // 2 if self.num_upsampling_layers == "most" else self.ngf

    def capabilities(self) -> tuple[str, ...]:
        caps = ["label_map"]
        if self.use_vae:
            caps += ["style_image", "random_style"]
        if not self.no_instance:
            caps.append("instance_map")
        return tuple(caps)


# ---------------------------------------------------------------------------------------------
# Generator


class SpadeNorm(nn.Module):
    """Spatially-adaptive normalisation: ``param_free_norm(x) * (1 + gamma(seg)) + beta(seg)``.

    Args:
        norm_nc: channels of the features being normalised.
        label_nc: channels of the semantic input (``semantic_nc``).
        param_free: ``"syncbatch"``/``"batch"`` (BatchNorm2d without affine, running statistics
            in eval) or ``"instance"`` (InstanceNorm2d without affine).
        kernel_size: kernel of the modulation convs.
    """

    def __init__(self, norm_nc: int, label_nc: int, param_free: str = "syncbatch", kernel_size: int = 3):
        super().__init__()
        if param_free in ("batch", "syncbatch"):
            self.param_free_norm = nn.BatchNorm2d(norm_nc, affine=False)
        elif param_free == "instance":
            self.param_free_norm = nn.InstanceNorm2d(norm_nc, affine=False)
        else:
            raise ValueError(f"unknown parameter-free norm '{param_free}'")
        pad = kernel_size // 2
        self.kernel_size = kernel_size
        self.mlp_shared = nn.Sequential(nn.Conv2d(label_nc, SPADE_HIDDEN, kernel_size, padding=pad), nn.ReLU())
        self.mlp_gamma = nn.Conv2d(SPADE_HIDDEN, norm_nc, kernel_size, padding=pad)
        self.mlp_beta = nn.Conv2d(SPADE_HIDDEN, norm_nc, kernel_size, padding=pad)

    @property
    def uses_batch_statistics(self) -> bool:
        """True when the param-free norm is a per-channel affine map in eval (running statistics)."""
        norm = self.param_free_norm
        return isinstance(norm, nn.BatchNorm2d) and not self.training and norm.track_running_stats

    def modulation(self, seg_resized: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(gamma, beta) for a segmentation map already at the feature size."""
        actv = self.mlp_shared(seg_resized)
        return self.mlp_gamma(actv), self.mlp_beta(actv)

    def forward(self, x: torch.Tensor, seg: torch.Tensor) -> torch.Tensor:
        normalized = self.param_free_norm(x)
        seg = F.interpolate(seg, size=x.shape[2:], mode="nearest")
        gamma, beta = self.modulation(seg)
        return normalized * (1 + gamma) + beta


#: signature of the function that applies a SPADE norm inside a block: (block, norm name, x) -> y
NormFn = Callable[["SpadeResBlock", str, torch.Tensor], torch.Tensor]


class SpadeResBlock(nn.Module):
    """Residual block: ``shortcut(x) + conv_1(act(norm_1(conv_0(act(norm_0(x))))))``.

    The shortcut is ``conv_s(norm_s(x))`` (1x1, no bias, no activation) when ``fin != fout``.
    """

    def __init__(self, fin: int, fout: int, semantic_nc: int, norm_G: str):
        super().__init__()
        spectral, param_free, ks = parse_norm_G(norm_G)
        fmiddle = min(fin, fout)
        self.learned_shortcut = fin != fout
        self.conv_0 = make_conv(spectral, fin, fmiddle, 3, padding=1)
        self.conv_1 = make_conv(spectral, fmiddle, fout, 3, padding=1)
        if self.learned_shortcut:
            self.conv_s = make_conv(spectral, fin, fout, 1, bias=False)
        self.norm_0 = SpadeNorm(fin, semantic_nc, param_free, ks)
        self.norm_1 = SpadeNorm(fmiddle, semantic_nc, param_free, ks)
        if self.learned_shortcut:
            self.norm_s = SpadeNorm(fin, semantic_nc, param_free, ks)

    def norm_names(self) -> tuple[str, ...]:
        return ("norm_0", "norm_1", "norm_s") if self.learned_shortcut else ("norm_0", "norm_1")

    def run(self, x: torch.Tensor, norm: NormFn) -> torch.Tensor:
        """The block with ``norm(self, name, x)`` standing in for each SPADE norm."""
        # every norm returns a fresh tensor, so the activations may work in place (autograd-safe)
        shortcut = self.conv_s(norm(self, "norm_s", x)) if self.learned_shortcut else x
        dx = self.conv_0(F.leaky_relu(norm(self, "norm_0", x), 0.2, inplace=True))
        dx = self.conv_1(F.leaky_relu(norm(self, "norm_1", dx), 0.2, inplace=True))
        return dx.add_(shortcut)

    def forward(self, x: torch.Tensor, seg: torch.Tensor) -> torch.Tensor:
        return self.run(x, lambda block, name, t: getattr(block, name)(t, seg))


class SpadeGenerator(nn.Module):
    """SPADE generator: one-hot label map (N x semantic_nc x H x W) [+ z] -> image (N x 3 x H' x W') in [-1, 1].

    The output size is the config's :attr:`SpadeConfig.output_size` unless ``out_size`` asks for
    another one (non-VAE generators only: any multiple of ``2**upsampling_steps``).
    """

    def __init__(self, config: SpadeConfig):
        super().__init__()
        self.config = config
        nf, snc = config.ngf, config.semantic_nc
        sh, sw = config.latent_size
        if config.use_vae:
            self.fc = nn.Linear(config.z_dim, 16 * nf * sh * sw)
        else:
            self.fc = nn.Conv2d(snc, 16 * nf, 3, padding=1)
        widths = [("head_0", 16, 16), ("G_middle_0", 16, 16), ("G_middle_1", 16, 16),
                  ("up_0", 16, 8), ("up_1", 8, 4), ("up_2", 4, 2), ("up_3", 2, 1)]
        for name, fin, fout in widths:
            setattr(self, name, SpadeResBlock(fin * nf, fout * nf, snc, config.norm_G))
        if config.num_upsampling_layers == "most":
            self.up_4 = SpadeResBlock(nf, nf // 2, snc, config.norm_G)
        self.conv_img = nn.Conv2d(config.final_nc, config.output_nc, 3, padding=1)

    def stages(self) -> list[tuple[str, bool]]:
        """(block name, upsample x2 before it) in forward order."""
        more = self.config.num_upsampling_layers in ("more", "most")
        stages = [("head_0", False), ("G_middle_0", True), ("G_middle_1", more),
                  ("up_0", True), ("up_1", True), ("up_2", True), ("up_3", True)]
        if self.config.num_upsampling_layers == "most":
            stages.append(("up_4", True))
        return stages

    def latent_size_for(self, out_size: tuple[int, int] | None) -> tuple[int, int]:
        """(sh, sw) for an output size (None: the config's own size)."""
        if out_size is None:
            return self.config.latent_size
        factor = 2 ** self.config.upsampling_steps
        h, w = out_size
        if h % factor or w % factor or h < factor or w < factor:
            raise ValueError(f"output size {h}x{w} is not a positive multiple of {factor}")
        if self.config.use_vae and (h // factor, w // factor) != self.config.latent_size:
            oh, ow = self.config.output_size
            raise ValueError(f"this style-latent (VAE) generator renders only at {oh}x{ow}")
        return h // factor, w // factor

    def initial_features(self, seg: torch.Tensor | None, z: torch.Tensor | None,
                         latent_size: tuple[int, int]) -> torch.Tensor:
        """The features before ``head_0``: fc(z) reshaped (VAE) or fc(downsampled seg)."""
        sh, sw = latent_size
        if self.config.use_vae:
            if z is None:
                raise ValueError("a VAE SPADE generator needs z")
            return self.fc(z).view(z.shape[0], 16 * self.config.ngf, sh, sw)
        return self.fc(F.interpolate(seg, size=(sh, sw), mode="nearest"))

    def run(self, x: torch.Tensor, norm: NormFn,
            on_stage: Callable[[int, int], None] | None = None) -> torch.Tensor:
        """The trunk from the initial features to the image, with ``norm`` applying each SPADE norm."""
        stages = self.stages()
        for index, (name, upsample) in enumerate(stages):
            if upsample:
                x = F.interpolate(x, scale_factor=2.0, mode="nearest")
            x = getattr(self, name).run(x, norm)
            if on_stage is not None:
                on_stage(index + 1, len(stages))
        return torch.tanh(self.conv_img(F.leaky_relu(x, 0.2)))

    def forward(self, seg: torch.Tensor, z: torch.Tensor | None = None,
                out_size: tuple[int, int] | None = None) -> torch.Tensor:
        """seg: N x semantic_nc x H x W one-hot (+ edge channel); z: N x z_dim (VAE only; random if None)."""
        if self.config.use_vae and z is None:
            z = torch.randn(seg.shape[0], self.config.z_dim, device=seg.device, dtype=seg.dtype)
        x = self.initial_features(seg, z, self.latent_size_for(out_size))
        return self.run(x, lambda block, name, t: getattr(block, name)(t, seg))


# ---------------------------------------------------------------------------------------------
# Style encoder


class ConvEncoder(nn.Module):
    """Style encoder: image (N x 3 x H x W, [-1, 1]) -> (mu, logvar), each N x 256.

    The image is resized (bilinear) to 256x256 first. Five stride-2 3x3 convs (a sixth when
    ``crop_size >= 256``) with leaky ReLU 0.2, then two linear heads on the 4x4 (or 8x8) map.
    """

    def __init__(self, config: SpadeConfig):
        super().__init__()
        spectral, subnorm = parse_norm_E(config.norm_E)
        ndf = config.ngf
        widths = [(3, ndf), (ndf, 2 * ndf), (2 * ndf, 4 * ndf), (4 * ndf, 8 * ndf), (8 * ndf, 8 * ndf)]
        self.use_layer6 = config.crop_size >= 256
        if self.use_layer6:
            widths.append((8 * ndf, 8 * ndf))
        for index, (cin, cout) in enumerate(widths, start=1):
            setattr(self, f"layer{index}", self._layer(spectral, subnorm, cin, cout))
        self.num_layers = len(widths)
        side = 4 if self.use_layer6 else 8
        self.fc_mu = nn.Linear(8 * ndf * side * side, 256)
        self.fc_var = nn.Linear(8 * ndf * side * side, 256)

    @staticmethod
    def _layer(spectral: bool, subnorm: str, cin: int, cout: int) -> nn.Module:
        conv = make_conv(spectral, cin, cout, 3, stride=2, padding=1, bias=(subnorm == "none"))
        if subnorm == "none":
            return conv
        if subnorm == "instance":
            norm = nn.InstanceNorm2d(cout, affine=False)
        else:
            norm = nn.BatchNorm2d(cout, affine=True)
        return nn.Sequential(conv, norm)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if x.shape[2] != 256 or x.shape[3] != 256:
            x = F.interpolate(x, size=(256, 256), mode="bilinear", align_corners=False)
        x = self.layer1(x)
        for index in range(2, self.num_layers + 1):
            x = getattr(self, f"layer{index}")(F.leaky_relu(x, 0.2))
        x = F.leaky_relu(x, 0.2).reshape(x.shape[0], -1)
        return self.fc_mu(x), self.fc_var(x)


CONFIG_CLASS = SpadeConfig


def build_networks(config: SpadeConfig) -> dict[str, nn.Module]:
    """Fresh networks: ``{"G": SpadeGenerator}`` plus ``"E": ConvEncoder`` when ``use_vae``."""
    networks: dict[str, nn.Module] = {"G": SpadeGenerator(config)}
    if config.use_vae:
        networks["E"] = ConvEncoder(config)
    return networks
