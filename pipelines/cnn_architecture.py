"""The fine-tuned CNN's architecture, and which of its backbone's layers fine-tuning unfreezes.

RGB in ``[0, 255]`` -> the backbone's own input scaling (a frozen layer,
:func:`poxscan.features.backbones.scaling.scaling_layer`, so the saved and exported models take
plain pixels) -> the backbone without its classifier, globally average-pooled -> dropout -> one
sigmoid unit, P(mpox) (:func:`build_classifier`). Blocks are read from layer names
(:func:`top_block_layers`); :func:`set_trainable_top` unfreezes the top ones, batch norms never.
TensorFlow is imported only inside the functions.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from poxscan.features.backbones import get_backbone
from poxscan.features.backbones.scaling import scaling_layer

if TYPE_CHECKING:
    import keras

__all__ = ["backbone_graph", "build_classifier", "set_trainable_top", "top_block_layers"]


def backbone_graph(
    backbone: str, *, image_size: int | None = None, weights: str | None = None
) -> tuple[Any, Any, keras.Model]:
    """RGB ``[0, 255]`` -> the backbone's own scaling -> backbone (inference mode) -> pooled.

    The graph that the fine-tuned classifier (:func:`build_classifier`) and the exported
    backbone (:func:`poxscan.pipelines.tflite.backbone_model`) both start from.

    Returns
    -------
    inputs : KerasTensor
        ``image``, float32 ``(size, size, 3)``.
    embedding : KerasTensor
        The globally average-pooled features.
    base : keras.Model
        The backbone without its classifier.
    """
    import keras

    spec = get_backbone(backbone)
    size = int(image_size or spec.input_size)
    base = spec.build(
        include_top=False,
        weights="imagenet" if weights is None else weights,
        pooling="avg",
        input_shape=(size, size, 3),
    )
    inputs = keras.Input((size, size, 3), name="image", dtype="float32")
    x = scaling_layer(spec)(inputs)  # the backbone's own preprocessing, frozen
    # training=False: its batch norms stay in inference mode, also while fine-tuning.
    return inputs, base(x, training=False), base


def build_classifier(
    backbone: str = "efficientnet-lite0",
    *,
    weights: str | None = None,
    image_size: int | None = None,
    dropout: float = 0.3,
    seed: int = 0,
) -> tuple[keras.Model, keras.Model]:
    """The transfer-learning model and its backbone (returned frozen).

    Returns
    -------
    model : keras.Model
        ``image`` float32 RGB ``[0, 255]`` -> ``rescale`` -> backbone (called with
        ``training=False``, so its batch norms stay in inference mode) -> ``dropout`` ->
        ``mpox`` sigmoid.
    base : keras.Model
        The backbone inside it (``trainable=False``).
    """
    import keras

    inputs, x, base = backbone_graph(backbone, image_size=image_size, weights=weights)
    base.trainable = False
    x = keras.layers.Dropout(dropout, seed=seed, name="dropout")(x)
    outputs = keras.layers.Dense(
        1,
        activation="sigmoid",
        kernel_initializer=keras.initializers.GlorotUniform(seed=seed),
        name="mpox",
    )(x)
    name = get_backbone(backbone).name.replace("-", "_")
    model = keras.Model(inputs, outputs, name=f"{name}_mpox")
    return model, base


_BLOCK_PATTERNS = (
    re.compile(r"^(conv\d+_block\d+)_"),  # ResNet, ResNetV2, DenseNet (keras.applications)
    re.compile(r"^(block(?:35|17|8)_\d+)_"),  # InceptionResNetV2 (before the generic blockN)
    re.compile(r"^(block\d+[a-z]?)_"),  # EfficientNet(-Lite, V2), VGG, Xception
    re.compile(r"^(block_\d+)_"),  # MobileNetV2
    re.compile(r"^conv_(?:dw|pw)_(\d+)"),  # MobileNet
    re.compile(r"^(expanded_conv(?:_\d+)?)_"),  # MobileNetV3
    re.compile(r"^(convnext_\w+?_stage_\d+_block_\d+)_"),  # ConvNeXt
    # InceptionV3 and NASNet leave most layers of a block unnamed (conv2d_93, activation_187):
    # no blocks are read from them, so they fine-tune the head only (unfreeze_blocks=0).
)


def _block_of(name: str) -> str | None:
    for pattern in _BLOCK_PATTERNS:
        m = pattern.match(name)
        if m:
            return m.group(1)
    return None


def top_block_layers(base: keras.Model, n_blocks: int) -> list[str]:
    """Names of the layers in the top ``n_blocks`` blocks of a backbone, plus those above them.

    Blocks are read from layer names (``block12_*`` in EfficientNet-Lite, ``conv5_block3_*`` in
    ResNet50V2); layers above the last block (EfficientNet's 1x1 head convolution, ResNet's
    ``post_bn``) count as part of the top.
    """
    if n_blocks <= 0:
        return []
    names: list[str] = []
    seen: list[str] = []
    for layer in reversed(base.layers):
        block = _block_of(layer.name)
        if block is not None and block not in seen:
            if len(seen) == n_blocks:
                break
            seen.append(block)
        if block is None and seen and len(seen) == n_blocks:
            break  # a layer below the top blocks (between blocks or the stem)
        names.append(layer.name)
    if not seen:
        raise ValueError(f"{base.name}: no blocks recognised in its layer names")
    return names[::-1]


def set_trainable_top(base: keras.Model, n_blocks: int) -> list[str]:
    """Unfreeze the top ``n_blocks`` blocks of ``base``; everything else and every BN frozen.

    Returns the names of the layers left trainable.
    """
    import keras

    top = set(top_block_layers(base, n_blocks))
    base.trainable = True
    trainable = []
    for layer in base.layers:
        is_bn = isinstance(layer, keras.layers.BatchNormalization)
        layer.trainable = layer.name in top and not is_bn
        if layer.trainable and layer.weights:
            trainable.append(layer.name)
    return trainable
