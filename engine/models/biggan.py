"""BigGAN-deep generator as the Hugging Face ``pytorch-pretrained-BigGAN`` format defines it.

Our own implementation, written from the format's description (state-dict layout and eval-mode
semantics); module and parameter names follow that layout so its ``pytorch_model.bin`` loads
with a strict ``load_state_dict`` and no key table.

Shapes and units:
  * ``z``: ``[N, z_dim]`` float32, drawn by :func:`truncated_noise_sample` (a normal truncated to
    ``[-2, 2]``, times the truncation);
  * ``class_vector``: ``[N, num_classes]`` float32; a one-hot row selects one class, any other row
    mixes classes (rows that sum to 1 follow the one-hot convention, see
    :func:`engine.latent_types.class_mix_vector`);
  * ``truncation``: a Python float in ``(0, 1]``;
  * images: ``[N, 3, R, R]`` float in ``[-1, 1]`` (tanh output), ``R = output_dim``.

Generator path (eval mode):
  1. ``cond = cat(z, class_vector @ embeddings.weight.T)`` (z first); the whole ``cond`` feeds
     every conditional BatchNorm (BigGAN-deep does not split z into chunks per block);
  2. ``gen_z(cond)`` viewed as ``[N, 4, 4, C0]`` (TensorFlow's channels-last order) and permuted to
     ``[N, C0, 4, 4]``;
  3. the GenBlocks, with one self-attention layer inserted before the block at
     ``attention_layer_position``;
  4. an unconditional BatchNorm, ReLU, ``conv_to_rgb`` (3x3), the first 3 channels, tanh.

Two things differ from textbook BigGAN and are reproduced on purpose:
  * **Spectral norm without power iteration in eval.** Every SN layer
    (:class:`engine.models.layers.SNConv2d` / ``SNLinear``) stores ``weight_orig`` and the
    vectors ``weight_u``/``weight_v``; its weight is ``weight_orig / sigma`` with
    ``sigma = u . (W_mat @ v)``, ``W_mat = weight_orig.reshape(out, -1)``, using the stored u and v
    as they are (the released files hold unconverged vectors; recomputing sigma would not match).
    Power iteration runs only in train mode (the trainer).
  * **BatchNorm never uses batch statistics in eval.** Each BN stores ``n_stats`` rows of
    "standing statistics"; the truncation selects them (:func:`standing_statistics`), including
    the format's reversed blend weights between two rows. In train mode (the trainer) BN uses
    the batch's statistics; :func:`collect_standing_statistics` gathers the rows afterwards.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from engine.errors import InputError
from engine.models.layers import SNConv2d, SNLinear

log = logging.getLogger(__name__)

#: the truncated normal of the official sampler is cut at +-2 standard deviations
TRUNCNORM_BOUND = 2.0

_LAYERS_128 = (
    (False, 16, 16), (True, 16, 16), (False, 16, 16), (True, 16, 8), (False, 8, 8),
    (True, 8, 4), (False, 4, 4), (True, 4, 2), (False, 2, 2), (True, 2, 1),
)


# --------------------------------------------------------------------------------------------
# Config


@dataclass(frozen=True)
class BigGANConfig:
    """A BigGAN-deep generator (field names as in the format's ``config.json``).

    Args:
        output_dim: image edge in pixels; must equal ``4 * 2**(number of up-sampling blocks)``.
        z_dim: noise size.
        class_embed_dim: class embedding size (the official files have it equal to ``z_dim``).
        channel_width: base width ``ch``; block widths are ``ch * multiplier``.
        num_classes: length of the class vector (1000 for the ImageNet models).
        layers: one ``(up_sample, in_multiplier, out_multiplier)`` per GenBlock.
        attention_layer_position: the self-attention layer runs before the block with this index
            (its own module index in ``generator.layers``, shifting later blocks by one); a value
            outside ``0 .. len(layers) - 1`` means no attention.
        eps: epsilon of both BatchNorm kinds (added to the variance).
        n_stats: rows of standing statistics per BatchNorm (truncation steps ``1 / (n_stats - 1)``).
    """

    output_dim: int = 128
    z_dim: int = 128
    class_embed_dim: int = 128
    channel_width: int = 128
    num_classes: int = 1000
    layers: tuple[tuple[bool, int, int], ...] = _LAYERS_128
    attention_layer_position: int = 8
    eps: float = 1e-4
    n_stats: int = 51

    def __post_init__(self) -> None:
        layers = tuple((bool(up), int(a), int(b)) for up, a, b in self.layers)
        object.__setattr__(self, "layers", layers)
        for name in ("z_dim", "class_embed_dim", "channel_width", "num_classes"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if not layers:
            raise ValueError("a BigGAN-deep generator needs at least one block in 'layers'")
        if any(a < 1 or b < 1 for _, a, b in layers):
            raise ValueError(f"layer width multipliers must be positive: {list(layers)}")
        for (_, _, out_prev), (_, in_next, _) in zip(layers, layers[1:]):
            if out_prev != in_next:
                raise ValueError(f"each block must take the width the previous one gives: {list(layers)}")
        for _, a, _ in layers:
            if (a * self.channel_width) % 4:
                raise ValueError(f"block widths must be multiples of 4 (the middle width is in/4): {list(layers)}")
        if self.n_stats < 2:
            raise ValueError(f"n_stats must be at least 2, got {self.n_stats}")
        if self.has_attention and self.attention_channels % 8:
            raise ValueError(f"self-attention needs a width that is a multiple of 8, got {self.attention_channels}")
        expected = 4 * 2 ** sum(1 for up, _, _ in layers if up)
        if int(self.output_dim) != expected:
            raise ValueError(f"output_dim is {self.output_dim} but the layers up-sample 4 px to {expected} px")

    # ---- derived sizes ------------------------------------------------------------------------

    @property
    def condition_dim(self) -> int:
        """Width of ``cat(z, class embedding)``, the input of ``gen_z`` and of every conditional BN."""
        return self.z_dim + self.class_embed_dim

    @property
    def first_channels(self) -> int:
        """Width of the 4x4 tensor ``gen_z`` produces (``16 * ch`` in the official configs)."""
        return self.channel_width * self.layers[0][1]

    @property
    def last_channels(self) -> int:
        return self.channel_width * self.layers[-1][2]

    @property
    def has_attention(self) -> bool:
        return 0 <= self.attention_layer_position < len(self.layers)

    @property
    def attention_channels(self) -> int:
        return self.channel_width * self.layers[self.attention_layer_position][1] if self.has_attention else 0

    @property
    def stats_step(self) -> float:
        """Truncation distance between two standing-statistics rows."""
        return 1.0 / (self.n_stats - 1)

    def capabilities(self) -> tuple[str, ...]:
        return ("latent", "truncation", "class_conditional", "class_mixing")


# --------------------------------------------------------------------------------------------
# Truncated-normal sampler (the official ``truncated_noise_sample``, without scipy)


def truncated_normal(random_state: np.random.RandomState, size: int | Sequence[int], bound: float = TRUNCNORM_BOUND) -> np.ndarray:
    """Standard normal samples restricted to ``[-bound, bound]``, float64, by inverse-CDF sampling.

    Draws ``u = random_state.uniform(size=size)`` (one uniform per sample, row-major) and returns
    ``Phi^-1(Phi(-bound) + u * (Phi(bound) - Phi(-bound)))``. This is what
    ``scipy.stats.truncnorm.rvs(-bound, bound, size, random_state)`` does (its generic inverse-CDF
    path), so the same RandomState gives the same numbers to ~1e-15. ``Phi^-1`` is
    ``torch.special.ndtri`` in float64; ``Phi`` is computed with ``math.erfc``.
    """
    u = random_state.uniform(size=size)
    lo = 0.5 * math.erfc(bound / math.sqrt(2.0))  # Phi(-bound)
    mass = 1.0 - 2.0 * lo  # Phi(bound) - Phi(-bound)
    q = torch.from_numpy(np.asarray(lo + u * mass, dtype=np.float64))
    x = torch.special.ndtri(q).numpy()
    return np.clip(x, -bound, bound)


def truncated_noise_sample(batch_size: int = 1, dim_z: int = 128, truncation: float = 1.0, seed: int | None = None) -> np.ndarray:
    """``[batch_size, dim_z]`` float32 noise as the official sampler draws it.

    ``truncated_normal(RandomState(seed), (batch_size, dim_z))`` cast to float32, then multiplied by
    ``truncation``: values lie in ``[-2 * truncation, 2 * truncation]``. Row ``i`` of a batch uses
    the uniforms ``i * dim_z .. (i + 1) * dim_z - 1`` of the stream, so the first row of any batch
    equals ``truncated_noise_sample(1, dim_z, truncation, seed)``. ``seed=None`` draws fresh entropy.
    """
    state = np.random.RandomState(seed)
    values = truncated_normal(state, (int(batch_size), int(dim_z))).astype(np.float32)
    return values * np.float32(truncation)


# --------------------------------------------------------------------------------------------
# BatchNorm with standing statistics


def standing_statistics(means: torch.Tensor, variances: torch.Tensor, truncation: float, n_stats: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The (mean, var) rows ``truncation`` selects from ``[n_stats, C]`` tables, as the format does.

    ``coef, idx = math.modf(truncation / (1 / (n_stats - 1)))`` in Python doubles. ``coef == 0``
    takes row ``idx``; otherwise ``row[idx] * coef + row[idx + 1] * (1 - coef)`` (the weights are
    the reverse of linear interpolation; this is the official behaviour). Because of that, a
    truncation a hair above a grid point (e.g. ``float(np.float32(0.4))``) gives nearly row
    ``idx + 1``, not row ``idx``: pass exact doubles.
    """
    step = 1.0 / (n_stats - 1)
    coef, start = math.modf(float(truncation) / step)
    idx = int(start)
    if coef == 0.0:
        return means[idx], variances[idx]
    if idx + 1 >= n_stats:  # only reachable through rounding just above 1.0
        return means[n_stats - 1], variances[n_stats - 1]
    return (means[idx] * coef + means[idx + 1] * (1 - coef), variances[idx] * coef + variances[idx + 1] * (1 - coef))


class _StandingStatsNorm(nn.Module):
    """Statistics of both BatchNorm kinds.

    Eval mode (what loaders and pipelines run): the standing statistics row(s) the truncation
    selects. Train mode, or while :func:`collect_standing_statistics` gathers them
    (``stat_sink`` is a list): the batch's own per-channel mean and biased variance, appended to
    the sink when there is one.
    """

    n_stats: int
    running_means: torch.Tensor
    running_vars: torch.Tensor

    def _init_stats(self, num_features: int, n_stats: int, eps: float) -> None:
        self.n_stats, self.eps = n_stats, eps
        self.register_buffer("running_means", torch.zeros(n_stats, num_features))
        self.register_buffer("running_vars", torch.ones(n_stats, num_features))
        self.stat_sink: list[tuple[torch.Tensor, torch.Tensor]] | None = None

    def statistics(self, x: torch.Tensor, truncation: float) -> tuple[torch.Tensor, torch.Tensor]:
        """(mean, var), each ``[C]``."""
        if self.training or self.stat_sink is not None:
            var, mean = torch.var_mean(x.float(), dim=(0, 2, 3), unbiased=False)
            if self.stat_sink is not None:
                self.stat_sink.append((mean.detach(), var.detach()))
            return mean.to(x.dtype), var.to(x.dtype)
        return standing_statistics(self.running_means, self.running_vars, truncation, self.n_stats)


class ConditionalBatchNorm(_StandingStatsNorm):
    """``(x - mean) / sqrt(var + eps) * (1 + scale(cond)) + offset(cond)``; stats from the truncation
    (eval) or the batch (training)."""

    def __init__(self, num_features: int, condition_dim: int, n_stats: int, eps: float):
        super().__init__()
        self._init_stats(num_features, n_stats, eps)
        self.scale = SNLinear(condition_dim, num_features, bias=False)
        self.offset = SNLinear(condition_dim, num_features, bias=False)

    def forward(self, x: torch.Tensor, truncation: float, cond: torch.Tensor) -> torch.Tensor:
        mean, var = self.statistics(x, truncation)
        mean = mean[None, :, None, None]
        var = var[None, :, None, None]
        gain = 1 + self.scale(cond)[:, :, None, None]
        bias = self.offset(cond)[:, :, None, None]
        return (x - mean) / torch.sqrt(var + self.eps) * gain + bias


class StandingBatchNorm(_StandingStatsNorm):
    """The final, unconditional BatchNorm: affine ``weight``/``bias``, stats from the truncation
    (eval) or the batch (training)."""

    def __init__(self, num_features: int, n_stats: int, eps: float):
        super().__init__()
        self._init_stats(num_features, n_stats, eps)
        self.weight = nn.Parameter(torch.ones(num_features))
        self.bias = nn.Parameter(torch.zeros(num_features))

    def forward(self, x: torch.Tensor, truncation: float) -> torch.Tensor:
        mean, var = self.statistics(x, truncation)
        if mean.requires_grad:  # batch statistics in training: differentiate through them
            scale = self.weight / torch.sqrt(var + self.eps)
            return (x - mean[None, :, None, None]) * scale[None, :, None, None] + self.bias[None, :, None, None]
        return F.batch_norm(x, mean, var, self.weight, self.bias, training=False, momentum=0.0, eps=self.eps)


@torch.no_grad()
def collect_standing_statistics(G: "BigGANGenerator", classes: Sequence[int], batch: int = 16, batches: int = 2,
                                seed: int = 0) -> None:
    """Fill every BatchNorm's ``n_stats`` standing-statistics rows, in place: row ``i`` is the mean
    over ``batches`` batches of the batch statistics at truncation ``i / (n_stats - 1)`` (z from
    :func:`truncated_noise_sample` times that truncation, one-hot classes drawn from ``classes``).
    Draws only from ``seed`` (no global RNG); the networks' train/eval modes are left as they are."""
    norms = [m for m in G.modules() if isinstance(m, _StandingStatsNorm)]
    config = G.config
    device = G.embeddings.weight.device
    picker = np.random.RandomState(seed)
    for row in range(config.n_stats):
        truncation = row / (config.n_stats - 1)
        for norm in norms:
            norm.stat_sink = []
        try:
            for index in range(batches):
                z = truncated_noise_sample(batch, config.z_dim, truncation, seed=seed * 100003 + row * 1009 + index)
                chosen = picker.choice(np.asarray(list(classes)), size=batch)
                onehot = torch.zeros(batch, config.num_classes)
                onehot[torch.arange(batch), torch.from_numpy(chosen).long()] = 1.0
                cond = G.condition(torch.from_numpy(z).to(device), onehot.to(device))
                G.generator(cond, 1.0)
            for norm in norms:
                means = torch.stack([m for m, _ in norm.stat_sink])
                variances = torch.stack([v for _, v in norm.stat_sink])
                norm.running_means[row].copy_(means.mean(0))
                norm.running_vars[row].copy_(variances.mean(0))
        finally:
            for norm in norms:
                norm.stat_sink = None


# --------------------------------------------------------------------------------------------
# Blocks


class GenBlock(nn.Module):
    """A BigGAN-deep residual block: four (BN, ReLU, conv) steps through a bottleneck of ``in / 4``
    channels (1x1, 3x3, 3x3, 1x1), nearest x2 up-sampling after the second ReLU when ``up``.

    The skip path keeps the first ``out`` channels of the input when the width changes (the
    format only ever halves it) and is up-sampled the same way.
    """

    def __init__(self, in_channels: int, out_channels: int, up: bool, condition_dim: int, n_stats: int, eps: float):
        super().__init__()
        middle = in_channels // 4
        self.up = bool(up)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.bn_0 = ConditionalBatchNorm(in_channels, condition_dim, n_stats, eps)
        self.conv_0 = SNConv2d(in_channels, middle, 1)
        self.bn_1 = ConditionalBatchNorm(middle, condition_dim, n_stats, eps)
        self.conv_1 = SNConv2d(middle, middle, 3)
        self.bn_2 = ConditionalBatchNorm(middle, condition_dim, n_stats, eps)
        self.conv_2 = SNConv2d(middle, middle, 3)
        self.bn_3 = ConditionalBatchNorm(middle, condition_dim, n_stats, eps)
        self.conv_3 = SNConv2d(middle, out_channels, 1)

    def forward(self, x: torch.Tensor, cond: torch.Tensor, truncation: float) -> torch.Tensor:
        h = self.conv_0(F.relu(self.bn_0(x, truncation, cond)))
        h = F.relu(self.bn_1(h, truncation, cond))
        if self.up:
            h = F.interpolate(h, scale_factor=2, mode="nearest")
        h = self.conv_1(h)
        h = self.conv_2(F.relu(self.bn_2(h, truncation, cond)))
        h = self.conv_3(F.relu(self.bn_3(h, truncation, cond)))
        skip = x
        if self.in_channels != self.out_channels:
            skip = skip[:, : self.in_channels // 2]
        if self.up:
            skip = F.interpolate(skip, scale_factor=2, mode="nearest")
        return h + skip


class SelfAttention(nn.Module):
    """Non-local attention over positions: keys and values are max-pooled 2x2.

    ``theta`` (C/8), ``phi`` (C/8, pooled) and ``g`` (C/2, pooled) are 1x1 SN convs without bias;
    ``out = x + gamma * o_conv(g @ softmax(theta^T phi)^T)``.
    """

    def __init__(self, channels: int):
        super().__init__()
        self.channels = channels
        self.snconv1x1_theta = SNConv2d(channels, channels // 8, 1, bias=False)
        self.snconv1x1_phi = SNConv2d(channels, channels // 8, 1, bias=False)
        self.snconv1x1_g = SNConv2d(channels, channels // 2, 1, bias=False)
        self.snconv1x1_o_conv = SNConv2d(channels // 2, channels, 1, bias=False)
        self.gamma = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        queries = self.snconv1x1_theta(x).reshape(n, c // 8, h * w)
        keys = F.max_pool2d(self.snconv1x1_phi(x), 2).reshape(n, c // 8, -1)
        values = F.max_pool2d(self.snconv1x1_g(x), 2).reshape(n, c // 2, -1)
        attention = torch.softmax(torch.bmm(queries.transpose(1, 2), keys), dim=-1)  # [n, hw, hw/4]
        attended = torch.bmm(values, attention.transpose(1, 2)).reshape(n, c // 2, h, w)
        return x + self.gamma * self.snconv1x1_o_conv(attended)


class BigGANSynthesis(nn.Module):
    """``cond -> image``: ``gen_z``, the blocks (with attention), final BN, ReLU, ``conv_to_rgb``, tanh.

    Stored as ``generator`` in the format's state dict."""

    def __init__(self, config: BigGANConfig):
        super().__init__()
        self.config = config
        ch = config.channel_width
        self.gen_z = SNLinear(config.condition_dim, 4 * 4 * config.first_channels)
        blocks: list[nn.Module] = []
        for index, (up, in_mult, out_mult) in enumerate(config.layers):
            if index == config.attention_layer_position:
                blocks.append(SelfAttention(ch * in_mult))
            blocks.append(GenBlock(ch * in_mult, ch * out_mult, up, config.condition_dim, config.n_stats, config.eps))
        self.layers = nn.ModuleList(blocks)
        self.bn = StandingBatchNorm(config.last_channels, config.n_stats, config.eps)
        self.conv_to_rgb = SNConv2d(config.last_channels, config.last_channels, 3)

    def forward(self, cond: torch.Tensor, truncation: float) -> torch.Tensor:
        x = self.gen_z(cond)
        x = x.reshape(-1, 4, 4, self.config.first_channels).permute(0, 3, 1, 2).contiguous()
        for layer in self.layers:
            x = layer(x, cond, truncation) if isinstance(layer, GenBlock) else layer(x)
        x = self.conv_to_rgb(F.relu(self.bn(x, truncation)))
        return torch.tanh(x[:, :3])


class BigGANGenerator(nn.Module):
    """``(z [N, z_dim], class_vector [N, num_classes], truncation) -> image [N, 3, R, R]`` in [-1, 1].

    ``embeddings`` is a bias-free linear map from the class vector to the class embedding;
    ``generator`` is :class:`BigGANSynthesis`. ``truncation`` must be a float in ``(0, 1]``; it only
    selects the BatchNorm standing statistics here (the sampler applies it to z).
    """

    def __init__(self, config: BigGANConfig):
        super().__init__()
        self.config = config
        self.embeddings = nn.Linear(config.num_classes, config.class_embed_dim, bias=False)
        self.generator = BigGANSynthesis(config)

    @property
    def z_dim(self) -> int:
        return self.config.z_dim

    @property
    def num_classes(self) -> int:
        return self.config.num_classes

    def condition(self, z: torch.Tensor, class_vector: torch.Tensor) -> torch.Tensor:
        """``cat(z, embeddings(class_vector))`` ``[N, z_dim + class_embed_dim]``."""
        return torch.cat([z, self.embeddings(class_vector)], dim=1)

    def forward(self, z: torch.Tensor, class_vector: torch.Tensor, truncation: float) -> torch.Tensor:
        truncation = check_truncation(truncation)
        if z.ndim != 2 or z.shape[1] != self.z_dim:
            raise InputError(f"z must be [N, {self.z_dim}], got {tuple(z.shape)}.")
        if class_vector.shape != (z.shape[0], self.num_classes):
            raise InputError(f"The class vector must be [{z.shape[0]}, {self.num_classes}], got {tuple(class_vector.shape)}.")
        return self.generator(self.condition(z, class_vector.to(z.dtype)), truncation)


def check_truncation(truncation: float) -> float:
    """``truncation`` as a float in ``(0, 1]``, else :class:`InputError`."""
    try:
        value = float(truncation)
    except (TypeError, ValueError):
        raise InputError(f"BigGAN's truncation must be a number in (0, 1], got {truncation!r}.") from None
    if not (0.0 < value <= 1.0):
        raise InputError(f"BigGAN's truncation must be above 0 and at most 1, got {truncation!r}.")
    return value


CONFIG_CLASS = BigGANConfig


def build_networks(config: BigGANConfig) -> dict[str, nn.Module]:
    """``{"G": BigGANGenerator}`` with fresh weights (Gaussian SN weights with u/v from one power
    step, identity standing statistics)."""
    return {"G": BigGANGenerator(config)}


def config_from_mapping(values: Mapping[str, object]) -> BigGANConfig:
    """A config from ``config.json``-style values (lists for ``layers`` are fine)."""
    kwargs = dict(values)
    if "layers" in kwargs:
        kwargs["layers"] = tuple(tuple(layer) for layer in kwargs["layers"])  # type: ignore[union-attr]
    return BigGANConfig(**kwargs)  # type: ignore[arg-type]
