"""Every ``keras.applications`` network as a backbone, with its weights hash-checked before loading.

One builder per family, as Keras has (VGG, ResNet, ResNetV2, DenseNet, EfficientNet,
EfficientNetV2, ConvNeXt, Xception, InceptionV3, InceptionResNetV2, NASNet, MobileNet,
MobileNetV2, MobileNetV3): each :class:`KerasApp` names the Keras constructor, the module whose
``preprocess_input`` scales its pixels, its native and minimum input sizes, the width of its
pooled embedding and the ImageNet weight files Keras uses (with and without the classifier).

Weights are never downloaded. ``weights="imagenet"`` reads the file Keras would have cached
(``$KERAS_HOME/models/<file>``, default ``~/.keras/models``); a path reads that file, into the
network Keras builds for ImageNet weights. Either is hashed *before* Keras opens it, against
Keras' own published hash (read from the installed Keras source, ``WEIGHTS_HASHES`` or the
``file_hash=`` beside the file name in ``keras/src/applications/<module>.py``, never retyped)
or against an explicit ``weights_hash`` (MD5 or SHA-256); a file that does not match is
refused. Keras publishes no hash for MobileNet and MobileNetV2: their files load only with an
explicit ``weights_hash``.

Keras ships no Vision Transformer application, so none is offered here.

Importing this module never imports TensorFlow or Keras.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import os
import threading
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from poxscan.core.hashing import file_digest

if TYPE_CHECKING:
    import keras

__all__ = [
    "APPS",
    "KerasApp",
    "WeightsHashError",
    "WeightsNotFoundError",
    "build_app",
    "check_weights_file",
    "keras_cache_dir",
    "published_hash",
]


_GET_FILE_LOCK = threading.Lock()


class WeightsHashError(ValueError):
    """A weights file whose hash is not the expected one; it was not loaded."""


class WeightsNotFoundError(FileNotFoundError):
    """ImageNet weights asked for but not in Keras' cache (nothing is downloaded)."""


@dataclass(frozen=True)
class KerasApp:
    """One ``keras.applications`` network.

    Attributes
    ----------
    name : str
        Registry name, e.g. ``"vgg16"``, ``"efficientnetv2-s"``.
    family : str
        The Keras family (one builder per family).
    constructor : str
        Attribute of ``keras.applications``, e.g. ``"VGG16"``.
    module : str
        Submodule of ``keras.applications`` whose ``preprocess_input`` feeds it.
    source : str
        ``keras/src/applications/<source>.py``, where Keras records the weights' hash.
    input_size, min_size : int
        Native input side and the smallest side Keras accepts.
    feature_dim : int
        Width of the globally average-pooled embedding.
    files : (str, str)
        Keras' weight file names with and without the classifier.
    hash_key : str, optional
        Key of ``WEIGHTS_HASHES`` in ``source``; None where the hash is the ``file_hash=``
        passed beside the file name.
    """

    name: str
    family: str
    constructor: str
    module: str
    source: str
    input_size: int
    min_size: int
    feature_dim: int
    files: tuple[str, str]
    hash_key: str | None = None

    def weights_file(self, include_top: bool = False) -> str:
        """Keras' file name of the ImageNet weights."""
        return self.files[0] if include_top else self.files[1]

    def preprocess(self, batch: np.ndarray) -> np.ndarray:
        """Keras' own ``preprocess_input`` of the family, on a float32 copy."""
        import importlib

        module = importlib.import_module(f"keras.applications.{self.module}")
        # Keras scales float arrays in place: give it a copy.
        return np.asarray(module.preprocess_input(np.array(batch, dtype=np.float32)), np.float32)


# -- the families ------------------------------------------------------------------------------
def _h5(stem: str, notop: str = "_notop") -> tuple[str, str]:
    return (f"{stem}.h5", f"{stem}{notop}.h5")


def _tf_kernels(stem: str) -> tuple[str, str]:
    return _h5(f"{stem}_weights_tf_dim_ordering_tf_kernels")


def _vgg() -> list[KerasApp]:
    return [
        KerasApp(n, "vgg", n.upper(), n, n, 224, 32, 512, _tf_kernels(n))
        for n in ("vgg16", "vgg19")
    ]


def _resnet() -> list[KerasApp]:
    return [
        KerasApp(f"resnet{d}", "resnet", f"ResNet{d}", "resnet", "resnet", 224, 32, 2048,
                 _tf_kernels(f"resnet{d}"), f"resnet{d}")
        for d in (50, 101, 152)
    ]  # fmt: skip


def _resnet_v2() -> list[KerasApp]:
    return [
        KerasApp(f"resnet{d}v2", "resnet_v2", f"ResNet{d}V2", "resnet_v2", "resnet", 224, 32, 2048,
                 _tf_kernels(f"resnet{d}v2"), f"resnet{d}v2")
        for d in (50, 101, 152)
    ]  # fmt: skip


def _densenet() -> list[KerasApp]:
    return [
        KerasApp(f"densenet{d}", "densenet", f"DenseNet{d}", "densenet", "densenet", 224, 32, dim,
                 _tf_kernels(f"densenet{d}"))
        for d, dim in ((121, 1024), (169, 1664), (201, 1920))
    ]  # fmt: skip


def _efficientnet() -> list[KerasApp]:
    sizes = (224, 240, 260, 300, 380, 456, 528, 600)
    dims = (1280, 1280, 1408, 1536, 1792, 2048, 2304, 2560)
    return [
        KerasApp(f"efficientnetb{i}", "efficientnet", f"EfficientNetB{i}", "efficientnet",
                 "efficientnet", size, 32, dim, _h5(f"efficientnetb{i}"), f"b{i}")
        for i, (size, dim) in enumerate(zip(sizes, dims, strict=True))
    ]  # fmt: skip


def _efficientnet_v2() -> list[KerasApp]:
    variants = (
        ("b0", "B0", 224, 1280, "b0"),
        ("b1", "B1", 240, 1280, "b1"),
        ("b2", "B2", 260, 1408, "b2"),
        ("b3", "B3", 300, 1536, "b3"),
        ("s", "S", 384, 1280, "-s"),
        ("m", "M", 480, 1280, "-m"),
        ("l", "L", 480, 1280, "-l"),
    )
    return [
        KerasApp(f"efficientnetv2-{v}", "efficientnet_v2", f"EfficientNetV2{c}",
                 "efficientnet_v2", "efficientnet_v2", size, 32, dim, _h5(f"efficientnetv2-{v}"),
                 key)
        for v, c, size, dim, key in variants
    ]  # fmt: skip


def _convnext() -> list[KerasApp]:
    dims = {"Tiny": 768, "Small": 768, "Base": 1024, "Large": 1536, "XLarge": 2048}
    return [
        KerasApp(f"convnext-{c.lower()}", "convnext", f"ConvNeXt{c}", "convnext", "convnext",
                 224, 32, dim, _h5(f"convnext_{c.lower()}"), f"convnext_{c.lower()}")
        for c, dim in dims.items()
    ]  # fmt: skip


def _inception() -> list[KerasApp]:
    return [
        KerasApp("xception", "xception", "Xception", "xception", "xception", 299, 71, 2048,
                 _h5("xception_weights_tf_dim_ordering_tf_kernels")),
        KerasApp("inceptionv3", "inception_v3", "InceptionV3", "inception_v3", "inception_v3",
                 299, 75, 2048, _tf_kernels("inception_v3")),
        KerasApp("inceptionresnetv2", "inception_resnet_v2", "InceptionResNetV2",
                 "inception_resnet_v2", "inception_resnet_v2", 299, 75, 1536,
                 _tf_kernels("inception_resnet_v2")),
    ]  # fmt: skip


def _nasnet() -> list[KerasApp]:
    return [
        KerasApp("nasnetmobile", "nasnet", "NASNetMobile", "nasnet", "nasnet", 224, 32, 1056,
                 _h5("nasnet_mobile", "_no_top")),
        KerasApp("nasnetlarge", "nasnet", "NASNetLarge", "nasnet", "nasnet", 331, 32, 4032,
                 _h5("nasnet_large", "_no_top")),
    ]  # fmt: skip


def _mobilenet() -> list[KerasApp]:
    # Alpha 1.0 at 224 px, the files Keras picks by default.
    return [
        KerasApp("mobilenet", "mobilenet", "MobileNet", "mobilenet", "mobilenet", 224, 32, 1024,
                 _h5("mobilenet_1_0_224_tf", "_no_top")),
        KerasApp("mobilenetv2", "mobilenet_v2", "MobileNetV2", "mobilenet_v2", "mobilenet_v2",
                 224, 32, 1280, _h5("mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224",
                                    "_no_top")),
        *(
            KerasApp(f"mobilenetv3{v}", "mobilenet_v3", f"MobileNetV3{v.title()}",
                     "mobilenet_v3", "mobilenet_v3", 224, 32, dim,
                     _h5(f"weights_mobilenet_v3_{v}_224_1.0_float", "_no_top_v2"),
                     f"{v}_224_1.0_float")
            for v, dim in (("small", 576), ("large", 960))
        ),
    ]  # fmt: skip


#: Registry name -> :class:`KerasApp`, every ImageNet network ``keras.applications`` ships.
APPS: dict[str, KerasApp] = {
    app.name: app
    for family in (
        _vgg, _resnet, _resnet_v2, _densenet, _efficientnet, _efficientnet_v2, _convnext,
        _inception, _nasnet, _mobilenet,
    )
    for app in family()
}  # fmt: skip


# -- Keras' published hashes -------------------------------------------------------------------
def _keras_source(source: str) -> Path:
    spec = importlib.util.find_spec("keras")  # finds the package without importing it
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError("keras is not installed")
    return Path(spec.origin).parent / "src" / "applications" / f"{source}.py"


def _fname_of(arg: ast.expr, constants: dict[str, str]) -> str | None:
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        return arg.value
    if isinstance(arg, ast.Name):
        return constants.get(arg.id)
    return None


@functools.cache
def _hashes_in_source(source: str) -> tuple[dict[str, tuple[str, str]], dict[str, str]]:
    """``(WEIGHTS_HASHES, {file name: file_hash})`` as written in Keras' source."""
    tree = ast.parse(_keras_source(source).read_text(encoding="utf-8"))
    table: dict[str, tuple[str, str]] = {}
    literal: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "WEIGHTS_HASHES" for t in node.targets
        ):
            table = ast.literal_eval(node.value)
        for field in ("body", "orelse"):
            body = getattr(node, field, None)
            if not isinstance(body, list):
                continue
            # ``fname = "..."`` then ``get_file(fname, ..., file_hash="...")`` in one block.
            constants: dict[str, str] = {}
            for stmt in body:
                if (
                    isinstance(stmt, ast.Assign)
                    and len(stmt.targets) == 1
                    and isinstance(stmt.targets[0], ast.Name)
                    and isinstance(stmt.value, ast.Constant)
                    and isinstance(stmt.value.value, str)
                ):
                    constants[stmt.targets[0].id] = stmt.value.value
                for call in ast.walk(stmt):
                    if not (isinstance(call, ast.Call) and call.args):
                        continue
                    func = call.func
                    called = (
                        func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                    )
                    if called != "get_file":
                        continue
                    fname = _fname_of(call.args[0], constants)
                    digest = next(
                        (
                            k.value.value
                            for k in call.keywords
                            if k.arg == "file_hash" and isinstance(k.value, ast.Constant)
                        ),
                        None,
                    )
                    if fname and digest:
                        literal[fname] = digest
    return table, literal


def published_hash(app: KerasApp, include_top: bool = False) -> str | None:
    """Keras' published hash (MD5 or SHA-256 hex) of the ImageNet weights; None if it has none."""
    table, literal = _hashes_in_source(app.source)
    if app.hash_key is not None:
        return table[app.hash_key][0 if include_top else 1]
    return literal.get(app.weights_file(include_top))


def keras_cache_dir() -> Path:
    """Where Keras caches downloaded weights: ``$KERAS_HOME/models`` or ``~/.keras/models``."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(home) / "models"


def check_weights_file(path: str | PathLike, expected: str, *, what: str = "the given hash") -> str:
    """Refuse a file whose hash is not ``expected`` (MD5 or SHA-256 hex); return ``"<algo>:<hex>"``.

    Raises
    ------
    FileNotFoundError
        No such file.
    WeightsHashError
        The hash differs; the message names the file and both hashes.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: weights file not found")
    expected = expected.lower()
    algorithm = {32: "md5", 64: "sha256"}.get(len(expected))
    if algorithm is None:
        raise ValueError(
            f"expected hash must be an MD5 (32) or SHA-256 (64 hex digits): {expected}"
        )
    actual = file_digest(path, algorithm)
    if actual != expected:
        raise WeightsHashError(
            f"{path}: {algorithm} {actual} does not match {what} ({expected}); refusing to load it"
        )
    return f"{algorithm}:{actual}"


def resolve_weights(
    app: KerasApp,
    weights: str | PathLike | None,
    include_top: bool = False,
    weights_hash: str | None = None,
) -> Path | None:
    """The checked weights file to load (None: random initialisation).

    Raises
    ------
    WeightsNotFoundError
        ``"imagenet"`` and Keras' cache lacks the file (the message says what to put where).
    WeightsHashError
        The file's hash is not Keras' published one (or ``weights_hash``), or Keras publishes
        none and no ``weights_hash`` was given.
    """
    if weights is None:
        return None
    fname = app.weights_file(include_top)
    published = published_hash(app, include_top)
    if str(weights) == "imagenet":
        path = keras_cache_dir() / fname
        if not path.is_file():
            digest = f" (Keras' hash {published})" if published else ""
            raise WeightsNotFoundError(
                f"{app.name}: ImageNet weights {fname}{digest} are not in Keras' cache "
                f"{keras_cache_dir()}; nothing is downloaded. Copy the file there from a machine "
                "that has it, or pass weights=<path to the file>"
            )
    else:
        path = Path(weights)
    if weights_hash:
        check_weights_file(path, weights_hash)
    elif published:
        check_weights_file(path, published, what=f"Keras' published hash of {fname}")
    else:
        raise WeightsHashError(
            f"{path}: Keras publishes no hash for {app.name}'s {fname}; pass the file's "
            "SHA-256 as weights_hash to load it"
        )
    return path


def build_app(
    app: KerasApp,
    include_top: bool = False,
    weights: str | PathLike | None = "imagenet",
    pooling: str | None = "avg",
    weights_hash: str | None = None,
    input_shape: tuple[int | None, int | None, int] | None = None,
    **kwargs: Any,
) -> keras.Model:
    """Build ``keras.applications.<constructor>`` with its weights checked first.

    Parameters
    ----------
    app : KerasApp
    include_top : bool, default=False
        Keep the ImageNet classifier.
    weights : "imagenet", None or path, default="imagenet"
        Keras' cached file, random initialisation, or a local file (hash-checked first).
    pooling : {"avg", "max", None}, default="avg"
        Pooling of the last feature map without the top.
    weights_hash : str, optional
        Expected MD5 or SHA-256 (default: Keras' published hash).
    input_shape : tuple, optional
        Default ``(input_size, input_size, 3)``; each side at least ``min_size``.
    **kwargs
        Passed to the constructor (``classes``, ``classifier_activation``).

    Returns
    -------
    keras.Model
    """
    import keras
    from keras.src.utils import file_utils

    path = resolve_weights(app, weights, include_top, weights_hash)
    if input_shape is None:
        input_shape = (app.input_size, app.input_size, 3)
    constructor = getattr(keras.applications, app.constructor)
    options = dict(
        include_top=include_top,
        input_shape=tuple(input_shape),
        pooling=None if include_top else pooling,
        **kwargs,
    )
    if path is None:
        return constructor(weights=None, **options)

    # A weights file goes into the network Keras builds for weights="imagenet", which is not
    # always the one it builds for a path (EfficientNet adds ImageNet's standard deviations as
    # a Rescaling layer only for "imagenet"); Keras' fetch is replaced by the checked file.
    def checked_file(fname: str, *args: Any, **kw: Any) -> str:
        return str(path)

    with _GET_FILE_LOCK:
        fetch = file_utils.get_file
        file_utils.get_file = checked_file
        try:
            return constructor(weights="imagenet", **options)
        finally:
            file_utils.get_file = fetch


def weights_status(app: KerasApp, include_top: bool = False) -> str:
    """``"present"`` or ``"missing"`` for the file in Keras' cache (not hashed: a build hashes)."""
    return "present" if (keras_cache_dir() / app.weights_file(include_top)).is_file() else "missing"
