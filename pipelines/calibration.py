"""Turn a classifier's scores into calibrated probabilities, and pick a decision threshold.

Both are fitted on **out-of-fold** scores of a grouped cross-validation, never on scores of the
images a model was trained on (those are overconfident). :class:`ScoreCalibrator` maps the
uncalibrated probability of the positive class to a calibrated one, either with Platt scaling
(a logistic regression on the score's log-odds, ``"sigmoid"``) or isotonic regression
(``"isotonic"``); both are monotone, so they never reorder images and the ROC AUC is unchanged.
:func:`choose_threshold` picks the cut-off on calibrated probabilities by Youden's J (the
point of the ROC curve farthest above the diagonal) or by a target sensitivity, which suits
screening where a missed case costs more than a false alarm.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.utils.validation import check_is_fitted

__all__ = ["CALIBRATION_METHODS", "ScoreCalibrator", "ThresholdRule", "choose_threshold", "logit"]

CALIBRATION_METHODS = ("sigmoid", "isotonic", "none")
#: Scores are clipped to [tiny, largest double below 1] before the logit, so 0 and 1 stay
#: finite and no two distinct scores are merged.
_LOW, _HIGH = 1e-300, 1 - 2**-53
#: Platt's two parameters are fitted on log-odds clipped to +-logit(1 - 1e-6): a handful of
#: scores of exactly 0 or 1 (trees, saturated heads) must not steer the fit. Prediction is not
#: clipped there: an earlier clip at 1e-6 tied every score below it, an overconfident head
#: (shrinkage LDA) put over a tenth of a training set's mpox photos on that tie, and a
#: sensitivity threshold then had to call every photo mpox.
_FIT_CLIP = float(np.log((1 - 1e-6) / 1e-6))


def logit(p: np.ndarray) -> np.ndarray:
    """Log-odds of scores in [0, 1], finite at 0 and 1 and without merging distinct scores."""
    p = np.clip(np.asarray(p, dtype=np.float64), _LOW, _HIGH)
    return np.log(p) - np.log1p(-p)


class ScoreCalibrator(BaseEstimator):
    """Monotone map from an uncalibrated positive-class score in [0, 1] to a probability.

    Parameters
    ----------
    method : {"sigmoid", "isotonic", "none"}, default="sigmoid"
        ``"sigmoid"``: Platt scaling, ``p = 1 / (1 + exp(-(a * logit(s) + b)))`` with ``a, b``
        fitted by (almost unpenalised) logistic regression. Two parameters, so it suits small
        data sets. ``"isotonic"``: a non-decreasing step function; more flexible, needs more
        data. ``"none"``: the score itself.

    Attributes
    ----------
    slope_, intercept_ : float
        Platt parameters (``"sigmoid"`` only).
    isotonic_ : IsotonicRegression
        The fitted step function (``"isotonic"`` only).
    """

    def __init__(self, method: str = "sigmoid") -> None:
        self.method = method

    def fit(self, scores: np.ndarray, y: np.ndarray) -> ScoreCalibrator:
        """Fit the map on out-of-fold scores ``scores`` and binary labels ``y``."""
        if self.method not in CALIBRATION_METHODS:
            raise ValueError(
                f"unknown calibration method {self.method!r}; choose from {CALIBRATION_METHODS}"
            )
        scores = np.asarray(scores, dtype=np.float64).ravel()
        y = np.asarray(y).ravel().astype(int)
        if scores.shape != y.shape:
            raise ValueError(f"{scores.size} scores but {y.size} labels")
        if set(np.unique(y)) != {0, 1}:
            raise ValueError("calibration needs both classes among the labels")
        if self.method == "sigmoid":
            # C large = essentially unpenalised maximum likelihood, as in Platt (1999).
            lr = LogisticRegression(C=1e6, max_iter=1000)
            lr.fit(np.clip(logit(scores), -_FIT_CLIP, _FIT_CLIP)[:, None], y)
            self.slope_ = float(lr.coef_[0, 0])
            self.intercept_ = float(lr.intercept_[0])
            if self.slope_ <= 0:
                # A non-positive slope would reverse the ranking: the scores carry no signal.
                raise ValueError(
                    "Platt scaling found a non-positive slope: the out-of-fold scores do not "
                    "rank the classes; the model is not usable"
                )
        elif self.method == "isotonic":
            self.isotonic_ = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
            self.isotonic_.fit(scores, y)
        self.fitted_ = True
        return self

    def predict(self, scores: np.ndarray) -> np.ndarray:
        """Calibrated probabilities of the positive class."""
        check_is_fitted(self, "fitted_")
        scores = np.asarray(scores, dtype=np.float64).ravel()
        if self.method == "sigmoid":
            z = self.slope_ * logit(scores) + self.intercept_
            return 1.0 / (1.0 + np.exp(-z))
        if self.method == "isotonic":
            return self.isotonic_.predict(scores)
        return scores.copy()

    def describe(self) -> dict:
        """The fitted map in words and numbers, for the manifest and the model card."""
        check_is_fitted(self, "fitted_")
        if self.method == "sigmoid":
            return {
                "method": "sigmoid",
                "description": "Platt scaling of the out-of-fold score's log-odds",
                "slope": self.slope_,
                "intercept": self.intercept_,
            }
        if self.method == "isotonic":
            return {
                "method": "isotonic",
                "description": "isotonic regression on out-of-fold scores",
                "n_steps": len(self.isotonic_.X_thresholds_),
            }
        return {"method": "none", "description": "uncalibrated classifier score"}


@dataclass(frozen=True)
class ThresholdRule:
    """How the decision threshold is chosen.

    Parameters
    ----------
    kind : {"youden", "sensitivity"}
        ``"youden"`` maximises sensitivity + specificity - 1; ``"sensitivity"`` takes the
        highest threshold whose sensitivity is at least ``target`` (best specificity among
        those).
    target : float, optional
        The target sensitivity, for ``kind="sensitivity"``.
    """

    kind: str = "youden"
    target: float | None = None

    @classmethod
    def parse(cls, text: str) -> ThresholdRule:
        """Read ``"youden"`` or ``"sensitivity:0.90"``."""
        text = text.strip().lower()
        if text == "youden":
            return cls("youden")
        if text.startswith("sensitivity:"):
            target = float(text.split(":", 1)[1])
            if not 0 < target <= 1:
                raise ValueError(f"target sensitivity must be in (0, 1], got {target}")
            return cls("sensitivity", target)
        raise ValueError(f"unknown threshold rule {text!r}; use 'youden' or 'sensitivity:0.90'")

    def __str__(self) -> str:
        return "youden" if self.kind == "youden" else f"sensitivity:{self.target:.2f}"

    def describe(self) -> str:
        """One sentence for the model card."""
        if self.kind == "youden":
            return (
                "Youden's J: the threshold maximising sensitivity + specificity - 1 on "
                "out-of-fold calibrated probabilities"
            )
        return (
            f"target sensitivity {self.target:.0%}: the highest threshold whose out-of-fold "
            "sensitivity reaches the target"
        )


def choose_threshold(y: np.ndarray, proba: np.ndarray, rule: ThresholdRule | str) -> float:
    """Decision threshold on ``proba``: an image is called positive when ``proba >= threshold``.

    Parameters
    ----------
    y : array of {0, 1}
        True labels.
    proba : array of float
        Out-of-fold (calibrated) probabilities of the positive class.
    rule : ThresholdRule or str
        See :class:`ThresholdRule`.

    Returns
    -------
    threshold : float
        Midway between the chosen score and the next lower distinct score, so that tiny
        numerical differences at prediction time do not flip the decision on the boundary.
    """
    if isinstance(rule, str):
        rule = ThresholdRule.parse(rule)
    y = np.asarray(y).ravel().astype(int)
    proba = np.asarray(proba, dtype=np.float64).ravel()
    n_pos, n_neg = int(y.sum()), int((1 - y).sum())
    if n_pos == 0 or n_neg == 0:
        raise ValueError("choosing a threshold needs both classes")
    cuts = np.unique(proba)[::-1]  # candidate thresholds, high to low
    sens = np.array([np.sum((proba >= c) & (y == 1)) / n_pos for c in cuts])
    spec = np.array([np.sum((proba < c) & (y == 0)) / n_neg for c in cuts])
    if rule.kind == "youden":
        best = int(np.argmax(sens + spec - 1))  # first (highest) cut among ties
    elif rule.kind == "sensitivity":
        ok = np.flatnonzero(sens >= float(rule.target) - 1e-12)
        best = int(ok[0])  # the highest cut reaching the target has the best specificity
    else:
        raise ValueError(f"unknown threshold rule {rule.kind!r}")
    upper = cuts[best]
    lower = cuts[best + 1] if best + 1 < len(cuts) else 0.0
    return float((upper + lower) / 2)
