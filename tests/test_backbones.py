"""Backbones: the torch-free .pth reader, the EfficientNet-Lite port, ResNet50V2, the registry.

The EfficientNet-Lite port is checked against ImageNet labels of two scikit-image photos and
against logits PyTorch computed on real dataset images
(``tests/fixtures/efficientnet_lite_reference.npz``, made by
``tests/fixtures/make_efficientnet_lite_reference.py``).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import skimage.data

from poxscan.core.imageio import image_hash, load_image, to_square
from poxscan.features.backbones import BACKBONES, get_backbone, resnet50v2
from poxscan.features.backbones import efficientnet_lite as lite
from poxscan.features.backbones.torch_legacy import (
    LEGACY_MAGIC_NUMBER,
    TorchFileError,
    UnsafePickleError,
    load_state_dict,
    name_hash_prefix,
)

FIXTURES = Path(__file__).parent / "fixtures"
REFERENCE = FIXTURES / "efficientnet_lite_reference.npz"
CAT_CLASSES = range(281, 286)  # tabby, tiger cat, Persian, Siamese, Egyptian cat
ESPRESSO = 967


def _expected_tiny() -> dict[str, np.ndarray]:
    base = np.arange(12, dtype=np.float32).reshape(3, 4)
    return {
        "base": base,
        "transposed": base.T,
        "row": base[1],
        "half": (np.arange(5) / 4).astype(np.float16),
        "bf16": np.array([1.0, -2.5, 0.15625], dtype=np.float32),
        "long": np.arange(-3, 3, dtype=np.int64),
        "flag": np.array([True, False, True]),
        "scalar": np.array(3.5, dtype=np.float64),
    }


# -- the .pth reader ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["tiny_state_dict_legacy.pth", "tiny_state_dict_zip.pt"])
def test_reader_rebuilds_views_dtypes_and_shared_storage(name):
    state = load_state_dict(FIXTURES / name)
    expected = _expected_tiny()
    assert list(state) == list(expected)
    for key, want in expected.items():
        got = state[key]
        assert got.dtype == want.dtype, key
        assert got.shape == want.shape, key
        np.testing.assert_array_equal(got, want, err_msg=key)
        assert got.flags.c_contiguous and got.flags.writeable


def test_reader_checks_the_hash_in_the_file_name(tmp_path):
    src = FIXTURES / "tiny_state_dict_legacy.pth"
    digest = hashlib.sha256(src.read_bytes()).hexdigest()
    good = tmp_path / f"tiny-{digest[:8]}.pth"
    bad = tmp_path / f"tiny-{'0' * 8 if digest[:8] != '0' * 8 else '1' * 8}.pth"
    shutil.copy(src, good)
    shutil.copy(src, bad)
    assert name_hash_prefix(good) == digest[:8]
    assert set(load_state_dict(good)) == set(_expected_tiny())
    with pytest.raises(TorchFileError, match=r"tiny-.*\.pth: SHA-256 .* does not match"):
        load_state_dict(bad)
    with pytest.raises(TorchFileError, match="does not match"):
        load_state_dict(src, expected_sha256="ab" * 32)
    assert load_state_dict(src, expected_sha256=digest)["row"].tolist() == [4, 5, 6, 7]


def test_reader_refuses_truncated_and_foreign_files(tmp_path):
    data = (FIXTURES / "tiny_state_dict_legacy.pth").read_bytes()
    cut = tmp_path / "cut.pth"
    cut.write_bytes(data[:-10])
    with pytest.raises(TorchFileError, match=r"cut\.pth: storage .* truncated"):
        load_state_dict(cut)
    other = tmp_path / "other.pth"
    other.write_bytes(pickle.dumps({"a": 1}, protocol=2))
    with pytest.raises(TorchFileError, match="wrong magic number"):
        load_state_dict(other)
    with pytest.raises(TorchFileError, match="no such file"):
        load_state_dict(tmp_path / "missing.pth")


class _Evil:
    """Pickles to a call of os.system, as a malicious checkpoint would."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


def _legacy_file(payload: bytes) -> bytes:
    head = b"".join(
        pickle.dumps(obj, protocol=2)
        for obj in (LEGACY_MAGIC_NUMBER, 1001, {"protocol_version": 1001, "little_endian": True})
    )
    return head + payload + pickle.dumps([], protocol=2)


@pytest.mark.parametrize("layout", ["legacy", "zip", "magic"])
def test_reader_refuses_malicious_pickles_without_running_them(tmp_path, layout):
    marker = tmp_path / "pwned"
    evil = pickle.dumps({"w": _Evil(f"touch {marker}")}, protocol=2)
    assert b"system" in evil  # the payload really names os.system
    path = tmp_path / f"evil_{layout}.pth"
    if layout == "legacy":
        path.write_bytes(_legacy_file(evil))
    elif layout == "magic":  # the very first pickle of the sequence
        path.write_bytes(evil)
    else:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as archive:
            archive.writestr("archive/data.pkl", evil)
        path.write_bytes(buf.getvalue())
    with pytest.raises(UnsafePickleError, match=r"refusing to load global (posix|nt|os)\.system"):
        load_state_dict(path)
    assert not marker.exists()


def test_reader_refuses_builtins_and_unlisted_torch_globals(tmp_path):
    for module, name in (("builtins", "eval"), ("torch._utils", "_rebuild_parameter")):
        payload = f"c{module}\n{name}\n)R.".encode()
        path = tmp_path / f"{name}.pth"
        path.write_bytes(_legacy_file(b"\x80\x02" + payload))
        with pytest.raises(UnsafePickleError, match=f"{module}.{name}"):
            load_state_dict(path)


@pytest.mark.parametrize("variant", ["lite0", "lite1", "lite2"])
def test_packaged_weights_parse_to_the_expected_architecture(variant):
    path = lite.default_weights_path(variant)
    prefix = name_hash_prefix(path)
    assert prefix is not None and len(prefix) == 8
    assert hashlib.sha256(path.read_bytes()).hexdigest().startswith(prefix)
    state = load_state_dict(path)
    specs = lite.block_specs(variant)
    assert state["_conv_stem.weight"].shape == (32, 3, 3, 3)
    assert state["_fc.weight"].shape == (1000, 1280)
    assert state["_conv_head.weight"].shape == (1280, specs[-1].filters_out, 1, 1)
    for spec in specs:
        dw = state[f"_blocks.{spec.index}._depthwise_conv.weight"]
        assert dw.shape == (spec.expanded, 1, spec.kernel, spec.kernel)
    assert f"_blocks.{len(specs)}._bn1.weight" not in state
    converted = lite.convert_state_dict(state, variant)
    assert converted["block1_dwconv"][0].shape == (3, 3, specs[1].expanded, 1)
    assert converted["predictions"][0].shape == (1280, 1000)


def test_convert_refuses_a_state_dict_of_another_variant():
    state0 = load_state_dict(lite.default_weights_path("lite0"))
    with pytest.raises(ValueError, match=r"no tensor '_blocks\.16"):
        lite.convert_state_dict(state0, "lite2")
    state1 = load_state_dict(lite.default_weights_path("lite1"))
    with pytest.raises(ValueError, match="does not use"):
        lite.convert_state_dict(state1, "lite0")


def test_block_specs_follow_the_lite_scaling_rules():
    # fix_head_stem: first and last stages keep one block; widths rounded to multiples of 8.
    assert [len(lite.block_specs(v)) for v in ("lite0", "lite1", "lite2")] == [16, 21, 21]
    widths2 = sorted({s.filters_out for s in lite.block_specs("lite2")})
    assert widths2 == [16, 24, 48, 88, 120, 208, 352]
    assert lite.block_specs("lite2")[0].filters_in == 32
    assert lite.input_size("efficientnet-lite1") == 240
    with pytest.raises(ValueError, match="unknown EfficientNet-Lite variant"):
        lite.block_specs("lite7")


# -- the Keras port ----------------------------------------------------------------------------

_MODELS: dict[str, object] = {}


def _lite_logits_model(variant: str):
    if variant not in _MODELS:
        _MODELS[variant] = lite.build_efficientnet_lite(
            variant, include_top=True, weights="imagenet", classifier_activation=None
        )
    return _MODELS[variant]


@pytest.mark.deep
@pytest.mark.slow
@pytest.mark.parametrize("variant", ["lite0", "lite1", "lite2"])
def test_lite_ranks_cat_and_espresso_first(variant):
    model = _lite_logits_model(variant)
    size = lite.input_size(variant)
    batch = np.stack(
        [to_square(skimage.data.chelsea(), size), to_square(skimage.data.coffee(), size)]
    )
    logits = np.asarray(model(lite.preprocess_input(batch), training=False))
    assert logits.shape == (2, 1000)
    assert int(logits[0].argmax()) in CAT_CLASSES
    assert int(logits[1].argmax()) == ESPRESSO


@pytest.mark.deep
@pytest.mark.slow
@pytest.mark.parametrize("variant", ["lite0", "lite2"])
def test_lite_logits_match_pytorch_reference(variant):
    """Keras logits equal PyTorch's: |keras - torch| <= 1e-3 * |torch| + 1e-3 * max|torch|."""
    ref = np.load(REFERENCE)
    info = json.loads(str(ref["info"]))
    weights = lite.default_weights_path(variant)
    assert info[f"{variant}_weights_sha256"] == hashlib.sha256(weights.read_bytes()).hexdigest()
    squares = ref[f"{variant}_squares"]
    # Keras is fed the very pixels PyTorch saw (stored, with their hashes).
    assert squares.dtype == np.uint8 and squares.shape == (4, *(lite.input_size(variant),) * 2, 3)
    assert [image_hash(s) for s in squares] == list(ref[f"{variant}_input_hashes"])
    logits = np.asarray(_lite_logits_model(variant)(lite.preprocess_input(squares), training=False))
    want = ref[f"{variant}_logits"]
    assert logits.shape == want.shape == (4, 1000)
    np.testing.assert_allclose(logits, want, rtol=1e-3, atol=1e-3 * np.abs(want).max())
    np.testing.assert_array_equal(logits.argmax(1), want.argmax(1))


@pytest.mark.parametrize("variant", ["lite0", "lite2"])
def test_to_square_of_the_reference_images_matches_the_stored_squares(data_root, variant):
    """The stored squares are ``to_square`` of the real images, up to OpenCV's per-CPU rounding."""
    ref = np.load(REFERENCE)
    size = lite.input_size(variant)
    squares = np.stack([to_square(load_image(data_root / i), size) for i in ref["image_ids"]])
    stored = ref[f"{variant}_squares"]
    assert squares.shape == stored.shape
    diff = np.abs(squares.astype(np.int16) - stored.astype(np.int16))
    # Cubic upscaling may round a level differently where SIMD code paths differ; a different
    # crop, size or image would differ by far more.
    assert diff.max() <= 2, diff.max()
    assert diff.mean() <= 0.05, diff.mean()


@pytest.mark.deep
def test_lite_weights_path_and_hash_are_honoured(tmp_path):
    src = lite.default_weights_path("lite0")
    copy = tmp_path / "lite0.pth"
    shutil.copy(src, copy)
    with pytest.raises(TorchFileError, match=r"lite0\.pth: SHA-256 .* does not match"):
        lite.build_efficientnet_lite("lite0", weights=copy, weights_sha256="0" * 64)
    with pytest.raises(ValueError, match=r"wrong variant|no tensor"):
        lite.build_efficientnet_lite("lite2", include_top=False, weights=copy)
    with pytest.raises(FileNotFoundError, match="not found"):
        lite.build_efficientnet_lite("lite0", weights=tmp_path / "nope.pth")


@pytest.mark.deep
@pytest.mark.slow
def test_lite_round_trips_keras_weights_files(tmp_path):
    import keras

    keras.utils.set_random_seed(3)
    shape = (32, 32, 3)
    original = lite.build_efficientnet_lite("lite0", False, weights=None, input_shape=shape)
    path = tmp_path / "lite0_random.weights.h5"
    original.save_weights(path)
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(ValueError, match=r"lite0_random\.weights\.h5: SHA-256 .* does not match"):
        lite.build_efficientnet_lite("lite0", False, weights=path, weights_sha256="f" * 64)
    keras.utils.set_random_seed(4)
    loaded = lite.build_efficientnet_lite(
        "lite0", False, weights=path, input_shape=shape, weights_sha256=sha
    )
    x = lite.preprocess_input(np.random.default_rng(1).integers(0, 256, (2, *shape)))
    want = np.asarray(original(x, training=False))
    assert want.shape == (2, 1280) and np.abs(want).max() > 0
    np.testing.assert_array_equal(np.asarray(loaded(x, training=False)), want)


# -- ResNet50V2 --------------------------------------------------------------------------------


@pytest.mark.deep
def test_resnet_hashes_are_keras_published_ones():
    from keras.src.applications.resnet import WEIGHTS_HASHES

    top, notop = WEIGHTS_HASHES["resnet50v2"]
    assert resnet50v2.KERAS_WEIGHTS[True][1] == top
    assert resnet50v2.KERAS_WEIGHTS[False][1] == notop


@pytest.mark.deep
@pytest.mark.slow
def test_resnet_loads_a_hash_checked_local_file_and_refuses_a_wrong_one(tmp_path):
    import keras

    keras.utils.set_random_seed(7)
    original = resnet50v2.build_resnet50v2(include_top=False, weights=None, input_shape=(32, 32, 3))
    path = tmp_path / "resnet50v2_seeded.weights.h5"
    original.save_weights(path)
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    md5 = hashlib.md5(path.read_bytes()).hexdigest()

    keras.utils.set_random_seed(8)  # a different random init, so equality proves the load
    loaded = resnet50v2.build_resnet50v2(
        include_top=False, weights=path, input_shape=(32, 32, 3), weights_hash=sha
    )
    rng = np.random.default_rng(0)
    x = resnet50v2.preprocess_input(rng.integers(0, 256, (2, 32, 32, 3), dtype=np.uint8))
    # Eager calls: tracing predict_on_batch would cost more than these two one-off calls.
    want = np.asarray(original(x, training=False))
    assert want.shape == (2, 2048) and np.abs(want).max() > 0
    np.testing.assert_array_equal(np.asarray(loaded(x, training=False)), want)

    assert resnet50v2.check_weights_file(path, expected_hash=md5) == f"md5:{md5}"
    with pytest.raises(resnet50v2.WeightsHashError, match=r"resnet50v2_seeded\.weights\.h5"):
        resnet50v2.build_resnet50v2(weights=path, weights_hash="0" * 64)
    # Without an explicit hash the file must be Keras' published one, which it is not.
    with pytest.raises(resnet50v2.WeightsHashError, match=r"published .*_notop\.h5"):
        resnet50v2.build_resnet50v2(include_top=False, weights=path)


@pytest.mark.deep
def test_resnet_imagenet_weights_never_download_and_the_error_explains(tmp_path, monkeypatch):
    from keras.src.utils import file_utils

    def download(*args, **kwargs):
        raise AssertionError("a download was attempted")

    monkeypatch.setattr(file_utils, "get_file", download)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))  # an empty Keras cache
    with pytest.raises(
        FileNotFoundError, match=r"_notop\.h5 \(Keras' hash fac2f116.*weights=<path"
    ):
        resnet50v2.build_resnet50v2(include_top=False, weights="imagenet")


# -- the registry ------------------------------------------------------------------------------


@pytest.mark.deep
def test_registry_names_sizes_and_preprocessing():
    names = ["efficientnet-lite0", "efficientnet-lite1", "efficientnet-lite2", "resnet50v2"]
    assert set(names) <= set(BACKBONES)  # plus the keras.applications zoo (test_keras_zoo.py)
    assert [get_backbone(n).input_size for n in names] == [224, 240, 260, 224]
    assert get_backbone("resnet50v2").feature_dim == 2048
    batch = np.array([[[[0, 127, 255]]]], dtype=np.uint8)
    lite_x = get_backbone("efficientnet-lite0").preprocess(batch)
    assert lite_x.dtype == np.float32
    np.testing.assert_allclose(lite_x.ravel(), [-127 / 128, 0, 1])

    from keras.applications import resnet_v2

    res_x = get_backbone("resnet50v2").preprocess(batch)
    np.testing.assert_allclose(res_x, resnet_v2.preprocess_input(batch.astype(np.float32)))
    with pytest.raises(KeyError, match="unknown backbone 'vgg-16'"):
        get_backbone("vgg-16")
    with pytest.raises(ValueError, match=r"shape \(n, h, w, 3\)"):
        get_backbone("resnet50v2").preprocess(batch[0])


def test_registry_fingerprints_are_file_hashes(tmp_path):
    spec = get_backbone("efficientnet-lite0")
    path = lite.default_weights_path("lite0")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert spec.weights_fingerprint("imagenet") == f"sha256:{digest}"
    assert digest.startswith(name_hash_prefix(path))
    assert spec.weights_fingerprint(None) == "random"
    other = tmp_path / "w.weights.h5"
    other.write_bytes(b"one")
    first = get_backbone("resnet50v2").weights_fingerprint(other)
    other.write_bytes(b"two!")
    assert get_backbone("resnet50v2").weights_fingerprint(other) != first
    assert get_backbone("resnet50v2").weights_fingerprint("imagenet").startswith("md5:fac2f116")


def test_importing_backbones_and_features_never_imports_tensorflow():
    code = (
        "import sys, poxscan.features, poxscan.features.backbones, poxscan.features.deep;"
        "import poxscan.features.backbones.efficientnet_lite;"
        "import poxscan.features.backbones.resnet50v2;"
        "bad = [m for m in ('tensorflow', 'keras', 'torch') if m in sys.modules];"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
