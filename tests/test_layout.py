"""The package finds what it needs at run time through itself, never through the checkout."""

from __future__ import annotations

import ast
from pathlib import Path

import pandas as pd
import pytest

from poxscan.core import data

REPO = Path(__file__).resolve().parents[1]
PACKAGE_DIRS = [REPO / "poxscan", REPO / "features", REPO / "pipelines"]


def test_shipped_manifest_and_groups_are_the_repositorys():
    # The wheel ships copies (the checkout links them); both must be the committed files.
    assert data.DEFAULT_MANIFEST.read_bytes() == (REPO / "data_manifest.yaml").read_bytes()
    committed = REPO / "experiments" / "results" / "audit" / "groups.csv"
    assert data.DEFAULT_GROUPS.read_bytes() == committed.read_bytes()
    assert data.DEFAULT_MANIFEST.resolve().is_relative_to(REPO)


def test_no_package_module_walks_up_to_the_checkout():
    offenders = []
    for folder in PACKAGE_DIRS:
        for path in folder.rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Attribute) and node.attr == "parents":
                    offenders.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert offenders == []


def test_missing_explicit_groups_file_is_an_error_naming_it(tmp_path):
    records = pd.DataFrame({"id": ["a/x.jpg"], "patient": ["a:x"]})
    missing = tmp_path / "nowhere" / "groups.csv"
    with pytest.raises(FileNotFoundError, match="nowhere"):
        data.load_groups(records, missing)


def test_groups_from_the_environment(tmp_path, monkeypatch):
    table = tmp_path / "groups.csv"
    table.write_text("id,group\na/x.jpg,g7\n", encoding="utf-8")
    monkeypatch.setenv(data.GROUPS_ENV, str(table))
    records = pd.DataFrame({"id": ["a/x.jpg", "a/y.jpg"], "patient": ["a:x", "a:y"]})
    with pytest.warns(UserWarning, match="1 images are not in"):
        groups = data.load_groups(records)
    assert groups.tolist() == ["g7", "a:y"]


def test_missing_manifest_is_an_error_naming_the_variable(tmp_path, monkeypatch):
    monkeypatch.setenv(data.MANIFEST_ENV, str(tmp_path / "none.yaml"))
    with pytest.raises(FileNotFoundError, match="POXSCAN_MANIFEST"):
        data.load_manifest()


def test_groups_source_names_the_file_in_use(tmp_path, monkeypatch):
    import hashlib

    monkeypatch.delenv(data.GROUPS_ENV, raising=False)
    shipped = data.groups_source(["g1", "g2", "g1"])
    # The shipped file is named by its place in the package, not by this checkout's path.
    assert shipped["file"] == "poxscan/core/resources/groups.csv (shipped)"
    assert shipped["sha256"] == hashlib.sha256(data.DEFAULT_GROUPS.read_bytes()).hexdigest()
    assert shipped["n_groups"] == 2

    table = tmp_path / "groups.csv"
    table.write_bytes(b"id,group\na/x.jpg,g7\n")
    monkeypatch.setenv(data.GROUPS_ENV, str(table))
    assert data.groups_file() == table
    assert data.groups_source(["g7"]) == {
        "file": str(table),
        "sha256": hashlib.sha256(b"id,group\na/x.jpg,g7\n").hexdigest(),
        "n_groups": 1,
    }
    monkeypatch.setenv(data.GROUPS_ENV, str(tmp_path / "none.csv"))
    assert data.groups_source([]) == {"file": None, "sha256": None, "n_groups": 0}
