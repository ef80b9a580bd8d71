"""Frozen deep features: the globally average-pooled embedding of an ImageNet backbone.

Each image is fitted to the backbone's input with :func:`poxscan.imageio.to_square`, scaled by
the backbone's own preprocessing, and run through the backbone without its classifier; the
1280 (EfficientNet-Lite) or 2048 (ResNet50V2) pooled activations are the features, named
``deep__<backbone>_<i>``.

The Keras model is built on first use and cached per process, keyed by backbone and weights
fingerprint; it is never pickled, so a saved pipeline holding a :class:`DeepFeatures` stays
small and rebuilds the model where it is loaded. TensorFlow is imported only when features are
computed.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from os import PathLike
from typing import TYPE_CHECKING, Any

import numpy as np
from poxscan.features._base import ImageFeatureExtractor
from poxscan.features.backbones import BackboneSpec, get_backbone

if TYPE_CHECKING:
    import keras

__all__ = ["DeepFeatures", "clear_model_cache"]

# (backbone, weights fingerprint) -> built model; one per process, shared by all instances.
_MODELS: dict[tuple[str, str], keras.Model] = {}
_LOCK = threading.Lock()


def clear_model_cache() -> None:
    """Forget every cached backbone model (frees memory; the next transform rebuilds)."""
    with _LOCK:
        _MODELS.clear()


class DeepFeatures(ImageFeatureExtractor):
    """Pooled embedding of a frozen ImageNet backbone.

    Parameters
    ----------
    backbone : str, default="efficientnet-lite0"
        A name from :data:`poxscan.features.backbones.BACKBONES`.
    weights : str or path-like, optional
        ``None`` for the backbone's real ImageNet weights; otherwise a weights file (its hash
        becomes part of :meth:`fingerprint`).
    batch_size : int, default=32
        Images per forward pass.

    Examples
    --------
    >>> import numpy as np
    >>> fx = DeepFeatures().fit([np.zeros((64, 64, 3), np.uint8)])
    >>> fx.get_feature_names_out()[0]
    'deep__efficientnet-lite0_0'
    """

    family = "deep"
    version = "1"

    def __init__(
        self,
        backbone: str = "efficientnet-lite0",
        weights: str | PathLike | None = None,
        batch_size: int = 32,
    ) -> None:
        self.backbone = backbone
        self.weights = weights
        self.batch_size = batch_size

    # -- helpers ----------------------------------------------------------------------------
    def _spec(self) -> BackboneSpec:
        return get_backbone(self.backbone)

    def _keras_weights(self) -> str:
        return "imagenet" if self.weights is None else str(self.weights)

    def _model(self) -> keras.Model:
        spec = self._spec()
        weights = self._keras_weights()
        key = (spec.name, spec.weights_fingerprint(weights))
        with _LOCK:
            model = _MODELS.get(key)
            if model is None:
                model = spec.build(include_top=False, weights=weights, pooling="avg")
                model.trainable = False
                _MODELS[key] = model
        return model

    # -- ImageFeatureExtractor --------------------------------------------------------------
    def _feature_names(self) -> list[str]:
        spec = self._spec()
        return [f"{spec.name}_{i}" for i in range(spec.feature_dim)]

    def _transform_batch(self, images: list[np.ndarray]) -> np.ndarray:
        if not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {self.batch_size!r}")
        spec = self._spec()
        model = self._model()
        out = np.empty((len(images), spec.feature_dim), dtype=np.float32)
        for start in range(0, len(images), self.batch_size):
            chunk: Sequence[np.ndarray] = images[start : start + self.batch_size]
            x = spec.prepare([np.asarray(img) for img in chunk])
            # predict_on_batch runs a compiled graph in inference mode: about 8x faster than an
            # eager model(x) call at batch 1, and free of model.predict's per-call data pipeline.
            out[start : start + len(chunk)] = np.asarray(model.predict_on_batch(x))
        return out

    def _fingerprint_params(self) -> dict[str, Any]:
        params = self.get_params(deep=False)
        # batch_size does not change what is computed.
        params.pop("batch_size", None)
        params["backbone"] = self._spec().name  # one spelling per backbone
        # The weights are identified by their hash, not by where the file happens to lie.
        params["weights"] = "default" if self.weights is None else "file"
        params["weights_fingerprint"] = self._spec().weights_fingerprint(self._keras_weights())
        return params

    def __getstate__(self) -> dict[str, Any]:
        # Never pickle a model: a saved pipeline rebuilds it from the weights where it is loaded.
        state = dict(super().__getstate__())  # a copy: never alter the live instance
        for key in [k for k in state if k.startswith("_model")]:
            state.pop(key)
        return state
