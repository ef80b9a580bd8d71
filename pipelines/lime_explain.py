"""LIME explanations of single predictions: which superpixels of the photo drove the answer.

LIME (Ribeiro et al. 2016, the ``lime`` package's ``lime_image``) cuts the image into
superpixels (SLIC by default, or quickshift, from scikit-image), asks the model about
``num_samples`` copies with random subsets of superpixels greyed out to their mean colour, and
fits a weighted linear model of the answer on which superpixels were kept. Superpixels with a
positive weight supported the explained label.

Any model that maps images to ``[P(not mpox), P(mpox)]`` can be explained, as a black box:

- a fine-tuned CNN (:class:`~poxscan.pipelines.cnn_model.FineTunedCNN`);
- a classical pipeline over handcrafted and/or deep features (a
  :class:`~poxscan.predict.Predictor` or :class:`~poxscan.pipelines.image_model.ImageModel`):
  each perturbed copy is a new image whose features are extracted again, in batches of
  ``batch_size`` (one backbone forward pass per batch for the deep family).

The image explained is the model's view of the photo: its centre square at the model's input
size (:func:`poxscan.core.imageio.to_square`; 224 px for classical models), so superpixels are
drawn on exactly what the model saw. The same ``seed`` gives the same segmentation, the same
samples and hence the same mask.

:func:`overlay_png` renders an explanation as PNG bytes and :func:`lime_overlay` does the
whole thing for the web page (image or upload bytes in, PNG bytes and a JSON-able summary
out); :func:`write_overlay` writes the PNG atomically. Rendering uses matplotlib's object API
(no pyplot state), so it is safe in server threads.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np

from poxscan.core.atomic import atomic_write_bytes
from poxscan.core.imageio import to_square

__all__ = [
    "LimeExplanation",
    "explain_lime",
    "explain_model",
    "lime_overlay",
    "model_adapter",
    "overlay_png",
    "write_overlay",
]

LABELS = ("not_mpox", "mpox")
SEGMENTATIONS = ("slic", "quickshift")
#: Side of the square a classical model's image is explained at.
CLASSICAL_SIZE = 224

PredictFn = Callable[[np.ndarray], np.ndarray]


@dataclass
class LimeExplanation:
    """One image's LIME explanation.

    Attributes
    ----------
    image : ndarray of uint8, shape (s, s, 3)
        What was explained (the model's centre square).
    segments : ndarray of int, shape (s, s)
        Superpixel of each pixel, ``0..n_segments-1``.
    mask : ndarray of bool, shape (s, s)
        Pixels of the superpixels that supported ``label`` most (positive weight, at most
        ``num_features`` of them).
    weights : dict
        Superpixel -> weight towards ``label`` (the local linear model's coefficients).
    label : str
        The explained label: the model's decision.
    probability : float
        The model's P(mpox) for the image.
    threshold : float
        Its decision threshold.
    score : float
        R^2 of LIME's local linear model on its samples (how well it mimics the model).
    """

    image: np.ndarray
    segments: np.ndarray
    mask: np.ndarray
    weights: dict[int, float]
    label: str
    probability: float
    threshold: float
    score: float
    model_name: str = ""
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def coverage(self) -> float:
        """Share of the image's pixels in the mask."""
        return float(self.mask.mean())

    def to_dict(self) -> dict[str, Any]:
        """JSON-able summary (no pixel arrays)."""
        positive = sorted(
            ((int(k), float(v)) for k, v in self.weights.items() if v > 0),
            key=lambda kv: -kv[1],
        )
        masked = {int(k) for k in np.unique(self.segments[self.mask])}
        return {
            "label": self.label,
            "probability_mpox": self.probability,
            "threshold": self.threshold,
            "model": self.model_name,
            "n_superpixels": int(self.segments.max()) + 1,
            "highlighted_superpixels": [
                {"superpixel": k, "weight": w} for k, w in positive if k in masked
            ],
            "coverage": self.coverage,
            "local_model_r2": self.score,
            **self.params,
        }


def _segmenter(method: str, n_segments: int, seed: int) -> Callable[[np.ndarray], np.ndarray]:
    from skimage.segmentation import quickshift, slic

    if method == "slic":

        def segment(image: np.ndarray) -> np.ndarray:
            # start_label=0: lime indexes superpixels 0..n-1.
            return slic(image, n_segments=int(n_segments), compactness=10, sigma=1, start_label=0)

    elif method == "quickshift":

        def segment(image: np.ndarray) -> np.ndarray:
            # LIME's own defaults for quickshift.
            labels = quickshift(image, kernel_size=4, max_dist=200, ratio=0.2, rng=int(seed))
            return np.unique(labels, return_inverse=True)[1].reshape(labels.shape)

    else:
        raise ValueError(f"unknown segmentation {method!r}; use one of {SEGMENTATIONS}")
    return segment


def _quiet_explainer_class() -> type:
    from lime import lime_image

    class QuietExplainer(lime_image.LimeImageExplainer):
        """lime_image without its progress bar (server logs); same sampling, same result."""

        def data_labels(
            self,
            image: np.ndarray,
            fudged_image: np.ndarray,
            segments: np.ndarray,
            classifier_fn: Callable[[np.ndarray], np.ndarray],
            num_samples: int,
            batch_size: int = 10,
            progress_bar: bool = False,
        ) -> tuple[np.ndarray, np.ndarray]:
            n_features = np.unique(segments).shape[0]
            # The same draw as lime_image: one randint call from the explainer's state.
            data = self.random_state.randint(0, 2, num_samples * n_features).reshape(
                (num_samples, n_features)
            )
            data[0, :] = 1  # the first sample is the image itself
            labels: list[np.ndarray] = []
            for start in range(0, num_samples, batch_size):
                rows = data[start : start + batch_size]
                batch = np.repeat(image[None], len(rows), axis=0)
                for b, row in enumerate(rows):
                    hidden = np.isin(segments, np.flatnonzero(row == 0))
                    batch[b][hidden] = fudged_image[hidden]
                labels.extend(classifier_fn(batch))
            return data, np.asarray(labels)

    return QuietExplainer


def explain_lime(
    image: np.ndarray,
    predict_fn: PredictFn,
    *,
    num_samples: int = 300,
    seed: int = 0,
    segmentation: str = "slic",
    n_segments: int = 50,
    num_features: int = 5,
    batch_size: int = 32,
    threshold: float = 0.5,
    model_name: str = "",
) -> LimeExplanation:
    """Explain one prediction with LIME.

    Parameters
    ----------
    image : ndarray of uint8, shape (s, s, 3)
        The image as the model sees it (fitted to its input square).
    predict_fn : callable
        ``(n, s, s, 3) uint8 -> (n, 2)`` probabilities ``[P(not mpox), P(mpox)]``.
    num_samples : int, default=300
        Perturbed copies the model is asked about (the cost: one prediction each).
    seed : int, default=0
        Seeds the segmentation and the sampling: same seed, same explanation.
    segmentation : {"slic", "quickshift"}
    n_segments : int, default=50
        Approximate number of SLIC superpixels.
    num_features : int, default=5
        At most this many superpixels in the mask.
    batch_size : int, default=32
        Perturbed copies per call of ``predict_fn``.
    threshold : float
        Decision threshold on P(mpox): the explained label is the model's decision.
    model_name : str
        Recorded in the explanation.
    """
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(
            f"expected an RGB uint8 image (h, w, 3), got {image.dtype} of shape {image.shape}"
        )
    if int(num_samples) < 10:
        raise ValueError(f"num_samples must be at least 10, got {num_samples}")

    def classifier(batch: np.ndarray) -> np.ndarray:
        proba = np.asarray(predict_fn(np.asarray(batch, dtype=np.uint8)), dtype=np.float64)
        if proba.ndim == 1:
            proba = np.column_stack([1 - proba, proba])
        return proba

    p_mpox = float(classifier(image[None])[0, 1])
    label_idx = int(p_mpox >= threshold)
    explainer = _quiet_explainer_class()(random_state=int(seed))
    result = explainer.explain_instance(
        image,
        classifier,
        labels=(label_idx,),
        top_labels=None,
        hide_color=None,  # perturbed superpixels take their mean colour
        num_features=1000,
        num_samples=int(num_samples),
        batch_size=int(batch_size),
        segmentation_fn=_segmenter(segmentation, n_segments, seed),
        random_seed=int(seed),
    )
    weights = {int(k): float(v) for k, v in result.local_exp[label_idx]}
    top = [k for k, v in sorted(weights.items(), key=lambda kv: -kv[1]) if v > 0]
    top = top[: int(num_features)]
    mask = np.isin(result.segments, top)
    return LimeExplanation(
        image=image,
        segments=np.asarray(result.segments),
        mask=mask,
        weights=weights,
        label=LABELS[label_idx],
        probability=p_mpox,
        threshold=float(threshold),
        score=float(result.score),
        model_name=model_name,
        params={
            "method": "lime",
            "num_samples": int(num_samples),
            "seed": int(seed),
            "segmentation": segmentation,
            "n_segments": int(n_segments),
            "num_features": int(num_features),
        },
    )


def model_adapter(model: Any) -> tuple[PredictFn, int, float, str]:
    """``(predict_fn, image_size, threshold, name)`` for a CNN, Predictor or ImageModel.

    ``predict_fn`` takes a uint8 batch ``(n, s, s, 3)`` at ``image_size``.
    """
    from poxscan.pipelines.cnn_model import FineTunedCNN

    if isinstance(model, FineTunedCNN):
        return (
            model.predict_proba_prepared,
            model.image_size,
            model.threshold,
            f"fine-tuned {model.backbone}",
        )
    predictor_lock = getattr(model, "_lock", None)
    image_model = getattr(model, "model", model)
    if not hasattr(image_model, "predict_proba") or not hasattr(image_model, "extractors_"):
        raise TypeError(
            f"cannot explain a {type(model).__name__}: expected a CNN or an image model"
        )
    threshold = float(getattr(model, "threshold", None) or image_model.threshold_)
    families = "+".join(getattr(image_model, "families_", {}) or [])

    def predict(batch: np.ndarray) -> np.ndarray:
        images = list(batch)
        if predictor_lock is None:
            return image_model.predict_proba(images)
        # A Predictor shared by server threads: its extractors are not re-entrant.
        with predictor_lock:
            return image_model.predict_proba(images)

    return predict, CLASSICAL_SIZE, threshold, f"classical ({families})"


def explain_model(model: Any, image: np.ndarray, **kwargs: Any) -> LimeExplanation:
    """LIME explanation of ``model``'s prediction for an RGB uint8 image of any size.

    ``model`` is a :class:`FineTunedCNN`, a :class:`~poxscan.predict.Predictor` or an
    :class:`ImageModel`; ``kwargs`` go to :func:`explain_lime`.
    """
    predict, size, threshold, name = model_adapter(model)
    square = to_square(np.asarray(image), size)
    return explain_lime(square, predict, threshold=threshold, model_name=name, **kwargs)


def lime_overlay(
    model: Any, image: np.ndarray | bytes, name: str | None = None, **kwargs: Any
) -> tuple[bytes, dict[str, Any]]:
    """For the web page: explain one image and return ``(PNG bytes, JSON-able summary)``.

    Parameters
    ----------
    model : FineTunedCNN, Predictor or ImageModel
    image : ndarray or bytes
        A decoded RGB uint8 image, or the bytes of an image file (decoded by
        :func:`poxscan.core.imageio.load_image`, which raises ``ImageLoadError`` naming ``name``).
    name : str, optional
        The upload's name, for error messages.
    **kwargs
        For :func:`explain_lime` (``num_samples``, ``seed``, ...).
    """
    from poxscan.core.imageio import load_image

    if isinstance(image, bytes | bytearray | memoryview):
        image = load_image(bytes(image), name=name or "<upload>")
    explanation = explain_model(model, image, **kwargs)
    return overlay_png(explanation), explanation.to_dict()


def overlay_png(explanation: LimeExplanation, dpi: int = 110) -> bytes:
    """The explanation drawn as PNG bytes: the photo beside it with the superpixels that
    supported the decision highlighted and outlined, and a legend with label and probability.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch
    from skimage.segmentation import find_boundaries

    e = explanation
    img = e.image.astype(np.float32) / 255.0
    highlight = np.array([0.1, 0.9, 0.2], dtype=np.float32)
    overlay = img * 0.45  # everything else dimmed
    overlay[e.mask] = 0.75 * img[e.mask] + 0.25 * highlight
    thin = find_boundaries(e.segments, mode="inner")
    overlay[thin & ~e.mask] = 0.5 * overlay[thin & ~e.mask] + 0.5  # all superpixels, faint
    outline = find_boundaries(np.where(e.mask, e.segments + 1, 0), mode="inner") & e.mask
    overlay[outline] = (1.0, 0.85, 0.0)  # the highlighted superpixels' borders

    fig = Figure(figsize=(8.4, 4.6), dpi=dpi)
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, 2)
    axes[0].imshow(img)
    axes[0].set_title("image (model's view)", fontsize=10)
    axes[1].imshow(np.clip(overlay, 0, 1))
    axes[1].set_title(f"LIME: regions supporting '{e.label}'", fontsize=10)
    for ax in axes:
        ax.set_axis_off()
    decision = f"prediction: {e.label} (P(mpox) = {e.probability:.2f}, threshold {e.threshold:.2f})"
    handles = [
        Patch(facecolor=highlight, edgecolor=(1.0, 0.85, 0.0), label=f"supports '{e.label}'"),
        Patch(facecolor=(0.3, 0.3, 0.3), edgecolor=(0.8, 0.8, 0.8), label="other superpixels"),
    ]
    fig.legend(handles=handles, loc="lower center", ncol=2, fontsize=9, frameon=False)
    p = e.params
    fig.suptitle(
        f"{decision}\n{e.model_name}; {p.get('segmentation')} superpixels, "
        f"{p.get('num_samples')} samples, seed {p.get('seed')}, local R² {e.score:.2f}",
        fontsize=9,
    )
    fig.subplots_adjust(left=0.01, right=0.99, top=0.84, bottom=0.1, wspace=0.03)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def write_overlay(explanation: LimeExplanation, path: str | PathLike) -> Path:
    """Write :func:`overlay_png` to ``path`` atomically; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, overlay_png(explanation))
    return path
