"""Leakage audit: run."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from os import PathLike
from typing import Any

import cv2
import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from poxscan.core.audit.grouping import group_ids
from poxscan.core.audit.matching import _shrink, extract_features, find_candidates, verify_pair
from poxscan.core.audit.params import (
    _COMPATIBLE,
    LINK_COLUMNS,
    AuditParams,
    AuditResult,
    Embedder,
    ImageFeatures,
    PairMatch,
    Progress,
    log,
)
from poxscan.core.data import (
    DatasetSpec,
    content_checksum,
    file_sha256,
    load_manifest,
    load_records,
)
from poxscan.core.imageio import ImageLoadError, load_image

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
    images: Sequence[np.ndarray], embed: Embedder, k: int
) -> dict[tuple[int, int], float]:
    """Pairs whose embeddings are among each other's ``k`` nearest (cosine), mirrors included.

    The second, optional candidate source: a global descriptor (a feature family of
    :mod:`poxscan.features`, passed in by the caller as ``embed`` so that this core layer
    never imports the features layer) of each image and of its mirror image, standardised
    over the images. Candidates still go through the same geometric and photometric
    verification.

    Returns
    -------
    dict
        ``(i, j)`` with ``i < j`` -> the best cosine similarity seen for the pair.
    """
    n = len(images)
    mirrors = [np.ascontiguousarray(img[:, ::-1]) for img in images]
    emb = np.asarray(embed(list(images) + mirrors), np.float64)
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
    embed: Embedder | None = None,
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
        Records as :func:`poxscan.core.data.load_records` returns them; given, ``datasets`` and
        ``root`` are not used (tests audit a small subset this way). A record may carry an
        in-memory RGB image in an ``image`` column instead of a file.
    manifest : dict, optional
        Parsed manifest, for its checksums (default :func:`poxscan.core.data.load_manifest`).
    progress : callable, optional
        Wraps an iterable to show progress, e.g. ``tqdm.tqdm``; called with ``desc`` and
        ``total`` keywords.
    embedding : str, optional
        A feature family (``"deep"``, ``"color"``, ``"texture"``) whose nearest neighbours
        are verified too, besides the SIFT vote's candidates (see
        :func:`embedding_candidates`).
    embedding_k : int
        Neighbours per image taken from the embedding.
    embed : callable, optional
        Images -> 2-D array of descriptors for the family named by ``embedding`` (for
        example ``make_extractor("deep").fit_transform``); required when ``embedding`` is set.

    Returns
    -------
    AuditResult
    """
    if embedding is not None and embed is None:
        raise ValueError(f"embedding={embedding!r} needs embed, the function that computes it")
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
                for key in embedding_candidates(rgb, embed, embedding_k):
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
