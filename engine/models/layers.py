"""Layers shared by several architectures: spectral norm, equalised learning rate.

Spectral normalisation (:class:`SNConv2d`, :class:`SNLinear`) keeps the state layout that
``torch.nn.utils.spectral_norm`` writes and that official SPADE, pix2pixHD and BigGAN files hold:
``weight_orig`` (a parameter), ``bias`` (optional parameter), and the buffers ``weight_u``
(``[out]``) and ``weight_v`` (``[in * k * k]``). The effective weight is
``weight_orig / sigma`` with ``sigma = u . (W_mat @ v)`` and ``W_mat = weight_orig.reshape(out, -1)``.

* Train mode: each ``forward`` first runs one power iteration (updating u and v in place, no
  gradient), then normalises with copies of the new vectors, so a layer may be called several
  times before one backward pass (real and fake through the same D).
* Eval mode: u and v are used as stored (loaded files match their official outputs exactly;
  BigGAN's released vectors are not converged and must not be iterated), and the effective
  weight is cached until any of the three tensors changes.

Equalised learning rate (:class:`EqualizedLinear`, :class:`EqualizedConv2d`): weights are stored
unscaled (initialised N(0, 1) / lr_multiplier) and multiplied at run time by
``lr_multiplier / sqrt(fan_in)``, as StyleGAN2's generator and discriminator do.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

#: lrelu(0.2) output gain that keeps the activation variance (StyleGAN's "def_gain")
LRELU_GAIN = math.sqrt(2.0)


# --------------------------------------------------------------------------------------------
# Spectral normalisation


class SpectralNormLayer(nn.Module):
    """The weight, vectors and normalisation shared by :class:`SNConv2d` and :class:`SNLinear`.

    Subclasses call :meth:`_init_spectral` with the weight shape and implement ``_apply_weight``.
    """

    weight_orig: nn.Parameter
    weight_u: torch.Tensor
    weight_v: torch.Tensor

    def _init_spectral(self, shape: tuple[int, ...], bias: bool, eps: float) -> None:
        """Kaiming-uniform ``weight_orig`` (as torch's own layers), zero bias, and u, v from one
        power step on a random unit v (so sigma starts positive)."""
        self.eps = eps
        self.weight_orig = nn.Parameter(torch.empty(shape))
        nn.init.kaiming_uniform_(self.weight_orig, a=math.sqrt(5))
        self.bias = nn.Parameter(torch.zeros(shape[0])) if bias else None
        matrix = self.weight_orig.detach().reshape(shape[0], -1)
        v = F.normalize(torch.randn(matrix.shape[1]), dim=0, eps=eps)
        u = F.normalize(matrix @ v, dim=0, eps=eps)
        v = F.normalize(matrix.t() @ u, dim=0, eps=eps)
        self.register_buffer("weight_u", F.normalize(matrix @ v, dim=0, eps=eps))
        self.register_buffer("weight_v", v)
        self._cached_weight: torch.Tensor | None = None
        self._cache_key: tuple | None = None

    # -- the normalisation

    def _matrix(self) -> torch.Tensor:
        return self.weight_orig.reshape(self.weight_orig.shape[0], -1)

    def sigma(self) -> torch.Tensor:
        """The divisor the stored vectors give (the layer's estimate of its top singular value)."""
        return torch.dot(self.weight_u, torch.mv(self._matrix(), self.weight_v))

    def compute_weight(self, u: torch.Tensor | None = None, v: torch.Tensor | None = None) -> torch.Tensor:
        """``weight_orig / (u . W v)``, from the stored vectors unless ``u``/``v`` are given."""
        u = self.weight_u if u is None else u
        v = self.weight_v if v is None else v
        return self.weight_orig / torch.dot(u, torch.mv(self._matrix(), v))

    @torch.no_grad()
    def power_iteration(self, steps: int = 1) -> None:
        """Update u and v in place by ``steps`` power iterations (float32, outside autocast)."""
        with torch.autocast(device_type=self.weight_orig.device.type, enabled=False):
            matrix = self._matrix().float()
            u, v = self.weight_u.float(), self.weight_v.float()
            for _ in range(steps):
                v = F.normalize(torch.mv(matrix.t(), u), dim=0, eps=self.eps)
                u = F.normalize(torch.mv(matrix, v), dim=0, eps=self.eps)
            self.weight_u.copy_(u)
            self.weight_v.copy_(v)

    @property
    def weight(self) -> torch.Tensor:
        """The effective weight from the stored vectors (no power iteration); cached in eval mode
        when no gradient is wanted."""
        if self.training or (torch.is_grad_enabled() and self.weight_orig.requires_grad):
            return self.compute_weight()
        key = tuple((t.data_ptr(), t._version, t.device, t.dtype) for t in (self.weight_orig, self.weight_u, self.weight_v))
        if self._cached_weight is None or key != self._cache_key:
            with torch.inference_mode(False), torch.no_grad():
                self._cached_weight = self.compute_weight().clone()
            self._cache_key = key
        return self._cached_weight

    def forward_weight(self) -> torch.Tensor:
        """The weight a forward pass uses: in train mode after one power iteration, normalised
        with copies of u and v (autograd-safe when the layer runs again before backward)."""
        if not self.training:
            return self.weight
        self.power_iteration()
        return self.compute_weight(self.weight_u.clone(), self.weight_v.clone())

    def train(self, mode: bool = True) -> SpectralNormLayer:
        self._cached_weight, self._cache_key = None, None
        return super().train(mode)

    def _apply(self, fn, recurse=True):  # device/dtype moves invalidate the cache
        self._cached_weight, self._cache_key = None, None
        return super()._apply(fn, recurse)


class SNConv2d(SpectralNormLayer):
    """A spectral-normalised Conv2d (square kernel). ``padding`` defaults to ``kernel_size // 2``."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
                 padding: int | None = None, bias: bool = True, eps: float = 1e-12):
        super().__init__()
        self.in_channels, self.out_channels, self.kernel_size = in_channels, out_channels, kernel_size
        self.stride = stride
        self.padding = kernel_size // 2 if padding is None else padding
        self._init_spectral((out_channels, in_channels, kernel_size, kernel_size), bias, eps)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding}, bias={self.bias is not None}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.forward_weight(), self.bias, self.stride, self.padding)


class SNLinear(SpectralNormLayer):
    """A spectral-normalised linear layer, weight ``[out_features, in_features]``."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, eps: float = 1e-12):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self._init_spectral((out_features, in_features), bias, eps)

    def extra_repr(self) -> str:
        return f"{self.in_features}, {self.out_features}, bias={self.bias is not None}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.forward_weight(), self.bias)


class SNEmbedding(SpectralNormLayer):
    """A spectral-normalised embedding table ``[num_embeddings, embedding_dim]`` (BigGAN's
    projection discriminator); rows are looked up from the normalised table."""

    def __init__(self, num_embeddings: int, embedding_dim: int, eps: float = 1e-12):
        super().__init__()
        self._init_spectral((num_embeddings, embedding_dim), False, eps)

    def forward(self, index: torch.Tensor) -> torch.Tensor:
        return F.embedding(index, self.forward_weight())


def spectral_sigmas(module: nn.Module) -> dict[str, float]:
    """``{layer name: sigma}`` of every spectral-norm layer (to check a loaded file)."""
    with torch.no_grad():
        return {name: float(m.sigma()) for name, m in module.named_modules() if isinstance(m, SpectralNormLayer)}


def make_conv(spectral: bool, cin: int, cout: int, k: int, stride: int = 1, padding: int = 0,
              bias: bool = True) -> nn.Module:
    """A :class:`SNConv2d` when ``spectral`` else a plain ``nn.Conv2d`` (same arguments)."""
    if spectral:
        return SNConv2d(cin, cout, k, stride=stride, padding=padding, bias=bias)
    return nn.Conv2d(cin, cout, k, stride=stride, padding=padding, bias=bias)


# --------------------------------------------------------------------------------------------
# Equalised learning rate


class EqualizedLinear(nn.Module):
    """A fully connected layer with run-time weight gain ``lr_multiplier / sqrt(in)`` and bias gain
    ``lr_multiplier``; ``activation`` is ``"linear"`` or ``"lrelu"`` (slope 0.2, times sqrt 2)."""

    def __init__(self, in_features: int, out_features: int, activation: str = "linear", lr_multiplier: float = 1.0, bias_init: float = 0.0):
        super().__init__()
        if activation not in ("linear", "lrelu"):
            raise ValueError(f"unknown activation {activation!r}")
        self.activation = activation
        self.weight = nn.Parameter(torch.randn(out_features, in_features) / lr_multiplier)
        self.bias = nn.Parameter(torch.full((out_features,), float(bias_init)))
        self.weight_gain = lr_multiplier / math.sqrt(in_features)
        self.bias_gain = lr_multiplier

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.weight.to(x.dtype) * self.weight_gain
        b = self.bias.to(x.dtype) * self.bias_gain
        if self.activation == "linear":
            return torch.addmm(b.unsqueeze(0), x, w.t())
        return F.leaky_relu(x.matmul(w.t()) + b, 0.2) * LRELU_GAIN


class EqualizedConv2d(nn.Module):
    """A conv with run-time weight gain ``1 / sqrt(in * k * k)``, 'same' padding, optional bias and
    lrelu(0.2) * sqrt(2) activation, optional clamp of the output to ``+-conv_clamp``.

    Down-sampling is left to the caller (StyleGAN2's discriminator filters before a stride-2 conv).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, bias: bool = True,
                 activation: str = "linear", stride: int = 1, padding: int | None = None,
                 conv_clamp: float | None = None):
        super().__init__()
        if activation not in ("linear", "lrelu"):
            raise ValueError(f"unknown activation {activation!r}")
        self.activation, self.stride, self.conv_clamp = activation, stride, conv_clamp
        self.padding = kernel_size // 2 if padding is None else padding
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.weight_gain = 1.0 / math.sqrt(in_channels * kernel_size * kernel_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.weight.to(x.dtype) * self.weight_gain
        b = self.bias.to(x.dtype) if self.bias is not None else None
        x = F.conv2d(x, w, b, stride=self.stride, padding=self.padding)
        if self.activation == "lrelu":
            x = F.leaky_relu(x, 0.2) * LRELU_GAIN
        if self.conv_clamp is not None:
            x = x.clamp(-self.conv_clamp, self.conv_clamp)
        return x
