"""Leakage audit: near-duplicate images within and across datasets, merged with patient ids.

The public mpox sets share source photos as crops, rescales and mirror images, sometimes under
other class names, and MSLD holds several photos per patient. A split that puts one copy in
training and another in testing leaks. This module finds such copies and turns them, together
with the patient ids, into one group id per image, which :func:`poxscan.data.load_groups`
hands to every split.

How a near-duplicate is found
-----------------------------
1. Every image is loaded by :func:`poxscan.imageio.load_image` and shrunk to a working size
   (longest side ``work_size``). SIFT keypoints are computed on its grey levels, and again on its
   mirror image; descriptors are turned into RootSIFT (L1-normalised square roots), which match
   more reliably than raw SIFT under the Euclidean distance.
2. Candidates: one FLANN index over the descriptors of every image. Each descriptor of each
   image (and of its mirror) looks up its nearest neighbours and votes for the images they
   belong to when the neighbour is distinctly closer than the rest of the list; the
   ``n_candidates`` images with most votes become candidates: about 7 000 pairs to verify for
   the 409 images of both sets instead of all 83 000 (``experiments/audit_recall.py`` checks
   that verifying all of them finds no further link).
3. Verification: Lowe's ratio test between the two images' descriptors, then RANSAC fits a
   similarity transform (rotation, uniform scale, translation: what cropping, rescaling and
   mirroring do) with :func:`cv2.estimateAffinePartial2D`, or a full affine map when that
   explains clearly more matches with little stretch (MSLD squeezed crops into 224 x 224).
   Then the pixels are compared: one image is warped onto the other and the normalised
   cross-correlation (NCC) of their grey levels over the overlap is measured.
4. A pair is linked as a ``duplicate`` when it has ``min_inliers`` inliers and its pixels agree
   (``ncc >= min_ncc``): a crop, rescale, mirror, grey or brightness change of one photo. It is
   linked as ``same_scene`` on geometry alone when ``scene_min_inliers`` inliers make up at
   least ``scene_min_inlier_ratio`` of the matches, spread over the image: an edited copy (an
   inset or a black bar pasted on) or another photo of the same body part moments later.
   Pixel-identical images are linked whatever SIFT says (``exact``).
   The bars were set on these data by looking at the pairs around them; ``summary.md`` says
   how.

Links and patient ids are merged by union-find into connected components, named ``g0001``,
``g0002``, ... in the order of each component's smallest image id, so that names are stable
across runs.
"""

from __future__ import annotations

import io
import itertools
import json
import logging
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from poxscan.atomic import atomic_write_bytes, atomic_write_text
from poxscan.data import (
    DatasetSpec,
    content_checksum,
    file_sha256,
    load_manifest,
    load_records,
)
from poxscan.imageio import ImageLoadError, image_hash, load_image

__all__ = [
    "DEFAULT_OUT",
    "LINK_COLUMNS",
    "AuditParams",
    "AuditResult",
    "ImageFeatures",
    "PairMatch",
    "dhash",
    "embedding_candidates",
    "extract_features",
    "find_candidates",
    "group_ids",
    "photometric_agreement",
    "render_contact_sheet",
    "run_audit",
    "verify_pair",
    "write_audit",
]

log = logging.getLogger(__name__)

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "experiments" / "results" / "audit"
#: Labels that name a mixed class: "other" in MSLD is chickenpox or measles, so a link from
#: "other" to either is a difference of naming, not a contradiction.
_COMPATIBLE = {frozenset({"other", "chickenpox"}), frozenset({"other", "measles"})}

Progress = Callable[..., Iterable[Any]]

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


# --------------------------------------------------------------------------- features


def _shrink(image: np.ndarray, size: int) -> tuple[np.ndarray, float]:
    h, w = image.shape[:2]
    factor = min(1.0, size / max(h, w))
    if factor < 1.0:
        image = cv2.resize(
            image,
            (max(1, round(w * factor)), max(1, round(h * factor))),
            interpolation=cv2.INTER_AREA,
        )
    return image, factor


def dhash(grey: np.ndarray) -> int:
    """64-bit difference hash (as in the ``imagehash`` package): 9x8 thumbnail, left < right.

    Parameters
    ----------
    grey : ndarray of shape (h, w), uint8

    Returns
    -------
    int
        The 64 bits, row by row.
    """
    small = cv2.resize(grey, (9, 8), interpolation=cv2.INTER_AREA).astype(np.int16)
    bits = (small[:, 1:] > small[:, :-1]).ravel()
    return int(np.packbits(bits).view(">u8")[0])


def _root_sift(descriptors: np.ndarray | None) -> np.ndarray:
    if descriptors is None or len(descriptors) == 0:
        return np.zeros((0, 128), np.float32)
    d = descriptors.astype(np.float32)
    d /= d.sum(axis=1, keepdims=True) + 1e-7
    return np.sqrt(d)


def _sift(grey: np.ndarray, params: AuditParams) -> tuple[np.ndarray, np.ndarray]:
    sift = cv2.SIFT_create(nfeatures=params.n_features, contrastThreshold=params.contrast_threshold)
    keypoints, descriptors = sift.detectAndCompute(grey, None)
    points = np.array([kp.pt for kp in keypoints], np.float32).reshape(-1, 2)
    return points, _root_sift(descriptors)


def extract_features(
    image: np.ndarray, image_id: str, params: AuditParams, file_hash: str = ""
) -> ImageFeatures:
    """Keypoints of an image and of its mirror, plus exact and perceptual hashes.

    Parameters
    ----------
    image : ndarray of shape (h, w, 3), uint8
        RGB pixels from :func:`poxscan.imageio.load_image`.
    image_id : str
        The image's id.
    params : AuditParams
    file_hash : str, optional
        SHA-256 of the file's bytes, for counting byte-identical files.

    Returns
    -------
    ImageFeatures
    """
    work, factor = _shrink(image, params.work_size)
    grey = cv2.cvtColor(work, cv2.COLOR_RGB2GRAY)
    mirror = np.ascontiguousarray(grey[:, ::-1])
    points, descriptors = _sift(grey, params)
    mirror_points, mirror_descriptors = _sift(mirror, params)
    return ImageFeatures(
        id=image_id,
        shape=(int(image.shape[0]), int(image.shape[1])),
        work_shape=(int(grey.shape[0]), int(grey.shape[1])),
        factor=factor,
        points=points,
        descriptors=descriptors,
        mirror_points=mirror_points,
        mirror_descriptors=mirror_descriptors,
        grey=grey,
        pixel_hash=image_hash(image),
        file_hash=file_hash,
        dhash=dhash(grey),
        dhash_mirror=dhash(mirror),
    )


# --------------------------------------------------------------------------- candidates


def find_candidates(
    features: Sequence[ImageFeatures], params: AuditParams
) -> dict[tuple[int, int], int]:
    """Pairs worth verifying, by descriptor votes in one FLANN index over all images.

    Each descriptor of image ``i`` (and of its mirror) looks up ``n_neighbors`` neighbours
    among the unmirrored descriptors of every image. A neighbour from another image votes for
    that image (once per descriptor and image) when it is closer than ``vote_ratio`` times the
    farthest neighbour looked up, i.e. distinctly closer than the crowd. The ``n_candidates``
    images with most votes per image and orientation are kept.

    Returns
    -------
    dict
        ``(i, j)`` with ``i < j`` -> the larger vote count seen for the pair.
    """
    if len(features) < 2:
        return {}
    owners = np.concatenate(
        [np.full(len(f.descriptors), i, np.int32) for i, f in enumerate(features)]
    )
    data = np.concatenate([f.descriptors for f in features]).astype(np.float32)
    if len(data) < params.n_neighbors + 1:
        return {}
    cv2.setRNGSeed(0)  # the kd-trees are randomised: same images, same candidates
    index = cv2.flann_Index(data, {"algorithm": 1, "trees": 4})
    k = params.n_neighbors
    n = len(features)
    pairs: dict[tuple[int, int], int] = {}
    ratio2 = params.vote_ratio**2  # FLANN returns squared distances
    for i, f in enumerate(features):
        for query in (f.descriptors, f.mirror_descriptors):
            if len(query) == 0:
                continue
            idx, dist = index.knnSearch(query, k + 1, params={"checks": 64})
            img = owners[idx]
            ref = dist[:, -1:]
            good = (img != i) & (dist < ratio2 * ref)
            rows, cols = np.nonzero(good)
            # One vote per descriptor and image, however many of its neighbours the image holds.
            keys = np.unique(rows.astype(np.int64) * n + img[rows, cols])
            votes = np.bincount(keys % n, minlength=n)
            votes[i] = 0
            top = np.argsort(-votes, kind="stable")[: params.n_candidates]
            for j in top:
                if votes[j] < 2:
                    break
                key = (min(i, int(j)), max(i, int(j)))
                pairs[key] = max(pairs.get(key, 0), int(votes[j]))
    return pairs


# --------------------------------------------------------------------------- verification


def _hull_fraction(points: np.ndarray, shape: tuple[int, int]) -> float:
    if len(points) < 3:
        return 0.0
    area = cv2.contourArea(cv2.convexHull(points.astype(np.float32)))
    return float(area / (shape[0] * shape[1]))


def _match_one(
    a: ImageFeatures,
    b_points: np.ndarray,
    b_desc: np.ndarray,
    b_shape: tuple[int, int],
    params: AuditParams,
) -> tuple[int, int, np.ndarray | None, np.ndarray, np.ndarray]:
    """Ratio-test matches of ``a`` into one orientation of ``b``, then a RANSAC similarity."""
    empty = np.zeros((0, 2), np.float32)
    if len(a.descriptors) < 2 or len(b_desc) < 2:
        return 0, 0, None, empty, empty
    # RootSIFT vectors have unit length: squared distance = 2 - 2 * dot product.
    sim = a.descriptors @ b_desc.T
    rows = np.arange(len(sim))
    first = sim.argmax(axis=1)
    s1 = sim[rows, first]
    sim[rows, first] = -np.inf
    s2 = np.stack([s1, sim.max(axis=1)], axis=1)
    dist = np.sqrt(np.maximum(0.0, 2.0 - 2.0 * s2))
    good = dist[:, 0] < params.ratio * dist[:, 1]
    query = np.nonzero(good)[0]
    train = first[query]
    # One match per target keypoint (the closest): many-to-one matches inflate RANSAC counts.
    by_dist = np.argsort(dist[query, 0], kind="stable")
    _, first = np.unique(train[by_dist], return_index=True)
    keep_idx = np.sort(by_dist[first])
    query, train = query[keep_idx], train[keep_idx]
    n_matches = len(query)
    if n_matches < 3:
        return 0, n_matches, None, empty, empty
    src = a.points[query]
    dst = b_points[train]
    threshold = max(2.0, params.ransac_threshold * max(b_shape))
    ransac = {
        "method": cv2.RANSAC,
        "ransacReprojThreshold": threshold,
        "maxIters": 2000,
        "confidence": 0.995,
        "refineIters": 10,
    }
    cv2.setRNGSeed(0)  # RANSAC samples at random: same pairs, same answer
    matrix, mask = cv2.estimateAffinePartial2D(src, dst, **ransac)
    n_inliers = int(mask.sum()) if mask is not None else 0
    if params.max_anisotropy > 1.0 and n_matches >= 6:
        # MSLD resized crops to 224x224 without keeping their aspect ratio: a similarity
        # then fits only part of the image. Take a full affine map when it explains clearly
        # more matches and stretches one axis by at most max_anisotropy.
        cv2.setRNGSeed(0)
        full, full_mask = cv2.estimateAffine2D(src, dst, **ransac)
        if full is not None and full_mask is not None:
            n_full = int(full_mask.sum())
            aniso = _anisotropy(full)
            if aniso <= params.max_anisotropy and n_full >= max(n_inliers + 3, 1.2 * n_inliers):
                matrix, mask, n_inliers = full, full_mask, n_full
    if matrix is None or mask is None:
        return 0, n_matches, None, empty, empty
    keep = mask.ravel().astype(bool)
    return n_inliers, n_matches, matrix, src[keep], dst[keep]


def _anisotropy(matrix: np.ndarray) -> float:
    """Ratio of the larger to the smaller stretch of a 2x3 map; inf if it mirrors or folds."""
    linear = matrix[:, :2]
    if np.linalg.det(linear) <= 0:
        return math.inf
    sv = np.linalg.svd(linear, compute_uv=False)
    return float(sv[0] / sv[1]) if sv[1] > 1e-9 else math.inf


def _ncc(x: np.ndarray, y: np.ndarray) -> float:
    x = x - x.mean()
    y = y - y.mean()
    denom = math.sqrt(float((x * x).sum()) * float((y * y).sum()))
    return float((x * y).sum() / denom) if denom > 1e-6 else 0.0


def photometric_agreement(
    grey_a: np.ndarray, grey_b: np.ndarray, matrix: np.ndarray
) -> tuple[float, float]:
    """Do the pixels agree once ``a`` is mapped onto ``b`` by ``matrix``?

    The larger-scale image is warped into the frame of the smaller-scale one (blurred first,
    so that it is not aliased), and both are compared over their overlap by normalised
    cross-correlation, which ignores brightness and contrast changes. Two crops of one photo
    agree closely; two photos of different lesions, or of one lesion from another angle, do
    not, even when a few keypoints line up (a shared background, a watermark).

    Parameters
    ----------
    grey_a, grey_b : ndarray, uint8
        Working grey images (``b`` already mirrored when the match was).
    matrix : ndarray of shape (2, 3)
        Similarity transform from ``a``'s pixels to ``b``'s.

    Returns
    -------
    ncc : float
        Correlation of the lightly smoothed grey levels over the overlap.
    overlap : float
        Overlap as a fraction of the frame image (the smaller-scale one).
    """
    det = float(np.linalg.det(matrix[:, :2]))
    scale = math.sqrt(det) if det > 0 else 0.0
    if not (math.isfinite(scale) and 1e-2 < scale < 1e2):
        return 0.0, 0.0
    if scale >= 1.0:  # b shows the content larger: bring b down into a's frame
        ref, src, transform = grey_a, grey_b, cv2.invertAffineTransform(matrix)
    else:
        ref, src, transform = grey_b, grey_a, matrix
    # How much the warp shrinks src along its most shrunk direction sets the anti-alias blur.
    shrink = 1.0 / float(np.linalg.svd(transform[:, :2], compute_uv=False)[-1])
    src = src.astype(np.float32)
    if shrink > 1.2:
        sigma = 0.5 * math.sqrt(shrink * shrink - 1.0)
        size = 2 * math.ceil(3 * sigma) + 1
        src = cv2.GaussianBlur(src, (size, size), sigma)
    h, w = ref.shape[:2]
    warped = cv2.warpAffine(src, transform, (w, h), flags=cv2.INTER_LINEAR)
    mask = cv2.warpAffine(
        np.ones(src.shape[:2], np.uint8), transform, (w, h), flags=cv2.INTER_NEAREST
    )
    mask = cv2.erode(mask, np.ones((5, 5), np.uint8)).astype(bool)
    overlap = float(mask.mean())
    if mask.sum() < 256:
        return 0.0, overlap
    # A light blur forgives JPEG noise and resampling; NCC forgives brightness and contrast.
    smooth_r = cv2.GaussianBlur(ref.astype(np.float32), (0, 0), 1.0)
    smooth_w = cv2.GaussianBlur(warped, (0, 0), 1.0)
    return _ncc(smooth_r[mask], smooth_w[mask]), overlap


def verify_pair(a: ImageFeatures, b: ImageFeatures, params: AuditParams) -> PairMatch:
    """Best geometric match of ``a`` against ``b`` and against ``b``'s mirror image.

    Parameters
    ----------
    a, b : ImageFeatures
    params : AuditParams

    Returns
    -------
    PairMatch
        The orientation with more inliers, with its photometric agreement; call
        :meth:`PairMatch.passes` to decide.
    """
    best: tuple[int, int, np.ndarray | None, np.ndarray, np.ndarray, bool] | None = None
    for mirrored, pts, desc in (
        (False, b.points, b.descriptors),
        (True, b.mirror_points, b.mirror_descriptors),
    ):
        found = _match_one(a, pts, desc, b.work_shape, params)
        if best is None or found[0] > best[0]:
            best = (*found, mirrored)
    assert best is not None
    inliers, n_matches, matrix, src, dst, mirrored = best
    if matrix is None:
        return PairMatch(0, n_matches, 0.0, 0.0, 0.0, 1.0, mirrored, 0.0, 0.0, 0.0)
    work_scale = math.sqrt(max(0.0, float(np.linalg.det(matrix[:, :2]))))
    grey_b = np.ascontiguousarray(b.grey[:, ::-1]) if mirrored else b.grey
    ncc, overlap = photometric_agreement(a.grey, grey_b, matrix)
    return PairMatch(
        inliers=inliers,
        matches=n_matches,
        inlier_ratio=inliers / n_matches if n_matches else 0.0,
        scale=work_scale * a.factor / b.factor,
        # Rotation of the nearest similarity transform.
        angle=float(
            math.degrees(math.atan2(matrix[1, 0] - matrix[0, 1], matrix[0, 0] + matrix[1, 1]))
        ),
        anisotropy=_anisotropy(matrix),
        mirrored=mirrored,
        coverage=max(_hull_fraction(src, a.work_shape), _hull_fraction(dst, b.work_shape)),
        ncc=ncc,
        overlap=overlap,
    )


# --------------------------------------------------------------------------- groups


def group_ids(
    ids: Sequence[str], patients: Sequence[str], links: Iterable[tuple[str, str]]
) -> list[str]:
    """One group id per image: connected components of patient ids and links.

    Parameters
    ----------
    ids : sequence of str
        Image ids.
    patients : sequence of str
        Patient id per image (the image's own id where a dataset has none).
    links : iterable of (str, str)
        Linked image ids.

    Returns
    -------
    list of str
        ``g0001``, ``g0002``, ... numbered in the order of each group's smallest image id, so
        the same images and links always give the same names, in any input order.
    """
    parent = list(range(len(ids)))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(x: int, y: int) -> None:
        rx, ry = find(x), find(y)
        if rx != ry:
            parent[max(rx, ry)] = min(rx, ry)

    position = {image_id: i for i, image_id in enumerate(ids)}
    if len(position) != len(ids):
        raise ValueError("image ids must be unique")
    first_of_patient: dict[str, int] = {}
    for i, patient in enumerate(patients):
        union(first_of_patient.setdefault(patient, i), i)
    for a, b in links:
        union(position[a], position[b])
    smallest: dict[int, str] = {}
    for i, image_id in enumerate(ids):
        root = find(i)
        if root not in smallest or image_id < smallest[root]:
            smallest[root] = image_id
    width = max(4, len(str(len(smallest))))
    names = {
        root: f"g{rank:0{width}d}"
        for rank, root in enumerate(sorted(smallest, key=smallest.get), start=1)
    }
    return [names[find(i)] for i in range(len(ids))]


# --------------------------------------------------------------------------- the audit


def _identity(items: Iterable[Any], **_: Any) -> Iterable[Any]:
    return items


def _scope(dataset_a: str, dataset_b: str) -> str:
    return f"within {dataset_a}" if dataset_a == dataset_b else "across"


def _hash_pairs(
    features: Sequence[ImageFeatures], params: AuditParams
) -> dict[str, set[tuple[int, int]]]:
    """Pairs that exact and perceptual hashes call the same image."""
    out: dict[str, set[tuple[int, int]]] = {"file": set(), "pixels": set()}
    for key, attr in (("file", "file_hash"), ("pixels", "pixel_hash")):
        seen: dict[str, list[int]] = {}
        for i, f in enumerate(features):
            value = getattr(f, attr)
            if value:
                seen.setdefault(value, []).append(i)
        for members in seen.values():
            out[key].update((x, y) for k, x in enumerate(members) for y in members[k + 1 :])
    hashes = np.array([f.dhash for f in features], np.uint64)
    mirrors = np.array([f.dhash_mirror for f in features], np.uint64)

    def hamming(u: np.ndarray, v: np.ndarray) -> np.ndarray:
        x = u[:, None] ^ v[None, :]
        return np.unpackbits(x.view(np.uint8).reshape(len(u), len(v), 8), axis=2).sum(axis=2)

    plain = hamming(hashes, hashes)
    either = np.minimum(plain, hamming(hashes, mirrors))
    upper = np.triu(np.ones_like(plain, dtype=bool), k=1)
    for key, dist in (("dhash", plain), ("dhash_mirror", either)):
        rows, cols = np.nonzero(upper & (dist <= params.dhash_max_distance))
        out[key] = set(zip(rows.tolist(), cols.tolist(), strict=True))
    out["_plain"] = plain  # type: ignore[assignment]
    return out


def _load_features(
    records: pd.DataFrame, params: AuditParams, progress: Progress, keep_rgb: bool
) -> tuple[list[ImageFeatures], list[int], dict[str, str], dict[str, dict[str, str]], list]:
    """Features of every readable record; unreadable ones are reported and skipped."""
    features: list[ImageFeatures] = []
    kept: list[int] = []
    failed: dict[str, str] = {}
    file_hashes: dict[str, dict[str, str]] = {}
    rgb: list[np.ndarray] = []
    rows = records.itertuples(index=False)
    for position, row in enumerate(progress(rows, desc="features", total=len(records))):
        try:
            image = getattr(row, "image", None)
            fhash = ""
            if not isinstance(image, np.ndarray):
                image = load_image(row.path, name=row.id)
                fhash = file_sha256(row.path)
                file_hashes.setdefault(row.dataset, {})[row.relpath] = fhash
            features.append(extract_features(image, row.id, params, fhash))
            kept.append(position)
            if keep_rgb:
                rgb.append(_shrink(image, params.work_size)[0])
        except (ImageLoadError, OSError, cv2.error) as exc:
            # A bad file is reported and skipped; the batch goes on.
            failed[row.id] = str(exc)
            log.warning("skipping %s: %s", row.id, exc)
    return features, kept, failed, file_hashes, rgb


def embedding_candidates(
    images: Sequence[np.ndarray], family: str, k: int
) -> dict[tuple[int, int], float]:
    """Pairs whose embeddings are among each other's ``k`` nearest (cosine), mirrors included.

    The second, optional candidate source: a global descriptor (a feature family of
    :mod:`poxscan.features`) of each image and of its mirror image, standardised over the
    images. Candidates still go through the same geometric and photometric verification.

    Returns
    -------
    dict
        ``(i, j)`` with ``i < j`` -> the best cosine similarity seen for the pair.
    """
    from poxscan.features import make_extractor

    n = len(images)
    mirrors = [np.ascontiguousarray(img[:, ::-1]) for img in images]
    extractor = make_extractor(family)
    emb = np.asarray(extractor.fit_transform(list(images) + mirrors), np.float64)
    emb = (emb - emb.mean(axis=0)) / (emb.std(axis=0) + 1e-9)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True) + 1e-12
    plain, mirrored = emb[:n], emb[n:]
    sim = np.maximum(plain @ plain.T, plain @ mirrored.T)
    np.fill_diagonal(sim, -np.inf)
    pairs: dict[tuple[int, int], float] = {}
    for i in range(n):
        for j in np.argsort(-sim[i], kind="stable")[:k]:
            key = (min(i, int(j)), max(i, int(j)))
            pairs[key] = max(pairs.get(key, -1.0), float(sim[i, j]))
    return pairs


def run_audit(
    datasets: str | Sequence[str] | None = None,
    root: str | PathLike | None = None,
    params: AuditParams | None = None,
    *,
    records: pd.DataFrame | None = None,
    manifest: dict[str, DatasetSpec] | None = None,
    progress: Progress | None = None,
    embedding: str | None = None,
    embedding_k: int = 5,
) -> AuditResult:
    """Find near-duplicates among the images of the named datasets and group them.

    Parameters
    ----------
    datasets : str or sequence of str, optional
        Dataset names from ``data_manifest.yaml``; default all of them.
    root : path-like, optional
        The data root (default ``$POXSCAN_DATA``, else ``./data``).
    params : AuditParams, optional
    records : DataFrame, optional
        Records as :func:`poxscan.data.load_records` returns them; given, ``datasets`` and
        ``root`` are not used (tests audit a small subset this way). A record may carry an
        in-memory RGB image in an ``image`` column instead of a file.
    manifest : dict, optional
        Parsed manifest, for its checksums (default :func:`poxscan.data.load_manifest`).
    progress : callable, optional
        Wraps an iterable to show progress, e.g. ``tqdm.tqdm``; called with ``desc`` and
        ``total`` keywords.
    embedding : str, optional
        A feature family (``"deep"``, ``"color"``, ``"texture"``) whose nearest neighbours
        are verified too, besides the SIFT vote's candidates (see
        :func:`embedding_candidates`).
    embedding_k : int
        Neighbours per image taken from the embedding.

    Returns
    -------
    AuditResult
    """
    params = params or AuditParams()
    progress = progress or _identity
    timings: dict[str, float] = {}
    if records is None:
        manifest = manifest or load_manifest()
        names = [datasets] if isinstance(datasets, str) else list(datasets or manifest)
        records = load_records(names, root, manifest=manifest)
    records = records.reset_index(drop=True)
    old_threads = cv2.getNumThreads()
    cv2.setNumThreads(1)  # the box is shared: one core for OpenCV
    try:
        # ... and for numpy's BLAS (descriptor matching is a matrix product).
        with threadpool_limits(limits=1):
            start = time.perf_counter()
            features, kept, failed, file_hashes, rgb = _load_features(
                records, params, progress, keep_rgb=embedding is not None
            )
            timings["features_s"] = time.perf_counter() - start

            start = time.perf_counter()
            candidates = find_candidates(features, params)
            source = dict.fromkeys(candidates, "sift")
            timings["candidates_s"] = time.perf_counter() - start
            if embedding is not None:
                start = time.perf_counter()
                for key in embedding_candidates(rgb, embedding, embedding_k):
                    source[key] = "both" if key in candidates else "embedding"
                    candidates.setdefault(key, 0)
                del rgb
                timings["embedding_s"] = time.perf_counter() - start

            start = time.perf_counter()
            rows = []
            for (i, j), votes in progress(
                sorted(candidates.items()), desc="verify", total=len(candidates)
            ):
                a, b = (i, j) if features[i].id < features[j].id else (j, i)
                match = verify_pair(features[a], features[b], params)
                rows.append(
                    {"a": a, "b": b, "source": source[(i, j)], "votes": votes, **asdict(match),
                     "kind": match.kind(params)}
                )  # fmt: skip
            timings["verify_s"] = time.perf_counter() - start
    finally:
        cv2.setNumThreads(old_threads)

    start = time.perf_counter()
    good = records.iloc[kept].reset_index(drop=True)
    hashes = _hash_pairs(features, params)
    plain_dhash = hashes.pop("_plain")
    columns = ["a", "b", "source", "votes", *PairMatch.__dataclass_fields__, "kind"]
    cand = pd.DataFrame(rows, columns=columns)
    # Pixel-identical images are linked even where SIFT finds nothing (flat images).
    exact_pairs = {(min(x, y), max(x, y)) for x, y in hashes["pixels"]}
    have = {(min(a, b), max(a, b)) for a, b in zip(cand["a"], cand["b"], strict=True)}
    extra = []
    for x, y in sorted(exact_pairs - have):
        a, b = (x, y) if features[x].id < features[y].id else (y, x)
        n_kp = len(features[a].points)
        same = PairMatch(n_kp, n_kp, 1.0, 1.0, 0.0, 1.0, False, 1.0, 1.0, 1.0)
        extra.append({"a": a, "b": b, "source": "hash", "votes": 0, **asdict(same), "kind": ""})
    if extra:
        cand = pd.concat([cand, pd.DataFrame(extra, columns=columns)], ignore_index=True)
    pair_keys = [(min(a, b), max(a, b)) for a, b in zip(cand["a"], cand["b"], strict=True)]
    cand["exact"] = [k in exact_pairs for k in pair_keys]
    cand.loc[cand["exact"], "kind"] = "exact"
    cand["linked"] = cand["kind"] != ""
    cand["dhash_distance"] = [
        int(plain_dhash[a, b]) for a, b in zip(cand["a"], cand["b"], strict=True)
    ]
    cand["id_a"] = [features[a].id for a in cand["a"]]
    cand["id_b"] = [features[b].id for b in cand["b"]]
    by_id = good.set_index("id")
    for side in ("a", "b"):
        ids = cand[f"id_{side}"]
        for col in ("dataset", "label", "y", "patient"):
            cand[f"{col}_{side}"] = ids.map(by_id[col]).to_numpy()
    cand["scope"] = [
        _scope(x, y) for x, y in zip(cand["dataset_a"], cand["dataset_b"], strict=True)
    ]
    cand["same_patient"] = cand["patient_a"] == cand["patient_b"]
    cand["binary_conflict"] = cand["y_a"] != cand["y_b"]
    cand["label_conflict"] = cand["label_a"] != cand["label_b"]
    cand["naming_conflict"] = [
        la != lb and frozenset({la, lb}) not in _COMPATIBLE
        for la, lb in zip(cand["label_a"], cand["label_b"], strict=True)
    ]
    cand = cand.sort_values(["id_a", "id_b"]).reset_index(drop=True)

    links = cand.loc[cand["linked"], LINK_COLUMNS].reset_index(drop=True)
    images = good[["id", "dataset", "patient", "cls", "label", "y"]].copy()
    images["height"] = [f.shape[0] for f in features]
    images["width"] = [f.shape[1] for f in features]
    images["keypoints"] = [len(f.points) for f in features]
    images["group"] = group_ids(
        images["id"].tolist(),
        images["patient"].tolist(),
        zip(links["id_a"], links["id_b"], strict=True),
    )
    timings["groups_s"] = time.perf_counter() - start

    summary = _summarise(images, links, failed)
    summary["file_duplicate_pairs"] = len(hashes["file"])
    if embedding is not None:
        linked = cand[cand["linked"]]
        summary["embedding"] = {
            "family": embedding,
            "k": embedding_k,
            "candidates_only_from_embedding": int((cand["source"] == "embedding").sum()),
            "links_only_from_embedding": int((linked["source"] == "embedding").sum()),
        }
    comparison = _compare_hashes(hashes, features, links)
    manifest_info: dict[str, Any] = {}
    specs = manifest or (load_manifest() if file_hashes else {})
    for name, files in sorted(file_hashes.items()):
        spec = specs.get(name)
        manifest_info[name] = {
            "manifest_checksum": spec.checksum if spec else None,
            "files_read": len(files),
            "checksum_of_files_read": content_checksum(files),
            "matches_manifest": bool(spec and content_checksum(files) == spec.checksum),
        }
    return AuditResult(
        images=images,
        links=links,
        candidates=cand,
        summary=summary,
        params=params,
        failed=failed,
        hash_comparison=comparison,
        manifest=manifest_info,
        timings={k: round(v, 2) for k, v in timings.items()},
    )


def _summarise(images: pd.DataFrame, links: pd.DataFrame, failed: dict[str, str]) -> dict[str, Any]:
    sizes = images["group"].value_counts()
    within = links.loc[links["scope"] != "across", "scope"].str.removeprefix("within ")
    group_sets = images.groupby("group")["dataset"].nunique()
    cross_groups = set(group_sets[group_sets > 1].index)
    return {
        "n_images": len(images),
        "n_failed": len(failed),
        "n_patients": int(images["patient"].nunique()),
        "n_groups": len(sizes),
        "largest_group": int(sizes.max()) if len(sizes) else 0,
        "groups_of_size_1": int((sizes == 1).sum()),
        "n_links": len(links),
        "links_within": {k: int(v) for k, v in within.value_counts().sort_index().items()},
        "links_across": int((links["scope"] == "across").sum()),
        "links_cross_patient": int(((links["scope"] != "across") & ~links["same_patient"]).sum()),
        "links_mirrored": int(links["mirrored"].sum()),
        "binary_conflicts": int(links["binary_conflict"].sum()),
        "label_conflicts": int(links["label_conflict"].sum()),
        "naming_conflicts": int(links["naming_conflict"].sum()),
        "exact_duplicate_pairs": int(links["exact"].sum()),
        "images_in_cross_set_groups": int(images["group"].isin(cross_groups).sum()),
        "groups_with_binary_conflict": int((images.groupby("group")["y"].nunique() > 1).sum()),
    }


def _compare_hashes(
    hashes: dict[str, set[tuple[int, int]]],
    features: Sequence[ImageFeatures],
    links: pd.DataFrame,
) -> dict[str, Any]:
    """How many of the audit's links exact and perceptual hashes would have found."""
    index = {f.id: i for i, f in enumerate(features)}
    ours = {
        (min(index[a], index[b]), max(index[a], index[b]))
        for a, b in zip(links["id_a"], links["id_b"], strict=True)
    }
    different_patient = {
        (min(index[a], index[b]), max(index[a], index[b]))
        for a, b, same in zip(links["id_a"], links["id_b"], links["same_patient"], strict=True)
        if not same
    }
    out: dict[str, Any] = {
        "audit_links": len(ours),
        "audit_links_between_different_patients_or_sets": len(different_patient),
    }
    for key, label in (
        ("file", "exact file hash (sha256 of bytes)"),
        ("pixels", "exact pixel hash (sha256 of decoded pixels)"),
        ("dhash", "dHash 64-bit, Hamming distance <= threshold"),
        ("dhash_mirror", "dHash, also against the mirror image"),
    ):
        pairs = {(min(x, y), max(x, y)) for x, y in hashes[key]}
        out[key] = {
            "method": label,
            "pairs": len(pairs),
            "of_audit_links": len(pairs & ours),
            "of_audit_links_between_different_patients_or_sets": len(pairs & different_patient),
            "not_in_audit_links": sorted(
                f"{features[x].id} ~ {features[y].id}" for x, y in pairs - ours
            ),
        }
    return out


# --------------------------------------------------------------------------- outputs


def _thumb(image: np.ndarray, size: int) -> np.ndarray:
    h, w = image.shape[:2]
    f = size / max(h, w)
    small = cv2.resize(
        image, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA
    )
    canvas = np.full((size, size, 3), 255, np.uint8)
    top, left = (size - small.shape[0]) // 2, (size - small.shape[1]) // 2
    canvas[top : top + small.shape[0], left : left + small.shape[1]] = small
    return canvas


def _short(image_id: str, width: int = 34) -> str:
    dataset, rel = image_id.split("/", 1)
    prefix = {"msld_v1": "M", "ahsan2022": "A"}.get(dataset, dataset[:4])
    text = f"{prefix}: {rel}"
    return text if len(text) <= width else text[: width - 7] + "~" + text[-6:]


def _priority(links: pd.DataFrame) -> pd.Series:
    """Order of the contact sheet: what most needs a person's eye first."""
    rank = pd.Series(4, index=links.index)
    rank[~links["same_patient"]] = 3
    rank[links["scope"] == "across"] = 2
    rank[links["naming_conflict"]] = 1
    rank[links["binary_conflict"]] = 0
    return rank


def render_contact_sheet(
    links: pd.DataFrame,
    paths: dict[str, str],
    path: str | PathLike,
    *,
    thumb: int = 128,
    columns: int = 4,
    max_bytes: int = 2_000_000,
    title: str = "",
    images: dict[str, np.ndarray] | None = None,
) -> int:
    """Draw linked pairs side by side with ids, labels and match figures; write a PNG.

    Pairs with a binary label conflict come first, then other label conflicts, then pairs
    across sets, then pairs of different patients of one set, then same-patient pairs. The PNG
    is written atomically with a 256-colour palette; if it is larger than ``max_bytes``, the
    last pairs are left out (the title says how many are drawn).

    Parameters
    ----------
    links : DataFrame
        Rows of :attr:`AuditResult.links` to draw.
    paths : dict
        Image id -> file path.
    path : path-like
        Where to write the PNG.
    thumb : int
        Thumbnail side in pixels.
    columns : int
        Pairs per row.
    max_bytes : int
        Largest file to write.
    title : str
        Heading drawn at the top.
    images : dict, optional
        Image id -> already loaded RGB image or thumbnail; filled with the thumbnails drawn,
        so a second sheet does not read files again.

    Returns
    -------
    int
        Number of pairs drawn.
    """
    from PIL import Image

    order = links.assign(_rank=_priority(links)).sort_values(["_rank", "id_a", "id_b"])
    cache = images if images is not None else {}
    for image_id in pd.unique(order[["id_a", "id_b"]].to_numpy().ravel()):
        tile = cache.get(image_id)
        if tile is None:
            tile = load_image(paths[image_id], name=image_id)
        if tile.shape[:2] != (thumb, thumb):
            tile = _thumb(tile, thumb)
        cache[image_id] = tile
    count = len(order)
    while True:
        sheet = _draw_sheet(order.head(count), len(order), cache, thumb, columns, title)
        buffer = io.BytesIO()
        sheet.quantize(256, method=Image.Quantize.MEDIANCUT).save(buffer, "PNG", optimize=True)
        size = buffer.tell()
        if size <= max_bytes or count <= 1:
            break
        # Too big: draw fewer pairs, the least urgent ones left out.
        count = max(1, int(count * min(0.9, 0.97 * max_bytes / size)))
    atomic_write_bytes(path, buffer.getvalue())
    return count


def _draw_sheet(
    order: pd.DataFrame,
    total: int,
    tiles: dict[str, np.ndarray],
    thumb: int,
    columns: int,
    title: str,
) -> Any:
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default(size=10)
    head = ImageFont.load_default(size=13)
    gap, line_h, n_lines, title_h = 6, 12, 3, 24
    cell_w, cell_h = 2 * thumb + gap, thumb + 4 + n_lines * line_h
    rows = max(1, math.ceil(len(order) / columns))
    sheet = Image.new(
        "RGB", (columns * (cell_w + gap) + gap, title_h + rows * (cell_h + gap) + gap), "white"
    )
    draw = ImageDraw.Draw(sheet)
    heading = title or "near-duplicate links"
    heading += f": {len(order)} of {total} pairs"
    heading += "  (red: mpox vs not; orange: other label conflict; blue: across sets)"
    draw.text((gap, 5), heading, fill="black", font=head)
    kinds = {"duplicate": "dup", "same_scene": "scene", "exact": "exact"}
    for n, row in enumerate(order.itertuples(index=False)):
        x0 = gap + (n % columns) * (cell_w + gap)
        y0 = title_h + gap + (n // columns) * (cell_h + gap)
        for k, image_id in enumerate((row.id_a, row.id_b)):
            sheet.paste(Image.fromarray(tiles[image_id]), (x0 + k * (thumb + gap), y0))
        if row.binary_conflict:
            colour = (200, 0, 0)
        elif row.naming_conflict:
            colour = (200, 110, 0)
        elif row.scope == "across":
            colour = (0, 70, 170)
        else:
            colour = (0, 0, 0)
        lines = [
            f"{_short(row.id_a, 24)} ({row.label_a})",
            f"{_short(row.id_b, 24)} ({row.label_b})",
            f"{kinds.get(row.kind, row.kind)} inl {row.inliers} ncc {row.ncc:.2f} "
            f"s {row.scale:.2f}" + (" mirror" if row.mirrored else ""),
        ]
        for k, line in enumerate(lines):
            draw.text((x0, y0 + thumb + 3 + line_h * k), line, fill=colour, font=font)
    return sheet


def _markdown(result: AuditResult, sheets: dict[str, int]) -> str:
    s, p, hc = result.summary, result.params, result.hash_comparison
    stages = ", ".join(f"{k.removesuffix('_s')} {v:.0f} s" for k, v in result.timings.items())
    lines = [
        "# Leakage audit",
        "",
        "Written by `poxscan data audit`. Near-duplicates found by SIFT (RootSIFT, with mirror "
        "images), RANSAC-verified similarity (or mildly stretched affine) maps and a pixel "
        "comparison after mapping, merged with patient ids into `groups.csv`, which every "
        "split reads through `poxscan.data.load_groups`.",
        "",
        f"Runtime: {sum(result.timings.values()):.0f} s on one core ({stages}).",
        "",
        "## Figures",
        "",
        "| figure | value |",
        "|---|---|",
        f"| images | {s['n_images']} ({s['n_failed']} unreadable) |",
        f"| patient ids (before linking) | {s['n_patients']} |",
        f"| groups | {s['n_groups']} |",
        f"| largest group | {s['largest_group']} images |",
        f"| images alone in their group | {s['groups_of_size_1']} |",
        f"| near-duplicate links | {s['n_links']} |",
    ]
    for name, count in s["links_within"].items():
        lines.append(f"| links within {name} | {count} |")
    lines += [
        f"| links across sets | {s['links_across']} |",
        "| links within a set between different patient ids (each ahsan2022 image is its own"
        f" id) | {s['links_cross_patient']} |",
        f"| mirrored links | {s['links_mirrored']} |",
        f"| links with a binary label conflict (mpox vs not) | {s['binary_conflicts']} |",
        f"| links with different multi-class labels | {s['label_conflicts']} |",
        f"| ... of which not explained by MSLD's mixed 'other' class | {s['naming_conflicts']} |",
        f"| groups holding both mpox and non-mpox images | {s['groups_with_binary_conflict']} |",
        f"| images in a group spanning both sets | {s['images_in_cross_set_groups']} |",
        f"| pixel-identical pairs | {s['exact_duplicate_pairs']} |",
        f"| byte-identical files | {s['file_duplicate_pairs']} |",
        "",
        "## What hashes would have found",
        "",
        f"Of the audit's {hc['audit_links']} links "
        f"({hc['audit_links_between_different_patients_or_sets']} between different patients "
        "or across sets):",
        "",
        "| method | pairs flagged | of the audit's links | of those across patients/sets "
        "| flagged, not an audit link |",
        "|---|---|---|---|---|",
    ]
    for key in ("file", "pixels", "dhash", "dhash_mirror"):
        h = hc[key]
        lines.append(
            f"| {h['method']} | {h['pairs']} | {h['of_audit_links']} | "
            f"{h['of_audit_links_between_different_patients_or_sets']} | "
            f"{len(h['not_in_audit_links'])} |"
        )
    dh = hc["dhash"]
    lines += [
        "",
        f"dHash threshold: Hamming distance <= {p.dhash_max_distance} of 64 bits, computed "
        "on the grey working image (9 x 8 thumbnail, as the `imagehash` package does).",
        "",
        "The datasets' README says exact or perceptual hashes miss most shared photos. On "
        f"this run exact hashes find {hc['pixels']['of_audit_links']} of the "
        f"{hc['audit_links_between_different_patients_or_sets']} links between different "
        f"patients or sets, and dHash finds "
        f"{dh['of_audit_links_between_different_patients_or_sets']} while flagging "
        f"{len(dh['not_in_audit_links'])} pairs that the audit does not link (the pairs are "
        "listed in `audit.json`; smooth skin photos share coarse gradients, so their hashes "
        "collide).",
        "",
        "## Parameters",
        "",
        "```json",
        json.dumps(asdict(p), indent=2),
        "```",
        "",
    ]
    lines += _calibration_markdown(result)
    if result.notes:
        lines += ["## Notes", "", *result.notes, ""]
    lines += [
        "## Files",
        "",
        "- `groups.csv`: id, dataset, patient, group (one row per image).",
        "- `links.csv`: one row per linked pair; `scale` maps id_a's pixels onto id_b's.",
        f"- `candidates.csv`: verified candidate pairs with >= {p.min_inliers} inliers, linked "
        "or not, with their scores (fewer inliers: chance matches, counted in `audit.json`).",
        "- `audit.json`: these figures, parameters, timings, data checksums.",
    ]
    for name, count in sheets.items():
        lines.append(f"- `{name}`: {count} linked pairs drawn for a person to check.")
    if result.failed:
        lines += ["", "## Unreadable images", ""]
        lines += [f"- {k}: {v}" for k, v in sorted(result.failed.items())]
    return "\n".join(lines) + "\n"


def _calibration_markdown(result: AuditResult) -> list[str]:
    """How the bars were set, with this run's score distribution."""
    p = result.params
    dist = _score_distribution(result.candidates, p)
    lines = [
        "## How the thresholds were chosen",
        "",
        "Verified candidate pairs by RANSAC inliers (rows) and pixel agreement after mapping "
        "one image onto the other (NCC of grey levels over the overlap; columns):",
        "",
        "| inliers \\ NCC | " + " | ".join(dist["ncc_bins"]) + " |",
        "|---|" + "---|" * len(dist["ncc_bins"]),
    ]
    for label, row in zip(dist["inlier_bins"], dist["counts"], strict=True):
        lines.append(f"| {label} | " + " | ".join(str(v) for v in row) + " |")
    lines += [
        "",
        "The bars were set on msld_v1 + ahsan2022 by drawing every candidate pair with 5 to 40 "
        "inliers, and every pair with NCC between 0.6 and 0.97, with its inlier matches, and "
        "looking at them:",
        "",
        "- Inlier counts alone do not separate copies from different lesions. Real copies "
        "across the sets often have only 5-15 inliers: ahsan2022's web thumbnails are 3-6 "
        "times smaller than MSLD's crops of the same photo, so the shared region holds few "
        "keypoints. Wrong matches reach 5-20 inliers too: a shared stock-photo watermark, the "
        "same teal background behind different people's hands (ahsan2022 Normal), repeated "
        "lesion patterns.",
        "- Pixel agreement does separate them: once mapped, copies agree at NCC >= 0.9 (almost "
        "all >= 0.97) whatever their inlier count, while the wrong matches seen stay below "
        "0.86 (a gap in the table above; random mappings of smooth skin reach 0.86 with 2-4 "
        f"inliers). Duplicate bar: NCC >= {p.min_ncc} with >= {p.min_inliers} inliers and "
        f">= {p.min_overlap:.0%} overlap. In this run the highest NCC of a pair left unlinked "
        f"with >= {p.min_inliers} inliers is {dist['highest_ncc_unlinked']}, and the lowest "
        f"NCC of a duplicate link is {dist['lowest_ncc_of_duplicates']} "
        f"({dist['lowest_ncc_duplicate_pair']}).",
        "- Some pairs with many consistent inliers do not agree pixel for pixel: copies with "
        "an inset pasted at another place (ahsan2022 Monkeypox 15/27/35), a black bar over "
        "the eyes (CDC), and a second photo of the same hand, foot, back or shirt taken "
        "moments later. They are the same patient or the same photo, so they are linked as "
        f"`same_scene`: >= {p.scene_min_inliers} inliers making up >= "
        f"{p.scene_min_inlier_ratio:.0%} of the ratio-test matches, spread over >= "
        f"{p.scene_min_coverage:.0%} of an image. The strongest wrong pair seen (a child's "
        "and an adult's hand on the same background) had 18 inliers.",
        "- MSLD squeezed its crops into 224 x 224 squares: a similarity transform fits them "
        "only in part (MSLD M09 against ahsan2022 Monkeypox 43, stretched 1.3 times), so a "
        f"full affine map is accepted when it stretches one axis at most {p.max_anisotropy} "
        "times and explains clearly more matches.",
        "- Same-patient photos in MSLD are linked where they overlap; they share a group anyway.",
        "- A second candidate source was tried: each image's 5 nearest neighbours (mirror "
        "images included) in a deep (EfficientNet-Lite0) or a colour embedding. Of the 864 "
        "(deep) and 1050 (colour) pairs it proposed beyond the SIFT vote, none passed "
        "verification, and the embeddings alone would have proposed only 147 and 124 of the "
        "188 links; so it is off by default (`--embedding` turns it on).",
        "",
        "Recall: `experiments/audit_recall.py` verifies every pair of images with the same "
        "verifier and adds randomly edited copies of real images; see `recall.md`.",
        "",
    ]
    return lines


def write_audit(
    result: AuditResult,
    out: str | PathLike = DEFAULT_OUT,
    paths: dict[str, str] | None = None,
    *,
    sheets: bool = True,
) -> dict[str, Path]:
    """Write ``groups.csv``, ``links.csv``, ``candidates.csv``, ``audit.json``, ``summary.md``
    and the contact sheets, each atomically.

    Parameters
    ----------
    result : AuditResult
    out : path-like
        Output folder (default ``experiments/results/audit``).
    paths : dict, optional
        Image id -> file path, needed to draw the contact sheets.
    sheets : bool
        Draw the contact sheets.

    Returns
    -------
    dict
        Name -> path of every file written.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}

    def csv(name: str, frame: pd.DataFrame) -> None:
        atomic_write_text(out / name, frame.to_csv(index=False, float_format="%.4g"))
        written[name] = out / name

    csv("groups.csv", result.images[["id", "dataset", "patient", "group"]])
    csv("links.csv", result.links)
    # Pairs with fewer inliers are chance matches; audit.json counts them all.
    cand = result.candidates
    shown = cand[(cand["inliers"] >= result.params.min_inliers) | cand["linked"]]
    csv("candidates.csv", shown.drop(columns=["a", "b"]))
    drawn: dict[str, int] = {}
    if sheets and paths is not None and len(result.links):
        thumbs: dict[str, np.ndarray] = {}
        drawn["contact_sheet.png"] = render_contact_sheet(
            result.links, paths, out / "contact_sheet.png", images=thumbs,
            title="near-duplicate links, label conflicts and cross-set links first",
        )  # fmt: skip
        across = result.links[result.links["scope"] == "across"]
        if len(across):
            drawn["contact_sheet_across.png"] = render_contact_sheet(
                across, paths, out / "contact_sheet_across.png", images=thumbs,
                title="near-duplicate links across msld_v1 and ahsan2022",
            )  # fmt: skip
        written.update({name: out / name for name in drawn})
    payload = {
        "summary": result.summary,
        "hash_comparison": result.hash_comparison,
        "params": asdict(result.params),
        "score_distribution": _score_distribution(result.candidates, result.params),
        "data": result.manifest,
        "failed": result.failed,
        "timings_s": result.timings,
        "notes": result.notes,
    }
    atomic_write_text(out / "audit.json", json.dumps(payload, indent=2, sort_keys=False) + "\n")
    written["audit.json"] = out / "audit.json"
    atomic_write_text(out / "summary.md", _markdown(result, drawn))
    written["summary.md"] = out / "summary.md"
    return written


def _score_distribution(cand: pd.DataFrame, params: AuditParams) -> dict[str, Any]:
    """Verified candidates by RANSAC inliers and pixel agreement (NCC): what set the bars."""
    inlier_edges = [0, 5, 10, 20, 40, 100, 10**9]
    ncc_edges = [-1.0, 0.5, 0.7, 0.8, 0.85, 0.9, 0.95, 0.98, 1.01]
    verified = cand[cand["source"] != "hash"]
    table, _, _ = np.histogram2d(
        verified["inliers"], verified["ncc"], bins=[inlier_edges, ncc_edges]
    )
    enough = verified[verified["inliers"] >= params.min_inliers]
    unlinked = enough[~enough["linked"]]["ncc"]
    dups = verified[verified["kind"] == "duplicate"]
    dup = dups["ncc"]
    weakest = dups.loc[dup.idxmin()] if len(dups) else None
    return {
        "candidates_verified": len(verified),
        "inlier_bins": [
            f"{lo}+" if hi > 10**6 else f"{lo}-{hi - 1}"
            for lo, hi in itertools.pairwise(inlier_edges)
        ],
        "ncc_bins": [
            f"< {hi:g}" if lo < 0 else (f">= {lo:g}" if hi > 1 else f"{lo:g}-{hi:g}")
            for lo, hi in itertools.pairwise(ncc_edges)
        ],
        "counts": table.astype(int).tolist(),
        "links_by_kind": {str(k): int(v) for k, v in cand["kind"].value_counts().items() if k},
        "highest_ncc_unlinked": round(float(unlinked.max()), 3) if len(unlinked) else None,
        "lowest_ncc_of_duplicates": round(float(dup.min()), 3) if len(dup) else None,
        "lowest_ncc_duplicate_pair": (
            f"{weakest['id_a']} ~ {weakest['id_b']}" if weakest is not None else None
        ),
    }
