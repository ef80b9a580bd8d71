"""Predict with a saved model: calibrated probability of mpox, decision, and why.

>>> from poxscan.predict import Predictor
>>> predictor = Predictor.load("models/msld")            # verifies every file first
>>> predictor.predict_image(open("lesion.jpg", "rb").read(), name="lesion.jpg").to_dict()
{'file': 'lesion.jpg', 'ok': True, 'label': 'mpox', 'probability': 0.81, ...}

:class:`Predictor` loads a model directory once (checking every sha256 before unpickling, see
:mod:`poxscan.pipelines.persistence`) and warms it up, so each later call only decodes images,
extracts features and runs the pipeline. It is meant to be shared by the threads of a WSGI
server: decoding runs concurrently, inference is serialised by a lock (feature extractors and
lazily built networks are not guaranteed thread-safe); the web app gathers concurrent requests
into one batched call (:mod:`poxscan.web.batching`), and ``poxscan serve --workers N`` runs one
predictor per process.

Each prediction carries the features that pushed the decision most: SHAP values of the image
(see :mod:`poxscan.pipelines.explain`), positive towards mpox.

A lite model directory whose manifest lists an affine head (``head.npz``:
:mod:`poxscan.pipelines.lite_head`; the shipped default config trained with ``--runtime
litert-int8`` has one) is predicted from those numbers and the int8 backbone, without
unpickling ``model.joblib`` and without importing scikit-learn, SciPy or pandas: the same
probabilities, decisions, gate verdicts and explanations (to round-off), in a fraction of the
start-up time. ``POXSCAN_NO_FAST_HEAD=1`` forces the joblib pipeline.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np

from poxscan.core.imageio import ImageLoadError, load_image
from poxscan.core.threads import single_threaded_blas

__all__ = [
    "DISCLAIMER",
    "LABELS",
    "NO_FAST_ENV",
    "Prediction",
    "PredictionError",
    "Predictor",
    "Refusal",
]

#: Set (to anything) to predict lite directories through their joblib pipeline even when they
#: carry an affine head (for comparisons and benchmarks).
NO_FAST_ENV = "POXSCAN_NO_FAST_HEAD"
#: Class 0 and class 1 of every poxscan binary model.
LABELS = ("not_mpox", "mpox")
DISCLAIMER = (
    "poxscan is a screening aid, not a diagnosis: whatever the result, see a clinician about a "
    "rash that worries you."
)


@dataclass
class Prediction:
    """The model's answer for one image.

    Attributes
    ----------
    file : str
        The image's name (path, upload name or index).
    label : str
        ``"mpox"`` when ``probability >= threshold``, else ``"not_mpox"``.
    probability : float
        Calibrated probability of mpox.
    threshold : float
        The model's decision threshold.
    top_features : list of dict
        Features that pushed the decision most, by absolute SHAP value: ``feature``,
        ``family``, ``contribution`` (signed, positive = towards mpox), ``direction``,
        ``value`` (as the classifier saw it, e.g. standardised) and ``raw_value``.
    explanation_output : str
        Unit of ``contribution`` (``"log-odds"``, ``"margin"``, ``"probability"``).
    differential : dict, optional
        With a differential model loaded: ``{condition: probability}``, most probable first
        (mpox, chickenpox, measles, normal), shown beside the screening decision, never
        instead of it.
    """

    file: str
    label: str
    probability: float
    threshold: float
    top_features: list[dict[str, Any]] = field(default_factory=list)
    explanation_output: str = ""
    ok: bool = True
    #: The input gate's verdict and statistics (empty when the gate is off).
    gate: dict[str, Any] = field(default_factory=dict)
    #: SHAP contributions summed per feature family, over every feature (not only the top).
    families: list[dict[str, Any]] = field(default_factory=list)

    differential: dict[str, float] | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (``differential`` only when a differential model gave one)."""
        out = asdict(self)
        if out["differential"] is None:
            del out["differential"]
        return out


@dataclass
class Refusal:
    """An image the input gate refused: no probability, no label, a reason and what to do.

    Attributes
    ----------
    file : str
        The image's name.
    code : str
        Machine-readable reason (:data:`poxscan.core.image_checks.REASONS`).
    message, advice : str
        What is wrong and how to take a better photo.
    gate : dict
        The statistics behind the verdict.
    """

    file: str
    code: str
    message: str
    advice: str
    gate: dict[str, Any] = field(default_factory=dict)
    ok: bool = False
    refused: bool = True

    @property
    def error(self) -> str:
        """One line naming the file and the reason."""
        return f"{self.file}: not screenable ({self.code}): {self.message}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return asdict(self)


@dataclass
class PredictionError:
    """An image that could not be used.

    Attributes
    ----------
    file : str
        The image's name.
    error : str
        The message: the file's name and the problem.
    problem : str
        The problem alone (e.g. ``"file is empty (0 bytes)"``).
    """

    file: str
    error: str
    problem: str = ""
    ok: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return asdict(self)


class Predictor:
    """A loaded model, ready to predict images. Build it with :meth:`load`.

    Parameters
    ----------
    model : ImageModel
        The fitted model.
    manifest : dict
        Its manifest.
    model_dir : path-like
        Where it was loaded from.
    explainer : ModelExplainer, optional
        Per-image SHAP explanations; ``None`` disables them.
    """

    def __init__(
        self,
        model: Any,
        manifest: dict[str, Any],
        model_dir: str | PathLike,
        explainer: Any = None,
        gate: Any = None,
        differential: Any = None,
        fast: Any = None,
        explain_fast: bool = False,
    ) -> None:
        self._model = model
        #: Optional :class:`~poxscan.pipelines.differential.DifferentialModel`.
        self.differential = differential
        self.manifest = manifest
        self.model_dir = Path(model_dir)
        self.explainer = explainer
        self.gate = gate
        #: :class:`~poxscan.pipelines.lite_head.FastModel` of a lite directory with an affine
        #: head: predictions then use its numbers, and ``model.joblib`` is unpickled only when
        #: :attr:`model` is asked for (saliency maps, the on-device export).
        self.fast = fast
        self._explain_fast = bool(explain_fast and fast is not None)
        self._lock = threading.Lock()
        if fast is not None:
            self.manifest_sha256 = fast.manifest_sha256
        else:
            from poxscan.pipelines.model_dir import MANIFEST_NAME, file_sha256

            self.manifest_sha256 = file_sha256(self.model_dir / MANIFEST_NAME)

    @property
    def model(self) -> Any:
        """The fitted :class:`~poxscan.pipelines.image_model.ImageModel` (``model.joblib``).

        With the fast path it is loaded on first use, pinned to the manifest already verified.
        """
        if self._model is None:
            from poxscan.pipelines.persistence import load_model

            self._model, _ = load_model(self.model_dir, manifest_sha256=self.manifest_sha256)
        return self._model

    @property
    def uses_fast_path(self) -> bool:
        """Whether predictions come from the affine head (no scikit-learn)."""
        return self.fast is not None

    @classmethod
    def load(
        cls,
        model_dir: str | PathLike,
        *,
        manifest_sha256: str | None = None,
        explain: bool = True,
        warmup: bool = True,
        gate: bool = True,
        differential_dir: str | PathLike | None = None,
        differential_sha256: str | None = None,
    ) -> Predictor:
        """Verify and load a model directory.

        Parameters
        ----------
        model_dir : path-like
            Written by ``poxscan train``.
        manifest_sha256 : str, optional
            Pin the model: refuse it unless ``manifest.json`` has this sha256.
        explain : bool, default=True
            Prepare per-image SHAP explanations (needs the directory's ``shap/background.npz``).
        warmup : bool, default=True
            Run one dummy image through the model now, so lazy initialisation (a network's
            weights, SHAP's import) happens at load time rather than in the first request.
        differential_dir : path-like, optional
            A multi-class model from ``poxscan train --task multiclass``, verified the same
            way; its class probabilities are added to every prediction.
        differential_sha256 : str, optional
            Pin the differential model's manifest.

        A lite directory with an affine head is loaded without its pickle (see the module
        docstring); :attr:`model` then unpickles it on first use.

        Raises
        ------
        ModelIntegrityError
            A file of the directory does not match the manifest (nothing was unpickled).
        IncompatibleModelError
            The model needs a feature extractor that changed since training.
        """
        fast = None if os.environ.get(NO_FAST_ENV) else _load_fast(model_dir, manifest_sha256, gate)
        if fast is not None:
            background = Path(model_dir) / "shap" / "background.npz"
            explains = explain and background.is_file() and fast.head.background_mean is not None
            differential = None
            if differential_dir is not None:
                from poxscan.pipelines.differential import load_differential

                differential, _ = load_differential(differential_dir, differential_sha256)
            predictor = cls(
                None,
                fast.manifest,
                model_dir,
                None,
                gate=fast.gate,
                differential=differential,
                fast=fast,
                explain_fast=explains,
            )
            if warmup:
                predictor.predict_images([np.full((64, 64, 3), 128, np.uint8)], top_k=1)
            return predictor
        from poxscan.pipelines.persistence import load_model

        model, manifest = load_model(model_dir, manifest_sha256=manifest_sha256)
        explainer = None
        background = Path(model_dir) / "shap" / "background.npz"
        if explain and background.is_file():
            from poxscan.pipelines.explain import ModelExplainer

            # The file was checked against the manifest by load_model; no pickles allowed.
            with np.load(background, allow_pickle=False) as data:
                explainer = ModelExplainer.from_background(
                    model, data["X"], [str(n) for n in data["feature_names"]]
                )
        input_gate = None
        if gate:
            from poxscan.pipelines.gate import load_gate

            input_gate = load_gate(model_dir, manifest.get("gate"))
        differential = None
        if differential_dir is not None:
            from poxscan.pipelines.differential import load_differential

            differential, _ = load_differential(differential_dir, differential_sha256)
        predictor = cls(
            model, manifest, model_dir, explainer, gate=input_gate, differential=differential
        )
        if warmup:
            dummy = np.full((64, 64, 3), 128, np.uint8)
            predictor.predict_images([dummy], top_k=1, gate=False)
            if input_gate is not None and input_gate.needs_embedding:
                from poxscan.pipelines.gate import gate_embeddings

                gate_embeddings(input_gate, model, [dummy], model.extract([dummy]))
        return predictor

    # -- properties ----------------------------------------------------------------------------
    @property
    def threshold(self) -> float:
        """Decision threshold on the calibrated probability of mpox."""
        if self.fast is not None:
            return float(self.fast.head.threshold)
        return float(self.model.threshold_)

    @property
    def explains(self) -> bool:
        """Whether predictions carry per-image explanations."""
        return self._explain_fast if self.fast is not None else self.explainer is not None

    def info(self) -> dict[str, Any]:
        """What a client should know about the model (for ``--json`` and the web app)."""
        evaluation = self.manifest.get("evaluation", {}).get("metrics", {})
        return {
            "model_dir": str(self.model_dir),
            "manifest_sha256": self.manifest_sha256,
            "created": self.manifest.get("created"),
            "families": (
                list(self.fast.head.families) if self.fast else list(self.model.families_)
            ),
            "threshold": self.threshold,
            "threshold_rule": self.manifest.get("threshold", {}).get("description"),
            "calibration": self.manifest.get("calibration", {}).get("method"),
            "oof_metrics": {
                k: {"value": v.get("value"), "ci95": v.get("ci95")}
                for k, v in evaluation.items()
                if k in ("roc_auc", "sensitivity", "specificity", "balanced_accuracy")
            },
            "explanations": self.explains,
            "gate": self.gate.describe() if self.gate is not None else None,
            "differential": (
                list(self.differential.class_names_) if self.differential is not None else None
            ),
            # "litert-int8": a lite model directory (int8 backbone, no TensorFlow).
            "runtime": (self.manifest.get("runtime") or {}).get("name", "float"),
            "disclaimer": DISCLAIMER,
        }

    # -- prediction ----------------------------------------------------------------------------
    def _infer(
        self,
        images: Sequence[np.ndarray],
        names: Sequence[str],
        top_k: int,
        gate: bool = True,
    ) -> list[Prediction | Refusal]:
        gate_obj = self.gate if gate else None
        # One BLAS thread: a spinning second one slows the backbone's next pass (core.threads).
        with single_threaded_blas():
            if self.fast is not None:
                return self._infer_fast(images, names, top_k, gate_obj)
            return self._infer_pipeline(images, names, top_k, gate_obj)

    def _infer_pipeline(
        self, images: Sequence[np.ndarray], names: Sequence[str], top_k: int, gate_obj: Any
    ) -> list[Prediction | Refusal]:
        with self._lock:
            if gate_obj is None:
                findings, kept, table = None, list(range(len(images))), self.model.extract(images)
            else:
                from poxscan.pipelines.gate import screen_images

                findings, table, kept = screen_images(gate_obj, self.model, images)
                ok = [j for j, i in enumerate(kept) if findings[i].screenable]
                kept = [kept[j] for j in ok]
                table = table.iloc[ok].reset_index(drop=True) if kept else None
            proba, explained, families = np.zeros(0), None, None
            if kept:
                proba = self.model.predict_proba_features(table)[:, 1]
                if self.explainer is not None and top_k > 0:
                    explanation = self.explainer.explain(table)
                    explained = explanation.top_features(top_k, raw=table)
                    from poxscan.pipelines.feature_names import family_contributions

                    families = family_contributions(explanation)
            differential = None
            if self.differential is not None and kept:
                differential = self.differential.differential([images[i] for i in kept])
        output = self.explainer.output if self.explainer is not None else ""
        return self._results(
            images, names, findings, kept, proba, explained, families, differential, output
        )

    def _infer_fast(
        self, images: Sequence[np.ndarray], names: Sequence[str], top_k: int, gate_obj: Any
    ) -> list[Prediction | Refusal]:
        """:meth:`_infer` with the affine head: the same steps and numbers, no pipeline."""
        from poxscan.core.image_checks import check_pixels

        head = self.fast.head
        with self._lock:
            findings = None if gate_obj is None else [check_pixels(img) for img in images]
            kept = [i for i in range(len(images)) if findings is None or findings[i].screenable]
            X = self.fast.deep_features([images[i] for i in kept]) if kept else None
            if gate_obj is not None and gate_obj.needs_embedding and kept:
                # The gate's embedding is the model's own deep features (the same int8 file).
                E = np.asarray(X, dtype=np.float64)
                for j, i in enumerate(kept):
                    findings[i] = gate_obj.check_embedding(E[j], findings[i].checks)
                ok = [j for j, i in enumerate(kept) if findings[i].screenable]
                kept, X = [kept[j] for j in ok], X[ok]
            proba, explained, families = np.zeros(0), None, None
            if kept:
                Z = head.space(X)
                proba = head.calibrate(head.raw_scores(Z))
                if self._explain_fast and top_k > 0:
                    from types import SimpleNamespace

                    from poxscan.pipelines.feature_names import (
                        family_contributions,
                        top_feature_rows,
                    )

                    values = head.contributions(Z)
                    column = {
                        name: int(c)
                        for name, c in zip(head.feature_names, head.feature_index, strict=True)
                    }

                    def raw_value(j: int, name: str) -> float | None:
                        return float(X[j, column[name]]) if name in column else None

                    explained = top_feature_rows(values, Z, head.feature_names, top_k, raw_value)
                    families = family_contributions(
                        SimpleNamespace(values=values, feature_names=head.feature_names)
                    )
            differential = None
            if self.differential is not None and kept:
                differential = self.differential.differential([images[i] for i in kept])
        return self._results(
            images, names, findings, kept, proba, explained, families, differential, head.output
        )

    def _results(
        self,
        images: Sequence[np.ndarray],
        names: Sequence[str],
        findings: Any,
        kept: list[int],
        proba: np.ndarray,
        explained: Any,
        families: Any,
        differential: Any,
        output: str,
    ) -> list[Prediction | Refusal]:
        threshold = self.threshold
        out: list[Prediction | Refusal] = [None] * len(images)  # type: ignore[list-item]
        for j, i in enumerate(kept):
            p = float(proba[j])
            out[i] = Prediction(
                file=str(names[i]),
                label=LABELS[int(p >= threshold)],
                probability=p,
                threshold=threshold,
                top_features=explained[j] if explained is not None else [],
                explanation_output=output if explained is not None else "",
                gate=findings[i].to_dict() if findings is not None else {},
                families=families[j] if families is not None else [],
                differential=differential[j] if differential is not None else None,
            )
        for i in range(len(images)):
            if out[i] is None:
                f = findings[i]
                out[i] = Refusal(str(names[i]), f.code, f.message, f.advice, f.to_dict())
        return out

    def predict_images(
        self,
        images: Sequence[np.ndarray],
        names: Sequence[str] | None = None,
        top_k: int = 5,
        gate: bool = True,
    ) -> list[Prediction | Refusal]:
        """Predict decoded RGB uint8 images (any size).

        Parameters
        ----------
        images : sequence of ndarray
            As :func:`poxscan.core.imageio.load_image` returns them.
        names : sequence of str, optional
            Names for the results; default ``"image 0"``, ``"image 1"``, ...
        top_k : int, default=5
            Features listed per image (0: no explanation, faster).
        gate : bool, default=True
            Apply the input gate (when the predictor has one): refused images come back as
            :class:`Refusal`, without probability or label.
        """
        if names is None:
            names = [f"image {i}" for i in range(len(images))]
        if len(names) != len(images):
            raise ValueError(f"{len(images)} images but {len(names)} names")
        if len(images) == 0:
            return []
        return self._infer(list(images), list(names), top_k, gate)

    def predict_image(
        self, image: np.ndarray | bytes, name: str | None = None, top_k: int = 5
    ) -> Prediction | Refusal:
        """Predict one image given as a decoded array or as the bytes of an image file.

        Raises
        ------
        ImageLoadError
            Bytes that are not a usable image (the message names ``name`` and the problem).
        """
        if isinstance(image, bytes | bytearray | memoryview):
            label = name or "<upload>"
            array = load_image(bytes(image), name=label)
        else:
            label = name or "image"
            array = np.asarray(image)
            if array.ndim != 3 or array.shape[2] != 3 or array.dtype != np.uint8:
                raise ImageLoadError(
                    label,
                    f"expected an RGB uint8 array of shape (h, w, 3), got dtype {array.dtype} "
                    f"and shape {array.shape}",
                )
        return self._infer([array], [label], top_k)[0]

    def explain_map(self, image: np.ndarray, target: str | None = None) -> Any:
        """A picture of what the model used for one decoded photo, in about a second.

        Gradient CAM on the backbone's last feature map for a model on deep features, else an
        occlusion map (see :mod:`poxscan.pipelines.saliency`).

        Returns
        -------
        SaliencyMap
            ``.png()`` is the overlay on the square the model saw; ``.to_dict()`` its cells.
        """
        from poxscan.pipelines.saliency import explain_image

        with self._lock:
            return explain_image(self.model, np.asarray(image), target)

    def predict_paths(
        self,
        paths: Sequence[str | PathLike],
        top_k: int = 5,
        batch_size: int = 16,
    ) -> list[Prediction | Refusal | PredictionError]:
        """Predict image files, in order; a file that fails becomes a :class:`PredictionError`,
        one the input gate refuses a :class:`Refusal`.

        A bad file (missing, not an image, truncated, too large, ...) is reported with its
        name and problem, and the batch goes on.
        """
        results: list[Prediction | Refusal | PredictionError | None] = [None] * len(paths)
        pending: list[tuple[int, str, np.ndarray]] = []

        def flush() -> None:
            if not pending:
                return
            idx, names, images = zip(*pending, strict=True)
            try:
                preds: Sequence[Prediction | Refusal | PredictionError] = self._infer(
                    list(images), list(names), top_k
                )
            except Exception:
                # One image broke the batch: redo them one by one to name the culprit.
                preds = [self._one(img, nm, top_k) for nm, img in zip(names, images, strict=True)]
            for i, pred in zip(idx, preds, strict=True):
                results[i] = pred
            pending.clear()

        for i, path in enumerate(paths):
            name = str(path)
            try:
                pending.append((i, name, load_image(path, name=name)))
            except ImageLoadError as exc:
                results[i] = PredictionError(file=name, error=str(exc), problem=exc.problem)
            if len(pending) >= max(int(batch_size), 1):
                flush()
        flush()
        return [r for r in results if r is not None]

    def _one(
        self, image: np.ndarray, name: str, top_k: int
    ) -> Prediction | Refusal | PredictionError:
        try:
            return self._infer([image], [name], top_k)[0]
        except Exception as exc:
            problem = f"could not be analysed ({type(exc).__name__}: {exc})"
            return PredictionError(file=name, error=f"{name}: {problem}", problem=problem)


def _load_fast(model_dir: str | PathLike, manifest_sha256: str | None, gate: bool) -> Any:
    """The lite directory's affine head, backbone and gate, or ``None`` (use the pipeline)."""
    from poxscan.pipelines.lite_head import load_fast_model

    fast = load_fast_model(model_dir, manifest_sha256=manifest_sha256, gate=gate)
    if fast is not None and fast.gate is not None and fast.gate.needs_embedding:
        from poxscan.pipelines.gate_inference import LITE_RUNTIME

        g = fast.gate
        if g.runtime != LITE_RUNTIME or g.tflite_sha256 != fast.head.tflite_sha256:
            return None  # a gate on another embedding: the pipeline path computes it
    return fast
