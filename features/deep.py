"""Frozen deep features: the globally average-pooled embedding of an ImageNet backbone.

Each image is fitted to the backbone's input with :func:`poxscan.core.imageio.to_square`, scaled by
the backbone's own preprocessing, and run through the backbone without its classifier; the
1280 (EfficientNet-Lite) or 2048 (ResNet50V2) pooled activations are the features, named
``deep__<backbone>_<i>``.

The Keras model is built on first use and cached per process, keyed by backbone and weights
fingerprint; it is never pickled, so a saved pipeline holding a :class:`DeepFeatures` stays
small and rebuilds the model where it is loaded. TensorFlow is imported only when features are
computed.

The same embedding can come from a TensorFlow Lite export of the backbone
(``runtime="tflite-float32" | "tflite-float16" | "tflite-int8"`` with ``tflite_model`` the
``.tflite`` file written by ``poxscan export-tflite --backbone``), run by the LiteRT interpreter
(no TensorFlow): the feature names stay the same, the file's sha256 enters the fingerprint, so
the cache and saved models keep the two apart. An int8 file must have been calibrated on
training images only.

Two options change what is computed (their defaults keep the embedding, names and fingerprint
described above):

* ``layers="multi"`` pools, besides the head, the outputs of the last four MBConv stages
  (EfficientNet-Lite stages 4-7: 80/112/192/320 channels for Lite0, before the 1280-channel
  head convolution), from one multi-output model built on the same Keras graph; the columns are
  ``deep__<backbone>_<layer>_<i>`` with ``<layer>`` in ``stage4`` ... ``stage7``, ``head``.
  ``pooling="avgmax"`` adds the global maximum of each map (``<layer>max``; ``max`` for the
  head alone).
* ``tta=1`` averages each image's features with those of its horizontal mirror, ``tta=2``
  also with its vertical mirror (deterministic test-time augmentation of the embedding);
  ``tta=8`` averages over the eight symmetries of the square input (rotations by 0, 90, 180
  and 270 degrees, each also mirrored), so the embedding no longer depends on how the photo
  was turned or mirrored.
* ``orient="canonical"`` shows the network each photo in the pose fixed by its own pixels
  (:mod:`poxscan.features.orientation`): the same invariance to turns and mirrors as ``tta=8``
  at one forward pass instead of eight.
* ``smooth=3`` or ``5`` smooths the network's square input with a binomial kernel
  (:mod:`poxscan.features.smoothing`), meant to make a JPEG re-save change the embedding less
  (measured: little, at a cost in AUC; off by default).
* ``jpeg=q`` re-encodes the network's square input as JPEG at quality ``q`` and decodes it
  (:mod:`poxscan.features.recompression`), so a re-saved photo reaches the network nearly as
  the original does (measured: more decision flips, not fewer; off by default).
* ``downscale=n`` first brings each photo's shorter side to at most ``n`` pixels
  (:mod:`poxscan.features.resolution`), so that no photo carries more detail than the
  smallest ones and sharpness cannot stand in for a class (measured: a better transfer-rule
  value but more JPEG decision flips; off by default).
* ``scales=(0.875, 1.0, 1.125)`` averages the embedding over squares of those multiples of the
  backbone's input side (:mod:`poxscan.features.multiscale`; the network built for any input
  size, Keras runtime only), meant to make a JPEG re-save change the embedding less
  (measured: JPEG-85 flips 1.96 -> 1.22 %, short of 1 %, at three forward passes; off by
  default).

Several backbones side by side: ``backbone=["efficientnet-lite0", "efficientnet-lite1",
"efficientnet-lite2"]`` concatenates their embeddings (columns of each keep their own names).
:meth:`DeepFeatures.parts` gives one single-backbone extractor per backbone, and the feature
cache stores and reuses each of them under its own fingerprint, so a combination costs nothing
once its backbones are cached.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from os import PathLike
from typing import TYPE_CHECKING, Any

import numpy as np

from poxscan.features._base import ImageFeatureExtractor
from poxscan.features.backbones import BackboneSpec, get_backbone
from poxscan.features.multiscale import check_scales, scale_sizes
from poxscan.features.orientation import ORIENTATIONS, posed_squares
from poxscan.features.resolution import check_max_side
from poxscan.features.smoothing import SMOOTHINGS

if TYPE_CHECKING:
    import keras

__all__ = [
    "LAYERS",
    "MULTI_STAGES",
    "POOLINGS",
    "RUNTIMES",
    "TTAS",
    "DeepFeatures",
    "clear_model_cache",
]

#: Where the embedding is computed: None = the Keras model; else a TensorFlow Lite file.
RUNTIMES = (None, "tflite-float32", "tflite-float16", "tflite-int8")
#: Which activations are pooled: the head only, or the last stages and the head.
LAYERS = ("head", "multi")
#: Global pooling of each pooled map: average, or average and maximum side by side.
POOLINGS = ("avg", "avgmax")
#: Test-time augmentation: 0 none, 1 + horizontal mirror, 2 + horizontal and vertical mirrors,
#: 8 the eight symmetries of the square (four 90-degree turns, each also mirrored).
TTAS = (0, 1, 2, 8)
#: Stages (1-based, of seven) whose outputs ``layers="multi"`` pools besides the head.
MULTI_STAGES = (4, 5, 6, 7)

# (backbone, weights fingerprint[, layers, pooling]) -> built model; one per process, shared by
# all instances.
_MODELS: dict[tuple[str, ...], keras.Model] = {}
_LOCK = threading.Lock()


def clear_model_cache() -> None:
    """Forget every cached backbone model (frees memory; the next transform rebuilds)."""
    with _LOCK:
        _MODELS.clear()


class DeepFeatures(ImageFeatureExtractor):
    """Pooled embedding of a frozen ImageNet backbone.

    Parameters
    ----------
    backbone : str or sequence of str, default="efficientnet-lite0"
        A name from :data:`poxscan.features.backbones.BACKBONES`, or several: their embeddings
        are concatenated in the given order (real ImageNet weights and the Keras runtime only);
        ``"efficientnet-lite0+efficientnet-lite2"`` is the same as the list of the two, so a
        ``--backbone`` command-line option takes combinations.
    weights : str or path-like, optional
        ``None`` for the backbone's real ImageNet weights; otherwise a weights file (its hash
        becomes part of :meth:`fingerprint`).
    batch_size : int, default=32
        Images per forward pass.
    runtime : {None, "tflite-float32", "tflite-float16", "tflite-int8"}, default=None
        None: the Keras model. Otherwise the LiteRT interpreter runs ``tflite_model``, which
        must hold that quantisation.
    tflite_model : str or path-like, optional
        A backbone exported by ``poxscan export-tflite --backbone`` (RGB in [0, 255], pooled
        embedding out); required with a ``tflite-*`` runtime.
    num_threads : int, default=1
        LiteRT interpreter threads (does not change the features).
    layers : {"head", "multi"}, default="head"
        ``"head"``: the pooled head (``feature_dim`` columns). ``"multi"``: the pooled outputs
        of the stages :data:`MULTI_STAGES` and of the head, concatenated (EfficientNet-Lite
        only; Keras runtime only).
    pooling : {"avg", "avgmax"}, default="avg"
        Global average pooling, or average and max pooling concatenated (Keras runtime only).
    tta : {0, 1, 2, 8}, default=0
        Average the features over the image and its horizontal mirror (1), and its vertical
        mirror too (2), or over all eight rotations and mirrors of the square (8). Views are
        taken of the network's square input.
    color_constancy : {None, "shades_of_gray", "shades_of_gray:<p>"}, default=None
        Correct each image's colour cast first (:mod:`poxscan.features.color_constancy`).
    orient : {None, "canonical"}, default=None
        ``"canonical"``: turn and mirror each photo into its canonical pose
        (:func:`poxscan.features.orientation.canonical_pose`) before it is fitted to the
        network's square; needs ``tta=0`` (the eight-view average is already invariant).
    smooth : {0, 3, 5}, default=0
        Size of the binomial kernel that smooths the network's uint8 square input before the
        backbone's preprocessing (:func:`poxscan.features.smoothing.binomial_smooth`); 0: none.
    jpeg : int, default=0
        JPEG quality (1-95) at which the square input is re-encoded after any smoothing
        (:func:`poxscan.features.recompression.recompress`); 0: none.
    downscale : int, default=0
        Largest shorter side, in pixels, of the photo (after its pose, before it is fitted to
        the square; :func:`poxscan.features.resolution.cap_resolution`); 0: none.
    scales : sequence of float, optional
        Relative sizes of the square input (each ``round(scale * input_size)`` pixels) over
        which the embedding is averaged, with equal weights and after any ``tta`` views
        (:mod:`poxscan.features.multiscale`); None: the backbone's input size alone. Keras
        runtime only.

    Examples
    --------
    >>> import numpy as np
    >>> fx = DeepFeatures().fit([np.zeros((64, 64, 3), np.uint8)])
    >>> fx.get_feature_names_out()[0]
    'deep__efficientnet-lite0_0'
    """

    family = "deep"
    version = "1"
    #: Class default so a DeepFeatures pickled before ``orient`` existed still loads as None.
    orient: str | None = None
    #: Class default so a DeepFeatures pickled before ``smooth`` existed still loads as 0.
    smooth: int = 0
    #: Class default so a DeepFeatures pickled before ``jpeg`` existed still loads as 0.
    jpeg: int = 0
    #: Class default so a DeepFeatures pickled before ``downscale`` existed still loads as 0.
    downscale: int = 0
    #: Class default so a DeepFeatures pickled before ``scales`` existed still loads as None.
    scales: tuple[float, ...] | None = None

    def __init__(
        self,
        backbone: str = "efficientnet-lite0",
        weights: str | PathLike | None = None,
        batch_size: int = 32,
        runtime: str | None = None,
        tflite_model: str | PathLike | None = None,
        num_threads: int = 1,
        layers: str = "head",
        pooling: str = "avg",
        tta: int = 0,
        color_constancy: str | None = None,
        orient: str | None = None,
        smooth: int = 0,
        jpeg: int = 0,
        downscale: int = 0,
        scales: Sequence[float] | None = None,
    ) -> None:
        self.backbone = backbone
        self.weights = weights
        self.batch_size = batch_size
        self.runtime = runtime
        self.tflite_model = tflite_model
        self.num_threads = num_threads
        self.layers = layers
        self.pooling = pooling
        self.tta = tta
        self.color_constancy = color_constancy
        self.orient = orient
        self.smooth = smooth
        self.jpeg = jpeg
        self.downscale = downscale
        self.scales = scales

    # -- several backbones ------------------------------------------------------------------
    def _backbone_names(self) -> list[str]:
        if isinstance(self.backbone, str):
            return [b.strip() for b in self.backbone.split("+")]
        return [str(b) for b in self.backbone]

    def is_multi(self) -> bool:
        """Whether ``backbone`` names several backbones (a sequence, or ``"a+b"``)."""
        return not isinstance(self.backbone, str) or "+" in self.backbone

    def parts(self) -> list[DeepFeatures]:
        """One single-backbone extractor per backbone (just ``[self]`` for one backbone)."""
        if not self.is_multi():
            return [self]
        names = self._backbone_names()
        if not names or not all(names):
            raise ValueError("backbone: expected at least one backbone name")
        if len({get_backbone(b).name for b in names}) != len(names):
            raise ValueError(f"backbone: {names} names a backbone twice")
        if self.weights is not None or self.runtime is not None:
            raise ValueError(
                "several backbones take their own ImageNet weights and the Keras runtime "
                "(weights=None, runtime=None)"
            )
        params = self.get_params(deep=False)
        params.pop("backbone")
        return [DeepFeatures(backbone=b, **params) for b in names]

    # -- helpers ----------------------------------------------------------------------------
    def _spec(self) -> BackboneSpec:
        return get_backbone(self.backbone)

    def _keras_weights(self) -> str:
        return "imagenet" if self.weights is None else str(self.weights)

    def _is_default_embedding(self) -> bool:
        return self.layers == "head" and self.pooling == "avg"

    def _pooled_layers(self) -> list[tuple[str, str | None, int]]:
        """``(name tag, Keras layer or None for the head, channels)`` of each pooled map."""
        spec = self._spec()
        if self.layers == "head":
            return [("", None, spec.feature_dim)]
        if not spec.stages:
            raise ValueError(f"layers='multi' is not available for backbone {spec.name!r}")
        out: list[tuple[str, str | None, int]] = [
            (f"stage{s}", spec.stages[s - 1][0], spec.stages[s - 1][1]) for s in MULTI_STAGES
        ]
        return [*out, ("head", None, spec.feature_dim)]

    def _model(self) -> keras.Model:
        spec = self._spec()
        weights = self._keras_weights()
        key: tuple[str, ...] = (spec.name, spec.weights_fingerprint(weights))
        if not self._is_default_embedding():
            key = (*key, str(self.layers), str(self.pooling))
        # Several scales need one network for every input size (the same weights).
        shape = {"input_shape": (None, None, 3)} if self.scales is not None else {}
        if shape:
            key = (*key, "any-size")
        with _LOCK:
            model = _MODELS.get(key)
            if model is None:
                if self._is_default_embedding():
                    model = spec.build(include_top=False, weights=weights, pooling="avg", **shape)
                else:
                    model = self._build_pooled(spec, weights, **shape)
                model.trainable = False
                _MODELS[key] = model
        return model

    def _build_pooled(self, spec: BackboneSpec, weights: str, **kwargs: Any) -> keras.Model:
        """One model on the backbone's graph whose outputs are the pooled maps, in name order."""
        import keras

        base = spec.build(include_top=False, weights=weights, pooling=None, **kwargs)
        outputs = []
        for tag, layer, _channels in self._pooled_layers():
            fmap = base.output if layer is None else base.get_layer(layer).output
            label = tag or "head"
            outputs.append(keras.layers.GlobalAveragePooling2D(name=f"{label}_avg")(fmap))
            if self.pooling == "avgmax":
                outputs.append(keras.layers.GlobalMaxPooling2D(name=f"{label}_max")(fmap))
        merged = outputs[0] if len(outputs) == 1 else keras.layers.Concatenate()(outputs)
        return keras.Model(base.input, merged, name=f"{base.name}_{self.layers}_{self.pooling}")

    def _check_options(self) -> None:
        if self.layers not in LAYERS:
            raise ValueError(f"unknown layers {self.layers!r}; use one of {LAYERS}")
        if self.pooling not in POOLINGS:
            raise ValueError(f"unknown pooling {self.pooling!r}; use one of {POOLINGS}")
        if isinstance(self.tta, bool) or self.tta not in TTAS:
            raise ValueError(f"tta must be one of {TTAS}, got {self.tta!r}")
        if self.orient not in ORIENTATIONS:
            raise ValueError(f"unknown orient {self.orient!r}; use one of {ORIENTATIONS}")
        if isinstance(self.smooth, bool) or self.smooth not in SMOOTHINGS:
            raise ValueError(f"smooth must be one of {SMOOTHINGS}, got {self.smooth!r}")
        if isinstance(self.jpeg, bool) or self.jpeg not in range(96):
            raise ValueError(f"jpeg must be a quality in 1-95 (0: none), got {self.jpeg!r}")
        check_max_side(self.downscale)
        check_scales(self.scales)
        if self.runtime is not None and self.scales is not None:
            raise ValueError(
                f"runtime {self.runtime!r} runs one fixed input size; scales need the Keras "
                "runtime (runtime=None)"
            )
        if self.orient is not None and self.tta:
            raise ValueError(
                f"orient={self.orient!r} with tta={self.tta}: the canonical pose replaces the "
                "test-time views (use tta=0)"
            )
        if self.runtime is not None and not self._is_default_embedding():
            raise ValueError(
                f"runtime {self.runtime!r} computes the head's average-pooled embedding only; "
                "layers='multi' and pooling='avgmax' need the Keras runtime (runtime=None)"
            )

    def _check_runtime(self) -> None:
        self._check_options()
        if self.runtime not in RUNTIMES:
            raise ValueError(f"unknown runtime {self.runtime!r}; use one of {RUNTIMES}")
        if self.runtime is None and self.tflite_model is not None:
            raise ValueError("tflite_model is given but runtime is None; name a 'tflite-*' runtime")
        if self.runtime is not None and self.tflite_model is None:
            raise ValueError(
                f"runtime {self.runtime!r} needs tflite_model: a backbone exported with "
                "`poxscan export-tflite --backbone ...` (int8: calibrated on training images)"
            )

    def _tflite(self):
        from poxscan.features.backbones import weights_file_sha256
        from poxscan.features.litert_runtime import LiteRTModel

        spec = self._spec()
        key = (spec.name, f"{self.runtime}:{weights_file_sha256(self.tflite_model)}")
        key = (*key, f"threads={int(self.num_threads)}")
        with _LOCK:
            runner = _MODELS.get(key)
            if runner is None:
                runner = LiteRTModel(self.tflite_model, num_threads=int(self.num_threads))
                want = str(self.runtime).removeprefix("tflite-")
                problems = []
                if runner.quantization != want:
                    problems.append(f"holds a {runner.quantization} model, runtime wants {want}")
                # The input size is the file's (a phone model may use fewer pixels; its hash
                # keeps its features apart); the embedding must be the backbone's.
                if runner.output_dim != spec.feature_dim:
                    problems.append(
                        f"gives {runner.output_dim} values per image, {spec.name}'s embedding "
                        f"has {spec.feature_dim}"
                    )
                if problems:
                    raise ValueError(f"{self.tflite_model}: {'; '.join(problems)}")
                _MODELS[key] = runner
        return runner

    # -- ImageFeatureExtractor --------------------------------------------------------------
    def _feature_names(self) -> list[str]:
        if self.is_multi():
            return [n for part in self.parts() for n in part._feature_names()]
        self._check_options()
        spec = self._spec()
        names: list[str] = []
        for tag, _layer, channels in self._pooled_layers():
            kinds = [tag] + ([f"{tag}max" if tag else "max"] if self.pooling == "avgmax" else [])
            for kind in kinds:
                prefix = f"{spec.name}_{kind}_" if kind else f"{spec.name}_"
                names.extend(f"{prefix}{i}" for i in range(channels))
        return names

    def _views(self, batch: np.ndarray) -> list[np.ndarray]:
        """The batch and, for TTA, its mirrors (axis 1 = rows, axis 2 = columns)."""
        if self.tta == 8:
            turns = [np.ascontiguousarray(np.rot90(batch, k, axes=(1, 2))) for k in range(4)]
            return turns + [np.ascontiguousarray(t[:, :, ::-1]) for t in turns]
        views = [batch]
        if self.tta >= 1:
            views.append(np.ascontiguousarray(batch[:, :, ::-1]))  # horizontal mirror
        if self.tta >= 2:
            views.append(np.ascontiguousarray(batch[:, ::-1]))  # vertical mirror
        return views

    def _transform_batch(self, images: list[np.ndarray]) -> np.ndarray:
        if self.is_multi():
            # Colour constancy (if any) was applied once by transform(); the parts compute raw.
            return np.hstack([part._transform_batch(images) for part in self.parts()])
        if not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {self.batch_size!r}")
        self._check_runtime()
        spec = self._spec()
        if self.runtime is not None:
            # The exported model scales pixels itself: feed the uint8 centre squares.
            runner = self._tflite()
            size = runner.image_size
            squares = posed_squares(
                list(images), size, self.orient, self.smooth, self.jpeg, self.downscale
            )
            views = [np.asarray(runner.run(v), dtype=np.float32) for v in self._views(squares)]
            return views[0] if len(views) == 1 else np.mean(views, axis=0)
        model = self._model()
        width = sum(c for _t, _l, c in self._pooled_layers()) * (
            2 if self.pooling == "avgmax" else 1
        )
        out = np.empty((len(images), width), dtype=np.float32)
        for start in range(0, len(images), self.batch_size):
            chunk: Sequence[np.ndarray] = images[start : start + self.batch_size]
            views = []
            for size in scale_sizes(spec.input_size, self.scales):
                x = spec.preprocess(
                    posed_squares(
                        list(chunk),
                        size,
                        self.orient,
                        self.smooth,
                        self.jpeg,
                        self.downscale,
                    )
                )
                # predict_on_batch runs a compiled graph in inference mode: about 8x faster than
                # an eager model(x) call at batch 1, and free of model.predict's per-call data
                # pipeline. Each mirror is its own call, so every call keeps the batch shape of
                # tta=0; every scale too (its own input size).
                views += [np.asarray(model.predict_on_batch(v)) for v in self._views(x)]
            out[start : start + len(chunk)] = views[0] if len(views) == 1 else np.mean(views, 0)
        return out

    def _fingerprint_params(self) -> dict[str, Any]:
        if self.is_multi():
            return {"backbones": [part._fingerprint_params() for part in self.parts()]}
        self._check_runtime()
        params = self.get_params(deep=False)
        # batch_size and num_threads do not change what is computed.
        params.pop("batch_size", None)
        params.pop("num_threads", None)
        # The default options keep the fingerprint they had before the options existed, so the
        # cached default features and saved models stay valid.
        for name, default in (
            ("layers", "head"),
            ("pooling", "avg"),
            ("tta", 0),
            ("color_constancy", None),
            ("orient", None),
            ("smooth", 0),
            ("jpeg", 0),
            ("downscale", 0),
            ("scales", None),
        ):
            if params.get(name) == default and not isinstance(params.get(name), bool):
                params.pop(name)
        for name in ("tta", "smooth", "jpeg", "downscale"):
            if name in params:
                params[name] = int(params[name])  # np.int64(1) and 1 compute the same
        if "scales" in params:
            params["scales"] = [float(s) for s in params["scales"]]  # (1, 1.125) = [1.0, 1.125]
        tflite = params.pop("tflite_model", None)
        if params.get("runtime") is None:
            # The Keras runtime keeps the fingerprint it had before runtimes existed.
            params.pop("runtime", None)
        else:
            from poxscan.features.backbones import weights_file_sha256

            # The exported file is what computes the features: identified by its hash.
            params["tflite_sha256"] = weights_file_sha256(tflite)
        params["backbone"] = self._spec().name  # one spelling per backbone
        # The weights are identified by their hash, not by where the file happens to lie.
        params["weights"] = "default" if self.weights is None else "file"
        params["weights_fingerprint"] = self._spec().weights_fingerprint(self._keras_weights())
        return params

    def __getstate__(self) -> dict[str, Any]:
        # Never pickle a model: a saved pipeline rebuilds it from the weights where it is loaded.
        state = dict(super().__getstate__())  # a copy: never alter the live instance
        for key in [k for k in state if k.startswith("_model")]:
            state.pop(key)
        return state
