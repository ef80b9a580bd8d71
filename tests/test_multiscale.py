"""Multi-scale test-time averaging of the deep embedding (``poxscan.features.multiscale``)."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.base import clone

from poxscan.features.deep import DeepFeatures
from poxscan.features.multiscale import check_scales, scale_sizes


def test_scales_give_one_square_side_each_and_none_the_input_size():
    assert scale_sizes(260, [0.875, 1.0, 1.125]) == [228, 260, 292]
    assert scale_sizes(224, (1, 1.25)) == [224, 280]
    assert scale_sizes(224, None) == [224]
    with pytest.raises(ValueError, match="same square size twice"):
        scale_sizes(224, [1.0, 1.001])


def test_bad_scales_are_clear_errors():
    for bad in (
        "1.0",
        1.0,
        [],
        [1.0] * 2,
        [0.25],
        [3.0],
        [True],
        [1.0, "2"],
        [1, 1.1, 1.2, 1.3, 1.4],
    ):
        with pytest.raises(ValueError, match="scales"):
            check_scales(bad)
    check_scales(None)
    check_scales((0.5, 2.0))
    with pytest.raises(ValueError, match="scales"):
        DeepFeatures(scales=[4.0]).fingerprint()
    # One fixed input size in an exported file: multi-scale needs the Keras runtime.
    with pytest.raises(ValueError, match="scales need the Keras runtime"):
        DeepFeatures(
            scales=[1.0, 1.125], runtime="tflite-float32", tflite_model="b.tflite"
        ).fingerprint()


def test_the_option_follows_sklearn_conventions_and_keeps_old_fingerprints():
    fx = DeepFeatures(backbone="efficientnet-lite0", scales=[0.875, 1.0])
    assert fx.get_params()["scales"] == [0.875, 1.0]
    assert fx.set_params(scales=(1.0, 1.125)) is fx and fx.scales == (1.0, 1.125)
    copy = clone(fx)
    assert copy.scales == (1.0, 1.125) and copy is not fx
    base = DeepFeatures(backbone="efficientnet-lite0").fingerprint()
    assert DeepFeatures(backbone="efficientnet-lite0", scales=None).fingerprint() == base
    several = DeepFeatures(backbone="efficientnet-lite0", scales=[1, 1.125]).fingerprint()
    assert several != base
    # The same scales however spelt (tuple or list, int or float) compute the same.
    assert DeepFeatures(backbone="efficientnet-lite0", scales=(1.0, 1.125)).fingerprint() == (
        several
    )
    assert DeepFeatures(backbone="efficientnet-lite0", scales=[1.125, 1]).fingerprint() != (
        several
    )  # the order is kept as given (the mean does not depend on it, the float sum may)
    # An extractor pickled before the option existed loads with the default.
    state = pickle.loads(pickle.dumps(DeepFeatures(backbone="efficientnet-lite0")))
    del state.__dict__["scales"]
    assert state.scales is None and state.fingerprint() == base


def test_the_embedding_is_the_mean_over_the_scales(real_images):
    from poxscan.features.orientation import posed_squares

    images = real_images[:2]
    plain = DeepFeatures(backbone="efficientnet-lite0", orient="canonical").fit(images)
    one = DeepFeatures(backbone="efficientnet-lite0", orient="canonical", scales=[1.0])
    # One scale of 1: the plain embedding (the any-size network has the same weights).
    np.testing.assert_allclose(
        one.fit(images).transform(images), plain.transform(images), rtol=0, atol=1e-4
    )
    three = DeepFeatures(
        backbone="efficientnet-lite0", orient="canonical", scales=[0.875, 1.0, 1.125]
    ).fit(images)
    got = three.transform(images)
    model = three._model()
    spec = three._spec()
    per_size = [
        np.asarray(
            model.predict_on_batch(spec.preprocess(posed_squares(images, s, orient="canonical")))
        )
        for s in (196, 224, 252)
    ]
    np.testing.assert_allclose(got, np.mean(per_size, axis=0), rtol=0, atol=1e-5)
    # The other sizes do change the embedding, so the average is not the plain one.
    assert np.abs(got - plain.transform(images)).max() > 1e-2
    assert list(three.get_feature_names_out()) == list(plain.get_feature_names_out())
