"""Model directories on real images: tune, train, save, verify, load, refuse tampering."""

from __future__ import annotations

import hashlib
import json
import pickle
from pathlib import Path

import joblib
import numpy as np
import pytest
from _trained_models import copy_model, feature_data, flip_byte, workspace

from poxscan.core.data import load_manifest
from poxscan.core.imageio import load_image
from poxscan.features import make_extractor
from poxscan.pipelines.calibration import ScoreCalibrator, choose_threshold
from poxscan.pipelines.image_model import ImageModel
from poxscan.pipelines.persistence import (
    IncompatibleModelError,
    ModelIntegrityError,
    ModelVersionWarning,
    load_model,
    manifest_sha256,
    save_model,
)
from poxscan.pipelines.training import train_model


@pytest.fixture(scope="module")
def loaded(model_dir):
    return load_model(model_dir)


@pytest.fixture
def no_unpickling(monkeypatch):
    """Record any attempt to unpickle; the tests assert there was none."""
    calls: list[str] = []

    def forbid(name):
        def fake(*args, **kwargs):
            calls.append(name)
            raise AssertionError(f"{name} was called")

        return fake

    monkeypatch.setattr(joblib, "load", forbid("joblib.load"))
    monkeypatch.setattr(pickle, "load", forbid("pickle.load"))
    monkeypatch.setattr(pickle, "loads", forbid("pickle.loads"))
    monkeypatch.setattr(pickle, "Unpickler", forbid("pickle.Unpickler"))
    return calls


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_model_directory_is_complete_and_hashed(model_dir, root):
    manifest = json.loads((model_dir / "manifest.json").read_text())
    on_disk = sorted(
        p.relative_to(model_dir).as_posix()
        for p in model_dir.rglob("*")
        if p.is_file() and p.name != "manifest.json"
    )
    assert sorted(manifest["files"]) == on_disk
    for rel in on_disk:
        assert manifest["files"][rel] == _sha(model_dir / rel), rel
    for rel in (
        "model.joblib",
        "model_card.md",
        "shap/global_importance.json",
        "shap/shap_values.npz",
        "shap/background.npz",
        "shap/top_features.png",
        "shap/families.png",
        "shap/beeswarm.png",
    ):
        assert rel in manifest["files"], rel
    for png in model_dir.glob("shap/*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", png
    # No temporary folder is left beside the model.
    assert not [p for p in model_dir.parent.iterdir() if p.name.startswith(".model.")]

    packages = manifest["environment"]["packages"]
    for dist in ("numpy", "scikit-learn", "xgboost", "scikit-image", "joblib"):
        assert packages[dist], dist
    assert any(k.startswith("opencv") for k in packages)
    assert manifest["environment"]["python"].count(".") == 2
    assert "tensorflow" not in packages  # handcrafted-only model
    assert manifest["environment"]["compatible"]["scikit-learn"].startswith(">=")

    assert manifest["model"]["fingerprints"] == {"color": make_extractor("color").fingerprint()}
    subset = load_manifest(workspace(root)["manifest"])["msld_v1"]
    data = manifest["training_data"]
    assert data["datasets"]["msld_v1"]["checksum"] == subset.checksum
    n_mpox = sum(rel.startswith("Monkeypox/") for rel in subset.files)
    assert data["class_counts"] == {"mpox": n_mpox, "not_mpox": len(subset.files) - n_mpox}
    assert data["n_images"] == len(subset.files)
    assert "best.json" in manifest["config_source"]


def test_manifest_metrics_threshold_and_calibration(model_dir, loaded, root, data_root):
    model, manifest = loaded
    _, y, _, _ = feature_data(root, str(data_root))  # the training rows, in training order
    metrics = manifest["evaluation"]["metrics"]
    for name in ("roc_auc", "sensitivity", "specificity", "balanced_accuracy", "brier"):
        m = metrics[name]
        assert m["ci95"][0] <= m["value"] <= m["ci95"][1], name
        assert m["ci95"][0] < m["ci95"][1], name  # small data: intervals must have width
    assert 0 <= metrics["roc_auc"]["value"] <= 1
    # The saved threshold is the screening one: sensitivity 0.95 on the calibrated
    # out-of-fold probabilities (train's default, SCREENING_THRESHOLD).
    assert manifest["threshold"]["rule"] == "sensitivity:0.95"
    assert manifest["threshold"]["value"] == pytest.approx(model.threshold_)
    oof = model.calibrator_.predict(model.cv_scores_)
    assert model.threshold_ == pytest.approx(choose_threshold(y, oof, "sensitivity:0.95"))
    assert np.mean(oof[y == 1] >= model.threshold_) >= 0.95
    assert manifest["calibration"]["method"] == "sigmoid"
    refit = ScoreCalibrator("sigmoid").fit(model.cv_scores_, y)
    assert manifest["calibration"]["slope"] == pytest.approx(refit.slope_)

    card = (model_dir / "model_card.md").read_text()
    for phrase in ("not a diagnosis", "see a clinician", "Limitations", "Skin tones"):
        assert phrase in card, phrase
    assert f"{metrics['roc_auc']['value']:.3f}" in card
    assert f"{model.threshold_:.3f}" in card
    assert "Screening operating point" in card and "| msld_v1 |" in card
    assert "new camera, clinic or population may shift" in card
    screening = manifest["evaluation"]["screening"]
    # Per tone band of the photos too (bands with one class only are left out).
    tones = screening["per_tone"]
    assert (
        tones
        and sum(t["n_images"] for t in tones.values()) <= manifest["training_data"]["n_images"]
    )
    for name, row in tones.items():
        assert f"| {name} | {row['n_images']} ({row['n_mpox']}) |" in card
    lo, hi = screening["threshold"]["ci95"]
    assert lo <= model.threshold_ <= hi


def test_loaded_model_predicts_like_the_cached_features(loaded, root, data_root):
    model, _ = loaded
    table, _, _, paths = feature_data(root, str(data_root))
    images = [load_image(p) for p in paths[:4]]
    live = model.extract(images)
    assert list(live.columns) == list(table.columns)  # identical names, identical order
    np.testing.assert_allclose(live.to_numpy(), table.iloc[:4].to_numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(
        model.predict_proba(images), model.predict_proba_features(table.iloc[:4]), atol=1e-6
    )


def test_tampered_model_file_is_refused_before_unpickling(model_dir, tmp_path, no_unpickling):
    bad = copy_model(model_dir, tmp_path / "m")
    flip_byte(bad / "model.joblib")
    with pytest.raises(ModelIntegrityError, match=r"model\.joblib.*sha256"):
        load_model(bad)
    assert no_unpickling == []


@pytest.mark.parametrize("rel", ["shap/background.npz", "model_card.md"])
def test_any_changed_file_is_refused(model_dir, tmp_path, no_unpickling, rel):
    bad = copy_model(model_dir, tmp_path / "m")
    flip_byte(bad / rel)
    with pytest.raises(ModelIntegrityError, match=rel.replace(".", r"\.")):
        load_model(bad)
    assert no_unpickling == []


def test_missing_and_extra_files_are_refused(model_dir, tmp_path, no_unpickling):
    missing = copy_model(model_dir, tmp_path / "missing")
    (missing / "shap" / "beeswarm.png").unlink()
    with pytest.raises(ModelIntegrityError, match=r"shap/beeswarm\.png.*missing"):
        load_model(missing)
    extra = copy_model(model_dir, tmp_path / "extra")
    (extra / "evil.pkl").write_bytes(b"not listed")
    with pytest.raises(ModelIntegrityError, match=r"evil\.pkl.*not listed"):
        load_model(extra)
    with pytest.raises(ModelIntegrityError, match="no such model directory"):
        load_model(tmp_path / "nowhere")
    assert no_unpickling == []


def test_manifest_pin_and_version_warning(model_dir, tmp_path):
    pinned = manifest_sha256(model_dir)
    model, _ = load_model(model_dir, manifest_sha256=pinned)
    assert isinstance(model, ImageModel)
    edited = copy_model(model_dir, tmp_path / "m")
    manifest = json.loads((edited / "manifest.json").read_text())
    manifest["environment"]["packages"]["scikit-learn"] = "0.1.0"  # as an old save records
    manifest["environment"]["compatible"]["scikit-learn"] = ">=0.1,<0.2"
    (edited / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelIntegrityError, match="pinned"):
        load_model(edited, manifest_sha256=pinned)
    with pytest.warns(ModelVersionWarning, match=r"scikit-learn 0\.1\.0.*OUTSIDE"):
        model, _ = load_model(edited)  # a version mismatch warns but loads
    assert isinstance(model, ImageModel)


def test_changed_feature_extractor_is_refused(model_dir, monkeypatch):
    from poxscan.features.color import ColorFeatures

    monkeypatch.setattr(ColorFeatures, "version", "changed")
    with pytest.raises(IncompatibleModelError, match="color feature extractor changed"):
        load_model(model_dir)


def test_save_is_atomic(root, data_root, tmp_path, monkeypatch):
    table, y, groups, _ = feature_data(root, str(data_root))
    config = {"families": ["color"], "classifier": "logreg", "k": 10}
    result = train_model(table, y, groups, config, cv=3, n_boot=50)
    out = tmp_path / "model"
    info = {"n_images": len(y)}
    save_model(result, out, training_data=info, explain=False)
    before = {p: _sha(p) for p in out.rglob("*") if p.is_file()}
    with pytest.raises(FileExistsError, match="already exists"):
        save_model(result, out, training_data=info, explain=False)

    import poxscan.pipelines.model_card as card

    def boom(manifest):
        raise RuntimeError("disk full")

    monkeypatch.setattr(card, "render_model_card", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        save_model(result, out, training_data=info, explain=False, overwrite=True)
    # The failed overwrite left the old model intact and no temporary folders behind.
    assert {p: _sha(p) for p in out.rglob("*") if p.is_file()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]
    monkeypatch.undo()
    save_model(result, out, training_data=info, explain=False, overwrite=True)
    assert load_model(out)[0].threshold_ == pytest.approx(result.model.threshold_)


def test_target_sensitivity_threshold_on_real_scores(loaded, root, data_root):
    model, _ = loaded
    _, y, _, _ = feature_data(root, str(data_root))
    proba = model.calibrator_.predict(model.cv_scores_)
    for target in (0.8, 0.95):
        thr = choose_threshold(y, proba, f"sensitivity:{target}")
        sens = np.mean(proba[y == 1] >= thr)
        assert sens >= target
        # Highest such threshold: the next higher distinct score misses the target.
        higher = np.unique(proba[proba >= thr])
        if len(higher) > 1:
            assert np.mean(proba[y == 1] >= higher[1]) < target


def test_stale_cached_features_are_caught(loaded, root, data_root):
    from poxscan.pipelines.training import check_cached_features

    model, manifest = loaded
    table, _, _, paths = feature_data(root, str(data_root))
    assert manifest["feature_check"]["n_images"] == 2
    assert check_cached_features(model, table, paths)["max_abs_diff"] < 1e-4
    stale = table.copy()
    stale.iloc[1, 7] += 0.5
    with pytest.raises(RuntimeError, match=rf"{Path(paths[1]).name}.*{table.columns[7]}"):
        check_cached_features(model, stale, paths)


def test_compatible_ranges_follow_pep_440():
    """Version ranges are read by packaging.version (PEP 440), not by splitting on dots."""
    from poxscan.pipelines.persistence import _in_range, _range

    assert _range("1.9.1", "minor") == ">=1.9,<1.10"
    assert _range("2.21.0rc1", "major") == ">=2.21,<3"
    assert _in_range("1.10.0", ">=1.9,<2")  # 10 > 9 numerically
    assert not _in_range("1.8.9", ">=1.9,<2")
    assert not _in_range("2.0.0rc1", ">=1.9,<2")  # a pre-release of 2.0 is not below 2
    assert _in_range("1.9.5.post1", ">=1.9,<1.10")
    assert not _in_range("not a version", ">=1,<2")
