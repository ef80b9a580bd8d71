"""``poxscan train``: fit the deployable model of a configuration and save a model directory."""

from __future__ import annotations

import argparse
import copy
import json
import logging
from pathlib import Path
from typing import Any

from poxscan.cli._common import add_data_args, selected_datasets

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "train",
        help="train a model from a config and save it (model directory)",
        description="Train the final model of a pipeline configuration (the best-config JSON "
        "of `poxscan tune`, or flags) on cached features, calibrate it on out-of-fold scores "
        "of a grouped cross-validation, choose its decision threshold, explain it with SHAP, "
        "and write a model directory atomically: model.joblib, manifest.json (sha256 of every "
        "file), model_card.md, shap/.",
    )
    add_data_args(parser)
    parser.add_argument("--out", required=True, help="model directory to create")
    parser.add_argument("--force", action="store_true", help="replace an existing --out")
    parser.add_argument(
        "--config",
        default=None,
        help="pipeline config JSON: the output of `poxscan tune` (its best_config) or a "
        "config itself; flags below override its entries (default, with no config and no "
        "flags: the shipped screening config, poxscan.pipelines.builder.SCREENING_CONFIG)",
    )
    parser.add_argument(
        "--family",
        action="append",
        default=None,
        metavar="F",
        help="feature family (repeatable): color, texture, hog, deep",
    )
    parser.add_argument(
        "--task",
        choices=("binary", "multiclass"),
        default=None,
        help="binary: the mpox screen (default); multiclass: the differential (mpox, "
        "chickenpox, measles, normal; msld_v1's mixed 'Others' left out), shown beside it",
    )
    parser.add_argument("--classifier", default=None, help="lda, adaboost, mlp, xgboost, ...")
    parser.add_argument("--selector", default=None, help="none, anova, mutual_info, l1, tree, pca")
    parser.add_argument("--k", type=int, default=None, help="features (or components) kept")
    parser.add_argument("--scaler", default=None, help="standard, robust, none")
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="classifier parameter (YAML value), e.g. max_depth=3 (repeatable)",
    )
    parser.add_argument(
        "--calibration",
        default="sigmoid",
        choices=("sigmoid", "isotonic", "none"),
        help="map from out-of-fold scores to probabilities (default: sigmoid, i.e. Platt)",
    )
    parser.add_argument(
        "--threshold-rule",
        "--threshold",
        dest="threshold",
        default=None,
        help="decision threshold: 'sensitivity:<target>' (default 'sensitivity:0.95', "
        "poxscan.pipelines.builder.SCREENING_THRESHOLD: a screening threshold, the highest "
        "whose out-of-fold sensitivity on calibrated probabilities reaches the target; 0.95 "
        "because a 0.90 target set on one collection kept under 0.85 on the other), 'youden' "
        "(maximises sensitivity + specificity - 1) or a fixed number",
    )
    parser.add_argument("--cv", type=int, default=5, help="grouped CV folds (default: 5)")
    parser.add_argument("--seed", type=int, default=0, help="fold seed (default: 0)")
    parser.add_argument(
        "--n-boot", type=int, default=2000, help="group-bootstrap draws for the 95 %% CIs"
    )
    parser.add_argument(
        "--cache-dir",
        default=None,
        help="feature cache folder (default: $POXSCAN_CACHE, else ~/.cache/poxscan)",
    )
    parser.add_argument("--no-shap", action="store_true", help="skip the SHAP explanation")
    parser.add_argument(
        "--background", type=int, default=100, help="SHAP background images (default: 100)"
    )
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")
    parser.add_argument(
        "--gate",
        default="auto",
        choices=("auto", "embedding", "pixels"),
        help="input gate saved with the model: 'embedding' (pixel checks, then the distance of "
        "the photo's deep embedding to the training photos, conformal threshold set out of "
        "fold; needs poxscan[deep]), 'pixels' (pixel checks only) or 'auto' (default: "
        "'embedding' where TensorFlow and the backbone's weights are installed, else 'pixels'); "
        "with --runtime litert-int8 the embedding is the model's own int8 backbone",
    )
    parser.add_argument(
        "--gate-backbone",
        default=None,
        help="backbone of the gate's embedding (default: the model's own deep embedding, "
        "backbone and pose, when it has a plain one, so the gate costs no second forward pass; "
        "else efficientnet-lite0)",
    )
    parser.add_argument(
        "--gate-refuse-rate",
        type=float,
        default=0.01,
        help="share of real lesion photos the gate's threshold refuses (default: 0.01)",
    )
    parser.add_argument(
        "--runtime",
        default="float",
        choices=("float", "litert-int8"),
        help="float (default: Keras backbone) or litert-int8: an int8 backbone calibrated on "
        "the training images, stored in the model directory; the pipeline is trained on its "
        "features and the model runs with LiteRT alone (no TensorFlow)",
    )
    parser.set_defaults(func=_train)


def _parse_threshold(text: str | None) -> str | float:
    if text is None:  # the shipped rule, imported only here (it lives beside scikit-learn)
        from poxscan.pipelines.builder import SCREENING_THRESHOLD

        text = SCREENING_THRESHOLD
    try:
        value = float(text)
    except ValueError:
        from poxscan.pipelines.calibration import ThresholdRule

        return str(ThresholdRule.parse(text))
    if not 0 < value < 1:
        raise ValueError(f"a fixed threshold must lie in (0, 1), got {value}")
    return value


def read_config(path: str | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Config and extra information (datasets, source) from a tune output or a config file."""
    if path is None:
        return {}, {}
    text = Path(path).read_text(encoding="utf-8")
    try:
        payload = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(payload, dict):
        raise ValueError(f"{path}: expected a JSON object")
    info: dict[str, Any] = {"config_source": str(path)}
    if "best_config" in payload:
        if not payload["best_config"]:
            raise ValueError(f"{path}: the study has no best config yet")
        spec = payload.get("objective_spec") or {}
        info["datasets"] = spec.get("datasets")
        info["config_source"] = (
            f"{path} (study {payload.get('study_name')}, trial {payload.get('best_trial')}, "
            f"tuning {spec.get('metric', 'score')} {payload.get('best_value')})"
        )
        return dict(payload["best_config"]), info
    return dict(payload.get("config", payload)), info


def _config_from_args(args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, Any]]:
    from poxscan.cli.features import _parse_value

    config, info = read_config(args.config)
    if getattr(args, "task", None) == "multiclass":
        from poxscan.pipelines.differential import DEFAULT_DIFFERENTIAL_CONFIG

        if not config and not args.family and args.classifier is None:
            config = dict(DEFAULT_DIFFERENTIAL_CONFIG)
        config["task"] = "multiclass"
    if args.family:
        config["families"] = args.family
    if args.classifier is not None and args.classifier != config.get("classifier"):
        config["params"] = {}  # the config's parameters belong to its own classifier
    for key in ("classifier", "selector", "k", "scaler"):
        value = getattr(args, key)
        if value is not None:
            config[key] = value
    if args.param:
        params = dict(config.get("params") or {})
        for item in args.param:
            key, sep, value = item.partition("=")
            if not sep or not key:
                raise ValueError(f"--param expects KEY=VALUE, got {item!r}")
            params[key.strip()] = _parse_value(value)
        config["params"] = params
    if not config:
        # No config: the shipped screening model (the candidate table's winner).
        from poxscan.pipelines.builder import SCREENING_CONFIG

        config = copy.deepcopy(SCREENING_CONFIG)
        info["config_source"] = (
            "SCREENING_CONFIG: winner of experiments/candidates.py under the pre-declared "
            "transfer rule (experiments/results/candidates/candidates.md)"
        )
    config.setdefault("task", "binary")
    return config, info


def _train(args: argparse.Namespace) -> int:
    from poxscan.core.data import load_manifest, resolve_data_root
    from poxscan.core.imageio import load_image
    from poxscan.core.skin_tone import ita_degrees
    from poxscan.pipelines.builder import config_families, normalize_config
    from poxscan.pipelines.experiment_data import load_experiment
    from poxscan.pipelines.persistence import manifest_sha256, save_model
    from poxscan.pipelines.training import check_cached_features, train_model

    config, info = _config_from_args(args)
    config = normalize_config(config)
    out = Path(args.out)
    if out.exists() and not args.force:
        raise FileExistsError(f"{out} already exists; choose another --out or pass --force")
    if config["task"] == "multiclass":
        return _train_differential(args, config, info, out)
    threshold = _parse_threshold(args.threshold)
    manifest = load_manifest()
    datasets = (args.dataset and selected_datasets(args)) or info.get("datasets") or list(manifest)
    root = resolve_data_root(args.data_root)
    families = config_families(config)
    lite = None
    if getattr(args, "runtime", "float") == "litert-int8":
        from poxscan.cli._lite_train import prepare_lite

        lite = prepare_lite(config, families, datasets, root)
        config, families = lite.config, lite.families
    log.info("training %s on %s (%s)", config["classifier"], ", ".join(datasets), families)
    data = load_experiment(
        datasets,
        families,
        task="binary",
        data_root=root,
        cache=args.cache_dir,
        progress=not args.no_progress,
    )
    ids = [str(i) for i in data.X.index]
    paths = data.records["path"].tolist()
    # Each photo's tone, so that the model card shows the decisions per tone band too.
    tones = [ita_degrees(load_image(p)) for p in paths]
    result = train_model(
        data.X,
        data.y,
        data.groups,
        config,
        calibration=args.calibration,
        threshold=threshold,
        cv=args.cv,
        seed=args.seed,
        n_boot=args.n_boot,
        ids=ids,
        tones=tones,
    )
    live_check = check_cached_features(result.model, data.X, paths)
    training_data = describe_training_data(data, datasets, manifest)
    extra = {
        "config_source": info.get("config_source", "command-line flags"),
        "feature_check": {
            **live_check,
            "what": "training images' features recomputed by the saved extractors match the "
            "cached features the model was trained on",
        },
    }
    gate = None
    gate_kind = args.gate
    from poxscan.pipelines.gate import default_gate_embedding

    gate_backbone, gate_orient, gate_k = default_gate_embedding(families, args.gate_backbone)
    if lite is not None and gate_kind != "pixels":
        # Training a lite model needs TensorFlow anyway; its gate embeds with the int8 file.
        gate = lite.fit_gate(
            data, refuse_rate=args.gate_refuse_rate, seed=args.seed, backbone=gate_backbone
        )
        gate_kind = "lite"
    if gate_kind == "auto":
        from poxscan.pipelines.gate import embedding_available

        gate_kind = "embedding" if embedding_available(gate_backbone) else "pixels"
        if gate_kind == "pixels":
            log.warning(
                "TensorFlow or the %s weights are not installed: the model's input gate has "
                "the pixel checks only (install poxscan[deep] for the embedding gate)",
                gate_backbone,
            )
    if gate_kind == "embedding":
        from poxscan.pipelines.gate import fit_gate_on_records

        gate = fit_gate_on_records(
            data.records,
            data.groups,
            backbone=gate_backbone,
            refuse_rate=args.gate_refuse_rate,
            cache=args.cache_dir,
            seed=args.seed,
            progress=not args.no_progress,
            orient=gate_orient,
            n_neighbors=gate_k,
        )
    save = save_model if lite is None else lite.save
    save(
        result,
        out,
        gate=gate,
        training_data=training_data,
        features=data.X,
        ids=ids,
        explain=not args.no_shap,
        overwrite=args.force,
        background_size=args.background,
        extra=extra,
    )
    metrics = result.metrics["metrics"]
    auc, sens, spec = metrics["roc_auc"], metrics["sensitivity"], metrics["specificity"]
    print(f"saved {out}")
    print(
        f"manifest sha256 {manifest_sha256(out)}  (pin it: Predictor.load(..., manifest_sha256=))"
    )
    print(
        f"out-of-fold ROC AUC {auc['value']:.3f} [{auc['ci95'][0]:.3f}, {auc['ci95'][1]:.3f}], "
        f"sensitivity {sens['value']:.3f}, specificity {spec['value']:.3f} at threshold "
        f"{result.model.threshold_:.3f} ({result.model.threshold_rule_})"
    )
    if gate is not None:
        described = gate.describe()["embedding"]
        pose = ", canonical pose" if described.get("orient") == "canonical" else ""
        print(
            f"input gate: {described['backbone']} ({described['runtime']}{pose}) embedding, "
            "threshold "
            f"{described['threshold']:.4f}; refuses {100 * described['oof_refused']:.1f} % of "
            "the training photos out of fold"
        )
    return 0


def _train_differential(
    args: argparse.Namespace, config: dict[str, Any], info: dict[str, Any], out: Path
) -> int:
    """``--task multiclass``: grouped out-of-fold evidence, then the model on every image."""
    from poxscan.core.data import load_manifest, resolve_data_root
    from poxscan.pipelines.differential import (
        DifferentialModel,
        differential_evidence,
        save_differential,
    )

    manifest = load_manifest()
    datasets = args.dataset or info.get("datasets") or list(manifest)
    data, report = differential_evidence(
        datasets,
        config,
        n_splits=args.cv,
        seed=args.seed,
        data_root=resolve_data_root(args.data_root),
        cache=args.cache_dir,
        progress=not args.no_progress,
    )
    report.pop("oof_proba")
    model = DifferentialModel(pipeline=config).fit_features(data.X, data.y, data.class_names)
    training = describe_training_data(data, datasets, manifest)
    training["class_counts"] = {c: int((data.y == i).sum()) for i, c in enumerate(data.class_names)}
    save_differential(
        model,
        out,
        training_data={**training, "config_source": info.get("config_source", "flags")},
        evaluation=report,
        overwrite=args.force,
    )
    recall = ", ".join(f"{c} {100 * r['recall']:.0f} %" for c, r in report["per_class"].items())
    print(f"saved {out} (differential: {', '.join(data.class_names)})")
    print(f"out-of-fold recall per class: {recall}")
    return 0


def describe_training_data(data: Any, datasets: list[str], manifest: dict) -> dict[str, Any]:
    """What the manifest records about the training data: checksums, counts, groups."""
    from poxscan.core.data import groups_source
    from poxscan.core.hashing import bytes_sha256

    records = data.records
    per_dataset = {}
    for name in datasets:
        spec = manifest[name]
        sub = records[records["dataset"] == name]
        per_dataset[name] = {
            "checksum": spec.checksum,
            "commit": spec.commit,
            "n_images": len(sub),
            "n_in_manifest": len(spec.files),
        }
    groups = groups_source(data.groups)  # the file load_groups read
    ids_text = "".join(f"{i}\n" for i in sorted(map(str, data.X.index)))
    return {
        "datasets": per_dataset,
        "n_images": len(records),
        "class_counts": {
            "mpox": int((data.y == 1).sum()),
            "not_mpox": int((data.y == 0).sum()),
        },
        "label_counts": {str(k): int(v) for k, v in records["label"].value_counts().items()},
        "n_groups": groups["n_groups"],
        "groups_source": (
            f"audit groups {groups['file']} sha256 {groups['sha256']}"
            if groups["file"]
            else "patient ids from file names (no leakage audit found)"
        ),
        "image_ids_sha256": bytes_sha256(ids_text),
    }
