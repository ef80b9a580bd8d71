"""A backbone's pixel preprocessing as a Keras layer, so saved and exported models take plain RGB.

Every registered backbone's preprocessing is an affine map of each pixel's RGB values: a common
scale and offset (EfficientNet-Lite, ResNetV2, Inception, MobileNet: ``"tf"`` mode; identity
where Keras scales inside the model: EfficientNet, EfficientNetV2, ConvNeXt, MobileNetV3), a
per-channel one (DenseNet's ``"torch"`` mode) or one that also swaps RGB to BGR (VGG and ResNet's
``"caffe"`` mode). :func:`affine_map` reads the map off the backbone's own ``preprocess`` (so
the two can never disagree) and checks that it is affine; :func:`scaling_layer` builds it from
standard layers: ``Rescaling`` for a common scale, else a frozen ``Dense(3)`` over the channels.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import keras

__all__ = ["affine_map", "scaling_layer"]


def affine_map(spec: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(matrix (3, 3), bias (3,))`` with ``spec.preprocess(x) == x @ matrix + bias`` per pixel.

    Raises
    ------
    ValueError
        The preprocessing is not affine in the RGB values.
    """
    basis = np.array([[0, 0, 0], [255, 0, 0], [0, 255, 0], [0, 0, 255]], dtype=np.float32)
    probe = np.random.default_rng(0).integers(0, 256, (16, 3)).astype(np.float32)
    out = spec.preprocess(np.concatenate([basis, probe])[None, None]).astype(np.float64)[0, 0]
    bias = out[0]
    matrix = (out[1:4] - bias) / 255.0
    if not np.allclose(probe @ matrix + bias, out[4:], atol=1e-4 * max(1.0, np.abs(out).max())):
        raise ValueError(f"{spec.name}: preprocessing is not an affine map of the pixels")
    return matrix, bias


def scaling_layer(spec: Any, name: str = "rescale") -> keras.layers.Layer:
    """The layer mapping RGB in [0, 255] to the backbone's input (never trainable)."""
    import keras

    matrix, bias = affine_map(spec)
    scale = float(matrix[0, 0])
    if np.allclose(matrix, np.eye(3) * scale, atol=1e-9) and np.allclose(bias, bias[0]):
        return keras.layers.Rescaling(scale, offset=float(bias[0]), name=name)
    layer = keras.layers.Dense(
        3,
        kernel_initializer=keras.initializers.Constant(matrix),
        bias_initializer=keras.initializers.Constant(bias),
        trainable=False,
        name=name,
    )
    return layer
