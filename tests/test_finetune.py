"""Fine-tuned CNNs: a short real training run, augmentation on training batches only, grouped
inner validation, the layers unfrozen, and the saved model's integrity check."""

from __future__ import annotations

import numpy as np
import pytest

from poxscan.core.data import load_groups
from poxscan.core.imageio import load_image
from poxscan.pipelines.augmentation import AugmentConfig, build_augmentation, make_dataset
from poxscan.pipelines.finetune import (
    FineTuneConfig,
    fit_finetuned,
    inner_validation_split,
    prepare_images,
    top_block_layers,
)
from poxscan.pipelines.persistence import ModelIntegrityError

pytestmark = [pytest.mark.deep, pytest.mark.slow]

SIZE = 64  # small input: the test is about the procedure, not accuracy


@pytest.fixture(scope="module")
def eight(msld_records):
    """Eight real images of eight different patients, four mpox and four others."""
    firsts = msld_records.drop_duplicates("patient")
    picks = firsts.groupby("y", group_keys=False).head(4).sort_values("id")
    images = prepare_images([load_image(p) for p in picks["path"]], SIZE)
    return images, picks["y"].to_numpy(int), picks["patient"].to_numpy(str)


@pytest.fixture(scope="module")
def trained(eight):
    images, y, groups = eight
    cfg = FineTuneConfig(
        image_size=SIZE,
        head_epochs=1,
        finetune_epochs=1,
        batch_size=4,
        inner_splits=2,
        patience=1,
        seed=3,
    )
    return fit_finetuned(images, y, groups, cfg), cfg


def test_short_training_runs_both_phases_with_finite_loss(trained):
    cnn, _ = trained
    info = cnn.info
    for phase in ("head", "finetune"):
        hist = info[phase]["history"]
        assert info[phase]["epochs_run"] == 1
        assert np.isfinite(hist["loss"]).all() and np.isfinite(hist["val_loss"]).all()
        assert info[phase]["seconds"] > 0
    assert np.isfinite(info["best_val_loss"])
    # Phase 2 trained the top blocks only: far fewer weights than the whole backbone.
    assert 0 < info["n_trainable_params"] < cnn.model.count_params()
    assert all(("block1" in n or "head" in n) for n in info["unfrozen_layers"])
    assert not any(n.endswith("_bn") for n in info["unfrozen_layers"])
    assert info["n_train"] + info["n_val"] == 8
    p = cnn.predict_proba_prepared(np.zeros((2, SIZE, SIZE, 3), np.uint8))
    assert p.shape == (2, 2) and np.allclose(p.sum(axis=1), 1) and ((p >= 0) & (p <= 1)).all()


def test_batch_norm_layers_stay_frozen(trained):
    import keras

    cnn, _ = trained
    base = next(layer for layer in cnn.model.layers if isinstance(layer, keras.Model))
    bns = [layer for layer in base.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert bns and not any(layer.trainable for layer in bns)


def test_augmentation_changes_training_inputs_only(eight):
    images, y, _ = eight
    aug = build_augmentation(AugmentConfig(), seed=1)
    train = next(iter(make_dataset(images, y, training=True, batch_size=8, augmentation=aug)))
    evaluation = next(iter(make_dataset(images, y, training=False, batch_size=8)))
    x_train, y_train = (np.asarray(t) for t in train)
    x_eval, y_eval = (np.asarray(t) for t in evaluation)
    # Evaluation batches: the images themselves, in order, as float.
    np.testing.assert_array_equal(x_eval, images.astype(np.float32))
    np.testing.assert_array_equal(y_eval.ravel(), y)
    # Training batches (shuffled): no image survives unchanged, values stay in [0, 255].
    assert x_train.shape == x_eval.shape and 0 <= x_train.min() and x_train.max() <= 255
    for img in x_train:
        assert min(np.abs(img - raw).mean() for raw in images.astype(np.float32)) > 1.0
    # Labels travel with their images.
    assert sorted(y_train.ravel().tolist()) == sorted(y.tolist())


def test_inner_validation_split_is_grouped(msld_records):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # no audit groups in a test: patient ids
        groups = load_groups(msld_records).to_numpy(str)
    y = msld_records["y"].to_numpy(int)
    assert len(set(groups)) < len(groups)  # some patients have several images
    train, val = inner_validation_split(y, groups, n_splits=5, seed=0)
    assert not set(groups[train]) & set(groups[val])
    assert sorted(np.concatenate([train, val]).tolist()) == list(range(len(y)))
    assert set(y[val]) == {0, 1} and 0.1 < len(val) / len(y) < 0.3


def test_top_blocks_are_read_from_layer_names():
    import keras

    from poxscan.features.backbones import get_backbone

    lite = get_backbone("efficientnet-lite0").build(weights=None, input_shape=(SIZE, SIZE, 3))
    names = top_block_layers(lite, 3)
    assert {n.split("_")[0] for n in names} >= {"block13", "block14", "block15", "head"}
    assert not any(n.startswith("block12_") for n in names)
    # ResNet50V2 (keras.applications naming): the same code path picks conv5's blocks.
    keras.backend.clear_session()
    resnet = get_backbone("resnet50v2").build(weights=None, input_shape=(SIZE, SIZE, 3))
    names = top_block_layers(resnet, 3)
    assert {n[:12] for n in names if n.startswith("conv")} == {
        "conv5_block1",
        "conv5_block2",
        "conv5_block3",
    }
    assert "post_bn" in names


def test_saved_model_round_trips_and_refuses_a_changed_file(trained, eight, msld_records, tmp_path):
    from poxscan.pipelines.cnn_model import FineTunedCNN

    cnn, _ = trained
    images, _, _ = eight
    manifest = cnn.save(tmp_path / "cnn", training_data={"n_images": 8})
    assert set(manifest["files"]) == {"model.keras"}
    loaded = FineTunedCNN.load(tmp_path / "cnn")
    np.testing.assert_allclose(
        loaded.predict_proba_prepared(images), cnn.predict_proba_prepared(images), atol=1e-6
    )
    # Images of any size are fitted to the input square.
    wide = load_image(msld_records["path"].iloc[0])[:150]
    assert loaded.predict_proba([wide]).shape == (1, 2)
    target = tmp_path / "cnn" / "model.keras"
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 1
    target.write_bytes(bytes(data))
    with pytest.raises(ModelIntegrityError, match=r"model\.keras"):
        FineTunedCNN.load(tmp_path / "cnn")
