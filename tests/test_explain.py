"""SHAP explanations of trained models on real colour features: right explainer, real names,
values that add up to the model's output, and the files auditors read."""

from __future__ import annotations

import json

import numpy as np
import pytest
from _trained_models import feature_data

from poxscan.pipelines.explain import (
    ModelExplainer,
    family_of,
    permutation_shap,
    save_global_explanation,
)
from poxscan.pipelines.image_model import positive_scores
from poxscan.pipelines.training import train_model


@pytest.fixture(scope="module")
def data(tmp_path_factory, data_root):
    root = str(tmp_path_factory.getbasetemp() / "poxscan_models")
    return feature_data(root, str(data_root))


def _fit(data, **config):
    table, y, groups, _ = data
    return train_model(table, y, groups, {"families": ["color"], **config}, cv=3, n_boot=20).model


def _logit(p):
    p = np.clip(p, 1e-12, 1 - 1e-12)
    return np.log(p / (1 - p))


def test_xgboost_uses_tree_shap_on_selected_named_features(data):
    table = data[0]
    model = _fit(data, classifier="xgboost", k=25, params={"n_estimators": 40})
    explainer = ModelExplainer.from_model(model, table, background_size=20)
    assert explainer.method == "tree-xgboost" and explainer.output == "log-odds"
    names = list(model.pipeline_[:-1].get_feature_names_out())
    assert list(explainer.feature_names) == names and len(names) == 25
    assert all(n.startswith("color__") for n in names)
    rows = table.iloc[:12]
    fast = explainer.explain(rows)  # XGBoost's own TreeSHAP, no shap import needed
    ref = explainer.explain_space(explainer.transform(rows), use_shap=True)  # shap.TreeExplainer
    np.testing.assert_allclose(fast.values, ref.values, atol=1e-4)
    assert fast.base_value == pytest.approx(ref.base_value, abs=1e-4)
    # Local accuracy: base + sum of SHAP values = the model's log-odds for each image.
    margin = _logit(positive_scores(model.pipeline_, rows))
    np.testing.assert_allclose(fast.base_value + fast.values.sum(axis=1), margin, atol=1e-4)


def test_linear_model_closed_form_equals_linear_explainer(data):
    table = data[0]
    model = _fit(data, classifier="logreg", k=15)
    explainer = ModelExplainer.from_model(model, table, background_size=40)
    assert explainer.method == "linear" and explainer.output == "log-odds"
    rows = table.iloc[5:15]
    fast = explainer.explain(rows)
    ref = explainer.explain_space(explainer.transform(rows), use_shap=True)
    np.testing.assert_allclose(fast.values, ref.values, atol=1e-8)
    decision = model.pipeline_.decision_function(rows)
    np.testing.assert_allclose(fast.base_value + fast.values.sum(axis=1), decision, atol=1e-8)


def test_pca_is_explained_on_the_real_features_before_it(data):
    table = data[0]
    model = _fit(data, classifier="logreg", selector="pca", k=8)
    explainer = ModelExplainer.from_model(model, table, background_size=40)
    # PCA ends the explanation space: the names are the scaled colour features, not pca__i.
    assert [type(s).__name__ for s in explainer.head_steps] == ["PCAReducer"]
    assert list(explainer.feature_names) == list(table.columns)
    # PCA followed by a logistic regression is linear in those features: read off exactly.
    assert explainer.method == "linear"
    rows = table.iloc[:10]
    expl = explainer.explain(rows)
    decision = model.pipeline_.decision_function(rows)
    np.testing.assert_allclose(expl.base_value + expl.values.sum(axis=1), decision, atol=1e-6)


def test_other_models_use_the_permutation_explainer(data):
    table = data[0]
    model = _fit(data, classifier="svm", selector="pca", k=5)
    explainer = ModelExplainer.from_model(model, table, background_size=8)
    assert explainer.method == "permutation" and explainer.output == "probability"
    assert list(explainer.feature_names) == list(table.columns)
    rows = table.iloc[:2]
    expl = explainer.explain(rows)
    assert expl.values.shape == (2, table.shape[1])
    assert np.abs(expl.values).sum() > 0
    score = positive_scores(model.pipeline_, rows)
    np.testing.assert_allclose(expl.base_value + expl.values.sum(axis=1), score, atol=1e-9)


def test_permutation_shap_is_exact_without_interactions(data):
    # For a function without interactions, any permutation gives the exact SHAP values,
    # which for a linear function with an independent masker are w * (x - mean(background)).
    rng = np.random.default_rng(1)
    X = data[0].to_numpy()[:, :12]
    w, b = rng.normal(size=12), 0.3
    background = X[:15]

    def f(Z):
        return Z @ w + b

    values, base = permutation_shap(f, X[20:24], background, n_permutations=2, seed=3)
    np.testing.assert_allclose(values, (X[20:24] - background.mean(axis=0)) * w, atol=1e-6)
    assert base == pytest.approx(float(np.mean(f(background))))

    # An interaction (x0 * x1) is shared between its two features; the rest stay exact.
    def g(Z):
        return f(Z) + Z[:, 0] * Z[:, 1]

    values, base = permutation_shap(g, X[20:22], background, max_cells=40 * 12)
    np.testing.assert_allclose(values.sum(axis=1) + base, g(X[20:22]), atol=1e-6)
    np.testing.assert_allclose(
        values[:, 2:], (X[20:22, 2:] - background[:, 2:].mean(axis=0)) * w[2:], atol=1e-6
    )


def test_global_explanation_files(data, tmp_path):
    table, _, _, paths = data
    model = _fit(data, classifier="logreg", k=20)
    explainer = ModelExplainer.from_model(model, table, background_size=30)
    summary = save_global_explanation(explainer, table, tmp_path, ids=paths, max_display=10)
    expected = {
        "global_importance.json",
        "shap_values.npz",
        "background.npz",
        "top_features.png",
        "families.png",
        "beeswarm.png",
    }
    assert {p.name for p in tmp_path.iterdir()} == expected
    for png in tmp_path.glob("*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 2000
    saved = json.loads((tmp_path / "global_importance.json").read_text())
    assert saved["features"] == summary["features"]
    with np.load(tmp_path / "shap_values.npz", allow_pickle=False) as npz:
        values, names = npz["values"], [str(n) for n in npz["feature_names"]]
        assert set(map(str, npz["ids"])) <= set(paths)
    with np.load(tmp_path / "background.npz", allow_pickle=False) as npz:
        assert npz["X"].shape == (30, 20)
    assert names == [str(n) for n in explainer.feature_names]
    # Per feature: mean |SHAP|, sorted; per family: mean |sum of the family's SHAP values|.
    importance = {f["feature"]: f["mean_abs_shap"] for f in saved["features"]}
    for j, name in enumerate(names):
        assert importance[name] == pytest.approx(np.abs(values[:, j]).mean())
    ordered = [f["mean_abs_shap"] for f in saved["features"]]
    assert ordered == sorted(ordered, reverse=True)
    (fam,) = saved["families"]
    assert fam["family"] == "color" and fam["n_features"] == 20
    assert fam["mean_abs_sum"] == pytest.approx(np.abs(values.sum(axis=1)).mean())
    assert fam["sum_mean_abs"] == pytest.approx(sum(importance.values()))


def test_per_image_top_features_are_signed_and_ranked(data):
    table = data[0]
    model = _fit(data, classifier="logreg", k=20)
    explainer = ModelExplainer.from_model(model, table, background_size=30)
    rows = table.iloc[:3]
    expl = explainer.explain(rows)
    tops = expl.top_features(4, raw=rows)
    assert len(tops) == 3
    for i, top in enumerate(tops):
        assert len(top) == 4
        strongest = np.sort(np.abs(expl.values[i]))[::-1][:4]
        np.testing.assert_allclose([abs(f["contribution"]) for f in top], strongest)
        for f in top:
            j = list(expl.feature_names).index(f["feature"])
            assert f["contribution"] == pytest.approx(expl.values[i, j])
            assert f["raw_value"] == pytest.approx(float(rows.iloc[i][f["feature"]]))
            assert f["family"] == family_of(f["feature"]) == "color"
