"""Pipeline builder, steps and targets on real handcrafted features of 40 MSLD images."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from _pipeline_data import shared_cache, small_experiment

from poxscan.pipelines.builder import (
    SELECTORS,
    build_pipeline,
    config_families,
    family_names,
    normalize_config,
)
from poxscan.pipelines.classifiers import CLASSIFIERS
from poxscan.pipelines.family_selector import FamilyColumnSelector
from poxscan.pipelines.selectors import KBestSelector, PCAReducer
from poxscan.pipelines.targets import make_target


@pytest.fixture(scope="session")
def small(data_root, tmp_path_factory):
    return small_experiment(data_root, shared_cache(tmp_path_factory))


@pytest.fixture(scope="session")
def split(small):
    # A fixed grouped split: 8 of the 20 patients held out.
    groups = np.unique(small.groups)
    test_groups = set(groups[::5]) | set(groups[1::5])
    test = np.isin(small.groups, list(test_groups))
    return np.flatnonzero(~test), np.flatnonzero(test)


@pytest.mark.parametrize("selector", SELECTORS)
@pytest.mark.parametrize("classifier", CLASSIFIERS)
def test_every_classifier_and_selector_fits_predicts_and_names(small, split, classifier, selector):
    train, test = split
    # Texture and two colour columns (92): an LDA or a mutual-information ranking over the
    # 1764 HOG columns takes seconds per fit on this machine.
    keep = small.X.columns.str.startswith("texture__") | small.X.columns.isin(small.X.columns[:2])
    X = small.X.loc[:, keep]
    config = {
        "families": ["color", "texture"],
        "selector": selector,
        "k": 12,
        "classifier": classifier,
    }
    pipe = build_pipeline(config)
    assert [name for name, _ in pipe.steps] == ["families", "scaler", "select", "clf"]
    pipe.fit(X.iloc[train], small.y[train])
    proba = pipe.predict_proba(X.iloc[test])
    assert proba.shape == (len(test), 2)
    assert np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)
    # Names of what the classifier sees, for SHAP.
    names = pipe[:-1].get_feature_names_out()
    n_cols = X.shape[1]
    if selector == "none":
        assert list(names) == list(X.columns)
    elif selector == "pca":
        assert list(names) == [f"pca__{i}" for i in range(12)]
    else:
        assert len(names) == 12
        assert set(names) <= set(X.columns)
    assert len(names) <= n_cols
    # The config is JSON-able and rebuilds the same pipeline.
    again = build_pipeline(json.loads(json.dumps(normalize_config(config))))
    assert repr(again) == repr(build_pipeline(config))


@pytest.mark.parametrize("classifier", CLASSIFIERS)
def test_multiclass_probabilities(small, classifier):
    # Three classes made from the patient ids (msld_v1 itself is binary).
    y3 = np.asarray([hash(g) % 3 for g in small.groups])
    y3[:3] = [0, 1, 2]
    pipe = build_pipeline(
        {
            "task": "multiclass",
            "families": ["color"],
            "selector": "anova",
            "k": 20,
            "classifier": classifier,
        }
    ).fit(small.X, y3)
    proba = pipe.predict_proba(small.X)
    assert proba.shape == (len(y3), 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)


@pytest.mark.parametrize("selector", SELECTORS)
def test_every_selector_handles_several_classes(small, selector):
    y3 = np.arange(len(small.y)) % 3
    X = small.X.filter(regex="^texture__")
    pipe = build_pipeline(
        {
            "task": "multiclass",
            "families": ["texture"],
            "selector": selector,
            "k": 9,
            "classifier": "logreg",
        }
    ).fit(X, y3)
    assert pipe.predict_proba(X).shape == (len(y3), 3)
    assert len(pipe[:-1].get_feature_names_out()) == (X.shape[1] if selector == "none" else 9)


def test_family_selector_keeps_families_in_table_order(small):
    sel = FamilyColumnSelector(families=["hog", "color"]).fit(small.X)
    names = sel.get_feature_names_out()
    assert {n.split("__")[0] for n in names} == {"color", "hog"}
    assert list(names) == [c for c in small.X.columns if c.startswith(("color__", "hog__"))]
    out = sel.transform(small.X)
    np.testing.assert_array_equal(out, small.X[list(names)].to_numpy(dtype=np.float64))
    # Shuffled columns are found by name; a bare array by position.
    shuffled = small.X[small.X.columns[::-1]]
    np.testing.assert_array_equal(sel.transform(shuffled), out)
    np.testing.assert_array_equal(sel.transform(small.X.to_numpy()), out)


def test_family_selector_errors(small):
    with pytest.raises(ValueError, match=r"\['deep'\] are not in the table"):
        FamilyColumnSelector(families=["deep"]).fit(small.X)
    with pytest.raises(TypeError, match="DataFrame"):
        FamilyColumnSelector(families=["color"]).fit(small.X.to_numpy())
    sel = FamilyColumnSelector(families=["color"]).fit(small.X)
    with pytest.raises(ValueError, match="missing"):
        sel.transform(small.X.drop(columns=[sel.columns_[0]]))


def test_k_is_clipped_to_the_data(small):
    X = small.X.filter(like="color__").to_numpy()
    sel = KBestSelector(method="anova", k=10_000).fit(X, small.y)
    assert sel.k_ == X.shape[1]
    assert sel.transform(X).shape == X.shape
    pca = PCAReducer(k=10_000).fit(X[:15])
    assert pca.k_ == 15
    assert pca.transform(X).shape == (len(X), 15)
    with pytest.raises(ValueError, match="k must be at least 1"):
        KBestSelector(k=0).fit(X, small.y)


def test_selector_ranks_an_informative_column_first(small):
    X = small.X.filter(like="texture__").to_numpy().copy()
    rng = np.random.default_rng(0)
    X[:, 5] = small.y + 0.01 * rng.normal(size=len(small.y))
    for method in ("anova", "mutual_info", "l1", "tree"):
        sel = KBestSelector(method=method, k=1, C=1.0).fit(X, small.y)
        assert np.flatnonzero(sel.get_support()).tolist() == [5], method


def test_selector_learns_from_the_rows_it_is_given(small, split):
    train, _ = split
    X = small.X.to_numpy()
    on_train = KBestSelector(method="anova", k=30).fit(X[train], small.y[train])
    on_all = KBestSelector(method="anova", k=30).fit(X, small.y)
    assert not np.allclose(on_train.scores_, on_all.scores_)
    assert not np.array_equal(on_train.get_support(), on_all.get_support())


def test_config_validation():
    with pytest.raises(ValueError, match="unknown classifier"):
        build_pipeline({"classifier": "knn"})
    with pytest.raises(ValueError, match=r"unknown parameters \['depth'\]"):
        build_pipeline({"classifier": "xgboost", "params": {"depth": 3}})
    with pytest.raises(ValueError, match="unknown config keys"):
        build_pipeline({"clasifier": "lda"})
    with pytest.raises(ValueError, match="unknown feature families"):
        build_pipeline({"families": ["colour"]})
    with pytest.raises(ValueError, match="LDA solver"):
        build_pipeline({"classifier": "lda", "params": {"solver": "svd"}})
    cfg = normalize_config({"classifier": "xgboost", "params": {"max_depth": 2}})
    assert cfg["params"]["max_depth"] == 2 and cfg["params"]["n_estimators"] == 200
    assert cfg["families"] == ["color", "texture", "hog", "deep"]


def test_config_families_list_and_dict():
    assert config_families({"families": ["color", "deep"]}) == {"color": {}, "deep": {}}
    lite2 = {"families": {"deep": {"backbone": "efficientnet-lite2"}, "hog": None}}
    assert config_families(lite2) == {"deep": {"backbone": "efficientnet-lite2"}, "hog": {}}
    assert family_names(lite2) == ["deep", "hog"]
    pipe = build_pipeline(lite2)
    assert pipe.named_steps["families"].families == ["deep", "hog"]
    with pytest.raises(ValueError, match="at least one"):
        config_families({"families": []})


def test_targets(msld_records):
    y, names = make_target(msld_records, "binary")
    assert names == ["not_mpox", "mpox"]
    assert y.sum() == (msld_records["label"] == "mpox").sum()
    with pytest.raises(ValueError, match="msld_v1 is binary only"):
        make_target(msld_records, "multiclass")
    fake = pd.DataFrame({"label": ["measles", "mpox", "normal", "mpox"], "y": [0, 1, 0, 1]})
    y3, names3 = make_target(fake, "multiclass")
    assert names3 == ["mpox", "measles", "normal"]
    assert y3.tolist() == [1, 0, 2, 0]


@pytest.mark.parametrize("kernel", ["rbf", "linear"])
def test_svm_is_calibrated_once(small, kernel, monkeypatch):
    """The SVM has no inner (group-blind) calibration: one SVM fit on the training rows, its
    probability a fixed squash of its margin; only the model's grouped calibrator rescales it."""
    from scipy.special import expit
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.svm import SVC, LinearSVC

    from poxscan.pipelines.image_model import ImageModel

    cfg = {"families": ["color", "texture"], "selector": "anova", "k": 20, "classifier": "svm"}
    cfg["params"] = {"kernel": kernel}
    pipe = build_pipeline(cfg)
    assert not any(isinstance(s, CalibratedClassifierCV) for _, s in pipe.steps)
    base = SVC if kernel == "rbf" else LinearSVC
    fits = []
    original = base.fit

    def counting_fit(self, X, y, *a, **kw):
        fits.append(len(y))
        return original(self, X, y, *a, **kw)

    monkeypatch.setattr(base, "fit", counting_fit)
    pipe.fit(small.X, small.y)
    assert fits == [len(small.y)]  # once, on every training row (no internal folds)
    margin = pipe.decision_function(small.X)
    np.testing.assert_allclose(pipe.predict_proba(small.X)[:, 1], expit(margin))
    np.testing.assert_array_equal(pipe.predict(small.X), (margin > 0).astype(int))
    # In the deployed model, the only calibration is the grouped out-of-fold one.
    fits.clear()
    model = ImageModel(families=["color", "texture"], pipeline=cfg, cv=4).fit_features(
        small.X, small.y, small.groups
    )
    assert fits == [len(tr) for tr, _ in _folds(small, 4)] + [len(small.y)]
    raw = expit(model.pipeline_.decision_function(model._align(small.X)))
    np.testing.assert_allclose(
        model.predict_proba_features(small.X)[:, 1], model.calibrator_.predict(raw)
    )


def _folds(data, k):
    from poxscan.pipelines.splits import grouped_folds

    return grouped_folds(data.y, data.groups, k, seed=0)


def test_a_fitted_lda_model_keeps_no_covariance_and_predicts_the_same(small):
    """The shipped head is a shrinkage LDA: its pooled covariance (features squared) is fit-only
    state, dropped from the deployed model; the probabilities are those of the full estimator."""
    import copy
    import pickle

    from poxscan.pipelines.image_model import ImageModel

    cfg = {"families": ["color", "texture", "hog"], "selector": "none", "classifier": "lda"}
    full = build_pipeline(cfg).fit(small.X, small.y)
    lda = full.steps[-1][1]
    n = lda.coef_.shape[1]
    assert lda.covariance_.shape == (n, n)  # what scikit-learn keeps after fitting

    model = ImageModel(families=cfg["families"], pipeline=cfg, cv=4).fit_features(
        small.X, small.y, small.groups
    )
    head = model.pipeline_.steps[-1][1]
    assert not hasattr(head, "covariance_")
    X = model._align(small.X)
    np.testing.assert_array_equal(model.pipeline_.predict_proba(X), full.predict_proba(X))
    # The pickled model is smaller by at least the covariance's bytes.
    with_cov = copy.deepcopy(model)
    with_cov.pipeline_ = full
    saved = len(pickle.dumps(with_cov)) - len(pickle.dumps(model))
    assert saved >= n * n * 8
