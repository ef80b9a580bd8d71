"""Shared fixtures: the real datasets in ../shared/datasets (or $POXSCAN_DATA)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from poxscan.core.data import load_records
from poxscan.core.imageio import load_image

REPO = Path(__file__).resolve().parents[1]

if "OPENBLAS_NUM_THREADS" not in os.environ:
    # One BLAS thread per process (a user's own OPENBLAS_NUM_THREADS wins). On the 2-core
    # machine with other processes running (load 3-5) a two-thread OpenBLAS oversubscribes: a
    # shrinkage-LDA fit on 1280 deep features took 4-9 s against 0.8-1.6 s with one thread; on
    # an idle machine the two are alike (0.6-0.75 s against 0.8 s), so one thread costs little.
    # The library's cross-validation workers limit themselves the same way (threadpool_limits(1)
    # in pipelines/evaluation.py). The variable reaches subprocesses (`poxscan serve`, fresh
    # predict runs) and OpenBLAS copies loaded later (SciPy's); threadpoolctl limits NumPy's.
    from threadpoolctl import threadpool_limits

    os.environ["OPENBLAS_NUM_THREADS"] = "1"
    threadpool_limits(limits=1, user_api="blas")


def _data_root() -> Path:
    # Absolute: the README's first command exports a relative POXSCAN_DATA, and tests run the
    # CLI from other working directories (and in subprocesses that read the variable).
    root = Path(os.environ.get("POXSCAN_DATA") or REPO.parent / "shared" / "datasets").resolve()
    os.environ["POXSCAN_DATA"] = str(root)
    if not (root / "msld_v1").is_dir():
        # Never skip silently: the real images are part of the test suite.
        raise RuntimeError(
            f"real datasets not found at {root}; set POXSCAN_DATA to the folder holding msld_v1"
        )
    return root


@pytest.fixture(scope="session")
def data_root() -> Path:
    """Folder holding msld_v1 and ahsan2022."""
    return _data_root()


@pytest.fixture(scope="session")
def root(tmp_path_factory) -> str:
    """Where the shared test models live: one trained model per session, for every module."""
    return str(tmp_path_factory.getbasetemp() / "poxscan_models")


@pytest.fixture(scope="session")
def model_dir(root, data_root) -> Path:
    """The shared colour-only model directory (``tests/_trained_models.trained_model_dir``)."""
    from _trained_models import trained_model_dir

    return trained_model_dir(root, str(data_root))


@pytest.fixture(scope="module")
def paths(root, data_root) -> list[str]:
    """Paths of the shared test models' training subset (``_trained_models.feature_data``)."""
    from _trained_models import feature_data

    return feature_data(root, str(data_root))[3]


@pytest.fixture(scope="module")
def photos(paths) -> list[np.ndarray]:
    """The first 12 of those photos, decoded."""
    return [load_image(p) for p in paths[:12]]


@pytest.fixture(scope="session")
def msld_records(data_root):
    """All MSLD v1 records (DataFrame from :func:`poxscan.core.data.load_records`)."""
    return load_records("msld_v1", root=data_root)


@pytest.fixture(scope="session")
def real_images(msld_records) -> list[np.ndarray]:
    """Six real MSLD images, three mpox and three others, loaded by the one loader."""
    picks = msld_records.groupby("y", group_keys=False).head(3).sort_values("id")["path"].tolist()
    return [load_image(p) for p in picks]


@pytest.fixture(scope="session")
def chromium(tmp_path_factory):
    """Starts headless Chromium with a fresh profile: ``chromium(**kwargs)`` takes the options of
    :func:`poxscan.core.headless_chromium.start_chromium`; the caller quits the driver. A
    browser that cannot start fails the test, never skips it."""
    from poxscan.core.headless_chromium import start_chromium

    def start(**kwargs):
        try:
            return start_chromium(tmp_path_factory.mktemp("chromium-profile"), **kwargs)
        except RuntimeError as exc:
            pytest.fail(str(exc), pytrace=False)

    return start


def pytest_terminal_summary(terminalreporter) -> None:
    """Print the fuzzing tests' case counts (tests/_fuzz_report.py) at the end of the run."""
    from _fuzz_report import LINES

    if LINES:
        terminalreporter.section("fuzzing: cases tried")
        for line in LINES:
            terminalreporter.write_line(line)
