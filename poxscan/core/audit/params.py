"""The audit's parameters and result types."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

#: Where ``poxscan data audit`` writes by default: a folder in the working directory (the
#: repository keeps its committed run under ``experiments/results/audit``).
DEFAULT_OUT = Path("audit")
#: Labels that name a mixed class: "other" in MSLD is chickenpox or measles, so a link from
#: "other" to either is a difference of naming, not a contradiction.
_COMPATIBLE = {frozenset({"other", "chickenpox"}), frozenset({"other", "measles"})}

Progress = Callable[..., Iterable[Any]]
#: Images -> one descriptor row per image (a feature extractor's ``fit_transform``).
Embedder = Callable[[list[np.ndarray]], np.ndarray]

#: Columns of ``links.csv``.
LINK_COLUMNS = [
    "id_a", "id_b", "kind", "inliers", "matches", "inlier_ratio", "scale", "angle", "anisotropy",
    "mirrored", "coverage", "ncc", "overlap", "exact", "dhash_distance", "scope", "label_a",
    "label_b", "same_patient", "binary_conflict", "label_conflict", "naming_conflict",
]  # fmt: skip


@dataclass(frozen=True)
class AuditParams:
    """Every knob of the audit, recorded in ``audit.json``.

    Parameters
    ----------
    work_size : int
        Longest side, in pixels, that images are shrunk to before matching (never enlarged).
    n_features : int
        Most SIFT keypoints kept per image (strongest first).
    contrast_threshold : float
        SIFT's contrast threshold; lower than OpenCV's 0.04 because skin photos are smooth and
        the thumbnails small (at 0.04 the median image has fewer than 100 keypoints).
    n_neighbors : int
        Neighbours each descriptor looks up in the global index.
    vote_ratio : float
        A neighbour votes for its image when its distance is below ``vote_ratio`` times the
        distance of the farthest neighbour looked up (a ratio test against the crowd).
    n_candidates : int
        Images, per image and orientation, passed on to geometric verification.
    ratio : float
        Lowe's ratio for pairwise matching.
    ransac_threshold : float
        RANSAC reprojection threshold, as a fraction of the target image's longest working side
        (at least 2 px).
    max_anisotropy : float
        Largest stretch of one axis against the other that a full affine map may have (MSLD
        squeezed its crops into 224 x 224 squares); 1 allows similarity transforms only.
    min_inliers : int
        Fewest RANSAC inliers of a duplicate link.
    min_ncc : float
        Least normalised cross-correlation of the grey levels, over the overlap, once one image
        is mapped onto the other: a duplicate link's pixels must agree.
    min_overlap : float
        Least overlap, as a fraction of the smaller-scale image, of a duplicate link.
    scene_min_inliers : int
        Fewest inliers of a same-scene link (geometry alone: an edited copy, or another photo
        of the same body part, whose pixels do not agree closely).
    scene_min_inlier_ratio : float
        Fewest inliers per ratio-test match of a same-scene link.
    scene_min_coverage : float
        Least area of the inliers' convex hull, as a fraction of the image, in the better
        covered of the two images, for a same-scene link (not a watermark in a corner).
    max_scale : float
        Largest scale change (either way) of a plausible link.
    dhash_max_distance : int
        Hamming distance up to which the 64-bit dHash calls two images the same (for the
        comparison with perceptual hashing only; dHash links are not used for groups).
    """

    work_size: int = 512
    n_features: int = 1000
    contrast_threshold: float = 0.01
    n_neighbors: int = 8
    vote_ratio: float = 0.8
    n_candidates: int = 12
    ratio: float = 0.8
    ransac_threshold: float = 0.012
    max_anisotropy: float = 1.6
    min_inliers: int = 5
    min_ncc: float = 0.9
    min_overlap: float = 0.01
    scene_min_inliers: int = 20
    scene_min_inlier_ratio: float = 0.5
    scene_min_coverage: float = 0.05
    max_scale: float = 8.0
    dhash_max_distance: int = 10


@dataclass
class ImageFeatures:
    """What the audit keeps of one image: keypoints of it and of its mirror, hashes."""

    id: str
    shape: tuple[int, int]
    work_shape: tuple[int, int]
    factor: float
    points: np.ndarray
    descriptors: np.ndarray
    mirror_points: np.ndarray
    mirror_descriptors: np.ndarray
    grey: np.ndarray
    pixel_hash: str
    file_hash: str
    dhash: int
    dhash_mirror: int


@dataclass(frozen=True)
class PairMatch:
    """Result of verifying one pair, linked or not.

    ``scale`` maps image a's pixels onto image b's at original resolution (2.0: the content
    is twice as large in b; the square root of the map's determinant when it is affine);
    ``mirrored`` says the match needed b's mirror image; ``ncc`` and ``overlap`` come from
    :func:`photometric_agreement`; ``coverage`` is the area of the inliers' convex hull as a
    fraction of the better covered image.
    """

    inliers: int
    matches: int
    inlier_ratio: float
    scale: float
    angle: float
    anisotropy: float
    mirrored: bool
    coverage: float
    ncc: float
    overlap: float

    def kind(self, params: AuditParams) -> str:
        """``"duplicate"``, ``"same_scene"`` or ``""`` (no link) under ``params``.

        A duplicate is a crop, rescale or mirror image of the same photo: enough inliers and
        pixels that agree. A same-scene link rests on geometry alone: many inliers, most of
        the matches, spread over the image. It catches edited copies (an inset pasted on, a
        black bar) and a second photo of the same body part taken moments later.
        """
        if not 1.0 / params.max_scale <= self.scale <= params.max_scale:
            return ""
        if (
            self.inliers >= params.min_inliers
            and self.ncc >= params.min_ncc
            and self.overlap >= params.min_overlap
        ):
            return "duplicate"
        if (
            self.inliers >= params.scene_min_inliers
            and self.inlier_ratio >= params.scene_min_inlier_ratio
            and self.coverage >= params.scene_min_coverage
        ):
            return "same_scene"
        return ""

    def passes(self, params: AuditParams) -> bool:
        """Whether this match is a link under ``params``."""
        return bool(self.kind(params))


@dataclass
class AuditResult:
    """Everything the audit found.

    Attributes
    ----------
    images : DataFrame
        One row per image: id, dataset, patient, group, cls, label, y, width, height.
    links : DataFrame
        One row per linked pair (id_a < id_b), columns :data:`LINK_COLUMNS`: kind
        (``duplicate``, ``same_scene``, ``exact``), the :class:`PairMatch` figures, exact,
        dhash_distance, scope (``within <dataset>`` or ``across``), label_a, label_b,
        same_patient, binary_conflict (mpox vs not), label_conflict (any multi-class
        difference) and naming_conflict (a difference not explained by MSLD's mixed "other").
    candidates : DataFrame
        Every verified candidate pair with its scores, linked or not (for calibration).
    summary : dict
        The figures of ``audit.json``.
    params : AuditParams
    failed : dict
        Image id -> why it could not be read.
    hash_comparison : dict
        How many links exact and perceptual hashes find.
    manifest : dict
        Per dataset: the manifest's checksum and the checksum of the files read.
    timings : dict
        Seconds per stage.
    """

    images: pd.DataFrame
    links: pd.DataFrame
    candidates: pd.DataFrame
    summary: dict[str, Any]
    params: AuditParams
    failed: dict[str, str] = field(default_factory=dict)
    hash_comparison: dict[str, Any] = field(default_factory=dict)
    manifest: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def groups(self) -> pd.Series:
        """Group id per image id."""
        return self.images.set_index("id")["group"]

    def summary_text(self) -> str:
        """The summary figures as a few lines a person reads."""
        s = self.summary
        lines = [
            f"images: {s['n_images']} ({s['n_failed']} unreadable)",
            f"groups: {s['n_groups']} (largest {s['largest_group']} images; "
            f"{s['n_patients']} patient ids before linking)",
            f"near-duplicate links: {s['n_links']} "
            f"(within msld_v1 {s['links_within'].get('msld_v1', 0)}, "
            f"within ahsan2022 {s['links_within'].get('ahsan2022', 0)}, "
            f"across sets {s['links_across']})",
            f"  within a set between different patient ids: {s['links_cross_patient']}",
            f"label conflicts: binary {s['binary_conflicts']}, multi-class "
            f"{s['label_conflicts']} (of which 'other' vs chickenpox/measles "
            f"{s['label_conflicts'] - s['naming_conflicts']})",
            f"exact duplicates: {s['exact_duplicate_pairs']} pixel-identical pairs "
            f"({s['file_duplicate_pairs']} byte-identical files)",
            f"images in a group with another set: {s['images_in_cross_set_groups']}",
        ]
        return "\n".join(lines)
