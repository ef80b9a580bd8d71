"""data_manifest.yaml against the real datasets, and `poxscan data verify`."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from poxscan.cli import main
from poxscan.core.data import (
    content_checksum,
    load_groups,
    load_manifest,
    load_records,
    verify_dataset,
)


def test_manifest_describes_both_datasets():
    manifest = load_manifest()
    assert set(manifest) == {"msld_v1", "ahsan2022"}
    for spec in manifest.values():
        assert sum(spec.expected_counts.values()) == len(spec.files)
        assert content_checksum(spec.files) == spec.checksum
        assert spec.commit and spec.licence and spec.upstream


def test_real_copies_verify(data_root: Path):
    for spec in load_manifest().values():
        report = verify_dataset(spec, data_root)
        assert report.ok, report.summary()


def test_verify_names_missing_extra_and_changed_files(data_root: Path, tmp_path: Path):
    spec = load_manifest()["msld_v1"]
    copy = tmp_path / "msld_v1"
    shutil.copytree(data_root / "msld_v1", copy)
    (copy / "Monkeypox" / "M01_01.jpg").unlink()
    (copy / "Others" / "NM01_01.jpg").write_bytes(b"changed")
    shutil.copy(copy / "Others" / "NM02_01.jpg", copy / "Others" / "NM999_01.jpg")
    report = verify_dataset(spec, tmp_path)
    assert not report.ok
    assert report.missing == ["Monkeypox/M01_01.jpg"]
    assert report.changed == ["Others/NM01_01.jpg"]
    assert report.extra == ["Others/NM999_01.jpg"]
    text = report.summary()
    assert "M01_01.jpg" in text and "NM999_01.jpg" in text and "FAILED" in text


def _unreadable_copy(data_root: Path, tmp_path: Path) -> dict[str, str]:
    """A copy of MSLD v1 where three listed images cannot be read, even by root."""
    copy = tmp_path / "msld_v1"
    shutil.copytree(data_root / "msld_v1", copy)
    bad = {
        "Monkeypox/M01_01.jpg": "FIFO",
        "Monkeypox/M01_02.jpg": "directory",
        "Others/NM01_01.jpg": "cannot be read",
    }
    for rel in bad:
        (copy / rel).unlink()
    os.mkfifo(copy / "Monkeypox/M01_01.jpg")
    (copy / "Monkeypox/M01_02.jpg").mkdir()
    # Write-only /proc file: unreadable by root too (tests run as root; chmod 000 stops nothing).
    (copy / "Others/NM01_01.jpg").symlink_to("/proc/sys/vm/drop_caches")
    return bad


def test_verify_and_audit_report_unreadable_files_and_go_on(data_root: Path, tmp_path: Path):
    bad = _unreadable_copy(data_root, tmp_path)
    spec = load_manifest()["msld_v1"]
    report = verify_dataset(spec, tmp_path)
    assert not report.ok and set(report.unreadable) == {"Others/NM01_01.jpg"} | {
        rel for rel in bad if rel.startswith("Monkeypox")
    }
    assert not report.missing and not report.changed and not report.extra
    text = report.summary()
    for rel in bad:
        assert rel in text
    assert "3 unreadable" in text
    from poxscan.core.audit import run_audit

    manifest = {"msld_v1": spec}
    records = load_records("msld_v1", root=tmp_path, manifest=manifest).head(12)
    result = run_audit(records=records, manifest=manifest)
    failed = result.failed
    assert set(failed) == {f"msld_v1/{rel}" for rel in bad if rel.startswith("Monkeypox")}
    assert "FIFO" in failed["msld_v1/Monkeypox/M01_01.jpg"]
    assert "directory" in failed["msld_v1/Monkeypox/M01_02.jpg"]
    from poxscan.features import make_extractor
    from poxscan.features.cache import extract_many

    extractor = make_extractor("color")
    (result,) = extract_many(records.head(6), [extractor], cache=False, progress=False)
    problems = dict(result.failures)
    assert problems.keys() == failed.keys() and len(result.table) == 4
    assert "FIFO" in problems["msld_v1/Monkeypox/M01_01.jpg"]


def test_verify_cli(data_root: Path, tmp_path: Path, capsys):
    assert main(["data", "verify", "--data-root", str(data_root)]) == 0
    assert "msld_v1" in capsys.readouterr().out
    (tmp_path / "msld_v1").mkdir()
    assert main(["data", "verify", "--data-root", str(tmp_path), "--dataset", "msld_v1"]) == 1
    assert "228 missing" in capsys.readouterr().out


def test_records_labels_and_patients(msld_records, data_root: Path):
    assert len(msld_records) == 228
    assert msld_records["y"].sum() == 102
    assert msld_records["patient"].str.startswith("msld_v1:M").sum() == 102
    assert msld_records["patient"].str.startswith("msld_v1:NM").sum() == 126
    assert msld_records["patient"][msld_records["y"] == 1].nunique() == 55
    assert msld_records["patient"][msld_records["y"] == 0].nunique() == 107
    ahsan = load_records("ahsan2022", root=data_root)
    assert set(ahsan["label"]) == {"mpox", "chickenpox", "measles", "normal"}
    assert ahsan["patient"].nunique() == len(ahsan)  # no patient ids: one group per image


def test_groups_merge_audit_links(msld_records, tmp_path: Path):
    table = msld_records[["id"]].copy()
    table["group"] = msld_records["patient"]
    # A near-duplicate link merges the last patient's images into the first patient's group.
    last = table["group"] == table["group"].iloc[-1]
    table.loc[last, "group"] = table["group"].iloc[0]
    table.to_csv(tmp_path / "groups.csv", index=False)
    groups = load_groups(msld_records, tmp_path / "groups.csv")
    assert groups.iloc[0] == groups.iloc[-1]
    assert groups.nunique() == msld_records["patient"].nunique() - 1


def test_unknown_dataset_is_a_clear_error(data_root: Path):
    with pytest.raises(KeyError, match="unknown dataset 'nope'"):
        load_records("nope", root=data_root)
