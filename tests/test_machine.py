"""The machine description every benchmark records."""

from __future__ import annotations

import platform

import numpy as np

from poxscan.core.machine import cpu_model, versions


def test_versions_name_installed_and_missing_distributions():
    got = versions(["numpy", "no-such-distribution-poxscan-test"])
    assert got["python"] == platform.python_version()
    assert got["numpy"] == np.__version__
    assert got["no-such-distribution-poxscan-test"] == "not installed"


def test_cpu_model_is_named():
    name = cpu_model()
    assert isinstance(name, str) and name.strip() and "model name" not in name
