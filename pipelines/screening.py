"""The screening operating point of a trained model: its threshold's uncertainty, per dataset.

A screen is set for sensitivity: the shipped threshold is the highest one whose out-of-fold
sensitivity reaches the target (0.90 by default,
:class:`~poxscan.pipelines.calibration.ThresholdRule`). :func:`screening_summary` says how well
that choice is pinned down and what to expect from it:

- a 95 % **group-bootstrap interval of the threshold** (whole groups resampled; the rule
  re-applied to the resampled calibrated out-of-fold probabilities), and
- the **cross-fitted** sensitivity and specificity at the rule, overall and **per source
  dataset** (each fold's calibrator and threshold fitted on the other folds, as
  :func:`~poxscan.pipelines.training.oof_metrics` measures them), with group-bootstrap
  intervals.

Photos from a new camera, clinic or population may shift both figures; the model card says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from poxscan.pipelines.calibration import ThresholdRule, choose_threshold

__all__ = ["dataset_of", "screening_summary", "threshold_interval"]


def dataset_of(ids: pd.Series | list[str]) -> np.ndarray:
    """Source dataset of record ids ``"<dataset>/<relpath>"`` (``"all"`` without a slash)."""
    return np.asarray([i.split("/", 1)[0] if "/" in i else "all" for i in map(str, ids)])


def threshold_interval(
    y: np.ndarray,
    proba: np.ndarray,
    groups: np.ndarray,
    rule: ThresholdRule | str,
    n_boot: int = 1000,
    seed: int = 0,
) -> tuple[float, float, float]:
    """Threshold of ``rule`` on ``proba`` and its 95 % group-bootstrap interval.

    Draws with one class only are skipped.
    """
    y = np.asarray(y).astype(int)
    proba = np.asarray(proba, dtype=np.float64)
    groups = np.asarray(groups)
    value = choose_threshold(y, proba, rule)
    uniq, inverse = np.unique(groups, return_inverse=True)
    members = [np.flatnonzero(inverse == g) for g in range(len(uniq))]
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(int(n_boot)):
        idx = np.concatenate([members[g] for g in rng.integers(0, len(uniq), len(uniq))])
        if 0 < y[idx].sum() < len(idx):
            draws.append(choose_threshold(y[idx], proba[idx], rule))
    if not draws:
        return value, float("nan"), float("nan")
    low, high = np.percentile(draws, [2.5, 97.5])
    return value, float(low), float(high)


def screening_summary(
    oof: pd.DataFrame,
    calibrated: np.ndarray,
    rule: ThresholdRule | str | None,
    n_boot: int = 1000,
    seed: int = 0,
    tones: Sequence[float] | None = None,
) -> dict[str, Any]:
    """Threshold interval and per-dataset sensitivity / specificity of a trained model.

    Parameters
    ----------
    oof : DataFrame
        The out-of-fold table of :func:`~poxscan.pipelines.training.train_model` (``id``,
        ``y``, ``group``, ``fold``, ``score``, cross-fitted ``proba`` and ``decision``).
    calibrated : ndarray
        The final calibrator's probabilities of the out-of-fold scores (what the shipped
        threshold was chosen on).
    rule : ThresholdRule, str or None
        The threshold rule (``None``: a fixed threshold, no interval).
    n_boot, seed : int
        Group-bootstrap draws and seed.
    tones : sequence of float, optional
        The skin tone (:func:`poxscan.core.skin_tone.ita_degrees`) of each row's photo: adds
        ``per_tone``, the same figures per band of :data:`~poxscan.core.skin_tone.TONE_BANDS`.

    Returns
    -------
    dict
        ``rule``, ``threshold`` (``value``, ``ci95``) and ``per_dataset``: dataset ->
        ``n_images``, ``n_mpox`` and the cross-fitted metrics of
        :func:`~poxscan.pipelines.training.oof_metrics` (sensitivity, specificity, ROC AUC,
        ... with 95 % intervals); with ``tones``, ``per_tone`` likewise (a band with one class
        only is left out, as a dataset is).
    """
    from poxscan.pipelines.training import oof_metrics

    y = oof["y"].to_numpy(int)
    groups = oof["group"].to_numpy(str)
    out: dict[str, Any] = {"rule": str(rule) if rule is not None else "fixed"}
    if rule is not None:
        value, low, high = threshold_interval(y, calibrated, groups, rule, n_boot, seed)
        out["threshold"] = {"value": value, "ci95": [low, high]}

    def per_part(labels: np.ndarray, names: Sequence[str]) -> dict[str, Any]:
        per = {}
        for name in names:
            part = oof[labels == name]
            if part["y"].nunique() < 2:
                continue  # one class only: sensitivity or specificity is undefined
            per[name] = {
                "n_images": len(part),
                "n_mpox": int(part["y"].sum()),
                "metrics": oof_metrics(part, n_boot=n_boot, seed=seed),
            }
        return per

    datasets = dataset_of(oof["id"])
    out["per_dataset"] = per_part(datasets, sorted(set(datasets)))
    if tones is not None:
        from poxscan.core.skin_tone import TONE_BANDS, tone_band

        if len(tones) != len(oof):
            raise ValueError(f"{len(tones)} tones for {len(oof)} out-of-fold rows")
        bands = np.array([tone_band(float(t)) for t in tones])
        out["per_tone"] = per_part(bands, [name for name, _ in TONE_BANDS])
    return out
