"""Colour, texture and HOG extractors on real MSLD images."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from sklearn.base import clone

from poxscan.features import ColorFeatures, HOGFeatures, TextureFeatures, make_extractor

FAMILIES = {"color": ColorFeatures, "texture": TextureFeatures, "hog": HOGFeatures}
#: Parameter changes that must change both the fingerprint and the output.
PARAM_CHANGES = {
    "color": {"bins": 8},
    "texture": {"levels": 16},
    "hog": {"pixels_per_cell": (8, 8)},
}


def _hue_shift(image: np.ndarray, degrees: int) -> np.ndarray:
    hsv = cv2.cvtColor(image, cv2.COLOR_RGB2HSV_FULL)
    hsv[..., 0] = (hsv[..., 0].astype(int) + degrees * 256 // 360) % 256
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB_FULL)


def _blur(image: np.ndarray) -> np.ndarray:
    return cv2.GaussianBlur(image, (0, 0), sigmaX=3)


@pytest.fixture(scope="module")
def outputs(real_images):
    """Each family's fitted extractor and its features of the six real images."""
    out = {}
    for family in FAMILIES:
        ext = make_extractor(family).fit(real_images)
        out[family] = (ext, ext.transform(real_images))
    return out


@pytest.mark.parametrize("family", list(FAMILIES))
def test_shape_names_and_values(family, outputs, real_images):
    ext, X = outputs[family]
    names = ext.get_feature_names_out()
    assert isinstance(ext, FAMILIES[family])
    assert X.dtype == np.float32
    assert X.shape == (len(real_images), len(names)) == (len(real_images), ext.n_features_out_)
    assert len(set(names)) == len(names)
    assert all(name.startswith(f"{family}__") for name in names)
    assert np.isfinite(X).all()
    # Real images differ: every image has its own feature vector.
    assert len({row.tobytes() for row in X}) == len(real_images)


def test_expected_sizes(outputs):
    """The documented layouts: HOG 7x7 blocks x 2x2 cells x 9 orientations, LBP P+2 bins."""
    hog_ext, hog_X = outputs["hog"]
    assert hog_X.shape[1] == 7 * 7 * 2 * 2 * 9 == 1764
    names = list(hog_ext.get_feature_names_out())
    assert names[0] == "hog__block0_0_cell0_0_ori0"
    assert names[-1] == "hog__block6_6_cell1_1_ori8"
    tex_names = list(outputs["texture"][0].get_feature_names_out())
    for p in (8, 16, 24):
        assert sum(n.startswith(f"texture__lbp_p{p}_") for n in tex_names) == p + 2
    assert "texture__glcm_contrast_d4_range" in tex_names
    color_names = list(outputs["color"][0].get_feature_names_out())
    assert sum("_hist" in n for n in color_names) == 6 * 16
    assert {"color__hsv_h_cos", "color__hsv_h_sin", "color__lab_a_skew"} <= set(color_names)


def test_histograms_are_normalised(outputs):
    color_ext, color_X = outputs["color"]
    names = color_ext.get_feature_names_out()
    for channel in ("hsv_h", "hsv_s", "lab_l", "lab_b"):
        cols = [i for i, n in enumerate(names) if n.startswith(f"color__{channel}_hist")]
        np.testing.assert_allclose(color_X[:, cols].sum(axis=1), 1.0, atol=1e-5)
    tex_ext, tex_X = outputs["texture"]
    names = tex_ext.get_feature_names_out()
    cols = [i for i, n in enumerate(names) if n.startswith("texture__lbp_p16_")]
    np.testing.assert_allclose(tex_X[:, cols].sum(axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize("family", list(FAMILIES))
def test_deterministic(family, outputs, real_images):
    ext, X = outputs[family]
    np.testing.assert_array_equal(ext.transform(real_images), X)
    fresh = make_extractor(family).fit(real_images[:1])
    np.testing.assert_array_equal(fresh.transform(real_images[::-1]), X[::-1])
    assert fresh.fingerprint() == ext.fingerprint()


@pytest.mark.parametrize("family", list(FAMILIES))
def test_flat_and_black_images_give_finite_features(family):
    flat = [
        np.zeros((50, 70, 3), np.uint8),
        np.full((224, 224, 3), 255, np.uint8),
        np.full((31, 17, 3), (180, 40, 60), np.uint8),
        np.full((300, 200, 3), 128, np.uint8),
    ]
    ext = make_extractor(family).fit(flat)
    X = ext.transform(flat)
    assert X.shape == (4, ext.n_features_out_)
    assert np.isfinite(X).all()


def test_hue_shift_changes_colour_not_hog(outputs, real_images):
    color_ext, color_X = outputs["color"]
    shifted = [_hue_shift(img, 90) for img in real_images]
    names = color_ext.get_feature_names_out()
    hue_cols = [i for i, n in enumerate(names) if n.startswith("color__hsv_h_")]
    diff = np.abs(color_ext.transform(shifted)[:, hue_cols] - color_X[:, hue_cols])
    assert (diff.max(axis=1) > 0.1).all()
    # Hue carries no gradient information: HOG (on luma) moves far less than colour does.
    hog_ext, hog_X = outputs["hog"]
    hog_change = np.abs(hog_ext.transform(shifted) - hog_X).mean()
    blur_change = np.abs(hog_ext.transform([_blur(i) for i in real_images]) - hog_X).mean()
    assert hog_change < blur_change


def test_hue_statistics_are_circular():
    """Red just below and just above 0 degrees: the mean hue is red, not cyan (180 degrees)."""
    ext = ColorFeatures(spaces=("hsv",)).fit([np.zeros((8, 8, 3), np.uint8)])
    image = np.zeros((64, 64, 3), np.uint8)
    image[:, :32] = (255, 0, 20)  # hue about 355 degrees
    image[:, 32:] = (255, 20, 0)  # hue about 5 degrees
    row = dict(zip(ext.get_feature_names_out(), ext.transform([image])[0], strict=True))
    assert row["color__hsv_h_cos"] > 0.95
    assert abs(row["color__hsv_h_sin"]) < 0.05
    assert row["color__hsv_h_circstd"] < 0.2


@pytest.mark.parametrize("family", ["texture", "hog"])
def test_blur_changes_texture_and_hog(family, outputs, real_images):
    ext, X = outputs[family]
    blurred = ext.transform([_blur(img) for img in real_images])
    assert (np.abs(blurred - X).max(axis=1) > 0.01).all()


def test_blur_lowers_glcm_contrast(outputs, real_images):
    ext, X = outputs["texture"]
    col = list(ext.get_feature_names_out()).index("texture__glcm_contrast_d1_mean")
    blurred = ext.transform([_blur(img) for img in real_images])
    assert (blurred[:, col] < X[:, col]).all()


@pytest.mark.parametrize("family", list(FAMILIES))
def test_clone_and_params_change_fingerprint(family, outputs, real_images):
    ext, X = outputs[family]
    cloned = clone(ext)
    assert cloned.get_params() == ext.get_params()
    assert not hasattr(cloned, "feature_names_out_")
    assert cloned.fingerprint() == ext.fingerprint()
    np.testing.assert_array_equal(cloned.fit(real_images).transform(real_images), X)

    changed = clone(ext).set_params(**PARAM_CHANGES[family])
    assert changed.fingerprint() != ext.fingerprint()
    assert changed.fingerprint().startswith(f"{family}-")
    X2 = changed.fit(real_images).transform(real_images)
    assert X2.shape != X.shape or not np.array_equal(X2, X)


def test_any_image_size_is_fitted_by_to_square(real_images):
    """A big non-square photo and its centre crop at 224 px give close colour statistics."""
    ext = ColorFeatures().fit(real_images)
    big = cv2.resize(real_images[0], (448, 448), interpolation=cv2.INTER_CUBIC)
    wide = np.concatenate([np.zeros((448, 100, 3), np.uint8), big, big[:, :100]], axis=1)
    a, b = ext.transform([real_images[0], wide])
    assert np.abs(a - b).mean() < 0.05


@pytest.mark.parametrize(
    ("family", "params"),
    [
        ("color", {"spaces": ("hsv", "rgbx")}),
        ("color", {"bins": 1}),
        ("texture", {"levels": 1}),
        ("texture", {"props": ("contrast", "nonsense")}),
        ("hog", {"image_size": 16, "pixels_per_cell": (16, 16)}),
        ("hog", {"block_norm": "L3"}),
    ],
)
def test_bad_params_are_named(family, params, real_images):
    with pytest.raises(ValueError, match=r"\S"):
        make_extractor(family, **params).fit(real_images)


def test_rejects_non_images():
    ext = HOGFeatures()
    with pytest.raises(ValueError, match="uint8"):
        ext.fit([np.zeros((8, 8, 3), np.float32)])
    with pytest.raises(ValueError, match="one image"):
        ext.fit(np.zeros((8, 8, 3), np.uint8))


# -- the fast paths against the libraries' own implementations ---------------------------------
def test_uniform_lbp_matches_skimage_within_the_documented_tolerance(real_images):
    from skimage.feature import local_binary_pattern

    from poxscan.core.imageio import to_square
    from poxscan.features.texture import uniform_lbp

    for image in real_images:
        grey = cv2.cvtColor(to_square(image, 224), cv2.COLOR_RGB2GRAY)
        for p, r in ((8, 1), (16, 2), (24, 3)):
            ours = uniform_lbp(grey, p, r)
            ref = local_binary_pattern(grey, p, r, method="uniform").astype(np.int64)
            h_ours = np.bincount(ours.ravel(), minlength=p + 2) / ours.size
            h_ref = np.bincount(ref.ravel(), minlength=p + 2) / ref.size
            assert np.abs(h_ours - h_ref).max() <= 1.5e-3
            assert np.mean(ours != ref) < 0.01
            if p == 8:
                np.testing.assert_array_equal(ours, ref)  # no ties off the pixel grid


def test_uniform_lbp_histogram_counts_the_codes(real_images):
    """The histogram counted from the 8-bit ones / changes equals bincount of the codes, which
    equal skimage's up to the documented ties (exactly for P = 8), also on images with many
    exact ties (flat patches, steps) and for P that are not a multiple of 8."""
    from skimage.feature import local_binary_pattern

    from poxscan.core.imageio import to_square
    from poxscan.features.texture import uniform_lbp, uniform_lbp_histogram

    steps = np.repeat(np.repeat(np.arange(0, 250, 50, dtype=np.uint8), 9)[None, :], 40, axis=0)
    greys = [cv2.cvtColor(to_square(im, 224), cv2.COLOR_RGB2GRAY) for im in real_images]
    greys += [steps, np.full((30, 41), 77, np.uint8), steps.T.copy()]
    for grey in greys:
        for p, r in ((8, 1), (16, 2), (24, 3), (4, 1), (12, 1.5)):
            codes = uniform_lbp(grey, p, r)
            hist = uniform_lbp_histogram(grey, p, r)
            assert hist.shape == (p + 2,) and hist.sum() == grey.size
            np.testing.assert_array_equal(hist, np.bincount(codes.ravel(), minlength=p + 2))
            ref = local_binary_pattern(grey, p, r, method="uniform").astype(np.int64)
            h_ref = np.bincount(ref.ravel(), minlength=p + 2)
            assert np.abs(hist - h_ref).max() / grey.size <= 1.5e-3
            if p in (8, 4) and grey.shape == (224, 224):
                np.testing.assert_array_equal(hist, h_ref)
    with pytest.raises(ValueError, match="P <= 127"):
        uniform_lbp_histogram(greys[0], 128, 5)


def test_colour_fast_path_equals_numpy_on_the_pixels(real_images):
    """Every Lab and HSV statistic against numpy/scipy on the pixels themselves.

    Tolerance: 1e-6 absolute (and 1e-5 relative); the level counts give the same values up to
    summation order, and the hue resultant comes from OpenCV's polarToCart, whose cosines and
    sines are within 3e-7 of numpy's.
    """
    from scipy.stats import kurtosis, skew

    from poxscan.core.imageio import to_square

    ext = ColorFeatures().fit(real_images[:1])
    names = list(ext.get_feature_names_out())
    got = ext.transform(real_images)
    for row, image in zip(got, real_images, strict=True):
        square = to_square(image, 224)
        lab = cv2.cvtColor(square, cv2.COLOR_RGB2Lab).reshape(-1, 3).astype(np.float64)
        lab[:, 0] *= 100.0 / 255.0
        lab[:, 1:] -= 128.0
        hsv = cv2.cvtColor(square.astype(np.float32) / 255.0, cv2.COLOR_RGB2HSV).reshape(-1, 3)
        hsv = hsv.astype(np.float64)
        channels = (
            ("lab_l", lab[:, 0], (0, 100)),
            ("lab_a", lab[:, 1], (-90, 100)),
            ("lab_b", lab[:, 2], (-110, 100)),
            ("hsv_s", hsv[:, 1], (0, 1)),
            ("hsv_v", hsv[:, 2], (0, 1)),
        )
        for prefix, values, (lo, hi) in channels:
            hist, _ = np.histogram(np.clip(values, lo, hi), bins=16, range=(lo, hi))
            want = [*(hist / values.size), values.mean(), values.std()]
            want += [skew(values), kurtosis(values)]
            want += list(np.percentile(values, [10, 50, 90]))
            cols = [f"{prefix}_hist{i:02d}" for i in range(16)]
            cols += [f"{prefix}_{k}" for k in ("mean", "std", "skew", "kurt", "p10", "p50", "p90")]
            idx = [names.index(f"color__{c}") for c in cols]
            np.testing.assert_allclose(row[idx], want, rtol=1e-5, atol=1e-6)
        hue, sat = hsv[:, 0] % 360.0, hsv[:, 1]
        hist, _ = np.histogram(hue, bins=16, range=(0, 360), weights=sat)
        theta = np.deg2rad(hue)
        c, s = np.sum(sat * np.cos(theta)) / sat.sum(), np.sum(sat * np.sin(theta)) / sat.sum()
        want = [*(hist / hist.sum()), c, s, np.sqrt(-2.0 * np.log(np.hypot(c, s)))]
        cols = [f"hsv_h_hist{i:02d}" for i in range(16)] + ["hsv_h_cos", "hsv_h_sin"]
        idx = [names.index(f"color__{c}") for c in [*cols, "hsv_h_circstd"]]
        np.testing.assert_allclose(row[idx], want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    ("levels", "distances", "angles"),
    [(32, (1, 2, 4), (0, 45, 90, 135)), (16, (1, 3), (30, 60, 120, 150)), (256, (5,), (0, 90))],
)
def test_cooccurrence_and_haralick_properties_equal_skimage(real_images, levels, distances, angles):
    """calcHist counts and the one-pass properties against graycomatrix / graycoprops."""
    from skimage.feature import graycomatrix, graycoprops

    from poxscan.core.imageio import to_square
    from poxscan.features.texture import GLCM_PROPS, cooccurrence, glcm_properties

    images = [cv2.cvtColor(to_square(im, 224), cv2.COLOR_RGB2GRAY) for im in real_images]
    images.append(np.full((40, 30), 200, np.uint8))  # flat: correlation's 0/0 case
    for grey in images:
        q = (grey.astype(np.uint16) * levels // 256).astype(np.uint8)
        ref = graycomatrix(q, distances, np.deg2rad(angles), levels, symmetric=True, normed=True)
        ours = cooccurrence(q, distances, angles, levels)
        np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-15)
        props = glcm_properties(ours, sorted(GLCM_PROPS))
        for prop in sorted(GLCM_PROPS):
            np.testing.assert_allclose(props[prop], graycoprops(ref, prop), rtol=1e-12, atol=1e-12)


def _texture_test_images(real_images: list[np.ndarray]) -> list[np.ndarray]:
    """The real images, a flat one (correlation's 0/0, entropy 0) and one of flat steps (many
    exact LBP ties), at other sizes than the square."""
    steps = np.repeat(np.arange(0, 250, 25, dtype=np.uint8), 30)[None, :].repeat(260, axis=0)
    return [*real_images, np.full((180, 250, 3), 90, np.uint8), np.dstack([steps] * 3)]


@pytest.mark.parametrize("props", [None, ("ASM", "mean", "variance", "std", "entropy")])
def test_texture_glcm_columns_equal_skimage(real_images, props):
    """The extractor's GLCM columns (pairs counted by calcHist, moments from the marginals,
    entropy from the integer counts) against skimage's graycomatrix / graycoprops on the same
    quantised square, mean and range over the angles: within float32 rounding (the float64
    values agree to about 1e-15)."""
    from skimage.feature import graycomatrix, graycoprops

    from poxscan.features._base import reduced_square

    ext = TextureFeatures(**({} if props is None else {"props": props})).fit(real_images[:1])
    names = list(ext.get_feature_names_out())
    images = _texture_test_images(real_images)
    for row, image in zip(ext.transform(images), images, strict=True):
        grey = cv2.cvtColor(reduced_square(image, 224), cv2.COLOR_RGB2GRAY)
        quantised = (grey.astype(np.uint16) * 32 // 256).astype(np.uint8)
        angles = np.deg2rad(ext.angles)
        glcm = graycomatrix(quantised, ext.distances, angles, 32, symmetric=True, normed=True)
        for prop in ext.props:
            want = graycoprops(glcm, prop)  # (distances, angles)
            for i, d in enumerate(ext.distances):
                mean = row[names.index(f"texture__glcm_{prop}_d{d}_mean")]
                spread = row[names.index(f"texture__glcm_{prop}_d{d}_range")]
                np.testing.assert_allclose(mean, want[i].mean(), rtol=1e-6, atol=1e-6)
                np.testing.assert_allclose(spread, np.ptp(want[i]), rtol=1e-6, atol=2e-6)


def test_texture_lbp_columns_match_skimage(real_images):
    """The extractor's LBP columns (all (P, R) on one workspace) against skimage's
    local_binary_pattern histograms of the same grey square: equal for (8, 1) on the real
    images (no ties off the pixel grid), within the documented 1.5e-3 elsewhere."""
    from skimage.feature import local_binary_pattern

    from poxscan.features._base import reduced_square

    ext = TextureFeatures(lbp=((8, 1), (16, 2), (24, 3), (12, 1.5))).fit(real_images[:1])
    names = list(ext.get_feature_names_out())
    images = _texture_test_images(real_images)
    for k, (row, image) in enumerate(zip(ext.transform(images), images, strict=True)):
        grey = cv2.cvtColor(reduced_square(image, 224), cv2.COLOR_RGB2GRAY)
        for p, r in ext.lbp:
            cols = [names.index(f"texture__lbp_p{p}_r{r:g}_bin{b:02d}") for b in range(p + 2)]
            codes = local_binary_pattern(grey, p, r, method="uniform").astype(np.int64)
            want = np.bincount(codes.ravel(), minlength=p + 2) / codes.size
            assert np.abs(row[cols] - want).max() <= 1.5e-3
            if p == 8 and k < len(real_images):
                np.testing.assert_allclose(row[cols], want, rtol=0, atol=1e-7)


@pytest.mark.parametrize(
    ("size", "orientations", "ppc", "cpb", "norm"),
    [
        (128, 9, (16, 16), (2, 2), "L2-Hys"),
        (100, 7, (9, 11), (3, 2), "L1"),
        (64, 12, (8, 8), (1, 1), "L1-sqrt"),
        (90, 4, (10, 10), (2, 3), "L2"),
    ],
)
def test_hog_descriptor_matches_skimage(real_images, size, orientations, ppc, cpb, norm):
    """Within 1e-6: skimage sums each cell in float32 pixel by pixel, ours in float64."""
    from skimage.feature import hog

    from poxscan.core.imageio import to_square
    from poxscan.features.hog import hog_descriptor

    for image in real_images:
        grey = cv2.cvtColor(to_square(image, size), cv2.COLOR_RGB2GRAY).astype(np.float32) / 255
        ref = hog(grey, orientations, ppc, cpb, block_norm=norm, feature_vector=True)
        ours = hog_descriptor(grey, orientations, ppc, cpb, norm)
        assert ours.shape == ref.shape and ours.dtype == np.float32
        np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-6)


@pytest.mark.parametrize("orientations", [4, 7, 9, 11, 13])
def test_hog_orientation_bins_at_the_float32_edges(orientations):
    """Orientations one float64 step either side of skimage's float32 edges land as skimage's
    comparisons ``e_i <= o < e_{i+1}`` put them (none at or above the last edge)."""
    from poxscan.features.hog import _orientation_bins

    n = orientations
    edges = (np.float32(180.0 / n) * np.arange(n + 1, dtype=np.float32)).astype(np.float64)
    values = np.concatenate(
        [np.nextafter(edges, -np.inf), edges, np.nextafter(edges, np.inf), [0.0, 90.0]]
    )
    values = values[(values >= 0) & (values <= 180)]
    want = [next((i for i in range(n) if edges[i] <= v < edges[i + 1]), n) for v in values]
    np.testing.assert_array_equal(_orientation_bins(values, n), want)


def test_texture_scratch_arrays_are_safe_across_sizes_and_threads(real_images):
    """Reused scratch arrays: features do not depend on what ran before or on another thread."""
    from concurrent.futures import ThreadPoolExecutor

    small, large = TextureFeatures(image_size=96), TextureFeatures()
    for ext in (small, large):
        ext.fit(real_images[:1])
    alone = [ext.transform(real_images) for ext in (small, large)]
    rows: dict[int, list[np.ndarray]] = {id(small): [], id(large): []}
    for image in real_images:  # sizes interleaved image by image
        for ext in (large, small):
            rows[id(ext)].append(ext.transform([image])[0])
    mixed = [np.stack(rows[id(ext)]) for ext in (small, large)]
    with ThreadPoolExecutor(2) as pool:
        threaded = list(pool.map(lambda ext: ext.transform(real_images), (small, large)))
    for want, got_mixed, got_threaded in zip(alone, mixed, threaded, strict=True):
        np.testing.assert_array_equal(got_mixed, want)
        np.testing.assert_array_equal(got_threaded, want)


@pytest.mark.parametrize(
    ("height", "width"), [(3248, 4872), (4872, 3248), (3000, 4000), (2016, 928), (900, 1350)]
)
@pytest.mark.parametrize("size", [224, 128, 96])
def test_fit_square_is_to_square(height, width, size, real_images):
    """Resizing only the window under the centre square gives to_square's very pixels."""
    from poxscan.core.imageio import to_square
    from poxscan.features import _base

    rng = np.random.default_rng(height * width + size)
    noise = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    photo = cv2.resize(real_images[0], (width, height), interpolation=cv2.INTER_CUBIC)
    for image in (noise, photo):
        np.testing.assert_array_equal(_base.fit_square(image, size), to_square(image, size))
    # 3:2 photos do take the window path (the saving this exists for).
    if (height, width) == (3248, 4872):
        new_w = round(width * size / height)
        assert _base._exact_window(width, new_w, (new_w - size) // 2, size) == (812, 4060)
    for image in real_images:
        np.testing.assert_array_equal(_base.fit_square(image, size), to_square(image, size))


@pytest.fixture(scope="module")
def large_photos(data_root):
    """Real phone photos of ahsan2022 with a shorter side of at least 512 px: two of each size
    (of 928 x 2016, 700 x 1029, 1646 x 1844, 1380 x 1900 and 3248 x 4872 px)."""
    from PIL import Image

    from poxscan.core.data import load_records
    from poxscan.core.imageio import load_image

    picked: dict[tuple[int, int], list[str]] = {}
    for path in load_records("ahsan2022", root=data_root)["path"]:
        with Image.open(path) as im:
            size = im.size
        if min(size) >= 512 and len(picked.setdefault(size, [])) < 2:
            picked[size].append(path)
    return [load_image(p) for paths in picked.values() for p in paths]


@pytest.mark.parametrize("size", [224, 128, 96])
def test_reduced_square_is_to_square_within_the_documented_tolerance(size, large_photos):
    """Large real photos: at most 1 grey level from to_square's pixels on average at 224 and
    128 px (documented: 0.45 / 0.43, worst photo 0.92), 1.5 at 96 px (0.76, worst 1.39), 99 %
    of pixels within 8 (12) levels; where the shorter side is under 4 x size, exactly
    fit_square's (to_square's) pixels."""
    from poxscan.core.imageio import to_square
    from poxscan.features import _base

    assert len(large_photos) >= 8
    reduced = 0
    for image in large_photos:
        ours, ref = _base.reduced_square(image, size), to_square(image, size)
        assert ours.shape == (size, size, 3) and ours.dtype == np.uint8
        assert ours.flags["C_CONTIGUOUS"]
        diff = np.abs(ours.astype(int) - ref.astype(int))
        if min(image.shape[:2]) < 4 * size:
            np.testing.assert_array_equal(ours, ref)
        else:
            reduced += 1
            assert diff.mean() <= (1.0 if size >= 128 else 1.5)
            assert np.percentile(diff, 99) <= (8 if size >= 128 else 12)
    assert reduced >= 4  # the halving path did run
    # A smooth synthetic photo of odd sides: the halvings cost at most rounding.
    yy, xx = np.mgrid[0:2001, 0:3003]
    smooth = np.stack([xx * 255 // 3003, yy * 255 // 2001, (xx + yy) * 255 // 5004], axis=-1)
    smooth = smooth.astype(np.uint8)
    diff = np.abs(_base.reduced_square(smooth, size).astype(int) - to_square(smooth, size))
    assert diff.max() <= 2


def test_handcrafted_families_use_the_reduced_square(large_photos):
    """The families' features of a large photo are those of its reduced square."""
    from poxscan.features import _base

    image = max(large_photos, key=lambda im: im.shape[0] * im.shape[1])
    for family in FAMILIES:
        ext = make_extractor(family).fit([image])
        size = int(ext.get_params()["image_size"])
        square = _base.reduced_square(image, size)
        np.testing.assert_array_equal(ext.transform([image]), ext.transform([square]))
