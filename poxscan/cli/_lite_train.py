"""``poxscan train --runtime litert-int8``: export the int8 backbone first, save a lite dir last."""

from __future__ import annotations

import atexit
import logging
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


@dataclass
class LiteTraining:
    """What ``_train`` needs to train on int8 features and save a lite model directory."""

    config: dict[str, Any]
    families: dict[str, dict[str, Any]]
    tflite: Path | None
    export_manifest: dict[str, Any]
    paths: list[str]

    def fit_gate(self, data: Any, *, refuse_rate: float, seed: int, backbone: str) -> Any:
        """The input gate on the int8 backbone's own embeddings of the training photos.

        ``data.X``'s deep columns are those embeddings (the features the pipeline trains on),
        so the reference photos, the out-of-fold calibration scores and every photo checked
        later share one network: the ``.tflite`` file the directory ships. ``None`` (pixel
        checks only) for a model without the deep family: it has no backbone to embed with.
        """
        import numpy as np

        from poxscan.features.backbones import get_backbone
        from poxscan.pipelines.gate import LITE_RUNTIME, MODEL_EMBEDDING_NEIGHBORS, fit_input_gate
        from poxscan.pipelines.lite_model import BACKBONE_DIR

        if self.tflite is None:
            log.warning(
                "the lite model has no deep family, so no backbone to embed with: its input "
                "gate has the pixel checks only"
            )
            return None
        spec = get_backbone(self.families["deep"].get("backbone", "efficientnet-lite0"))
        if get_backbone(backbone).name != spec.name:
            log.warning(
                "a lite model's gate embeds with its own int8 backbone (%s), not %s",
                spec.name,
                backbone,
            )
        cols = [f"deep__{spec.name}_{i}" for i in range(spec.feature_dim)]
        # The model's own embedding, so the float gate's design for it: the pose the model
        # shows the backbone (the gate records it; the shared extractor applies it) and k.
        return fit_input_gate(
            np.asarray(data.X[cols], dtype=np.float64),
            np.asarray(data.groups),
            backbone=spec.name,
            refuse_rate=refuse_rate,
            n_neighbors=MODEL_EMBEDDING_NEIGHBORS,
            seed=seed,
            runtime=LITE_RUNTIME,
            tflite_file=f"{BACKBONE_DIR}/{self.tflite.name}",
            tflite_sha256=str(self.export_manifest["sha256"]),
            orient=self.families["deep"].get("orient"),
        )

    def save(self, result: Any, out: Any, **kwargs: Any) -> dict[str, Any]:
        from poxscan.pipelines.lite_model import finish_lite_training

        overwrite = kwargs.pop("overwrite", False)
        return finish_lite_training(
            result,
            self.tflite,
            self.export_manifest,
            out,
            overwrite=overwrite,
            check_paths=self.paths,
            **kwargs,
        )


def prepare_lite(
    config: dict[str, Any], families: dict[str, dict[str, Any]], datasets: list[str], root: Any
) -> LiteTraining:
    """Export the deep family's backbone to int8, calibrated on the training images."""
    from poxscan.core.data import load_records
    from poxscan.core.imageio import ImageLoadError, load_image
    from poxscan.pipelines.lite_model import export_int8_backbone, lite_training_families

    records = load_records(datasets, root=root)
    paths = [str(p) for p in records["path"]]
    if "deep" not in families:
        return LiteTraining(config, families, None, {}, paths)
    images, ids = [], []
    for rid, path in zip(records["id"], paths, strict=True):
        try:
            images.append(load_image(path))
            ids.append(str(rid))
        except ImageLoadError as exc:
            print(f"skipping {exc}")
    work = Path(tempfile.mkdtemp(prefix="poxscan-lite-train-"))
    atexit.register(shutil.rmtree, work, True)
    backbone = families["deep"].get("backbone", "efficientnet-lite0")
    tflite, manifest = export_int8_backbone(
        backbone, images, ids, "training images (" + "+".join(datasets) + ")", work
    )
    lite_families = lite_training_families(families, tflite)
    config = {**config, "families": lite_families}
    return LiteTraining(config, lite_families, tflite, manifest, paths)
