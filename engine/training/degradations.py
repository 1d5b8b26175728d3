"""On-the-fly degradations that turn high-resolution crops into realistic low-resolution inputs
for training upscalers (a one-pass version of Real-ESRGAN's degradation model).

For every image of a batch, independently: optional blur (an isotropic or anisotropic Gaussian
kernel), downscaling by the model's scale (area, bilinear or bicubic, picked at random), optional
noise (Gaussian, colour or grey, or Poisson), then optional JPEG compression, then clamping and
rounding to 8-bit levels. Every random draw comes from torch's global RNG, so a resumed run draws
the same degradations as an uninterrupted one.

Images are float tensors in [0, 1], ``N x 3 x H x W`` with H and W multiples of the scale.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

RESIZE_MODES = ("area", "bilinear", "bicubic")


@dataclass(frozen=True)
class DegradationSettings:
    """Probabilities and ranges of each degradation (Real-ESRGAN's first-order ranges).

    blur_prob: chance of a blur; blur_sigma: (min, max) standard deviation in HR pixels;
    blur_kernel: (min, max) odd kernel size; noise_prob: chance of noise; noise_sigma: (min, max)
    Gaussian standard deviation in 8-bit levels; poisson_prob: share of noisy images that get
    Poisson instead of Gaussian noise; poisson_scale: (min, max) of its scale; gray_noise_prob:
    share of noise that is the same in all channels; jpeg_prob: chance of JPEG; jpeg_quality:
    (min, max) quality 1..100.
    """

    blur_prob: float = 0.8
    blur_sigma: tuple[float, float] = (0.2, 3.0)
    blur_kernel: tuple[int, int] = (7, 21)
    noise_prob: float = 0.8
    noise_sigma: tuple[float, float] = (1.0, 30.0)
    poisson_prob: float = 0.4
    poisson_scale: tuple[float, float] = (0.05, 3.0)
    gray_noise_prob: float = 0.4
    jpeg_prob: float = 0.8
    jpeg_quality: tuple[int, int] = (30, 95)

    @classmethod
    def none(cls) -> "DegradationSettings":
        """Plain downscaling only (bicubic-style SR, as the original ESRGAN trained)."""
        return cls(blur_prob=0.0, noise_prob=0.0, jpeg_prob=0.0)


def _uniform(low: float, high: float) -> float:
    return low + (high - low) * float(torch.rand(()))


def _chance(probability: float) -> bool:
    return probability > 0 and float(torch.rand(())) < probability


def gaussian_kernel(size: int, sigma_x: float, sigma_y: float, angle: float) -> torch.Tensor:
    """A ``size x size`` normalised Gaussian kernel with standard deviations ``sigma_x``,
    ``sigma_y`` (pixels) along axes rotated by ``angle`` radians."""
    half = (size - 1) / 2
    coords = torch.arange(size, dtype=torch.float64) - half
    yy, xx = torch.meshgrid(coords, coords, indexing="ij")
    cos, sin = math.cos(angle), math.sin(angle)
    u = cos * xx + sin * yy
    v = -sin * xx + cos * yy
    kernel = torch.exp(-0.5 * ((u / sigma_x) ** 2 + (v / sigma_y) ** 2))
    return (kernel / kernel.sum()).float()


def random_blur_kernel(settings: DegradationSettings) -> torch.Tensor:
    """An isotropic (half the time) or anisotropic Gaussian kernel of random odd size."""
    low, high = settings.blur_kernel
    size = 2 * int(torch.randint(low // 2, high // 2 + 1, ())) + 1
    sigma_x = _uniform(*settings.blur_sigma)
    if _chance(0.5):
        return gaussian_kernel(size, sigma_x, sigma_x, 0.0)
    sigma_y = _uniform(*settings.blur_sigma)
    return gaussian_kernel(size, sigma_x, sigma_y, _uniform(0.0, math.pi))


def blur(image: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Convolve a ``C x H x W`` image with ``kernel`` per channel (reflect padding)."""
    channels = image.shape[0]
    pad = kernel.shape[-1] // 2
    padded = F.pad(image[None], (pad, pad, pad, pad), mode="reflect") if pad < min(image.shape[-2:]) else \
        F.pad(image[None], (pad, pad, pad, pad), mode="replicate")
    weight = kernel.to(image)[None, None].expand(channels, 1, -1, -1)
    return F.conv2d(padded, weight, groups=channels)[0]


def downscale(image: torch.Tensor, scale: int, mode: str) -> torch.Tensor:
    """``C x H x W`` -> ``C x H/scale x W/scale`` with ``mode`` (one of :data:`RESIZE_MODES`)."""
    size = (image.shape[-2] // scale, image.shape[-1] // scale)
    if mode == "area":
        return F.interpolate(image[None], size=size, mode="area")[0]
    return F.interpolate(image[None], size=size, mode=mode, align_corners=False, antialias=True)[0]


def add_noise(image: torch.Tensor, settings: DegradationSettings) -> torch.Tensor:
    """Gaussian or Poisson noise, colour or grey."""
    gray = _chance(settings.gray_noise_prob)
    shape = (1, *image.shape[1:]) if gray else image.shape
    if _chance(settings.poisson_prob):
        scale = _uniform(*settings.poisson_scale)
        levels = image.clamp(0, 1) * 255.0
        if gray:
            levels = levels.mean(0, keepdim=True)
        noisy = torch.poisson(levels)
        noise = (noisy - levels) / 255.0 * scale
    else:
        sigma = _uniform(*settings.noise_sigma) / 255.0
        noise = torch.randn(shape, dtype=image.dtype, device=image.device) * sigma
    return image + noise.expand_as(image)


def jpeg(image: torch.Tensor, quality: int) -> torch.Tensor:
    """JPEG-compress a ``3 x H x W`` [0, 1] image at ``quality`` and decode it again (Pillow)."""
    array = (image.detach().clamp(0, 1) * 255.0).round().byte().permute(1, 2, 0).cpu().numpy()
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(array)).save(buffer, format="JPEG", quality=int(quality))
    decoded = np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))
    return torch.from_numpy(decoded.copy()).permute(2, 0, 1).to(image) / 255.0


def degrade_one(hr: torch.Tensor, scale: int, settings: DegradationSettings) -> torch.Tensor:
    """One ``3 x H x W`` HR image in [0, 1] -> its ``3 x H/scale x W/scale`` LR version."""
    image = hr
    if _chance(settings.blur_prob):
        image = blur(image, random_blur_kernel(settings))
    mode = RESIZE_MODES[int(torch.randint(0, len(RESIZE_MODES), ()))]
    image = downscale(image, scale, mode) if scale > 1 else image
    if _chance(settings.noise_prob):
        image = add_noise(image, settings)
    image = image.clamp(0, 1)
    if _chance(settings.jpeg_prob) and image.shape[0] == 3:
        low, high = settings.jpeg_quality
        image = jpeg(image, int(torch.randint(low, high + 1, ())))
    return (image.clamp(0, 1) * 255.0).round() / 255.0


def degrade(hr: torch.Tensor, scale: int, settings: DegradationSettings) -> torch.Tensor:
    """A batch ``N x C x H x W`` of HR images in [0, 1] -> ``N x C x H/scale x W/scale`` LR images.

    H and W must be multiples of ``scale``; each image draws its own degradations."""
    if hr.shape[-1] % scale or hr.shape[-2] % scale:
        raise ValueError(f"HR crops of {tuple(hr.shape[-2:])} are not multiples of the scale {scale}")
    with torch.no_grad():
        return torch.stack([degrade_one(image, scale, settings) for image in hr.float()])
