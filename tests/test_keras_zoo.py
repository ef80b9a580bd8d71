"""The keras.applications zoo: every family builds, loads hash-checked weights, embeds a real image.

ImageNet weights cannot be downloaded here, so each test makes its own: the family's smallest
network is built by Keras' own constructor with ``weights="imagenet"`` while ``get_file`` only
records which file and hash Keras asks for (and ``load_weights`` does nothing), so the model is
randomly initialised and the registry's file name and hash are checked against what Keras itself
would fetch. Its weights are written in Keras' legacy ``.h5`` layout under that file name in a
private ``KERAS_HOME``, then loaded back through poxscan's hash check, with the expected hash
monkeypatched to the file's own, and must reproduce the original embedding of a real image. A
file with another hash, or absent from the cache, is refused without any download. Inputs are
each family's minimum size, to keep the suite fast.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys

import numpy as np
import pytest

from poxscan.core.imageio import to_square
from poxscan.features.backbones import BACKBONES, get_backbone, keras_apps
from poxscan.features.backbones.keras_apps import (
    APPS,
    WeightsHashError,
    WeightsNotFoundError,
    published_hash,
)
from poxscan.features.backbones.scaling import affine_map, scaling_layer

pytestmark = pytest.mark.deep

#: The smallest network of each Keras family (one builder per family, as Keras has).
FAMILIES = {
    "vgg": "vgg16",
    "resnet": "resnet50",
    "resnet_v2": "resnet50v2",
    "densenet": "densenet121",
    "efficientnet": "efficientnetb0",
    "efficientnet_v2": "efficientnetv2-b0",
    "convnext": "convnext-tiny",
    "xception": "xception",
    "inception_v3": "inceptionv3",
    "inception_resnet_v2": "inceptionresnetv2",
    "nasnet": "nasnetmobile",
    "mobilenet": "mobilenet",
    "mobilenet_v2": "mobilenetv2",
    "mobilenet_v3": "mobilenetv3small",
}
#: The first paper's networks (its ViT has no keras.applications counterpart).
PAPER = (
    "vgg16",
    "vgg19",
    "resnet50",
    "resnet101",
    "resnet50v2",
    "inceptionresnetv2",
    "mobilenetv2",
)


def _save_legacy_h5(model, path) -> None:
    """Write ``model``'s weights as Keras' published ``.h5`` files are laid out."""
    import h5py
    from keras.src.legacy.saving import legacy_h5_format

    with h5py.File(path, "w") as handle:
        legacy_h5_format.save_weights_to_hdf5_group(handle, model)


def _no_download(*args, **kwargs):
    raise AssertionError(f"a download was attempted: {args} {kwargs}")


def _keras_asks_for(app, shape, monkeypatch):
    """Keras' own constructor with ``weights="imagenet"``: the file it asks for, and its model."""
    import keras
    from keras.src.utils import file_utils

    asked: dict[str, object] = {}

    def record(fname, origin=None, *args, **kwargs):
        asked.update(
            fname=fname, file_hash=kwargs.get("file_hash"), subdir=kwargs.get("cache_subdir")
        )
        return "never-read.h5"

    with monkeypatch.context() as patch:
        patch.setattr(file_utils, "get_file", record)
        patch.setattr(keras.Model, "load_weights", lambda self, *a, **k: None)
        constructor = getattr(keras.applications, app.constructor)
        model = constructor(include_top=False, weights="imagenet", input_shape=shape, pooling="avg")
    return asked, model


def test_registry_offers_every_keras_application_and_the_papers_networks():
    import keras

    offered = {a.constructor for a in APPS.values()}
    shipped = {
        n
        for n in dir(keras.applications)
        if n[0].isupper() and callable(getattr(keras.applications, n))
    }
    assert offered == shipped, shipped ^ offered
    assert set(PAPER) <= set(BACKBONES)
    assert set(FAMILIES) == {a.family for a in APPS.values()}
    assert not any("vit" in n.lower() for n in shipped)  # Keras has no ViT application
    with pytest.raises(KeyError, match=r"unknown backbone 'vit-b16'.*vgg16"):
        get_backbone("vit-b16")
    # Published hashes come from Keras' source: spot-check two against Keras' modules.
    from keras.src.applications import efficientnet, resnet

    assert published_hash(APPS["resnet101"]) == resnet.WEIGHTS_HASHES["resnet101"][1]
    assert published_hash(APPS["efficientnetb7"], True) == efficientnet.WEIGHTS_HASHES["b7"][0]
    assert published_hash(APPS["mobilenetv2"]) is None  # Keras publishes none


@pytest.mark.slow
@pytest.mark.parametrize("name", list(FAMILIES.values()))
def test_family_builds_loads_checked_weights_and_embeds_a_real_image(
    name, tmp_path, monkeypatch, real_images
):
    import keras
    from keras.src.utils import file_utils

    from poxscan.pipelines.finetune import top_block_layers

    app, spec = APPS[name], get_backbone(name)
    side = app.min_size
    shape = (side, side, 3)
    keras.utils.set_random_seed(1)
    asked, original = _keras_asks_for(app, shape, monkeypatch)
    # The registry names the very file, cache folder and hash Keras would fetch.
    assert asked["fname"] == app.weights_file(False)
    assert asked["subdir"] == "models"
    assert asked["file_hash"] == published_hash(app)

    home = tmp_path / "keras_home"
    monkeypatch.setenv("KERAS_HOME", str(home))
    monkeypatch.setattr(file_utils, "get_file", _no_download)
    with pytest.raises(WeightsNotFoundError, match=app.weights_file(False)):
        spec.build(weights="imagenet", input_shape=shape)

    cached = home / "models" / app.weights_file(False)
    cached.parent.mkdir(parents=True)
    _save_legacy_h5(original, cached)
    sha = hashlib.sha256(cached.read_bytes()).hexdigest()
    refusal = "published hash of" if published_hash(app) else "publishes no hash"
    with pytest.raises(WeightsHashError, match=refusal):
        spec.build(weights="imagenet", input_shape=shape)
    with pytest.raises(WeightsHashError, match=rf"{cached.name}: sha256 {sha} does not match"):
        spec.build(weights=cached, weights_hash="0" * 64, input_shape=shape)

    monkeypatch.setattr(keras_apps, "published_hash", lambda app, include_top=False: sha)
    keras.utils.set_random_seed(2)  # another random init: equal outputs prove the load
    loaded = spec.build(weights="imagenet", input_shape=shape)
    assert spec.weights_fingerprint("imagenet") == f"sha256:{sha}"

    square = to_square(real_images[0], side)[None]
    x = spec.preprocess(square)
    want = np.asarray(original(x, training=False))
    got = np.asarray(loaded(x, training=False))
    assert got.shape == (1, app.feature_dim) == (1, spec.feature_dim)
    assert np.isfinite(got).all() and np.abs(got).max() > 0
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * np.abs(want).max())

    # Fine-tuning feeds plain pixels through a layer equal to the family's preprocess_input.
    scaled = np.asarray(scaling_layer(spec)(square.astype(np.float32)))
    np.testing.assert_allclose(scaled, x, rtol=1e-5, atol=1e-4)
    if name in ("inceptionv3", "nasnetmobile"):  # unnamed block layers: head-only fine-tuning
        with pytest.raises(ValueError, match="no blocks recognised"):
            top_block_layers(loaded, 1)
    else:
        top = top_block_layers(loaded, 1)
        assert any(loaded.get_layer(n).weights for n in top)
        assert len(top) < len(loaded.layers) / 2
    keras.backend.clear_session()


def test_preprocessing_is_each_familys_own():
    from keras.applications import densenet, vgg16

    batch = np.random.default_rng(0).integers(0, 256, (1, 2, 2, 3)).astype(np.uint8)
    for name, module in (("vgg16", vgg16), ("densenet121", densenet)):
        want = module.preprocess_input(batch.astype(np.float32))
        np.testing.assert_allclose(get_backbone(name).preprocess(batch), want, rtol=1e-6)
    # caffe mode (VGG, ResNet) swaps RGB to BGR: a channel permutation, not a common scale.
    matrix, bias = affine_map(get_backbone("vgg16"))
    np.testing.assert_allclose(matrix, np.eye(3)[::-1], atol=1e-9)
    np.testing.assert_allclose(bias, [-103.939, -116.779, -123.68], atol=1e-3)
    assert get_backbone("efficientnetb0").preprocess(batch).tolist() == batch.tolist()


@pytest.mark.slow
def test_deep_features_by_name_use_the_hash_checked_cache(tmp_path, monkeypatch, real_images):
    import keras

    from poxscan.features.deep import DeepFeatures, clear_model_cache

    app = APPS["mobilenetv3small"]
    home = tmp_path / "keras_home"
    (home / "models").mkdir(parents=True)
    monkeypatch.setenv("KERAS_HOME", str(home))
    keras.utils.set_random_seed(5)
    original = get_backbone(app.name).build(weights=None)
    _save_legacy_h5(original, home / "models" / app.weights_file(False))
    sha = hashlib.sha256((home / "models" / app.weights_file(False)).read_bytes()).hexdigest()
    clear_model_cache()
    fx = DeepFeatures(backbone="mobilenetv3small", batch_size=2)
    with pytest.raises(WeightsHashError, match="published hash"):
        fx.fit(real_images[:2]).transform(real_images[:2])
    monkeypatch.setattr(keras_apps, "published_hash", lambda app, include_top=False: sha)
    clear_model_cache()
    feats = fx.fit(real_images[:2]).transform(real_images[:2])
    assert feats.shape == (2, 576)
    assert fx.get_feature_names_out()[0] == "deep__mobilenetv3small_0"
    want = np.asarray(original(get_backbone(app.name).prepare(real_images[:2]), training=False))
    np.testing.assert_allclose(feats, want, rtol=1e-4, atol=1e-5 * np.abs(want).max())
    clear_model_cache()


@pytest.mark.slow
def test_vgg16_fine_tunes_saves_and_reloads(tmp_path, monkeypatch, msld_records):
    """VGG's BGR preprocessing inside a saved model: train briefly, save, reload, same output."""
    import keras

    from poxscan.core.imageio import load_image
    from poxscan.pipelines.cnn_model import FineTunedCNN
    from poxscan.pipelines.finetune import FineTuneConfig, fit_finetuned, prepare_images

    size = 32
    keras.utils.set_random_seed(0)
    base = get_backbone("vgg16").build(weights=None, input_shape=(size, size, 3))
    path = tmp_path / "vgg16_notop.h5"
    _save_legacy_h5(base, path)
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    monkeypatch.setattr(keras_apps, "published_hash", lambda app, include_top=False: sha)
    firsts = msld_records.drop_duplicates("patient")
    picks = firsts.groupby("y", group_keys=False).head(4).sort_values("id")
    images = prepare_images([load_image(p) for p in picks["path"]], size)
    y, groups = picks["y"].to_numpy(int), picks["patient"].to_numpy(str)
    cfg = FineTuneConfig(
        backbone="vgg16",
        weights=str(path),
        image_size=size,
        head_epochs=1,
        finetune_epochs=1,
        unfreeze_blocks=1,
        batch_size=4,
        inner_splits=2,
        patience=1,
        augment=None,
    )
    cnn = fit_finetuned(images, y, groups, cfg)
    assert cnn.model.get_layer("rescale").trainable is False
    assert any(n.startswith("block5_") for n in cnn.info["unfrozen_layers"])
    cnn.save(tmp_path / "model")
    again = FineTunedCNN.load(tmp_path / "model")
    x = images.astype(np.float32)
    np.testing.assert_allclose(again.model.predict_on_batch(x), cnn.model.predict_on_batch(x))


def test_backbones_command_lists_every_backbone(tmp_path):
    env = {"KERAS_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / APPS["vgg19"].weights_file(False)).write_bytes(b"not checked here")
    out = subprocess.run(
        [sys.executable, "-m", "poxscan", "backbones"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=True,
    )
    rows = {line.split()[0]: line.split() for line in out.stdout.splitlines()[1:] if line.strip()}
    assert set(rows) == set(BACKBONES)
    assert rows["vgg16"][1:4] == ["vgg", "224", "512"]
    assert rows["inceptionresnetv2"][2:4] == ["299", "1536"]
    assert rows["vgg19"][4] == "present" and rows["vgg16"][4] == "missing"
    assert rows["efficientnet-lite0"][4] == "present"  # shipped in its PyPI package
    assert "tensorflow" not in out.stderr.lower()
