"""Leakage audit: near-duplicate images within and across datasets, merged with patient ids.

The public mpox sets share source photos as crops, rescales and mirror images, sometimes under
other class names, and MSLD holds several photos per patient. A split that puts one copy in
training and another in testing leaks. This module finds such copies and turns them, together
with the patient ids, into one group id per image, which :func:`poxscan.core.data.load_groups`
hands to every split.

How a near-duplicate is found
-----------------------------
1. Every image is loaded by :func:`poxscan.core.imageio.load_image` and shrunk to a working size
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

from poxscan.core.audit.grouping import group_ids
from poxscan.core.audit.matching import (
    dhash,
    extract_features,
    find_candidates,
    photometric_agreement,
    verify_pair,
)
from poxscan.core.audit.params import (
    DEFAULT_OUT,
    LINK_COLUMNS,
    AuditParams,
    AuditResult,
    ImageFeatures,
    PairMatch,
)
from poxscan.core.audit.report import render_contact_sheet, write_audit
from poxscan.core.audit.run import embedding_candidates, run_audit

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
