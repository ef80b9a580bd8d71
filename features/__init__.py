"""Feature extractors: colour, texture, HOG and frozen deep embeddings, as sklearn transformers.

Each extractor maps a batch of RGB uint8 images to a named float32 matrix whose columns start
with the family's name (``color__``, ``texture__``, ``hog__``, ``deep__``). Every name is
imported lazily (PEP 562), so that importing this package, or a module of it such as
:mod:`poxscan.features.litert_runtime`, imports neither TensorFlow nor scikit-learn.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from poxscan.features._base import ImageFeatureExtractor, check_images
    from poxscan.features.color import ColorFeatures
    from poxscan.features.deep import DeepFeatures
    from poxscan.features.hog import HOGFeatures
    from poxscan.features.texture import TextureFeatures

__all__ = [
    "DEFAULT_PARAMS",
    "FAMILIES",
    "ColorFeatures",
    "DeepFeatures",
    "HOGFeatures",
    "ImageFeatureExtractor",
    "TextureFeatures",
    "check_images",
    "make_extractor",
]

#: Family name -> "module:class" of its extractor.
FAMILIES: dict[str, str] = {
    "color": "poxscan.features.color:ColorFeatures",
    "texture": "poxscan.features.texture:TextureFeatures",
    "hog": "poxscan.features.hog:HOGFeatures",
    "deep": "poxscan.features.deep:DeepFeatures",
}
_CLASS_TO_FAMILY = {target.split(":")[1]: family for family, target in FAMILIES.items()}
#: Parameters each family is built with when a caller names only the family (e.g.
#: ``load_feature_table(records, ["color", "deep"])``); anything else uses the class defaults.
DEFAULT_PARAMS: dict[str, dict[str, Any]] = {
    "color": {},
    "texture": {},
    "hog": {},
    "deep": {"backbone": "efficientnet-lite0"},
}


def _load(family: str) -> type[ImageFeatureExtractor]:
    if family not in FAMILIES:
        raise KeyError(f"unknown feature family {family!r}; known: {sorted(FAMILIES)}")
    module, cls = FAMILIES[family].split(":")
    return getattr(importlib.import_module(module), cls)


def make_extractor(family: str, **params: Any) -> ImageFeatureExtractor:
    """Build the extractor of a family with the given parameters."""
    return _load(family)(**params)


def __getattr__(name: str) -> Any:
    if name in _CLASS_TO_FAMILY:
        return _load(_CLASS_TO_FAMILY[name])
    if name in ("ImageFeatureExtractor", "check_images"):
        # The transformer base imports scikit-learn: only when someone asks for it.
        from poxscan.features import _base

        return getattr(_base, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
