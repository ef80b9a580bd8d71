"""Write a lite model's affine head (``head.npz``) when, and only when, it reproduces the model.

:func:`build_head` reads the numbers of :class:`~poxscan.pipelines.lite_head.LinearHead` off a
fitted :class:`~poxscan.pipelines.image_model.ImageModel`:

- the explanation space and its map from the deep features, by probing the steps the explainer
  keeps names through (``z = scale * x[index] + offset``), checked on probe rows;
- the margin's weights on it: the explainer's own composed linear model
  (:meth:`~poxscan.pipelines.explain.ModelExplainer._linear`), so contributions are the very
  ones it reports;
- the calibrator's parameters and the threshold, as fitted.

It then compares the head with the joblib pipeline on probe rows (random non-negative rows like
pooled activations, and real feature rows when given): probabilities within ``1e-6``,
explanation-space values and contributions within round-off; otherwise it raises and no head is
written (the directory is then predicted through the joblib pipeline, as before).
"""

from __future__ import annotations

from collections.abc import Mapping
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from poxscan.pipelines.image_model import ImageModel
from poxscan.pipelines.lite_head import HEAD_FILE, HEAD_FORMAT, LinearHead

__all__ = ["PROBABILITY_TOLERANCE", "build_head", "write_head"]

#: Largest difference of calibrated probability allowed between the head and the pipeline.
PROBABILITY_TOLERANCE = 1e-6


def _probe_rows(m: int, rows: np.ndarray | None, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    # Pooled activations: non-negative, mostly below a few units (as browser_head probes).
    probes = rng.gamma(1.0, 0.5, size=(64, m))
    if rows is not None and len(rows):
        probes = np.vstack([np.asarray(rows, dtype=np.float64)[:64], probes])
    return probes


def build_head(
    model: ImageModel,
    background: np.ndarray | None = None,
    rows: np.ndarray | None = None,
    seed: int = 0,
) -> tuple[LinearHead, dict[str, float]]:
    """The model's affine head and the largest differences found when checking it.

    Parameters
    ----------
    model : ImageModel
        A fitted lite model: the deep family only, its extractor a ``LiteDeepFeatures``.
    background : ndarray, optional
        The explainer's background (``shap/background.npz``'s ``X``); without it the head
        predicts but does not explain.
    rows : ndarray, optional
        Real deep feature rows to check the head on, besides random ones.

    Raises
    ------
    ValueError
        Another family, another extractor, a step that is not affine, a non-linear classifier,
        or a head that does not reproduce the pipeline.
    """
    from poxscan.pipelines.explain import ModelExplainer, _apply

    if list(model.extractors_) != ["deep"]:
        raise ValueError(f"the affine head needs deep features only, not {list(model.extractors_)}")
    extractor = model.extractors_["deep"]
    if type(extractor).__name__ != "LiteDeepFeatures":
        raise ValueError("the affine head needs a lite model (int8 backbone)")
    names = [str(n) for n in model.feature_names_]
    m = len(names)
    pre, head_steps, clf, space_names = ModelExplainer._split(model)
    index = np.asarray([names.index(str(n)) for n in space_names], dtype=np.int64)

    def space(X: np.ndarray) -> np.ndarray:
        return np.asarray(_apply(pre, model._align(pd.DataFrame(X, columns=names))), np.float64)

    offset = space(np.zeros((1, m)))[0]
    scale = space(np.ones((1, m)))[0] - offset
    probes = _probe_rows(m, rows, seed)
    Z = space(probes)
    z_err = float(np.max(np.abs(Z - (probes[:, index] * scale + offset))))
    if not z_err <= 1e-9 * (1.0 + float(np.max(np.abs(Z)))):
        raise ValueError(
            "the steps before the classifier are not one affine map per feature "
            f"(error {z_err:.3g})"
        )
    linear = ModelExplainer._linear(head_steps, clf, Z)
    if linear is None:
        raise ValueError(
            f"the classifier ({type(clf).__name__}) is not linear behind affine steps; "
            "the joblib pipeline predicts this model"
        )
    coef, intercept = linear
    explainer = None
    if background is not None:
        explainer = ModelExplainer.from_background(model, background, space_names)
        if explainer.method != "linear":
            raise ValueError(f"the model's explainer is {explainer.method}, not linear")
        coef, intercept = explainer.coef, explainer.intercept
    calibrator = model.calibrator_
    method = str(calibrator.method)
    if method == "sigmoid":
        params = np.asarray([calibrator.slope_, calibrator.intercept_], dtype=np.float64)
    elif method == "isotonic":
        iso = calibrator.isotonic_
        params = np.vstack([iso.X_thresholds_, iso.y_thresholds_]).astype(np.float64)
    elif method == "none":
        params = np.zeros(0)
    else:
        raise ValueError(f"unknown calibration {method!r}")
    head = LinearHead(
        feature_index=index,
        scale=scale,
        offset=offset,
        coef=np.asarray(coef, dtype=np.float64),
        intercept=float(intercept),
        feature_names=[str(n) for n in space_names],
        calibration=method,
        calibration_params=params,
        threshold=float(model.threshold_),
        n_features=m,
        output="log-odds" if type(clf).__name__.startswith("LogisticRegression") else "margin",
        background_mean=None if explainer is None else explainer.background.mean(axis=0),
        families=list(model.families_),
        tflite_sha256=str(extractor.tflite_sha256),
    )
    if explainer is not None and head.output != explainer.output:
        raise ValueError(f"explainer output {explainer.output} differs from {head.output}")
    table = pd.DataFrame(probes.astype(np.float32).astype(np.float64), columns=names)
    x = table.to_numpy()
    want = model.predict_proba_features(table)[:, 1]
    got = head.predict_proba(x)
    checks = {
        "n_probe_rows": len(x),
        "space_max_abs_error": z_err,
        "probability_max_abs_error": float(np.max(np.abs(got - want))),
        "raw_score_max_abs_error": float(
            np.max(np.abs(head.raw_scores(head.space(x)) - model.raw_scores_features(table)))
        ),
    }
    if not checks["probability_max_abs_error"] <= PROBABILITY_TOLERANCE:
        raise ValueError(
            "the affine head does not reproduce the pipeline's probabilities (max error "
            f"{checks['probability_max_abs_error']:.3g} > {PROBABILITY_TOLERANCE})"
        )
    if explainer is not None:
        values = explainer.explain(table).values
        err = float(np.max(np.abs(head.contributions(head.space(x)) - values)))
        checks["contribution_max_abs_error"] = err
        if not err <= 1e-9 * (1.0 + float(np.max(np.abs(values)))):
            raise ValueError(f"the head's contributions differ from the explainer's ({err:.3g})")
    return head, checks


def write_head(
    model: ImageModel,
    folder: str | PathLike,
    rows: np.ndarray | None = None,
    backbone: str | None = None,
) -> Mapping[str, Any]:
    """Write ``head.npz`` into a staged lite model directory, if the model is affine.

    The background of the explanations is read from the folder's ``shap/background.npz``.

    Returns
    -------
    dict
        The manifest's ``"head"`` entry: ``file``, ``format``, the backbone and the checks'
        errors; or ``{"file": None, "reason": ...}`` when the model has no affine head.
    """
    from poxscan.core.atomic import atomic_write_bytes

    folder = Path(folder)
    background = None
    path = folder / "shap" / "background.npz"
    if path.is_file():
        with np.load(path, allow_pickle=False) as data:
            background = np.asarray(data["X"], dtype=np.float64)
    try:
        head, checks = build_head(model, background, rows)
    except ValueError as exc:
        return {"file": None, "reason": str(exc)}
    atomic_write_bytes(folder / HEAD_FILE, head.to_bytes())
    extractor = model.extractors_["deep"]
    return {
        "file": HEAD_FILE,
        "format": HEAD_FORMAT,
        "what": "the pipeline after the deep features as plain numbers (affine map, linear "
        "classifier, calibrator, threshold, explainer background mean): prediction without "
        "scikit-learn; model.joblib stays the source of truth",
        "backbone": backbone or str(extractor.backbone),
        # How each photo is posed before the backbone (None: as it is).
        "orient": getattr(extractor, "orient", None),
        "tflite_sha256": head.tflite_sha256,
        "n_space_features": len(head.coef),
        "explains": head.background_mean is not None,
        "checks": checks,
    }
