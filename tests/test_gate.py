"""The input gate: each refusal reason from an image made for it, the conformal threshold, the
gate saved hash-checked in the model directory, refusals in Predictor, CLI, API and report."""

from __future__ import annotations

import io
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from _gate_models import gate_model_dir
from _trained_models import copy_model, flip_byte, trained_model_dir
from PIL import Image

from poxscan.core.image_checks import MIN_SIDE, REASONS, check_pixels
from poxscan.core.imageio import to_square
from poxscan.pipelines.gate import (
    SCREEN_CLASSES,
    EmbeddingGate,
    InputGate,
    conformal_threshold,
    load_gate,
)


def _png(image: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG")
    return buf.getvalue()


def _made_for(reason: str, photos: list[np.ndarray]) -> np.ndarray:
    """An image that should fail exactly this check, made from real photos."""
    photo = photos[0].astype(np.float64)
    if reason == "too_small":
        return cv2.resize(photos[0], (MIN_SIDE - 1, MIN_SIDE + 40), interpolation=cv2.INTER_AREA)
    if reason == "blank":
        return np.full((300, 300, 3), (231, 190, 160), np.uint8)  # one skin tone
    if reason == "too_dark":
        return (photo * 0.08).astype(np.uint8)
    if reason == "too_bright":
        return np.clip(photo * 0.6 + 170, 0, 255).astype(np.uint8)  # over-exposed
    if reason == "too_blurry":
        return cv2.GaussianBlur(photos[0], (0, 0), 12)
    if reason == "collage":
        tiles = [to_square(p, 150) for p in photos[1:5]]
        return np.vstack([np.hstack(tiles[:2]), np.hstack(tiles[2:])])
    raise KeyError(reason)


@pytest.mark.parametrize(
    "reason", ["too_small", "blank", "too_dark", "too_bright", "too_blurry", "collage"]
)
def test_each_pixel_reason_is_triggered_by_an_image_made_for_it(reason, photos):
    finding = check_pixels(_made_for(reason, photos))
    assert not finding.screenable
    assert finding.code == reason
    assert finding.message == REASONS[reason][0] and finding.advice == REASONS[reason][1]
    if reason == "too_small":
        assert str(MIN_SIDE) in finding.message


def test_real_lesion_photos_pass_the_pixel_checks(photos):
    for photo in photos:
        finding = check_pixels(photo)
        assert finding.screenable and finding.code == "ok", finding.checks


def test_conformal_threshold_is_the_right_order_statistic():
    scores = np.arange(1.0, 100.0)  # 99 calibration scores 1..99
    # ceil((99 + 1) * 0.9) = 90: the 90th smallest.
    assert conformal_threshold(scores, 0.10) == 90.0
    assert conformal_threshold(scores, 0.001) == 99.0  # rank above n: the largest
    with pytest.raises(ValueError):
        conformal_threshold(scores, 1.5)


def test_embedding_gate_refuses_about_the_chosen_share_of_new_inliers():
    rng = np.random.default_rng(0)
    centre = rng.normal(size=64) + 3
    train = centre + rng.normal(scale=0.5, size=(600, 64))
    groups = np.repeat(np.arange(300), 2)  # pairs share a group
    gate = EmbeddingGate(n_neighbors=5, refuse_rate=0.05).fit(train, groups)
    assert np.mean(gate.oof_scores_ > gate.threshold_) <= 0.05
    new = centre + rng.normal(scale=0.5, size=(2000, 64))
    refused = 1 - gate.accepts(new).mean()
    assert 0.0 < refused < 0.10  # new inliers: about 5 %, never most
    outliers = rng.normal(size=(50, 64)) - 3
    assert not gate.accepts(outliers).any()


def test_imagenet_screen_classes_refuse_a_screenshot_embedding():
    rng = np.random.default_rng(1)
    train = rng.normal(size=(40, 8)) + 5
    train[:, 0] = rng.uniform(0, 0.1, 40)  # feature 0 near zero in every training photo
    gate = EmbeddingGate(refuse_rate=0.05).fit(train)
    w = np.zeros((8, 1000), np.float32)
    screen = next(iter(SCREEN_CLASSES))
    w[0, screen] = 10.0  # feature 0 large -> "web site"
    inside = InputGate(gate, head=(w, np.zeros(1000, np.float32)))
    ok = inside.check_embedding(train[0])
    assert ok.screenable and ok.checks["imagenet_screen_probability"] < 0.5
    screenshot = train[0].copy()
    screenshot[0] = 5.0
    verdict = inside.check_embedding(screenshot)
    assert not verdict.screenable and verdict.code == "collage"
    assert verdict.checks["imagenet_screen_probability"] >= 0.5


def test_a_directory_without_a_gate_entry_gets_the_pixel_checks(root, data_root, photos):
    from poxscan.predict import Predictor

    model_dir = trained_model_dir(root, str(data_root))  # saved with --gate pixels
    gate = load_gate(model_dir, None)
    assert not gate.needs_embedding
    predictor = Predictor.load(model_dir, explain=False)
    blank = predictor.predict_image(_made_for("blank", photos), name="blank.png")
    assert blank.refused and blank.code == "blank" and not hasattr(blank, "probability")
    assert predictor.predict_image(photos[0]).ok
    off = Predictor.load(model_dir, explain=False, gate=False)
    assert 0 <= off.predict_image(_made_for("blank", photos)).probability <= 1


def test_occlusion_map_for_a_handcrafted_model(root, data_root, photos):
    from poxscan.predict import Predictor

    predictor = Predictor.load(trained_model_dir(root, str(data_root)), explain=False)
    smap = predictor.explain_map(photos[0])
    assert smap.method.startswith("occlusion") and smap.heat.shape == (4, 4)
    assert smap.heat.max() == pytest.approx(1.0) and smap.heat.min() >= 0
    assert smap.png()[:8] == b"\x89PNG\r\n\x1a\n"


# -- with the embedding gate (TensorFlow, real EfficientNet-Lite0 weights) ----------------------
@pytest.fixture(scope="module")
def gate_dir(root, data_root):
    return gate_model_dir(root, str(data_root))


@pytest.mark.deep
@pytest.mark.slow
def test_gate_is_saved_in_the_manifest_and_hash_checked(gate_dir, tmp_path):
    from poxscan.pipelines.persistence import ModelIntegrityError, load_model

    manifest = json.loads((gate_dir / "manifest.json").read_text())
    emb = manifest["gate"]["embedding"]
    assert "gate.npz" in manifest["files"] and emb["backbone"] == "efficientnet-lite0"
    # The model's own Lite0 embedding, the photo as it is, scored over 10 neighbours.
    assert emb["orient"] is None and emb["n_neighbors"] == 10
    assert 0 < emb["threshold"] < 1 and emb["refuse_rate"] == 0.01
    assert emb["oof_refused"] <= 0.05
    assert "Input gate" in (gate_dir / "model_card.md").read_text()
    gate = load_gate(gate_dir, manifest["gate"])
    assert gate.embedding.threshold_ == emb["threshold"]
    bad = copy_model(gate_dir, tmp_path / "bad")
    flip_byte(bad / "gate.npz")
    with pytest.raises(ModelIntegrityError, match=r"gate\.npz"):
        load_model(bad)


@pytest.mark.deep
@pytest.mark.slow
def test_predictor_refuses_non_skin_and_passes_lesions(gate_dir, photos):
    import skimage.data

    from poxscan.predict import Predictor

    predictor = Predictor.load(gate_dir)
    results = predictor.predict_images(
        [skimage.data.astronaut(), skimage.data.coffee(), photos[0], photos[1]],
        names=["astronaut", "coffee", "lesion0", "lesion1"],
    )
    assert [r.ok for r in results] == [False, False, True, True]
    for r in results[:2]:
        assert r.refused and r.code == "not_skin" and "probability" not in r.to_dict()
        assert r.gate["checks"]["distance"] > r.gate["checks"]["distance_threshold"]
    for r in results[2:]:
        assert r.gate["screenable"] and 0 <= r.probability <= 1
        assert r.families and {f["label"] for f in r.families} <= {
            "colour",
            "deep-network pattern",
        }
    smap = predictor.explain_map(photos[0])
    assert smap.method.startswith("gradient CAM") and smap.heat.shape == (7, 7)
    assert smap.heat.max() == pytest.approx(1.0)


@pytest.mark.deep
@pytest.mark.slow
def test_cli_prints_the_reason_json_has_the_code_and_report_is_written(
    gate_dir, paths, photos, tmp_path, capsys
):
    from poxscan.cli import main

    blank, astro = tmp_path / "blank.png", tmp_path / "astronaut.png"
    blank.write_bytes(_png(_made_for("blank", photos)))
    import skimage.data

    astro.write_bytes(_png(skimage.data.astronaut()))
    rc = main(["predict", "--model", str(gate_dir), paths[0], str(blank), str(astro)])
    out, err = capsys.readouterr()
    assert rc == 1 and "NOT SCREENED (blank)" in out and "NOT SCREENED (not_skin)" in out
    assert "probability of mpox" in out.split("\n")[0]
    assert "2 of 3 images were not screened" in err
    rc = main(["predict", "--model", str(gate_dir), "--json", str(astro)])
    doc = json.loads(capsys.readouterr()[0])
    assert doc["n_refused"] == 1 and doc["results"][0]["code"] == "not_skin"
    assert "probability" not in doc["results"][0]
    rc = main(["predict", "--model", str(gate_dir), "--no-gate", "--json", str(astro)])
    doc = json.loads(capsys.readouterr()[0])
    assert rc == 0 and 0 <= doc["results"][0]["probability"] <= 1
    reports = tmp_path / "reports"
    rc = main(["predict", "--model", str(gate_dir), paths[0], "--report", str(reports)])
    capsys.readouterr()
    html = (reports / f"000-{Path(paths[0]).stem}-report.html").read_text()
    report = json.loads(next(reports.glob("*.json")).read_text())
    sha = doc["model"]["manifest_sha256"]
    assert sha in html and "@media print" in html and "id='report-map'" in html
    assert report["model"]["manifest_sha256"] == sha and report["screened"]
    assert report["result"]["expected_at_threshold"]["sensitivity"]["value"] > 0
    assert report["explanation_map"]["method"].startswith("gradient CAM")
    assert "not a diagnosis" in report["disclaimer"]


@pytest.mark.deep
@pytest.mark.slow
def test_api_answers_422_with_the_code_and_the_page_explains(gate_dir, photos):
    import skimage.data

    from poxscan.web import create_app

    client = create_app(gate_dir, {"LIME": False}).test_client()

    def post(url, image, name):
        data = {"file": (io.BytesIO(_png(image)), name)}
        return client.post(url, data=data, content_type="multipart/form-data")

    r = post("/api/predict", skimage.data.astronaut(), "astronaut.png")
    body = r.get_json()
    assert r.status_code == 422 and body["code"] == "not_skin" and body["refused"]
    assert body["message"] == REASONS["not_skin"][0] and body["advice"]
    assert "probability" not in body and "label" not in body
    r = post("/api/predict", _made_for("too_dark", photos), "dark.png")
    assert r.status_code == 422 and r.get_json()["code"] == "too_dark"
    r = post("/predict", _made_for("too_blurry", photos), "blur.png")
    page = r.get_data(as_text=True)
    main = page[page.find("<main") : page.find("</main>")]
    assert r.status_code == 422 and 'data-code="too_blurry"' in main, main
    assert "too blurry" in main and "tap the screen to focus" in main
    assert "How to take a photo that can be screened" in page
    r = post("/predict", photos[0], "lesion.png")
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and 'id="saliency-map"' in page and 'id="report-html"' in page
    assert "deep-network pattern" in page
    doc = client.get("/api/openapi.json").get_json()
    assert "Refusal" in doc["components"]["schemas"] and "/api/report" in doc["paths"]


@pytest.mark.deep
@pytest.mark.slow
def test_cnn_cam_is_exact_for_the_pooled_linear_head(photos):
    from poxscan.pipelines.cnn_model import FineTunedCNN
    from poxscan.pipelines.finetune import build_classifier
    from poxscan.pipelines.saliency import cnn_cam

    model, _ = build_classifier("efficientnet-lite0", image_size=96)  # real ImageNet backbone
    cnn = FineTunedCNN(model, "efficientnet-lite0", 96, threshold=0.5)
    smap = cnn_cam(cnn, photos[0])
    assert smap.heat.shape == (3, 3) and smap.image.shape == (96, 96, 3)
    assert smap.method.startswith("CAM") and smap.target in ("mpox", "not_mpox")
    assert smap.details["probability_from_map"] == pytest.approx(
        smap.details["probability"], abs=1e-4
    )


@pytest.mark.deep
@pytest.mark.slow
def test_the_gate_runs_without_tensorflow_given_an_embedding(gate_dir, photos, tmp_path):
    import subprocess
    import sys

    from poxscan.features import DeepFeatures

    embedding = DeepFeatures().fit(photos[:1]).transform(photos[:1])[0]
    np.save(tmp_path / "e.npy", embedding)
    Image.fromarray(photos[0]).save(tmp_path / "p.png")
    code = f"""
import json, sys, numpy as np
from poxscan.core.imageio import load_image
from poxscan.pipelines.gate import load_gate
manifest = json.load(open({str(gate_dir / "manifest.json")!r}))
gate = load_gate({str(gate_dir)!r}, manifest["gate"])
verdict = gate.check(load_image({str(tmp_path / "p.png")!r}), np.load({str(tmp_path / "e.npy")!r}))
assert "tensorflow" not in sys.modules and "keras" not in sys.modules
print(verdict.code, verdict.checks["distance"] <= verdict.checks["distance_threshold"])
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["ok", "True"]


def test_explain_cli_writes_the_fast_map(root, data_root, paths, tmp_path, capsys):
    from poxscan.cli import main

    out = tmp_path / "map.png"
    model = trained_model_dir(root, str(data_root))
    rc = main(["explain", "--method", "map", "--model", str(model), paths[0], "--out", str(out)])
    text = capsys.readouterr()[0]
    assert rc == 0 and "occlusion" in text and "not where disease is" in text
    assert Image.open(out).size == (224, 224)


def test_the_gate_takes_the_models_own_embedding_unless_told_otherwise():
    from poxscan.pipelines.builder import SCREENING_CONFIG, config_families
    from poxscan.pipelines.gate import default_gate_embedding, model_embedding

    shipped = config_families(SCREENING_CONFIG)
    assert model_embedding(shipped) == ("efficientnet-lite2", "canonical")
    assert default_gate_embedding(shipped) == ("efficientnet-lite2", "canonical", 10)
    # Another backbone named: its embedding of the photo as it is, the first design's k.
    assert default_gate_embedding(shipped, "efficientnet-lite0") == ("efficientnet-lite0", None, 5)
    # Features the gate cannot share: the fallback backbone.
    for deep in (
        {"backbone": "efficientnet-lite0", "tta": 8},
        {"backbone": "efficientnet-lite0+efficientnet-lite2"},
        {"backbone": "efficientnet-lite2", "orient": "canonical", "smooth": 3},
        {"backbone": "efficientnet-lite0", "color_constancy": "shades_of_gray"},
    ):
        assert model_embedding({"deep": deep}) is None
        assert default_gate_embedding({"deep": deep}) == ("efficientnet-lite0", None, 5)
    assert model_embedding({"color": {}}) is None


@pytest.mark.deep
@pytest.mark.slow
def test_a_canonical_pose_model_shares_its_embedding_with_its_gate(
    root, data_root, photos, tmp_path
):
    """A model on the canonical-pose embedding (as the shipped one) gets a gate on the same
    embedding: the manifest says so, a photo and its mirror meet the same distance (the pose
    undoes the mirror), and the gate never builds a second backbone."""
    from _trained_models import env_for, workspace

    from poxscan.cli import main
    from poxscan.predict import Predictor

    ws = workspace(root)
    config = tmp_path / "canonical.json"
    config.write_text(
        json.dumps(
            {
                "families": {"deep": {"backbone": "efficientnet-lite0", "orient": "canonical"}},
                "selector": "none",
                "classifier": "lda",
                "params": {"shrinkage": "auto"},
            }
        )
    )
    out = tmp_path / "canonical_model"
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env_for(ws).items():
            mp.setenv(key, value)
        rc = main(
            [
                "train",
                "--config", str(config),
                "--data-root", str(data_root),
                "--dataset", "msld_v1",
                "--cache-dir", str(ws["cache"]),
                "--out", str(out),
                "--cv", "4", "--n-boot", "50", "--no-shap", "--no-progress",
            ]
        )  # fmt: skip
    assert rc == 0
    emb = json.loads((out / "manifest.json").read_text())["gate"]["embedding"]
    assert (emb["backbone"], emb["orient"], emb["n_neighbors"]) == (
        "efficientnet-lite0",
        "canonical",
        10,
    )
    card = " ".join((out / "model_card.md").read_text().split())
    assert "embedding (of the photo in its canonical pose) lies far" in card
    assert "from another collection may be refused more often" in card
    predictor = Predictor.load(out, explain=False)
    photo = photos[0]
    results = predictor.predict_images([photo, np.ascontiguousarray(photo[:, ::-1])])
    assert all(r.ok for r in results)
    d = [r.gate["checks"]["distance"] for r in results]
    assert d[0] == pytest.approx(d[1], abs=1e-6)
    assert results[0].probability == pytest.approx(results[1].probability, abs=1e-6)
    assert getattr(predictor.gate, "_extractor", None) is None
