"""ResNet50V2 through ``keras.applications``, with its weight files checked before loading.

``weights="imagenet"`` goes through Keras' own download and cache (``~/.keras/models``), which
verifies Keras' published MD5; where nothing can be downloaded it fails, and the error says which
file to fetch elsewhere and how to pass it. A local weights file is hashed *before* Keras opens
it: against Keras' published hash for the official file (with or without the top), or against an
explicit ``weights_hash`` (MD5 or SHA-256), so a swapped or corrupt file is refused.

TensorFlow/Keras are imported only inside the functions that build models.
"""

from __future__ import annotations

import hashlib
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import keras

__all__ = [
    "INPUT_SIZE",
    "KERAS_WEIGHTS",
    "WeightsHashError",
    "build_resnet50v2",
    "check_weights_file",
    "file_hash",
    "preprocess_input",
]

INPUT_SIZE = 224
#: include_top -> (file name, MD5) of Keras' published ImageNet weights; the hashes are
#: WEIGHTS_HASHES["resnet50v2"] in keras/src/applications/resnet.py (Keras 3.15).
KERAS_WEIGHTS: dict[bool, tuple[str, str]] = {
    True: ("resnet50v2_weights_tf_dim_ordering_tf_kernels.h5", "3ef43a0b657b3be2300d5770ece849e0"),
    False: (
        "resnet50v2_weights_tf_dim_ordering_tf_kernels_notop.h5",
        "fac2f116257151a9d068a22e544a4917",
    ),
}


class WeightsHashError(ValueError):
    """A weights file whose hash is not the expected one; it was not loaded."""


def preprocess_input(images: np.ndarray) -> np.ndarray:
    """Scale RGB values in [0, 255] to [-1, 1] as float32 (Keras' ``resnet_v2`` "tf" mode).

    Parameters
    ----------
    images : ndarray of shape (..., 3)
        RGB images, uint8 or float in [0, 255], channels last.

    Returns
    -------
    ndarray of float32, same shape.
    """
    x = np.asarray(images, dtype=np.float32)
    return x / np.float32(127.5) - np.float32(1.0)


def file_hash(path: str | PathLike, algorithm: str = "sha256") -> str:
    """Hex digest of a file (``"sha256"`` or ``"md5"``), read in chunks."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def check_weights_file(
    path: str | PathLike, *, include_top: bool = False, expected_hash: str | None = None
) -> str:
    """Refuse a weights file whose hash is not the expected one; return ``"<algo>:<hex>"``.

    Parameters
    ----------
    path : str or path-like
        The ``.h5`` / ``.weights.h5`` file.
    include_top : bool, default=False
        Which of Keras' published files it must be when ``expected_hash`` is not given.
    expected_hash : str, optional
        32 hex digits (MD5) or 64 (SHA-256). Defaults to Keras' published MD5.

    Raises
    ------
    FileNotFoundError
        No such file.
    WeightsHashError
        The hash differs; the message names the file and both hashes.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: ResNet50V2 weights file not found")
    expected = (expected_hash or KERAS_WEIGHTS[bool(include_top)][1]).lower()
    algorithm = {32: "md5", 64: "sha256"}.get(len(expected))
    if algorithm is None:
        raise ValueError(
            f"expected hash must be an MD5 (32) or SHA-256 (64 hex digits): {expected}"
        )
    actual = file_hash(path, algorithm)
    if actual != expected:
        what = (
            "the given hash"
            if expected_hash
            else f"Keras' published {KERAS_WEIGHTS[bool(include_top)][0]}"
        )
        raise WeightsHashError(
            f"{path}: {algorithm} {actual} does not match {what} ({expected}); refusing to load it"
        )
    return f"{algorithm}:{actual}"


def build_resnet50v2(
    include_top: bool = False,
    weights: str | PathLike | None = "imagenet",
    input_shape: tuple[int | None, int | None, int] | None = None,
    pooling: str | None = "avg",
    classes: int = 1000,
    classifier_activation: str | None = "softmax",
    weights_hash: str | None = None,
) -> keras.Model:
    """Build ``keras.applications.ResNet50V2`` with checked weights.

    Parameters
    ----------
    include_top : bool, default=False
        Keep the ImageNet classifier.
    weights : "imagenet", None or path, default="imagenet"
        ``"imagenet"``: Keras' download/cache; ``None``: random; a path: a local ``.h5`` or
        ``.weights.h5`` file, hash-checked first (see :func:`check_weights_file`).
    input_shape, pooling, classes, classifier_activation
        As for ``keras.applications.ResNet50V2``; ``pooling`` applies without the top.
    weights_hash : str, optional
        Expected MD5 or SHA-256 of a local file (default: Keras' published MD5).

    Returns
    -------
    keras.Model

    Raises
    ------
    RuntimeError
        ``weights="imagenet"`` and Keras could not fetch the file.
    WeightsHashError
        A local file failed its hash check.
    """
    import keras

    kwargs = dict(
        include_top=include_top,
        input_shape=input_shape,
        pooling=None if include_top else pooling,
        classes=classes,
        classifier_activation=classifier_activation,
    )
    if weights is None:
        return keras.applications.ResNet50V2(weights=None, **kwargs)
    if weights == "imagenet":
        name, md5 = KERAS_WEIGHTS[bool(include_top)]
        try:
            return keras.applications.ResNet50V2(weights="imagenet", **kwargs)
        except Exception as exc:
            raise RuntimeError(
                f"ResNet50V2 ImageNet weights could not be fetched by Keras ({exc}). Without "
                f"network access, copy {name} (MD5 {md5}) from a machine that has it and pass "
                "weights=<path to the file>, or put it in ~/.keras/models/"
            ) from exc
    check_weights_file(weights, include_top=include_top, expected_hash=weights_hash)
    return keras.applications.ResNet50V2(weights=str(weights), **kwargs)
