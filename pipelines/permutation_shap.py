"""Permutation SHAP with an independent masker, in NumPy.

The estimator of ``shap.PermutationExplainer``, written here because shap's version
JIT-compiles with numba on first use in every process (20-40 s on this project's machine), which
a prediction cannot wait for.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["permutation_shap"]

#: Feature values (rows x columns) handed to the model at a time by permutation SHAP.
_MAX_CELLS = 20_000_000


def permutation_shap(
    f: Any,
    X: np.ndarray,
    background: np.ndarray,
    n_permutations: int = 1,
    seed: int = 0,
    max_cells: int = _MAX_CELLS,
) -> tuple[np.ndarray, float]:
    """Permutation SHAP values of ``f`` at the rows of ``X``, independent masker.

    For each row and each random permutation of the features, the permutation is walked
    forwards and backwards (antithetic sampling, as ``shap.PermutationExplainer`` does):
    features are switched from background values to the row's values one at a time, each
    coalition's output is averaged over the background rows, and each feature is credited with
    the change it caused. The values add up exactly to ``f(x) - mean(f(background))``, and
    equal the exact SHAP values when ``f`` has no interactions (a linear model, say).

    Parameters
    ----------
    f : callable
        Maps an ``(n, m)`` array to ``n`` outputs.
    X : ndarray of shape (n, m)
        Rows to explain.
    background : ndarray of shape (b, m)
        Rows whose values stand in for "feature absent".
    n_permutations : int, default=1
        Permutations per row (each walked both ways): ``2 * n_permutations * (m + 1) * b``
        evaluations of ``f`` per row.
    seed : int, default=0
        Seed of the permutations; the same seed explains the same row the same way.
    max_cells : int, default=20_000_000
        At most this many feature values (rows x features) are handed to ``f`` at a time, which
        bounds memory (about 160 MB of float64 per call).

    Returns
    -------
    values : ndarray of shape (n, m)
    base_value : float
        ``mean(f(background))``.
    """
    X = np.atleast_2d(np.asarray(X, dtype=np.float64))
    background = np.asarray(background, dtype=np.float64)
    n, m = X.shape
    b = len(background)
    base = float(np.mean(f(background)))
    values = np.zeros((n, m))
    steps_per_call = max(1, int(max_cells) // max(b * m, 1))
    tri = np.tri(m + 1, m, k=-1, dtype=bool)  # row s: the first s features of the walk are on
    for i in range(n):
        rng = np.random.default_rng(seed)  # same permutations for every row: reproducible
        x = X[i]
        for _ in range(int(n_permutations)):
            order = rng.permutation(m)
            for walk in (order, order[::-1]):
                on = np.zeros((m + 1, m), dtype=bool)
                on[:, walk] = tri
                outputs = np.empty(m + 1)
                for start in range(0, m + 1, steps_per_call):
                    masks = on[start : start + steps_per_call]
                    rows = np.where(masks[:, None, :], x[None, None, :], background[None])
                    out = np.asarray(f(rows.reshape(-1, m)), dtype=np.float64)
                    outputs[start : start + len(masks)] = out.reshape(len(masks), b).mean(axis=1)
                values[i, walk] += np.diff(outputs)
        values[i] /= 2 * int(n_permutations)
    return values, base
