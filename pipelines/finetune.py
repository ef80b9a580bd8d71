"""Fine-tuned CNN baselines: transfer learning on an ImageNet backbone, evaluated like the rest.

Model
-----
RGB in ``[0, 255]`` -> the backbone's own input scaling (a frozen layer,
:func:`poxscan.features.backbones.scaling.scaling_layer`, so the saved and exported models take
plain pixels) -> the backbone without its classifier, globally average-pooled
(:func:`poxscan.features.backbones.get_backbone`: EfficientNet-Lite0/1/2 with their real
ImageNet weights, or any keras.applications network where its weight file is in Keras' cache)
-> dropout -> one sigmoid unit, P(mpox) (:mod:`~poxscan.pipelines.cnn_architecture`).

Training (:func:`fit_finetuned`), on the training images only
------------------------------------------------------------
1. A grouped inner validation split of the training images (:func:`inner_validation_split`:
   one fold of :func:`~poxscan.pipelines.splits.grouped_folds` over *their* groups), used for
   early stopping and nothing else.
2. **Head**: the backbone frozen, the new head trained with Adam (``head_lr``) for up to
   ``head_epochs`` epochs.
3. **Fine-tuning**: the top ``unfreeze_blocks`` blocks of the backbone (and its final 1x1
   convolution) unfrozen, trained on with a 10x lower learning rate for up to
   ``finetune_epochs`` epochs. Batch-normalisation layers stay frozen and run in inference
   mode throughout (their statistics would be ruined by batches of 16).
4. Early stopping on the inner validation loss (patience ``patience``); the weights of the
   best validation epoch over both phases are kept, so fine-tuning that does not help is undone.

Training batches are augmented (:mod:`~poxscan.pipelines.augmentation`: flips, rotation,
scaling, zoom, shear); validation and test images never are. Classes are weighted inversely to
their frequency in the training part.

Evaluation (:func:`cross_validate_cnn`)
---------------------------------------
The outer folds are those of the classical pipelines: ``grouped_folds(y, groups, n_splits,
seed)`` over the same records in the same order, so the comparison is fold for fold. Each fold
yields a :class:`~poxscan.pipelines.evaluation.FoldResult` (metrics from
:func:`~poxscan.pipelines.metrics.compute_metrics`, training seconds) and the out-of-fold
probabilities a :class:`~poxscan.pipelines.evaluation.CVResult`, so
:func:`~poxscan.pipelines.evaluation.summarize` gives the same intervals (corrected t and group
bootstrap) as for the classical pipelines.

CPU budget
----------
The defaults are sized for a 2-core CPU: 224 px (Lite0's native size), batch 16, at most
12 head + 8 fine-tuning epochs with patience 3, one repeat of 5 outer folds. On the ~145
inner-training images of an MSLD fold a Lite0 epoch costs about 20-30 s with the backbone
frozen and 35-45 s with its top 3 blocks unfrozen (measured on the shared 2-core machine), so
a fold takes at most about 11 minutes and the cross-validation under an hour; Lite2 (260 px)
costs about 2.5 times as much. (A first run with at most 5 head epochs stopped the head
while its validation loss was still falling in every fold, hence 12.)

TensorFlow is imported only inside the functions.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np

from poxscan.core.atomic import atomic_write_text
from poxscan.core.hashing import file_sha256
from poxscan.core.imageio import to_square
from poxscan.features.backbones import get_backbone
from poxscan.pipelines.augmentation import AugmentConfig, build_augmentation, make_dataset
from poxscan.pipelines.cnn_architecture import build_classifier, set_trainable_top, top_block_layers
from poxscan.pipelines.cnn_model import FineTunedCNN, save_inference_model
from poxscan.pipelines.evaluation import CVResult, FoldResult
from poxscan.pipelines.metrics import compute_metrics
from poxscan.pipelines.splits import check_group_split, grouped_folds

__all__ = [
    "FineTuneConfig",
    "build_classifier",
    "configure_threads",
    "cross_validate_cnn",
    "fit_finetuned",
    "inner_validation_split",
    "prepare_images",
    "set_trainable_top",
    "top_block_layers",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FineTuneConfig:
    """Everything that defines how a CNN is fine-tuned (recorded with every result).

    Attributes
    ----------
    backbone : str
        Any name in :data:`poxscan.features.backbones.BACKBONES` (``"efficientnet-lite0"``,
        ``"vgg16"``, ``"inceptionresnetv2"``, ...; ``poxscan backbones`` lists them).
    weights : str, optional
        ``None``: the backbone's ImageNet weights; otherwise a weights file.
    image_size : int, optional
        Input side; default the backbone's native size.
    dropout : float
        Dropout before the new dense layer.
    head_epochs, finetune_epochs : int
        Maximum epochs of each phase (early stopping may end them sooner).
    head_lr, finetune_lr : float
        Adam learning rates of the two phases.
    unfreeze_blocks : int
        Backbone blocks unfrozen (from the top) in the second phase; 0 skips that phase.
    batch_size : int
    patience : int
        Epochs without a lower validation loss before a phase stops.
    inner_splits : int
        The inner validation part is one fold of a grouped ``inner_splits``-fold split
        (5: about 20 % of the training groups).
    augment : AugmentConfig, optional
        ``None`` disables augmentation.
    class_weight : bool
        Weight classes inversely to their training frequency.
    seed : int
    """

    backbone: str = "efficientnet-lite0"
    weights: str | None = None
    image_size: int | None = None
    dropout: float = 0.3
    head_epochs: int = 12
    head_lr: float = 1e-3
    finetune_epochs: int = 8
    finetune_lr: float = 1e-4
    unfreeze_blocks: int = 3
    batch_size: int = 16
    patience: int = 3
    inner_splits: int = 5
    augment: AugmentConfig | None = field(default_factory=AugmentConfig)
    class_weight: bool = True
    seed: int = 0

    def size(self) -> int:
        """The input side actually used."""
        return int(self.image_size or get_backbone(self.backbone).input_size)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        out = asdict(self)
        out["augment"] = self.augment.to_dict() if self.augment is not None else None
        out["image_size"] = self.size()
        out["backbone"] = get_backbone(self.backbone).name
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FineTuneConfig:
        """Inverse of :meth:`to_dict`."""
        data = dict(data)
        aug = data.pop("augment", None)
        return cls(**data, augment=AugmentConfig(**aug) if aug is not None else None)


def configure_threads(intra_op: int = 2, inter_op: int = 1) -> None:
    """Pin TensorFlow's thread pools (call before TensorFlow runs anything).

    The machine this was sized for has 2 cores shared with other jobs; TensorFlow's default
    of one thread per core for each of several pools oversubscribes it.
    """
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(int(intra_op))
        tf.config.threading.set_inter_op_parallelism_threads(int(inter_op))
    except RuntimeError:  # already initialised: keep what is set
        log.debug("TensorFlow threads already configured")


def prepare_images(images: list[np.ndarray], size: int) -> np.ndarray:
    """RGB uint8 images of any size -> uint8 ``(n, size, size, 3)`` centre squares."""
    return np.stack([to_square(np.asarray(img), int(size)) for img in images])


# -- training -------------------------------------------------------------------------------
def inner_validation_split(
    y: np.ndarray, groups: np.ndarray, n_splits: int = 5, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """``(train, validation)`` positions: one fold of a grouped, stratified split.

    Only the rows given (an outer training fold) take part, so the outer test images are
    never seen; no group is on both sides.
    """
    folds = grouped_folds(np.asarray(y), np.asarray(groups), n_splits, seed=seed)
    train, val = folds[0]
    check_group_split(groups, train, val)
    return train, val


def _keep_best_callback(patience: int, best: float = np.inf):
    import keras

    class KeepBest(keras.callbacks.Callback):
        """Early stopping on val_loss that always restores the best epoch's weights.

        (Keras' EarlyStopping restores only when it stops early.) ``best`` carries the
        previous phase's best loss, so a phase that does not beat it is undone.
        """

        def __init__(self) -> None:
            super().__init__()
            self.best = float(best)
            self.best_epoch = -1
            self.wait = 0
            self.best_weights: list[np.ndarray] | None = None

        def on_train_begin(self, logs: dict | None = None) -> None:
            self.best_weights = self.model.get_weights()

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            loss = float((logs or {}).get("val_loss", np.inf))
            if np.isfinite(loss) and loss < self.best - 1e-4:
                self.best, self.best_epoch, self.wait = loss, epoch, 0
                self.best_weights = self.model.get_weights()
            else:
                self.wait += 1
                if self.wait >= patience:
                    self.model.stop_training = True

        def on_train_end(self, logs: dict | None = None) -> None:
            if self.best_weights is not None:
                self.model.set_weights(self.best_weights)

    return KeepBest()


def _class_weight(y: np.ndarray) -> dict[int, float]:
    from sklearn.utils.class_weight import compute_class_weight

    y = np.asarray(y, dtype=int)
    classes = np.unique(y)
    # "balanced": n_samples / (n_classes * count of the class), scikit-learn's definition.
    weights = compute_class_weight("balanced", classes=classes, y=y)
    return {int(c): float(w) for c, w in zip(classes, weights, strict=True)}


def fit_finetuned(
    images: np.ndarray,
    y: np.ndarray,
    groups: np.ndarray,
    config: FineTuneConfig | None = None,
    *,
    verbose: int = 0,
) -> FineTunedCNN:
    """Fine-tune a CNN on training images (see the module docstring for the procedure).

    Parameters
    ----------
    images : ndarray of uint8, shape (n, s, s, 3)
        Training images fitted to ``config.size()`` (:func:`prepare_images`).
    y : array of {0, 1}
        1 = mpox.
    groups : array
        Group of each image; the inner validation split never splits one.
    config : FineTuneConfig, optional
    verbose : int
        Keras' fit verbosity.

    Returns
    -------
    FineTunedCNN
        ``info`` holds the config, per-epoch history, best epochs and seconds per phase.
    """
    import keras

    cfg = config or FineTuneConfig()
    size = cfg.size()
    images = np.asarray(images)
    if images.shape[1:] != (size, size, 3):
        raise ValueError(f"expected images of shape (n, {size}, {size}, 3), got {images.shape}")
    y = np.asarray(y, dtype=int)
    groups = np.asarray(groups)
    keras.utils.set_random_seed(cfg.seed)
    tr, va = inner_validation_split(y, groups, cfg.inner_splits, seed=cfg.seed)
    augmentation = build_augmentation(cfg.augment, seed=cfg.seed) if cfg.augment else None
    train_ds = make_dataset(
        images[tr],
        y[tr],
        training=augmentation is not None,
        batch_size=cfg.batch_size,
        augmentation=augmentation,
        seed=cfg.seed,
        shuffle=True,
    )
    val_ds = make_dataset(images[va], y[va], training=False, batch_size=cfg.batch_size)
    weights = _class_weight(y[tr]) if cfg.class_weight else None
    model, base = build_classifier(
        cfg.backbone,
        weights=cfg.weights,
        image_size=size,
        dropout=cfg.dropout,
        seed=cfg.seed,
    )
    info: dict[str, Any] = {
        "config": cfg.to_dict(),
        "n_train": len(tr),
        "n_val": len(va),
        "n_train_groups": len(np.unique(groups[tr])),
        "n_val_groups": len(np.unique(groups[va])),
        "class_weight": weights,
    }

    def run_phase(name: str, epochs: int, lr: float, best: float) -> tuple[float, Any]:
        model.compile(
            optimizer=keras.optimizers.Adam(lr),
            loss=keras.losses.BinaryCrossentropy(),
            metrics=[keras.metrics.BinaryAccuracy(name="accuracy")],
            jit_compile=False,
        )
        keep = _keep_best_callback(cfg.patience, best=best)
        t0 = time.perf_counter()
        hist = model.fit(
            train_ds,
            validation_data=val_ds,
            epochs=int(epochs),
            shuffle=False,  # the training dataset shuffles itself each epoch
            class_weight=weights,
            callbacks=[keep],
            verbose=verbose,
        )
        info[name] = {
            "epochs_run": len(hist.history.get("loss", [])),
            "best_epoch": keep.best_epoch,  # -1: no epoch beat the previous phase
            "best_val_loss": keep.best,
            "learning_rate": lr,
            "seconds": time.perf_counter() - t0,
            "history": {k: [float(v) for v in vals] for k, vals in hist.history.items()},
        }
        return keep.best, hist

    best, _ = run_phase("head", cfg.head_epochs, cfg.head_lr, np.inf)
    if cfg.unfreeze_blocks > 0 and cfg.finetune_epochs > 0:
        info["unfrozen_layers"] = set_trainable_top(base, cfg.unfreeze_blocks)
        info["n_trainable_params"] = int(
            sum(int(np.prod(w.shape)) for w in model.trainable_weights)
        )
        best, _ = run_phase("finetune", cfg.finetune_epochs, cfg.finetune_lr, best)
    info["best_val_loss"] = best
    info["seconds"] = sum(info[p]["seconds"] for p in ("head", "finetune") if p in info)
    # Freeze everything again: the returned model is for inference.
    base.trainable = False
    return FineTunedCNN(model, cfg.backbone, size, threshold=0.5, info=info)


# -- cross-validation -----------------------------------------------------------------------
def cross_validate_cnn(
    images: np.ndarray,
    y: np.ndarray,
    groups: np.ndarray,
    config: FineTuneConfig | None = None,
    *,
    n_splits: int = 5,
    seed: int = 0,
    ids: list[str] | None = None,
    work_dir: str | PathLike | None = None,
    name: str = "cnn",
    on_fold: Callable[[FoldResult], None] | None = None,
    verbose: int = 0,
) -> CVResult:
    """Grouped outer cross-validation of :func:`fit_finetuned` on the classical pipelines' folds.

    Parameters
    ----------
    images : ndarray of uint8, shape (n, s, s, 3)
        All images, fitted to ``config.size()``, in the order of ``y`` and ``groups``.
    y, groups : arrays
        Labels (1 = mpox) and split groups, as :func:`poxscan.pipelines.experiment_data.\
load_experiment` gives them for the same records.
    config : FineTuneConfig, optional
    n_splits, seed : int
        Outer folds: ``grouped_folds(y, groups, n_splits, seed)``, as the classical CV's
        first repeat.
    ids : list of str, optional
        Image ids (recorded per fold, so a reader can check the folds match).
    work_dir : path-like, optional
        Where each fold's model (``fold<k>.keras``) and result (``fold<k>.json``) are kept. A
        fold whose result is there with the same config and test ids is not retrained (an
        interrupted run resumes).
    name : str
    on_fold : callable, optional
        Called with each fold's result as it finishes (progress, partial reports).
    verbose : int

    Returns
    -------
    CVResult
        One repeat; ``folds[k].seconds`` is training time, ``folds[k].inner`` the training
        record (epochs, history, inner split sizes, test ids, model file and sha256).
    """
    import keras

    cfg = config or FineTuneConfig()
    y = np.asarray(y, dtype=int)
    groups = np.asarray(groups)
    ids = list(ids) if ids is not None else [str(i) for i in range(len(y))]
    work = Path(work_dir) if work_dir is not None else None
    if work is not None:
        work.mkdir(parents=True, exist_ok=True)
    oof = np.full((len(y), 2), np.nan)
    folds: list[FoldResult] = []
    start = time.perf_counter()
    for f, (tr, te) in enumerate(grouped_folds(y, groups, n_splits, seed=seed)):
        check_group_split(groups, tr, te)
        test_ids = [ids[i] for i in te]
        record_path = work / f"fold{f}.json" if work is not None else None
        done = _load_fold(record_path, cfg, test_ids)
        if done is not None:
            proba = np.asarray(done["proba"], dtype=np.float64)
            inner, seconds = done["inner"], float(done["seconds"])
            log.info("%s fold %d: reused %s", name, f, record_path)
        else:
            # Same seed in every fold: folds differ only by their data.
            keras.backend.clear_session()
            cnn = fit_finetuned(images[tr], y[tr], groups[tr], cfg, verbose=verbose)
            seconds = float(cnn.info["seconds"])
            t0 = time.perf_counter()
            proba = cnn.predict_proba_prepared(images[te])
            inner = dict(cnn.info, test_ids=test_ids, predict_seconds=time.perf_counter() - t0)
            if work is not None:
                model_path = work / f"fold{f}.keras"
                tmp = work / f".fold{f}.tmp.keras"
                save_inference_model(cnn.model, tmp)
                tmp.replace(model_path)
                inner["model_file"] = model_path.name
                inner["model_sha256"] = file_sha256(model_path)
                payload = {"inner": inner, "seconds": seconds, "proba": proba.tolist()}
                atomic_write_text(record_path, json.dumps(_plain(payload)))
        oof[te] = proba
        fold = FoldResult(
            repeat=0,
            fold=f,
            n_train=len(tr),
            n_test=len(te),
            metrics=compute_metrics(y[te], proba, positive=1),
            config=cfg.to_dict(),
            inner=inner,
            seconds=seconds,
        )
        folds.append(fold)
        log.info(
            "%s fold %d: accuracy %.3f, AUC %.3f, %.0f s training",
            name,
            f,
            fold.metrics["accuracy"],
            fold.metrics["roc_auc"],
            seconds,
        )
        if on_fold is not None:
            on_fold(fold)
    return CVResult(
        name=name,
        folds=folds,
        oof=[oof],
        y=y,
        groups=groups,
        class_names=["not_mpox", "mpox"],
        positive=1,
        seconds=time.perf_counter() - start,
    )


def _plain(value: Any) -> Any:
    from poxscan.pipelines.report import jsonable

    return jsonable(value)


def _load_fold(
    path: Path | None, cfg: FineTuneConfig, test_ids: list[str]
) -> dict[str, Any] | None:
    if path is None or not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    inner = data.get("inner", {})
    if inner.get("config") != _plain(cfg.to_dict()) or inner.get("test_ids") != test_ids:
        return None
    return data
