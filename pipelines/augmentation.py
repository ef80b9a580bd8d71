"""Training-time image augmentation for the fine-tuned CNNs, and the datasets that apply it.

The augmentations follow the seed paper (Ali et al. 2022, MSLD: rotation, reflection, shear,
scaling, zoom): random horizontal and vertical flips, rotation, anisotropic scaling (height and
width scaled independently), isotropic zoom and shear, as Keras preprocessing layers on RGB
images in ``[0, 255]``. Empty borders are filled by reflection, as skin texture continues.

:func:`make_dataset` is the only place that decides whether a batch is augmented: training
batches (``training=True``) are shuffled and augmented, evaluation batches (validation, test,
prediction) are passed through untouched. The layers are never part of the saved model, so
an exported or served model cannot augment by accident.

TensorFlow is imported only inside the functions.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import keras
    import tensorflow as tf

__all__ = ["AugmentConfig", "build_augmentation", "make_dataset"]


@dataclass(frozen=True)
class AugmentConfig:
    """Strength of each augmentation; 0 turns one off.

    Attributes
    ----------
    flip : bool
        Random horizontal and vertical flips (lesions have no canonical orientation).
    rotation : float
        Maximum rotation as a fraction of a full turn (0.1 = +/- 36 degrees).
    scale : float
        Anisotropic scaling: height and width each scaled by up to +/- this fraction.
    zoom : float
        Isotropic zoom in/out by up to this fraction.
    shear : float
        Shear factor along x and y (0.1 is about +/- 6 degrees).
    """

    flip: bool = True
    rotation: float = 0.1
    scale: float = 0.1
    zoom: float = 0.15
    shear: float = 0.1

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return asdict(self)


def build_augmentation(config: AugmentConfig | None = None, seed: int = 0) -> keras.Sequential:
    """The augmentation as a ``keras.Sequential`` of random layers (identity unless training).

    Parameters
    ----------
    config : AugmentConfig, optional
        Strengths; default :class:`AugmentConfig()`.
    seed : int
        Seeds each layer (``seed + i``), so a run is repeatable.

    Returns
    -------
    keras.Sequential
        Maps float RGB ``(n, h, w, 3)`` in ``[0, 255]`` to the same shape and range.
    """
    import keras

    cfg = config or AugmentConfig()
    layers: list[Any] = []
    if cfg.flip:
        layers.append(keras.layers.RandomFlip("horizontal_and_vertical", seed=seed))
    if cfg.rotation > 0:
        layers.append(keras.layers.RandomRotation(cfg.rotation, fill_mode="reflect", seed=seed + 1))
    if cfg.scale > 0:
        # Independent height and width factors: the aspect ratio changes (scaling).
        layers.append(
            keras.layers.RandomZoom(
                height_factor=(-cfg.scale, cfg.scale),
                width_factor=(-cfg.scale, cfg.scale),
                fill_mode="reflect",
                seed=seed + 2,
            )
        )
    if cfg.zoom > 0:
        # width_factor=None keeps the aspect ratio: a plain zoom.
        layers.append(
            keras.layers.RandomZoom((-cfg.zoom, cfg.zoom), fill_mode="reflect", seed=seed + 3)
        )
    if cfg.shear > 0:
        layers.append(
            keras.layers.RandomShear(
                x_factor=cfg.shear,
                y_factor=cfg.shear,
                fill_mode="reflect",
                seed=seed + 4,
            )
        )
    return keras.Sequential(layers, name="augmentation")


def make_dataset(
    images: np.ndarray,
    y: np.ndarray | None = None,
    *,
    training: bool,
    batch_size: int = 16,
    augmentation: keras.Sequential | None = None,
    seed: int = 0,
    shuffle: bool | None = None,
) -> tf.data.Dataset:
    """A ``tf.data`` pipeline over square uint8 images; augmented only when ``training``.

    Parameters
    ----------
    images : ndarray of uint8, shape (n, s, s, 3)
        Images already fitted to the model's input (:func:`poxscan.core.imageio.to_square`).
    y : array of {0, 1}, optional
        Labels (omit for prediction).
    training : bool
        True: shuffle each epoch and apply ``augmentation``. False: fixed order, images as
        they are (validation, test, prediction).
    batch_size : int
        Images per batch.
    augmentation : keras.Sequential, optional
        From :func:`build_augmentation`; ``None`` with ``training=True`` builds the default.
    seed : int
        Shuffling seed (and augmentation seed when it is built here).
    shuffle : bool, optional
        Reshuffle every epoch; default ``training`` (``training=False, shuffle=True``: a
        training set without augmentation).

    Returns
    -------
    tf.data.Dataset
        Batches of float32 RGB in ``[0, 255]`` (and float32 labels of shape ``(n, 1)``).
    """
    import tensorflow as tf

    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] != 3 or images.dtype != np.uint8:
        raise ValueError(
            f"expected uint8 images of shape (n, s, s, 3), got {images.dtype} {images.shape}"
        )
    if y is not None:
        y = np.asarray(y, dtype=np.float32).reshape(-1, 1)
        if len(y) != len(images):
            raise ValueError(f"{len(images)} images but {len(y)} labels")
        ds = tf.data.Dataset.from_tensor_slices((images, y))
    else:
        ds = tf.data.Dataset.from_tensor_slices(images)
    if training if shuffle is None else shuffle:
        ds = ds.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(int(batch_size))

    def cast(x: tf.Tensor) -> tf.Tensor:
        return tf.cast(x, tf.float32)

    if training:
        aug = augmentation if augmentation is not None else build_augmentation(seed=seed)

        def transform(x: tf.Tensor) -> tf.Tensor:
            # Geometric warps can overshoot [0, 255] slightly by interpolation; clip back.
            return tf.clip_by_value(aug(cast(x), training=True), 0.0, 255.0)
    else:
        transform = cast
    if y is not None:
        ds = ds.map(lambda x, t: (transform(x), t), num_parallel_calls=1)
    else:
        ds = ds.map(transform, num_parallel_calls=1)
    return ds.prefetch(1)
