"""ResNet50V2, kept under its own name: now one :mod:`~poxscan.features.backbones.keras_apps` entry.

``weights="imagenet"`` reads Keras' cached file (``~/.keras/models``) and never downloads; a
local weights file is hashed *before* Keras opens it: against Keras' published MD5 for the
official file (with or without the top), or against an explicit ``weights_hash`` (MD5 or
SHA-256), so a swapped or corrupt file is refused.

TensorFlow/Keras are imported only inside the functions that build models.
"""

from __future__ import annotations

from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from poxscan.core.hashing import file_digest as file_hash
from poxscan.features.backbones.keras_apps import APPS, WeightsHashError, build_app, published_hash
from poxscan.features.backbones.keras_apps import check_weights_file as _check

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

APP = APPS["resnet50v2"]
INPUT_SIZE = APP.input_size
#: include_top -> (file name, MD5) of Keras' published ImageNet weights, read from
#: WEIGHTS_HASHES["resnet50v2"] in the installed keras/src/applications/resnet.py.
KERAS_WEIGHTS: dict[bool, tuple[str, str]] = {
    top: (APP.weights_file(top), str(published_hash(APP, top))) for top in (True, False)
}


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


def check_weights_file(
    path: str | PathLike, *, include_top: bool = False, expected_hash: str | None = None
) -> str:
    """Refuse a weights file whose hash is not the expected one; return ``"<algo>:<hex>"``.

    ``expected_hash`` (MD5 or SHA-256) defaults to Keras' published MD5 of the file with or
    without the top. Raises FileNotFoundError or :class:`WeightsHashError`.
    """
    if expected_hash:
        return _check(path, expected_hash)
    name, md5 = KERAS_WEIGHTS[bool(include_top)]
    return _check(Path(path), md5, what=f"Keras' published {name}")


def build_resnet50v2(
    include_top: bool = False,
    weights: str | PathLike | None = "imagenet",
    input_shape: tuple[int | None, int | None, int] | None = None,
    pooling: str | None = "avg",
    classes: int = 1000,
    classifier_activation: str | None = "softmax",
    weights_hash: str | None = None,
) -> keras.Model:
    """Build ``keras.applications.ResNet50V2`` with checked weights (see :func:`build_app`)."""
    return build_app(
        APP,
        include_top=include_top,
        weights=weights,
        pooling=pooling,
        weights_hash=weights_hash,
        input_shape=input_shape,
        classes=classes,
        classifier_activation=classifier_activation,
    )
