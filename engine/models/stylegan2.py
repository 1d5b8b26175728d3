"""StyleGAN2 generator (mapping + modulated-conv synthesis with skip ToRGB), pure PyTorch.

One architecture serves both official layouts (NVlabs stylegan2-ada-pytorch network pickles and
rosinality/stylegan2-pytorch checkpoints); the loaders convert their keys into ours. The two
differ numerically in one place only, covered by :attr:`StyleGAN2Config.gain_before_demod`.

Shapes and units:
  * ``z``: ``[N, z_dim]`` float32 standard normal; ``c``: ``[N, c_dim]`` (one-hot class vector);
  * ``ws``: ``[N, num_ws, w_dim]``, one w per "w slot" (see below);
  * images: ``[N, img_channels, R, R]`` float, nominal range [-1, 1], not clamped.

W slots and segments. ``num_ws = 2 * log2(R) - 2``. Slot ``k`` drives conv layer ``k`` (for
``k < num_ws - 1``) and, for odd ``k``, the ToRGB layer ``(k - 1) // 2``. Synthesis runs as
``num_ws`` *steps*; step ``k`` first applies the ToRGB of slot ``k`` (if any) and then conv
layer ``k`` (if any). Nothing before step ``k`` reads slot ``k`` or the noise of conv ``k``, so
a render whose ws (or noise) differ from the previous one only at slots ``>= k`` can restart at
step ``k`` from the activations kept there (:meth:`SynthesisNetwork.forward_from`).

Equalised learning rate (:mod:`engine.models.layers`): stored weights are unscaled; gains are
applied at run time.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from engine.models.layers import EqualizedLinear

log = logging.getLogger(__name__)

NOISE_MODES = ("const", "random", "none")
_LRELU_GAIN = math.sqrt(2.0)


# --------------------------------------------------------------------------------------------
# Config


def widths_from_channel_rule(img_resolution: int, channel_base: int, channel_max: int) -> tuple[int, ...]:
    """Feature widths for resolutions 4, 8, ..., R by the rule ``min(channel_base // res, channel_max)``
    (stylegan2-ada's ``channel_base`` / ``channel_max``; the official 1024 px nets use 32768 / 512)."""
    log2 = int(round(math.log2(img_resolution)))
    return tuple(min(channel_base // (2 ** i), channel_max) for i in range(2, log2 + 1))


@dataclass(frozen=True)
class StyleGAN2Config:
    """A StyleGAN2 generator.

    Args:
        z_dim: latent z size (0 allowed only for a class-conditional net).
        w_dim: intermediate latent w size.
        c_dim: class-vector size; 0 for an unconditional net.
        img_resolution: output edge in pixels, a power of two >= 4.
        img_channels: output channels (3 for RGB).
        mapping_layers: fully connected layers in the mapping network.
        mapping_lr_multiplier: equalised-lr multiplier of the mapping layers (0.01 in both repos).
        mapping_layer_features: hidden width of the mapping network; None means ``w_dim``.
        embed_features: width of the class embedding; None means ``w_dim``; ignored when c_dim == 0.
        channels: feature widths of the resolutions 4, 8, ..., R (``log2(R) - 1`` entries). Empty
            means ``widths_from_channel_rule(R, channel_base, channel_max)``.
        channel_base, channel_max: the width rule used when ``channels`` is empty.
        conv_clamp: clamp conv and ToRGB outputs to +-conv_clamp; None for no clamp.
        architecture: only ``"skip"`` (ToRGB outputs summed over resolutions).
        resample_filter: the 1-D FIR taps of up-sampling (its outer product, normalised).
        use_noise: whether conv layers have per-pixel noise inputs.
        gain_before_demod: apply the weight gain ``1/sqrt(fan_in)`` before demodulation
            (rosinality) instead of leaving it out (NVlabs); only changes the 1e-8 epsilon's effect.
        w_avg_beta: the EMA decay of ``w_avg`` during training (kept for the record).
        num_fp16_res: how many of the highest resolutions ran fp16 in training (kept for the record).
    """

    z_dim: int = 512
    w_dim: int = 512
    c_dim: int = 0
    img_resolution: int = 1024
    img_channels: int = 3
    mapping_layers: int = 8
    mapping_lr_multiplier: float = 0.01
    mapping_layer_features: int | None = None
    embed_features: int | None = None
    channels: tuple[int, ...] = ()
    channel_base: int = 32768
    channel_max: int = 512
    conv_clamp: float | None = None
    architecture: str = "skip"
    resample_filter: tuple[int, ...] = (1, 3, 3, 1)
    use_noise: bool = True
    gain_before_demod: bool = False
    w_avg_beta: float = 0.995
    num_fp16_res: int = 0

    def __post_init__(self) -> None:
        log2 = math.log2(self.img_resolution) if self.img_resolution > 0 else -1
        if self.img_resolution < 4 or log2 != int(log2):
            raise ValueError(f"img_resolution must be a power of two >= 4, got {self.img_resolution}")
        if self.architecture != "skip":
            raise ValueError(f"only the 'skip' generator architecture is supported, got {self.architecture!r}")
        if self.channels and len(self.channels) != self.num_blocks:
            raise ValueError(
                f"channels must list {self.num_blocks} widths (resolutions 4..{self.img_resolution}), got {len(self.channels)}"
            )
        if self.z_dim <= 0 and self.c_dim <= 0:
            raise ValueError("a generator needs z_dim > 0 or c_dim > 0")
        if self.mapping_layers < 1:
            raise ValueError("mapping_layers must be >= 1")

    @property
    def num_blocks(self) -> int:
        return int(round(math.log2(self.img_resolution))) - 1

    @property
    def block_resolutions(self) -> tuple[int, ...]:
        return tuple(2 ** i for i in range(2, self.num_blocks + 2))

    @property
    def widths(self) -> tuple[int, ...]:
        """Feature width at each resolution 4, 8, ..., R."""
        if self.channels:
            return tuple(int(c) for c in self.channels)
        return widths_from_channel_rule(self.img_resolution, self.channel_base, self.channel_max)

    @property
    def num_ws(self) -> int:
        return 2 * self.num_blocks

    @property
    def num_conv_layers(self) -> int:
        return self.num_ws - 1

    def capabilities(self) -> tuple[str, ...]:
        caps = ("latent", "truncation", "style_mixing")
        if self.c_dim > 0:
            caps += ("class_conditional",)
        return caps

    def conv_resolutions(self) -> tuple[int, ...]:
        """Output resolution of each conv layer (what its noise map measures)."""
        out = [4]
        for res in self.block_resolutions[1:]:
            out += [res, res]
        return tuple(out)

    def replace(self, **changes) -> "StyleGAN2Config":
        return dataclasses.replace(self, **changes)


# --------------------------------------------------------------------------------------------
# Resampling (upfirdn2d in plain PyTorch)


def make_filter(taps: Sequence[float]) -> torch.Tensor:
    """The 2-D FIR filter of 1-D ``taps``: their outer product, normalised to sum 1."""
    f = torch.as_tensor(list(taps), dtype=torch.float32)
    f = torch.outer(f, f)
    return f / f.sum()


def upfirdn2d(x: torch.Tensor, f: torch.Tensor, up: int = 1, pad: tuple[int, int, int, int] = (0, 0, 0, 0), gain: float = 1.0) -> torch.Tensor:
    """Upsample by inserting ``up - 1`` zeros, zero-pad (``pad`` = x0, x1, y0, y1; negative crops),
    then convolve (true convolution, not correlation) each channel with ``f * gain``."""
    n, c, h, w = x.shape
    if up > 1:
        x = x.reshape(n, c, h, 1, w, 1)
        x = F.pad(x, [0, up - 1, 0, 0, 0, up - 1])
        x = x.reshape(n, c, h * up, w * up)
    x = F.pad(x, list(pad))
    kernel = (f * gain).flip([0, 1]).to(x.dtype)
    kernel = kernel[None, None].expand(c, 1, *f.shape)
    return F.conv2d(x, kernel, groups=c)


def upsample2d(x: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    """2x up-sampling with FIR filter ``f`` (4x4), keeping the image's DC gain."""
    fw = f.shape[-1]
    p0 = (fw + 1) // 2
    p1 = (fw - 2) // 2
    return upfirdn2d(x, f, up=2, pad=(p0, p1, p0, p1), gain=4.0)


# --------------------------------------------------------------------------------------------
# Layers


def normalize_2nd_moment(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    return x * (x.square().mean(dim=1, keepdim=True) + eps).rsqrt()


class MappingNetwork(nn.Module):
    """z (and class vector c) -> w, broadcast to ``[N, num_ws, w_dim]``; keeps ``w_avg``,
    the centre that truncation pulls towards."""

    def __init__(self, config: StyleGAN2Config):
        super().__init__()
        cfg = config
        self.z_dim, self.c_dim, self.w_dim, self.num_ws = cfg.z_dim, cfg.c_dim, cfg.w_dim, cfg.num_ws
        embed = (cfg.embed_features or cfg.w_dim) if cfg.c_dim > 0 else 0
        hidden = cfg.mapping_layer_features or cfg.w_dim
        self.embed = EqualizedLinear(cfg.c_dim, embed) if embed else None
        sizes = [cfg.z_dim + embed] + [hidden] * (cfg.mapping_layers - 1) + [cfg.w_dim]
        self.layers = nn.ModuleList(
            EqualizedLinear(sizes[i], sizes[i + 1], "lrelu", lr_multiplier=cfg.mapping_lr_multiplier)
            for i in range(cfg.mapping_layers)
        )
        self.register_buffer("w_avg", torch.zeros(cfg.w_dim))

    def embed_inputs(self, z: torch.Tensor | None, c: torch.Tensor | None) -> torch.Tensor:
        parts = []
        if self.z_dim > 0:
            if z is None or z.ndim != 2 or z.shape[1] != self.z_dim:
                raise ValueError(f"z must be [N, {self.z_dim}], got {None if z is None else tuple(z.shape)}")
            parts.append(normalize_2nd_moment(z.float()))
        if self.c_dim > 0:
            if c is None or c.ndim != 2 or c.shape[1] != self.c_dim:
                raise ValueError(f"c must be [N, {self.c_dim}], got {None if c is None else tuple(c.shape)}")
            parts.append(normalize_2nd_moment(self.embed(c.float())))
        return torch.cat(parts, dim=1) if len(parts) > 1 else parts[0]

    def forward(
        self,
        z: torch.Tensor | None,
        c: torch.Tensor | None = None,
        truncation_psi: float = 1.0,
        truncation_cutoff: int | None = None,
        center: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """ws ``[N, num_ws, w_dim]``, truncated towards ``center`` (default ``w_avg``)."""
        x = self.embed_inputs(z, c)
        for layer in self.layers:
            x = layer(x)
        ws = x.unsqueeze(1).repeat(1, self.num_ws, 1)
        return self.truncate(ws, truncation_psi, truncation_cutoff, center)

    def truncate(self, ws: torch.Tensor, psi: float = 1.0, cutoff: int | None = None, center: torch.Tensor | None = None) -> torch.Tensor:
        """``center + psi * (w - center)`` on slots ``[0, cutoff)`` (all slots when cutoff is None).
        psi == 1 returns ``ws`` unchanged."""
        if psi == 1:
            return ws
        center = (self.w_avg if center is None else center.reshape(-1)).to(ws.dtype)
        if cutoff is None:
            return center.lerp(ws, psi)
        ws = ws.clone()
        ws[:, :cutoff] = center.lerp(ws[:, :cutoff], psi)
        return ws


def modulated_conv2d(
    x: torch.Tensor,
    weight: torch.Tensor,
    styles: torch.Tensor,
    demodulate: bool = True,
    up: int = 1,
    resample_filter: torch.Tensor | None = None,
    fused: bool = True,
) -> torch.Tensor:
    """Per-sample modulated conv as one grouped convolution (the "fused" path), or with
    ``fused=False`` as scale-activations / shared-weight conv / scale-outputs (same result up to
    float rounding, about 1e-6; cheaper where the weights outweigh the activations).

    ``x`` ``[N, I, H, W]``, ``weight`` ``[O, I, k, k]``, ``styles`` ``[N, I]``. With ``up == 2``
    the conv is a stride-2 transposed conv (no weight flip) followed by the FIR filter, padding 1.
    """
    n, cin, h, w = x.shape
    cout, _, kh, kw = weight.shape
    if not fused:
        return _modulated_conv2d_unfused(x, weight, styles, demodulate, up, resample_filter)
    wts = weight.to(x.dtype).unsqueeze(0) * styles.to(x.dtype).reshape(n, 1, cin, 1, 1)
    if demodulate:
        wts = wts * (wts.square().sum(dim=[2, 3, 4], keepdim=True) + 1e-8).rsqrt()
    x = x.reshape(1, n * cin, h, w)
    if up == 1:
        out = F.conv2d(x, wts.reshape(n * cout, cin, kh, kw), padding=kh // 2, groups=n)
        return out.reshape(n, cout, h, w)
    wts = wts.transpose(1, 2).reshape(n * cin, cout, kh, kw)
    out = F.conv_transpose2d(x, wts, stride=2, padding=0, groups=n)
    out = upfirdn2d(out, resample_filter, pad=(1, 1, 1, 1), gain=4.0)
    return out.reshape(n, cout, h * 2, w * 2)


def _modulated_conv2d_unfused(x, weight, styles, demodulate, up, resample_filter):
    n, cin, h, w = x.shape
    cout, _, kh, kw = weight.shape
    weight = weight.to(x.dtype)
    styles = styles.to(x.dtype)
    x = x * styles.reshape(n, cin, 1, 1)
    if up == 1:
        x = F.conv2d(x, weight, padding=kh // 2)
    else:
        x = F.conv_transpose2d(x, weight.transpose(0, 1), stride=2, padding=0)
        x = upfirdn2d(x, resample_filter, pad=(1, 1, 1, 1), gain=4.0)
    if demodulate:
        dcoefs = (styles.square() @ weight.square().sum(dim=[2, 3]).t() + 1e-8).rsqrt()  # [N, O]
        x = x * dcoefs.reshape(n, cout, 1, 1)
    return x


class StyleConv(nn.Module):
    """A 3x3 modulated + demodulated conv (optionally 2x up-sampling), then noise, bias,
    lrelu * sqrt(2) and an optional clamp."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, resolution: int, up: int, config: StyleGAN2Config):
        super().__init__()
        self.resolution, self.up = resolution, up
        self.conv_clamp = config.conv_clamp
        self.use_noise = config.use_noise
        self.gain_before_demod = config.gain_before_demod
        self.weight_gain = 1.0 / math.sqrt(in_channels * 9)
        self.affine = EqualizedLinear(w_dim, in_channels, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, 3, 3))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        if self.use_noise:
            self.noise_strength = nn.Parameter(torch.zeros(()))
            self.register_buffer("noise_const", torch.randn(resolution, resolution))

    def forward(self, x: torch.Tensor, w: torch.Tensor, resample_filter: torch.Tensor, noise: torch.Tensor | None) -> torch.Tensor:
        """``noise``: a ready noise map ``[N or 1, 1, res, res]`` (already scaled), or None."""
        styles = self.affine(w.to(x.dtype))
        if self.gain_before_demod:
            styles = styles * self.weight_gain
        x = modulated_conv2d(x, self.weight, styles, demodulate=True, up=self.up, resample_filter=resample_filter)
        if noise is not None:
            x = x + noise.to(x.dtype)
        x = F.leaky_relu(x + self.bias.to(x.dtype).reshape(1, -1, 1, 1), 0.2) * _LRELU_GAIN
        if self.conv_clamp is not None:
            x = x.clamp(-self.conv_clamp, self.conv_clamp)
        return x

    def make_noise(self, mode: str, batch: int, device: torch.device, generator: torch.Generator | None = None) -> torch.Tensor | None:
        """The unscaled noise map for ``mode`` ('const' | 'random' | 'none'), or None."""
        if not self.use_noise or mode == "none":
            return None
        if mode == "const":
            return self.noise_const.reshape(1, 1, self.resolution, self.resolution)
        if mode == "random":
            return torch.randn(batch, 1, self.resolution, self.resolution, device=device, generator=generator)
        raise ValueError(f"noise_mode must be one of {NOISE_MODES}, got {mode!r}")


class ToRGB(nn.Module):
    """A 1x1 modulated conv without demodulation (styles scaled by 1/sqrt(C)), bias, optional clamp."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, conv_clamp: float | None):
        super().__init__()
        self.conv_clamp = conv_clamp
        self.weight_gain = 1.0 / math.sqrt(in_channels)
        self.affine = EqualizedLinear(w_dim, in_channels, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, 1, 1))
        self.bias = nn.Parameter(torch.zeros(out_channels))

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        styles = self.affine(w.to(x.dtype)) * self.weight_gain
        x = modulated_conv2d(x, self.weight, styles, demodulate=False)
        x = x + self.bias.to(x.dtype).reshape(1, -1, 1, 1)
        if self.conv_clamp is not None:
            x = x.clamp(-self.conv_clamp, self.conv_clamp)
        return x


@dataclass
class SynthesisState:
    """The activations before synthesis step ``k``: ``x`` the features entering conv ``k``
    (None before step 0, where the learned constant is used) and ``img`` the RGB sum so far (None
    before the first ToRGB). Tensors are owned by whoever keeps the state; steps never modify them."""

    x: torch.Tensor | None
    img: torch.Tensor | None

    def nbytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in (self.x, self.img) if t is not None)


class SynthesisNetwork(nn.Module):
    """ws ``[N, num_ws, w_dim]`` -> image, runnable from any step (see the module docstring)."""

    def __init__(self, config: StyleGAN2Config):
        super().__init__()
        cfg = config
        self.num_ws, self.w_dim = cfg.num_ws, cfg.w_dim
        self.img_resolution = cfg.img_resolution
        widths = cfg.widths
        self.const = nn.Parameter(torch.randn(widths[0], 4, 4))
        convs = [StyleConv(widths[0], widths[0], cfg.w_dim, 4, 1, cfg)]
        torgbs = [ToRGB(widths[0], cfg.img_channels, cfg.w_dim, cfg.conv_clamp)]
        for i, res in enumerate(cfg.block_resolutions[1:], start=1):
            convs.append(StyleConv(widths[i - 1], widths[i], cfg.w_dim, res, 2, cfg))
            convs.append(StyleConv(widths[i], widths[i], cfg.w_dim, res, 1, cfg))
            torgbs.append(ToRGB(widths[i], cfg.img_channels, cfg.w_dim, cfg.conv_clamp))
        self.convs = nn.ModuleList(convs)
        self.torgbs = nn.ModuleList(torgbs)
        self.register_buffer("resample_filter", make_filter(cfg.resample_filter), persistent=False)

    # -- noise

    def make_noise(self, mode: str, batch: int = 1, seed: int | None = None, device: torch.device | str | None = None) -> list[torch.Tensor | None]:
        """One unscaled noise map per conv layer for ``mode``; 'random' draws from ``seed``
        (a fixed seed makes the maps reproducible, so cached renders stay valid)."""
        if mode not in NOISE_MODES:
            raise ValueError(f"noise_mode must be one of {NOISE_MODES}, got {mode!r}")
        device = torch.device(device) if device is not None else self.const.device
        gen = None
        if mode == "random" and seed is not None:
            gen = torch.Generator(device="cpu").manual_seed(int(seed))
        maps = []
        for conv in self.convs:
            noise = conv.make_noise(mode, batch, torch.device("cpu") if gen is not None else device, gen)
            maps.append(noise.to(device) if noise is not None else None)
        return maps

    # -- running

    def forward(self, ws: torch.Tensor, noise_mode: str = "const", **kwargs) -> torch.Tensor:
        image, _ = self.forward_from(0, None, ws, noise_mode, **kwargs)
        return image

    def forward_from(
        self,
        layer_index: int,
        cached_state: SynthesisState | None,
        ws: torch.Tensor,
        noise_mode: str = "const",
        *,
        noise: Sequence[torch.Tensor | None] | None = None,
        noise_gains: Sequence[float] | None = None,
        keep: Iterable[int] = (),
        check: Callable[[int], None] | None = None,
    ) -> tuple[torch.Tensor, dict[int, SynthesisState]]:
        """Run synthesis steps ``layer_index .. num_ws-1`` starting from ``cached_state`` (the
        state before step ``layer_index``, as returned in ``keep`` by an earlier call; None for
        step 0).

        Args:
            ws: ``[N, num_ws, w_dim]``; slots below ``layer_index`` are not read.
            noise_mode: 'const' (the stored maps), 'random' (fresh randn) or 'none'.
            noise: optional unscaled noise map per conv layer (``[N or 1, 1, r, r]``; None entries
                fall back to ``noise_mode``); see :meth:`make_noise`.
            noise_gains: optional multiplier of each conv layer's learned noise strength.
            keep: step indices whose entering state to return (e.g. ``range(num_ws)``).
            check: called with the step index before each step (progress, cancellation).

        Returns:
            ``(image [N, C, R, R], {step: SynthesisState})``.
        """
        if ws.ndim != 3 or ws.shape[1] != self.num_ws or ws.shape[2] != self.w_dim:
            raise ValueError(f"ws must be [N, {self.num_ws}, {self.w_dim}], got {tuple(ws.shape)}")
        if not 0 <= layer_index < self.num_ws:
            raise ValueError(f"layer_index must be in [0, {self.num_ws - 1}], got {layer_index}")
        if noise_mode not in NOISE_MODES:
            raise ValueError(f"noise_mode must be one of {NOISE_MODES}, got {noise_mode!r}")
        if layer_index > 0 and (cached_state is None or cached_state.x is None):
            raise ValueError(f"starting at step {layer_index} needs the cached state before that step")
        keep = set(keep)
        n = ws.shape[0]
        dtype = self.const.dtype
        ws = ws.to(dtype)
        x = cached_state.x if cached_state is not None else None
        img = cached_state.img if cached_state is not None else None
        kept: dict[int, SynthesisState] = {}
        for k in range(layer_index, self.num_ws):
            if k in keep:
                kept[k] = SynthesisState(x, img)
            if check is not None:
                check(k)
            if k % 2 == 1:
                y = self.torgbs[(k - 1) // 2](x, ws[:, k])
                img = y if img is None else upsample2d(img, self.resample_filter) + y
            if k < self.num_ws - 1:
                conv = self.convs[k]
                if k == 0:
                    x = self.const.unsqueeze(0).expand(n, -1, -1, -1)
                x = conv(x, ws[:, k], self.resample_filter, self._layer_noise(k, conv, noise_mode, noise, noise_gains, n, x.device))
        return img, kept

    def _layer_noise(self, k, conv, mode, noise, gains, batch, device) -> torch.Tensor | None:
        if not conv.use_noise:
            return None
        unscaled = noise[k] if noise is not None and k < len(noise) and noise[k] is not None else None
        if unscaled is None:
            unscaled = conv.make_noise(mode, batch, device)
            if unscaled is None:
                return None
        gain = 1.0 if gains is None else float(gains[k])
        if gain == 0.0:
            return None
        strength = conv.noise_strength if gain == 1.0 else conv.noise_strength * gain
        return unscaled.to(device) * strength

    def state_nbytes(self, batch: int = 1, dtype: torch.dtype = torch.float32) -> list[int]:
        """Bytes of the state entering each step, for cache budgeting."""
        item = torch.empty((), dtype=dtype).element_size()
        sizes, x_elems, img_elems = [], 0, 0
        res_of_conv = [c.resolution for c in self.convs]
        chans = [c.weight.shape[0] for c in self.convs]
        img_ch = self.torgbs[0].weight.shape[0]
        for k in range(self.num_ws):
            sizes.append((x_elems + img_elems) * item * batch)
            if k % 2 == 1:
                res = res_of_conv[k - 1]
                img_elems = img_ch * res * res
            if k < self.num_ws - 1:
                x_elems = chans[k] * res_of_conv[k] ** 2
        return sizes


class StyleGAN2Generator(nn.Module):
    """Mapping + synthesis. ``forward(z, c, psi, cutoff, noise_mode)`` -> image ``[N, C, R, R]``."""

    def __init__(self, config: StyleGAN2Config):
        super().__init__()
        self.config = config
        self.z_dim, self.c_dim, self.w_dim = config.z_dim, config.c_dim, config.w_dim
        self.num_ws, self.img_resolution = config.num_ws, config.img_resolution
        self.mapping = MappingNetwork(config)
        self.synthesis = SynthesisNetwork(config)

    def forward(self, z, c=None, truncation_psi: float = 1.0, truncation_cutoff: int | None = None, noise_mode: str = "const", **kwargs):
        ws = self.mapping(z, c, truncation_psi, truncation_cutoff)
        return self.synthesis(ws, noise_mode, **kwargs)


CONFIG_CLASS = StyleGAN2Config


def build_networks(config: StyleGAN2Config) -> dict[str, nn.Module]:
    """``{"G": StyleGAN2Generator}`` with fresh random weights."""
    return {"G": StyleGAN2Generator(config)}
