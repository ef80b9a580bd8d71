"""The classifier head of a lite model as plain numbers, for the on-device (browser) page.

The page runs the int8 backbone itself (LiteRT.js, the same ``.tflite`` file) and needs the
rest of the model, from the 1280 deep features to the decision, in a form JavaScript can
evaluate without scikit-learn. For a deep-only model whose feature pipeline is affine up to a
logistic link (scaler -> column selector -> logistic regression, as the reference pipeline is)
that is

- ``margin = w . features + b`` (the composed affine map, read off by probing the fitted
  pipeline and checked on random rows),
- ``score = 1 / (1 + exp(-margin))`` (``predict_proba[:, 1]``, checked too),
- ``probability = calibration(score)``: the fitted calibrator tabulated on a grid of scores
  (linear interpolation; tabulation error reported),
- mpox when ``probability >= threshold``.

:func:`browser_head` refuses a model it cannot express this way (other families, a
non-linear classifier) with a message saying why.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from poxscan.pipelines.image_model import ImageModel, positive_margin, positive_scores

__all__ = ["GRID", "browser_head"]

#: Scores at which the calibrator is tabulated.
GRID = 4097


def browser_head(model: ImageModel, seed: int = 0) -> dict[str, Any]:
    """Weights, bias, calibration table and threshold of a deep-only, linear lite model.

    Parameters
    ----------
    model : ImageModel
        A fitted lite model (its deep extractor a LiteDeepFeatures) with the deep family only.

    Returns
    -------
    dict
        JSON-able: ``weights`` (list of 1280), ``bias``, ``calibration`` (``scores``,
        ``probabilities``), ``threshold``, ``feature_names`` and the checks' errors.

    Raises
    ------
    ValueError
        Another family than deep, or a pipeline that is not affine + logistic.
    """
    families = list(model.extractors_)
    if families != ["deep"]:
        raise ValueError(
            f"the on-device page computes deep features only; this model also uses "
            f"{[f for f in families if f != 'deep']} (train it with --family deep)"
        )
    if type(model.extractors_["deep"]).__name__ != "LiteDeepFeatures":
        raise ValueError("the on-device page needs a lite model (poxscan train --runtime ...)")
    names = [str(n) for n in model.feature_names_]
    m = len(names)
    probe = np.vstack([np.zeros((1, m)), np.eye(m)])

    def margin(rows: np.ndarray) -> np.ndarray:
        # The classifier's own log-odds where it has them (LDA's probabilities round to 0 or
        # 1 on the unit probes, their logit would not be affine).
        return positive_margin(model.pipeline_, pd.DataFrame(rows, columns=names))

    values = margin(probe)
    bias = float(values[0])
    weights = values[1:] - bias
    rng = np.random.default_rng(seed)
    # Deep features are pooled activations: non-negative, mostly below a few units.
    check = rng.gamma(1.0, 0.5, size=(64, m))
    logits = check @ weights + bias
    err = float(np.max(np.abs(margin(check) - logits)))
    score = 1 / (1 + np.exp(-logits))
    direct = positive_scores(model.pipeline_, pd.DataFrame(check, columns=names))
    score_err = float(np.max(np.abs(score - direct)))
    if not (err < 1e-6 * max(1.0, float(np.max(np.abs(logits)))) or score_err < 1e-9):
        raise ValueError(
            "the model's pipeline is not affine with a logistic output (max error "
            f"{err:.3g} in log-odds); the on-device page needs a linear classifier "
            "(e.g. --classifier logreg)"
        )
    grid = np.linspace(0.0, 1.0, GRID)
    table = model.calibrator_.predict(grid)
    fine = np.linspace(0.0, 1.0, 64 * GRID + 1)
    exact = model.calibrator_.predict(fine)
    interp_err = float(np.max(np.abs(np.interp(fine, grid, table) - exact)))
    return {
        "feature_names": names,
        "weights": [float(w) for w in weights],
        "bias": bias,
        "score": "1 / (1 + exp(-(weights . features + bias)))",
        "calibration": {
            "method": model.calibrator_.describe().get("method"),
            "scores": [float(s) for s in grid],
            "probabilities": [float(p) for p in table],
            "interpolation": "linear",
        },
        "threshold": float(model.threshold_),
        # How the page poses the photo before the backbone (poxscan.features.orientation).
        "orient": getattr(model.extractors_["deep"], "orient", None),
        "checks": {
            "affine_max_abs_error_log_odds": err,
            "score_max_abs_error": score_err,
            "calibration_table_max_abs_error": interp_err,
        },
    }
