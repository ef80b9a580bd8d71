"""A picture of what the model used, in about a second: class-activation maps and occlusion.

Three ways, the cheapest exact one first:

* **gradient CAM** for a classical pipeline on deep features. The deep features are the global
  average of the backbone's last feature map ``A`` (7 x 7 x 1280 for EfficientNet-Lite0), so the
  pipeline's decision ``f`` depends on location ``(i, j)`` only through ``A[i, j]``; its gradient
  ``g = df/de`` with respect to the pooled embedding weights each channel (Grad-CAM's weights:
  ``df/dA[i, j, c] = g_c / 49``), and the map is ``ReLU(sum_c g_c A[i, j, c])`` for the answer
  given (``-g`` for "not mpox"). ``g`` comes from one batched call of the fitted pipeline on
  the image's feature row with each deep column nudged (exact for linear heads, a local
  linearisation otherwise); ``A`` from one forward pass. Handcrafted features of the same
  pipeline have no location and are left out of the map (their share is in the SHAP families).
* **occlusion** for everything else (handcrafted features only, tree heads whose gradient is
  zero almost everywhere): the square the model sees is cut into a ``grid x grid`` board, each
  cell blurred out in turn, and all copies go through the model in one batch; a cell's value is
  how much hiding it lowers the answer's log-odds.
* **CAM** for the fine-tuned CNN (backbone -> global average pooling -> dropout -> dense): with
  a linear head after the pooling, Grad-CAM on the last convolutional block is exactly
  ``sum_c w_c A[i, j, c]``, one forward pass.

LIME (:mod:`poxscan.pipelines.lime_explain`) stays as the slow, model-agnostic option.
"""

from __future__ import annotations

import io
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from poxscan.core.imageio import to_square
from poxscan.features.orientation import d4_view, pose_index, undo_view

__all__ = [
    "CAPTION",
    "SaliencyMap",
    "cnn_cam",
    "deep_gradient_cam",
    "explain_image",
    "occlusion_map",
]

#: What the map is and is not, in one line (shown under it).
CAPTION = (
    "Warm colours mark the parts of the photo that pushed the model towards its answer. It "
    "shows what the model looked at, not where disease is, and it is not a diagnosis."
)
_MAPS: dict[str, Any] = {}
_LOCK = threading.Lock()


@dataclass
class SaliencyMap:
    """A heat map over the square photo the model saw.

    Attributes
    ----------
    heat : ndarray of shape (gh, gw)
        Non-negative, the largest cell 1 (all zero when nothing pushed towards the answer).
    image : ndarray of shape (s, s, 3), uint8
        The square the model saw.
    method : str
        How the map was made, in words.
    target : str
        The answer explained (``"mpox"`` or ``"not_mpox"``).
    seconds : float
        Time it took.
    caption : str
    """

    heat: np.ndarray
    image: np.ndarray
    method: str
    target: str
    seconds: float = 0.0
    caption: str = CAPTION
    details: dict[str, Any] = field(default_factory=dict)

    def overlay(self, alpha: float = 0.5) -> np.ndarray:
        """The photo with the map blended on top (RGB uint8, the photo's size)."""
        import cv2
        from matplotlib import colormaps

        side = self.image.shape[0]
        heat = cv2.resize(self.heat.astype(np.float32), (side, side), cv2.INTER_CUBIC)
        heat = np.clip(heat, 0.0, 1.0)
        colour = (colormaps["inferno"](heat)[..., :3] * 255).astype(np.float64)
        weight = (alpha * np.sqrt(heat))[..., None]  # faint where the map is weak
        out = self.image.astype(np.float64) * (1 - weight) + colour * weight
        return np.clip(out, 0, 255).astype(np.uint8)

    def png(self, alpha: float = 0.5) -> bytes:
        """:meth:`overlay` as PNG bytes."""
        from PIL import Image

        buf = io.BytesIO()
        Image.fromarray(self.overlay(alpha)).save(buf, format="PNG")
        return buf.getvalue()

    def to_dict(self) -> dict[str, Any]:
        """JSON-able summary (the map's cells, not the picture)."""
        return {
            "method": self.method,
            "target": self.target,
            "grid": list(self.heat.shape),
            "heat": np.round(self.heat, 4).tolist(),
            "seconds": round(float(self.seconds), 4),
            "caption": self.caption,
            **self.details,
        }


def _normalise(cam: np.ndarray) -> np.ndarray:
    cam = np.maximum(np.asarray(cam, dtype=np.float64), 0.0)
    top = cam.max()
    return cam / top if top > 0 else cam


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=np.float64), 1e-9, 1 - 1e-9)
    return np.log(p / (1 - p))


def _feature_map_model(backbone: str) -> Any:
    from poxscan.features.backbones import get_backbone

    spec = get_backbone(backbone)
    with _LOCK:
        model = _MAPS.get(spec.name)
        if model is None:
            model = spec.build(include_top=False, weights="imagenet", pooling=None)
            model.trainable = False
            _MAPS[spec.name] = model
    return model


def _deep_columns(model: Any) -> tuple[str, list[str]] | None:
    """Backbone and deep columns of a model whose deep features are the pooled head (of the
    photo as it is, or of its canonical pose)."""
    extractor = getattr(model, "extractors_", {}).get("deep")
    if extractor is None:
        return None
    p = extractor.get_params()
    if (p.get("layers", "head"), p.get("pooling", "avg"), int(p.get("tta", 0))) != (
        "head",
        "avg",
        0,
    ) or p.get("weights") is not None:
        return None
    from poxscan.features.backbones import get_backbone

    spec = get_backbone(p["backbone"])
    return spec.name, [f"deep__{spec.name}_{i}" for i in range(spec.feature_dim)]


def _decision_gradient(model: Any, row: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """d logit(score) / d column at the image's feature row, from one batched pipeline call."""
    base = row.iloc[[0]]
    values = base[columns].to_numpy(np.float64)[0]
    step = 1e-3 * (1.0 + np.abs(values))
    probes = pd.DataFrame(np.repeat(base.to_numpy(np.float64), len(columns) + 1, 0))
    probes.columns = base.columns
    idx = [base.columns.get_loc(c) for c in columns]
    probes.iloc[np.arange(1, len(columns) + 1), idx] += step
    # Log-odds from the classifier's own margin: an overconfident head (LDA) rounds its
    # probabilities to 0 or 1, where their logit has no gradient left.
    f = model.raw_margins_features(probes)
    return (f[1:] - f[0]) / step


def deep_gradient_cam(
    model: Any, image: np.ndarray, target: str | None = None, row: pd.DataFrame | None = None
) -> SaliencyMap | None:
    """Gradient CAM of a classical model on deep features; ``None`` when it does not apply
    (no plain deep family, or a decision flat in every deep feature, as trees often are)."""
    started = time.perf_counter()
    found = _deep_columns(model)
    if found is None:
        return None
    backbone, columns = found
    from poxscan.features.backbones import get_backbone

    spec = get_backbone(backbone)
    view = 0  # the model saw the photo as it is, or in its canonical pose: the map is made there
    if model.extractors_["deep"].get_params().get("orient") == "canonical":
        view = pose_index(np.asarray(image))
    seen = to_square(d4_view(np.asarray(image), view), spec.input_size)
    square = undo_view(seen, view)  # what the model saw, shown the way the user took it
    A = np.asarray(_feature_map_model(backbone).predict_on_batch(spec.preprocess(seen[None])))
    A = A[0].astype(np.float64)  # (h, w, channels)
    if row is None:
        row = model.extract([image])
    grad = _decision_gradient(model, row, columns)
    if not np.any(np.abs(grad) > 1e-9):
        return None
    if target is None:
        p = float(model.predict_proba_features(row)[0, 1])
        target = "mpox" if p >= model.threshold_ else "not_mpox"
    sign = 1.0 if target == "mpox" else -1.0
    cam = undo_view(A @ (sign * grad), view)  # back onto the photo as the user sees it
    return SaliencyMap(
        heat=_normalise(cam),
        image=square,
        method=f"gradient CAM on {backbone}'s last feature map ({A.shape[0]}x{A.shape[1]})",
        target=target,
        seconds=time.perf_counter() - started,
    )


def occlusion_map(
    model: Any, image: np.ndarray, target: str | None = None, grid: int = 4, size: int = 224
) -> SaliencyMap:
    """Occlusion map of any :class:`~poxscan.pipelines.image_model.ImageModel`: one batch of
    ``grid * grid + 1`` copies of the model's square, each with one cell blurred out."""
    import cv2

    started = time.perf_counter()
    square = to_square(np.asarray(image), size)
    blurred = cv2.GaussianBlur(square, (0, 0), size / 16)
    copies = [square]
    edges = np.linspace(0, size, grid + 1).astype(int)
    for r in range(grid):
        for c in range(grid):
            copy = square.copy()
            ys, xs = slice(edges[r], edges[r + 1]), slice(edges[c], edges[c + 1])
            copy[ys, xs] = blurred[ys, xs]
            copies.append(copy)
    p = model.predict_proba_features(model.extract(copies))[:, 1]
    if target is None:
        target = "mpox" if p[0] >= model.threshold_ else "not_mpox"
    sign = 1.0 if target == "mpox" else -1.0
    drop = sign * (_logit(p[:1]) - _logit(p[1:]))
    return SaliencyMap(
        heat=_normalise(drop.reshape(grid, grid)),
        image=square,
        method=f"occlusion ({grid}x{grid} cells blurred out, one batch of {len(copies)})",
        target=target,
        seconds=time.perf_counter() - started,
    )


def explain_image(
    model: Any, image: np.ndarray, target: str | None = None, row: pd.DataFrame | None = None
) -> SaliencyMap:
    """The fastest faithful map for a classical model: gradient CAM, else occlusion.

    Parameters
    ----------
    model : ImageModel
    image : ndarray
        The decoded RGB photo.
    target : {"mpox", "not_mpox"}, optional
        The answer to explain (default: the model's).
    row : DataFrame, optional
        The photo's feature row, if already extracted.
    """
    cam = deep_gradient_cam(model, image, target, row)
    return cam if cam is not None else occlusion_map(model, image, target)


def cnn_cam(cnn: Any, image: np.ndarray, target: str | None = None) -> SaliencyMap:
    """CAM (= Grad-CAM for a pooled linear head) of a :class:`FineTunedCNN` on its last
    convolutional block.

    The CNN is ``rescale -> backbone (global average pooled) -> dropout -> dense``; the map is
    the dense layer's weights applied to the backbone's last feature map at every location.
    """
    import keras

    started = time.perf_counter()
    net = cnn.model
    backbone = next(
        layer for layer in net.layers if isinstance(layer, keras.Model) and layer.layers
    )
    dense = net.layers[-1]
    last = next(layer for layer in reversed(backbone.layers) if len(layer.output.shape) == 4)
    maps = keras.Model(backbone.input, last.output)
    square = cnn.prepare([np.asarray(image)])
    x = net.get_layer("rescale")(square)
    A = np.asarray(maps(x, training=False))[0].astype(np.float64)
    w = np.asarray(dense.get_weights()[0], dtype=np.float64)[:, 0]
    bias = float(np.asarray(dense.get_weights()[1]).ravel()[0])
    p = float(cnn.predict_proba_prepared(square)[0, 1])
    # The map is exact: averaged over locations (the pooling) it gives back the CNN's logit.
    logit = float((A @ w).mean() + bias)
    if target is None:
        target = "mpox" if p >= float(cnn.threshold) else "not_mpox"
    sign = 1.0 if target == "mpox" else -1.0
    return SaliencyMap(
        heat=_normalise(A @ (sign * w)),
        image=np.asarray(square[0], dtype=np.uint8),
        method=f"CAM (Grad-CAM with a linear head) on {last.name} ({A.shape[0]}x{A.shape[1]})",
        target=target,
        seconds=time.perf_counter() - started,
        details={"probability": p, "probability_from_map": 1.0 / (1.0 + np.exp(-logit))},
    )
