"""Canonical orientation (``poxscan.features.orientation``): a turned or mirrored photo reaches
the backbone in the same pose, in Python, in the lite model and in the on-device page."""

from __future__ import annotations

import base64
from pathlib import Path

import numpy as np
import pytest
from _node import run_module

from poxscan.core.data import load_records
from poxscan.core.imageio import load_image, to_square
from poxscan.features.deep import DeepFeatures
from poxscan.features.orientation import (
    canonical_pose,
    d4_view,
    pose_index,
    pose_scores,
    undo_view,
)

ORIENTATION_JS = Path(__file__).resolve().parents[1] / "web" / "ondevice" / "src" / "orientation.js"


def _views(image: np.ndarray) -> list[np.ndarray]:
    """The eight turns and mirrors of an image, made here with numpy alone."""
    turns = [np.rot90(image, k) for k in range(4)]
    return [np.ascontiguousarray(v) for v in turns + [t[:, ::-1] for t in turns]]


@pytest.fixture(scope="module")
def photos(real_images, data_root) -> list[np.ndarray]:
    """Six square MSLD photos and six ahsan2022 photos of other shapes."""
    ahsan = load_records("ahsan2022", root=data_root)["path"].iloc[::40][:6]
    return list(real_images[:6]) + [load_image(p) for p in ahsan]


def test_views_are_the_eight_symmetries_and_undo_inverts_them(photos):
    image = photos[-1]
    assert image.shape[0] != image.shape[1]
    for k, want in enumerate(_views(image)):
        np.testing.assert_array_equal(d4_view(image, k), want)
        np.testing.assert_array_equal(undo_view(d4_view(image, k), k), image)
    # The numbering is DeepFeatures' tta=8 numbering.
    squares = np.stack([to_square(p, 64) for p in photos[:2]])
    tta = DeepFeatures(tta=8)._views(squares)
    for k in range(8):
        np.testing.assert_array_equal(tta[k][1], d4_view(squares[1], k))


def test_every_turn_and_mirror_of_a_real_photo_gets_the_same_pose(photos):
    poses = [canonical_pose(p) for p in photos]
    assert len({k for _v, k in poses}) > 1  # real photos need different turns
    for (canon, _k), photo in zip(poses, photos, strict=True):
        for view in _views(photo):
            np.testing.assert_array_equal(canonical_pose(view)[0], canon)
            # So the network's square is the same too (resizing is not exactly symmetric,
            # which is why the pose is chosen before it).
            np.testing.assert_array_equal(
                to_square(canonical_pose(view)[0], 260), to_square(canon, 260)
            )


def test_the_pose_puts_the_brighter_side_where_the_module_says():
    # A dark picture, 40 x 64, with a bright block at the top left, wider than tall.
    image = np.full((40, 64, 3), 40, np.uint8)
    image[2:10, 0:30] = 230
    for view in _views(image):
        canon, _ = canonical_pose(view)
        h, w = canon.shape[:2]
        rows, cols = np.nonzero(canon[..., 0] > 128)
        # The block's centre in [-1, 1] coordinates (x to the right, y down).
        x = (2 * cols.mean() - (w - 1)) / (w - 1)
        y = (2 * rows.mean() - (h - 1)) / (h - 1)
        assert x > 0 and y > 0 and x > y  # the sector m_x >= m_y >= 0


def test_a_symmetric_photo_keeps_its_pose():
    flat = np.full((16, 24, 3), 128, np.uint8)
    assert pose_index(flat) == 0  # ties go to the lowest view: the photo as it is
    assert np.all(pose_scores(flat) == 0)
    assert canonical_pose(flat)[0] is flat


def test_pose_scores_reject_what_is_not_rgb():
    with pytest.raises(ValueError, match="RGB"):
        pose_scores(np.zeros((8, 9), np.uint8))


@pytest.mark.deep
def test_deep_features_on_the_canonical_pose_ignore_turns_and_mirrors(photos):
    oriented = DeepFeatures(orient="canonical").fit(photos[:1])
    plain = DeepFeatures().fit(photos[:1])
    base = oriented.transform(photos)
    for changed in ([np.rot90(p) for p in photos], [p[:, ::-1] for p in photos]):
        np.testing.assert_array_equal(oriented.transform(changed), base)
    # Not the plain embedding: a photo whose pose needed a turn is embedded differently, and
    # the plain embedding does change when the photo is turned.
    assert not np.allclose(plain.transform(photos), base)
    assert not np.allclose(plain.transform([np.rot90(p) for p in photos]), plain.transform(photos))
    assert oriented.fingerprint() != plain.fingerprint()
    assert oriented.get_feature_names_out().tolist() == plain.get_feature_names_out().tolist()


def test_orient_options_are_checked(photos):
    with pytest.raises(ValueError, match="unknown orient"):
        DeepFeatures(orient="upright").fit(photos[:1]).get_feature_names_out()
    with pytest.raises(ValueError, match="tta=0"):
        DeepFeatures(orient="canonical", tta=8).fit(photos[:1]).get_feature_names_out()


HARNESS = """
const m = await import(process.argv[1]);
const chunks = [];
for await (const c of process.stdin) chunks.push(c);
const job = JSON.parse(Buffer.concat(chunks).toString());
const out = job.images.map((c) => {
  const rgb = Uint8ClampedArray.from(Buffer.from(c.rgb, "base64"));
  const k = m.poseIndex(rgb, c.width, c.height);
  const view = m.d4View(rgb, c.width, c.height, k);
  return { k, width: view.width, height: view.height,
           rgb: Buffer.from(view.rgb).toString("base64") };
});
process.stdout.write(JSON.stringify(out));
"""


def test_the_page_poses_photos_as_python_does(photos):
    cases = [v for p in photos for v in _views(p)[::3]]  # views 0, 3 and 6 of each
    job = {
        "images": [
            {
                "rgb": base64.b64encode(c.tobytes()).decode(),
                "width": c.shape[1],
                "height": c.shape[0],
            }
            for c in cases
        ]
    }
    page = run_module(HARNESS, ORIENTATION_JS, job, timeout=120)
    for got, case in zip(page, cases, strict=True):
        want, k = canonical_pose(case)
        assert got["k"] == k
        view = np.frombuffer(base64.b64decode(got["rgb"]), np.uint8)
        np.testing.assert_array_equal(view.reshape(got["height"], got["width"], 3), want)


@pytest.mark.slow
@pytest.mark.deep
def test_the_picture_map_follows_the_photo_when_it_is_turned(msld_records):
    from poxscan.pipelines.image_model import ImageModel
    from poxscan.pipelines.saliency import deep_gradient_cam

    records = msld_records.groupby("y", group_keys=False).head(12)
    model = ImageModel(
        families={"deep": {"orient": "canonical"}},
        pipeline={
            "families": ["deep"],
            "selector": "anova",
            "k": 64,
            "classifier": "logreg",
            "params": {"C": 0.01},
        },
        cv=3,
    ).fit([load_image(p) for p in records["path"]], records["y"], records["patient"])
    photo = load_image(records["path"].iloc[0])
    first = deep_gradient_cam(model, photo, target="mpox")
    assert first is not None
    for k in (1, 5):  # a quarter turn; a mirror of a quarter turn
        turned = deep_gradient_cam(model, d4_view(photo, k), target="mpox")
        # The map is made on the same canonical pose and turned back with the photo.
        np.testing.assert_allclose(turned.heat, d4_view(first.heat, k), atol=1e-9)
        np.testing.assert_array_equal(turned.image, d4_view(first.image, k))
