"""Frozen ImageNet backbones behind one interface: build, preprocess, fingerprint.

:data:`BACKBONES` names each backbone: ``"efficientnet-lite0"``, ``"efficientnet-lite1"``,
``"efficientnet-lite2"`` (the Keras port of the PyTorch Lite models) and every network
``keras.applications`` ships (``"vgg16"``, ``"resnet50"``, ``"resnet50v2"``,
``"inceptionresnetv2"``, ``"mobilenetv2"``, ``"efficientnetb0"``, ``"convnext-tiny"``, ...; see
:mod:`poxscan.features.backbones.keras_apps`). :func:`get_backbone` returns its
:class:`BackboneSpec`. Deep features, fine-tuning and TFLite export all build models through
:meth:`BackboneSpec.build`, which returns a plain Keras functional model.

``weights`` follows Keras: ``"imagenet"`` (the backbone's real weights: the packaged PyTorch
files for EfficientNet-Lite, Keras' cached file for a Keras application, never downloaded),
``None`` (random initialisation) or a path to a weights file, hash-checked before loading.
Importing this package never imports TensorFlow.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from poxscan.core.hashing import file_sha256
from poxscan.core.imageio import to_square
from poxscan.features.backbones import efficientnet_lite, keras_apps

if TYPE_CHECKING:
    import keras

__all__ = ["BACKBONES", "BackboneSpec", "get_backbone", "weights_file_sha256"]

Weights = str | PathLike | None


@dataclass(frozen=True)
class BackboneSpec:
    """One backbone: input size, embedding width and how to build, feed and identify it.

    Attributes
    ----------
    name : str
        Registry name, e.g. ``"efficientnet-lite0"``.
    input_size : int
        Side of the square RGB input it was trained at.
    feature_dim : int
        Width of the globally average-pooled embedding.
    stages : tuple of (str, int)
        ``(layer name, channels)`` of the output of each stage of the network before its head,
        in order (empty where the backbone does not name them); multi-level deep features pool
        some of them.
    """

    name: str
    input_size: int
    feature_dim: int
    _builder: Callable[..., Any]
    _preprocess: Callable[[np.ndarray], np.ndarray]
    _fingerprint: Callable[[Weights], str]
    stages: tuple[tuple[str, int], ...] = ()
    min_size: int = 32
    family: str = ""
    _status: Callable[[], str] | None = None

    def build(
        self,
        include_top: bool = False,
        weights: Weights = "imagenet",
        *,
        pooling: str | None = "avg",
        weights_hash: str | None = None,
        **kwargs: Any,
    ) -> keras.Model:
        """Build the Keras model (plain functional, TFLite-convertible).

        Parameters
        ----------
        include_top : bool, default=False
            Keep the ImageNet classifier.
        weights : "imagenet", None or path, default="imagenet"
            Real weights, random initialisation, or a weights file.
        pooling : {"avg", "max", None}, default="avg"
            Pooling of the last feature map without the top.
        weights_hash : str, optional
            Expected hash of a weights file given by path.
        **kwargs
            Passed on (``input_shape``, ``classes``, ``classifier_activation``).
        """
        return self._builder(
            include_top=include_top,
            weights=weights,
            pooling=pooling,
            weights_hash=weights_hash,
            **kwargs,
        )

    def preprocess(self, batch: np.ndarray) -> np.ndarray:
        """Scale RGB images (uint8, ``(n, size, size, 3)``) to the model's float32 input."""
        batch = np.asarray(batch)
        if batch.ndim != 4 or batch.shape[-1] != 3:
            raise ValueError(f"expected a batch of shape (n, h, w, 3), got {batch.shape}")
        return self._preprocess(batch)

    def prepare(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """Fit images of any size with :func:`~poxscan.core.imageio.to_square`, then preprocess."""
        return self.preprocess(np.stack([to_square(img, self.input_size) for img in images]))

    def weights_status(self) -> str:
        """Whether the ImageNet weights (without the top) are here: ``"present"``/``"missing"``."""
        return self._status() if self._status is not None else "present"

    def weights_fingerprint(self, weights: Weights = "imagenet") -> str:
        """Identity of the weights: ``"<algorithm>:<hex digest>"``, or ``"random"`` for None."""
        if weights is None:
            return "random"
        return self._fingerprint(weights)


@functools.lru_cache(maxsize=32)
def _sha256_cached(path: str, size: int, mtime_ns: int) -> str:
    return file_sha256(path)


def weights_file_sha256(path: str | PathLike) -> str:
    """SHA-256 of a weights file, cached per process by path, size and modification time."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: weights file not found")
    stat = path.stat()
    return _sha256_cached(str(path.resolve()), stat.st_size, stat.st_mtime_ns)


# -- EfficientNet-Lite ------------------------------------------------------------------------


def _lite_builder(variant: str) -> Callable[..., Any]:
    def build(include_top, weights, pooling, weights_hash, **kwargs):
        return efficientnet_lite.build_efficientnet_lite(
            variant,
            include_top=include_top,
            weights=weights,
            pooling=pooling,
            weights_sha256=weights_hash,
            **kwargs,
        )

    return build


def _lite_fingerprint(variant: str) -> Callable[[Weights], str]:
    def fingerprint(weights: Weights) -> str:
        path = (
            efficientnet_lite.default_weights_path(variant)
            if weights == "imagenet"
            else Path(weights)
        )
        return "sha256:" + weights_file_sha256(path)

    return fingerprint


# -- keras.applications -----------------------------------------------------------------------


def _app_builder(app: keras_apps.KerasApp) -> Callable[..., Any]:
    def build(include_top, weights, pooling, weights_hash, **kwargs):
        return keras_apps.build_app(
            app,
            include_top=include_top,
            weights=weights,
            pooling=pooling,
            weights_hash=weights_hash,
            **kwargs,
        )

    return build


def _app_fingerprint(app: keras_apps.KerasApp) -> Callable[[Weights], str]:
    def fingerprint(weights: Weights) -> str:
        if weights != "imagenet":
            return "sha256:" + weights_file_sha256(weights)
        published = keras_apps.published_hash(app, include_top=False)
        if published:
            # The file is loaded only if it has this hash (MD5 or SHA-256, as Keras publishes).
            return f"{'md5' if len(published) == 32 else 'sha256'}:{published}"
        cached = keras_apps.keras_cache_dir() / app.weights_file(False)
        if cached.is_file():
            return "sha256:" + weights_file_sha256(cached)
        return f"unpublished:{app.weights_file(False)}"  # cannot be built until the file is there

    return fingerprint


def _app_spec(app: keras_apps.KerasApp) -> BackboneSpec:
    return BackboneSpec(
        name=app.name,
        input_size=app.input_size,
        feature_dim=app.feature_dim,
        _builder=_app_builder(app),
        _preprocess=app.preprocess,
        _fingerprint=_app_fingerprint(app),
        min_size=app.min_size,
        family=app.family,
        _status=lambda: keras_apps.weights_status(app),
    )


def _lite_status(variant: str) -> str:
    try:
        return "present" if efficientnet_lite.default_weights_path(variant).is_file() else "missing"
    except FileNotFoundError:  # the weights package is not installed
        return "missing"


BACKBONES: dict[str, BackboneSpec] = {
    **{
        f"efficientnet-{variant}": BackboneSpec(
            name=f"efficientnet-{variant}",
            input_size=efficientnet_lite.input_size(variant),
            feature_dim=1280,
            _builder=_lite_builder(variant),
            _preprocess=efficientnet_lite.preprocess_input,
            _fingerprint=_lite_fingerprint(variant),
            stages=tuple(efficientnet_lite.stage_outputs(variant)),
            family="efficientnet-lite",
            _status=functools.partial(_lite_status, variant),
        )
        for variant in efficientnet_lite.VARIANTS
    },
    **{name: _app_spec(app) for name, app in keras_apps.APPS.items()},
}


def get_backbone(name: str) -> BackboneSpec:
    """The :class:`BackboneSpec` registered under ``name`` (case and ``_``/``-`` ignored).

    Raises
    ------
    KeyError
        Unknown name; the message lists the known ones.
    """
    # Accept "efficientnet_lite0" and other spellings of the same name.
    key = str(name).strip().lower().replace("_", "-")
    try:
        return BACKBONES[key]
    except KeyError:
        raise KeyError(f"unknown backbone {name!r}; known: {', '.join(BACKBONES)}") from None
