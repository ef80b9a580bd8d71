"""Loading never runs foreign code: malicious pickles with rewritten manifests, every model family.

The attacker here can write the whole model directory: they replace ``model.joblib`` and rewrite
``manifest.json`` so that every sha256 matches. Each payload would create a marker file if its
code ran; the marker must never appear, whether the model is loaded unpinned or pinned to the
attacker's own manifest.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import joblib
import numpy as np
import pytest
from _trained_models import copy_model, feature_data, trained_model_dir

from poxscan.cli import main
from poxscan.core.data import load_records
from poxscan.features.cache import load_feature_table
from poxscan.pipelines.builder import build_pipeline
from poxscan.pipelines.calibration import ScoreCalibrator
from poxscan.pipelines.classifiers import CLASSIFIERS
from poxscan.pipelines.persistence import (
    ModelIntegrityError,
    UnpinnedModelWarning,
    UnsafeModelError,
    load_model,
    manifest_sha256,
)
from poxscan.pipelines.safe_pickle import safe_load
from poxscan.pipelines.selectors import SELECTION_METHODS
from poxscan.pipelines.targets import make_target


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> str:
    return str(tmp_path_factory.getbasetemp() / "poxscan_models")


@pytest.fixture(scope="module")
def model_dir(root, data_root) -> Path:
    return trained_model_dir(root, str(data_root))


class _Call:
    """Pickles as ``func(*args)``: what an attacker's payload looks like."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


def _payloads(marker: Path) -> dict[str, object]:
    from poxscan.core.atomic import atomic_write_text

    cmd = f"touch {marker}"
    return {
        "os.system": _Call(os.system, cmd),
        "subprocess.Popen": _Call(subprocess.Popen, ["touch", str(marker)]),
        "builtins.eval": _Call(eval, f"open({str(marker)!r}, 'w').close()"),
        "builtins.exec": _Call(exec, f"open({str(marker)!r}, 'w').close()"),
        # A poxscan *function* is no class: refused although its module is poxscan's.
        "poxscan function": _Call(atomic_write_text, marker, "pwned"),
        # Hidden deep inside an otherwise ordinary structure.
        "nested": {"weights": np.arange(5.0), "steps": [("x", _Call(os.system, cmd))]},
    }


def _rewrite_manifest(folder: Path) -> None:
    """What an attacker who can write the directory does: make every sha256 match again."""
    path = folder / "manifest.json"
    manifest = json.loads(path.read_text())
    for rel in manifest["files"]:
        manifest["files"][rel] = hashlib.sha256((folder / rel).read_bytes()).hexdigest()
    path.write_text(json.dumps(manifest))


@pytest.mark.parametrize("payload", list(_payloads(Path("x"))))
def test_malicious_pickle_with_rewritten_manifest_never_runs(payload, model_dir, tmp_path):
    marker = tmp_path / "PWNED"
    evil = copy_model(model_dir, tmp_path / "evil")
    joblib.dump(_payloads(marker)[payload], evil / "model.joblib", compress=3)
    _rewrite_manifest(evil)
    with pytest.raises(UnsafeModelError, match="refusing to load"):
        load_model(evil)  # unpinned
    pinned = manifest_sha256(evil)  # even pinned to the attacker's own manifest
    with pytest.raises(UnsafeModelError) as info:
        load_model(evil, manifest_sha256=pinned)
    assert isinstance(info.value, ModelIntegrityError)  # the CLIs' exit code 2
    assert "model.joblib" in str(info.value)
    assert not marker.exists()


def test_predict_and_serve_refuse_a_malicious_model(model_dir, tmp_path, capsys):
    marker = tmp_path / "PWNED"
    evil = copy_model(model_dir, tmp_path / "evil")
    joblib.dump(_Call(os.system, f"touch {marker}"), evil / "model.joblib")  # uncompressed
    _rewrite_manifest(evil)
    image = tmp_path / "x.png"
    from PIL import Image

    Image.new("RGB", (32, 32), (200, 120, 90)).save(image)
    assert main(["predict", "--model", str(evil), "--json", str(image)]) == 2
    assert "refusing to load" in capsys.readouterr().err
    sha = manifest_sha256(evil)
    assert main(["predict", "--model", str(evil), "--manifest-sha256", sha, str(image)]) == 2
    from poxscan.web import create_app

    with pytest.raises(UnsafeModelError):
        create_app(evil, {"LIME": False})
    # In a fresh interpreter too (nothing imported beforehand by this test session).
    code = (
        "import sys; from poxscan.pipelines.persistence import load_model\n"
        "try:\n    load_model(sys.argv[1])\nexcept Exception as e:\n    print(type(e).__name__)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(evil)], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "UnsafeModelError"
    assert not marker.exists()


def test_loading_unpinned_warns_and_pinned_does_not(model_dir):
    with pytest.warns(UnpinnedModelWarning, match="--manifest-sha256"):
        load_model(model_dir)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnpinnedModelWarning)
        load_model(model_dir, manifest_sha256=manifest_sha256(model_dir))


def test_old_joblib_format_and_garbage_are_refused(model_dir, tmp_path):
    with pytest.raises(Exception) as info:
        safe_load(b"\x80\x04not a pickle at all", name="junk")
    assert not isinstance(info.value, AssertionError)
    evil = copy_model(model_dir, tmp_path / "junk")
    (evil / "model.joblib").write_bytes(b"garbage bytes, not a pickle")
    _rewrite_manifest(evil)
    with pytest.raises(ModelIntegrityError, match=r"model\.joblib"):
        load_model(evil)


def _roundtrip(obj):
    buf = io.BytesIO()
    joblib.dump(obj, buf, compress=3)
    return safe_load(buf.getvalue(), name="roundtrip")


@pytest.fixture(scope="module")
def binary_data(root, data_root):
    table, y, _, _ = feature_data(root, str(data_root))
    return table, y


@pytest.fixture(scope="module")
def multiclass_data(data_root):
    records = load_records("ahsan2022", root=data_root)
    records = records.groupby("label", group_keys=False).head(12)
    table = load_feature_table(records, ["color"], progress=False)
    y, _ = make_target(records.set_index("id").loc[table.index].reset_index(), "multiclass")
    return table, y


@pytest.mark.parametrize("classifier", CLASSIFIERS)
def test_every_classifier_family_loads_through_the_allow_list(classifier, binary_data):
    X, y = binary_data
    selectors = ["none", *SELECTION_METHODS, "pca"]
    selector = selectors[CLASSIFIERS.index(classifier) % len(selectors)]
    config = {
        "families": ["color"],
        "classifier": classifier,
        "selector": selector,
        "k": 20,
        "scaler": "robust" if classifier == "svm" else "standard",
    }
    pipe = build_pipeline(config).fit(X, y)
    scores = pipe.predict_proba(X)[:, 1]
    calibrators = [ScoreCalibrator(m).fit(scores, y) for m in ("sigmoid", "isotonic", "none")]
    pipe2, calibrators2 = _roundtrip((pipe, calibrators))
    np.testing.assert_allclose(pipe2.predict_proba(X), pipe.predict_proba(X))
    for a, b in zip(calibrators, calibrators2, strict=True):
        np.testing.assert_allclose(a.predict(scores), b.predict(scores))


@pytest.mark.parametrize("selector", [*SELECTION_METHODS, "pca"])
def test_every_selector_and_multiclass_model_loads(selector, multiclass_data):
    X, y = multiclass_data
    assert len(set(y)) >= 3
    classifier = {"anova": "xgboost", "mutual_info": "mlp", "l1": "logreg"}.get(selector, "lda")
    config = {
        "task": "multiclass",
        "families": ["color"],
        "selector": selector,
        "k": 15,
        "classifier": classifier,
    }
    pipe = build_pipeline(config).fit(X, y)
    np.testing.assert_allclose(_roundtrip(pipe).predict_proba(X), pipe.predict_proba(X))


def test_a_saved_image_model_loads_with_its_extractors(model_dir):
    model, _ = load_model(model_dir, manifest_sha256=manifest_sha256(model_dir))
    raw = (model_dir / "model.joblib").read_bytes()
    assert type(safe_load(raw)) is type(model)
