"""LIME explanations on real images: a mask that covers some but not all of the image, the same
mask for the same seed, overlays as PNG, for a classical model (a black box over images) and a
CNN, and the ``poxscan explain`` command."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from _trained_models import feature_data

from poxscan.cli import main
from poxscan.core.imageio import load_image
from poxscan.pipelines.lime_explain import explain_model, overlay_png, write_overlay
from poxscan.predict import Predictor

N_SAMPLES = 60  # small: the test is about the mechanics, not the quality of the explanation


@pytest.fixture(scope="module")
def predictor(model_dir) -> Predictor:
    return Predictor.load(model_dir, explain=False)


@pytest.fixture(scope="module")
def image_path(root, data_root) -> str:
    _, y, _, paths = feature_data(root, str(data_root))
    return next(p for p, t in zip(paths, y, strict=True) if t == 1)


@pytest.fixture(scope="module")
def explained(predictor, image_path):
    image = load_image(image_path)
    return (
        explain_model(predictor, image, num_samples=N_SAMPLES, seed=7),
        explain_model(predictor, image, num_samples=N_SAMPLES, seed=7),
        explain_model(predictor, image, num_samples=N_SAMPLES, seed=8),
    )


def test_mask_covers_some_but_not_all_of_the_image(explained, predictor, image_path):
    e, _, _ = explained
    assert e.image.shape == (224, 224, 3) and e.mask.shape == e.segments.shape == (224, 224)
    assert 0.0 < e.coverage < 1.0
    n = int(e.segments.max()) + 1
    assert 10 <= n <= 100 and sorted(np.unique(e.segments)) == list(range(n))
    # The mask is made of whole superpixels, each with a positive weight.
    for k in np.unique(e.segments[e.mask]):
        assert e.mask[e.segments == k].all() and e.weights[int(k)] > 0
    # The explained label is the model's own decision on this image.
    p = predictor.predict_image(load_image(image_path), top_k=0).probability
    assert e.probability == pytest.approx(p, abs=1e-9)
    assert e.label == ("mpox" if p >= e.threshold else "not_mpox")


def test_same_seed_same_mask(explained):
    a, b, c = explained
    np.testing.assert_array_equal(a.segments, b.segments)
    np.testing.assert_array_equal(a.mask, b.mask)
    assert a.weights == b.weights
    # Another seed draws other samples: the weights change.
    assert a.weights != c.weights


def test_overlay_png(explained, tmp_path):
    e, _, _ = explained
    png = overlay_png(e)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    drawn = load_image(png, name="overlay.png")
    assert drawn.shape[0] > 200 and drawn.shape[1] > 400
    path = write_overlay(e, tmp_path / "out" / "overlay.png")
    assert path.read_bytes()[:8] == png[:8]
    assert [p.name for p in path.parent.iterdir()] == ["overlay.png"]  # no temporary left
    summary = e.to_dict()
    assert summary["method"] == "lime" and summary["seed"] == 7
    assert len(summary["highlighted_superpixels"]) == len(np.unique(e.segments[e.mask]))
    json.dumps(summary)


def test_overlay_for_an_upload(predictor, image_path):
    from poxscan.core.imageio import ImageLoadError
    from poxscan.pipelines.lime_explain import lime_overlay

    png, summary = lime_overlay(
        predictor, Path(image_path).read_bytes(), name="up.jpg", num_samples=20, seed=1
    )
    assert png[:4] == b"\x89PNG" and 0 < summary["coverage"] < 1
    with pytest.raises(ImageLoadError, match=r"up\.jpg"):
        lime_overlay(predictor, b"not an image", name="up.jpg", num_samples=20)


def test_cnn_is_explained_too(msld_records):
    from poxscan.pipelines.cnn_model import FineTunedCNN
    from poxscan.pipelines.finetune import build_classifier

    # An ImageNet backbone with a seeded (untrained) head: a real CNN over real pixels.
    model, _ = build_classifier("efficientnet-lite0", image_size=96, seed=0)
    cnn = FineTunedCNN(model, "efficientnet-lite0", 96)
    image = load_image(msld_records["path"].iloc[0])
    a = explain_model(cnn, image, num_samples=40, seed=1, n_segments=30)
    b = explain_model(cnn, image, num_samples=40, seed=1, n_segments=30)
    assert a.image.shape == (96, 96, 3)
    np.testing.assert_array_equal(a.mask, b.mask)
    assert 0.0 < a.coverage < 1.0
    assert a.model_name == "fine-tuned efficientnet-lite0"


def test_cli_writes_the_overlay(model_dir, image_path, tmp_path, capsys):
    out = tmp_path / "o.png"
    rc = main(
        [
            "explain", "--method", "lime", image_path, "--model", str(model_dir),
            "--out", str(out), "--num-samples", "30", "--seed", "3", "--json",
        ]
    )  # fmt: skip
    assert rc == 0 and out.read_bytes()[:4] == b"\x89PNG"
    payload = json.loads(capsys.readouterr().out)
    assert payload["overlay"] == str(out) and payload["num_samples"] == 30
    assert payload["label"] in ("mpox", "not_mpox")
    # A bad image is a clear error naming the file.
    bad = tmp_path / "bad.jpg"
    bad.write_text("not an image")
    assert main(["explain", str(bad), "--model", str(model_dir), "--out", str(out)]) == 2
    assert "bad.jpg" in capsys.readouterr().err
