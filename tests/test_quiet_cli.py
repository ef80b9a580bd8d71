"""A quiet CLI: a deep ``poxscan predict`` prints no TensorFlow, absl or CUDA start-up line.

A real model on EfficientNet-Lite0 features (trained on a few real MSLD patients by ``poxscan
tune`` and ``poxscan train``) predicts a real image in a fresh process, as a user would run it;
its stderr is searched for the lines TensorFlow's libraries print while loading and on their
first operation. ``--verbose`` lets them through: on this CPU-only machine they appear, which
shows the search would find them.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from _trained_models import deep_model_dir, subset_records, workspace

pytestmark = pytest.mark.deep

#: What TensorFlow, absl and CUDA print at start-up (glog-style "E0000 00:00:..." prefixes too).
STARTUP = re.compile(
    r"cuInit|cuda|cudart|cpu_feature_guard|absl::InitializeLog|oneDNN|"
    r"This TensorFlow binary|rebuild TensorFlow|^[EWI]\d{4} \d\d:\d\d:\d\d",
    re.IGNORECASE | re.MULTILINE,
)


@pytest.fixture(scope="module")
def deep_model(tmp_path_factory, data_root) -> Path:
    return deep_model_dir(str(tmp_path_factory.getbasetemp() / "poxscan_models"), str(data_root))


def _predict(model: Path, image: str, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "poxscan", *extra, "predict", "--model", str(model), image],
        capture_output=True,
        text=True,
        timeout=600,
        env=dict(os.environ),  # CI sets TF_CPP_MIN_LOG_LEVEL=2: quiet must not depend on it
    )


@pytest.mark.slow
def test_deep_predict_stderr_holds_no_tensorflow_startup_line(
    deep_model, tmp_path_factory, data_root
):
    records = subset_records(
        workspace(str(tmp_path_factory.getbasetemp() / "poxscan_models")), data_root
    )
    image = str(records["path"].iloc[0])
    quiet = _predict(deep_model, image)
    assert quiet.returncode == 0, quiet.stderr
    assert f"{image}: " in quiet.stdout and "probability of mpox" in quiet.stdout
    # The explanation sums the deep family in plain words (its units are never the headline).
    assert "deep-network pattern" in quiet.stdout
    assert not STARTUP.search(quiet.stderr), quiet.stderr

    loud = _predict(deep_model, image, "--verbose")
    assert loud.returncode == 0, loud.stderr
    assert STARTUP.search(loud.stderr), loud.stderr


def test_quiet_survives_a_probe_for_tensorflow_before_its_import():
    """``poxscan features`` asks find_spec("tensorflow") first; the import after stays quiet."""
    code = (
        "import importlib.util, sys\n"
        "from poxscan.cli.quiet import quiet_tensorflow\n"
        "quiet_tensorflow()\n"
        "assert importlib.util.find_spec('tensorflow') is not None\n"
        "import tensorflow as tf\n"
        "print(float(tf.reduce_sum(tf.ones((2, 2)))))\n"
        "print('after import', file=sys.stderr)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "4.0"
    assert proc.stderr.strip() == "after import"  # poxscan's own stderr still gets through
