"""The affine head of a lite model as plain numbers: predict without scikit-learn or pandas.

A lite model directory (:mod:`poxscan.pipelines.lite_model`) whose model is deep features of its
own int8 backbone followed by affine steps and a linear classifier (scaler -> column selector ->
shrinkage LDA or logistic regression: the shipped default) also holds ``head.npz``, arrays only
(no pickle), listed in the manifest with its sha256 like every file:

- the explanation space (what the SHAP explanation is computed on): explanation feature ``j`` is
  ``z_j = scale_j * x[feature_index_j] + offset_j`` (standardisation after column selection);
- the classifier in that space: ``margin = z . coef + intercept``, score ``1 / (1 + e^-margin)``
  (``predict_proba[:, 1]``);
- the calibrator, exactly (Platt's slope and intercept, or the isotonic steps), and the
  decision threshold;
- the explainer's background mean, so each feature's contribution is
  ``coef_j * (z_j - mean_j)``, what :class:`~poxscan.pipelines.explain.ModelExplainer` computes
  for a linear model.

:mod:`poxscan.pipelines.lite_head_export` writes it at training or conversion time and refuses a
head that does not reproduce the joblib pipeline; :func:`load_fast_model` reads it at prediction
time, after checking every file of the directory against the manifest (each read once; the very
bytes hashed are the ones parsed), and :class:`poxscan.predict.Predictor` then never unpickles
``model.joblib`` (which stays in the directory, the source of truth: it is loaded on demand for
saliency maps and the on-device export). This module imports numpy, OpenCV (via the image
checks) and LiteRT only: a cold ``poxscan predict`` skips scikit-learn, SciPy and pandas.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "HEAD_FILE",
    "HEAD_FORMAT",
    "FastModel",
    "LinearHead",
    "load_fast_model",
]

HEAD_FILE = "head.npz"
#: Version of the file's layout; a newer one is ignored (the joblib path is used).
HEAD_FORMAT = 1
# The clip of poxscan.pipelines.calibration.logit (that module imports scikit-learn); a test
# checks the two agree.
_LOW, _HIGH = 1e-300, 1 - 2**-53


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=np.float64), _LOW, _HIGH)
    return np.log(p) - np.log1p(-p)


@dataclass
class LinearHead:
    """Deep features -> calibrated probability of mpox and its linear explanation.

    Attributes
    ----------
    feature_index : ndarray of int
        For each explanation feature, its column in the deep feature vector.
    scale, offset : ndarray of float64
        ``z = scale * x[feature_index] + offset``.
    coef : ndarray of float64
        The margin's weights on ``z``.
    intercept : float
    feature_names : list of str
        Names of the explanation features (``deep__<backbone>_<i>``).
    calibration : str
        ``"sigmoid"``, ``"isotonic"`` or ``"none"``.
    calibration_params : ndarray
        Sigmoid: ``[slope, intercept]``; isotonic: the steps' ``x`` then ``y`` (shape (2, n)).
    threshold : float
        mpox when the calibrated probability reaches it.
    n_features : int
        Width of the deep feature vector.
    output : str
        Unit of the contributions (``"margin"``, ``"log-odds"``), as the explainer names it.
    background_mean : ndarray or None
        The explainer's background mean in the explanation space (``None``: no explanations).
    families : list of str
        The model's feature families (``["deep"]``).
    tflite_sha256 : str
        The backbone the features come from.
    """

    feature_index: np.ndarray
    scale: np.ndarray
    offset: np.ndarray
    coef: np.ndarray
    intercept: float
    feature_names: list[str]
    calibration: str
    calibration_params: np.ndarray
    threshold: float
    n_features: int
    output: str
    background_mean: np.ndarray | None
    families: list[str]
    tflite_sha256: str

    # -- inference -----------------------------------------------------------------------
    def space(self, X: np.ndarray) -> np.ndarray:
        """Explanation-space rows of deep feature rows ``X`` (n, n_features)."""
        X = np.asarray(X, dtype=np.float64)
        return X[:, self.feature_index] * self.scale + self.offset

    def raw_scores(self, Z: np.ndarray) -> np.ndarray:
        """Uncalibrated score of mpox (``predict_proba[:, 1]``) of explanation-space rows."""
        margin = Z @ self.coef + self.intercept
        return 1.0 / (1.0 + np.exp(-margin))

    def calibrate(self, scores: np.ndarray) -> np.ndarray:
        """The calibrator (``ScoreCalibrator.predict``), exactly."""
        s = np.asarray(scores, dtype=np.float64).ravel()
        if self.calibration == "sigmoid":
            slope, intercept = self.calibration_params
            return 1.0 / (1.0 + np.exp(-(slope * _logit(s) + intercept)))
        if self.calibration == "isotonic":
            x, y = self.calibration_params
            # IsotonicRegression(out_of_bounds="clip").predict: linear between its steps.
            return np.interp(np.clip(s, x[0], x[-1]), x, y)
        return s.copy()

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Calibrated probability of mpox of each row of deep features."""
        return self.calibrate(self.raw_scores(self.space(X)))

    def contributions(self, Z: np.ndarray) -> np.ndarray:
        """Each explanation feature's contribution, ``coef * (z - background mean)``."""
        if self.background_mean is None:
            raise ValueError("this head has no explainer background")
        return (Z - self.background_mean) * self.coef

    # -- persistence ---------------------------------------------------------------------
    def to_arrays(self) -> dict[str, np.ndarray]:
        """The arrays of ``head.npz`` (no object arrays: loadable without pickle)."""
        meta = {
            "format": HEAD_FORMAT,
            "intercept": float(self.intercept),
            "calibration": self.calibration,
            "threshold": float(self.threshold),
            "n_features": int(self.n_features),
            "output": self.output,
            "families": list(self.families),
            "tflite_sha256": self.tflite_sha256,
        }
        arrays = {
            "meta": np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8),
            "feature_index": np.asarray(self.feature_index, dtype=np.int64),
            "scale": np.asarray(self.scale, dtype=np.float64),
            "offset": np.asarray(self.offset, dtype=np.float64),
            "coef": np.asarray(self.coef, dtype=np.float64),
            "feature_names": np.asarray(self.feature_names, dtype=str),
            "calibration_params": np.asarray(self.calibration_params, dtype=np.float64),
        }
        if self.background_mean is not None:
            arrays["background_mean"] = np.asarray(self.background_mean, dtype=np.float64)
        return arrays

    def to_bytes(self) -> bytes:
        """The content of ``head.npz``."""
        buffer = io.BytesIO()
        np.savez(buffer, **self.to_arrays())
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes, where: str = HEAD_FILE) -> LinearHead:
        """Parse ``head.npz`` content (already checked against the manifest).

        Raises
        ------
        ValueError
            Not a head file of a layout this poxscan understands, or inconsistent arrays.
        """
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as npz:
                arrays = {k: npz[k] for k in npz.files}
            meta = json.loads(arrays.pop("meta").tobytes().decode())
        except Exception as exc:
            raise ValueError(f"{where}: not a readable head file ({exc})") from None
        if int(meta.get("format", 0)) != HEAD_FORMAT:
            raise ValueError(f"{where}: head format {meta.get('format')} is not {HEAD_FORMAT}")
        m = len(arrays["coef"])
        index = arrays["feature_index"]
        n = int(meta["n_features"])
        if not (len(index) == len(arrays["scale"]) == len(arrays["offset"]) == m) or (
            m and (index.min() < 0 or index.max() >= n)
        ):
            raise ValueError(f"{where}: inconsistent head arrays")
        mean = arrays.get("background_mean")
        if mean is not None and len(mean) != m:
            raise ValueError(f"{where}: the background mean has {len(mean)} values, not {m}")
        return cls(
            feature_index=index,
            scale=arrays["scale"],
            offset=arrays["offset"],
            coef=arrays["coef"],
            intercept=float(meta["intercept"]),
            feature_names=[str(s) for s in arrays["feature_names"]],
            calibration=str(meta["calibration"]),
            calibration_params=arrays["calibration_params"],
            threshold=float(meta["threshold"]),
            n_features=n,
            output=str(meta["output"]),
            background_mean=mean,
            families=[str(f) for f in meta["families"]],
            tflite_sha256=str(meta["tflite_sha256"]),
        )


@dataclass
class FastModel:
    """A verified lite model directory ready to predict without its joblib pipeline.

    Attributes
    ----------
    head : LinearHead
    backbone : LiteRTModel
        The directory's int8 backbone (hash-checked).
    gate : InputGate
        The directory's input gate (``gate.npz`` parsed from its verified bytes).
    manifest : dict
    manifest_sha256 : str
    orient : str or None
        How each photo is posed before the backbone (the head entry's ``orient``).
    """

    head: LinearHead
    backbone: Any
    gate: Any
    manifest: dict[str, Any]
    manifest_sha256: str
    orient: str | None = None

    def deep_features(self, images: list[np.ndarray]) -> np.ndarray:
        """The int8 backbone's embedding of each image (what the pipeline's deep family is)."""
        from poxscan.features.litert_runtime import embed_images

        return embed_images(self.backbone, images, self.orient)


def fast_path_entry(manifest: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The manifest's ``"head"`` entry when it names a head file this poxscan can use."""
    entry = manifest.get("head")
    runtime = manifest.get("runtime") or {}
    if not isinstance(entry, Mapping) or entry.get("file") != HEAD_FILE:
        return None
    if runtime.get("name") != "litert-int8" or int(entry.get("format", 0)) != HEAD_FORMAT:
        return None
    backbone = (runtime.get("backbones") or {}).get("deep") or {}
    if entry.get("tflite_sha256") != backbone.get("sha256") or not backbone.get("file"):
        return None
    return entry


def _manifest_only(model_dir: Path) -> dict[str, Any] | None:
    from poxscan.pipelines.model_dir import MANIFEST_NAME, MAX_MANIFEST_BYTES, read_regular

    try:
        return json.loads(read_regular(model_dir / MANIFEST_NAME, MAX_MANIFEST_BYTES))
    except Exception:  # the full verification below reports what is wrong
        return None


def load_fast_model(
    model_dir: str | PathLike, *, manifest_sha256: str | None = None, gate: bool = True
) -> FastModel | None:
    """Verify a lite model directory and load its affine head, backbone and gate.

    Returns ``None`` (use the joblib path) when the directory has no usable head: not a lite
    directory, no ``head.npz`` in its manifest, a head of another backbone, or a deep
    extractor whose fingerprint is not the int8 backbone's.

    Raises
    ------
    ModelIntegrityError
        A file (``head.npz`` included) does not match the manifest, or the manifest does not
        match the pin; raised before anything is parsed or run.
    """
    from poxscan.features.litert_runtime import lite_fingerprint, open_backbone
    from poxscan.pipelines.gate_inference import GATE_FILE, load_gate
    from poxscan.pipelines.model_dir import (
        MODEL_FORMAT,
        MODEL_FORMAT_VERSION,
        MODEL_NAME,
        ModelIntegrityError,
        verify_directory,
    )

    folder = Path(model_dir)
    peek = _manifest_only(folder)
    if peek is None or fast_path_entry(peek) is None:
        return None
    backbone_file = peek["runtime"]["backbones"]["deep"]["file"]
    gate_entry = peek.get("gate") if gate else None
    wanted = [HEAD_FILE, backbone_file]
    if (gate_entry or {}).get("embedding"):
        wanted.append(GATE_FILE)
    manifest, blobs, sha = verify_directory(
        folder,
        fmt=MODEL_FORMAT,
        format_version=MODEL_FORMAT_VERSION,
        primary=MODEL_NAME,
        manifest_sha256=manifest_sha256,
        read=wanted,
        other_hint=" (a fine-tuned CNN? use --cnn)",
    )
    entry = fast_path_entry(manifest)  # the verified manifest decides, not the peek
    if entry is None or any(name not in blobs for name in wanted):
        return None
    try:
        head = LinearHead.from_bytes(blobs[HEAD_FILE], str(folder / HEAD_FILE))
    except ValueError as exc:
        raise ModelIntegrityError(str(exc)) from None
    spec = manifest["runtime"]["backbones"]["deep"]
    fingerprint = lite_fingerprint(
        backbone=str(entry.get("backbone")),
        tflite_sha256=str(spec["sha256"]),
        feature_dim=head.n_features,
        quantization="int8",
        orient=entry.get("orient"),
    )
    if (
        head.tflite_sha256 != spec["sha256"]
        or (manifest.get("model") or {}).get("fingerprints", {}).get("deep") != fingerprint
        or head.families != ["deep"]
    ):
        return None  # the joblib path says what is wrong (IncompatibleModelError)
    backbone = open_backbone(
        blobs[backbone_file],
        sha256=str(spec["sha256"]),
        where=folder / backbone_file,
        quantization="int8",
        feature_dim=head.n_features,
    )
    input_gate = None
    if gate:
        input_gate = load_gate(folder, manifest.get("gate"), data=blobs.get(GATE_FILE))
    return FastModel(head, backbone, input_gate, manifest, sha, entry.get("orient"))
