"""A non-skin image set made offline, for measuring the input gate (``bench_gate.py``).

Every image comes from a package already installed (scikit-image's, scikit-learn's and
matplotlib's sample images) or is drawn here (blank, flat, noise, gradient, text, chart,
screenshot-like, collage), deterministically from a seed. Kinds are split in advance into
**development** kinds (looked at while the gate was written) and **held-out** kinds (only
measured, never used to choose anything), so the held-out rate is closer to what the gate does
on images nobody here has seen. ``degraded`` and ``collage_lesions`` are made from real lesion
photos (passed in; never written to the repository).

A third group, the **fresh** kinds (:data:`FRESH_KINDS`, written in s23), was added to decide
on one post-hoc gate variant: skin-toned surfaces, food, scenes, photographed documents, maps,
memes, cartoons, QR codes and barcodes, X-ray-like images and an MRI slice, app icons; drawn
here (and skimage's stereo motorcycle photo and matplotlib's terrain data and MRI slice, which
no other kind uses). Their adoption rule was declared before they existed, their generators
were written without any gate verdict on them, and they are measured once.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "DEV_KINDS",
    "FRESH_KINDS",
    "HELD_OUT_KINDS",
    "NonSkinImage",
    "build_nonskin_set",
    "fresh_images",
    "save_sheet",
]

# collage_lesions counts as development: the seam check was revised after trying it on collages
# of lesion photos.
DEV_KINDS = ("photo_skimage", "blank", "noise", "text", "collage_lesions")
HELD_OUT_KINDS = (
    "photo_sklearn",
    "photo_matplotlib",
    "graphic",
    "flat",
    "gradient",
    "chart",
    "screenshot",
    "collage",
    "degraded",
    "tiny",
)
#: A third group, written in s23 to decide on the post-hoc skin cascade (``bench_gate.py``'s
#: ``CASCADE_SKIN5``): named, and the adoption rule declared, before any of their images
#: existed; their generators were written without any gate verdict on them and they are
#: measured once. They choose nothing (no design table uses them). Things people upload by
#: mistake, unlike the kinds above, several of them skin-toned.
FRESH_KINDS = (
    "skin_toned_surface",  # wood grain, sand, peach fabric, skin-toned gradients with shapes
    "food",  # bread, pastry and food-like blobs on a plate
    "scene",  # a landscape (sky, ground, sun), a room, a street with a car; a real street photo
    "document_photo",  # a form or a receipt photographed at an angle, with shading
    "map",  # street maps; a terrain map
    "meme",  # a picture with big top and bottom caption text
    "cartoon",  # emoji faces and cartoon drawings
    "code_pattern",  # QR-like and barcode-like patterns
    "medical_grayscale",  # X-ray-like radiographs; an MRI slice
    "app_icon",  # app icons
)


@dataclass
class NonSkinImage:
    """One image of the set: ``kind``, a ``name``, RGB uint8 ``image``, ``held_out``, and
    ``fresh`` (a :data:`FRESH_KINDS` kind: neither development nor held out)."""

    kind: str
    name: str
    image: np.ndarray
    held_out: bool
    fresh: bool = False


def save_sheet(sheet, path) -> None:
    """Write a contact sheet (a PIL image) as a 256-colour PNG, atomically.

    The sheets are for looking at, so a palette (no dithering: the same pixels always give the
    same file) keeps them a few hundred kB instead of megabytes.
    """
    import os
    import tempfile
    from pathlib import Path

    from PIL import Image

    path = Path(path)
    small = sheet.convert("RGB").quantize(
        colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE
    )
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    os.close(fd)
    try:
        small.save(tmp, "PNG", optimize=True)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def _rgb(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x)
    if x.dtype != np.uint8:
        x = np.clip(x * (255.0 if x.max() <= 1.0 else 1.0), 0, 255).astype(np.uint8)
    if x.ndim == 2:
        x = np.stack([x] * 3, axis=-1)
    if x.shape[2] == 4:
        alpha = x[..., 3:4].astype(np.float64) / 255.0
        x = (x[..., :3] * alpha + 255 * (1 - alpha)).astype(np.uint8)
    return np.ascontiguousarray(x[..., :3])


def _crops(image: np.ndarray, rng: np.random.Generator, n: int) -> list[np.ndarray]:
    h, w = image.shape[:2]
    out = []
    for _ in range(n):
        f = rng.uniform(0.35, 0.7)
        ch, cw = max(int(h * f), 96), max(int(w * f), 96)
        y, x = rng.integers(0, max(h - ch, 1)), rng.integers(0, max(w - cw, 1))
        out.append(np.ascontiguousarray(image[y : y + ch, x : x + cw]))
    return out


def _figure_array(fig) -> np.ndarray:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80)
    plt.close(fig)
    from PIL import Image

    return _rgb(np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB")))


def _charts(rng: np.random.Generator) -> list[tuple[str, np.ndarray]]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = []
    for i in range(3):
        fig, ax = plt.subplots(figsize=(4, 4))
        ax.pie(rng.uniform(1, 5, 5), labels=list("ABCDE"))
        out.append((f"pie{i}", _figure_array(fig)))
        fig, ax = plt.subplots(figsize=(5, 4))
        ax.bar(range(6), rng.uniform(1, 9, 6), color=plt.cm.tab10(i))
        ax.set_title("Monthly cases")
        out.append((f"bar{i}", _figure_array(fig)))
        fig, ax = plt.subplots(figsize=(5, 4))
        ax.plot(np.cumsum(rng.normal(size=50)))
        ax.grid(True)
        out.append((f"line{i}", _figure_array(fig)))
        fig, ax = plt.subplots(figsize=(4, 4))
        ax.scatter(*rng.normal(size=(2, 80)), c=rng.uniform(size=80))
        out.append((f"scatter{i}", _figure_array(fig)))
    return out


def _text_images(rng: np.random.Generator, n: int) -> list[tuple[str, np.ndarray]]:
    from PIL import Image, ImageDraw, ImageFont

    words = "mpox rash photo clinic lesion result please upload your image here test".split()
    out = []
    for i in range(n):
        size = int(rng.integers(14, 40))
        img = Image.new("RGB", (480, 360), tuple(int(v) for v in rng.integers(200, 256, 3)))
        draw = ImageDraw.Draw(img)
        font = ImageFont.load_default(size=size)
        y = 10
        while y < 340:
            line = " ".join(rng.choice(words, 5))
            draw.text((10, y), line, fill=tuple(int(v) for v in rng.integers(0, 80, 3)), font=font)
            y += int(size * 1.4)
        out.append((f"text{i}", np.asarray(img)))
    return out


def _screenshots(rng: np.random.Generator, photos: Sequence[np.ndarray], n: int):
    from PIL import Image, ImageDraw, ImageFont

    out = []
    for i in range(n):
        w, h = (390, 844) if i % 2 else (1280, 800)  # phone, laptop
        bg = (255, 255, 255) if i % 3 else (30, 30, 34)
        fg = (20, 20, 20) if i % 3 else (230, 230, 230)
        img = Image.new("RGB", (w, h), bg)
        draw = ImageDraw.Draw(img)
        accent = tuple(int(v) for v in rng.integers(0, 200, 3))
        draw.rectangle([0, 0, w, 56], fill=accent)  # app bar
        draw.text((16, 14), "Messages", fill=(255, 255, 255), font=ImageFont.load_default(24))
        y = 80
        font = ImageFont.load_default(size=18)
        while y < h - 80:
            if rng.uniform() < 0.25 and photos:
                photo = photos[int(rng.integers(len(photos)))]
                thumb = Image.fromarray(photo).resize((min(200, w - 40), 150))
                img.paste(thumb, (20, y))
                y += 170
            else:
                draw.rounded_rectangle([20, y, w - 20, y + 48], 12, fill=accent if y % 3 else bg)
                draw.text((32, y + 12), "Hello, can you look at this?", fill=fg, font=font)
                y += 64
        draw.rectangle([0, h - 60, w, h], fill=(240, 240, 240))  # input bar
        out.append((f"screen{i}", np.asarray(img)))
    return out


def _collage(tiles: Sequence[np.ndarray], grid: tuple[int, int], gutter: int) -> np.ndarray:
    from poxscan.core.imageio import to_square

    side = 200
    rows, cols = grid
    canvas = np.full(
        (rows * side + (rows + 1) * gutter, cols * side + (cols + 1) * gutter, 3), 255, np.uint8
    )
    for k, tile in enumerate(tiles[: rows * cols]):
        r, c = divmod(k, cols)
        y, x = gutter + r * (side + gutter), gutter + c * (side + gutter)
        canvas[y : y + side, x : x + side] = to_square(tile, side)
    return canvas


def build_nonskin_set(
    lesion_photos: Sequence[np.ndarray] = (), seed: int = 0, fresh: bool = True
) -> list[NonSkinImage]:
    """The whole set, in a fixed order.

    Parameters
    ----------
    lesion_photos : sequence of ndarray
        Real lesion photos for the ``degraded`` and ``collage_lesions`` kinds (at least 8;
        those kinds are left out without them).
    seed : int
        Same seed, same set.
    fresh : bool, default=True
        Append the :data:`FRESH_KINDS` images (:func:`fresh_images`, their own random stream:
        the images before them are the same with or without them).
    """
    import cv2
    import matplotlib.cbook as cbook
    import skimage.data as skd
    from PIL import Image
    from sklearn.datasets import load_sample_images

    rng = np.random.default_rng(seed)
    items: list[NonSkinImage] = []

    def add(kind: str, name: str, image: np.ndarray) -> None:
        items.append(NonSkinImage(kind, name, _rgb(image), kind in HELD_OUT_KINDS))

    colour = ["astronaut", "cat", "chelsea", "coffee", "hubble_deep_field", "rocket"]
    colour += ["immunohistochemistry", "retina", "colorwheel"]
    grey = ["camera", "moon", "coins", "clock", "brick", "grass", "gravel", "cell"]
    sk_photos = []
    for name in colour + grey:
        image = _rgb(getattr(skd, name)())
        sk_photos.append(image)
        add("photo_skimage", name, image)
        for j, crop in enumerate(_crops(image, rng, 2 if name in colour else 1)):
            add("photo_skimage", f"{name}_crop{j}", crop)
    for j, image in enumerate(load_sample_images().images):
        add("photo_sklearn", f"sklearn{j}", image)
        for k, crop in enumerate(_crops(image, rng, 3)):
            add("photo_sklearn", f"sklearn{j}_crop{k}", crop)
    hopper = np.asarray(Image.open(cbook.get_sample_data("grace_hopper.jpg")).convert("RGB"))
    add("photo_matplotlib", "grace_hopper", hopper)
    for k, crop in enumerate(_crops(hopper, rng, 4)):
        add("photo_matplotlib", f"grace_hopper_crop{k}", crop)
    for name in ("logo2.png", "Minduka_Present_Blue_Pack.png"):
        image = np.asarray(Image.open(cbook.get_sample_data(name)).convert("RGBA"))
        add("photo_matplotlib", name, image)
    for name in ("logo", "horse", "checkerboard", "binary_blobs", "shepp_logan_phantom", "text"):
        image = getattr(skd, name)()
        kind = "text" if name == "text" else "graphic"
        add(kind, name, image if image.dtype != bool else image.astype(np.uint8) * 255)
    add("text", "page", skd.page())

    for j, c in enumerate([(255, 255, 255), (0, 0, 0), (224, 172, 105), (128, 128, 128)]):
        add("blank", f"blank{j}", np.full((300, 300, 3), c, np.uint8))
    for j, c in enumerate([(240, 200, 170), (90, 60, 40), (200, 150, 130), (180, 180, 200)]):
        base = np.full((320, 320, 3), c, np.float64)
        add("flat", f"flat{j}", base + rng.normal(0, 1.5, base.shape))
    for j in range(6):
        add("noise", f"uniform{j}", rng.integers(0, 256, (256, 256, 3)).astype(np.uint8))
        tone = np.array([200, 150, 120]) + rng.normal(0, 20, 3)
        add("noise", f"skin_tone_noise{j}", tone + rng.normal(0, 25, (256, 256, 3)))
    for j in range(8):
        a, b = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
        t = np.linspace(0, 1, 300)
        if j % 2:
            yy, xx = np.mgrid[0:300, 0:300]
            t2 = np.clip(np.hypot(yy - 150, xx - 150) / 212, 0, 1)[..., None]
        else:
            t2 = np.broadcast_to(t[None, :, None], (300, 300, 1))
        add("gradient", f"gradient{j}", a * (1 - t2) + b * t2)
    for name, image in _text_images(rng, 8):
        add("text", name, image)
    for name, image in _charts(rng):
        add("chart", name, image)
    for name, image in _screenshots(rng, sk_photos[:6], 8):
        add("screenshot", name, image)
    for j in range(6):
        pick = rng.choice(len(sk_photos), 4, replace=False)
        grid = (2, 2) if j % 2 == 0 else (1, 3)
        add("collage", f"collage{j}", _collage([sk_photos[p] for p in pick], grid, 8 * (j % 3)))
    for j in range(6):
        add("tiny", f"tiny{j}", rng.integers(0, 256, (int(rng.integers(1, 90)), 60, 3)))
    if len(lesion_photos) >= 8:
        photos = list(lesion_photos)
        for j in range(6):
            pick = rng.choice(len(photos), 4, replace=False)
            grid = (2, 2) if j % 2 == 0 else (1, 2)
            tiles = [photos[p] for p in pick]
            add("collage_lesions", f"lesions{j}", _collage(tiles, grid, 6 * (j % 3)))
        for j in range(4):
            photo = photos[int(rng.integers(len(photos)))].astype(np.float64)
            add("degraded", f"dark{j}", photo * 0.08)
            add("degraded", f"bright{j}", np.clip(photo * 0.6 + 170, 0, 255))
            blurred = cv2.GaussianBlur(photo.astype(np.uint8), (0, 0), 12)
            add("degraded", f"blurred{j}", blurred)
    if fresh:
        for kind, name, image in fresh_images(seed):
            items.append(NonSkinImage(kind, name, _rgb(image), held_out=False, fresh=True))
    return items


# --- The fresh kinds (s23): written before any gate verdict on them -------------------------


def _smooth(rng: np.random.Generator, h: int, w: int, cell: int) -> np.ndarray:
    """Smooth random field in about [-1, 1]: normal noise on a coarse grid, cubic upsampling."""
    import cv2

    small = rng.normal(size=(h // cell + 3, w // cell + 3)).astype(np.float32)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC).astype(np.float64) / 1.5


def _camera(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """What a phone camera does to a scene: uneven light, slight blur, sensor noise, JPEG."""
    import cv2
    from PIL import Image

    x = np.asarray(image, np.float64)
    h, w = x.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w]
    cy, cx = rng.uniform(0.3, 0.7) * h, rng.uniform(0.3, 0.7) * w
    fall = 1 - rng.uniform(0.1, 0.3) * ((yy - cy) ** 2 + (xx - cx) ** 2) / (h * h + w * w) * 4
    x = x * fall[..., None] * rng.uniform(0.85, 1.05)
    x = cv2.GaussianBlur(x, (0, 0), rng.uniform(0.6, 1.3))
    x = np.clip(x + rng.normal(0, rng.uniform(1.5, 4.0), x.shape), 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(x).save(buf, format="JPEG", quality=int(rng.integers(75, 93)))
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))


def _tone(rng: np.random.Generator, base: Sequence[float], spread: float) -> tuple[int, ...]:
    return tuple(int(v) for v in np.clip(np.asarray(base) + rng.normal(0, spread, 3), 0, 255))


def _warp_onto(
    sheet: np.ndarray, rng: np.random.Generator, background: np.ndarray, tilt: float = 0.12
) -> np.ndarray:
    """``sheet`` photographed at an angle on ``background`` (perspective, a soft shadow)."""
    import cv2

    bh, bw = background.shape[:2]
    sh, sw = sheet.shape[:2]
    scale = min(0.8 * bh / sh, 0.8 * bw / sw)
    cw, ch = sw * scale, sh * scale
    x0, y0 = (bw - cw) / 2, (bh - ch) / 2
    corners = np.array([[x0, y0], [x0 + cw, y0], [x0 + cw, y0 + ch], [x0, y0 + ch]])
    corners += rng.uniform(-tilt, tilt, (4, 2)) * np.array([cw, ch])
    src = np.float32([[0, 0], [sw, 0], [sw, sh], [0, sh]])
    m = cv2.getPerspectiveTransform(src, corners.astype(np.float32))
    warped = cv2.warpPerspective(sheet.astype(np.float32), m, (bw, bh))
    mask = cv2.warpPerspective(np.ones((sh, sw), np.float32), m, (bw, bh))
    shadow = cv2.GaussianBlur(np.roll(mask, (12, 10), (0, 1)), (0, 0), 9)
    out = background.astype(np.float64) * (1 - 0.45 * shadow[..., None])
    out = out * (1 - mask[..., None]) + warped * mask[..., None]
    # light from one side across the sheet
    ramp = np.linspace(rng.uniform(0.7, 0.9), rng.uniform(1.0, 1.1), bw)[None, :, None]
    return np.clip(out * (ramp if rng.uniform() < 0.5 else ramp[:, ::-1]), 0, 255)


def _wood(rng: np.random.Generator, h: int = 420, w: int = 560) -> np.ndarray:
    yy = np.mgrid[0:h, 0:w][0].astype(np.float64)
    warp = 25 * _smooth(rng, h, w, 60)
    rings = np.sin((yy + warp + 6 * _smooth(rng, h, w, 12)) * rng.uniform(0.08, 0.2))
    base = np.asarray(_tone(rng, (196, 150, 104), 15), np.float64)
    dark = base * rng.uniform(0.6, 0.75)
    t = ((rings + 1) / 2) ** 3
    img = base * (1 - t[..., None]) + dark * t[..., None]
    return img + 6 * _smooth(rng, h, w, 4)[..., None]


def _sand(rng: np.random.Generator, h: int = 420, w: int = 560) -> np.ndarray:
    import cv2

    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    base = np.asarray(_tone(rng, (214, 186, 142), 10), np.float64)
    ripples = np.sin((xx * 0.3 + yy) * rng.uniform(0.05, 0.1) + 3 * _smooth(rng, h, w, 50))
    grain = cv2.GaussianBlur(rng.normal(0, 1, (h, w)), (0, 0), 0.8) * 18
    img = base * (1 + 0.07 * ripples)[..., None] + grain[..., None]
    specks = rng.uniform(size=(h, w)) < 0.004
    img[specks] *= 0.5
    return img


def _fabric(rng: np.random.Generator, h: int = 420, w: int = 560) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    f = rng.uniform(0.6, 1.2)
    weave = np.cos(xx * f) * np.cos(yy * f) * np.sign(np.sin(xx * f / 2) * np.sin(yy * f / 2))
    base = np.asarray(_tone(rng, (238, 172, 128) if rng.uniform() < 0.5 else (240, 150, 80), 10))
    folds = 0.18 * np.sin(xx / rng.uniform(40, 90) + 2 * _smooth(rng, h, w, 90))
    return base * (1 + 0.06 * weave + folds)[..., None]


def _skin_gradient_shapes(rng: np.random.Generator, h: int = 400, w: int = 400) -> np.ndarray:
    import cv2
    from PIL import Image, ImageDraw

    a = np.asarray(_tone(rng, (232, 190, 160), 12), np.float64)
    b = np.asarray(_tone(rng, (170, 115, 85), 12), np.float64)
    t = np.linspace(0, 1, w)[None, :, None]
    img = Image.fromarray(np.clip(a * (1 - t) + b * t, 0, 255).astype(np.uint8).repeat(h, 0))
    draw = ImageDraw.Draw(img)
    for _ in range(int(rng.integers(3, 7))):
        x, y = rng.integers(0, w), rng.integers(0, h)
        r = int(rng.integers(20, 90))
        colour = _tone(rng, (200, 140, 110), 30)
        if rng.uniform() < 0.5:
            draw.ellipse([x - r, y - r, x + r, y + r * rng.uniform(0.5, 1.5)], fill=colour)
        else:
            draw.rectangle([x - r, y - r // 2, x + r, y + r // 2], fill=colour)
    return cv2.GaussianBlur(np.asarray(img, np.float64), (0, 0), 1.0)


def _food(rng: np.random.Generator, j: int) -> np.ndarray:
    from PIL import Image, ImageDraw

    h, w = 480, 640
    table = _wood(rng, h, w) if j % 2 else np.full((h, w, 3), _tone(rng, (120, 70, 60), 25))
    img = Image.fromarray(np.clip(table, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    draw.ellipse([60, 40, w - 60, h - 30], fill=(238, 238, 232), outline=(200, 200, 195), width=4)
    draw.ellipse([120, 90, w - 120, h - 80], fill=(246, 246, 242))
    what = j % 4
    for _ in range(int(rng.integers(1, 5)) if what != 0 else 1):
        cx, cy = int(rng.integers(220, w - 220)), int(rng.integers(170, h - 160))
        if what == 0:  # a loaf of bread with scoring
            crust = _tone(rng, (190, 130, 70), 12)
            draw.ellipse([cx - 170, cy - 85, cx + 170, cy + 85], fill=crust)
            draw.ellipse([cx - 150, cy - 70, cx + 140, cy + 55], fill=_tone(rng, (214, 160, 96), 8))
            for k in range(-2, 3):
                draw.line(
                    [cx + 50 * k - 25, cy - 40, cx + 50 * k + 25, cy + 35], fill=crust, width=7
                )
        elif what == 1:  # buns or pastries
            r = int(rng.integers(45, 70))
            draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=_tone(rng, (205, 140, 75), 12))
            draw.ellipse(
                [cx - r + 12, cy - r + 8, cx + r - 20, cy + r - 25],
                fill=_tone(rng, (228, 175, 110), 8),
            )
        elif what == 2:  # cookies with chips
            r = int(rng.integers(40, 60))
            draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=_tone(rng, (200, 150, 95), 10))
            for _ in range(7):
                px, py = cx + rng.integers(-r // 2, r // 2), cy + rng.integers(-r // 2, r // 2)
                draw.ellipse([px - 5, py - 4, px + 5, py + 4], fill=(70, 40, 25))
        else:  # fried egg and toast
            draw.rectangle(
                [cx - 90, cy - 80, cx + 60, cy + 70], fill=_tone(rng, (200, 145, 80), 10)
            )
            draw.ellipse([cx - 30, cy - 60, cx + 130, cy + 60], fill=(250, 250, 245))
            draw.ellipse([cx + 25, cy - 22, cx + 75, cy + 22], fill=(245, 180, 30))
    x = np.asarray(img, np.float64) + 5 * _smooth(rng, h, w, 6)[..., None]
    return _camera(x, rng)


def _landscape(rng: np.random.Generator, h: int = 420, w: int = 640) -> np.ndarray:
    from PIL import Image, ImageDraw

    horizon = int(h * rng.uniform(0.45, 0.65))
    top, low = (
        np.asarray(_tone(rng, (70, 130, 210), 15)),
        np.asarray(_tone(rng, (190, 215, 240), 10)),
    )
    t = np.linspace(0, 1, h)[:, None, None]
    sky = (top * (1 - t) + low * t).repeat(w, 1)
    img = Image.fromarray(np.clip(sky, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    sx, sy, r = int(rng.integers(60, w - 60)), int(rng.integers(40, horizon - 60)), 35
    draw.ellipse([sx - r, sy - r, sx + r, sy + r], fill=(255, 236, 150))
    for layer in range(3):
        xs = np.linspace(0, w, 9)
        ys = horizon - rng.uniform(20, 110, 9) / (layer + 1) + layer * 25
        colour = _tone(rng, ((80, 110, 80), (70, 140, 60), (110, 160, 70))[layer], 10)
        draw.polygon([(0, h), *zip(xs.tolist(), ys.tolist(), strict=True), (w, h)], fill=colour)
    for _ in range(int(rng.integers(2, 6))):  # trees
        tx, ty = int(rng.integers(0, w)), int(rng.integers(horizon + 20, h - 20))
        draw.rectangle([tx - 4, ty - 40, tx + 4, ty], fill=(90, 60, 40))
        draw.ellipse([tx - 25, ty - 85, tx + 25, ty - 30], fill=_tone(rng, (40, 100, 45), 10))
    return np.asarray(img, np.float64) + 8 * _smooth(rng, h, w, 8)[..., None]


def _room(rng: np.random.Generator, h: int = 420, w: int = 600) -> np.ndarray:
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (w, h), _tone(rng, (225, 215, 195), 20))
    draw = ImageDraw.Draw(img)
    floor_y = int(h * 0.68)
    draw.polygon(
        [(0, h), (90, floor_y), (w - 90, floor_y), (w, h)], fill=_tone(rng, (150, 110, 75), 20)
    )
    draw.polygon([(0, 0), (90, 40), (90, floor_y), (0, h)], fill=_tone(rng, (200, 190, 170), 15))
    draw.polygon(
        [(w, 0), (w - 90, 40), (w - 90, floor_y), (w, h)], fill=_tone(rng, (205, 195, 175), 15)
    )
    wx = int(rng.integers(150, w - 300))
    draw.rectangle([wx, 80, wx + 150, 220], fill=(170, 205, 235), outline=(250, 250, 250), width=8)
    draw.line([wx + 75, 80, wx + 75, 220], fill=(250, 250, 250), width=5)
    sofa = _tone(rng, (90, 90, 120), 30)
    draw.rectangle([140, floor_y - 70, 360, floor_y + 20], fill=sofa)
    draw.rectangle([140, floor_y - 110, 360, floor_y - 60], fill=tuple(int(v * 0.85) for v in sofa))
    draw.rectangle([400, floor_y - 40, 480, floor_y + 30], fill=_tone(rng, (120, 80, 50), 10))
    draw.ellipse([420, floor_y - 90, 460, floor_y - 40], fill=(240, 230, 180))  # a lamp
    return _camera(np.asarray(img, np.float64), rng)


def _street(rng: np.random.Generator, h: int = 420, w: int = 640) -> np.ndarray:
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (w, h), _tone(rng, (160, 190, 220), 15))
    draw = ImageDraw.Draw(img)
    x = 0
    while x < w:  # buildings
        bw_, bh_ = int(rng.integers(70, 150)), int(rng.integers(120, 260))
        draw.rectangle([x, 280 - bh_, x + bw_, 280], fill=_tone(rng, (150, 140, 130), 30))
        for wy in range(290 - bh_, 270, 30):
            for wx in range(x + 10, x + bw_ - 15, 25):
                draw.rectangle([wx, wy, wx + 12, wy + 16], fill=(80, 90, 110))
        x += bw_ + int(rng.integers(0, 10))
    draw.rectangle([0, 280, w, h], fill=(90, 90, 95))  # road
    for lx in range(0, w, 80):
        draw.rectangle([lx, 350, lx + 40, 356], fill=(235, 235, 235))
    cx = int(rng.integers(80, w - 300))
    body = _tone(rng, (170, 30, 30), 60)
    draw.rounded_rectangle([cx, 300, cx + 230, 360], 14, fill=body)
    draw.polygon([(cx + 45, 300), (cx + 75, 258), (cx + 165, 258), (cx + 195, 300)], fill=body)
    draw.polygon(
        [(cx + 58, 298), (cx + 82, 266), (cx + 158, 266), (cx + 182, 298)], fill=(60, 80, 100)
    )
    for wx in (cx + 50, cx + 180):
        draw.ellipse([wx - 24, 336, wx + 24, 384], fill=(25, 25, 25))
        draw.ellipse([wx - 10, 350, wx + 10, 370], fill=(160, 160, 160))
    return _camera(np.asarray(img, np.float64), rng)


def _form(rng: np.random.Generator) -> np.ndarray:
    from PIL import Image, ImageDraw, ImageFont

    w, h = 850, 1100
    img = Image.new("RGB", (w, h), (250, 250, 246))
    draw = ImageDraw.Draw(img)
    draw.text(
        (60, 50), "PATIENT REGISTRATION FORM", fill=(20, 20, 20), font=ImageFont.load_default(34)
    )
    words = "name date birth address phone insurance number signature clinic visit".split()
    y = 130
    while y < h - 120:
        label = " ".join(rng.choice(words, 2)).title() + ":"
        draw.text((60, y), label, fill=(40, 40, 40), font=ImageFont.load_default(22))
        draw.rectangle([330, y - 4, w - 60, y + 30], outline=(60, 60, 60), width=2)
        if rng.uniform() < 0.5:  # filled in by hand (blue ink)
            draw.text(
                (345, y),
                " ".join(rng.choice(words, 2)),
                fill=(30, 50, 150),
                font=ImageFont.load_default(24),
            )
        y += int(rng.integers(55, 80))
    for k in range(4):  # tick boxes
        draw.rectangle([60 + 180 * k, h - 90, 84 + 180 * k, h - 66], outline=(40, 40, 40), width=2)
    return np.asarray(img)


def _receipt(rng: np.random.Generator) -> np.ndarray:
    from PIL import Image, ImageDraw, ImageFont

    w, h = 420, int(rng.integers(900, 1300))
    img = Image.new("RGB", (w, h), (248, 246, 240))
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default(20)
    draw.text((110, 30), "PHARMACY  No. 24", fill=(20, 20, 20), font=ImageFont.load_default(28))
    items = "bandage cream gloves soap tissues plasters vitamin c water ibuprofen".split()
    y, total = 100, 0.0
    while y < h - 200:
        price = float(rng.uniform(0.5, 20))
        total += price
        draw.text((30, y), str(rng.choice(items)).upper(), fill=(40, 40, 40), font=font)
        draw.text((300, y), f"{price:6.2f}", fill=(40, 40, 40), font=font)
        y += 34
    draw.line([30, y + 10, w - 30, y + 10], fill=(60, 60, 60), width=2)
    draw.text((30, y + 30), "TOTAL", fill=(10, 10, 10), font=ImageFont.load_default(26))
    draw.text((290, y + 30), f"{total:7.2f}", fill=(10, 10, 10), font=ImageFont.load_default(26))
    for bx in range(40, w - 40, 6):  # a barcode at the foot
        if rng.uniform() < 0.5:
            draw.rectangle([bx, h - 110, bx + int(rng.integers(1, 4)), h - 40], fill=(10, 10, 10))
    return np.asarray(img)


def _street_map(rng: np.random.Generator, w: int = 640, h: int = 640) -> np.ndarray:
    from PIL import Image, ImageDraw, ImageFont

    img = Image.new("RGB", (w, h), (242, 239, 233))
    draw = ImageDraw.Draw(img)
    for _ in range(int(rng.integers(2, 5))):  # parks
        x, y = rng.integers(0, w - 150), rng.integers(0, h - 150)
        draw.rectangle(
            [x, y, x + rng.integers(60, 200), y + rng.integers(60, 200)], fill=(200, 230, 190)
        )
    xs = np.linspace(-20, w + 20, 12)
    ys = h * rng.uniform(0.2, 0.8) + np.cumsum(rng.normal(0, 25, 12))
    draw.line(list(zip(xs.tolist(), ys.tolist(), strict=True)), fill=(170, 210, 240), width=28)
    for _ in range(int(rng.integers(8, 16))):  # streets
        major = rng.uniform() < 0.25
        a = (int(rng.integers(0, w)), 0) if rng.uniform() < 0.5 else (0, int(rng.integers(0, h)))
        b = (int(rng.integers(0, w)), h) if a[1] == 0 else (w, int(rng.integers(0, h)))
        draw.line([a, b], fill=(200, 200, 200), width=16 if major else 10)
        draw.line(
            [a, b], fill=(250, 215, 120) if major else (255, 255, 255), width=12 if major else 7
        )
    font = ImageFont.load_default(16)
    for name in rng.choice(
        "Main St,Oak Ave,River Rd,Park Ln,Station Rd,Hill St,Mill Way".split(","), 4
    ):
        draw.text(
            (int(rng.integers(10, w - 120)), int(rng.integers(10, h - 30))),
            name,
            fill=(90, 90, 90),
            font=font,
        )
    px, py = int(rng.integers(100, w - 100)), int(rng.integers(100, h - 100))
    draw.ellipse([px - 16, py - 40, px + 16, py - 8], fill=(220, 60, 50))
    draw.polygon([(px - 12, py - 18), (px + 12, py - 18), (px, py)], fill=(220, 60, 50))
    draw.ellipse([px - 6, py - 30, px + 6, py - 18], fill=(255, 255, 255))
    return np.asarray(img)


def _terrain_maps() -> list[tuple[str, np.ndarray]]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.cbook as cbook
    import matplotlib.pyplot as plt
    from matplotlib.colors import LightSource

    dem = cbook.get_sample_data("jacksboro_fault_dem.npz")["elevation"]
    topo = cbook.get_sample_data("topobathy.npz")["topo"]
    out = []
    for name, z, cmap in (
        ("dem_terrain", dem, "terrain"),
        ("dem_earth", dem, "gist_earth"),
        ("topobathy", topo, "terrain"),
    ):
        fig, ax = plt.subplots(figsize=(6, 5))
        rgb = LightSource(azdeg=315, altdeg=45).shade(
            z, cmap=plt.get_cmap(cmap), blend_mode="overlay"
        )
        ax.imshow(rgb)
        ax.contour(z, levels=8, colors="k", linewidths=0.4)
        ax.set_axis_off()
        out.append((name, _figure_array(fig)))
    return out


def _meme(base: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    from PIL import Image, ImageDraw, ImageFont

    from poxscan.core.imageio import to_square

    img = Image.fromarray(to_square(_rgb(base), 500))
    draw = ImageDraw.Draw(img)
    lines = ["WHEN YOU", "ME AT 3 AM", "NOBODY:", "MONDAY MOOD", "ONE DOES NOT SIMPLY", "SUCH WOW"]
    lines2 = ["UPLOAD THE WRONG PIC", "IT WAS NOT A RASH", "BUT WHY", "TOO REAL", "SEND HELP"]
    font = ImageFont.load_default(int(rng.integers(40, 56)))
    for text, y in ((str(rng.choice(lines)), 12), (str(rng.choice(lines2)), 420)):
        width = draw.textlength(text, font=font)
        draw.text(
            ((500 - width) / 2, y),
            text,
            fill=(255, 255, 255),
            font=font,
            stroke_width=4,
            stroke_fill=(0, 0, 0),
        )
    return np.asarray(img)


def _emoji(rng: np.random.Generator, j: int) -> np.ndarray:
    from PIL import Image, ImageDraw

    s = 400
    img = Image.new("RGB", (s, s), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    draw.ellipse([30, 30, s - 30, s - 30], fill=(255, 204, 51), outline=(230, 160, 20), width=6)
    mood = j % 4
    for ex in (140, 260):
        if mood == 1:  # heart eyes
            draw.polygon([(ex - 30, 150), (ex, 190), (ex + 30, 150), (ex, 135)], fill=(225, 40, 60))
        else:
            draw.ellipse([ex - 18, 130, ex + 18, 180], fill=(70, 45, 20))
    if mood == 2:  # sad, a tear
        draw.arc([120, 250, 280, 340], 200, 340, fill=(70, 45, 20), width=10)
        draw.ellipse([95, 190, 120, 230], fill=(90, 170, 240))
    elif mood == 3:  # open laugh
        draw.chord([110, 200, 290, 320], 0, 180, fill=(110, 40, 30))
    else:
        draw.arc([110, 180, 290, 310], 20, 160, fill=(70, 45, 20), width=10)
    return np.asarray(img)


def _cartoon(rng: np.random.Generator, j: int) -> np.ndarray:
    from PIL import Image, ImageDraw

    w, h = 480, 400
    img = Image.new("RGB", (w, h), _tone(rng, (170, 220, 250), 20))
    draw = ImageDraw.Draw(img)
    draw.rectangle([0, 300, w, h], fill=(120, 200, 90), outline=(0, 0, 0), width=3)
    k = j % 4
    if k == 0:  # a house
        draw.rectangle([150, 170, 330, 310], fill=(240, 200, 120), outline=(0, 0, 0), width=4)
        draw.polygon([(130, 175), (240, 80), (350, 175)], fill=(200, 60, 50), outline=(0, 0, 0))
        draw.rectangle([220, 240, 260, 310], fill=(120, 70, 40), outline=(0, 0, 0), width=3)
    elif k == 1:  # a person with a flat peach face
        draw.rectangle(
            [195, 200, 285, 300], fill=_tone(rng, (60, 120, 200), 40), outline=(0, 0, 0), width=4
        )
        draw.ellipse(
            [180, 70, 300, 200], fill=_tone(rng, (250, 205, 170), 10), outline=(0, 0, 0), width=4
        )
        draw.ellipse([210, 115, 225, 135], fill=(0, 0, 0))
        draw.ellipse([255, 115, 270, 135], fill=(0, 0, 0))
        draw.arc([215, 130, 265, 175], 20, 160, fill=(0, 0, 0), width=4)
        draw.chord([175, 55, 305, 130], 180, 360, fill=(90, 50, 20))
    elif k == 2:  # a cat face
        draw.polygon([(170, 150), (190, 60), (240, 130)], fill=(240, 150, 60), outline=(0, 0, 0))
        draw.polygon([(310, 150), (290, 60), (240, 130)], fill=(240, 150, 60), outline=(0, 0, 0))
        draw.ellipse([150, 100, 330, 280], fill=(240, 150, 60), outline=(0, 0, 0), width=4)
        for ex in (205, 275):
            draw.ellipse([ex - 14, 160, ex + 14, 195], fill=(40, 160, 60))
        draw.polygon([(230, 215), (250, 215), (240, 228)], fill=(230, 100, 130))
    else:  # a smiling sun and a flower
        draw.ellipse([40, 30, 160, 150], fill=(255, 220, 60), outline=(0, 0, 0), width=4)
        draw.arc([70, 70, 130, 125], 20, 160, fill=(0, 0, 0), width=4)
        draw.line([330, 300, 330, 190], fill=(40, 140, 40), width=8)
        for a in range(0, 360, 60):
            dx, dy = 32 * np.cos(np.radians(a)), 32 * np.sin(np.radians(a))
            draw.ellipse(
                [330 + dx - 22, 170 + dy - 22, 330 + dx + 22, 170 + dy + 22],
                fill=(240, 90, 150),
                outline=(0, 0, 0),
                width=2,
            )
        draw.ellipse([312, 152, 348, 188], fill=(250, 210, 60), outline=(0, 0, 0), width=2)
    return np.asarray(img)


def _qr(rng: np.random.Generator, modules: int = 29, px: int = 10) -> np.ndarray:
    grid = rng.uniform(size=(modules, modules)) < 0.5
    finder = np.ones((7, 7), bool)
    finder[1:6, 1:6] = False
    finder[2:5, 2:5] = True
    for y, x in ((0, 0), (0, modules - 7), (modules - 7, 0)):
        grid[y : y + 8 if y == 0 else y + 7, x : x + 8 if x == 0 else x + 7] = False
        grid[y : y + 7, x : x + 7] = finder
    grid[6, 8:-8] = np.arange(modules - 16) % 2 == 0  # timing patterns
    grid[8:-8, 6] = np.arange(modules - 16) % 2 == 0
    img = np.where(np.kron(grid, np.ones((px, px), bool)), 0, 255).astype(np.uint8)
    return np.pad(img, 4 * px, constant_values=255)


def _barcode(rng: np.random.Generator) -> np.ndarray:
    from PIL import Image, ImageDraw, ImageFont

    w, h = 520, 300
    img = Image.new("RGB", (w, h), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    x = 40
    while x < w - 50:
        bw_ = int(rng.integers(2, 9))
        if rng.uniform() < 0.55:
            draw.rectangle([x, 30, x + bw_ - 1, 230], fill=(0, 0, 0))
        x += bw_
    digits = "".join(str(d) for d in rng.integers(0, 10, 13))
    draw.text((80, 240), digits, fill=(0, 0, 0), font=ImageFont.load_default(36))
    return np.asarray(img)


def _radiograph(rng: np.random.Generator, j: int) -> np.ndarray:
    import cv2

    h, w = 512, 512
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    img = np.full((h, w), 12.0)
    part = j % 3
    if part == 0:  # chest: body, dark lungs, ribs, spine
        body = ((xx - 256) / 220) ** 2 + ((yy - 300) / 300) ** 2 < 1
        img[body] = 120
        for sx in (-1, 1):
            lung = ((xx - 256 - sx * 95) / 75) ** 2 + ((yy - 250) / 150) ** 2 < 1
            img[lung] = 55
        for k in range(9):
            ribs = np.abs(yy - (130 + 32 * k) - 0.002 * (xx - 256) ** 2) < 5
            img[ribs & body] += 60
        img[(np.abs(xx - 256) < 18) & body] = 200
        img += 30 * (((xx - 256 - 40) / 70) ** 2 + ((yy - 360) / 60) ** 2 < 1)  # heart shadow
    elif part == 1:  # hand: palm and five fingers of bones
        img[(np.abs(xx - 256) < 110) & (np.abs(yy - 380) < 90)] = 90
        for f, ang in enumerate(np.linspace(-0.6, 0.6, 5)):
            for seg in range(3):
                cx = 256 + (f - 2) * 50 + np.sin(ang) * (60 + 55 * seg)
                cy = 300 - np.cos(ang) * (60 + 55 * seg)
                bone = ((xx - cx) / 14) ** 2 + ((yy - cy) / 26) ** 2 < 1
                flesh = ((xx - cx) / 24) ** 2 + ((yy - cy) / 34) ** 2 < 1
                img[flesh & (img < 90)] = 90
                img[bone] = 210
        for m in range(5):
            img[((xx - 256 - (m - 2) * 45) / 13) ** 2 + ((yy - 390) / 60) ** 2 < 1] = 200
    else:  # knee: femur and tibia
        img[np.abs(xx - 256) < 150] = 95
        img[(np.abs(xx - 256) < 55) & (yy < 240)] = 205
        img[((xx - 256) / 85) ** 2 + ((yy - 240) / 40) ** 2 < 1] = 215
        img[(np.abs(xx - 256) < 60) & (yy > 285)] = 200
        img[((xx - 256) / 90) ** 2 + ((yy - 285) / 25) ** 2 < 1] = 210
    img = cv2.GaussianBlur(img, (0, 0), 3) + 6 * _smooth(rng, h, w, 30) + rng.normal(0, 3, (h, w))
    return np.clip(img, 0, 255).astype(np.uint8)


def _mri() -> np.ndarray:
    import gzip

    import matplotlib.cbook as cbook

    with cbook.get_sample_data("s1045.ima.gz") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":  # older matplotlib hands back the compressed bytes
        raw = gzip.decompress(raw)
    z = np.frombuffer(raw, np.uint16).reshape(256, 256).astype(np.float64)
    return np.clip(255 * z / np.percentile(z, 99.5), 0, 255).astype(np.uint8)


def _app_icon(rng: np.random.Generator, j: int) -> np.ndarray:
    from PIL import Image, ImageDraw, ImageFont

    s = int(rng.choice([192, 256, 512]))
    img = Image.new("RGB", (s, s), (255, 255, 255) if j % 2 else (245, 245, 247))
    a, b = np.asarray(_tone(rng, (100, 120, 200), 70)), np.asarray(_tone(rng, (200, 80, 160), 70))
    t = np.linspace(0, 1, s)[:, None, None]
    grad = Image.fromarray(np.clip(a * (1 - t) + b * t, 0, 255).astype(np.uint8).repeat(s, 1))
    mask = Image.new("L", (s, s), 0)
    ImageDraw.Draw(mask).rounded_rectangle(
        [s // 16, s // 16, s - s // 16, s - s // 16], s // 5, fill=255
    )
    img.paste(grad, (0, 0), mask)
    draw = ImageDraw.Draw(img)
    c, u = s // 2, s // 8
    glyph = j % 4
    if glyph == 0:  # camera
        draw.rounded_rectangle(
            [c - 2 * u, c - u, c + 2 * u, c + 3 * u // 2],
            u // 2,
            outline="white",
            width=max(3, u // 4),
        )
        draw.ellipse([c - u, c - u // 2, c + u, c + u], outline="white", width=max(3, u // 4))
    elif glyph == 1:  # chat bubble
        draw.ellipse([c - 2 * u, c - 3 * u // 2, c + 2 * u, c + 3 * u // 2], fill="white")
        draw.polygon([(c - u, c + u), (c - 2 * u, c + 2 * u), (c, c + u)], fill="white")
    elif glyph == 2:  # a letter
        font = ImageFont.load_default(int(3.5 * u))
        draw.text((c - u, c - 2 * u), str(rng.choice(list("AMPXQ"))), fill="white", font=font)
    else:  # a cross (health)
        draw.rectangle([c - u // 2, c - 2 * u, c + u // 2, c + 2 * u], fill="white")
        draw.rectangle([c - 2 * u, c - u // 2, c + 2 * u, c + u // 2], fill="white")
    return np.asarray(img)


def fresh_images(seed: int = 0) -> list[tuple[str, str, np.ndarray]]:
    """The fresh kinds' images, ``(kind, name, image)``, 16 of each :data:`FRESH_KINDS` kind,
    in a fixed order, from their own random stream (the other kinds' images do not move)."""
    import skimage.data as skd

    rng = np.random.default_rng([seed, 23])
    out: list[tuple[str, str, np.ndarray]] = []
    surfaces = (_wood, _sand, _fabric, _skin_gradient_shapes)
    for j in range(16):
        f = surfaces[j % 4]
        image = f(rng)
        out.append(
            (
                "skin_toned_surface",
                f"{f.__name__.strip('_')}{j // 4}",
                _camera(image, rng) if j % 2 else np.clip(image, 0, 255),
            )
        )
    for j in range(16):
        out.append(("food", f"food{j}", _food(rng, j)))
    motorcycle = skd.stereo_motorcycle()[0]
    scenes: list[tuple[str, np.ndarray]] = [("motorcycle", motorcycle)]
    scenes += [(f"motorcycle_crop{k}", c) for k, c in enumerate(_crops(motorcycle, rng, 2))]
    for j in range(13):
        kind = ("landscape", "room", "street")[j % 3]
        if kind == "landscape":
            image = _landscape(rng)
            scenes.append((f"landscape{j}", _camera(image, rng) if j % 2 else image))
        else:
            scenes.append((f"{kind}{j}", (_room if kind == "room" else _street)(rng)))
    out += [("scene", n, i) for n, i in scenes]
    for j in range(16):
        sheet = _form(rng) if j % 2 == 0 else _receipt(rng)
        desk = (
            _wood(rng, 600, 800) if j % 3 else np.full((600, 800, 3), _tone(rng, (60, 60, 65), 15))
        )
        name = ("form", "receipt")[j % 2]
        out.append(("document_photo", f"{name}{j}", _camera(_warp_onto(sheet, rng, desk), rng)))
    for j in range(12):
        m = _street_map(rng)
        out.append(("map", f"street_map{j}", _camera(m, rng) if j % 4 == 3 else m))
    terrain = _terrain_maps()
    out += [("map", n, i) for n, i in terrain]
    out.append(("map", "dem_terrain_crop", _crops(terrain[0][1], rng, 1)[0]))
    bases = [motorcycle, *(c for c in _crops(motorcycle, rng, 3))]
    for j in range(16):
        base = bases[j] if j < 4 else (_landscape(rng) if j % 3 else _cartoon(rng, j))
        if j >= 4 and j % 3 == 1:
            base = _room(rng)
        out.append(("meme", f"meme{j}", _meme(np.clip(base, 0, 255), rng)))
    for j in range(16):
        image = _emoji(rng, j) if j < 8 else _cartoon(rng, j)
        out.append(("cartoon", f"{'emoji' if j < 8 else 'cartoon'}{j}", image))
    for j in range(16):
        image = _qr(rng) if j < 8 else _barcode(rng)
        name = f"{'qr' if j < 8 else 'barcode'}{j}"
        if j % 4 == 3:  # photographed on a poster or a box
            back = np.full((600, 800, 3), _tone(rng, (180, 120, 90), 40), np.float64)
            image = _camera(_warp_onto(_rgb(image), rng, back, 0.08), rng)
            name += "_photo"
        out.append(("code_pattern", name, image))
    for j in range(12):
        image = _radiograph(rng, j)
        out.append(
            ("medical_grayscale", f"xray{j}", _camera(_rgb(image), rng) if j % 4 == 3 else image)
        )
    mri = _mri()
    out.append(("medical_grayscale", "mri", mri))
    out.append(("medical_grayscale", "mri_inverted", 255 - mri))
    out.append(("medical_grayscale", "mri_crop", _crops(mri, rng, 1)[0]))
    out.append(
        (
            "medical_grayscale",
            "mri_photo",
            _camera(_warp_onto(_rgb(mri), rng, np.full((600, 800, 3), 40.0), 0.05), rng),
        )
    )
    for j in range(16):
        out.append(("app_icon", f"icon{j}", _app_icon(rng, j)))
    return out
