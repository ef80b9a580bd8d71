"""Run a TensorFlow Lite (LiteRT) model: the backbones and CNNs exported by poxscan.

Every ``.tflite`` file poxscan exports (:mod:`poxscan.pipelines.tflite`) has one float32 input
``(1, s, s, 3)``: RGB in ``[0, 255]``, the image's centre square; the backbone's own input
scaling is inside the model. Its output is the pooled embedding (backbones) or P(mpox) (CNNs),
float32. Full-integer models keep float32 input and output with int8 inside; a model with int8
or uint8 input/output (from elsewhere) is handled too, by (de)quantising with its tensors'
scale and zero point.

:class:`LiteRTModel` wraps ``ai_edge_litert.interpreter.Interpreter`` with an explicit
thread count, runs batches one image at a time (the exported batch size), and is safe to
share between threads (calls are serialised: an interpreter is not re-entrant). Only the
LiteRT package is imported, never TensorFlow (nor scikit-learn).

:func:`open_backbone` and :func:`embed_images` are the int8 backbone of a lite model directory
at prediction time: the hash-checked interpreter (one per process, file and thread count) and
the image's centre square through it. :class:`poxscan.features.lite_deep.LiteDeepFeatures`
and the scikit-learn-free predictor (:mod:`poxscan.pipelines.lite_head`) both call them, so the
deep features are computed by one implementation.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from os import PathLike
from pathlib import Path

import numpy as np

__all__ = [
    "LITE_DEEP_VERSION",
    "LiteRTModel",
    "embed_images",
    "lite_fingerprint",
    "open_backbone",
    "tflite_quantization",
]

#: Code version of :class:`poxscan.features.lite_deep.LiteDeepFeatures` (part of its fingerprint).
LITE_DEEP_VERSION = "1"


def _interpreter_class():
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError as exc:  # pragma: no cover - an install problem, not a code path
        raise ImportError(
            "running TensorFlow Lite models needs the ai-edge-litert package "
            "(pip install 'poxscan[deep]')"
        ) from exc
    return Interpreter


def tflite_quantization(interpreter) -> str:
    """``"int8"``, ``"float16"`` or ``"float32"``: how a loaded model stores its weights.

    int8: it holds int8 (or uint8) tensors; float16: float16 constants (dequantised at run
    time); float32 otherwise.
    """
    dtypes = {np.dtype(t["dtype"]) for t in interpreter.get_tensor_details()}
    if np.dtype(np.int8) in dtypes or np.dtype(np.uint8) in dtypes:
        return "int8"
    if np.dtype(np.float16) in dtypes:
        return "float16"
    return "float32"


class LiteRTModel:
    """A ``.tflite`` model ready to run.

    Parameters
    ----------
    model : path-like or bytes
        The ``.tflite`` file or its content.
    num_threads : int, default=1
        Threads of the interpreter's CPU kernels (XNNPACK), set explicitly.

    Attributes
    ----------
    input_shape : tuple of int
        ``(1, s, s, 3)``.
    output_dim : int
        Width of the output (embedding size, or 1 for P(mpox)).
    quantization : str
        See :func:`tflite_quantization`.
    sha256 : str
        Of the model's bytes.
    size_bytes : int
    """

    def __init__(self, model: str | PathLike | bytes, num_threads: int = 1) -> None:
        if isinstance(model, bytes | bytearray):
            content = bytes(model)
            self.path = None
        else:
            self.path = Path(model)
            if not self.path.is_file():
                raise FileNotFoundError(f"{self.path}: TensorFlow Lite model not found")
            content = self.path.read_bytes()
        if int(num_threads) < 1:
            raise ValueError(f"num_threads must be at least 1, got {num_threads}")
        self.num_threads = int(num_threads)
        self.size_bytes = len(content)
        self.sha256 = hashlib.sha256(content).hexdigest()
        try:
            self._interpreter = _interpreter_class()(
                model_content=content, num_threads=self.num_threads
            )
            self._interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            where = self.path or "<bytes>"
            raise ValueError(f"{where}: not a usable TensorFlow Lite model ({exc})") from None
        inputs = self._interpreter.get_input_details()
        outputs = self._interpreter.get_output_details()
        if len(inputs) != 1 or len(outputs) != 1:
            raise ValueError(
                f"{self.path or '<bytes>'}: expected one input and one output, got "
                f"{len(inputs)} and {len(outputs)}"
            )
        self._in, self._out = inputs[0], outputs[0]
        self.input_shape = tuple(int(d) for d in self._in["shape"])
        if len(self.input_shape) != 4 or self.input_shape[-1] != 3:
            raise ValueError(
                f"{self.path or '<bytes>'}: expected an image input (1, s, s, 3), got "
                f"{self.input_shape}"
            )
        self.output_dim = int(np.prod(self._out["shape"][1:]))
        self.quantization = tflite_quantization(self._interpreter)
        self._lock = threading.Lock()

    @property
    def image_size(self) -> int:
        """Side of the square input."""
        return self.input_shape[1]

    @property
    def io_types(self) -> tuple[str, str]:
        """dtype names of the input and the output tensors."""
        return np.dtype(self._in["dtype"]).name, np.dtype(self._out["dtype"]).name

    def _quantize(self, x: np.ndarray) -> np.ndarray:
        dtype = np.dtype(self._in["dtype"])
        if dtype.kind == "f":
            return x.astype(dtype)
        scale, zero = self._in["quantization"]
        info = np.iinfo(dtype)
        return np.clip(np.round(x / scale + zero), info.min, info.max).astype(dtype)

    def _dequantize(self, y: np.ndarray) -> np.ndarray:
        if np.dtype(self._out["dtype"]).kind == "f":
            return y.astype(np.float32)
        scale, zero = self._out["quantization"]
        return ((y.astype(np.float32) - zero) * scale).astype(np.float32)

    def run(self, batch: np.ndarray) -> np.ndarray:
        """Outputs of a batch of images, one forward pass per image.

        Parameters
        ----------
        batch : ndarray, shape (n, s, s, 3)
            RGB in ``[0, 255]`` (uint8 or float), already fitted to the input square.

        Returns
        -------
        ndarray of float32, shape (n, output_dim)
        """
        batch = np.asarray(batch)
        expected = self.input_shape[1:]
        if batch.ndim != 4 or batch.shape[1:] != expected:
            raise ValueError(
                f"expected images of shape (n, {', '.join(map(str, expected))}), got {batch.shape}"
            )
        out = np.empty((len(batch), self.output_dim), dtype=np.float32)
        with self._lock:
            for i in range(len(batch)):
                x = self._quantize(batch[i : i + 1].astype(np.float32))
                self._interpreter.set_tensor(self._in["index"], x)
                self._interpreter.invoke()
                y = self._interpreter.get_tensor(self._out["index"])
                out[i] = self._dequantize(y).reshape(-1)
        return out


# (sha256, threads) -> LiteRTModel; one interpreter per process and file.
_BACKBONES: dict[tuple[str, int], LiteRTModel] = {}
_BACKBONES_LOCK = threading.Lock()


def open_backbone(
    content: bytes | Callable[[], bytes],
    *,
    sha256: str,
    where: str | PathLike,
    quantization: str = "int8",
    feature_dim: int = 1280,
    num_threads: int = 1,
) -> LiteRTModel:
    """The interpreter of an embedding backbone whose bytes must have sha256 ``sha256``.

    Interpreters are cached per process by ``(sha256, num_threads)``; the first call reads the
    bytes (``content``, or what calling it returns), hashes them and parses those very bytes.

    Raises
    ------
    ValueError
        The bytes' sha256 differs (nothing is parsed), or the model is not a ``quantization``
        backbone with ``feature_dim`` outputs.
    """
    key = (str(sha256), int(num_threads))
    with _BACKBONES_LOCK:
        runner = _BACKBONES.get(key)
        if runner is not None:
            return runner
        data = content() if callable(content) else content
        actual = hashlib.sha256(data).hexdigest()
        if actual != sha256:
            raise ValueError(
                f"{where}: sha256 {actual} differs from the recorded {sha256}; refusing to run it"
            )
        runner = LiteRTModel(data, num_threads=int(num_threads))
        runner.path = Path(where)
        if runner.quantization != quantization or runner.output_dim != int(feature_dim):
            raise ValueError(
                f"{where}: holds a {runner.quantization} model with {runner.output_dim} "
                f"outputs; expected {quantization} with {feature_dim}"
            )
        _BACKBONES[key] = runner
    return runner


def embed_images(
    runner: LiteRTModel, images: list[np.ndarray], orient: str | None = None
) -> np.ndarray:
    """Pooled embeddings of RGB uint8 images: each one's centre square through ``runner``.

    ``orient="canonical"`` first turns each photo into its canonical pose
    (:func:`poxscan.features.orientation.canonical_pose`).

    Returns
    -------
    ndarray of float32, shape (n, output_dim)
    """
    from poxscan.features.orientation import posed_squares

    squares = posed_squares(list(images), runner.image_size, orient)
    return np.asarray(runner.run(squares), dtype=np.float32)


def lite_fingerprint(
    *,
    backbone: str,
    tflite_sha256: str,
    feature_dim: int,
    quantization: str = "int8",
    orient: str | None = None,
) -> str:
    """``LiteDeepFeatures(...).fingerprint()`` computed without building the extractor.

    The same payload as :meth:`poxscan.features._base.ImageFeatureExtractor.fingerprint` (class,
    version, the parameters that change the features), for the loader that imports no
    scikit-learn; a test checks the two agree.
    """
    import json

    payload = {
        "class": "poxscan.features.lite_deep.LiteDeepFeatures",
        "version": LITE_DEEP_VERSION,
        "params": {
            "backbone": backbone,
            "tflite_sha256": tflite_sha256,
            "feature_dim": int(feature_dim),
            "quantization": quantization,
            # Present only when set, so lite models saved before it keep their fingerprint.
            **({"orient": orient} if orient is not None else {}),
        },
    }
    text = json.dumps(payload, sort_keys=True, default=str)
    return f"deep-{hashlib.sha256(text.encode()).hexdigest()[:16]}"
