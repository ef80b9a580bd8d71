"""A fine-tuned CNN ready to predict, saved as a Keras file with a sha256 manifest.

A CNN model directory holds::

    model.keras      the Keras model: RGB in [0, 255] -> rescaling -> backbone -> dropout ->
                     dense sigmoid, P(mpox) of shape (n, 1)
    manifest.json    format "poxscan-cnn", sha256 of model.keras, backbone and its weights'
                     fingerprint, input size, threshold, training config and history, training
                     data, cross-validated metrics, package versions

:meth:`FineTunedCNN.save` writes the directory atomically and :meth:`FineTunedCNN.load` checks
every file against the manifest before Keras opens anything (and loads with ``safe_mode``, so
no serialised Python code runs), with the same helpers as the classical models
(:mod:`poxscan.pipelines.persistence`).

TensorFlow is imported only when a model is built, loaded or run.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from poxscan import __version__
from poxscan.core.atomic import atomic_write_text
from poxscan.core.imageio import to_square
from poxscan.features.backbones import get_backbone
from poxscan.pipelines.model_dir import verify_directory
from poxscan.pipelines.persistence import (
    _atomic_dir,
    _check_versions,
    _jsonable,
    _list_files,
    _publish_modes,
    _sha256,
    environment,
)

if TYPE_CHECKING:
    import keras

__all__ = ["CNN_FORMAT", "FineTunedCNN", "save_inference_model", "verify_cnn_dir"]

CNN_FORMAT = "poxscan-cnn"
CNN_FORMAT_VERSION = 1
KERAS_NAME = "model.keras"
MANIFEST_NAME = "manifest.json"
LABELS = ("not_mpox", "mpox")


class FineTunedCNN:
    """A Keras binary classifier over whole images: P(mpox) per image.

    Parameters
    ----------
    model : keras.Model
        Takes float32 RGB ``(n, image_size, image_size, 3)`` in ``[0, 255]`` (its first layer
        rescales as the backbone wants) and returns ``(n, 1)`` probabilities of mpox.
    backbone : str
        Registry name of the backbone it was built on.
    image_size : int
        Side of the square input.
    threshold : float, default=0.5
        Probability of mpox at or above which an image is called mpox.
    info : dict, optional
        Training config, history and timings (saved in the manifest).
    """

    def __init__(
        self,
        model: keras.Model,
        backbone: str,
        image_size: int,
        threshold: float = 0.5,
        info: Mapping[str, Any] | None = None,
    ) -> None:
        self.model = model
        self.backbone = get_backbone(backbone).name
        self.image_size = int(image_size)
        self.threshold = float(threshold)
        self.info = dict(info or {})

    # -- inference -------------------------------------------------------------------------
    def prepare(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """Fit RGB uint8 images of any size to the input square: uint8 ``(n, s, s, 3)``."""
        return np.stack([to_square(np.asarray(img), self.image_size) for img in images])

    def predict_proba_prepared(self, batch: np.ndarray, batch_size: int = 32) -> np.ndarray:
        """``[P(not mpox), P(mpox)]`` of images already fitted to the input square.

        Parameters
        ----------
        batch : ndarray, shape (n, s, s, 3)
            uint8 or float RGB in ``[0, 255]`` (LIME passes perturbed copies).
        batch_size : int
            Images per forward pass.
        """
        batch = np.asarray(batch)
        if batch.ndim != 4 or batch.shape[1:] != (self.image_size, self.image_size, 3):
            raise ValueError(
                f"expected images of shape (n, {self.image_size}, {self.image_size}, 3), "
                f"got {batch.shape}"
            )
        out = np.empty(len(batch), dtype=np.float64)
        for start in range(0, len(batch), int(batch_size)):
            x = batch[start : start + int(batch_size)].astype(np.float32)
            # predict_on_batch: compiled inference graph, no per-call tf.data overhead.
            out[start : start + len(x)] = np.asarray(self.model.predict_on_batch(x)).reshape(-1)
        return np.column_stack([1.0 - out, out])

    def predict_proba(self, images: Sequence[np.ndarray], batch_size: int = 32) -> np.ndarray:
        """``[P(not mpox), P(mpox)]`` per RGB uint8 image of any size."""
        if len(images) == 0:
            return np.empty((0, 2))
        return self.predict_proba_prepared(self.prepare(images), batch_size=batch_size)

    def predict(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """1 (mpox) where P(mpox) reaches the threshold, else 0."""
        return (self.predict_proba(images)[:, 1] >= self.threshold).astype(int)

    # -- persistence -----------------------------------------------------------------------
    def save(
        self,
        out_dir: str | PathLike,
        *,
        training_data: Mapping[str, Any] | None = None,
        evaluation: Mapping[str, Any] | None = None,
        overwrite: bool = False,
    ) -> dict[str, Any]:
        """Write ``model.keras`` and ``manifest.json`` (sha256 of every file), atomically.

        Parameters
        ----------
        out_dir : path-like
            The model directory to create.
        training_data : dict, optional
            What it was trained on (datasets, counts, checksums).
        evaluation : dict, optional
            Cross-validated metrics of the same training procedure.
        overwrite : bool
            Replace an existing directory (the swap is atomic).

        Returns
        -------
        manifest : dict
        """
        spec = get_backbone(self.backbone)
        manifest: dict[str, Any] = {
            "format": CNN_FORMAT,
            "format_version": CNN_FORMAT_VERSION,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "poxscan_version": __version__,
            "task": "binary",
            "classes": {"0": LABELS[0], "1": LABELS[1]},
            "model": {
                "kind": "fine-tuned CNN",
                "backbone": spec.name,
                "backbone_weights": spec.weights_fingerprint("imagenet"),
                "image_size": self.image_size,
                "input": f"float32 RGB in [0, 255], shape (n, {self.image_size}, "
                f"{self.image_size}, 3): the image's centre square "
                "(poxscan.core.imageio.to_square)",
                "output": "P(mpox), shape (n, 1)",
                "n_params": int(self.model.count_params()),
            },
            "threshold": {
                "value": self.threshold,
                "applies_to": "P(mpox); mpox when probability >= value",
            },
            "training": self.info,
            "training_data": dict(training_data or {}),
            "evaluation": dict(evaluation or {}),
            "environment": environment(deep=True),
        }
        with _atomic_dir(Path(out_dir), overwrite) as tmp:
            save_inference_model(self.model, tmp / KERAS_NAME)
            _publish_modes(tmp)
            manifest["files"] = {rel: _sha256(p) for rel, p in _list_files(tmp).items()}
            text = json.dumps(_jsonable(manifest), indent=2) + "\n"
            atomic_write_text(tmp / MANIFEST_NAME, text)
            _publish_modes(tmp)
        return _jsonable(manifest)

    @classmethod
    def load(cls, model_dir: str | PathLike, *, manifest_sha256: str | None = None) -> FineTunedCNN:
        """Verify a CNN model directory, then load its Keras model (``safe_mode=True``).

        Raises
        ------
        ModelIntegrityError
            A file differs from the manifest, is missing or unlisted (nothing was loaded).
        IncompatibleModelError
            Not a poxscan CNN directory, or a newer format.
        """
        import tempfile

        import keras

        folder = Path(model_dir)
        manifest, blobs, _ = _verify(folder, manifest_sha256)
        _check_versions(manifest, folder)
        # Keras reads a path: give it a private copy of the very bytes that were verified, so
        # the file in the model directory cannot be swapped between the check and the load.
        with tempfile.TemporaryDirectory(prefix="poxscan-cnn-") as tmp:
            private = Path(tmp) / KERAS_NAME
            private.write_bytes(blobs[KERAS_NAME])
            model = keras.saving.load_model(private, compile=False, safe_mode=True)
        info = manifest.get("model", {})
        cnn = cls(
            model,
            backbone=info["backbone"],
            image_size=int(info["image_size"]),
            threshold=float(manifest.get("threshold", {}).get("value", 0.5)),
            info=manifest.get("training", {}),
        )
        cnn.manifest = manifest
        cnn.model_dir = folder
        return cnn


def save_inference_model(model: keras.Model, path: str | PathLike) -> None:
    """Save ``model`` as a ``.keras`` file without its optimizer state.

    A model saved after training carries Adam's two moments per trainable weight (a 14 MB
    Lite0 becomes 30 MB); an uncompiled copy with the same weights carries none.
    """
    import keras

    copy = keras.Model.from_config(model.get_config())
    copy.set_weights(model.get_weights())
    copy.save(path)


def verify_cnn_dir(model_dir: str | PathLike, manifest_sha256: str | None = None) -> dict[str, Any]:
    """Check every file of a CNN model directory against its manifest; return the manifest.

    Parameters
    ----------
    model_dir : path-like
    manifest_sha256 : str, optional
        Expected sha256 of ``manifest.json`` (pins the whole model).

    Raises
    ------
    ModelIntegrityError, IncompatibleModelError
        See :meth:`FineTunedCNN.load`.
    """
    return _verify(Path(model_dir), manifest_sha256)[0]


def _verify(folder: Path, pinned: str | None) -> tuple[dict[str, Any], dict[str, bytes], str]:
    return verify_directory(
        folder,
        fmt=CNN_FORMAT,
        format_version=CNN_FORMAT_VERSION,
        primary=KERAS_NAME,
        manifest_sha256=pinned,
        read=(KERAS_NAME,),
        other_hint=" (a classical model? use --model)",
    )
