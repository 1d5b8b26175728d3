"""The renderer: a seed becomes a landscape, its label map and its instance map.

A scene is drawn from ``numpy.random.default_rng([seed, biome])`` in resolution-independent scene
coordinates (the picture spans [0, 1] x [0, 1], y down): the same seed at 128 and 256 px is the
same scene. Every random number is drawn in a fixed order that does not depend on the output
size; pixels only sample the scene.

Camera model: a pinhole over flat ground. A ground point at lateral offset ``X`` and depth ``Z``
appears at ``u = 0.5 + X / Z``, ``v = horizon + CAMERA_HEIGHT / Z``; an object of height ``h``
standing there spans ``h / Z`` in ``v``.

Painter's order: sky, sun, clouds, mountain layers (far to near), ground cover, forest band,
water (reflecting what is above its mirror line), road, then objects (rocks, trees, buildings)
far to near. Each step writes the class it paints into the label map where it is opaque, so a
label always names what is seen at that pixel.

numpy (and scikit-image textures) only; no torch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from engine.data.world import noise, textures
from engine.data.world.biomes import BIOMES, CLASS, Biome, biome_index

CAMERA_HEIGHT = 0.06
MIN_SIZE = 32
MAX_SIZE = 2048
NOISE_TABLE = 128

#: time of day -> (zenith, horizon, light, sun) colors, RGB 0..255
SKIES = {
    "day": ((58, 108, 190), (176, 204, 232), (255, 250, 238), (255, 252, 240)),
    "golden": ((70, 96, 166), (242, 196, 140), (255, 222, 180), (255, 236, 196)),
    "dusk": ((34, 36, 92), (252, 136, 76), (250, 170, 130), (255, 206, 130)),
    "overcast": ((146, 158, 176), (206, 210, 216), (232, 234, 238), (250, 250, 250)),
}


def _rgb(color) -> np.ndarray:
    return np.asarray(color, dtype=np.float32) / 255.0


def _smoothstep(lo: float, hi: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - lo) / (hi - lo), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


@dataclass
class Canvas:
    """The picture being painted: ``rgb`` HxWx3 float32 (0..1), ``labels`` HxW uint8, ``inst``
    HxW int32; ``us``/``vs`` are pixel-centre scene coordinates (float32) of columns and rows."""

    rgb: np.ndarray
    labels: np.ndarray
    inst: np.ndarray
    us: np.ndarray
    vs: np.ndarray
    sun_dist: np.ndarray | None = None  # HxW distance of each pixel to the sun's centre (scene units)

    @property
    def size(self) -> int:
        return len(self.us)

    def paint(self, mask: np.ndarray, color: np.ndarray, label: int | None, rows: slice = slice(None),
              cols: slice = slice(None), alpha: np.ndarray | None = None, instance: int | None = None) -> None:
        """Blend ``color`` (HxWx3 or 3) into the window ``rows, cols`` where ``mask``; write
        ``label`` (and ``instance``) there. ``rows`` may be a contiguous boolean row mask."""
        if isinstance(rows, np.ndarray):
            picked = np.flatnonzero(rows)
            rows = slice(int(picked[0]), int(picked[-1]) + 1)
        region = self.rgb[rows, cols]
        if alpha is None:
            region[mask] = color[mask] if np.ndim(color) == 3 else color
        else:
            a = (alpha * mask)[..., None]
            region[:] = region * (1 - a) + color * a
        if label is not None:
            self.labels[rows, cols][mask] = label
        if instance is not None:
            self.inst[rows, cols][mask] = instance


@dataclass
class Light:
    """Time of day: colors (0..1 RGB) and the sun's position; ``lx`` in [-1, 1] is the light's
    horizontal direction (+1: from the right)."""

    time: str
    zenith: np.ndarray
    horizon_color: np.ndarray
    light: np.ndarray
    sun_color: np.ndarray
    sun_u: float
    sun_v: float
    sun_r: float
    lx: float
    haze: np.ndarray


def render(seed: int, size: int, biome: str | int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Render world scene ``seed`` at ``size x size`` pixels.

    Returns ``(labels HxW int32 world class indices, image HxWx3 uint8 RGB, instances HxW int32,
    0 = none)``. ``biome``: a name or index of :data:`BIOMES`, or None for the seed's own biome
    (``seed % len(BIOMES)``). Deterministic: the same arguments give the same bytes.
    """
    labels, image, inst = render_scene(seed, size, biome)
    return labels.astype(np.int32), image, inst


def render_scene(seed: int, size: int, biome: str | int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Like :func:`render` but returns the label map as uint8 (cheaper for batches)."""
    seed = int(seed)
    if seed < 0:
        raise ValueError(f"world seeds are whole numbers >= 0, not {seed}")
    size = int(size)
    if not MIN_SIZE <= size <= MAX_SIZE:
        raise ValueError(f"world images are {MIN_SIZE}..{MAX_SIZE} px square; {size} px is out of range")
    b_index = biome_index(biome, seed)
    spec = BIOMES[b_index]
    rng = np.random.default_rng([seed, b_index])
    coords = ((np.arange(size, dtype=np.float64) + 0.5) / size).astype(np.float32)
    canvas = Canvas(np.zeros((size, size, 3), np.float32), np.zeros((size, size), np.uint8),
                    np.zeros((size, size), np.int32), coords, coords)
    hz = float(rng.uniform(*spec.horizon))
    light = _draw_light(rng, spec, hz)
    ground_rng, object_rng = np.random.default_rng(rng.integers(2**32)), np.random.default_rng(rng.integers(2**32))
    _sky(canvas, light, hz)
    _sun(canvas, light)
    _clouds(canvas, rng, spec, light, hz)
    _mountains(canvas, rng, spec, light, hz)
    scene = _Ground(canvas, ground_rng, spec, light, hz)
    scene.paint()
    _objects(canvas, object_rng, spec, light, scene)
    image = np.clip(canvas.rgb * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return canvas.labels, image, canvas.inst


# --------------------------------------------------------------------------------------------
# sky


def _draw_light(rng: np.random.Generator, spec: Biome, hz: float) -> Light:
    names = [t for t, _ in spec.times]
    weights = np.array([w for _, w in spec.times], dtype=np.float64)
    time = names[int(rng.choice(len(names), p=weights / weights.sum()))]
    zenith, horizon_color, light, sun = (_rgb(c) * rng.uniform(0.94, 1.06, 3).astype(np.float32) for c in SKIES[time])
    sun_u = float(rng.uniform(0.08, 0.92) if rng.random() < 0.75 else rng.choice([-0.3, 1.3]))
    if time == "day":
        sun_v, sun_r = float(rng.uniform(0.06, hz * 0.55)), float(rng.uniform(0.022, 0.032))
    elif time == "golden":
        sun_v, sun_r = float(rng.uniform(hz * 0.45, hz * 0.8)), float(rng.uniform(0.028, 0.04))
    elif time == "dusk":
        sun_v, sun_r = float(rng.uniform(hz * 0.72, hz - 0.02)), float(rng.uniform(0.035, 0.055))
    else:  # overcast: the sun is a pale disc behind thin cloud, or hidden
        sun_v, sun_r = float(rng.uniform(0.1, hz * 0.6)), float(rng.uniform(0.02, 0.03))
        if rng.random() < 0.5:
            sun_u = -1.0
    lx = float(np.clip((sun_u - 0.5) * 2.5, -1.0, 1.0)) if -0.5 < sun_u < 1.5 else float(rng.choice([-0.6, 0.6]))
    haze = np.clip(horizon_color * 0.85 + 0.15 * light, 0, 1)
    return Light(time, zenith, horizon_color, light, sun, sun_u, sun_v, sun_r, lx, haze)


def _sky(canvas: Canvas, light: Light, hz: float) -> None:
    t = np.clip(canvas.vs / max(hz, 1e-3), 0.0, 1.0)[:, None, None] ** 1.6
    sky = light.zenith * (1 - t) + light.horizon_color * t
    if light.time == "dusk":  # a violet band between the warm horizon and the night zenith
        band = np.exp(-((canvas.vs / max(hz, 1e-3) - 0.55) / 0.2) ** 2)[:, None, None]
        sky = sky * (1 - 0.35 * band) + np.array([0.55, 0.38, 0.6], np.float32) * 0.35 * band
    du = canvas.us[None, :] - light.sun_u
    dv = canvas.vs[:, None] - light.sun_v
    dist = np.sqrt(du * du + dv * dv).astype(np.float32)
    glow = (np.exp(-dist / 0.12) * 0.45 + np.exp(-dist / 0.4) * 0.18)[..., None]
    canvas.rgb[:] = sky * (1 - glow) + light.sun_color * glow
    canvas.labels[:] = CLASS["sky"]
    canvas.sun_dist = dist


def _sun(canvas: Canvas, light: Light) -> None:
    dist = canvas.sun_dist
    disc = dist < light.sun_r
    if not disc.any():
        return
    core = np.clip(1.15 - 0.4 * (dist / light.sun_r) ** 2, 0, 1)[..., None]
    color = np.clip(light.sun_color * (0.85 + 0.3 * core), 0, 1)
    canvas.paint(disc, np.broadcast_to(color, canvas.rgb.shape), CLASS["sun"])


def _clouds(canvas: Canvas, rng: np.random.Generator, spec: Biome, light: Light, hz: float) -> None:
    cover = float(rng.uniform(*spec.clouds))
    lattices = noise.fbm_lattices(rng, 3, 5, aspect=0.55)
    rows = canvas.vs < hz
    if cover <= 0.02 or not rows.any():
        return
    vs = canvas.vs[rows]
    density = noise.fbm_grid(lattices, canvas.us, vs) + (cover - 0.55) * 0.9
    density -= 0.35 * _smoothstep(0.5, 1.0, vs / hz)[:, None]  # thinner near the horizon
    lit = noise.fbm_grid(lattices, canvas.us - light.lx * 0.03, vs + 0.03)
    shade = np.clip(0.5 + (density - (lit + (cover - 0.55) * 0.9)) * 4.0, 0, 1)[..., None]
    alpha = _smoothstep(-0.02, 0.12, density)
    mask = density > 0.03
    under = light.horizon_color * 0.55 + np.array([0.18, 0.18, 0.22], np.float32)
    if light.time == "dusk":
        under = np.array([0.42, 0.3, 0.42], np.float32)
    top = np.clip(light.light * 1.02, 0, 1)
    color = under * (1 - shade) + top * shade
    color = np.clip(color, 0, 1)
    canvas.paint(mask, color, CLASS["cloud"], rows=rows, alpha=np.maximum(alpha, mask * 0.55))


# --------------------------------------------------------------------------------------------
# mountains


def _mountains(canvas: Canvas, rng: np.random.Generator, spec: Biome, light: Light, hz: float) -> None:
    layers = int(rng.integers(spec.mountain_layers[0], spec.mountain_layers[1] + 1))
    snow_line = float(rng.uniform(*spec.snow_line))
    base_color = _rgb(spec.mountain_color) * rng.uniform(0.9, 1.1, 3).astype(np.float32)
    for layer in range(layers):
        depth = (layers - 1 - layer) / max(layers, 1)  # 0 = nearest layer, toward 1 = far
        height = float(rng.uniform(*spec.mountain_height)) * (1.0 - 0.35 * depth)
        ridge = noise.line_table(rng, int(rng.integers(1, 4)), 7, gain=0.42, ridged=True)
        ridge = ((ridge - ridge.min()) / (np.ptp(ridge) + 1e-6)) ** 1.6
        window = noise.line_table(rng, 1, 2)  # some layers cover only part of the width
        extent = float(rng.uniform(0.0, 0.5)) if spec.name == "coast" else -1.0
        facets = noise.fbm_lattices(rng, 4, 5, aspect=1.0)
        _mountain_layer(canvas, light, hz, height, ridge, window, extent, facets, base_color, depth, snow_line, spec.mesa)


def _mountain_layer(canvas: Canvas, light: Light, hz: float, height: float, ridge: np.ndarray, window: np.ndarray,
                    extent: float, facets: list[np.ndarray], base_color: np.ndarray, depth: float, snow_line: float,
                    mesa: bool) -> None:
    us = canvas.us
    profile = noise.at(ridge, us)
    if mesa:
        profile = np.minimum(profile, 0.55) / 0.55
        profile = np.where(profile > 0.97, 1.0, profile ** 0.5)
    if extent >= 0:
        profile = profile * _smoothstep(extent, extent + 0.3, noise.at(window, us) * 0.5 + 0.5)
    top = hz - height * (0.15 + 0.85 * profile)
    rows = (canvas.vs >= top.min()) & (canvas.vs < hz + 0.01)
    if not rows.any():
        return
    vs = canvas.vs[rows]
    mask = vs[:, None] >= top[None, :]
    elevation = (hz - vs[:, None]) / height                    # 0 at the base, ~1 at the highest crest
    slope = np.gradient(top, us)                              # d(top)/du: faces turned toward the light
    face = np.clip(-slope * light.lx * 0.6, -0.5, 0.5)[None, :] * np.exp(-(vs[:, None] - top[None, :]) / (height * 0.6))
    f0 = noise.fbm_grid(facets, us, vs)
    f1 = noise.fbm_grid(facets, us + 0.01 * light.lx, vs - 0.01)
    relief = np.clip((f1 - f0) * 18.0, -0.6, 0.6)
    shade = np.clip(0.78 + 0.5 * face + 0.35 * relief, 0.25, 1.3)[..., None]
    detail = textures.sample("moon", us[None, :] * 900, vs[:, None] * 900 + 200, 900 / canvas.size)[..., None]
    rock = base_color * (0.92 + 0.08 * detail) * light.light
    snow = (elevation > snow_line + 0.25 * f0 - 0.15 * face) & mask
    snow_color = np.clip(np.array([0.93, 0.95, 1.0], np.float32) * light.light * 1.05, 0, 1)
    snow_color = snow_color * (0.94 + 0.03 * detail)
    color = np.where(snow[..., None], snow_color * np.clip(shade + 0.1, 0.55, 1.05), rock * shade)
    # atmospheric perspective: far layers and the feet of mountains fade into the haze
    fog = (0.25 + 0.6 * depth + 0.25 * (1 - np.clip(elevation, 0, 1)) ** 3)[..., None]
    fog = np.clip(fog, 0, 0.9)
    color = color * (1 - fog) + light.haze * fog
    canvas.paint(mask & ~snow, color, CLASS["mountain"], rows=rows)
    canvas.paint(snow, color, CLASS["snow"], rows=rows)


# --------------------------------------------------------------------------------------------
# ground, forest band, water, road


class _Ground:
    """The ground plane below the horizon and everything lying on it (cover, water, road).

    Keeps the functions objects need to find free ground: :meth:`is_free`."""

    def __init__(self, canvas: Canvas, rng: np.random.Generator, spec: Biome, light: Light, hz: float):
        self.canvas, self.rng, self.spec, self.light, self.hz = canvas, rng, spec, light, hz
        self.cover_noise = noise.noise_image(rng, NOISE_TABLE, 3, 4)
        self.relief_noise = noise.noise_image(rng, NOISE_TABLE, 2, 5)
        self.ground_color = _rgb(spec.ground_color) * rng.uniform(0.92, 1.08, 3).astype(np.float32)
        self.patches = [(name, float(rng.uniform(-0.1, 0.35))) for name, p in spec.patch_classes if rng.random() < p]
        self.patch_offsets = rng.uniform(0, NOISE_TABLE, size=(len(self.patches), 2))
        self.flower_colors = np.array([[0.95, 0.85, 0.2], [0.9, 0.25, 0.3], [0.7, 0.45, 0.85], [0.97, 0.97, 0.95]],
                                      np.float32)[rng.permutation(4)[:2]]
        self.forest = rng.random() < spec.forest_p
        self.forest_top = noise.line_table(rng, 6, 5)
        self.forest_spikes = rng.uniform(120, 200)
        self.forest_height = float(rng.uniform(0.08, 0.2) if spec.name == "forest" else rng.uniform(0.025, 0.07))
        self.forest_base = hz + float(rng.uniform(0.004, 0.02))
        self.water = spec.water if rng.random() < spec.water_p else "none"
        self.shore = noise.line_table(rng, 3, 5)
        self.lake_center = float(rng.uniform(0.25, 0.75))
        self.lake_width = float(rng.uniform(0.6, 1.2))
        self.lake_depth = float(rng.uniform(0.15, 0.45))
        self.sea_depth = float(rng.uniform(0.1, 0.3)) * (1 - hz) + 0.01
        self.ripples = noise.noise_image(rng, NOISE_TABLE, 8, 3)
        self.road = rng.random() < spec.road_p
        self.road_curve = (float(rng.uniform(-0.2, 0.2)), float(rng.uniform(0.0, 0.35)), float(rng.uniform(0.05, 0.2)),
                           float(rng.uniform(0, 2 * math.pi)))
        self.road_width = float(rng.uniform(0.06, 0.1))

    # -- geometry in scene units ------------------------------------------------------------

    def depth(self, v: np.ndarray) -> np.ndarray:
        """Ground depth Z of screen rows ``v`` (> horizon)."""
        return CAMERA_HEIGHT / np.maximum(v - self.hz, 1e-4)

    def water_edge(self, u: np.ndarray) -> np.ndarray:
        """The near edge (a screen v) of the lake or sea at columns ``u``; <= horizon where none."""
        if self.water == "sea":
            return self.hz + self.sea_depth + 0.025 * noise.at(self.shore, u)
        if self.water == "lake":
            x = (u - self.lake_center) / (self.lake_width / 2)
            profile = 1.0 - x * x + 0.25 * noise.at(self.shore, u)
            return self.hz + self.lake_depth * np.clip(profile, -1, 1.0) * (1 - self.hz)
        return np.full(np.shape(u), self.hz - 1.0, np.float32)

    def road_center(self, z: np.ndarray) -> np.ndarray:
        offset, amp, freq, phase = self.road_curve
        return offset + amp * np.sin(z * freq + phase) * np.minimum(z, 8.0) / 8.0

    def is_free(self, u: float, v: float) -> bool:
        """Whether a point of the ground (scene units) is dry land off the road."""
        if v <= self.hz + 0.002:
            return False
        if v <= float(self.water_edge(np.array([u]))[0]) + 0.01:
            return False
        if self.forest and v < self.forest_base + 0.01:
            return False
        if self.road:
            z = float(self.depth(np.array(v)))
            if abs((u - 0.5) * z - float(self.road_center(np.array(z)))) < self.road_width * 0.9:
                return False
        return True

    # -- painting ---------------------------------------------------------------------------

    def paint(self) -> None:
        canvas = self.canvas
        rows = canvas.vs > self.hz
        if not rows.any():
            return
        self.rows = rows
        vs = canvas.vs[rows]
        self.z = self.depth(vs)[:, None].astype(np.float32)
        self.gx = ((canvas.us[None, :] - 0.5) * self.z).astype(np.float32)
        self.fog = (1 - np.exp(-self.z / 14.0)).astype(np.float32)[..., None]
        self._cover()
        if self.forest:
            self._forest_band()
        if self.water != "none":
            self._water()
        if self.road:
            self._road()

    def _texture(self, name: str, scale: float) -> np.ndarray:
        """Texture ``name`` laid on the ground, ``scale`` texels per ground unit, mip by row."""
        z, gx = self.z, self.gx
        footprint = scale * np.maximum(z * z / (CAMERA_HEIGHT * self.canvas.size), z / self.canvas.size)
        levels = np.clip(np.floor(np.log2(np.maximum(footprint[:, 0], 1.0))), 0, 6).astype(int)
        out = np.zeros(gx.shape, np.float32)
        for level in np.unique(levels):
            sel = levels == level
            out[sel] = textures.sample(name, gx[sel] * scale, np.broadcast_to(z, gx.shape)[sel] * scale,
                                       float(2 ** level))
        return out * np.exp(-z / 30.0)  # far detail fades

    def _cover(self) -> None:
        canvas, spec, light = self.canvas, self.spec, self.light
        z, gx = self.z, self.gx
        shape = gx.shape
        relief = noise.sample_bilinear(self.relief_noise, gx * 6 + 17, z * 6)
        relief_lit = noise.sample_bilinear(self.relief_noise, (gx + 0.15 * light.lx) * 6 + 17, z * 6 - 0.6)
        shade = np.clip(0.9 + (relief_lit - relief) * 2.5, 0.6, 1.25)[..., None]
        labels = np.full(shape, CLASS[spec.ground], np.uint8)
        if spec.ground == "sand":  # dunes: long ridges lit on one side
            dune = np.sin(gx * 2.2 + z * 0.9 + relief * 3.0)
            shade = shade * (0.92 + 0.14 * np.clip(dune * light.lx + 0.2, -1, 1))[..., None]
        for (name, threshold), (ox, oy) in zip(self.patches, self.patch_offsets):
            n = noise.sample_bilinear(self.cover_noise, gx * 3.0 + ox, z * 3.0 + oy)
            labels[n > threshold + 0.4 * self.fog[..., 0] + (0.1 if name == "flowers" else 0.0)] = CLASS[name]
        color = np.empty(shape + (3,), np.float32)
        color[:] = self.ground_color
        grass_tex = self._texture("grass", 180)
        gravel_tex = self._texture("gravel", 260)
        # per cover class: base colour and texture detail (grain strength differs by material)
        detail = {"grass": grass_tex * 0.16, "flowers": grass_tex * 0.16, "sand": gravel_tex * 0.05,
                  "snow": gravel_tex * 0.035, "dirt": gravel_tex * 0.14, "rock": gravel_tex * 0.2}
        palette = {"grass": self.ground_color if spec.ground == "grass" else _rgb((96, 132, 64)) * 0.9,
                   "dirt": _rgb((128, 96, 64)), "rock": _rgb((120, 116, 110)), "flowers": self.ground_color * 0.9,
                   "sand": self.ground_color, "snow": self.ground_color}
        for name in {n for n, _ in self.patches} | {spec.ground}:  # disjoint selections: order does not matter
            sel = labels == CLASS[name]
            color[sel] = palette[name] * (1 + detail[name][sel][:, None])
        flowers = labels == CLASS["flowers"]
        if flowers.any():
            # blossoms: bright specks a few pixels wide, two colors mixed in patches
            rows = self.canvas.vs[self.rows][:, None]
            speck = textures.sample("gravel", self.canvas.us[None, :] * 1800, rows * 1800 + 300, 1800 / self.canvas.size)
            pick = (noise.sample_bilinear(self.cover_noise, gx * 12 + 40, z * 12) > 0).astype(int)
            dots = flowers & (speck > 0.9)
            color[dots] = self.flower_colors[pick[dots]] * (0.9 + 0.1 * speck[dots][:, None])
            color[flowers & ~dots] *= 0.85
        color = color * shade * light.light
        color = color * (1 - self.fog) + light.haze * self.fog
        canvas.rgb[self.rows] = color
        canvas.labels[self.rows] = labels

    def _forest_band(self) -> None:
        canvas, light = self.canvas, self.light
        us = canvas.us
        spikes = np.abs(((us * self.forest_spikes + 3 * noise.at(self.forest_top, us)) % 1.0) - 0.5) * 2
        top = self.hz - self.forest_height * (0.55 + 0.3 * noise.at(self.forest_top, us) + 0.35 * (1 - spikes))
        rows = (canvas.vs >= top.min()) & (canvas.vs < self.forest_base)
        if not rows.any():
            return
        vs = canvas.vs[rows]
        mask = vs[:, None] >= top[None, :]
        tex = textures.sample("grass", us[None, :] * 1400, vs[:, None] * 1400, 1400 / canvas.size)
        side = np.clip(0.5 + 0.5 * light.lx * np.sin(us * self.forest_spikes * 2 * math.pi)[None, :], 0, 1)
        color = _rgb(self.spec.foliage_color) * (0.8 + 0.25 * side + 0.15 * tex)[..., None] * light.light
        fog = np.float32(0.3)
        color = color * (1 - fog) + light.haze * fog
        canvas.paint(mask, color, CLASS["forest"], rows=rows)

    def _water(self) -> None:
        canvas, light = self.canvas, self.light
        edge = self.water_edge(canvas.us)
        rows = self.rows
        vs = canvas.vs[rows]
        top = self.forest_base if (self.forest and self.water == "lake") else self.hz
        mask = (vs[:, None] < edge[None, :]) & (vs[:, None] >= top)
        if self.water == "lake" and self.forest:
            mask &= canvas.labels[rows] != CLASS["forest"]
        if not mask.any():
            return
        z, gx = self.z, self.gx
        wave = noise.sample_bilinear(self.ripples, gx * 4.0, z * 12.0)
        # mirror about the far waterline: a point d below it shows what is d above it
        src_v = top - (vs[:, None] - top) * 1.0 + wave * 0.012 / np.sqrt(z)
        src_row = np.clip((src_v * canvas.size).astype(np.int64), 0, canvas.size - 1)
        src_col = np.clip(((canvas.us[None, :] + wave * 0.004) * canvas.size).astype(np.int64), 0, canvas.size - 1)
        reflection = canvas.rgb[src_row, src_col]
        deep = _rgb((30, 70, 96)) if self.water == "sea" else _rgb((34, 64, 70))
        fresnel = (0.35 + 0.55 * np.exp(-(vs[:, None] - top) * 9.0))[..., None]
        color = deep * light.light * (1 - fresnel) + reflection * 0.92 * fresnel
        color = color * (1 + 0.07 * wave[..., None])
        glitter = np.exp(-((canvas.us[None, :] - light.sun_u) / 0.05) ** 2) * (wave > 0.25)
        color = color + (glitter * 0.5)[..., None] * light.sun_color
        if self.water == "sea":
            foam = (vs[:, None] > edge[None, :] - 0.012) & (wave > -0.1)
            color[foam] = color[foam] * 0.4 + 0.6 * light.light
        label = CLASS["sea"] if self.water == "sea" else CLASS["water"]
        canvas.paint(mask, np.clip(color, 0, 1), label, rows=rows)

    def _road(self) -> None:
        canvas, light = self.canvas, self.light
        z, gx = self.z, self.gx
        centre = self.road_center(z)
        offset = np.abs(gx - centre)
        mask = (offset < self.road_width / 2) & (z < 40)
        mask &= ~np.isin(canvas.labels[self.rows], (CLASS["water"], CLASS["sea"], CLASS["forest"]))
        if not mask.any():
            return
        tex = self._texture("gravel", 320)
        base = _rgb((92, 90, 92)) if self.spec.name != "desert" else _rgb((104, 96, 90))
        color = base * (1 + 0.16 * tex)[..., None]
        line = (offset < self.road_width * 0.025) & ((z * 1.5) % 1.0 < 0.5)
        color[line] = _rgb((220, 210, 160))
        edge = offset > self.road_width * 0.44
        color[edge] = color[edge] * 0.8
        color = color * light.light
        color = color * (1 - self.fog) + light.haze * self.fog
        canvas.paint(mask, color, CLASS["road"], rows=self.rows)


# --------------------------------------------------------------------------------------------
# objects: rocks, trees, buildings


@dataclass
class _Object:
    kind: str
    u: float        # screen column of the base centre
    z: float        # ground depth
    params: tuple


def _objects(canvas: Canvas, rng: np.random.Generator, spec: Biome, light: Light, ground: _Ground) -> None:
    items: list[_Object] = []
    near_z = CAMERA_HEIGHT / max(1.0 - ground.hz, 1e-3)
    for kind, count_range, extra in (("rock", spec.rocks, 1.0), ("tree", spec.trees, 1.0),
                                     ("building", spec.buildings, spec.building_p)):
        count = int(rng.integers(count_range[0], count_range[1] + 1)) if rng.random() < extra else 0
        for _ in range(count):
            for _attempt in range(8):
                z = float(near_z * np.exp(rng.uniform(math.log(4.0 if kind == "building" else 1.6), math.log(30.0))))
                u = float(rng.uniform(-0.05, 1.05))
                v = ground.hz + CAMERA_HEIGHT / z
                if ground.is_free(u, v):
                    items.append(_Object(kind, u, z, tuple(rng.random(8))))
                    break
    items.sort(key=lambda o: -o.z)
    for instance, item in enumerate(items, start=1):
        draw = {"rock": _rock, "tree": _tree, "building": _building}[item.kind]
        draw(canvas, spec, light, ground, item, instance)


def _box(canvas: Canvas, u0: float, u1: float, v0: float, v1: float) -> tuple[slice, slice] | None:
    """Pixel window covering scene box [u0, u1] x [v0, v1], or None when off-canvas or empty."""
    s = canvas.size
    c0, c1 = max(int(math.floor(u0 * s)), 0), min(int(math.ceil(u1 * s)), s)
    r0, r1 = max(int(math.floor(v0 * s)), 0), min(int(math.ceil(v1 * s)), s)
    if c1 <= c0 or r1 <= r0:
        return None
    return slice(r0, r1), slice(c0, c1)


def _fog(z: float) -> float:
    """How much of the haze colour covers something at ground depth ``z`` (as on the ground)."""
    return float(1 - math.exp(-z / 14.0))


def _rock(canvas: Canvas, spec: Biome, light: Light, ground: _Ground, item: _Object, instance: int) -> None:
    p = item.params
    height = CAMERA_HEIGHT * (0.25 + 0.9 * p[0] ** 2) / item.z
    width = height * (1.3 + 1.2 * p[1])
    base_v = ground.hz + CAMERA_HEIGHT / item.z
    win = _box(canvas, item.u - width / 2, item.u + width / 2, base_v - height, base_v)
    if win is None:
        return
    rows, cols = win
    du = (canvas.us[cols][None, :] - item.u) / (width / 2)
    dv = (base_v - canvas.vs[rows][:, None]) / height
    angle = np.arctan2(dv, du)
    wobble = 0.12 * np.sin(angle * (3 + int(p[2] * 4)) + p[3] * 6) + 0.06 * np.sin(angle * 9 + p[4] * 6)
    r2 = du * du + dv * dv
    mask = (r2 < (1 + wobble) ** 2) & (dv >= 0)
    if not mask.any():
        return
    normal_x = du
    lit = np.clip(0.75 + 0.45 * normal_x * light.lx + 0.25 * dv, 0.35, 1.3)
    tex = textures.sample("gravel", canvas.us[cols][None, :] * 1500 + p[5] * 500, canvas.vs[rows][:, None] * 1500,
                          1500 / canvas.size)
    base = _rgb((118, 112, 106)) if spec.name != "desert" else _rgb((160, 100, 66))
    if spec.name == "tundra":
        base = _rgb((88, 86, 90))
    color = base * (lit * (1 + 0.2 * tex))[..., None] * light.light
    fog = _fog(item.z)
    color = color * (1 - fog) + light.haze * fog
    canvas.paint(mask, color, CLASS["rock"], rows, cols, instance=instance)


def _tree(canvas: Canvas, spec: Biome, light: Light, ground: _Ground, item: _Object, instance: int) -> None:
    p = item.params
    conifer = p[0] < spec.conifer_p
    height = CAMERA_HEIGHT * (2.0 + 3.0 * p[1]) / item.z
    width = height * (0.38 + 0.12 * p[2]) if conifer else height * (0.6 + 0.2 * p[2])
    base_v = ground.hz + CAMERA_HEIGHT / item.z
    win = _box(canvas, item.u - width / 2, item.u + width / 2, base_v - height, base_v)
    if win is None:
        return
    rows, cols = win
    du = (canvas.us[cols][None, :] - item.u) / (width / 2)      # -1..1 across
    t = (base_v - canvas.vs[rows][:, None]) / height            # 0 at the foot, 1 at the top
    tex = textures.sample("grass", canvas.us[cols][None, :] * 2200 + p[3] * 900, canvas.vs[rows][:, None] * 2200,
                          2200 / canvas.size)
    foliage_color = _rgb(spec.foliage_color) * (0.85 + 0.3 * p[4])
    trunk = (np.abs(du) < 0.07) & (t < (0.14 if conifer else 0.5))
    if conifer:
        tiers = 4 + int(p[5] * 4)
        phase = ((1 - t) * tiers) % 1.0
        half = np.clip(1 - t, 0, 1) ** 0.95 * (0.55 + 0.45 * phase) + 0.04 * tex
        crown = (np.abs(du) < half) & (t > 0.1) & (t <= 1)
        lit = 0.7 + 0.35 * du * light.lx - 0.25 * (1 - phase)
    else:
        cy = 0.66
        dy = (t - cy) / 0.34
        lobes = 0.1 * np.sin(np.arctan2(dy, du) * (5 + int(p[5] * 3)) + p[6] * 6)
        r = np.sqrt(du * du + dy * dy)
        crown = r < 0.95 + lobes + 0.06 * tex
        lit = 0.72 + 0.35 * (du * light.lx + 0.5 * dy) / np.maximum(r, 0.3)
    color = foliage_color * (np.clip(lit, 0.35, 1.3) * (1 + 0.22 * tex))[..., None] * light.light
    trunk_color = _rgb((82, 60, 44)) * (0.8 + 0.3 * (du * light.lx > 0))[..., None] * light.light
    color = np.where((trunk & ~crown)[..., None], trunk_color, color)
    mask = crown | trunk
    fog = _fog(item.z)
    color = color * (1 - fog) + light.haze * fog
    canvas.paint(mask, color, CLASS["tree"], rows, cols, instance=instance)


def _building(canvas: Canvas, spec: Biome, light: Light, ground: _Ground, item: _Object, instance: int) -> None:
    p = item.params
    scale = CAMERA_HEIGHT / item.z
    wall_h = (1.4 + 1.0 * p[0]) * scale
    front_w = (1.8 + 1.4 * p[1]) * scale
    side_w = (1.6 + 2.4 * p[2]) * scale
    roof_h = (0.9 + 0.9 * p[3]) * scale
    left = item.u - (front_w + side_w) / 2
    facing_right = p[4] < 0.5  # gable on the left, side wall to the right (or mirrored)
    base_v = ground.hz + CAMERA_HEIGHT / item.z
    win = _box(canvas, left, left + front_w + side_w, base_v - wall_h - roof_h, base_v)
    if win is None:
        return
    rows, cols = win
    x = (canvas.us[cols][None, :] - left) / (front_w + side_w)   # 0..1 across the whole house
    if not facing_right:
        x = 1 - x
    y = (base_v - canvas.vs[rows][:, None])                        # height above the foot (scene units)
    split = front_w / (front_w + side_w)
    gable_x = np.abs(x / split - 0.5) * 2                          # 0 at the ridge, 1 at the gable's corners
    gable = (x < split) & (y < wall_h + roof_h * (1 - gable_x))
    side_wall = (x >= split) & (y < wall_h)
    roof = (x >= split) & (y >= wall_h) & (y < wall_h + roof_h * np.clip(1 - (x - split) / (1 - split) * 0.15, 0, 1))
    roof |= (x >= split - 0.02) & (x < split + 0.02) & (y < wall_h + roof_h) & (y >= wall_h)
    mask = gable | side_wall | roof
    if not mask.any():
        return
    sun_on_front = (light.lx < 0) == facing_right
    tex = textures.sample("brick", canvas.us[cols][None, :] * 2500, canvas.vs[rows][:, None] * 2500, 2500 / canvas.size)
    wall_color = _rgb((196, 176, 150)) * (0.85 + 0.3 * p[5])
    roof_color = _rgb((150, 64, 48)) if p[6] < 0.6 else _rgb((70, 72, 84))
    front_shade, side_shade = (1.0, 0.68) if sun_on_front else (0.68, 1.0)
    color = np.empty(mask.shape + (3,), np.float32)
    color[:] = wall_color
    color = color * (1 + 0.12 * tex)[..., None]
    color[gable] *= front_shade
    color[side_wall] *= side_shade
    roof_tex = textures.sample("gravel", canvas.us[cols][None, :] * 2000, canvas.vs[rows][:, None] * 2000, 2000 / canvas.size)
    color[roof] = roof_color * (0.9 + 0.12 * roof_tex[roof])[:, None]
    color = color * light.light
    # windows: a grid on the side wall, lit warm at dusk; a door in the gable
    wx = ((x - split) / (1 - split) * (2 + int(p[7] * 3))) % 1.0
    wy = y / wall_h
    windows = side_wall & (np.abs(wx - 0.5) < 0.18) & (wy > 0.35) & (wy < 0.75)
    window_color = _rgb((255, 206, 110)) if light.time == "dusk" else _rgb((52, 60, 72))
    color[windows] = window_color
    door = gable & (np.abs(x / split - 0.5) < 0.12) & (wy < 0.55)
    color[door] = _rgb((70, 48, 36)) * light.light
    fog = _fog(item.z)
    color = color * (1 - fog) + light.haze * fog
    canvas.paint(mask, color, CLASS["building"], rows, cols, instance=instance)


def render_batch(seeds, size: int, biome: str | int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Render many seeds into arrays for on-the-fly training (no torch).

    Returns ``(labels N x H x W uint8, images N x H x W x 3 uint8, biomes N int64)``; ``biome``
    as in :func:`render`, applied to every seed."""
    seeds = [int(s) for s in seeds]
    labels = np.empty((len(seeds), size, size), np.uint8)
    images = np.empty((len(seeds), size, size, 3), np.uint8)
    biomes = np.empty(len(seeds), np.int64)
    for i, seed in enumerate(seeds):
        labels[i], images[i], _ = render_scene(seed, size, biome)
        biomes[i] = biome_index(biome, seed)
    return labels, images, biomes
