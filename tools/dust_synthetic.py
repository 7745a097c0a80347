"""Procedurally generated construction-site frame sequences with known dust plumes, nuisances and camera faults.

Used to train the plume classifier, to evaluate it on seeds never used in training, and by the tests. A sequence is
seeded and fully reproducible. The same plume model can be composited onto real clear frames (`base_frames`).
Frames are rendered as float32 BGR, then JPEG-encoded so the detector sees what a camera would send.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Literal

import cv2
import numpy as np

VISIBLE_CHANGE_LEVELS = 12.0
"""A cell shows dust when the plume changes one of its sub-blocks by at least this mean absolute amount (0..255)."""
FAINT_CHANGE_LEVELS = 4.0
"""Cells whose most changed sub-block lies between this and VISIBLE_CHANGE_LEVELS are ambiguous: not scored."""

Fault = Literal["frozen", "dark", "blur", "obstructed", "moved"]
_LABEL_DOWNSCALE = 4  # the plume change map is kept at 1/4 of the render size: enough for any grid

_PLUME_COLOURS_BGR = np.array([  # grey-white smoke, grey, beige, tan and reddish-brown earth dust
    (215, 215, 212), (172, 172, 172), (160, 178, 192), (130, 152, 172), (110, 132, 158), (190, 198, 205)], np.float32)
_VEHICLE_COLOURS_BGR = [(0, 200, 250), (0, 140, 255), (240, 240, 240), (40, 40, 200), (160, 90, 30), (40, 40, 40)]


@dataclass(frozen=True)
class SequenceSpec:
    """What happens in one synthetic sequence; `random_spec` draws one, tests write their own."""

    seed: int
    n_frames: int = 36
    size_px: tuple[int, int] = (640, 480)
    interval_s: float = 60.0
    start_ts: float = 1_717_200_000.0
    plume: bool = False
    plume_start: int = 12
    plume_end: int | None = None  # frame index at which emission stops; None = lasts to the end
    plume_opacity: float = 0.6
    lighting_drift: float = 0.15  # relative change of sunlight over the sequence
    lighting_steps: bool = False  # sun going behind clouds and back: sudden global changes
    cloud_shadows: bool = False
    sky_clouds: bool = False
    vehicles: int = 0
    rain: bool = False
    overlay: bool = True  # a camera timestamp burnt into the image, changing every frame
    jitter: bool = False
    noise_sigma: float = 2.0
    jpeg_quality: int = 85
    night: bool = False
    fault: Fault | None = None
    fault_start: int = 12
    fault_end: int | None = None


@dataclass(frozen=True)
class SyntheticFrame:
    """One rendered frame: JPEG bytes, capture time, and the plume's visible change map for labels."""

    jpeg: bytes
    ts: float
    index: int
    plume_change: np.ndarray  # mean absolute change caused by the plume, 0..255, at 1/4 of the render size


def random_spec(seed: int, n_frames: int = 36, size_px: tuple[int, int] | None = None) -> SequenceSpec:
    """Draw a varied sequence (plume or not, with random nuisances) reproducibly from a seed."""
    rng = np.random.default_rng([seed, 1])
    plume = bool(rng.random() < 0.55)
    start = int(rng.integers(8, max(9, n_frames // 2)))
    end = int(start + rng.integers(8, 16)) if rng.random() < 0.35 else None
    return SequenceSpec(
        seed=seed, n_frames=n_frames,
        size_px=size_px or ((640, 480) if rng.random() < 0.6 else (640, 360)),
        plume=plume, plume_start=start, plume_end=end if end is None or end < n_frames else None,
        plume_opacity=float(rng.uniform(0.25, 0.85)),
        lighting_drift=float(rng.uniform(0.0, 0.35)), lighting_steps=bool(rng.random() < 0.3),
        cloud_shadows=bool(rng.random() < 0.4), sky_clouds=bool(rng.random() < 0.45),
        vehicles=int(rng.integers(0, 5)) if rng.random() < 0.65 else 0, rain=bool(rng.random() < 0.3),
        overlay=bool(rng.random() < 0.7), jitter=bool(rng.random() < 0.5),
        noise_sigma=float(rng.uniform(0.5, 4.0)), jpeg_quality=int(rng.integers(55, 93)),
    )


def cell_change(plume_change: np.ndarray, rows: int, cols: int, sub: int = 4) -> np.ndarray:
    """The plume's visible change per grid cell (rows × cols): that of the cell's most changed sub-block (sub × sub)."""
    blocks = cv2.resize(plume_change, (cols * sub, rows * sub), interpolation=cv2.INTER_AREA)
    result: np.ndarray = blocks.reshape(rows, sub, cols, sub).max(axis=(1, 3))
    return result


def cell_labels(plume_change: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Cell labels of a synthetic frame: 1 dust, 0 clear, -1 too faint to say."""
    change = cell_change(plume_change, rows, cols)
    return np.where(change >= VISIBLE_CHANGE_LEVELS, 1, np.where(change < FAINT_CHANGE_LEVELS, 0, -1)).astype(np.int8)


def generate(spec: SequenceSpec, base_frames: Sequence[np.ndarray] | None = None) -> Iterator[SyntheticFrame]:
    """Render a sequence; with `base_frames` (BGR uint8, cycled) the scene is real and only events are drawn."""
    rng = np.random.default_rng([spec.seed, 2])
    w, h = spec.size_px
    scene = None if base_frames else _render_scene(rng, w, h)
    horizon = scene.horizon if scene else int(h * 0.45)
    plume = _Plume(rng, w, h, horizon, spec) if spec.plume else None
    sky = _SkyClouds(rng, w, horizon, scene.sky) if scene and spec.sky_clouds and horizon > h // 8 else None
    shadows = _CloudShadows(rng, w, h, horizon) if spec.cloud_shadows else None
    road = scene.road if scene else _default_road(w, h, horizon)
    light = _Lighting(rng, spec)
    noise = _NoiseBank(rng, w, h, spec.noise_sigma)
    small_size = (w // _LABEL_DOWNSCALE, h // _LABEL_DOWNSCALE)
    real = base_frames or ()  # not empty whenever there is no rendered scene
    for i in range(spec.n_frames):
        base = scene.image if scene else _as_float(real[i % len(real)], w, h)
        frame_rng = np.random.default_rng([spec.seed, 3, i])
        img = base.copy()
        if shadows:
            shadows.apply(img, i)
        if sky:
            sky.apply(img, i)
        for v in range(spec.vehicles):
            _draw_vehicle(frame_rng, img, road, w, v)
        factor = light.factor(i, w)
        change = np.zeros(small_size[::-1], np.float32)
        if plume:
            clean = img
            img = plume.apply(img, i)
            full = cv2.absdiff(img, clean).mean(axis=2) * float(factor.mean())
            change = cv2.resize(full, small_size, interpolation=cv2.INTER_AREA)
        img *= factor
        if spec.rain and (i // 6) % 2 == 1:
            img = _rain(frame_rng, img)
        if spec.night:
            img = img * 0.07 + 2.0
        img = _camera(frame_rng, img, spec, noise)
        if spec.fault and i >= spec.fault_start and (spec.fault_end is None or i < spec.fault_end):
            img = _fault(spec.fault, img)
        img8 = np.clip(img, 0, 255).astype(np.uint8)
        if spec.overlay:
            _overlay(img8, spec.start_ts + i * spec.interval_s)
        jpeg = _encode(img8, spec.jpeg_quality)
        yield SyntheticFrame(jpeg, spec.start_ts + i * spec.interval_s, i, change)


def frozen_repeat(frames: Sequence[SyntheticFrame], from_index: int) -> list[SyntheticFrame]:
    """A camera that froze at `from_index`: later frames repeat that frame's bytes with advancing timestamps."""
    stuck = frames[from_index].jpeg
    return [f if f.index <= from_index else replace(f, jpeg=stuck) for f in frames]


@dataclass
class _Scene:
    image: np.ndarray
    horizon: int
    road: np.ndarray  # polyline (n, 2) of the road's centre from near to far
    sky: np.ndarray  # (horizon, w) float32, 1 where the sky is open (clouds pass behind buildings and hills)


def fractal_noise(rng: np.random.Generator, h: int, w: int, octaves: int = 5, base_cells: int = 3) -> np.ndarray:
    """Smooth multi-octave value noise in 0..1, shape (h, w); the texture of ground, clouds and plumes."""
    total = np.zeros((h, w), np.float32)
    amp, norm = 1.0, 0.0
    for o in range(octaves):
        n = base_cells * 2 ** o
        grid = rng.random((max(2, int(n * h / max(w, 1)) + 2), n + 2)).astype(np.float32)
        total += amp * cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC)
        norm += amp
        amp *= 0.55
    total /= norm
    lo, hi = float(total.min()), float(total.max())
    return (total - lo) / max(hi - lo, 1e-6)


def _render_scene(rng: np.random.Generator, w: int, h: int) -> _Scene:
    """A construction-like scene: sky, hills, textured ground, road, buildings in progress, a crane, piles, trees."""
    horizon = 0 if rng.random() < 0.12 else int(h * rng.uniform(0.2, 0.55))
    img = np.empty((h, w, 3), np.float32)
    top = np.array(rng.choice([(210, 160, 110), (235, 225, 215), (190, 190, 185), (220, 200, 170)]), np.float32)
    low = np.clip(top + rng.uniform(10, 40), 0, 255)
    t = np.linspace(0, 1, max(horizon, 1), dtype=np.float32)[:, None, None]
    img[:horizon] = top * (1 - t) + low * t
    sky_only = img[:horizon].copy()
    ground_bgr = np.array(rng.choice([(70, 100, 140), (120, 170, 200), (70, 120, 90), (110, 115, 120),
                                      (90, 130, 160)]), np.float32)
    tex = fractal_noise(rng, h - horizon, w, octaves=6, base_cells=int(rng.integers(3, 8)))
    img[horizon:] = ground_bgr * (0.65 + 0.7 * tex[:, :, None])
    for _ in range(int(rng.integers(2, 7))):  # patches of sand, gravel, grass
        c = (int(rng.integers(0, w)), int(rng.integers(horizon, h)))
        axes = (int(rng.integers(w // 20, w // 4)), int(rng.integers(h // 30, h // 8)))
        col = tuple(float(x) for x in rng.choice([(130, 175, 205), (100, 105, 110), (60, 110, 75), (80, 95, 120)]))
        cv2.ellipse(img, c, axes, 0, 0, 360, col, -1, cv2.LINE_AA)
    if horizon > 0:
        _hills(rng, img, horizon, low)
    road = _road(rng, img, w, h, horizon)
    for _ in range(int(rng.integers(1, 6))):
        _building(rng, img, w, h, horizon)
    if rng.random() < 0.6:
        _crane(rng, img, w, h, horizon)
    for _ in range(int(rng.integers(0, 5))):
        c = (int(rng.integers(0, w)), int(rng.integers(max(horizon, 1), h)))
        r = int(rng.integers(w // 60, w // 18))
        cv2.ellipse(img, c, (r * 2, r), 0, 180, 360, tuple(float(x) for x in rng.uniform(60, 190, 3)), -1, cv2.LINE_AA)
    for _ in range(int(rng.integers(0, 8))):
        c = (int(rng.integers(0, w)), int(rng.integers(max(horizon - h // 20, 0), h)))
        cv2.circle(img, c, int(rng.integers(w // 80, w // 25)), (30, 70, 35), -1, cv2.LINE_AA)
    sky = np.all(img[:horizon] == sky_only, axis=2).astype(np.float32)
    detail = fractal_noise(rng, h, w, octaves=3, base_cells=int(rng.integers(40, 120)))
    ground = np.arange(h)[:, None, None] >= horizon
    img *= np.where(ground, 0.75 + 0.5 * detail[:, :, None], 0.97 + 0.06 * detail[:, :, None])
    return _Scene(np.clip(img, 0, 255), horizon, road, sky)


def _hills(rng: np.random.Generator, img: np.ndarray, horizon: int, sky_low: np.ndarray) -> None:
    h, w = img.shape[:2]
    walk = np.cumsum(rng.normal(0, 1.0, w // 8 + 2))
    walk = (walk - walk.min()) / max(np.ptp(walk), 1e-6) * h * rng.uniform(0.02, 0.1)
    heights = np.interp(np.arange(w), np.linspace(0, w, walk.size), walk)
    col = sky_low * 0.6 + np.array((120, 100, 90), np.float32) * 0.4
    ridge = [(x, int(horizon - heights[x])) for x in range(0, w, 4)]
    pts = np.array([(0, horizon), *ridge, (w - 1, horizon)], np.int32)
    cv2.fillPoly(img, [pts], tuple(float(c) for c in col), cv2.LINE_AA)


def _road(rng: np.random.Generator, img: np.ndarray, w: int, h: int, horizon: int) -> np.ndarray:
    near_x, far_x = rng.uniform(0.2, 0.8) * w, rng.uniform(0.3, 0.7) * w
    far_y = horizon + (h - horizon) * rng.uniform(0.05, 0.4)
    half_near, half_far = w * rng.uniform(0.06, 0.12), w * 0.015
    pts = np.array([(near_x - half_near, h), (far_x - half_far, far_y), (far_x + half_far, far_y),
                    (near_x + half_near, h)], np.int32)
    grey = float(rng.uniform(85, 140))
    cv2.fillPoly(img, [pts], (grey, grey + 3, grey + 5), cv2.LINE_AA)
    return np.array([(near_x + (far_x - near_x) * s, h + (far_y - h) * s) for s in np.linspace(0.05, 0.9, 24)])


def _default_road(w: int, h: int, horizon: int) -> np.ndarray:
    return np.array([(w * (0.2 + 0.6 * s), h - (h - horizon) * 0.6 * s) for s in np.linspace(0, 1, 24)])


def _building(rng: np.random.Generator, img: np.ndarray, w: int, h: int, horizon: int) -> None:
    bw, bh = int(rng.uniform(0.06, 0.22) * w), int(rng.uniform(0.1, 0.45) * h)
    x = int(rng.integers(0, w - bw))
    base = int(rng.integers(max(horizon, bh // 3) + 1, h))
    top = max(base - bh, 0)
    grey = float(rng.uniform(110, 210))
    cv2.rectangle(img, (x, top), (x + bw, base), (grey, grey, grey + rng.uniform(-10, 10)), -1)
    floors = int(rng.integers(2, 10))
    for f in range(floors):  # floor slabs and dark openings of a frame under construction
        y = top + int((base - top) * f / floors)
        cv2.line(img, (x, y), (x + bw, y), (grey * 0.7,) * 3, 2)
        for c in range(int(rng.integers(2, 8))):
            cx = x + 4 + int((bw - 8) * c / 8)
            cv2.rectangle(img, (cx, y + 4), (cx + max(bw // 12, 2), y + max((base - top) // floors - 3, 5)),
                          (35, 35, 40), -1)


def _crane(rng: np.random.Generator, img: np.ndarray, w: int, h: int, horizon: int) -> None:
    x = int(rng.uniform(0.1, 0.9) * w)
    base = int(rng.uniform(max(horizon, 1), h))
    top = int(rng.uniform(0.02, 0.25) * h)
    yellow = (20, 190, 235)
    cv2.line(img, (x, base), (x, top), yellow, 3)
    cv2.line(img, (x - int(w * 0.1), top), (x + int(w * rng.uniform(0.15, 0.35)), top), yellow, 2)
    cv2.line(img, (x + int(w * 0.2), top), (x + int(w * 0.2), top + int(h * 0.15)), (40, 40, 40), 1)


class _Plume:
    """Dust emitted from a source as noise-textured puffs that grow, drift with the wind and fade."""

    def __init__(self, rng: np.random.Generator, w: int, h: int, horizon: int, spec: SequenceSpec) -> None:
        self.w, self.h, self.spec = w, h, spec
        self.lw, self.lh = w // 4, h // 4
        self.src = np.array([rng.uniform(0.08, 0.92) * w, rng.uniform(max(horizon, 0.25 * h) + 0.05 * h, 0.95 * h)])
        low = rng.random() < 0.4  # dust dragged along the ground by trucks vs a rising plume
        self.wind = np.array([rng.uniform(-1, 1), -rng.uniform(0.0, 0.15) if low else -rng.uniform(0.2, 0.8)]) \
            * rng.uniform(0.01, 0.04) * w
        self.r0 = rng.uniform(0.015, 0.05) * w
        self.growth = rng.uniform(0.1, 0.35)
        self.per_frame = int(rng.integers(1, 4))
        self.ramp = int(rng.integers(1, 4))
        colour = _PLUME_COLOURS_BGR[rng.integers(len(_PLUME_COLOURS_BGR))]
        self.colour = np.clip(colour + rng.normal(0, 4, 3) + rng.normal(0, 12), 0, 255).astype(np.float32)
        self.texture = fractal_noise(rng, self.lh * 2, self.lw * 2, octaves=5, base_cells=6)
        self.rng = rng
        self.puffs: list[list[float]] = []  # x, y, radius, age
        self.last = -1

    def _advance(self, i: int) -> None:
        while self.last < i:
            self.last += 1
            for p in self.puffs:
                p[0] += self.wind[0] + self.rng.normal(0, 0.01 * self.w)
                p[1] += self.wind[1] + self.rng.normal(0, 0.005 * self.w)
                p[2] *= 1 + self.growth
                p[3] += 1
            end = self.spec.plume_end
            emitting = self.last >= self.spec.plume_start and (end is None or self.last < end)
            if emitting:
                for _ in range(self.per_frame):
                    jitter = self.rng.normal(0, self.r0 * 0.5, 2)
                    self.puffs.append([self.src[0] + jitter[0], self.src[1] + jitter[1], self.r0, 0.0])
            self.puffs = [p for p in self.puffs if p[3] < 12]

    def alpha(self, i: int) -> np.ndarray:
        """Opacity map (h, w) of the plume at frame i."""
        self._advance(i)
        if not self.puffs:
            return np.zeros((self.h, self.w), np.float32)
        ys, xs = np.mgrid[0:self.lh, 0:self.lw].astype(np.float32)
        dens = np.zeros((self.lh, self.lw), np.float32)
        for x, y, r, age in self.puffs:
            r4 = r / 4
            dens += np.exp(-((xs - x / 4) ** 2 + (ys - y / 4) ** 2) / (2 * r4 * r4)) * np.exp(-age / 5)
        ox, oy = (i * 3) % self.lw, (i * 2) % self.lh  # the texture drifts so each frame's plume looks different
        tex = self.texture[oy:oy + self.lh, ox:ox + self.lw]
        dens = np.clip(dens * (0.35 + 0.9 * tex), 0, 1)
        ramp = min(1.0, (i - self.spec.plume_start + 1) / self.ramp) if i >= self.spec.plume_start else 0.0
        a = self.spec.plume_opacity * max(ramp, 0.0) * dens
        return cv2.resize(a, (self.w, self.h), interpolation=cv2.INTER_LINEAR)

    def apply(self, img: np.ndarray, i: int) -> np.ndarray:
        """Composite the plume over an image (new array)."""
        a = self.alpha(i)[:, :, None]
        shade = 0.9 + 0.2 * cv2.resize(self.texture[: self.lh, : self.lw], (self.w, self.h))[:, :, None]
        result: np.ndarray = img * (1 - a) + self.colour * shade * a
        return result


class _SkyClouds:
    """Bright or grey clouds drifting across the sky band."""

    def __init__(self, rng: np.random.Generator, w: int, horizon: int, open_sky: np.ndarray) -> None:
        self.w, self.horizon, self.open_sky = w, horizon, open_sky
        self.field = fractal_noise(rng, horizon, w * 3, octaves=5, base_cells=4)
        self.speed = int(rng.uniform(0.01, 0.06) * w) * (1 if rng.random() < 0.5 else -1)
        self.level = rng.uniform(0.45, 0.65)
        self.colour = np.float32(rng.choice([245.0, 225.0, 190.0, 150.0]))
        self.opacity = rng.uniform(0.5, 0.95)

    def apply(self, img: np.ndarray, i: int) -> None:
        """Draw the clouds of frame i in place."""
        off = (i * self.speed) % (self.w * 2)
        f = self.field[:, off:off + self.w]
        a = (np.clip((f - self.level) * 4, 0, 1) * self.open_sky)[:, :, None] * self.opacity
        img[: self.horizon] = img[: self.horizon] * (1 - a) + self.colour * a


class _CloudShadows:
    """Large soft shadows of clouds sweeping over the ground."""

    def __init__(self, rng: np.random.Generator, w: int, h: int, horizon: int) -> None:
        self.w, self.h, self.horizon = w, h, horizon
        self.field = fractal_noise(rng, h, w * 3, octaves=3, base_cells=3)
        self.speed = int(rng.uniform(0.02, 0.08) * w) * (1 if rng.random() < 0.5 else -1)
        self.level = rng.uniform(0.5, 0.65)
        self.depth = rng.uniform(0.25, 0.55)

    def apply(self, img: np.ndarray, i: int) -> None:
        """Darken the ground under the shadows of frame i in place."""
        off = (i * self.speed) % (self.w * 2)
        f = self.field[self.horizon:, off:off + self.w]
        shade = 1 - self.depth * np.clip((f - self.level) * 5, 0, 1)
        img[self.horizon:] *= shade[:, :, None]


class _Lighting:
    """Sunlight: a slow drift of brightness and colour temperature, sudden steps, a gradient across the view."""

    def __init__(self, rng: np.random.Generator, spec: SequenceSpec) -> None:
        self.spec = spec
        self.direction = rng.choice([-1.0, 1.0])
        self.warm = rng.uniform(-0.08, 0.08)
        self.steps = {int(x) for x in rng.integers(0, spec.n_frames, 4)} if spec.lighting_steps else set()
        self.step_gain = rng.uniform(0.6, 0.8)
        self.gradient = rng.uniform(-0.15, 0.15)

    def factor(self, i: int, w: int) -> np.ndarray:
        """Multiplier (1, w, 3) of frame i's light on every pixel."""
        s = i / max(self.spec.n_frames - 1, 1)
        gain = 1 + self.direction * self.spec.lighting_drift * (s - 0.5)
        if i in self.steps:
            gain *= self.step_gain
        colour = np.array([1 - self.warm * s, 1.0, 1 + self.warm * s], np.float32) * gain
        ramp = 1 + self.gradient * s * np.linspace(-1, 1, w, dtype=np.float32)
        result: np.ndarray = (ramp[:, None] * colour[None, :])[None]
        return result


class _NoiseBank:
    """Sensor noise: one large noise image, a different random crop per frame (drawing fresh noise is slow)."""

    def __init__(self, rng: np.random.Generator, w: int, h: int, sigma: float) -> None:
        self.w, self.h = w, h
        self.bank = rng.standard_normal((h + 64, w + 64, 3), dtype=np.float32) * np.float32(sigma)

    def sample(self, rng: np.random.Generator) -> np.ndarray:
        """A (h, w, 3) noise image."""
        x, y = rng.integers(0, 64, 2)
        return self.bank[y:y + self.h, x:x + self.w]


def _draw_vehicle(rng: np.random.Generator, img: np.ndarray, road: np.ndarray, w: int, n: int) -> None:
    """A truck, excavator or car somewhere on the road: at one frame a minute they jump between frames."""
    if rng.random() < 0.25:
        return  # not in view this frame
    p = road[int(rng.integers(len(road)))] + rng.normal(0, w * 0.01, 2)
    scale = 0.4 + 0.6 * (p[1] / img.shape[0])  # nearer is bigger
    vw, vh = int(w * rng.uniform(0.04, 0.09) * scale) + 3, int(w * rng.uniform(0.02, 0.045) * scale) + 2
    x, y = int(p[0]), int(p[1])
    colour = _VEHICLE_COLOURS_BGR[(n + int(rng.integers(2))) % len(_VEHICLE_COLOURS_BGR)]
    cv2.ellipse(img, (x, y + vh // 2), (vw // 2 + 2, max(vh // 4, 1)), 0, 0, 360, (25, 25, 25), -1)
    cv2.rectangle(img, (x - vw // 2, y - vh), (x + vw // 2, y), colour, -1)
    cv2.rectangle(img, (x - vw // 2, y - vh), (x - vw // 5, y - vh // 2), (60, 50, 40), -1)
    for wx in (x - vw // 3, x + vw // 3):
        cv2.circle(img, (wx, y), max(vh // 4, 1), (20, 20, 20), -1)


def _rain(rng: np.random.Generator, img: np.ndarray) -> np.ndarray:
    """Rain: darker and flatter light everywhere, plus streaks."""
    h, w = img.shape[:2]
    out = img * 0.75 * 0.85 + 0.15 * 140.0
    streaks = np.zeros((h, w), np.float32)
    angle = rng.uniform(-0.3, 0.3)
    for _ in range(int(w * h / 900)):
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        length = int(rng.integers(h // 40 + 2, h // 12 + 3))
        cv2.line(streaks, (x, y), (int(x + angle * length), y + length), 1.0, 1)
    result: np.ndarray = out * (1 - 0.3 * streaks[:, :, None]) + 200.0 * 0.3 * streaks[:, :, None]
    return result


def _camera(rng: np.random.Generator, img: np.ndarray, spec: SequenceSpec, noise: _NoiseBank) -> np.ndarray:
    """Sensor effects: small shake of the mount and noise."""
    if spec.jitter:
        dx, dy = rng.integers(-2, 3, 2)
        m = np.array([[1, 0, dx], [0, 1, dy]], dtype=np.float32)
        img = cv2.warpAffine(img, m, (img.shape[1], img.shape[0]), borderMode=cv2.BORDER_REFLECT)
    result: np.ndarray = img + noise.sample(rng)
    return result


def _fault(fault: Fault, img: np.ndarray) -> np.ndarray:
    """What a camera fault does to the image (frozen is made by repeating bytes, see `frozen_repeat`)."""
    h, w = img.shape[:2]
    if fault == "dark":
        return img * 0.06 + 3.0
    if fault == "blur":
        return cv2.GaussianBlur(img, (0, 0), w / 120)
    if fault == "obstructed":  # a tarpaulin or a hand over most of the lens: featureless
        out = img.copy()
        pts = np.array([(0, 0), (int(w * 0.85), 0), (int(w * 0.7), h), (0, h)], np.int32)
        cv2.fillPoly(out, [pts], (60, 64, 68))
        return out
    if fault == "moved":  # the camera turned: the view is shifted and rotated
        m = cv2.getRotationMatrix2D((w / 2, h / 2), 8.0, 1.15)
        m[:, 2] += (w * 0.2, h * 0.1)
        return cv2.warpAffine(img, m, (w, h), borderMode=cv2.BORDER_REFLECT)
    return img


def _overlay(img: np.ndarray, ts: float) -> None:
    """Burn a camera-style timestamp into the top-left corner."""
    text = f"CAM {int(ts) % 86400 // 3600:02d}:{int(ts) % 3600 // 60:02d}:{int(ts) % 60:02d} {int(ts) // 86400}"
    scale = img.shape[1] / 900
    cv2.putText(img, text, (8, int(24 * scale) + 4), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(img, text, (8, int(24 * scale) + 4), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1, cv2.LINE_AA)


def _as_float(frame: np.ndarray, w: int, h: int) -> np.ndarray:
    if frame.shape[1] != w or frame.shape[0] != h:
        frame = cv2.resize(frame, (w, h), interpolation=cv2.INTER_AREA)
    return frame.astype(np.float32)


def _encode(img: np.ndarray, quality: int) -> bytes:
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return buf.tobytes()
