"""Super-resolution: tiled inference of any image size in bounded memory, network interpolation,
and a folder batch helper.

How an image is processed (:func:`upscale`):

1. The image (``HxW`` gray, ``HxWx3`` RGB or ``HxWx4`` RGBA; ``uint8`` or ``uint16``) is
   *virtually* padded on the right and bottom by reflection: ``pre_pad`` pixels (10, as
   Real-ESRGAN's inference does, so the border behaves like theirs), then up to a multiple of the
   network's input multiple (2 or 4 for pixel-unshuffled x2/x1 RRDBNets). Nothing is copied: each
   tile reads its pixels through reflected index arrays.
2. The padded image is cut into ``tile x tile`` tiles; each is fed to the network with
   ``tile_pad`` pixels of context on every side (clipped at the image), and only the tile's own
   part of the result is kept. Only one tile plus its context is ever on the device; each result
   is converted to the output dtype at once and written into one preallocated output array.
   Tiles that lie wholly in the padding are skipped. ``tile=0`` runs the whole image at once.
3. Colour runs through the network at float32; ``uint16`` stays ``uint16`` end to end.
   Grayscale is replicated to RGB for the network and turned back into gray with the ITU-R 601
   luma weights. **Alpha is upscaled with bicubic interpolation** (per tile, in the same pass),
   not through the network: alpha is usually a smooth mask or hard edges the network was never
   trained on, and this costs nothing extra.
4. On a device out-of-memory error the whole image is retried with tiles half as large, down to
   :data:`MIN_TILE`; the result's notes and ``tile_used`` say so.
5. ``outscale`` other than the network scale resizes the result with Lanczos afterwards (this
   step needs one extra output-size buffer).

Progress is reported per tile and cancellation is checked before every tile.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import torch
import torch.nn.functional as F

from engine.errors import CheckpointError, DeviceError, EngineError, InputError
from engine.memstats import release_freed_memory
from engine.models.loaded import LoadedModel, config_to_dict
from engine.loaders.base import strict_load
from engine.pipelines import families_for
from engine.pipelines.images import check_image, device_and_dtype, network_on
from engine.types import UpscaleFolderRequest, UpscaleFolderResult, UpscaleRequest, UpscaleResult
from engine.worker import Context

log = logging.getLogger(__name__)

#: reflection padding on the right/bottom before inference (Real-ESRGAN's default)
DEFAULT_PRE_PAD = 10
#: working memory a tile may use by default, MiB (see :func:`plan_memory`)
DEFAULT_MEMORY_BUDGET_MB = 512
#: the smallest tile the out-of-memory fallback tries before giving up
MIN_TILE = 32
#: ITU-R BT.601 luma weights (what OpenCV's RGB2GRAY uses)
LUMA = (0.299, 0.587, 0.114)
#: the families the table in :mod:`engine.pipelines` sends upscale requests to
UPSCALE_FAMILIES = families_for(UpscaleRequest)


# ---------------------------------------------------------------------------------------------
# the request-level entry point


def upscale(model: LoadedModel, request: UpscaleRequest, ctx: Context) -> UpscaleResult:
    """Super-resolve ``request.image`` with ``model``; returns the same layout and dtype, scaled."""
    started = time.perf_counter()
    image, tile_used, notes = upscale_image(
        model, request.image, ctx, tile=request.tile, tile_pad=request.tile_pad, outscale=request.outscale,
        memory_budget_mb=request.memory_budget_mb,
    )
    scale = float(request.outscale) if request.outscale else float(model_scale(model))
    return UpscaleResult(image=image, duration_s=time.perf_counter() - started, scale=scale,
                         tile_used=tile_used, notes=tuple(notes))


def model_scale(model: LoadedModel) -> int:
    scale = getattr(model.config, "scale", None)
    if model.family not in UPSCALE_FAMILIES or scale is None or "G" not in model.networks:
        raise InputError(
            f"{Path(model.path).name} is a {model.family} model, which cannot upscale; pick an ESRGAN, "
            "Real-ESRGAN, SRVGG or SRResNet model in the Upscale panel."
        )
    return int(scale)


def upscale_image(model: LoadedModel, image: np.ndarray, ctx: Context, *, tile: int = 256, tile_pad: int = 16,
                  outscale: float | None = None, pre_pad: int = DEFAULT_PRE_PAD,
                  memory_budget_mb: int = DEFAULT_MEMORY_BUDGET_MB) -> tuple[np.ndarray, int, list[str]]:
    """Upscale an image array; returns ``(image, tile_used, notes)``. See the module docstring.
    ``memory_budget_mb`` bounds the network's working memory per tile (see :func:`plan_memory`)."""
    scale = model_scale(model)
    image = check_image(image, "upscale", dtypes=(np.uint8, np.uint16), gray=True)
    if outscale is not None and not (0 < float(outscale) <= 16):
        raise InputError(f"The output scale must be between 0 and 16, not {outscale}.")
    if tile < 0 or tile_pad < 0:
        raise InputError("Tile size and tile overlap must be zero or positive.")
    max_value = 65535 if image.dtype == np.uint16 else 255
    height, width = image.shape[:2]
    out_shape = (height * scale, width * scale) + image.shape[2:]
    output = np.empty(out_shape, dtype=image.dtype)
    net = network_on(model, ctx)
    device, dtype = device_and_dtype(net)
    in_ch = getattr(model.config, "num_in_ch", 3)
    channels = 1 if image.ndim == 2 else image.shape[2]
    if in_ch not in (1, 3) or (in_ch == 1 and channels != 1):
        raise InputError(f"This model takes {in_ch}-channel images; it cannot upscale a {channels}-channel image.")
    planes = image if image.ndim == 3 else image[..., None]
    out_planes = output if output.ndim == 3 else output[..., None]
    fraction_span = 0.95 if (outscale and not math.isclose(float(outscale), scale)) else 1.0

    def run_tile(tile_in: torch.Tensor) -> torch.Tensor:
        """uint tile (N=1, C, h, w) float in [0, 1] -> scaled, same channels, clamped to [0, 1]."""
        color = tile_in[:, :3] if tile_in.shape[1] >= 3 else tile_in
        if color.shape[1] == 1 and in_ch == 3:
            rgb = net(color.expand(-1, 3, -1, -1)).clamp_(0, 1)  # as an RGB image would be, then to gray
            result = sum(w * rgb[:, i:i + 1] for i, w in enumerate(LUMA))
        else:
            result = net(color)
        if tile_in.shape[1] == 4:
            alpha = F.interpolate(tile_in[:, 3:4], scale_factor=scale, mode="bicubic", align_corners=False)
            result = torch.cat([result, alpha], dim=1)
        return result.clamp_(0, 1)

    def to_output(result: torch.Tensor) -> np.ndarray:
        return (result * max_value).round_().to(torch.int32).cpu().numpy().astype(image.dtype)

    tile, strip_rows, plan_notes = plan_memory(net, tile, tile_pad, memory_budget_mb, (height, width))
    try:
        if strip_rows:
            net.tail_strip_rows = strip_rows
        tile_used, notes = run_tiled(
            run_tile, planes, out_planes, scale=scale, multiple=_input_multiple(model), tile=tile, tile_pad=tile_pad,
            pre_pad=pre_pad, device=device, dtype=dtype, ctx=ctx, value_scale=1.0 / max_value,
            to_output=to_output, fraction_span=fraction_span,
        )
    finally:
        if strip_rows:
            del net.tail_strip_rows  # back to the class default (whole tail)
        release_freed_memory()
    notes = plan_notes + notes
    if fraction_span < 1.0:
        ctx.progress(fraction_span, "resizing to the output scale")
        output = resize(output, (int(height * float(outscale)), int(width * float(outscale))))
        notes.append(f"Resized from x{scale} to x{float(outscale):g} with Lanczos.")
    ctx.progress(1.0, "done")
    return output, tile_used, notes


def plan_memory(net: torch.nn.Module, tile: int, tile_pad: int, budget_mb: int,
                image_hw: tuple[int, int]) -> tuple[int, int, list[str]]:
    """Fit one tile's working memory into ``budget_mb`` MiB: returns ``(tile, tail_strip_rows, notes)``.

    Only networks that say what they hold (RRDBNet: ``tail_bytes_per_row``) are planned; others keep
    ``tile`` and run whole (0 strip rows). Half of the budget goes to the low-resolution body (about
    :data:`RRDB_BODY_BYTES_PER_PIXEL` per input pixel with context), which bounds the tile edge; the
    other half to the high-resolution tail, which runs in strips of feature rows that fit it."""
    if not hasattr(net, "tail_bytes_per_row") or budget_mb <= 0:
        return tile, 0, []
    budget = budget_mb * 2**20
    notes = []
    feat_bytes = RRDB_BODY_BYTES_PER_PIXEL * net.config.num_feat // 64
    edge = int(math.sqrt(budget / 2 / feat_bytes)) - 2 * tile_pad
    largest = max(image_hw)
    if edge >= MIN_TILE and (tile == 0 and largest > edge or tile > edge):
        notes.append(f"Tiles of {edge} pixels keep the working memory within {budget_mb} MiB "
                     f"(asked for {tile or 'the whole image'}).")
        tile = edge
    width = (min(tile or largest, largest) + 2 * tile_pad) // max(1, net.unshuffle)
    rows = max(1, int(budget / 2 // net.tail_bytes_per_row(max(1, width))))
    return tile, rows, notes


#: float32 bytes an RRDBNet (64 features, growth 32) body holds per low-resolution pixel at its peak
#: (the dense block's concatenated input of up to 192 channels, its output, the block input and skip)
RRDB_BODY_BYTES_PER_PIXEL = 4 * (192 + 3 * 64)


def _input_multiple(model: LoadedModel) -> int:
    return int(getattr(model.config, "input_multiple", 1))


# ---------------------------------------------------------------------------------------------
# tiling


def reflect_indices(size: int, total: int, pre_pad: int) -> np.ndarray:
    """Source index of each of ``total`` positions of an axis of length ``size`` padded on the far
    side: first by ``pre_pad`` (reflecting the image), then up to ``total`` (reflecting the
    pre-padded image), as ``F.pad(mode='reflect')`` twice does. Repeats the mirror for pads longer
    than the image (where torch's reflect padding would refuse)."""
    index = np.arange(total)
    for length in (size + pre_pad, size):
        index = _mirror(index, length)
    return index


def _mirror(index: np.ndarray, length: int) -> np.ndarray:
    if length <= 1:
        return np.zeros_like(index)
    period = 2 * (length - 1)
    index = index % period
    return np.where(index >= length, period - index, index)


@dataclass(frozen=True)
class TileSpan:
    """One tile along one axis, in padded-image input pixels: ``[start, stop)`` is kept,
    ``[in_start, in_stop)`` (with context) is fed to the network."""

    start: int
    stop: int
    in_start: int
    in_stop: int


def tile_spans(size: int, padded: int, tile: int, tile_pad: int) -> list[TileSpan]:
    """Tiles covering ``[0, size)`` of an axis whose padded length is ``padded``."""
    spans = []
    for start in range(0, size, tile):
        stop = min(start + tile, padded)
        spans.append(TileSpan(start, stop, max(start - tile_pad, 0), min(stop + tile_pad, padded)))
    return spans


def _round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


def run_tiled(run_tile: Callable[[torch.Tensor], torch.Tensor], source: np.ndarray, output: np.ndarray, *, scale: int,
              multiple: int, tile: int, tile_pad: int, pre_pad: int, device: torch.device, dtype: torch.dtype,
              ctx: Context, value_scale: float, to_output: Callable[[torch.Tensor], np.ndarray],
              fraction_span: float = 1.0) -> tuple[int, list[str]]:
    """Run ``run_tile`` over ``source`` (HxWxC, any numeric dtype) tile by tile into ``output``
    (H*scale x W*scale x C'). Returns ``(tile_used, notes)``; retries with smaller tiles on OOM.

    ``value_scale`` converts source values to the network's range; ``to_output`` converts a result
    tile (1 x C' x h x w on the device) to the output's dtype as an ``h x w x C'`` array."""
    notes: list[str] = []
    height, width = source.shape[:2]
    padded_h = _round_up(height + pre_pad, multiple)
    padded_w = _round_up(width + pre_pad, multiple)
    rows = reflect_indices(height, padded_h, pre_pad)
    cols = reflect_indices(width, padded_w, pre_pad)
    tile_pad = _round_up(tile_pad, multiple)
    current = _round_up(tile, multiple) if tile > 0 else 0
    while True:
        try:
            _tiled_pass(run_tile, source, output, rows, cols, scale, current or max(padded_h, padded_w), tile_pad,
                        device, dtype, ctx, value_scale, to_output, fraction_span)
            return current, notes
        except (RuntimeError, MemoryError) as exc:
            if not is_out_of_memory(exc):
                raise
            failed = current or max(padded_h, padded_w)
            smaller = _round_up(failed // 2, multiple)
            _free_device_memory(device)
            if smaller < max(MIN_TILE, multiple) or smaller >= failed:
                raise DeviceError(
                    f"Out of memory on {device} even with {failed}-pixel tiles. Close other programs using the "
                    "device, pick a smaller model, or switch the engine to the CPU in Preferences."
                ) from exc
            message = (f"Out of memory on {device} with " + (f"{failed}-pixel tiles" if current else "the whole image")
                       + f"; retried with {smaller}-pixel tiles.")
            log.warning(message)
            notes.append(message)
            current = smaller


def _tiled_pass(run_tile, source, output, rows, cols, scale, tile, tile_pad, device, dtype, ctx, value_scale,
                to_output, fraction_span) -> None:
    height, width = source.shape[:2]
    ys = tile_spans(height, len(rows), tile, tile_pad)
    xs = tile_spans(width, len(cols), tile, tile_pad)
    total = len(ys) * len(xs)
    with torch.inference_mode():
        _tile_loop(run_tile, source, output, rows, cols, scale, ys, xs, total, device, dtype, ctx, value_scale,
                   to_output, fraction_span)


def _tile_loop(run_tile, source, output, rows, cols, scale, ys, xs, total, device, dtype, ctx, value_scale,
               to_output, fraction_span) -> None:
    height, width = source.shape[:2]
    done = 0
    for y in ys:
        for x in xs:
            ctx.check_cancelled()
            patch = source[np.ix_(rows[y.in_start:y.in_stop], cols[x.in_start:x.in_stop])]
            tensor = torch.from_numpy(np.ascontiguousarray(patch)).to(device=device)
            tensor = tensor.permute(2, 0, 1).unsqueeze(0).to(dtype) * value_scale
            result = run_tile(tensor)
            del tensor
            # keep the tile's own part (drop the context), and only what lies inside the image
            top, left = (y.start - y.in_start) * scale, (x.start - x.in_start) * scale
            keep_h = (min(y.stop, height) - y.start) * scale
            keep_w = (min(x.stop, width) - x.start) * scale
            kept = result[0, :, top:top + keep_h, left:left + keep_w].permute(1, 2, 0)
            output[y.start * scale:y.start * scale + keep_h, x.start * scale:x.start * scale + keep_w] = to_output(kept)
            del result, kept
            done += 1
            ctx.progress(fraction_span * done / total, f"tile {done} of {total}")


def is_out_of_memory(exc: BaseException) -> bool:
    """True for a device (or host) allocation failure."""
    if isinstance(exc, MemoryError) or isinstance(exc, getattr(torch, "OutOfMemoryError", ())):
        return True
    text = str(exc).lower()
    return "out of memory" in text or "can't allocate memory" in text or "not enough memory" in text


def _free_device_memory(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.empty_cache()
    elif device.type == "mps" and hasattr(torch, "mps"):
        torch.mps.empty_cache()


def upscale_tensor(model: LoadedModel, nchw: np.ndarray, ctx: Context, *, tile: int = 0, tile_pad: int = 16,
                   pre_pad: int = DEFAULT_PRE_PAD) -> np.ndarray:
    """Float path: ``N x C x H x W`` float32 in [0, 1] -> raw (unclamped) network output, with the
    same padding and tiling as :func:`upscale` (Real-ESRGAN's ``RealESRGANer`` at ``tile=0``).
    For checks against reference outputs and for callers that post-process themselves."""
    scale = model_scale(model)
    net = network_on(model, ctx)
    device, dtype = device_and_dtype(net)
    batch = []
    for sample in np.asarray(nchw, dtype=np.float32):
        source = np.ascontiguousarray(sample.transpose(1, 2, 0))
        out = np.empty((source.shape[0] * scale, source.shape[1] * scale, source.shape[2]), np.float32)
        run_tiled(net, source, out, scale=scale, multiple=_input_multiple(model), tile=tile, tile_pad=tile_pad,
                  pre_pad=pre_pad, device=device, dtype=dtype, ctx=ctx, value_scale=1.0,
                  to_output=lambda t: t.float().cpu().numpy())
        batch.append(out.transpose(2, 0, 1))
    return np.stack(batch)


# ---------------------------------------------------------------------------------------------
# resizing


def resize(image: np.ndarray, size_hw: tuple[int, int]) -> np.ndarray:
    """Lanczos resize of an HxW[xC] uint8/uint16 array to ``size_hw`` (one channel at a time for
    16-bit images, whose colour Pillow cannot resize as a whole)."""
    from PIL import Image

    height, width = max(1, size_hw[0]), max(1, size_hw[1])
    if image.dtype == np.uint8:
        return np.asarray(Image.fromarray(image).resize((width, height), Image.Resampling.LANCZOS))
    planes = image[..., None] if image.ndim == 2 else image
    out = np.empty((height, width, planes.shape[2]), dtype=image.dtype)
    for c in range(planes.shape[2]):
        plane = Image.fromarray(planes[..., c].astype(np.float32), mode="F")
        resized = np.asarray(plane.resize((width, height), Image.Resampling.LANCZOS))
        out[..., c] = np.clip(np.rint(resized), 0, 65535).astype(np.uint16)
    return out[..., 0] if image.ndim == 2 else out


# ---------------------------------------------------------------------------------------------
# network interpolation


def interpolate_models(a: LoadedModel, b: LoadedModel, alpha: float) -> LoadedModel:
    """Blend the weights of two checkpoints of the same architecture: ``(1 - alpha) * a + alpha * b``
    (ESRGAN's network interpolation, e.g. between a PSNR-oriented and a GAN model: alpha 0 gives
    ``a``, 1 gives ``b``). The result is a new model on ``a``'s device; ``a`` and ``b`` are untouched."""
    from engine.models import family_module

    alpha = float(alpha)
    if not 0.0 <= alpha <= 1.0:
        raise InputError(f"The interpolation weight must be between 0 and 1, not {alpha}.")
    name_a, name_b = Path(a.path).name, Path(b.path).name
    config_a, config_b = config_to_dict(a.config), config_to_dict(b.config)
    if a.family != b.family or config_a != config_b:
        differences = [f"family {a.family} vs {b.family}"] if a.family != b.family else [
            f"{k} {config_a.get(k)} vs {config_b.get(k)}" for k in sorted(set(config_a) | set(config_b))
            if config_a.get(k) != config_b.get(k)
        ]
        raise CheckpointError(
            f"{name_a} and {name_b} cannot be interpolated: they are different architectures "
            f"({'; '.join(differences)}). Pick two models of the same kind and size, e.g. two x4 RRDBNets "
            "with 23 blocks."
        )
    networks = family_module(a.family).build_networks(a.config)
    for role, net in networks.items():
        state_a, state_b = a.networks[role].state_dict(), b.networks[role].state_dict()
        blended = {}
        for key, value in state_a.items():
            other = state_b[key].to(value.device)
            if value.is_floating_point():
                blended[key] = torch.lerp(value.float(), other.float(), alpha).to(value.dtype)
            else:
                blended[key] = value.clone()
        strict_load(net, blended, f"interpolation of {name_a} and {name_b} ({role})")
        net.eval()
        net.requires_grad_(False)
    model = LoadedModel(
        path=f"{a.path} ~ {b.path} @ {alpha:g}",
        family=a.family,
        source_format="interpolated",
        config=a.config,
        networks=networks,
        metadata={"interpolated_from": [a.path, b.path], "alpha": alpha,
                  "source": f"interpolate({name_a}, {name_b}, {alpha:g})"},
        notes=[f"Interpolated: {1 - alpha:g} x {name_a} + {alpha:g} x {name_b}."],
    )
    return model.to(a.device)


# ---------------------------------------------------------------------------------------------
# folders


@dataclass(frozen=True)
class FolderItem:
    """One file of a folder batch: ``output`` is set when it was written, ``error`` when skipped."""

    index: int
    total: int
    source: Path
    output: Path | None
    error: str | None = None
    duration_s: float = 0.0


class _SubProgress:
    """A job context that maps a file's own progress into its share of a batch."""

    def __init__(self, ctx: Context, start: float, span: float, prefix: str):
        self._ctx, self._start, self._span, self._prefix = ctx, start, span, prefix
        self.device = getattr(ctx, "device", None)

    def progress(self, fraction: float | None, message: str = "") -> None:
        overall = None if fraction is None else self._start + self._span * fraction
        self._ctx.progress(overall, f"{self._prefix}: {message}" if message else self._prefix)

    def check_cancelled(self) -> None:
        self._ctx.check_cancelled()


def list_images(folder: Path, recursive: bool = False) -> list[Path]:
    from engine.imageio import IMAGE_EXTENSIONS

    pattern = "**/*" if recursive else "*"
    return sorted(p for p in folder.glob(pattern) if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)


def folder_targets(files: list[Path], source_dir: Path, output_dir: Path, suffix: str) -> dict[Path, Path]:
    """Where each source image of a folder batch is written (``stem + suffix + ".png"``, same
    sub-folder). Raises :class:`InputError` before anything is written when a target would
    overwrite one of the source images (e.g. the output folder is the input folder)."""
    sources = {path.resolve() for path in files}
    targets = {}
    for path in files:
        relative = path.relative_to(source_dir)
        target = (output_dir / relative).with_name(relative.stem + suffix + ".png")
        if target.resolve() in sources:
            raise InputError(
                f"Writing {target.name} into {output_dir} would overwrite a source image; choose another "
                "output folder (or a file name suffix). Nothing was written."
            )
        targets[path] = target
    return targets


def upscale_folder(model: LoadedModel, source_dir: str | Path, output_dir: str | Path, ctx: Context, *,
                   tile: int = 256, tile_pad: int = 16, outscale: float | None = None, suffix: str = "_up",
                   recursive: bool = False) -> Iterator[FolderItem]:
    """Upscale every image in ``source_dir`` into ``output_dir`` as PNG, yielding one
    :class:`FolderItem` per file as it finishes. Unreadable images are skipped (the item carries
    the error); a source file is never overwritten. Cancellation stops the batch."""
    from engine.imageio import ImageReadError, read_image, write_png

    source_dir, output_dir = Path(source_dir).expanduser(), Path(output_dir).expanduser()
    if not source_dir.is_dir():
        raise InputError(f"{source_dir} is not a folder; pick the folder that holds the images.")
    files = list_images(source_dir, recursive)
    scale = float(outscale) if outscale else float(model_scale(model))
    total = len(files)
    targets = folder_targets(files, source_dir, output_dir, suffix)
    first_for: dict[Path, Path] = {}
    for index, path in enumerate(files):
        ctx.check_cancelled()
        target = targets[path]
        earlier = first_for.setdefault(target.resolve(), path)
        if earlier != path:
            message = (f"{path.name} was skipped: {earlier.name} is also written as {target.name}; rename one of "
                       "them and run the batch again.")
            log.warning(message)
            yield FolderItem(index, total, path, None, message)
            continue
        started = time.perf_counter()
        sub = _SubProgress(ctx, index / max(total, 1), 1 / max(total, 1), f"{path.name} ({index + 1}/{total})")
        try:
            image = read_image(path)
        except ImageReadError as exc:
            log.warning("skipping %s: %s", path, exc)
            yield FolderItem(index, total, path, None, str(exc))
            continue
        try:
            result, tile_used, notes = upscale_image(model, image, sub, tile=tile, tile_pad=tile_pad, outscale=outscale)
            write_png(target, result, {
                "Software": "GAN Studio",
                "gan_studio:source": path.name,
                "gan_studio:model": Path(model.path).name,
                "gan_studio:scale": f"{scale:g}",
            })
        except (InputError, OSError) as exc:
            message = str(exc) if isinstance(exc, EngineError) else f"{path.name} could not be written ({exc})."
            log.warning("skipping %s: %s", path, message)
            yield FolderItem(index, total, path, None, message)
            continue
        yield FolderItem(index, total, path, target, None, time.perf_counter() - started)


def upscale_folder_request(model: LoadedModel, request: UpscaleFolderRequest, ctx: Context) -> UpscaleFolderResult:
    """The engine-thread handler of an :class:`UpscaleFolderRequest`: :func:`upscale_folder`,
    collected into which files were written and which were skipped (and why)."""
    started = time.perf_counter()
    scale = float(request.outscale) if request.outscale else float(model_scale(model))
    written: list[tuple[str, str]] = []
    skipped: list[tuple[str, str]] = []
    for item in upscale_folder(model, request.source_dir, request.output_dir, ctx, tile=request.tile,
                               tile_pad=request.tile_pad, outscale=request.outscale, suffix=request.suffix):
        if item.output is not None:
            written.append((str(item.source), str(item.output)))
        else:
            skipped.append((str(item.source), item.error or "skipped"))
    ctx.progress(1.0, f"{len(written)} written, {len(skipped)} skipped")
    return UpscaleFolderResult(written=tuple(written), skipped=tuple(skipped),
                               duration_s=time.perf_counter() - started, scale=scale)
