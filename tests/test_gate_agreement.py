"""The input gate's agreement rule (opt-in, not shipped): a second backbone's kNN distance and
a colour-texture distance must agree before they refuse
(:class:`poxscan.pipelines.gate.AgreementRule`). ``experiments/bench_gate.py`` measures it.
"""

from __future__ import annotations

import numpy as np
import pytest

from poxscan.pipelines.gate import (
    COLOUR_FEATURES,
    AgreementRule,
    EmbeddingGate,
    InputGate,
    colour_features,
    conformal_threshold,
    fit_input_gate,
)


def test_colour_features_of_flat_and_two_tone_pictures_are_worked_out_by_hand():
    grey = colour_features(np.full((300, 400, 3), 128, np.uint8))
    assert grey.shape == (len(COLOUR_FEATURES),) == (8,)
    # Grey: Cr = Cb = 128 exactly, no spread anywhere, no saturation, no skin colour.
    assert grey.tolist() == [128.0, 128.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    # Left half black, right half white (on the 224 px square): grey levels 0 and 255 in equal
    # shares, so their standard deviation is 127.5; chroma stays 128, saturation 0.
    two = np.zeros((224, 224, 3), np.uint8)
    two[:, 112:] = 255
    f = colour_features(two)
    assert f[0] == f[1] == 128.0 and f[2] == f[3] == 0.0
    assert f[4] == pytest.approx(np.log1p(127.5))
    assert f[5] == f[6] == 0.0
    # A pure red picture: Cr 255 (clipped), Cb 85 by OpenCV's integer formula, saturation 255.
    red = np.zeros((224, 224, 3), np.uint8)
    red[..., 0] = 255
    r = colour_features(red)
    assert r[0] == 255.0 and r[1] == pytest.approx(85.0, abs=1.0) and r[5] == 255.0
    assert r[7] == 0.0  # outside the skin region (Cr above 173)


def _training(seed: int = 0, n: int = 200):
    """Gate embeddings (8-d), second-backbone embeddings (6-d) and colour features of ``n``
    synthetic training photos, each cluster tight around its own direction."""
    rng = np.random.default_rng(seed)
    E = rng.normal(size=(n, 8)) * 0.3 + 5
    E2 = rng.normal(size=(n, 6)) * 0.3 + 5
    C = rng.normal(size=(n, len(COLOUR_FEATURES)))
    return E, E2, C


def test_the_rules_thresholds_are_conformal_points_of_out_of_fold_scores():
    E, E2, C = _training()
    gate = EmbeddingGate(n_neighbors=5).fit(E)
    rule = AgreementRule().fit(E2, C, gate.oof_scores_, gate.folds_)
    assert rule.strict_threshold_ == conformal_threshold(gate.oof_scores_, 0.002)
    assert rule.strict_threshold_ == gate.oof_scores_.max()  # 200 photos: beyond every one
    assert rule.mild_threshold_ == conformal_threshold(rule.second_oof_, 0.02)
    assert rule.low_threshold_ == conformal_threshold(rule.second_oof_, 0.05)
    assert rule.colour_threshold_ == conformal_threshold(rule.colour_oof_, 0.01)
    assert rule.low_threshold_ < rule.mild_threshold_
    # Out of fold: a training photo's own row never vouches for it (in-sample scores are
    # smaller: the photo is its own nearest neighbour).
    s_in, _ = rule.scores(E2, C)
    assert np.all(s_in < rule.second_oof_ + 1e-12) and np.mean(s_in < rule.second_oof_) > 0.9
    with pytest.raises(ValueError, match="one second embedding"):
        rule.fit(E2[:10], C, gate.oof_scores_, gate.folds_)
    with pytest.raises(ValueError, match="strict rate"):
        AgreementRule(strict_rate=0.05).fit(E2, C, gate.oof_scores_, gate.folds_)


def _threshold_between(gate, E, lo: float, hi: float) -> np.ndarray:
    """An embedding whose gate distance lies strictly between ``lo`` and ``hi`` (walked from a
    training photo towards an outlier direction)."""
    far = -np.ones(E.shape[1])
    for t in np.linspace(0, 1, 4001):
        e = (1 - t) * E[0] + t * far
        if lo + 1e-4 < float(gate.score(e[None])[0]) < hi - 1e-4:
            return e
    raise AssertionError("no such embedding")


def test_each_refusal_path_is_triggered_by_inputs_made_for_it():
    E, E2, C = _training()
    gate = fit_input_gate(E, None, imagenet_head=False, agreement=(E2, C))
    rule = gate.agreement
    emb = gate.embedding
    assert rule is not None and gate.cascade is None
    inlier, inlier2, inlier_c = E[1], E2[1], C[1]
    far2 = -np.ones(6)  # far from every second-backbone training photo
    far_c = np.full(len(COLOUR_FEATURES), 8.0)  # far from every colour vector
    mild = _threshold_between(emb, E, emb.threshold_, rule.strict_threshold_)
    beyond = -np.ones(8)
    assert float(emb.score(beyond[None])[0]) > rule.strict_threshold_

    def code(e, e2, c):
        return gate.check_embedding(e, {}, e2, c).code

    assert code(inlier, inlier2, inlier_c) == "ok"
    # (1) Beyond the strict point: refused, whatever the other two say.
    assert code(beyond, inlier2, inlier_c) == "not_skin"
    # (2) A mild exceedance: refused only when the second backbone agrees.
    assert code(mild, inlier2, inlier_c) == "ok"
    assert code(mild, far2, inlier_c) == "not_skin"
    assert InputGate(emb).check_embedding(mild).code == "not_skin"  # the plain gate refuses
    # (3) Within the gate's threshold: refused only when the second backbone and colour agree.
    assert code(inlier, far2, inlier_c) == "ok"
    assert code(inlier, inlier2, far_c) == "ok"
    both = gate.check_embedding(inlier, {}, far2, far_c)
    assert both.code == "not_skin"
    assert both.checks["second_distance"] > rule.low_threshold_
    assert both.checks["colour_distance"] > rule.colour_threshold_
    with pytest.raises(ValueError, match="agreement rule needs"):
        gate.check_embedding(inlier)


def test_the_rule_is_off_by_default_described_and_never_saved(tmp_path):
    E, E2, C = _training()
    plain = fit_input_gate(E, None, imagenet_head=False)
    assert plain.agreement is None and "agreement" not in plain.describe()["embedding"]
    gate = fit_input_gate(E, None, imagenet_head=False, agreement=(E2, C))
    entry = gate.describe()["embedding"]["agreement"]
    assert entry["second_backbone"] == "efficientnet-lite0" and entry["second_neighbors"] == 5
    assert entry["low_threshold"] == gate.agreement.low_threshold_
    assert entry["colour_features"] == list(COLOUR_FEATURES)
    with pytest.raises(NotImplementedError, match="not saved"):
        gate.save(tmp_path)
    assert not (tmp_path / "gate.npz").exists()
    with pytest.raises(ValueError, match="not both"):
        fit_input_gate(E, None, agreement=(E2, C), cascade=True)


def test_check_computes_the_colour_features_of_the_image_itself(photos):
    """On a real photo the whole-image path (pixel checks, colour features) gives the verdict
    of the embedding path fed the same colour features."""
    rng = np.random.default_rng(1)
    E, E2, C = _training()
    C = np.array([colour_features(p) for p in photos[:4]])
    C = np.vstack([C + rng.normal(0, 0.5, C.shape) for _ in range(50)])
    gate = fit_input_gate(E, None, imagenet_head=False, agreement=(E2, C))
    image = photos[0]
    whole = gate.check(image, E[1], E2[1])
    by_hand = gate.check_embedding(E[1], {}, E2[1], colour_features(image))
    assert whole.code == by_hand.code == "ok"
    assert whole.checks["colour_distance"] == by_hand.checks["colour_distance"]
