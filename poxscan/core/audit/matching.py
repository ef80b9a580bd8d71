"""Leakage audit: matching."""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np

from poxscan.core.audit.params import AuditParams, ImageFeatures, PairMatch
from poxscan.core.imageio import image_hash

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
        RGB pixels from :func:`poxscan.core.imageio.load_image`.
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
