"""The input gate's two-signal cascade for mild distance exceedances (opt-in, not shipped).

Beyond a strict conformal point of the out-of-fold distances a photo is refused outright;
between the gate's own threshold and it, only when the backbone's ImageNet head is more
confident of its top class than the training photos' conformal point
(:func:`poxscan.pipelines.gate.cascade_thresholds`). ``experiments/bench_gate.py`` measures it.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from poxscan.pipelines.gate import (
    EmbeddingGate,
    InputGate,
    cascade_refuses,
    cascade_thresholds,
    conformal_threshold,
    fit_input_gate,
    head_probabilities,
    load_gate,
)


def test_cascade_thresholds_are_conformal_points_of_known_scores():
    scores = np.arange(1.0, 100.0)  # 99 out-of-fold distances 1..99
    confidence = np.linspace(0.01, 0.99, 99)
    rule = cascade_thresholds(scores, confidence, 0.05, 0.002, 0.10)
    # ceil(100 * 0.998) = 100 > 99: beyond every calibration photo (the largest score).
    assert rule["strict_threshold"] == 99.0
    # ceil(100 * 0.9) = 90: the 90th smallest confidence.
    assert rule["confidence_threshold"] == pytest.approx(confidence[89])
    assert rule["confidence_threshold"] == conformal_threshold(confidence, 0.10)
    assert rule["strict_rate"] == 0.002 and rule["confidence_rate"] == 0.10
    lenient = cascade_thresholds(scores, confidence, 0.10, 0.05, 0.10)
    assert lenient["strict_threshold"] == 95.0  # ceil(100 * 0.95)
    with pytest.raises(ValueError, match="strict rate"):
        cascade_thresholds(scores, confidence, 0.01, 0.01, 0.10)
    with pytest.raises(ValueError, match="one confidence per"):
        cascade_thresholds(scores, confidence[:5], 0.01, 0.002, 0.10)


def test_cascade_refuses_mild_exceedances_only_with_a_confident_head():
    rule = {"strict_threshold": 0.6, "confidence_threshold": 0.4}
    score = np.array([0.50, 0.55, 0.55, 0.65, 0.65, 0.55, 0.52, 0.60])
    confidence = np.array([0.9, 0.1, 0.9, 0.1, 0.9, 0.4, 0.9, 0.1])
    got = cascade_refuses(score, confidence, 0.52, rule)
    # within the threshold: never; mild: only confident (0.4 itself is not above 0.4);
    # beyond the strict threshold: always; at the threshold and at the strict one: not beyond.
    assert got.tolist() == [False, False, True, True, True, False, False, False]


def _synthetic_gate(cascade: bool):
    """A fitted gate on 8-dimensional embeddings whose ImageNet head (class 7, not a screen
    class) is driven by feature 0 alone, near zero in every training photo."""
    rng = np.random.default_rng(3)
    train = rng.normal(size=(200, 8)) + 5
    train[:, 0] = rng.uniform(0, 0.01, 200)
    gate = EmbeddingGate(n_neighbors=5, refuse_rate=0.05).fit(train)
    w = np.zeros((8, 1000), np.float32)
    w[0, 7] = 1000.0
    head = (w, np.zeros(1000, np.float32))
    rule = None
    if cascade:
        rule = cascade_thresholds(
            gate.oof_scores_, head_probabilities(train, head).max(axis=1), 0.05, 0.002, 0.10
        )
    return train, gate, InputGate(gate, head=head, cascade=rule)


def _mild(train, gate, rule):
    """An embedding between the threshold and the strict one (walked towards an outlier)."""
    far = -np.ones(8)
    far[0] = 0.0
    for t in np.linspace(0, 1, 2001):
        e = (1 - t) * train[0] + t * far
        s = float(gate.score(e[None])[0])
        if gate.threshold_ < s < rule["strict_threshold"] - 1e-3:
            return e
    raise AssertionError("no mild exceedance found")


def test_each_cascade_path_is_triggered_by_an_embedding_made_for_it():
    train, gate, cascaded = _synthetic_gate(cascade=True)
    plain = InputGate(gate, head=cascaded.head)
    rule = cascaded.cascade
    mild = _mild(train, gate, rule)
    confident = mild.copy()
    confident[0] = 0.05  # the head's class 7 becomes near certain; the distance barely moves
    assert gate.threshold_ < float(gate.score(confident[None])[0]) < rule["strict_threshold"]
    beyond = -np.ones(8)
    beyond[0] = 0.0  # far from every training photo, an unconfident head
    assert float(gate.score(beyond[None])[0]) > rule["strict_threshold"]

    inlier = cascaded.check_embedding(train[1])
    assert inlier.screenable
    # Mild, unconfident: the plain gate refuses it, the cascade lets it through.
    assert plain.check_embedding(mild).code == "not_skin"
    let = cascaded.check_embedding(mild)
    assert let.screenable and let.checks["imagenet_top_probability"] <= rule["confidence_threshold"]
    assert let.checks["distance_strict_threshold"] == rule["strict_threshold"]
    # Mild and a confident guess of some object: refused.
    sure = cascaded.check_embedding(confident)
    assert not sure.screenable and sure.code == "not_skin"
    assert sure.checks["imagenet_top"] == 7
    assert sure.checks["imagenet_top_probability"] > rule["confidence_threshold"]
    # Beyond the strict threshold: refused outright, however unsure the head.
    out = cascaded.check_embedding(beyond)
    assert not out.screenable and out.code == "not_skin"
    assert out.checks["imagenet_top_probability"] <= rule["confidence_threshold"]


def test_the_cascade_is_saved_described_and_loaded_back(tmp_path):
    train, gate, cascaded = _synthetic_gate(cascade=True)
    entry = cascaded.describe()
    emb = entry["embedding"]
    c = emb["cascade"]
    assert c["strict_threshold"] == cascaded.cascade["strict_threshold"]
    assert c["confidence_threshold"] == cascaded.cascade["confidence_threshold"]
    # The cascade refuses a subset of what the plain threshold refuses, on the training photos.
    assert emb["oof_refused"] <= c["oof_refused_without_cascade"]
    assert c["oof_refused_without_cascade"] == pytest.approx(
        np.mean(gate.oof_scores_ > gate.threshold_)
    )
    cascaded.save(tmp_path)
    entry = json.loads(json.dumps(entry))  # as the manifest stores it
    loaded = load_gate(tmp_path, entry)
    assert loaded.cascade is not None
    for key in ("strict_threshold", "confidence_threshold", "strict_rate", "confidence_rate"):
        assert loaded.cascade[key] == cascaded.cascade[key]
    np.testing.assert_allclose(
        loaded.cascade["calibration_confidence"], cascaded.cascade["calibration_confidence"]
    )
    mild = _mild(train, gate, cascaded.cascade)
    confident = mild.copy()
    confident[0] = 0.05
    for e in (train[1], mild, confident):
        assert loaded.check_embedding(e).code == cascaded.check_embedding(e).code
    # A plain gate's entry has no cascade, and its directory loads without one.
    _, _, plain = _synthetic_gate(cascade=False)
    assert "cascade" not in plain.describe()["embedding"]
    plain.save(tmp_path / "plain")
    assert load_gate(tmp_path / "plain", plain.describe()).cascade is None
    # A cascade entry whose gate.npz lacks the calibration scores is refused.
    with pytest.raises(ValueError, match="calibration scores"):
        load_gate(tmp_path / "plain", entry)


def test_fit_input_gate_sets_the_cascade_from_the_real_head():
    from poxscan.features.backbones import imagenet_head

    rng = np.random.default_rng(0)
    E = rng.gamma(0.5, 0.4, size=(120, 1280))  # non-negative, like pooled activations
    groups = np.repeat(np.arange(60), 2)
    gate = fit_input_gate(E, groups, cascade=True, strict_rate=0.002, confidence_rate=0.10)
    plain = fit_input_gate(E, groups)
    assert plain.cascade is None
    assert plain.embedding.threshold_ == gate.embedding.threshold_
    conf = head_probabilities(E, imagenet_head("efficientnet-lite0")).max(axis=1)
    assert gate.cascade["confidence_threshold"] == conformal_threshold(conf, 0.10)
    assert gate.cascade["strict_threshold"] == gate.embedding.oof_scores_.max()
    with pytest.raises(ValueError, match="ImageNet head"):
        InputGate(gate.embedding, head=None, cascade=gate.cascade)
    with pytest.raises(ValueError, match="ImageNet head"):
        fit_input_gate(E[:, :2048], groups, backbone="resnet50v2", cascade=True)
