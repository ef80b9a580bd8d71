"""The fitted input gate at prediction time: numpy only, no scikit-learn.

What :mod:`poxscan.pipelines.gate` fits, this module applies: the kNN cosine score of an
embedding against the reference photos, the conformal threshold, the ImageNet head's screen
classes and the verdict (:class:`InputGate`), and :func:`load_gate`, which reads ``gate.npz``
into a :class:`FittedEmbedding`. It imports neither scikit-learn nor pandas, so a predictor of
a lite model directory that never loads its joblib pipeline (:mod:`poxscan.pipelines.lite_head`)
gates photos with the same code as every other predictor. :mod:`poxscan.pipelines.gate`
re-exports every name.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np

from poxscan.core.image_checks import GateFinding, check_pixels, reason

__all__ = [
    "COLOUR_FEATURES",
    "GATE_FILE",
    "LITE_RUNTIME",
    "SCREEN_CLASSES",
    "SCREEN_PROBABILITY",
    "FittedEmbedding",
    "InputGate",
    "ReferenceScorer",
    "cascade_refuses",
    "colour_features",
    "head_probabilities",
    "load_gate",
]

GATE_FILE = "gate.npz"
#: ``runtime`` of a gate whose embedding is a lite model directory's int8 backbone.
LITE_RUNTIME = "litert-int8"
#: ImageNet classes of screens and documents: when the backbone's own classifier puts at least
#: :data:`SCREEN_PROBABILITY` on them together, the image is refused as a screenshot/document
#: (reason ``collage``), and a ``not_skin`` refusal among them gets that reason instead.
SCREEN_CLASSES = {
    916: "web site",
    917: "comic book",
    918: "crossword puzzle",
    921: "book jacket",
    922: "menu",
    664: "monitor",
    782: "screen",
    851: "television",
}
SCREEN_PROBABILITY = 0.5


#: The colour-texture statistics of :func:`colour_features`, in order.
COLOUR_FEATURES = (
    "cr_mean",
    "cb_mean",
    "log1p_cr_std",
    "log1p_cb_std",
    "log1p_grey_std",
    "saturation_mean",
    "log1p_saturation_std",
    "skin_share",
)


def colour_features(image: np.ndarray) -> np.ndarray:
    """Colour-texture statistics of the 224 px square the model sees (:data:`COLOUR_FEATURES`).

    Means of OpenCV's 8-bit Cr and Cb, log-compressed standard deviations of Cr, Cb and the grey
    (Y) level, the mean HSV saturation and its log-compressed standard deviation, and the skin
    share (:func:`poxscan.core.image_checks.skin_share`). Uniform synthetic textures (wood, sand,
    fabric: one hue, flat saturation) and blue-green scenes lie far from lesion photos in them.

    Parameters
    ----------
    image : ndarray of shape (h, w, 3), uint8
        A decoded RGB image.

    Returns
    -------
    ndarray of shape (8,), float64
    """
    import cv2

    from poxscan.core.image_checks import skin_share
    from poxscan.core.imageio import to_square

    square = np.ascontiguousarray(to_square(np.asarray(image), 224), dtype=np.uint8)
    ycc = cv2.cvtColor(square, cv2.COLOR_RGB2YCrCb).astype(np.float64)
    sat = cv2.cvtColor(square, cv2.COLOR_RGB2HSV)[..., 1].astype(np.float64)
    return np.array(
        [
            ycc[..., 1].mean(),
            ycc[..., 2].mean(),
            np.log1p(ycc[..., 1].std()),
            np.log1p(ycc[..., 2].std()),
            np.log1p(ycc[..., 0].std()),
            sat.mean(),
            np.log1p(sat.std()),
            skin_share(square),
        ]
    )


def head_probabilities(E: np.ndarray, head: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """The ImageNet head's class probabilities of each (raw, pooled) embedding row."""
    w, b = (np.asarray(a, np.float64) for a in head)
    logits = np.atleast_2d(np.asarray(E, np.float64)) @ w + b
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    return p / p.sum(axis=1, keepdims=True)


def cascade_refuses(
    score: np.ndarray, confidence: np.ndarray, threshold: float, cascade: Mapping[str, Any]
) -> np.ndarray:
    """The two-signal cascade's distance verdict: refused outright beyond the strict threshold;
    between the threshold and it, only when the ImageNet head is confident of some object
    (top-class probability above the cascade's confidence threshold)."""
    score, confidence = np.asarray(score, np.float64), np.asarray(confidence, np.float64)
    strict = float(cascade["strict_threshold"])
    confident = confidence > float(cascade["confidence_threshold"])
    return (score > strict) | ((score > float(threshold)) & confident)


def _unit(E: np.ndarray) -> np.ndarray:
    X = np.asarray(E, dtype=np.float64)
    return X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12)


def _knn_score(query: np.ndarray, reference: np.ndarray, k: int) -> np.ndarray:
    """Mean cosine distance of each unit row of ``query`` to its ``k`` nearest reference rows."""
    dist = 1.0 - query @ reference.T
    k = min(int(k), reference.shape[0])
    part = np.partition(dist, k - 1, axis=1)[:, :k]
    return part.mean(axis=1)


class ReferenceScorer:
    """The scoring half of an embedding gate, shared by the fitted and the loaded one.

    Subclasses hold ``n_neighbors``, ``reference_`` (unit rows, float64 holding float32 values)
    and ``threshold_``.
    """

    n_neighbors: int
    reference_: np.ndarray
    threshold_: float

    def score(self, E: np.ndarray) -> np.ndarray:
        """Nonconformity score of each embedding (higher: less like the training photos)."""
        return _knn_score(_unit(np.atleast_2d(E)), self.reference_, self.n_neighbors)

    def accepts(self, E: np.ndarray) -> np.ndarray:
        """Whether each embedding is within the threshold."""
        return self.score(E) <= self.threshold_


class FittedEmbedding(ReferenceScorer):
    """A fitted embedding gate read back from ``gate.npz`` (see :func:`load_gate`).

    Parameters
    ----------
    n_neighbors, refuse_rate, cv :
        As :class:`poxscan.pipelines.gate.EmbeddingGate` was fitted with.

    Attributes
    ----------
    reference_, oof_scores_, threshold_ :
        As :class:`~poxscan.pipelines.gate.EmbeddingGate`'s.
    """

    def __init__(self, n_neighbors: int = 5, refuse_rate: float = 0.01, cv: int = 5) -> None:
        self.n_neighbors = n_neighbors
        self.refuse_rate = refuse_rate
        self.cv = cv


class InputGate:
    """Pixel checks, then the embedding distance; plus the ImageNet head's guess, for the record.

    Parameters
    ----------
    embedding : EmbeddingGate, FittedEmbedding or None
        ``None``: pixel checks only (a model directory saved without an embedding gate).
    backbone : str
        Backbone whose pooled embedding ``embedding`` was fitted on.
    orient : {None, "canonical"}, default=None
        The pose the photo is shown to the backbone in (``DeepFeatures(orient=...)``): the
        gate shares the embedding of a screening model whose deep family uses the same.
    head : tuple of (ndarray, ndarray), optional
        ImageNet classifier ``(W (d, 1000), b (1000,))`` of the backbone.
    runtime : {"float", "litert-int8"}, default="float"
        What computes the embedding: the Keras float backbone, or a lite model directory's
        int8 ``.tflite`` backbone (:data:`LITE_RUNTIME`).
    tflite_file, tflite_sha256 : str, optional
        The int8 backbone (relative to the model directory) and its sha256, for
        ``runtime="litert-int8"``.
    cascade : dict, optional
        The two-signal rule for mild distance exceedances (needs ``head``): ``strict_rate``,
        ``strict_threshold`` (beyond it a photo is refused outright), ``confidence_rate``,
        ``confidence_threshold`` (between the embedding's threshold and the strict one, a photo
        is refused only when the head's top-class probability exceeds it) and
        ``calibration_confidence`` (the training photos' top-class probabilities, an array).
        ``None``: every score above the threshold is refused.
    agreement : AgreementRule, optional
        The opt-in agreement rule (:class:`poxscan.pipelines.gate.AgreementRule`, fitted by
        ``fit_input_gate(agreement=...)``): the distance verdict is its ``refuses``, which needs
        each photo's second-backbone embedding and :func:`colour_features` as well. Not saved
        (:meth:`save` refuses such a gate); ``None`` (default): the plain threshold.
    """

    def __init__(
        self,
        embedding: ReferenceScorer | None = None,
        backbone: str = "efficientnet-lite0",
        head: tuple[np.ndarray, np.ndarray] | None = None,
        runtime: str = "float",
        tflite_file: str | None = None,
        tflite_sha256: str | None = None,
        orient: str | None = None,
        cascade: Mapping[str, Any] | None = None,
        agreement: Any = None,
    ) -> None:
        if cascade is not None and agreement is not None:
            raise ValueError("a gate has the two-signal cascade or the agreement rule, not both")
        if cascade is not None and head is None:
            raise ValueError("the two-signal cascade needs the backbone's ImageNet head")
        if runtime not in ("float", LITE_RUNTIME):
            raise ValueError(f"unknown gate runtime {runtime!r}; use 'float' or {LITE_RUNTIME!r}")
        if runtime == LITE_RUNTIME and not tflite_sha256:
            raise ValueError("a lite gate needs the sha256 of its int8 backbone")
        self.embedding = embedding
        self.backbone = backbone
        self.orient = orient
        self.head = head
        # The head is stored in float16 (half the download); converted once here, not for
        # every photo (1.3 M weights: a few milliseconds each time).
        self._head64 = None if head is None else tuple(np.asarray(a, np.float64) for a in head)
        self.runtime = runtime
        self.tflite_file = tflite_file
        self.tflite_sha256 = tflite_sha256
        self.cascade = None if cascade is None else dict(cascade)
        self.agreement = agreement

    @property
    def needs_embedding(self) -> bool:
        """Whether :meth:`check` needs the image's embedding."""
        return self.embedding is not None

    def describe(self) -> dict[str, Any]:
        """The manifest's ``"gate"`` entry (JSON-able)."""
        from poxscan.core.image_checks import CHECKS, MIN_SIDE

        out: dict[str, Any] = {
            "pixel_checks": list(CHECKS),
            "min_side": MIN_SIDE,
            "embedding": None,
        }
        if self.embedding is not None:
            e = self.embedding
            out["embedding"] = {
                "backbone": self.backbone,
                "orient": self.orient,
                "score": f"mean cosine distance to the {e.n_neighbors} nearest training photos",
                "n_neighbors": int(e.n_neighbors),
                "cv": int(e.cv),
                "n_reference": len(e.reference_),
                "threshold": float(e.threshold_),
                "refuse_rate": float(e.refuse_rate),
                "calibration": f"split-conformal quantile of out-of-fold scores ({e.cv} grouped "
                "folds: each fold scored against the other folds' photos)",
                "oof_refused": float(np.mean(e.oof_scores_ > e.threshold_)),
                "n_calibration": len(e.oof_scores_),
                "imagenet_head": self.head is not None,
                "runtime": self.runtime,
            }
            if self.cascade is not None:
                c = self.cascade
                conf = np.asarray(c["calibration_confidence"], np.float64)
                refused = cascade_refuses(e.oof_scores_, conf, e.threshold_, c)
                out["embedding"]["oof_refused"] = float(np.mean(refused))
                out["embedding"]["cascade"] = {
                    "rule": "refused outright above strict_threshold; between threshold and "
                    "strict_threshold only when the ImageNet head's top-class probability "
                    "exceeds confidence_threshold",
                    "strict_rate": float(c["strict_rate"]),
                    "strict_threshold": float(c["strict_threshold"]),
                    "confidence_rate": float(c["confidence_rate"]),
                    "confidence_threshold": float(c["confidence_threshold"]),
                    "calibration": "split-conformal points: the strict one of the out-of-fold "
                    "distances, the confidence one of the training photos' top-class "
                    "probabilities",
                    "oof_refused_without_cascade": float(np.mean(e.oof_scores_ > e.threshold_)),
                }
            if self.agreement is not None:
                a = self.agreement
                out["embedding"]["agreement"] = {
                    "rule": "refused above strict_threshold; above threshold only when the "
                    "second backbone's kNN distance exceeds mild_threshold; anywhere when it "
                    "exceeds low_threshold and the colour distance colour_threshold",
                    "second_backbone": a.backbone,
                    "second_neighbors": int(a.n_neighbors),
                    **{
                        k: float(getattr(a, k + "_"))
                        for k in (
                            "strict_threshold",
                            "mild_threshold",
                            "low_threshold",
                            "colour_threshold",
                        )
                    },
                    "colour_features": list(COLOUR_FEATURES),
                }
            if self.runtime == LITE_RUNTIME:
                out["embedding"].update(
                    tflite_file=self.tflite_file,
                    tflite_sha256=self.tflite_sha256,
                    what="int8 embeddings of the lite model's own backbone (LiteRT), for the "
                    "reference photos and for every photo checked",
                )
        return out

    def check(
        self,
        image: np.ndarray,
        embedding: np.ndarray | None = None,
        second: np.ndarray | None = None,
    ) -> GateFinding:
        """The verdict for one decoded RGB image (and its embedding, when the gate uses one;
        with the agreement rule also its ``second``-backbone embedding).

        Raises
        ------
        ValueError
            The gate needs an embedding and none was given.
        """
        finding = check_pixels(image)
        if not finding.screenable or self.embedding is None:
            return finding
        colour = colour_features(image) if self.agreement is not None else None
        return self.check_embedding(embedding, finding.checks, second, colour)

    def check_embedding(
        self,
        embedding: np.ndarray | None,
        checks: Mapping[str, Any] | None = None,
        second: np.ndarray | None = None,
        colour: np.ndarray | None = None,
    ) -> GateFinding:
        """The embedding stage alone (after the pixel checks passed); ``second`` and
        ``colour`` (:func:`colour_features`) only for the agreement rule."""
        checks = dict(checks or {})
        if self.embedding is None:
            return GateFinding(True, "ok", "", "", checks)
        if embedding is None:
            raise ValueError(f"this gate needs the image's {self.backbone} embedding")
        e = np.asarray(embedding, dtype=np.float64).reshape(1, -1)
        score = float(self.embedding.score(e)[0])
        threshold = float(self.embedding.threshold_)
        checks.update({"distance": score, "distance_threshold": threshold})
        far = score > threshold
        if self.agreement is not None:
            if second is None or colour is None:
                raise ValueError(
                    f"this gate's agreement rule needs the image's {self.agreement.backbone} "
                    "embedding and colour features"
                )
            a = self.agreement
            s2, c = (float(v[0]) for v in a.scores(second, colour))
            checks.update(
                {
                    "second_distance": s2,
                    "colour_distance": c,
                    "distance_strict_threshold": float(a.strict_threshold_),
                }
            )
            far = bool(a.refuses(score, threshold, second, colour)[0])
        if self.head is not None:
            p = head_probabilities(e, self._head64)
            top = int(np.argmax(p))
            screen = float(p[0, list(SCREEN_CLASSES)].sum())
            checks.update(
                {
                    "imagenet_top": top,
                    "imagenet_top_probability": float(p[0, top]),
                    "imagenet_screen_probability": screen,
                }
            )
            if self.cascade is not None:
                c = self.cascade
                checks.update(
                    {
                        "distance_strict_threshold": float(c["strict_threshold"]),
                        "imagenet_confidence_threshold": float(c["confidence_threshold"]),
                    }
                )
                far = bool(cascade_refuses(score, float(p[0, top]), threshold, c))
            if screen >= SCREEN_PROBABILITY or (score > threshold and top in SCREEN_CLASSES):
                return reason("collage", checks)
        if far:
            return reason("not_skin", checks)
        return GateFinding(True, "ok", "", "", checks)

    # -- persistence -------------------------------------------------------------------------
    def save(self, folder: str | PathLike) -> Path | None:
        """Write ``gate.npz`` (arrays only) into ``folder``; ``None`` when there is nothing."""
        from poxscan.core.atomic import atomic_path

        if self.embedding is None:
            return None
        if self.agreement is not None:
            raise NotImplementedError(
                "the agreement rule is an opt-in measured in experiments/bench_gate.py; a gate "
                "with it is not saved"
            )
        e = self.embedding
        arrays = {
            "reference": np.asarray(e.reference_, dtype=np.float32),
            "oof_scores": np.asarray(e.oof_scores_, dtype=np.float64),
        }
        if self.head is not None:
            arrays["head_w"] = np.asarray(self.head[0], dtype=np.float16)
            arrays["head_b"] = np.asarray(self.head[1], dtype=np.float32)
        if self.cascade is not None:
            arrays["calibration_confidence"] = np.asarray(
                self.cascade["calibration_confidence"], dtype=np.float64
            )
        target = Path(folder) / GATE_FILE
        with atomic_path(target, suffix=".npz") as path, open(path, "wb") as handle:
            np.savez_compressed(handle, **arrays)
        return target


def _lite_backbone(model_dir: str | PathLike) -> Mapping[str, Any] | None:
    """The deep backbone entry of a lite model directory's manifest (``None`` elsewhere)."""
    import json

    from poxscan.pipelines.model_dir import MANIFEST_NAME

    path = Path(model_dir) / MANIFEST_NAME
    if not path.is_file():
        return None
    manifest = json.loads(path.read_text(encoding="utf-8"))
    return ((manifest.get("runtime") or {}).get("backbones") or {}).get("deep")


def load_gate(
    model_dir: str | PathLike, entry: Mapping[str, Any] | None, data: bytes | None = None
) -> InputGate:
    """The gate of a model directory from its manifest entry (``gate.npz`` already verified).

    A directory without a ``"gate"`` entry (saved before the gate existed, or with
    ``--gate pixels``) gets the pixel checks only.

    Raises
    ------
    ValueError
        A lite gate whose int8 backbone is not the model directory's own (its sha256 differs
        from the manifest's runtime entry).
    """
    emb = (entry or {}).get("embedding")
    if not emb:
        return InputGate(None)
    runtime = str(emb.get("runtime", "float"))
    if runtime == LITE_RUNTIME:
        backbone = _lite_backbone(model_dir)
        if backbone is None or backbone.get("sha256") != emb.get("tflite_sha256"):
            raise ValueError(
                f"{model_dir}: the input gate was fitted on the embeddings of the int8 backbone "
                f"{emb.get('tflite_sha256')}, which is not this model directory's backbone "
                f"({(backbone or {}).get('sha256')}); refusing the gate"
            )
    # ``data``: the verified bytes of gate.npz (parsed as they were hashed), else the file.
    source = Path(model_dir) / GATE_FILE if data is None else io.BytesIO(data)
    with np.load(source, allow_pickle=False) as data:
        gate = FittedEmbedding(
            n_neighbors=int(emb.get("n_neighbors", 5)),
            refuse_rate=float(emb["refuse_rate"]),
            cv=int(emb.get("cv", 5)),
        )
        gate.reference_ = data["reference"].astype(np.float32).astype(np.float64)
        gate.oof_scores_ = data["oof_scores"].astype(np.float64)
        gate.threshold_ = float(emb["threshold"])
        head = None
        if "head_w" in data:
            head = (data["head_w"].astype(np.float32), data["head_b"].astype(np.float32))
        cascade = None
        if emb.get("cascade"):
            if "calibration_confidence" not in data:
                raise ValueError(f"{model_dir}: the gate's cascade has no calibration scores")
            cascade = {
                **{k: float(emb["cascade"][k]) for k in _CASCADE_KEYS},
                "calibration_confidence": data["calibration_confidence"].astype(np.float64),
            }
    return InputGate(
        gate,
        backbone=str(emb["backbone"]),
        head=head,
        runtime=runtime,
        tflite_file=emb.get("tflite_file"),
        tflite_sha256=emb.get("tflite_sha256"),
        orient=emb.get("orient"),
        cascade=cascade,
    )


_CASCADE_KEYS = ("strict_rate", "strict_threshold", "confidence_rate", "confidence_threshold")
