"""``poxscan predict`` and the Predictor API on real images, with a model trained by the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from _trained_models import copy_model, feature_data, flip_byte

from poxscan.cli import main
from poxscan.core.imageio import ImageLoadError, load_image
from poxscan.pipelines.persistence import ModelIntegrityError, load_model
from poxscan.predict import LABELS, Prediction, PredictionError, Predictor


@pytest.fixture(scope="module")
def predictor(model_dir) -> Predictor:
    return Predictor.load(model_dir)


@pytest.fixture(scope="module")
def paths(root, data_root) -> list[str]:
    _, y, _, all_paths = feature_data(root, str(data_root))
    # Two mpox and two other images of the training subset.
    pos = [p for p, t in zip(all_paths, y, strict=True) if t == 1][:2]
    neg = [p for p, t in zip(all_paths, y, strict=True) if t == 0][:2]
    return pos + neg


@pytest.fixture
def bad_files(tmp_path) -> dict[str, str]:
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    text = tmp_path / "notes.png"
    text.write_text("this is not a picture")
    # Files nobody can read, even root (tests run as root, where chmod 000 stops nothing): a
    # FIFO no one writes to (opening it must not block), a directory named like an image,
    # and a link to a write-only /proc file.
    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)
    folder = tmp_path / "folder.jpg"
    folder.mkdir()
    unreadable = tmp_path / "unreadable.jpg"
    unreadable.symlink_to("/proc/sys/vm/drop_caches")
    return {
        str(empty): "empty",
        str(text): "not an image",
        str(tmp_path / "missing.jpg"): "no such file",
        str(fifo): "FIFO",
        str(folder): "directory",
        str(unreadable): "permission denied",
    }


def test_predictions_follow_the_model(predictor, model_dir, paths):
    model, _ = load_model(model_dir)
    results = predictor.predict_paths(paths, top_k=3)
    expected = model.predict_proba([load_image(p) for p in paths])[:, 1]
    assert [r.file for r in results] == paths
    for r, p in zip(results, expected, strict=True):
        assert isinstance(r, Prediction) and r.ok
        assert r.probability == pytest.approx(p, abs=1e-9)
        assert r.threshold == pytest.approx(model.threshold_)
        assert r.label == LABELS[int(p >= model.threshold_)]
        assert len(r.top_features) == 3
        magnitudes = [abs(f["contribution"]) for f in r.top_features]
        assert magnitudes == sorted(magnitudes, reverse=True)
        for f in r.top_features:
            assert f["feature"].startswith("color__") and f["family"] == "color"
            assert f["direction"] == ("towards mpox" if f["contribution"] > 0 else "away from mpox")


def test_image_from_bytes_array_and_path_agree(predictor, paths):
    raw = Path(paths[0]).read_bytes()
    from_bytes = predictor.predict_image(raw, name="upload.jpg")
    from_array = predictor.predict_image(load_image(paths[0]))
    from_path = predictor.predict_paths(paths[:1])[0]
    assert from_bytes.file == "upload.jpg"
    assert from_bytes.probability == pytest.approx(from_path.probability, abs=1e-12)
    assert from_array.probability == pytest.approx(from_path.probability, abs=1e-12)
    with pytest.raises(ImageLoadError, match=r"upload\.gif: not an image"):
        predictor.predict_image(b"GIF89a garbage", name="upload.gif")
    with pytest.raises(ImageLoadError, match="expected an RGB uint8"):
        predictor.predict_image(np.zeros((10, 10), np.uint8))


def test_predictor_is_safe_across_threads(predictor, paths):
    images = [load_image(p) for p in paths]
    expected = [predictor.predict_image(img).probability for img in images]
    got: dict[int, float] = {}
    errors: list[BaseException] = []

    def work(k: int) -> None:
        try:
            for _ in range(3):
                got[k] = predictor.predict_image(images[k % len(images)]).probability
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert all(got[k] == pytest.approx(expected[k % len(images)], abs=1e-12) for k in range(8))


def test_batch_reports_bad_files_and_goes_on(predictor, paths, bad_files):
    mixed = [paths[0], *bad_files, paths[1]]
    results = predictor.predict_paths(mixed, batch_size=2)
    assert [r.file for r in results] == mixed
    assert results[0].ok and results[-1].ok
    for r, (name, problem) in zip(results[1:-1], bad_files.items(), strict=True):
        assert isinstance(r, PredictionError) and not r.ok
        assert name in r.error and problem in r.error and problem in r.problem


def test_cli_text_output_and_exit_code(model_dir, paths, bad_files, capsys):
    rc = main(["predict", "--model", str(model_dir), paths[0], *bad_files, "--top-k", "2"])
    out, err = capsys.readouterr()
    assert rc == 1
    assert paths[0] in out and "probability of mpox" in out and "not a diagnosis" in out
    lines = err.splitlines()
    for name, problem in bad_files.items():
        assert any(f"{name}: " in line and problem in line for line in lines), (name, err)
    rc = main(["predict", "--model", str(model_dir), *paths[:2]])
    assert rc == 0


def test_cli_json_schema(model_dir, paths, bad_files, capsys):
    # The unreadable files sit amid the good ones: every good image is still listed.
    mixed = [*paths[:2], *bad_files, *paths[2:]]
    rc = main(["predict", "--model", str(model_dir), "--json", "--top-k", "4", *mixed])
    out, _ = capsys.readouterr()
    assert rc == 1
    doc = json.loads(out)
    assert set(doc) == {"model", "results", "n_images", "n_failed", "n_refused"}
    assert doc["n_refused"] == 0  # real lesion photos pass the gate
    assert doc["n_images"] == len(paths) + len(bad_files) and doc["n_failed"] == len(bad_files)
    info = doc["model"]
    assert len(info["manifest_sha256"]) == 64 and info["families"] == ["color"]
    assert 0 < info["threshold"] < 1 and "clinician" in info["disclaimer"]
    ok = [r for r in doc["results"] if r["ok"]]
    failed = [r for r in doc["results"] if not r["ok"]]
    assert [r["file"] for r in ok] == paths
    for r in ok:
        assert set(r) == {
            "file",
            "ok",
            "label",
            "probability",
            "threshold",
            "top_features",
            "explanation_output",
            "gate",
            "families",
        }
        assert r["gate"]["screenable"] and r["gate"]["code"] == "ok"
        assert r["families"][0]["label"] == "colour"
        assert r["label"] in LABELS and 0 <= r["probability"] <= 1
        assert r["label"] == LABELS[int(r["probability"] >= r["threshold"])]
        assert r["explanation_output"] == "log-odds"
        assert len(r["top_features"]) == 4
        for f in r["top_features"]:
            assert set(f) == {
                "feature",
                "family",
                "contribution",
                "direction",
                "value",
                "raw_value",
            }
    assert [set(r) for r in failed] == [{"file", "ok", "error", "problem"}] * len(bad_files)


def test_cli_refuses_a_tampered_model(model_dir, paths, tmp_path, capsys):
    bad = copy_model(model_dir, tmp_path / "m")
    flip_byte(bad / "model.joblib")
    rc = main(["predict", "--model", str(bad), paths[0]])
    _, err = capsys.readouterr()
    assert rc == 2 and "model.joblib" in err and "sha256" in err
    with pytest.raises(ModelIntegrityError):
        Predictor.load(bad)


def test_handcrafted_model_predicts_without_tensorflow(model_dir, paths):
    """In a fresh interpreter: load, predict and explain, then check TensorFlow never loaded."""
    code = (
        "import sys, json\n"
        "from poxscan.cli import main\n"
        f"rc = main(['predict', '--model', {str(model_dir)!r}, '--json', *{paths[:2]!r}])\n"
        "assert rc == 0, rc\n"
        "heavy = sorted(m for m in ('tensorflow', 'keras', 'torch') if m in sys.modules)\n"
        "print('HEAVY=' + json.dumps(heavy))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "HEAVY=[]" in proc.stdout
    doc = json.loads(proc.stdout.split("HEAVY=")[0])
    assert len(doc["results"]) == 2 and all(r["ok"] for r in doc["results"])


def test_image_model_is_an_sklearn_classifier_over_images(root, data_root):
    from sklearn.base import clone

    from poxscan.pipelines.image_model import ImageModel

    _, y, groups, all_paths = feature_data(root, str(data_root))
    pick = np.r_[np.flatnonzero(y == 1)[:15], np.flatnonzero(y == 0)[:15]]
    images = [load_image(all_paths[i]) for i in pick]
    model = ImageModel(families=["color"], cv=3, calibration="isotonic")
    assert clone(model).get_params() == model.get_params()
    model.fit(images, y[pick], groups[pick])
    proba = model.predict_proba(images[:5])
    assert proba.shape == (5, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(
        model.predict(images[:5]), (proba[:, 1] >= model.threshold_).astype(int)
    )
    assert list(model.feature_names_) == list(model.extract(images[:1]).columns)
    assert "tensorflow" not in model.fingerprints_ and not model.uses_deep


def test_blas_runs_on_one_thread_during_a_prediction_and_is_restored(predictor, paths, monkeypatch):
    # A spinning second OpenBLAS thread slows the backbone's next pass (poxscan.core.threads):
    # the head and SHAP run with one BLAS thread, and the caller's setting comes back after.
    from threadpoolctl import threadpool_info, threadpool_limits

    def blas_threads() -> set[int]:
        return {i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"}

    seen: list[set[int]] = []
    original = predictor.model.predict_proba_features

    def spy(table):
        seen.append(blas_threads())
        return original(table)

    monkeypatch.setattr(predictor.model, "predict_proba_features", spy)
    with threadpool_limits(limits=2, user_api="blas"):
        assert blas_threads() == {2}
        result = predictor.predict_image(load_image(paths[0]), top_k=3)
        assert blas_threads() == {2}
    assert result.ok
    assert seen == [{1}]
