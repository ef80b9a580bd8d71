"""TensorFlow Lite export of the backbones and fine-tuned CNNs, for phones and small CPUs.

What is exported
----------------
- a **backbone**: RGB in ``[0, 255]`` -> its input scaling -> the ImageNet backbone without
  its classifier -> the globally average-pooled embedding (1280 values for EfficientNet-Lite);
  what :class:`~poxscan.features.deep.DeepFeatures` computes, so a classical pipeline can take
  its deep features from the ``.tflite`` file (``DeepFeatures(runtime="tflite-int8",
  tflite_model=...)``), feature names unchanged;
- a **fine-tuned CNN** (:class:`~poxscan.pipelines.cnn_model.FineTunedCNN`): RGB in
  ``[0, 255]`` -> P(mpox).

Input ``(1, s, s, 3)`` float32 (batch 1: one photo at a time, as on a phone), the image's
centre square (:func:`poxscan.core.imageio.to_square`); output float32. Builtin TFLite ops only, so
the plain LiteRT interpreter (and a phone's) runs them without the Flex delegate.

Quantisation
------------
- ``float32``: weights as trained.
- ``float16``: weights stored as float16 (half the file), computed in float32 on a CPU.
- ``int8``: full-integer post-training quantisation. Weights int8 per channel, activations
  int8 with ranges calibrated on a **representative dataset of training images only** (raw
  pixels, fitted to the input square, run through the model's own input scaling, exactly as
  at inference). **Input and output stay float32, with int8 inside**: the converter adds one
  quantise op after the input and one dequantise op before the output, which cost a few
  microseconds, while the interface stays identical to the float models (same pixels in, same
  embedding or probability out) and the embedding is not quantised a second time at the
  output, which would add error to every deep feature for nothing. A phone app that wants
  uint8 input can still feed pixels as floats.

Every export writes ``<name>.tflite`` and ``<name>.json`` (sha256 of the model, quantisation,
input and output, source and its hash, the representative images' count and id checksum),
atomically; :func:`load_tflite` checks the sha256 before running a model.

TensorFlow is imported only inside the converting functions.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from poxscan import __version__
from poxscan.core.atomic import atomic_write_bytes, atomic_write_text
from poxscan.core.hashing import bytes_sha256
from poxscan.core.imageio import to_square
from poxscan.core.latency import latency_stats
from poxscan.features.backbones import get_backbone
from poxscan.features.litert_runtime import LiteRTModel

if TYPE_CHECKING:
    import keras

    from poxscan.pipelines.cnn_model import FineTunedCNN

__all__ = [
    "QUANTIZATIONS",
    "backbone_model",
    "convert_keras",
    "convert_keras_many",
    "export_backbone",
    "export_cnn",
    "latency",
    "latency_many",
    "load_tflite",
    "representative_images",
]

QUANTIZATIONS = ("float32", "float16", "int8")
#: Images fed to the int8 calibration at most (more changes the ranges very little).
MAX_REPRESENTATIVE = 200


def backbone_model(
    backbone: str, image_size: int | None = None, weights: str | None = None
) -> keras.Model:
    """The backbone as exported: RGB ``[0, 255]`` -> scaling -> backbone -> pooled embedding."""
    import keras

    from poxscan.pipelines.cnn_architecture import backbone_graph

    spec = get_backbone(backbone)
    inputs, outputs, _ = backbone_graph(backbone, image_size=image_size, weights=weights)
    return keras.Model(inputs, outputs, name=f"{spec.name.replace('-', '_')}_embedding")


def representative_images(images: Sequence[np.ndarray], size: int) -> np.ndarray:
    """Training images fitted to the input square, uint8 ``(n, size, size, 3)``.

    At most :data:`MAX_REPRESENTATIVE`, evenly spaced through the given order.
    """
    if len(images) == 0:
        raise ValueError("the int8 calibration needs at least one representative image")
    pick = np.unique(np.linspace(0, len(images) - 1, min(len(images), MAX_REPRESENTATIVE)))
    return np.stack([to_square(np.asarray(images[int(i)]), size) for i in pick])


def convert_keras(
    model: keras.Model,
    quantization: str = "float32",
    representative: np.ndarray | None = None,
) -> bytes:
    """Convert a Keras model with one image input to a ``.tflite`` flatbuffer.

    Parameters
    ----------
    model : keras.Model
        Input ``(None, s, s, 3)`` float32 RGB in ``[0, 255]``.
    quantization : {"float32", "float16", "int8"}
    representative : ndarray, shape (n, s, s, 3), optional
        Training images (uint8 or float in ``[0, 255]``), required for ``"int8"``.

    Returns
    -------
    bytes
    """
    return convert_keras_many(model, (quantization,), representative)[quantization]


def convert_keras_many(
    model: keras.Model,
    quantizations: Sequence[str] = QUANTIZATIONS,
    representative: np.ndarray | None = None,
) -> dict[str, bytes]:
    """:func:`convert_keras` for several quantisations from one SavedModel export."""
    import tensorflow as tf
    from keras import export as keras_export

    for q in quantizations:
        if q not in QUANTIZATIONS:
            raise ValueError(f"unknown quantization {q!r}; use one of {QUANTIZATIONS}")
    size = int(model.inputs[0].shape[1])
    rep = None
    if "int8" in quantizations:
        if representative is None or len(representative) == 0:
            raise ValueError("int8 quantization needs representative training images")
        rep = np.asarray(representative)
        if rep.shape[1:] != (size, size, 3):
            raise ValueError(
                f"representative images must have shape (n, {size}, {size}, 3), got {rep.shape}"
            )
    signature = [tf.TensorSpec((1, size, size, 3), tf.float32, name="image")]
    out: dict[str, bytes] = {}
    with tempfile.TemporaryDirectory(prefix="poxscan-tflite-") as saved:
        # Keras 3 -> SavedModel (variables frozen) -> converter: the path TensorFlow documents
        # for Keras 3; converting a tf.function directly keeps variables as resource reads.
        archive = keras_export.ExportArchive()
        archive.track(model)
        archive.add_endpoint("serve", lambda x: model(x, training=False), input_signature=signature)
        archive.write_out(saved, verbose=False)
        for quantization in quantizations:
            converter = tf.lite.TFLiteConverter.from_saved_model(saved)
            if quantization == "float16":
                converter.optimizations = [tf.lite.Optimize.DEFAULT]
                converter.target_spec.supported_types = [tf.float16]
            elif quantization == "int8":

                def dataset() -> Iterator[list[np.ndarray]]:
                    for img in rep:
                        yield [img[None].astype(np.float32)]

                converter.optimizations = [tf.lite.Optimize.DEFAULT]
                converter.representative_dataset = dataset
                converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
                # Float32 input and output, int8 inside (see the module docstring).
                converter.inference_input_type = tf.float32
                converter.inference_output_type = tf.float32
            out[quantization] = converter.convert()
    return out


def _ids_checksum(ids: Sequence[str] | None) -> str | None:
    if ids is None:
        return None
    return bytes_sha256("\n".join(map(str, ids)))


def _write(content: bytes, out_path: str | PathLike, info: dict[str, Any]) -> dict[str, Any]:
    out = Path(out_path)
    if out.suffix != ".tflite":
        raise ValueError(f"{out}: the output file must end in .tflite")
    runner = LiteRTModel(content)  # check it loads before writing anything
    manifest = {
        "format": "poxscan-tflite",
        "format_version": 1,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "poxscan_version": __version__,
        "file": out.name,
        "sha256": bytes_sha256(content),
        "size_bytes": len(content),
        "quantization": runner.quantization,
        "input": {
            "shape": list(runner.input_shape),
            "dtype": runner.io_types[0],
            "meaning": "RGB in [0, 255], the image's centre square "
            "(poxscan.core.imageio.to_square)",
        },
        "output": {"shape": [1, runner.output_dim], "dtype": runner.io_types[1]},
        **info,
    }
    if manifest["quantization"] != info.get("requested_quantization", manifest["quantization"]):
        raise RuntimeError(
            f"asked for {info['requested_quantization']}, the converter produced a "
            f"{manifest['quantization']} model"
        )
    atomic_write_bytes(out, content)
    atomic_write_text(out.with_suffix(".json"), json.dumps(manifest, indent=2) + "\n")
    return manifest


def _quantizations(quantization: str | Sequence[str]) -> tuple[str, ...]:
    qs = (quantization,) if isinstance(quantization, str) else tuple(quantization)
    if not qs:
        raise ValueError("name at least one quantization")
    for q in qs:
        if q not in QUANTIZATIONS:
            raise ValueError(f"unknown quantization {q!r}; use one of {QUANTIZATIONS}")
    return qs


def _export(
    model: keras.Model,
    quantization: str | Sequence[str],
    out_stem: str | PathLike,
    info: dict[str, Any],
    representative: Sequence[np.ndarray] | None,
    representative_ids: Sequence[str] | None,
    representative_source: str,
) -> dict[str, dict[str, Any]]:
    qs = _quantizations(quantization)
    size = int(model.inputs[0].shape[1])
    rep = None
    if "int8" in qs:
        if representative is None or len(representative) == 0:
            raise ValueError("int8 export needs representative training images")
        rep = representative_images(representative, size)
    t0 = time.perf_counter()
    contents = convert_keras_many(model, qs, rep)
    seconds = time.perf_counter() - t0
    stem = Path(out_stem)
    manifests = {}
    for q, content in contents.items():
        manifests[q] = _write(
            content,
            stem.parent / f"{stem.name}-{q}.tflite",
            {
                **info,
                "requested_quantization": q,
                "conversion_seconds_all": seconds,
                "io": "float32 input and output"
                + (", int8 weights and activations inside" if q == "int8" else ""),
                "representative": None
                if q != "int8" or rep is None
                else {
                    "n_images": len(rep),
                    "source": representative_source,
                    "ids_sha256": _ids_checksum(representative_ids),
                },
            },
        )
    return manifests


def export_backbone(
    backbone: str,
    quantization: str | Sequence[str],
    out_stem: str | PathLike,
    *,
    representative: Sequence[np.ndarray] | None = None,
    representative_ids: Sequence[str] | None = None,
    representative_source: str = "",
    image_size: int | None = None,
) -> dict[str, dict[str, Any]]:
    """Export a backbone's pooled-embedding model in one or more quantisations.

    Parameters
    ----------
    backbone : str
        Registry name.
    quantization : str or sequence of str
        From :data:`QUANTIZATIONS`.
    out_stem : path-like
        Files are ``<out_stem>-<quantization>.tflite`` and ``.json`` (the manifest).
    representative : sequence of RGB uint8 images, optional
        Training images only (any size; fitted here), required for int8.
    representative_ids : sequence of str, optional
        Their ids (a checksum is recorded).
    representative_source : str
        Where they come from, in words (recorded).
    image_size : int, optional
        Default: the backbone's native size.

    Returns
    -------
    dict
        Quantisation -> the manifest written beside its file.
    """
    spec = get_backbone(backbone)
    model = backbone_model(spec.name, image_size)
    info = {
        "kind": "backbone",
        "backbone": spec.name,
        "backbone_weights": spec.weights_fingerprint("imagenet"),
        "feature_dim": spec.feature_dim,
    }
    return _export(
        model,
        quantization,
        out_stem,
        info,
        representative,
        representative_ids,
        representative_source,
    )


def export_cnn(
    cnn: FineTunedCNN,
    quantization: str | Sequence[str],
    out_stem: str | PathLike,
    *,
    representative: Sequence[np.ndarray] | None = None,
    representative_ids: Sequence[str] | None = None,
    representative_source: str = "",
    source: str = "",
) -> dict[str, dict[str, Any]]:
    """Export a fine-tuned CNN (P(mpox)); arguments as for :func:`export_backbone`.

    ``source`` names the model directory it came from (recorded, with the sha256 of its
    Keras file when it was loaded from one).
    """
    manifest = getattr(cnn, "manifest", {}) or {}
    info = {
        "kind": "cnn",
        "backbone": cnn.backbone,
        "threshold": cnn.threshold,
        "source": source,
        "source_keras_sha256": manifest.get("files", {}).get("model.keras"),
    }
    return _export(
        cnn.model,
        quantization,
        out_stem,
        info,
        representative,
        representative_ids,
        representative_source,
    )


def load_tflite(path: str | PathLike, num_threads: int = 1, verify: bool = True) -> LiteRTModel:
    """Load an exported model, refusing one whose sha256 differs from its ``.json`` manifest.

    Parameters
    ----------
    path : path-like
        The ``.tflite`` file.
    num_threads : int
        Interpreter threads.
    verify : bool
        Check the manifest (it must exist).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: TensorFlow Lite model not found")
    content = path.read_bytes()
    if verify:
        # Checked before the interpreter parses a byte of it.
        side = path.with_suffix(".json")
        if not side.is_file():
            raise FileNotFoundError(f"{side}: the manifest of {path.name} is missing")
        expected = json.loads(side.read_text(encoding="utf-8")).get("sha256")
        actual = bytes_sha256(content)
        if actual != expected:
            raise ValueError(
                f"{path}: sha256 {actual} does not match its manifest ({expected}); "
                "refusing to use it"
            )
    model = LiteRTModel(content, num_threads=num_threads)
    model.path = path
    return model


def latency_many(
    fns: dict[str, Callable[[], Any]], warmup: int = 5, runs: int = 50
) -> dict[str, dict[str, float]]:
    """:func:`latency` of several callables, measured **interleaved**.

    Each round calls every function once, in an order rotated from round to round, so a
    change in the machine's load (a shared CPU) affects all of them alike and their ratios
    stay fair; sequential blocks of runs would each see a different load.
    """
    names = list(fns)
    for name in names:
        for _ in range(int(warmup)):
            fns[name]()
    times: dict[str, list[float]] = {n: [] for n in names}
    for r in range(int(runs)):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            t0 = time.perf_counter()
            fns[name]()
            times[name].append((time.perf_counter() - t0) * 1000)
    # Milliseconds; p10/p90 show the spread a shared machine adds.
    return {n: {**latency_stats(times[n], (10, 90)), "warmup": int(warmup)} for n in names}


def latency(fn: Callable[[], Any], warmup: int = 5, runs: int = 50) -> dict[str, float]:
    """Milliseconds per call of ``fn`` after a warm-up: :func:`~poxscan.core.latency.latency_stats`
    with the 10th and 90th percentiles, and ``warmup``."""
    return latency_many({"fn": fn}, warmup=warmup, runs=runs)["fn"]
