"""The differential (multi-class) end to end: train, save, load, predict, serve it in the API."""

from __future__ import annotations

import io
import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from _trained_models import copy_model, flip_byte, trained_model_dir

from poxscan.core.data import load_records
from poxscan.core.imageio import load_image
from poxscan.pipelines.differential import load_differential
from poxscan.pipelines.persistence import IncompatibleModelError, ModelIntegrityError
from poxscan.pipelines.targets import make_target, task_records

CLASSES = ["mpox", "chickenpox", "measles", "normal"]


@pytest.fixture(scope="module")
def differential_dir(tmp_path_factory, data_root) -> Path:
    from poxscan.cli import main

    root = tmp_path_factory.mktemp("differential")
    out = root / "model"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rc = main(
            [
                "train", "--task", "multiclass",
                "--data-root", str(data_root),
                "--dataset", "msld_v1", "--dataset", "ahsan2022",
                "--family", "color", "--classifier", "logreg", "--k", "40",
                "--cv", "3", "--cache-dir", str(root / "cache"),
                "--out", str(out), "--no-progress",
            ]
        )  # fmt: skip
    assert rc == 0
    return out


def test_msld_others_are_left_out_of_the_multiclass_task(data_root):
    records = load_records(["msld_v1", "ahsan2022"], root=data_root)
    kept = task_records(records, "multiclass")
    assert "other" not in set(kept["label"])
    assert len(kept) == len(records) - int((records["label"] == "other").sum())
    _y, names = make_target(kept, "multiclass")
    assert names == CLASSES
    assert len(task_records(records, "binary")) == len(records)


def test_trains_saves_loads_and_predicts(differential_dir, data_root):
    manifest = json.loads((differential_dir / "manifest.json").read_text())
    assert manifest["task"] == "multiclass"
    assert list(manifest["classes"].values()) == CLASSES
    ev = manifest["evaluation"]
    records = task_records(load_records(["msld_v1", "ahsan2022"], root=data_root), "multiclass")
    cm = np.array(ev["confusion_matrix"])
    assert cm.shape == (4, 4) and cm.sum() == len(records)
    # Row sums are the class counts; recall is the diagonal over them.
    counts = records["label"].value_counts()
    for i, c in enumerate(CLASSES):
        assert cm[i].sum() == counts[c]
        assert ev["per_class"][c]["recall"] == pytest.approx(cm[i, i] / counts[c])
    model, _ = load_differential(differential_dir)
    paths = records.groupby("label").head(1)["path"].tolist()
    images = [load_image(p) for p in paths]
    proba = model.predict_proba(images)
    assert proba.shape == (len(images), 4)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-9)
    ranked = model.differential(images[:1])[0]
    assert set(ranked) == set(CLASSES)
    assert list(ranked.values()) == sorted(ranked.values(), reverse=True)


def test_tampered_or_misused_model_directories_are_refused(differential_dir, tmp_path):
    from poxscan.predict import Predictor

    bad = copy_model(differential_dir, tmp_path / "bad")
    flip_byte(bad / "model.joblib")
    with pytest.raises(ModelIntegrityError, match=r"model\.joblib"):
        load_differential(bad)
    with pytest.raises(IncompatibleModelError):
        Predictor.load(differential_dir)  # a differential is not a screening model


def test_evaluation_is_grouped_and_beats_chance_on_real_features(differential_dir):
    # The saved out-of-fold recall must be better than guessing for each of the four classes.
    ev = json.loads((differential_dir / "manifest.json").read_text())["evaluation"]
    assert ev["balanced_accuracy"] > 0.25 + 0.1
    assert ev["excluded_labels"] == ["other"]


def test_api_serves_the_differential_beside_the_decision(
    differential_dir, tmp_path_factory, data_root
):
    from poxscan.web import create_app

    binary = trained_model_dir(
        str(tmp_path_factory.getbasetemp() / "poxscan_models"), str(data_root)
    )
    app = create_app(binary, {"LIME": False, "DIFFERENTIAL_MODEL": str(differential_dir)})
    client = app.test_client()
    path = next(Path(data_root, "ahsan2022", "Measles").glob("*.jfif"))
    data = path.read_bytes()
    resp = client.post(
        "/api/predict",
        data={"file": (io.BytesIO(data), "rash.jpg")},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 200, resp.get_data(as_text=True)
    body = resp.get_json()
    assert body["label"] in ("mpox", "not_mpox") and 0 <= body["probability"] <= 1
    assert set(body["differential"]) == set(CLASSES)
    model, _ = load_differential(differential_dir)
    want = model.differential([load_image(data)])[0]
    for c in CLASSES:
        assert body["differential"][c] == pytest.approx(want[c], abs=1e-9)
    page = client.post(
        "/predict",
        data={"file": (io.BytesIO(data), "rash.jpg")},
        content_type="multipart/form-data",
    )
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'id="differential"' in html
    assert html.index('id="result-label"') < html.index('id="differential"')
    assert app.extensions["poxscan"].info["differential"] == CLASSES


def test_explain_names_the_most_probable_condition(differential_dir, data_root, tmp_path):
    from poxscan.cli import main

    path = next(Path(data_root, "ahsan2022", "Chickenpox").glob("*.jfif"))
    out = tmp_path / "lime.png"
    rc = main(
        [
            "explain", str(path), "--differential", str(differential_dir),
            "--num-samples", "30", "--out", str(out), "--json",
        ]
    )  # fmt: skip
    assert rc == 0 and out.stat().st_size > 0
    model, _ = load_differential(differential_dir)
    proba = model.predict_proba([load_image(path)])[0]
    top = CLASSES[int(np.argmax(proba))]
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    from poxscan.pipelines.differential import explain_differential

    explanation = explain_differential(model, load_image(path), num_samples=30, seed=0)
    assert explanation.label == top
    assert explanation.probability == pytest.approx(proba.max(), abs=1e-9)
