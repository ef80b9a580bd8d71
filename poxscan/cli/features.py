"""``poxscan features``: compute feature families into the cache."""

from __future__ import annotations

import argparse
import importlib.util
from typing import Any

from poxscan.cli._common import add_data_args

HANDCRAFTED = ("color", "texture", "hog")


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("features", help="compute and cache image features")
    feat_sub = parser.add_subparsers(dest="features_command", metavar="ACTION", required=True)

    extract = feat_sub.add_parser(
        "extract",
        help="compute feature families for datasets into the feature cache",
        description="Compute feature families for every image of the datasets, reusing the "
        "cache: a second run computes nothing. Exit code 1 if any image could not be used.",
    )
    add_data_args(extract)
    extract.add_argument(
        "--family",
        action="append",
        default=None,
        metavar="F",
        help="feature family: color, texture, hog, deep (repeatable; default: the handcrafted "
        "families, plus deep where TensorFlow is installed)",
    )
    extract.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="FAMILY.KEY=VALUE",
        help="extractor parameter, e.g. hog.image_size=96, color.spaces=hsv,lab,ycrcb, "
        "'texture.lbp=[[8,1],[16,2]]' or deep.backbone=efficientnet-lite2; values are YAML, "
        "comma-separated values become tuples (repeatable)",
    )
    extract.add_argument(
        "--cache-dir",
        default=None,
        help="feature cache folder (default: $POXSCAN_CACHE, else ~/.cache/poxscan)",
    )
    extract.add_argument(
        "--batch-size", type=int, default=32, help="images per transform call (default: 32)"
    )
    extract.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    extract.set_defaults(func=_extract)


def _parse_value(text: str) -> Any:
    """YAML values (``16`` -> int, ``[[8, 1], [16, 2]]`` -> nested tuples); ``a,b`` -> tuple."""
    import yaml

    def scalar(item: str) -> Any:
        try:
            return yaml.safe_load(item)
        except yaml.YAMLError:
            return item

    text = text.strip()
    if "," in text and not text.startswith("["):
        return tuple(scalar(item.strip()) for item in text.split(","))
    value = scalar(text)

    def tuples(v: Any) -> Any:
        return tuple(tuples(x) for x in v) if isinstance(v, list) else v

    return tuples(value)


def parse_params(items: list[str], families: list[str]) -> dict[str, dict[str, Any]]:
    """``["hog.image_size=96", ...]`` -> ``{"hog": {"image_size": 96}, ...}``."""
    params: dict[str, dict[str, Any]] = {family: {} for family in families}
    for item in items:
        key, sep, value = item.partition("=")
        family, dot, name = key.strip().partition(".")
        if not sep or not dot or not name:
            raise ValueError(f"--param {item!r}: expected FAMILY.KEY=VALUE, e.g. hog.image_size=96")
        if family not in params:
            raise ValueError(
                f"--param {item!r}: family {family!r} is not among those extracted ({families})"
            )
        params[family][name] = _parse_value(value)
    return params


def _default_families() -> list[str]:
    families = list(HANDCRAFTED)
    if importlib.util.find_spec("tensorflow") is not None:
        families.append("deep")
    return families


def _extract(args: argparse.Namespace) -> int:
    from poxscan.core.data import load_manifest, load_records
    from poxscan.features import DEFAULT_PARAMS, FAMILIES, make_extractor
    from poxscan.features.cache import FeatureCache, extract_many

    families = list(dict.fromkeys(args.family or _default_families()))
    for family in families:
        if family not in FAMILIES:
            raise KeyError(f"unknown feature family {family!r}; known: {sorted(FAMILIES)}")
    params = parse_params(args.param, families)
    extractors = []
    for family in families:
        merged = {**DEFAULT_PARAMS.get(family, {}), **params[family]}
        try:
            extractor = make_extractor(family, **merged)
        except TypeError as exc:
            raise ValueError(f"family {family}: bad parameters {merged}: {exc}") from None
        extractors.append(extractor)

    datasets = args.dataset or list(load_manifest())
    records = load_records(datasets, root=args.data_root)
    cache = FeatureCache(args.cache_dir)
    print(f"{len(records)} images from {', '.join(datasets)}; families: {', '.join(families)}")
    results = extract_many(
        records,
        extractors,
        cache=cache,
        progress=not args.no_progress,
        batch_size=args.batch_size,
    )
    for family, result in zip(families, results, strict=True):
        print(
            f"  {family:8s} {result.table.shape[1]:5d} features: {result.n_computed} computed, "
            f"{result.n_cached} from cache  ({result.location})"
        )
    failures = results[0].failures
    if failures:
        print(f"{len(failures)} images could not be used:")
        for rid, message in failures:
            print(f"  {rid}: {message}")
    else:
        print("no failures")
    print(f"cache: {cache.root}")
    return 1 if failures else 0
