"""Deep features from an int8 backbone shipped inside a lite model directory (LiteRT only).

:class:`LiteDeepFeatures` computes exactly what ``DeepFeatures(runtime="tflite-int8",
tflite_model=...)`` computes (the image's centre square through the exported ``.tflite``
backbone, same ``deep__<backbone>_<i>`` names), but it needs only the ``ai-edge-litert``
package: no TensorFlow, no Keras and no ImageNet weight packages, so it is what a lite model
directory (:mod:`poxscan.pipelines.lite_model`) pickles.

The backbone file is named relative to the model directory and identified by its sha256,
which is the extractor's fingerprint: :func:`poxscan.pipelines.persistence.load_model` checks
the file against the manifest, then :meth:`bind_model_dir` tells the extractor where the
directory is. A file whose sha256 differs from the recorded one is refused before LiteRT parses
it.
"""

from __future__ import annotations

from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np

from poxscan.features._base import ImageFeatureExtractor
from poxscan.features.litert_runtime import LITE_DEEP_VERSION

__all__ = ["LiteDeepFeatures"]


class LiteDeepFeatures(ImageFeatureExtractor):
    """Pooled embedding of an exported ``.tflite`` backbone, run by LiteRT alone.

    Parameters
    ----------
    backbone : str, default="efficientnet-lite0"
        Registry name of the backbone the file was exported from (names the columns).
    tflite_file : str, optional
        The ``.tflite`` file: relative to the bound model directory, or absolute.
    tflite_sha256 : str, optional
        Its expected sha256 (what the features depend on).
    feature_dim : int, default=1280
        Width of the embedding.
    quantization : str, default="int8"
        What the file must hold.
    num_threads : int, default=1
        LiteRT threads (does not change the features).
    orient : {None, "canonical"}, default=None
        Show the backbone each photo in its canonical pose (as ``DeepFeatures(orient=...)``).
    """

    family = "deep"
    version = LITE_DEEP_VERSION  # lite_fingerprint() computes the same fingerprint
    #: Class default so a LiteDeepFeatures pickled before ``orient`` existed loads as None.
    orient: str | None = None

    def __init__(
        self,
        backbone: str = "efficientnet-lite0",
        tflite_file: str | None = None,
        tflite_sha256: str | None = None,
        feature_dim: int = 1280,
        quantization: str = "int8",
        num_threads: int = 1,
        orient: str | None = None,
    ) -> None:
        self.backbone = backbone
        self.tflite_file = tflite_file
        self.tflite_sha256 = tflite_sha256
        self.feature_dim = feature_dim
        self.quantization = quantization
        self.num_threads = num_threads
        self.orient = orient

    def bind_model_dir(self, model_dir: str | PathLike) -> LiteDeepFeatures:
        """Resolve a relative ``tflite_file`` against ``model_dir`` (set after loading)."""
        self.model_dir_ = str(Path(model_dir).resolve())
        return self

    def path(self) -> Path:
        """Where the backbone file is."""
        if self.tflite_file is None:
            raise ValueError("LiteDeepFeatures needs tflite_file")
        path = Path(self.tflite_file)
        if not path.is_absolute():
            base = getattr(self, "model_dir_", None)
            if base is None:
                raise ValueError(
                    f"{self.tflite_file} is relative to a model directory; call bind_model_dir "
                    "(load_model does) before computing features"
                )
            path = Path(base) / path
        return path

    def _runner(self) -> Any:
        from poxscan.features.litert_runtime import open_backbone

        path = self.path()

        def read() -> bytes:  # only when this process has no interpreter of the file yet
            if not path.is_file():
                raise FileNotFoundError(f"{path}: the lite model's backbone is missing")
            return path.read_bytes()

        return open_backbone(
            read,
            sha256=str(self.tflite_sha256),
            where=path,
            quantization=self.quantization,
            feature_dim=int(self.feature_dim),
            num_threads=int(self.num_threads),
        )

    def _feature_names(self) -> list[str]:
        return [f"{self.backbone}_{i}" for i in range(int(self.feature_dim))]

    def _transform_batch(self, images: list[np.ndarray]) -> np.ndarray:
        from poxscan.features.litert_runtime import embed_images

        return embed_images(self._runner(), images, self.orient)

    def _fingerprint_params(self) -> dict[str, Any]:
        # The file computes the features: its hash, not where it lies, identifies them.
        return {
            "backbone": self.backbone,
            "tflite_sha256": self.tflite_sha256,
            "feature_dim": int(self.feature_dim),
            "quantization": self.quantization,
            **({"orient": self.orient} if self.orient is not None else {}),
        }

    def __getstate__(self) -> dict[str, Any]:
        state = dict(super().__getstate__())
        state.pop("model_dir_", None)  # where it was loaded from is no part of the model
        return state
