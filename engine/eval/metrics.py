"""Measurements: segmentation scores, classification accuracy, feature (Frechet) distance, and
image metrics (PSNR, SSIM, MS-SSIM).

Images are ``N x H x W x 3`` uint8 RGB numpy arrays unless said otherwise; label maps are
``N x H x W`` integer arrays of world class indices.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from engine.eval.nets import CLASSIFIER_SIZE, SEGMENTER_SIZE, to_input


# --------------------------------------------------------------------------------------------
# judges applied


@torch.no_grad()
def segment(net: torch.nn.Module, images, batch: int = 16) -> np.ndarray:
    """Per-pixel world classes of ``images`` (uint8 N x H x W x 3, or an N x 3 x H x W tensor in
    [-1, 1]) at the segmenter's input size: ``N x 128 x 128`` int64."""
    out = []
    for i in range(0, len(images), batch):
        out.append(net(to_input(images[i:i + batch], SEGMENTER_SIZE)).argmax(1).numpy())
    return np.concatenate(out) if out else np.zeros((0, SEGMENTER_SIZE, SEGMENTER_SIZE), np.int64)


def resize_labels(labels: np.ndarray, size: int = SEGMENTER_SIZE) -> np.ndarray:
    """Label maps ``N x H x W`` -> ``N x size x size`` (nearest neighbour)."""
    labels = np.asarray(labels)
    if labels.shape[-1] == size and labels.shape[-2] == size:
        return labels.astype(np.int64)
    t = torch.from_numpy(labels.astype(np.float32))[:, None]
    return F.interpolate(t, size=(size, size), mode="nearest")[:, 0].numpy().astype(np.int64)


def confusion(pred: np.ndarray, truth: np.ndarray, num_classes: int) -> np.ndarray:
    """``num_classes x num_classes`` counts: row = true class, column = predicted class."""
    truth = truth.ravel().astype(np.int64)
    pred = pred.ravel().astype(np.int64)
    return np.bincount(truth * num_classes + pred, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def scores_from_confusion(matrix: np.ndarray) -> dict[str, float]:
    """Pixel accuracy and mean IoU (over classes that occur in the truth or the prediction)."""
    total = matrix.sum()
    correct = np.trace(matrix)
    union = matrix.sum(0) + matrix.sum(1) - np.diag(matrix)
    present = union > 0
    iou = np.diag(matrix)[present] / union[present]
    return {"pixel_accuracy": float(correct / max(total, 1)), "mean_iou": float(iou.mean()) if iou.size else 0.0}


def segmentation_scores(net: torch.nn.Module, images, labels: np.ndarray, num_classes: int = 16) -> dict[str, float]:
    """Segment ``images`` and compare with ``labels`` (resized to the segmenter's size)."""
    pred = segment(net, images)
    return scores_from_confusion(confusion(pred, resize_labels(labels), num_classes))


@torch.no_grad()
def classify(net: torch.nn.Module, images, batch: int = 32) -> np.ndarray:
    """Predicted biome index per image."""
    out = [net(to_input(images[i:i + batch], CLASSIFIER_SIZE)).argmax(1).numpy() for i in range(0, len(images), batch)]
    return np.concatenate(out) if out else np.zeros(0, np.int64)


@torch.no_grad()
def features(net: torch.nn.Module, images, batch: int = 32) -> np.ndarray:
    """The classifier's penultimate features, ``N x feature_dim`` float64."""
    out = [net.features(to_input(images[i:i + batch], CLASSIFIER_SIZE)).double().numpy() for i in range(0, len(images), batch)]
    return np.concatenate(out)


def classifier_accuracy(net: torch.nn.Module, images, biomes: np.ndarray) -> float:
    return float((classify(net, images) == np.asarray(biomes)).mean())


# --------------------------------------------------------------------------------------------
# Frechet distance


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Frechet distance between Gaussians fitted to feature sets ``a`` and ``b`` (N x D each):
    ``|mu_a - mu_b|^2 + tr(Ca + Cb - 2 (Ca Cb)^(1/2))``."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if len(a) < 2 or len(b) < 2:
        raise ValueError("the Frechet distance needs at least two feature vectors per set")
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = _sqrtm(cov_a @ cov_b)
    if not np.isfinite(covmean).all():
        eps = np.eye(len(mu_a)) * 1e-6
        covmean = _sqrtm((cov_a + eps) @ (cov_b + eps))
    covmean = np.real(covmean)
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * np.trace(covmean))


def _sqrtm(matrix: np.ndarray) -> np.ndarray:
    import warnings

    from scipy import linalg

    with warnings.catch_warnings():  # a near-singular covariance (few samples) is expected; results are checked
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        result = linalg.sqrtm(matrix)
    return result[0] if isinstance(result, tuple) else result


# --------------------------------------------------------------------------------------------
# image metrics


def _float(image: np.ndarray) -> np.ndarray:
    return np.asarray(image, dtype=np.float64)


def luma(image: np.ndarray) -> np.ndarray:
    """ITU-R BT.601 Y (16..235 range) of uint8 RGB ``H x W x 3``, as in SR papers."""
    rgb = _float(image)
    return 16.0 + (65.481 * rgb[..., 0] + 128.553 * rgb[..., 1] + 24.966 * rgb[..., 2]) / 255.0


def psnr(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None, peak: float = 255.0) -> float:
    """PSNR in dB between two images of the same shape (over ``mask``'s pixels when given)."""
    diff = (_float(a) - _float(b)) ** 2
    if mask is not None:
        diff = diff[np.asarray(mask, bool)]
    mse = float(diff.mean()) if diff.size else 0.0
    return float("inf") if mse == 0 else float(10 * np.log10(peak * peak / mse))


def ssim(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None) -> float:
    """SSIM (scikit-image, Gaussian window, data range 255); colour images average channels.
    With ``mask`` (H x W bool) the SSIM map is averaged over the masked pixels only."""
    from skimage.metrics import structural_similarity

    a, b = _float(a), _float(b)
    kwargs = {"data_range": 255.0, "gaussian_weights": True, "sigma": 1.5, "use_sample_covariance": False, "full": True}
    if a.ndim == 3:
        kwargs["channel_axis"] = 2
    _, full = structural_similarity(a, b, **kwargs)
    if full.ndim == 3:
        full = full.mean(axis=2)
    if mask is not None:
        return float(full[np.asarray(mask, bool)].mean())
    return float(full.mean())


_MS_WEIGHTS = np.array([0.0448, 0.2856, 0.3001, 0.2363, 0.1333])


def ms_ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Multi-scale SSIM (Wang et al. 2003) of two uint8 RGB images, on the grey image, with as
    many of the five scales as keep the image at least 16 px (weights renormalised)."""
    from scipy.ndimage import gaussian_filter

    x, y = _float(a).mean(axis=-1), _float(b).mean(axis=-1)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    scales = 1
    while scales < 5 and min(x.shape) // (2 ** scales) >= 16:
        scales += 1
    weights = _MS_WEIGHTS[:scales] / _MS_WEIGHTS[:scales].sum()
    values = []
    for level in range(scales):
        mx, my = gaussian_filter(x, 1.5), gaussian_filter(y, 1.5)
        sxx = gaussian_filter(x * x, 1.5) - mx * mx
        syy = gaussian_filter(y * y, 1.5) - my * my
        sxy = gaussian_filter(x * y, 1.5) - mx * my
        cs = (2 * sxy + c2) / (sxx + syy + c2)
        if level == scales - 1:
            values.append(((2 * mx * my + c1) / (mx * mx + my * my + c1) * cs).mean())
        else:
            values.append(cs.mean())
            h, w = x.shape[0] // 2 * 2, x.shape[1] // 2 * 2
            x = x[:h, :w].reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))
            y = y[:h, :w].reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))
    values = np.clip(np.array(values), 1e-6, None)
    return float(np.prod(values ** weights))


def mean_pairwise_ms_ssim(images: np.ndarray, pairs: int, rng: np.random.Generator) -> float:
    """Mean MS-SSIM over ``pairs`` random pairs of distinct images (diversity: lower = more diverse)."""
    n = len(images)
    if n < 2:
        raise ValueError("diversity needs at least two images")
    total = 0.0
    for _ in range(pairs):
        i, j = rng.choice(n, 2, replace=False)
        total += ms_ssim(images[i], images[j])
    return total / pairs
