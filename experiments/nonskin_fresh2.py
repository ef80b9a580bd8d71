"""A second blind set of non-skin images ("fresh2"), for judging a change to the input gate.

Written by a helper session of s23 on 2026-12-04, between 18:43 and 18:58 UTC (times from
``date -u``), in the worktree ``/work/wt/fresh2`` (branch ``s23-fresh2``), blind: the only
project file read was ``experiments/nonskin.py``, in full (its kinds, :class:`NonSkinImage` and
the helpers imported below), besides listing ``experiments/`` and ``tests/`` and the last few
commit subjects. The gate's code, its benchmark and its results were not read, and no
gate verdict, embedding, ImageNet prediction, skin share or any other gate statistic was
computed on these images; they were looked at only as a contact sheet
(``experiments/results/gate/fresh2_contact_sheet.png``) to see that each looks like what it is
meant to be.

Every image is drawn here, procedurally and deterministically from the seed (no photo is
downloaded or bundled, none is of skin or a lesion; no package sample image is used, since the
only bundled scikit-image files no existing kind uses are a chessboard, a tiny retina crop,
faces and a face GIF; the brick wall and the grass are drawn, not skimage's ``brick`` and
``grass``; from :mod:`experiments.nonskin` only the helpers ``_camera``, ``_warp_onto``,
``_smooth``, ``_tone``, ``_rgb`` and ``_figure_array`` are reused, none of its generators of
images), and then "photographed": uneven light, vignetting, lens or motion blur, perspective,
sensor noise and JPEG artefacts (the monitor shows pictures from this module's own dune, sunset,
night-city, leaf, bookshelf and brick generators). Things people upload by mistake to a
skin-photo app, many of them flesh-toned. 13 kinds, 16 images each (208 in all; each kind from
its own random stream), none of them a kind or a source image of :mod:`experiments.nonskin`.
``python experiments/nonskin_fresh2.py`` writes the contact sheet.

- ``warm_material_closeup``: leather, cork board, cardboard, modelling clay (4 each)
- ``floor_closeup``: terracotta tiles (6), a wooden plank floor (5), beige carpet (5), in
  perspective
- ``fruit_bread_closeup``: peach or apricot close-ups (8), bread crust and crumb (4 + 4)
- ``dunes_sunset_sky``: sand dunes under a sky (8), a sunset sky over a horizon (8)
- ``monitor_photo``: a computer monitor showing a picture, photographed (moire, glare)
- ``whiteboard_note``: a whiteboard with marker drawings (8), a handwritten note on lined
  paper (8)
- ``bookshelf_brickwall``: a bookshelf (8), a brick wall (8)
- ``foliage``: leaves (8), grass (8)
- ``pet_fur``: close-ups of animal fur, ginger, cream, grey, tabby, black
- ``night_city``: a city at night with lit windows, street lights and light trails
- ``blurry_room``: an out-of-focus or shaken indoor photo of a room
- ``lesion_leaflet_photo``: a printed health leaflet with text and drawn (schematic, not
  real) lesion pictures, photographed on a table
- ``phone_chart_photo``: a phone lying on a table with a chart on its screen
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
from nonskin import (
    NonSkinImage,
    _camera,
    _figure_array,
    _rgb,
    _smooth,
    _tone,
    _warp_onto,
    save_sheet,
)

__all__ = ["FRESH2_KINDS", "build_fresh2_set"]

FRESH2_KINDS = (
    "warm_material_closeup",
    "floor_closeup",
    "fruit_bread_closeup",
    "dunes_sunset_sky",
    "monitor_photo",
    "whiteboard_note",
    "bookshelf_brickwall",
    "foliage",
    "pet_fur",
    "night_city",
    "blurry_room",
    "lesion_leaflet_photo",
    "phone_chart_photo",
)

MIN_SIDE, MAX_SIDE = 224, 640


# --- helpers ---------------------------------------------------------------------------------


def _u8(x: np.ndarray) -> np.ndarray:
    return np.clip(np.asarray(x, np.float64), 0, 255).astype(np.uint8)


def _fit(image: np.ndarray) -> np.ndarray:
    """Resize (keeping the aspect where possible) so both sides lie in [224, 640]."""
    import cv2

    x = _rgb(_u8(image) if np.asarray(image).dtype != np.uint8 else image)
    h, w = x.shape[:2]
    s = min(1.0, MAX_SIDE / max(h, w))
    s = max(s, MIN_SIDE / min(h, w))
    nh = int(np.clip(round(h * s), MIN_SIDE, MAX_SIDE))
    nw = int(np.clip(round(w * s), MIN_SIDE, MAX_SIDE))
    if (nh, nw) != (h, w):
        interp = cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC
        x = cv2.resize(x, (nw, nh), interpolation=interp)
    return np.ascontiguousarray(x)


def _fbm(rng: np.random.Generator, h: int, w: int, cells=(64, 16, 4), gains=(1, 0.5, 0.25)):
    return sum(g * _smooth(rng, h, w, c) for c, g in zip(cells, gains, strict=True))


def _shade(height: np.ndarray, az: float, el: float) -> np.ndarray:
    """Lambertian shading of a height field, light from azimuth ``az`` and elevation ``el``."""
    gy, gx = np.gradient(height)
    n = np.stack([-gx, -gy, np.ones_like(gx)], -1)
    n /= np.linalg.norm(n, axis=-1, keepdims=True)
    light = np.array([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)])
    return np.clip(n @ light, 0, 1)


def _vignette(x: np.ndarray, strength: float) -> np.ndarray:
    h, w = x.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    r2 = ((yy - h / 2) / (h / 2)) ** 2 + ((xx - w / 2) / (w / 2)) ** 2
    return np.asarray(x, np.float64) * (1 - strength * np.clip(r2 / 2, 0, 1))[..., None]


def _defocus(x: np.ndarray, radius: float) -> np.ndarray:
    import cv2

    r = max(round(float(radius)), 1)
    k = np.zeros((2 * r + 1, 2 * r + 1), np.float32)
    cv2.circle(k, (r, r), r, 1.0, -1)
    return cv2.filter2D(np.asarray(x, np.float32), -1, k / k.sum()).astype(np.float64)


def _motion(x: np.ndarray, length: int, angle: float) -> np.ndarray:
    import cv2

    k = np.zeros((length, length), np.float32)
    c = (length - 1) / 2
    dx, dy = np.cos(angle) * c, np.sin(angle) * c
    cv2.line(k, (int(c - dx), int(c - dy)), (int(c + dx), int(c + dy)), 1.0, 1)
    return cv2.filter2D(np.asarray(x, np.float32), -1, k / k.sum()).astype(np.float64)


def _jpeg(x: np.ndarray, quality: int) -> np.ndarray:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(_u8(x)).save(buf, format="JPEG", quality=int(quality))
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))


def _photo(
    x: np.ndarray,
    rng: np.random.Generator,
    vignette: float = 0.25,
    defocus: float = 0.0,
    iso: float = 0.0,
    tint=(1.0, 1.0, 1.0),
) -> np.ndarray:
    """A phone photo of ``x``: white balance, lens blur, vignetting, then ``_camera`` (uneven
    light, slight blur, sensor noise, JPEG); ``iso`` adds extra chroma-free low-light noise."""
    y = np.asarray(x, np.float64) * np.asarray(tint)[None, None, :]
    if defocus > 0:
        y = _defocus(y, defocus)
    y = _vignette(y, vignette * rng.uniform(0.6, 1.2))
    if iso > 0:
        y = y + rng.normal(0, iso, y.shape[:2])[..., None] + rng.normal(0, iso / 3, y.shape)
    return _camera(_u8(y), rng)


def _perspective_fill(tex: np.ndarray, out_hw: tuple[int, int], rng, amount: float):
    """``tex`` seen as a floor or a wall at an angle: the top of the frame shows more of it."""
    import cv2

    th, tw = tex.shape[:2]
    h, w = out_hw
    a = rng.uniform(0.5, 0.5 + amount)  # half-width of the far (top) edge, in texture widths
    b = rng.uniform(0.18, 0.28)  # near edge
    cx = tw / 2 + rng.uniform(-0.05, 0.05) * tw
    skew = rng.uniform(-0.08, 0.08) * tw
    src = np.float32(
        [
            [cx - a * tw + skew, 0],
            [cx + a * tw + skew, 0],
            [cx + b * tw, th - 1],
            [cx - b * tw, th - 1],
        ]
    )
    dst = np.float32([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]])
    m = cv2.getPerspectiveTransform(dst, src)
    out = cv2.warpPerspective(
        np.asarray(tex, np.float32),
        m,
        (w, h),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REFLECT,
    )
    far = np.linspace(rng.uniform(0.75, 0.9), 1.0, h)[:, None, None]  # darker far away
    return out.astype(np.float64) * far


def _font(size: int):
    from PIL import ImageFont

    return ImageFont.load_default(size=int(size))


WORDS = (
    "the and of to a in is you that it for on was with as are this be at have from or "
    "by one had not but what all were when we there can an your which their said if do "
    "will each about how up out them then she many some so these would other into has more"
).split()


def _sentence(rng: np.random.Generator, n: int) -> str:
    return " ".join(str(w) for w in rng.choice(WORDS, n))


# --- warm materials --------------------------------------------------------------------------


def _leather(rng, h=480, w=600):
    tone = _tone(
        rng, ((150, 95, 60), (190, 140, 100), (120, 70, 45), (205, 160, 120))[rng.integers(4)], 12
    )
    cell = float(rng.uniform(4, 8))
    pebble = np.abs(_smooth(rng, h, w, int(cell))) + 0.5 * np.abs(_smooth(rng, h, w, int(cell * 2)))
    creases = np.exp(-((pebble / 0.15) ** 2))
    height = -2.0 * creases + 3 * _smooth(rng, h, w, 120)
    light = _shade(height * 4, rng.uniform(0, 2 * np.pi), rng.uniform(0.6, 1.0))
    folds = 1 + 0.12 * _smooth(rng, h, w, 150)
    x = np.asarray(tone)[None, None] * (0.55 + 0.5 * light)[..., None] * folds[..., None]
    x *= (1 - 0.25 * creases)[..., None]
    if rng.uniform() < 0.5:  # a row of stitches near one edge
        from PIL import Image, ImageDraw

        img = Image.fromarray(_u8(x))
        draw = ImageDraw.Draw(img)
        y0 = int(rng.integers(40, 90))
        draw.line([0, y0 - 14, w, y0 - 14], fill=tuple(int(v * 0.6) for v in tone), width=3)
        for sx in range(10, w, 22):
            draw.line([sx, y0, sx + 12, y0], fill=_tone(rng, (225, 205, 160), 8), width=4)
        x = np.asarray(img, np.float64)
    return x


def _cork(rng, h=480, w=600):
    import cv2

    base = np.asarray(_tone(rng, (182, 138, 88), 5), np.float64) * rng.uniform(0.85, 1.1)
    x = np.empty((h, w, 3))
    x[:] = base
    # granules: many small blobs of slightly different tones
    lab = np.zeros((h, w), np.float32)
    for _ in range(int(h * w / 30)):
        cx, cy = int(rng.integers(0, w)), int(rng.integers(0, h))
        r = int(rng.integers(2, 6))
        cv2.circle(lab, (cx, cy), r, float(rng.normal(0, 1)), -1)
    lab = cv2.GaussianBlur(lab, (0, 0), 0.7).astype(np.float64)
    x = x * (1 + 0.12 * lab)[..., None]
    pores = (rng.uniform(size=(h, w)) < 0.01).astype(np.float32)
    pores = cv2.dilate(pores, np.ones((3, 3), np.uint8))
    x *= (1 - 0.45 * cv2.GaussianBlur(pores, (0, 0), 0.8))[..., None]
    if rng.uniform() < 0.6:  # pins and a paper note on the board
        from PIL import Image, ImageDraw

        img = Image.fromarray(_u8(x))
        draw = ImageDraw.Draw(img)
        nx, ny = int(rng.integers(60, w - 260)), int(rng.integers(40, h - 220))
        draw.rectangle([nx, ny, nx + 200, ny + 170], fill=_tone(rng, (250, 240, 150), 10))
        for k in range(4):
            draw.line(
                [nx + 15, ny + 40 + 30 * k, nx + 180, ny + 40 + 30 * k], fill=(60, 60, 120), width=2
            )
        for _ in range(3):
            px, py = int(rng.integers(10, w - 10)), int(rng.integers(10, h - 10))
            draw.ellipse([px - 7, py - 7, px + 7, py + 7], fill=_tone(rng, (200, 40, 40), 60))
        x = np.asarray(img, np.float64)
    return x


def _cardboard(rng, h=480, w=600):
    import cv2

    base = np.asarray(_tone(rng, (192, 150, 104), 5), np.float64) * rng.uniform(0.85, 1.1)
    fibres = cv2.GaussianBlur(rng.normal(0, 1, (h, w)), (0, 0), sigmaX=6, sigmaY=0.7)
    flutes = 0.03 * np.sin(np.arange(h) * 2 * np.pi / rng.uniform(9, 14))[:, None]
    x = base[None, None] * (1 + 0.25 * fibres + flutes + 0.08 * _smooth(rng, h, w, 80))[..., None]
    from PIL import Image, ImageDraw

    img = Image.fromarray(_u8(x))
    draw = ImageDraw.Draw(img)
    if rng.uniform() < 0.6:  # packing tape across
        ty = int(rng.integers(100, h - 180))
        draw.rectangle([0, ty, w, ty + 80], fill=_tone(rng, (200, 165, 120), 10))
        draw.line([0, ty, w, ty], fill=(230, 210, 175), width=2)
    ink = (40, 35, 30)
    draw.text(
        (int(rng.integers(30, 200)), int(rng.integers(30, 80))),
        str(rng.choice(["FRAGILE", "THIS SIDE UP", "HANDLE WITH CARE", "KEEP DRY"])),
        fill=ink,
        font=_font(rng.integers(28, 44)),
    )
    ax, ay = int(rng.integers(80, w - 120)), int(rng.integers(h // 2, h - 60))
    for k in range(2):
        bx = ax + 60 * k
        draw.line([bx, ay + 50, bx, ay], fill=ink, width=8)
        draw.polygon([(bx - 16, ay + 4), (bx + 16, ay + 4), (bx, ay - 22)], fill=ink)
    x = np.asarray(img, np.float64)
    if rng.uniform() < 0.5:  # a box edge with a shadow side
        ex = int(rng.integers(w // 3, 2 * w // 3))
        x[:, ex:] *= rng.uniform(0.6, 0.75)
    return x


def _clay(rng, h=480, w=600):
    tone = _tone(
        rng, ((200, 120, 90), (215, 170, 140), (180, 95, 70), (225, 185, 150))[rng.integers(4)], 10
    )
    height = 6 * _fbm(rng, h, w, (90, 30, 8), (1, 0.4, 0.1))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    for _ in range(int(rng.integers(2, 6))):  # tool marks
        cx, cy, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(15, 50)
        height -= 3 * np.exp(-(((np.hypot(xx - cx, yy - cy) - r) / 3) ** 2))
    light = _shade(height, rng.uniform(0, 2 * np.pi), rng.uniform(0.5, 0.9))
    x = np.asarray(tone)[None, None] * (0.45 + 0.6 * light)[..., None]
    return x + 4 * _smooth(rng, h, w, 2)[..., None]


# --- floors -----------------------------------------------------------------------------------


def _terracotta(rng, size=900):
    import cv2

    tile = int(rng.integers(90, 150))
    grout = np.asarray(_tone(rng, (175, 165, 150), 12), np.float64)
    x = np.empty((size, size, 3))
    x[:] = grout
    g = 6
    for ty in range(0, size, tile):
        for tx in range(0, size, tile):
            c = np.asarray(_tone(rng, (185, 95, 65), 6), np.float64) * rng.uniform(0.85, 1.12)
            x[ty + g // 2 : ty + tile - g // 2, tx + g // 2 : tx + tile - g // 2] = c
    mottle = 1 + 0.10 * _fbm(rng, size, size, (40, 10, 3), (1, 0.6, 0.3))
    x *= mottle[..., None]
    return cv2.GaussianBlur(x, (0, 0), 0.8)


def _plank_grain(rng, ph: int, L: int) -> np.ndarray:
    import cv2

    base = np.asarray(_tone(rng, (175, 125, 80), 4), np.float64) * rng.uniform(0.8, 1.15)
    small = rng.normal(size=(max(ph // 12, 2) + 2, max(L // 90, 2) + 2)).astype(np.float32)
    warp = cv2.resize(small, (L, ph), interpolation=cv2.INTER_CUBIC).astype(np.float64)
    yy = np.arange(ph, dtype=np.float64)[:, None]
    grain = np.sin(yy * rng.uniform(0.3, 0.6) + 4 * warp)
    streaks = cv2.GaussianBlur(rng.normal(0, 1, (ph, L)), (0, 0), sigmaX=25, sigmaY=1.0)
    t = np.clip(0.5 + 0.35 * grain + 2.5 * streaks, 0, 1)
    return base * (1 - 0.3 * t)[..., None]


def _planks(rng, size=900):
    x = np.zeros((size, size, 3))
    ph = int(rng.integers(70, 110))
    for py in range(0, size, ph):
        x0 = -int(rng.integers(0, 400))
        while x0 < size:
            L = int(rng.integers(250, 500))
            a, b = max(x0, 0), min(x0 + L, size)
            if b <= a:
                x0 += L
                continue
            wood = _plank_grain(rng, ph, L) * rng.uniform(0.85, 1.1)
            x[py : py + ph, a:b] = wood[: min(ph, size - py), a - x0 : b - x0]
            x[py : py + ph, a : a + 2] *= 0.5
            x0 += L
        x[py : py + 2] *= 0.45
    return x


def _carpet(rng, size=900):
    import cv2

    base = np.asarray(_tone(rng, (205, 185, 155), 12), np.float64)
    loops = cv2.GaussianBlur(rng.normal(0, 1, (size, size)), (0, 0), 1.2)
    rows = 0.04 * np.sin(np.arange(size) * 2 * np.pi / rng.uniform(5, 8))[:, None]
    wear = 0.08 * _smooth(rng, size, size, 120)
    x = base[None, None] * (1 + 0.35 * loops + rows + wear)[..., None]
    return x + rng.normal(0, 4, x.shape)


# --- fruit and bread --------------------------------------------------------------------------


def _stone_fruit(rng, h=480, w=600):
    import cv2

    apricot = rng.uniform() < 0.4
    bg = np.asarray(
        _tone(rng, ((240, 240, 235), (120, 90, 70), (200, 210, 220))[rng.integers(3)], 15),
        np.float64,
    )
    x = np.empty((h, w, 3))
    x[:] = bg
    cx, cy = w / 2 + rng.uniform(-60, 60), h / 2 + rng.uniform(-40, 40)
    r = rng.uniform(0.45, 0.75) * min(h, w)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    d = np.hypot((xx - cx) / r, (yy - cy) / (r * rng.uniform(0.9, 1.05)))
    inside = d < 1
    z = np.sqrt(np.clip(1 - d**2, 0, 1))
    nx, ny = (xx - cx) / r, (yy - cy) / r
    lx, ly = rng.uniform(-0.6, 0.0), rng.uniform(-0.7, -0.2)
    diffuse = np.clip(nx * lx + ny * ly + z * 0.7, 0, 1)
    base = np.asarray(_tone(rng, (245, 170, 70) if apricot else (250, 190, 110), 10), np.float64)
    blush = np.asarray(_tone(rng, (215, 90, 40) if apricot else (200, 55, 50), 10), np.float64)
    m = np.clip(0.3 + 0.3 * _smooth(rng, h, w, 160) + 0.45 * nx - 0.25 * ny, 0, 1) ** 1.3
    if apricot:
        m *= 0.5
    m = m + 0.06 * np.clip(_smooth(rng, h, w, 3), 0, 1)  # faint speckles of colour
    col = base * (1 - m[..., None]) + blush * m[..., None]
    fuzz = 1 + 0.05 * rng.normal(0, 1, (h, w))
    fruit = col * (0.35 + 0.75 * diffuse)[..., None] * fuzz[..., None]
    # the suture: a soft crease from the stem
    ang = rng.uniform(-0.5, 0.5)
    crease = np.abs((xx - cx) * np.cos(ang) + (yy - cy) * np.sin(ang) + 0.15 * r * np.sin(ny * 2))
    fruit *= (1 - 0.15 * np.exp(-((crease / (0.09 * r)) ** 2)) * (ny < 0.6))[..., None]
    spec = np.exp(-(((nx - lx * 0.6) ** 2 + (ny - ly * 0.6) ** 2) / 0.02)) * 40
    fruit = fruit + spec[..., None]
    shadow = cv2.GaussianBlur(((d < 1.08) & ~inside).astype(np.float32), (0, 0), 15)
    x = x * (1 - 0.35 * shadow[..., None])
    soft = cv2.GaussianBlur(inside.astype(np.float32), (0, 0), 1.5)[..., None]
    return x * (1 - soft) + fruit * soft


def _bread(rng, j: int, h=480, w=600):
    import cv2

    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    if j % 2 == 0:  # the crust, very close: browning, flour, a score
        height = 5 * _fbm(rng, h, w, (60, 15, 4), (1, 0.5, 0.3))
        light = _shade(height, rng.uniform(0, 2 * np.pi), 0.7)
        brown = np.clip(0.5 + 0.6 * _smooth(rng, h, w, 70), 0, 1)
        a = np.asarray(_tone(rng, (215, 160, 95), 8), np.float64)
        b = np.asarray(_tone(rng, (135, 75, 35), 8), np.float64)
        col = a * (1 - brown[..., None]) + b * brown[..., None]
        x = col * (0.5 + 0.6 * light)[..., None]
        ang = rng.uniform(-0.6, 0.6)
        along = (xx - w / 2) * np.sin(ang) - (yy - h / 2) * np.cos(ang)
        ear = np.exp(-((along / rng.uniform(12, 25)) ** 2))
        x = x * (1 - ear[..., None]) + np.asarray(_tone(rng, (230, 200, 150), 8)) * ear[..., None]
        flour = np.clip(_smooth(rng, h, w, 25), 0, 1) * (rng.uniform(size=(h, w)) < 0.3)
        return x + 60 * cv2.GaussianBlur(flour, (0, 0), 1.0)[..., None]
    # a slice: crumb with holes, crust rim
    crumb = np.asarray(_tone(rng, (236, 212, 165), 8), np.float64)
    x = np.empty((h, w, 3))
    x[:] = crumb
    holes = np.zeros((h, w), np.float32)
    for _ in range(int(rng.integers(500, 900))):
        cx, cy = int(rng.integers(0, w)), int(rng.integers(0, h))
        ax_ = int(rng.integers(2, 12))
        cv2.ellipse(
            holes,
            (cx, cy),
            (ax_, int(ax_ * rng.uniform(0.5, 1))),
            float(rng.uniform(0, 180)),
            0,
            360,
            1.0,
            -1,
        )
    holes = cv2.GaussianBlur(holes, (0, 0), 1.2).astype(np.float64)
    x *= (1 - 0.22 * holes + 0.06 * _smooth(rng, h, w, 6) + 0.05 * _smooth(rng, h, w, 2))[..., None]
    x -= holes[..., None] * np.array([15.0, 30.0, 45.0])
    rim = np.hypot((xx - w / 2) / (0.62 * w), (yy - h * 0.6) / (0.75 * h))
    crust = np.clip((rim - 0.92) / 0.04, 0, 1)
    x = x * (1 - crust[..., None]) + np.asarray(_tone(rng, (140, 80, 40), 10)) * crust[..., None]
    board = rim > 1.0
    x[board] = _wood_board(rng, h, w)[board]
    return x


def _wood_board(rng, h, w):
    return _table(rng, h, w) * 0.85


def _table(rng, h: int, w: int) -> np.ndarray:
    """A table top of a few long boards (this module's own grain)."""
    x = np.zeros((h, w, 3))
    bh = int(rng.integers(110, 200))
    for y in range(0, h, bh):
        x[y : y + bh] = _plank_grain(rng, bh, w)[: h - y]
        x[y : y + 2] *= 0.5
    return x


# --- dunes and sunsets ------------------------------------------------------------------------


def _dunes(rng, h=440, w=640):
    t = np.linspace(0, 1, h)[:, None, None]
    top = np.asarray(_tone(rng, (60, 120, 200), 15), np.float64)
    low = np.asarray(_tone(rng, (200, 220, 235), 10), np.float64)
    x = np.broadcast_to(top * (1 - t) + low * t, (h, w, 3)).copy()
    xs = np.arange(w, dtype=np.float64)
    yy = np.arange(h, dtype=np.float64)[:, None]
    horizon = h * rng.uniform(0.3, 0.5)
    sand = np.asarray(_tone(rng, (225, 170, 110), 12), np.float64)
    ripples = np.sin(
        (np.arange(w)[None, :] * 0.25 + yy * 1.0) * rng.uniform(0.25, 0.4)
        + 3 * _smooth(rng, h, w, 40)
    )
    light_dir = rng.choice([-1.0, 1.0])
    for layer in range(4):
        base_y = horizon + layer * (h - horizon) / 4.5
        amp = rng.uniform(15, 40) * (1 + layer * 0.5)
        lam = rng.uniform(60, 160) * (1 + 0.5 * layer)
        phase = xs / lam + rng.uniform(0, 6) + 0.8 * _smooth(rng, 1, w, 120)[0]
        ridge = base_y - amp * (1 - np.abs(np.sin(phase))) ** 1.6
        below = yy > ridge[None, :]
        slope = np.tanh(6 * np.gradient(ridge))[None, :]
        face = 0.85 + 0.3 * slope * light_dir
        fade = np.clip((yy - ridge[None, :]) / (1.5 * amp + 10), 0, 1)
        lit = np.clip(face * (1 - fade) + 0.9 * fade, 0.35, 1.2)
        haze = 0.35 * (1 - layer / 4)
        col = sand[None, None] * lit[..., None] * (1 + 0.04 * ripples[..., None] * (layer > 0))
        col = col * (1 - haze) + low * haze
        x = np.where(below[..., None], col, x)
    return x


def _sunset(rng, h=440, w=640):
    import cv2

    t = np.linspace(0, 1, h)[:, None]
    stops = [
        _tone(rng, (45, 40, 90), 15),
        _tone(rng, (200, 90, 110), 20),
        _tone(rng, (250, 150, 70), 15),
        _tone(rng, (255, 210, 140), 10),
    ]
    cols = np.asarray(stops, np.float64)
    pos = np.array([0, 0.35, 0.62, 0.8])
    sky = np.stack([np.interp(t[:, 0], pos, cols[:, c]) for c in range(3)], -1)
    x = np.broadcast_to(sky[:, None, :], (h, w, 3)).copy()
    horizon = int(h * rng.uniform(0.65, 0.8))
    sx, sy = rng.uniform(0.2, 0.8) * w, horizon - rng.uniform(-10, 40)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    d = np.hypot(xx - sx, yy - sy)
    x += (np.exp(-((d / 25) ** 4)) * 255)[..., None] * np.array([1, 0.95, 0.8])
    x += (np.exp(-d / 140) * 90)[..., None] * np.array([1, 0.6, 0.3])
    clouds = np.clip(_fbm(rng, h, w, (120, 40, 10), (1, 0.5, 0.25)) * 1.5 - 0.3, 0, 1)
    clouds *= (yy < horizon - 20) * np.clip(1.2 - yy / horizon, 0, 1)
    under = np.clip(np.roll(clouds, -6, 0) - clouds, 0, 1)
    ccol = np.array(_tone(rng, (110, 60, 90), 15), np.float64)
    x = x * (1 - 0.8 * clouds[..., None]) + ccol * 0.8 * clouds[..., None]
    x += (under * 120)[..., None] * np.array([1, 0.6, 0.3])
    if rng.uniform() < 0.5:  # sea with a sun glitter path
        sea = np.asarray(_tone(rng, (60, 50, 80), 10), np.float64)
        x[horizon:] = sea
        glit = np.exp(-(((xx - sx) / 30) ** 2)) * (rng.uniform(size=(h, w)) < 0.25) * (yy > horizon)
        x += (cv2.GaussianBlur(glit, (0, 0), 1.2) * 400)[..., None] * np.array([1, 0.8, 0.5])
    else:  # hills and trees in silhouette
        ridge = horizon - 30 * (1 + _smooth(rng, 1, w, 80)[0]) + 10 * _smooth(rng, 1, w, 8)[0]
        sil = yy > ridge[None, :]
        for _ in range(int(rng.integers(3, 9))):
            tx = rng.uniform(0, w)
            top_ = ridge[int(np.clip(tx, 0, w - 1))] - rng.uniform(30, 90)
            sil |= (np.abs(xx - tx) < (yy - top_) * 0.25) & (yy > top_)
        x[sil] = np.asarray(_tone(rng, (25, 15, 25), 5))
    return x


# --- a photographed monitor, a phone -----------------------------------------------------------


def _screen_content(rng, k: int, h: int, w: int) -> np.ndarray:
    import cv2

    maker = (_dunes, _sunset, _night_city, _leaves, _bookshelf, _brick)[k % 6]
    img = maker(rng)
    return cv2.resize(_u8(img), (w, h), interpolation=cv2.INTER_AREA).astype(np.float64)


def _monitor(rng, j: int, h=480, w=640):
    import cv2
    from PIL import Image, ImageDraw

    wall = np.asarray(_tone(rng, (200, 195, 185), 20), np.float64)
    x = np.empty((h, w, 3))
    x[:] = wall
    x *= (1 + 0.05 * _smooth(rng, h, w, 100))[..., None]
    img = Image.fromarray(_u8(x))
    draw = ImageDraw.Draw(img)
    draw.rectangle([0, int(h * 0.78), w, h], fill=_tone(rng, (120, 90, 65), 20))  # desk
    sw, sh = 560, 330
    mon = Image.new("RGB", (sw + 30, sh + 40), (20, 20, 22))
    content = _screen_content(rng, j, sh - 24, sw)
    bar = np.full((24, sw, 3), _tone(rng, (235, 235, 238), 5), np.float64)
    screen = np.concatenate([bar, content], 0)
    yy = np.arange(sh)[:, None]
    xx = np.arange(sw)[None, :]
    moire = 1 + 0.06 * np.sin(0.9 * xx + 0.35 * yy) * np.sin(0.05 * xx - 0.8 * yy)
    screen = screen * moire[..., None] * rng.uniform(0.85, 1.0) + rng.uniform(10, 30)
    mon.paste(Image.fromarray(_u8(screen)), (15, 15))
    mdraw = ImageDraw.Draw(mon)
    for bx in range(40, 100, 20):
        mdraw.ellipse([bx, 20, bx + 10, 30], fill=(230, 90, 80) if bx == 40 else (230, 200, 80))
    mon_arr = np.asarray(mon, np.float64)
    out = _warp_onto(mon_arr, rng, np.asarray(img, np.float64), 0.06)
    stand_x = w // 2 + int(rng.uniform(-20, 20))
    cv2.rectangle(
        out, (stand_x - 20, int(h * 0.72)), (stand_x + 20, int(h * 0.8)), (35, 35, 38), -1
    )
    yy2, xx2 = np.mgrid[0:h, 0:w].astype(np.float64)
    gx, gy = rng.uniform(0.2, 0.8) * w, rng.uniform(0.2, 0.5) * h
    glare = np.exp(-(((xx2 - gx) / 120) ** 2 + ((yy2 - gy) / 70) ** 2)) * rng.uniform(30, 70)
    return _photo(out + glare[..., None], rng, 0.3, defocus=rng.uniform(0, 1.5))


def _phone_plot(fig, ax, rng, j: int) -> None:
    import matplotlib.pyplot as plt

    kind = j % 4
    xs = np.arange(30)
    if kind == 0:
        ax.plot(xs, np.cumsum(rng.normal(0.2, 1, 30)) + 50, lw=2.5)
        ax.set_title("Steps this month")
    elif kind == 1:
        ax.bar(range(7), rng.uniform(2, 10, 7), color=plt.cm.Set2(j % 8))
        ax.set_xticks(range(7), list("MTWTFSS"))
        ax.set_title("Sleep (hours)")
    elif kind == 2:
        ax.plot(xs, 70 + 8 * np.sin(xs / 3) + rng.normal(0, 2, 30), color="tab:red", lw=2)
        ax.fill_between(xs, 60, 70 + 8 * np.sin(xs / 3), alpha=0.2, color="tab:red")
        ax.set_title("Heart rate")
    else:
        ax.pie(rng.uniform(1, 5, 4), labels=["Food", "Rent", "Travel", "Other"])
        ax.set_title("Spending")
    if kind != 3:
        ax.grid(True, alpha=0.3)
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    fig.text(0.05, 0.97, "9:41", fontsize=11, fontweight="bold")
    fig.text(0.8, 0.97, "5G 87%", fontsize=9)


def _phone_chart(rng, j: int):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    dark = j % 3 == 0
    with plt.style.context("dark_background" if dark else "default"):
        fig, ax = plt.subplots(figsize=(3.6, 6.4))
        _phone_plot(fig, ax, rng, j)
        screen = _figure_array(fig).astype(np.float64)
    sh, sw = screen.shape[:2]
    pad = 16
    phone = np.full((sh + 2 * pad + 40, sw + 2 * pad, 3), _tone(rng, (30, 30, 34), 10), np.float64)
    phone[pad + 20 : pad + 20 + sh, pad : pad + sw] = screen
    # table
    table = (
        _table(rng, 600, 800)
        if j % 2
        else np.full((600, 800, 3), _tone(rng, (150, 150, 155), 30), np.float64)
        * (1 + 0.05 * _smooth(rng, 600, 800, 4))[..., None]
    )
    out = _warp_onto(phone, rng, table, 0.1)
    h, w = out.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    glare = np.exp(
        -(((xx - rng.uniform(200, 600)) / 200) ** 2 + ((yy - rng.uniform(100, 500)) / 60) ** 2)
    )
    return _photo(out + 50 * glare[..., None], rng, 0.3, defocus=rng.uniform(0, 1.2))


# --- whiteboard and handwritten note -----------------------------------------------------------


def _scribble_word(draw, rng, x0, y0, length, size, colour, width):
    t = np.linspace(0, 1, int(length / 1.5))
    loops = rng.uniform(0.8, 1.4) * length / size
    xs = x0 + t * length + 0.35 * size * np.cos(2 * np.pi * loops * t + rng.uniform(0, 6))
    tall = 1 + 0.9 * (
        np.sin(2 * np.pi * rng.uniform(0.2, 0.5) * loops * t + rng.uniform(0, 6)) > 0.8
    )
    ys = (
        y0
        - 0.45 * size * np.abs(np.sin(np.pi * loops * t + rng.uniform(0, 3))) * tall
        + size * 0.08 * np.sin(7 * t)
    )
    draw.line(
        list(zip(xs.tolist(), ys.tolist(), strict=True)), fill=colour, width=width, joint="curve"
    )


def _handwriting(draw, rng, x0, x1, y, size, colour, width):
    x = x0
    while x < x1 - 40:
        L = float(rng.uniform(2, 6) * size * 0.7)
        if x + L > x1:
            break
        _scribble_word(draw, rng, x, y, L, size, colour, width)
        x += L + size * rng.uniform(0.5, 0.9)


def _whiteboard(rng, h=480, w=640):
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (w, h), _tone(rng, (150, 150, 155), 15))
    draw = ImageDraw.Draw(img)
    m = int(rng.integers(15, 40))
    draw.rectangle([m, m, w - m, h - m - 20], fill=(185, 188, 192))  # frame
    draw.rectangle([m + 10, m + 10, w - m - 10, h - m - 30], fill=_tone(rng, (242, 244, 245), 4))
    draw.rectangle([m + 40, h - m - 30, w - m - 40, h - m - 14], fill=(170, 172, 176))  # tray
    board = np.asarray(img, np.float64)
    smudge = np.clip(_smooth(rng, h, w, 40), 0, 1) * 25
    img = Image.fromarray(_u8(board - smudge[..., None] * (board > 230)))
    draw = ImageDraw.Draw(img)
    inks = [(20, 40, 160), (20, 20, 25), (190, 30, 30), (20, 120, 50)]
    y = m + 30
    title = str(rng.choice(["SPRINT PLAN", "Q3 GOALS", "TODO", "IDEAS", "Meeting notes"]))
    draw.text((m + 30, y), title, fill=inks[int(rng.integers(4))], font=_font(rng.integers(30, 42)))
    y += 60
    for _ in range(int(rng.integers(2, 5))):
        ink = inks[int(rng.integers(4))]
        _handwriting(draw, rng, m + 40, w // 2 + 40, y, 22, ink, 3)
        y += 45
    for _ in range(int(rng.integers(2, 4))):  # boxes and arrows
        bx, by = int(rng.integers(w // 2, w - m - 130)), int(rng.integers(m + 40, h - m - 110))
        ink = inks[int(rng.integers(4))]
        draw.rounded_rectangle([bx, by, bx + 110, by + 60], 8, outline=ink, width=4)
        ex, ey = bx + int(rng.integers(-80, 80)), by + int(rng.integers(70, 120))
        draw.line([bx + 55, by + 60, ex, ey], fill=ink, width=4)
        draw.polygon([(ex - 8, ey - 10), (ex + 8, ey - 10), (ex, ey + 4)], fill=ink)
    x = np.asarray(img, np.float64)
    hh, ww = x.shape[:2]
    yy, xx = np.mgrid[0:hh, 0:ww].astype(np.float64)
    glare = np.exp(
        -(
            ((xx - rng.uniform(0.2, 0.8) * ww) / 90) ** 2
            + ((yy - rng.uniform(0.2, 0.6) * hh) / 160) ** 2
        )
    )
    return _photo(x + 45 * glare[..., None], rng, 0.3)


def _lined_note(rng):
    from PIL import Image, ImageDraw

    w, h = 600, 800
    img = Image.new("RGB", (w, h), _tone(rng, (250, 250, 244), 3))
    draw = ImageDraw.Draw(img)
    step = int(rng.integers(28, 36))
    for ly in range(90, h - 20, step):
        draw.line([0, ly, w, ly], fill=(160, 190, 230), width=2)
    draw.line([70, 0, 70, h], fill=(230, 140, 150), width=2)
    if rng.uniform() < 0.5:  # spiral holes
        for hy in range(30, h, 50):
            draw.ellipse([12, hy, 30, hy + 18], fill=(90, 90, 90))
    ink = _tone(rng, (30, 40, 140), 20) if rng.uniform() < 0.7 else (25, 25, 30)
    for ly in range(90 + step, h - 60, step):
        if rng.uniform() < 0.15:
            continue
        _handwriting(draw, rng, 85, w - int(rng.integers(20, 200)), ly - 4, step * 0.55, ink, 2)
    desk = (
        _table(rng, 600, 800)
        if rng.uniform() < 0.5
        else np.full((600, 800, 3), _tone(rng, (90, 95, 100), 25), np.float64)
    )
    return _photo(_warp_onto(np.asarray(img, np.float64), rng, desk, 0.1), rng, 0.3)


# --- bookshelf and bricks -----------------------------------------------------------------------


def _bookshelf(rng, h=480, w=640):
    from PIL import Image, ImageDraw

    wood = _tone(rng, (140, 95, 60), 25)
    img = Image.new("RGB", (w, h), tuple(int(v * 0.45) for v in wood))
    draw = ImageDraw.Draw(img)
    shelf_h = int(rng.integers(140, 190))
    for sy in range(0, h, shelf_h):
        x = int(rng.integers(5, 30))
        while x < w - 20:
            bw_ = int(rng.integers(14, 45))
            bh_ = int(rng.integers(int(shelf_h * 0.6), shelf_h - 22))
            col = _tone(rng, tuple(rng.integers(30, 220, 3)), 10)
            top = sy + shelf_h - 16 - bh_
            draw.rectangle(
                [x, top, x + bw_, sy + shelf_h - 16],
                fill=col,
                outline=tuple(int(v * 0.6) for v in col),
            )
            for by in (top + 12, sy + shelf_h - 40):
                draw.line([x + 2, by, x + bw_ - 2, by], fill=(220, 200, 120), width=2)
            if bw_ > 24:
                draw.rectangle(
                    [x + bw_ // 2 - 3, top + 25, x + bw_ // 2 + 3, top + 25 + bh_ // 3],
                    fill=tuple(int(255 - v * 0.5) for v in col),
                )
            x += bw_ + int(rng.integers(0, 4))
            if rng.uniform() < 0.04:
                x += int(rng.integers(30, 70))
        draw.rectangle([0, sy + shelf_h - 16, w, sy + shelf_h], fill=wood)
    x = np.asarray(img, np.float64)
    return _photo(x, rng, 0.35, defocus=rng.uniform(0, 1.2), tint=(1.05, 1.0, 0.9))


def _brick(rng, h=480, w=640):
    import cv2

    size = 900
    bh_, bw_ = int(rng.integers(34, 50)), int(rng.integers(90, 130))
    mortar = np.asarray(_tone(rng, (185, 180, 170), 15), np.float64)
    x = np.empty((size, size, 3))
    x[:] = mortar
    palette = ((170, 75, 55), (150, 60, 45), (190, 110, 80), (200, 160, 120), (120, 55, 40))
    main = rng.integers(len(palette))
    g = 8
    for r, by in enumerate(range(0, size, bh_)):
        off = (r % 2) * bw_ // 2
        for bx in range(-bw_, size, bw_):
            pick = main if rng.uniform() < 0.7 else rng.integers(len(palette))
            c = np.asarray(_tone(rng, palette[pick], 15), np.float64)
            x0, x1 = max(bx + off + g // 2, 0), min(bx + off + bw_ - g // 2, size)
            if x1 > x0:
                x[by + g // 2 : by + bh_ - g // 2, x0:x1] = c
    x *= (1 + 0.12 * _fbm(rng, size, size, (30, 6, 2), (1, 0.5, 0.4)))[..., None]
    x = cv2.GaussianBlur(x, (0, 0), 0.9)
    if rng.uniform() < 0.5:
        x = _perspective_fill(x, (h, w), rng, 0.25)
    else:
        x = cv2.resize(x, (w, h), interpolation=cv2.INTER_AREA)
    return x


# --- foliage and fur -----------------------------------------------------------------------------


def _leaves(rng, h=480, w=640):
    import cv2

    x = np.empty((h, w, 3))
    x[:] = _tone(rng, (40, 70, 35), 10)
    x = cv2.GaussianBlur(
        x + 60 * _smooth(rng, h, w, 40)[..., None] * np.array([0.5, 1, 0.4]), (0, 0), 6
    )
    autumn = rng.uniform() < 0.25
    for _ in range(int(rng.integers(60, 120))):
        cx, cy = int(rng.integers(-30, w + 30)), int(rng.integers(-30, h + 30))
        L = int(rng.integers(30, 80))
        a = float(rng.uniform(0, 180))
        base = (200, 120, 40) if autumn and rng.uniform() < 0.6 else (70, 130, 50)
        col = np.asarray(_tone(rng, base, 25), np.float64) * rng.uniform(0.6, 1.2)
        mask = np.zeros((h, w), np.uint8)
        cv2.ellipse(mask, (cx, cy), (L, int(L * rng.uniform(0.3, 0.5))), a, 0, 360, 1, -1)
        m = mask.astype(bool)
        x[m] = col
        dx, dy = np.cos(np.radians(a)) * L, np.sin(np.radians(a)) * L
        cv2.line(
            x,
            (int(cx - dx), int(cy - dy)),
            (int(cx + dx), int(cy + dy)),
            tuple(float(v) * 1.25 for v in col),
            1,
        )
    dapple = np.clip(_smooth(rng, h, w, 50) * 1.5, -0.5, 1)
    x = x * (1 + 0.35 * dapple)[..., None]
    return x


def _grass(rng, h=480, w=640):
    import cv2

    x = np.empty((h, w, 3), np.float64)
    top = np.asarray(_tone(rng, (60, 110, 45), 10))
    x[:] = top * 0.6
    for _ in range(int(rng.integers(2500, 4000))):
        bx, by = rng.uniform(0, w), rng.uniform(0, h + 60)
        L = rng.uniform(25, 70) * (0.4 + by / h)
        lean = rng.normal(0, 0.3)
        tip = (int(bx + L * np.sin(lean)), int(by - L * np.cos(lean)))
        col = np.asarray(_tone(rng, (90, 150, 60) if rng.uniform() < 0.85 else (170, 160, 90), 25))
        col = col * (0.55 + 0.6 * by / (h + 60))
        cv2.line(
            x,
            (int(bx), int(by)),
            tip,
            tuple(float(v) for v in col),
            int(rng.integers(1, 4)),
            cv2.LINE_AA,
        )
    if rng.uniform() < 0.4:  # a shallow depth of field: top out of focus
        blurred = cv2.GaussianBlur(x, (0, 0), 5)
        t = np.clip(1 - np.arange(h) / (0.6 * h), 0, 1)[:, None, None]
        x = blurred * t + x * (1 - t)
    return x


def _fur(rng, h=480, w=640):
    import cv2

    palettes = (
        ((230, 150, 80), (170, 90, 40)),  # ginger
        ((235, 215, 180), (190, 160, 120)),  # cream
        ((150, 150, 150), (80, 80, 85)),  # grey
        ((180, 140, 100), (60, 45, 35)),  # tabby
        ((60, 55, 55), (20, 18, 18)),  # black
        ((215, 175, 110), (150, 110, 60)),  # golden
    )
    light, dark = (
        np.asarray(_tone(rng, c, 10), np.float64) for c in palettes[rng.integers(len(palettes))]
    )
    angle = 1.3 + 0.9 * _smooth(rng, h, w, 150)
    x = np.empty((h, w, 3))
    x[:] = dark * 0.8
    stripes = np.sin(np.arange(w)[None, :] / rng.uniform(18, 40) + 2 * _smooth(rng, h, w, 80))
    for _ in range(int(rng.integers(9000, 13000))):
        px, py = int(rng.integers(0, w)), int(rng.integers(0, h))
        a = angle[py, px]
        L = rng.uniform(10, 25)
        t = np.clip(0.5 + 0.5 * stripes[py, px] + rng.normal(0, 0.25), 0, 1)
        col = light * t + dark * (1 - t)
        col = col * rng.uniform(0.75, 1.2)
        cv2.line(
            x,
            (px, py),
            (int(px + L * np.cos(a)), int(py + L * np.sin(a))),
            tuple(float(v) for v in col),
            1,
            cv2.LINE_AA,
        )
    shade = 1 + 0.2 * _smooth(rng, h, w, 120)
    return x * shade[..., None]


# --- night city, a blurry room --------------------------------------------------------------------


def _night_city(rng, h=440, w=640):
    import cv2

    t = np.linspace(0, 1, h)[:, None, None]
    sky = (
        np.asarray(_tone(rng, (10, 12, 35), 5)) * (1 - t)
        + np.asarray(_tone(rng, (60, 40, 60), 10)) * t
    )
    x = np.broadcast_to(sky, (h, w, 3)).copy()
    glow = np.zeros((h, w, 3))
    street = int(h * rng.uniform(0.72, 0.85))
    xpos = 0
    while xpos < w:
        bw_, bh_ = int(rng.integers(40, 120)), int(rng.integers(80, street - 20))
        top = street - bh_
        x[top:street, xpos : xpos + bw_] = _tone(rng, (18, 18, 24), 5)
        for wy in range(top + 8, street - 10, 14):
            for wx in range(xpos + 5, xpos + bw_ - 8, 11):
                if rng.uniform() < 0.35:
                    c = _tone(rng, (255, 210, 130) if rng.uniform() < 0.7 else (200, 220, 255), 20)
                    x[wy : wy + 7, wx : wx + 5] = c
        xpos += bw_ + int(rng.integers(0, 8))
    x[street:] = _tone(rng, (25, 25, 28), 5)
    for lx in range(int(rng.integers(20, 60)), w, int(rng.integers(90, 160))):  # street lamps
        cv2.line(x, (lx, street + 10), (lx, street - 70), (30, 30, 30), 3)
        cv2.circle(glow, (lx, street - 72), 5, (255, 200, 120), -1)
    for k in range(int(rng.integers(2, 5))):  # light trails
        yl = street + 12 + 10 * k + int(rng.integers(0, 8))
        col = (255, 40, 30) if k % 2 else (255, 240, 210)
        cv2.line(glow, (0, yl), (w, yl + int(rng.integers(-15, 15))), col, 2)
    x = x + glow + cv2.GaussianBlur(glow, (0, 0), 9) * 3 + cv2.GaussianBlur(x, (0, 0), 6) * 0.4
    return x


def _blurry_room(rng, j: int, h=420, w=600):
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (w, h), _tone(rng, (215, 205, 190), 25))
    draw = ImageDraw.Draw(img)
    ceil = int(h * rng.uniform(0.1, 0.25))
    floor = int(h * rng.uniform(0.65, 0.78))
    draw.rectangle([0, 0, w, ceil], fill=_tone(rng, (235, 232, 225), 8))
    draw.rectangle([0, floor, w, h], fill=_tone(rng, (140, 100, 70), 30))
    dx = int(rng.integers(20, w - 150))
    draw.rectangle([dx, floor - 250, dx + 110, floor], fill=_tone(rng, (180, 150, 110), 30))  # door
    draw.ellipse([dx + 88, floor - 130, dx + 98, floor - 120], fill=(200, 190, 150))
    wx = int(rng.integers(20, w - 200))
    if abs(wx - dx) > 120:
        draw.rectangle([wx, ceil + 30, wx + 170, ceil + 160], fill=_tone(rng, (220, 235, 250), 10))
    tx = int(rng.integers(50, w - 250))
    draw.rectangle(
        [tx, floor - 60, tx + 200, floor - 48], fill=_tone(rng, (110, 75, 50), 20)
    )  # table
    draw.rectangle([tx + 10, floor - 48, tx + 20, floor + 20], fill=(90, 60, 40))
    draw.rectangle([tx + 180, floor - 48, tx + 190, floor + 20], fill=(90, 60, 40))
    px = int(rng.integers(20, w - 60))
    draw.rectangle([px, floor - 40, px + 40, floor + 10], fill=(170, 90, 60))  # a plant
    draw.ellipse([px - 30, floor - 140, px + 70, floor - 30], fill=_tone(rng, (60, 110, 50), 20))
    draw.rectangle([w // 2, ceil + 40, w // 2 + 90, ceil + 110], fill=_tone(rng, (120, 60, 70), 50))
    lx = int(rng.uniform(0.2, 0.8) * w)
    draw.ellipse([lx - 25, ceil - 10, lx + 25, ceil + 15], fill=(255, 250, 230))  # ceiling light
    x = np.asarray(img, np.float64)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    x += (np.exp(-np.hypot(xx - lx, yy - ceil) / 120) * 80)[..., None]
    x = (
        _motion(x, int(rng.integers(15, 40)), rng.uniform(0, np.pi))
        if j % 2
        else _defocus(x, rng.uniform(6, 14))
    )
    warm = (1.1, 0.95, 0.7) if j % 3 != 2 else (0.95, 1.0, 1.05)
    return _photo(x * rng.uniform(0.55, 0.95), rng, 0.4, iso=rng.uniform(4, 10), tint=warm)


# --- a printed leaflet about lesions (drawn, schematic) ---


def _leaflet(rng):
    from PIL import Image, ImageDraw

    w, h = 620, 880
    img = Image.new("RGB", (w, h), _tone(rng, (250, 250, 247), 3))
    draw = ImageDraw.Draw(img)
    band = _tone(rng, ((30, 90, 160), (140, 30, 60), (20, 110, 90))[rng.integers(3)], 15)
    draw.rectangle([0, 0, w, 110], fill=band)
    title = str(
        rng.choice(["MPOX: KNOW THE SIGNS", "Rash? What to look for", "MPOX - PROTECT YOURSELF"])
    )
    draw.text((30, 30), title, fill=(255, 255, 255), font=_font(38))
    draw.text((30, 78), "Public health information leaflet", fill=(230, 230, 230), font=_font(18))
    y = 135
    body = _font(16)
    for _ in range(int(rng.integers(3, 6))):
        draw.text((30, y), _sentence(rng, 9).capitalize(), fill=(40, 40, 40), font=body)
        y += 22
    y += 10
    # a row of schematic lesion stages, drawn as circles on a peach pad (an illustration)
    pad = _tone(rng, (235, 190, 160), 12)
    n = 5
    cw = (w - 60) // n
    stages = ["spot", "bump", "blister", "pustule", "scab"]
    for k in range(n):
        x0 = 30 + k * cw
        draw.rounded_rectangle([x0 + 4, y, x0 + cw - 4, y + cw - 8], 10, fill=pad)
        cx, cy, r = x0 + cw // 2, y + (cw - 8) // 2, cw // 4
        if k == 0:
            draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=(215, 120, 110))
        elif k == 1:
            draw.ellipse(
                [cx - r, cy - r, cx + r, cy + r],
                fill=(200, 100, 95),
                outline=(170, 70, 70),
                width=3,
            )
        elif k == 2:
            draw.ellipse(
                [cx - r, cy - r, cx + r, cy + r],
                fill=(240, 225, 200),
                outline=(200, 110, 100),
                width=5,
            )
        elif k == 3:
            draw.ellipse(
                [cx - r, cy - r, cx + r, cy + r],
                fill=(235, 215, 150),
                outline=(190, 90, 80),
                width=6,
            )
            draw.ellipse([cx - 4, cy - 4, cx + 4, cy + 4], fill=(150, 110, 70))
        else:
            draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=(110, 70, 50))
        draw.text((x0 + 10, y + cw - 4), stages[k], fill=(40, 40, 40), font=_font(15))
    y += cw + 30
    draw.text(
        (30, y),
        str(rng.choice(["What to do", "When to see a doctor", "How it spreads"])),
        fill=band,
        font=_font(24),
    )
    y += 36
    while y < h - 110:
        if rng.uniform() < 0.3:
            draw.ellipse([34, y + 6, 42, y + 14], fill=band)
        draw.text((50, y), _sentence(rng, 10), fill=(40, 40, 40), font=body)
        y += 22
    draw.rectangle([0, h - 70, w, h], fill=band)
    draw.text(
        (30, h - 50),
        "Call 0800 000 000  |  www.health.example",
        fill=(255, 255, 255),
        font=_font(18),
    )
    desk = (
        _table(rng, 620, 820)
        if rng.uniform() < 0.5
        else np.full((620, 820, 3), _tone(rng, (200, 200, 200), 30), np.float64)
    )
    return _photo(
        _warp_onto(np.asarray(img, np.float64), rng, desk, 0.1),
        rng,
        0.3,
        defocus=rng.uniform(0, 1.0),
    )


# --- the set ---


def _kind_images(kind: str, rng: np.random.Generator) -> list[tuple[str, np.ndarray]]:
    import cv2

    out: list[tuple[str, np.ndarray]] = []
    if kind == "warm_material_closeup":
        makers = (
            ("leather", _leather),
            ("cork", _cork),
            ("cardboard", _cardboard),
            ("clay", _clay),
        )
        for j in range(16):
            name, f = makers[j % 4]
            out.append((f"{name}{j // 4}", _photo(f(rng), rng, 0.3, defocus=rng.uniform(0, 1.5))))
    elif kind == "floor_closeup":
        makers = (("terracotta", _terracotta), ("planks", _planks), ("carpet", _carpet))
        for j in range(16):
            name, f = makers[0] if j < 6 else makers[1] if j < 11 else makers[2]
            hw = (480, 640) if j % 2 else (600, 480)
            floor = _perspective_fill(f(rng), hw, rng, rng.uniform(0.1, 0.5))
            out.append((f"{name}{j}", _photo(floor, rng, 0.35, tint=(1.06, 1.0, 0.9))))
    elif kind == "fruit_bread_closeup":
        for j in range(16):
            if j < 8:
                name, img = f"stone_fruit{j}", _stone_fruit(rng)
            else:
                name = f"{'bread_crust' if j % 2 == 0 else 'bread_slice'}{j}"
                img = _bread(rng, j)
            out.append((name, _photo(img, rng, 0.3, defocus=rng.uniform(0, 2.0))))
    elif kind == "dunes_sunset_sky":
        for j in range(16):
            name, f = ("dunes", _dunes) if j < 8 else ("sunset", _sunset)
            out.append((f"{name}{j}", _photo(f(rng), rng, 0.3)))
    elif kind == "monitor_photo":
        out = [(f"monitor{j}", _monitor(rng, j)) for j in range(16)]
    elif kind == "whiteboard_note":
        for j in range(16):
            out.append(
                (f"whiteboard{j}", _whiteboard(rng)) if j < 8 else (f"note{j}", _lined_note(rng))
            )
    elif kind == "bookshelf_brickwall":
        for j in range(16):
            if j < 8:
                out.append((f"bookshelf{j}", _bookshelf(rng)))
            else:
                out.append((f"brick{j}", _photo(_brick(rng), rng, 0.3)))
    elif kind == "foliage":
        for j in range(16):
            name, f = ("leaves", _leaves) if j < 8 else ("grass", _grass)
            out.append((f"{name}{j}", _photo(f(rng), rng, 0.3)))
    elif kind == "pet_fur":
        for j in range(16):
            fur = _fur(rng)
            if j % 4 == 3:
                fur = cv2.GaussianBlur(fur, (0, 0), 2.5)
            out.append((f"fur{j}", _photo(fur, rng, 0.3, tint=(1.05, 1.0, 0.92))))
    elif kind == "night_city":
        for j in range(16):
            img = _night_city(rng)
            if j % 3 == 1:
                img = _motion(img, int(rng.integers(6, 16)), rng.uniform(0, np.pi))
            out.append((f"night{j}", _photo(img, rng, 0.4, iso=rng.uniform(5, 12))))
    elif kind == "blurry_room":
        out = [(f"room{j}", _blurry_room(rng, j)) for j in range(16)]
    elif kind == "lesion_leaflet_photo":
        out = [(f"leaflet{j}", _leaflet(rng)) for j in range(16)]
    elif kind == "phone_chart_photo":
        out = [(f"phone_chart{j}", _phone_chart(rng, j)) for j in range(16)]
    else:  # pragma: no cover
        raise ValueError(kind)
    return out


def build_fresh2_set(seed: int = 2026, kinds: Sequence[str] | None = None) -> list[NonSkinImage]:
    """The fresh2 set: 16 images of each :data:`FRESH2_KINDS` kind, in a fixed order, each kind
    from its own random stream (``seed`` and the kind's index), so ``kinds`` (a subset, default
    all) gives the same images as the whole set. Marked ``held_out=False, fresh=True`` (neither
    development nor held out)."""
    unknown = set(kinds or ()) - set(FRESH2_KINDS)
    if unknown:
        raise ValueError(f"unknown fresh2 kinds: {sorted(unknown)}")
    items: list[NonSkinImage] = []
    for k, kind in enumerate(FRESH2_KINDS):
        if kinds is not None and kind not in kinds:
            continue
        rng = np.random.default_rng([seed, 2302, k])
        for name, image in _kind_images(kind, rng):
            items.append(NonSkinImage(kind, name, _fit(image), held_out=False, fresh=True))
    return items


def save_contact_sheet(items: list[NonSkinImage], path: str, tile: int = 78) -> None:
    """One row of thumbnails per kind (for looking at the set; it computes nothing on it)."""
    from PIL import Image, ImageDraw

    kinds = list(dict.fromkeys(i.kind for i in items))
    cols = max(sum(i.kind == k for i in items) for k in kinds)
    sheet = Image.new("RGB", (cols * tile + 130, len(kinds) * tile), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    for r, kind in enumerate(kinds):
        draw.text((2, r * tile + tile // 2 - 6), kind[:21], fill=(0, 0, 0))
        for c, item in enumerate(i for i in items if i.kind == kind):
            thumb = Image.fromarray(item.image)
            thumb.thumbnail((tile - 4, tile - 4))
            sheet.paste(thumb, (130 + c * tile + 2, r * tile + 2))
    save_sheet(sheet, path)


if __name__ == "__main__":  # python experiments/nonskin_fresh2.py [path]
    import sys

    save_contact_sheet(
        build_fresh2_set(),
        sys.argv[1] if len(sys.argv) > 1 else "experiments/results/gate/fresh2_contact_sheet.png",
    )
