"""The leakage audit on real images: edited copies are found, different lesions are not."""

from __future__ import annotations

import random

import cv2
import numpy as np
import pandas as pd
import pytest

from poxscan.cli import build_parser
from poxscan.core.audit import (
    AuditParams,
    dhash,
    extract_features,
    group_ids,
    render_contact_sheet,
    run_audit,
    verify_pair,
    write_audit,
)
from poxscan.core.data import load_groups
from poxscan.core.imageio import load_image

#: One image from each of twelve MSLD patients (six mpox, six others) that the full audit
#: does not link to one another.
PATIENTS = [
    "M01",
    "M03",
    "M05",
    "M07",
    "M11",
    "M13",
    "NM01",
    "NM02",
    "NM03",
    "NM05",
    "NM06",
    "NM07",
]


def _crop_rescale_mirror(image: np.ndarray) -> np.ndarray:
    """A 70 % crop off the centre, enlarged 1.5 times, mirrored left to right."""
    h, w = image.shape[:2]
    top, left = int(0.1 * h), int(0.2 * w)
    crop = image[top : top + int(0.7 * h), left : left + int(0.7 * w)]
    big = cv2.resize(crop, None, fx=1.5, fy=1.5, interpolation=cv2.INTER_CUBIC)
    return np.ascontiguousarray(big[:, ::-1])


def _grey_brighter(image: np.ndarray) -> np.ndarray:
    """Grey levels, brighter and flatter: what a re-exported or filtered copy looks like."""
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
    out = np.clip(0.8 * grey + 40.0, 0, 255).astype(np.uint8)
    return np.repeat(out[..., None], 3, axis=2)


@pytest.fixture(scope="module")
def subset(msld_records) -> pd.DataFrame:
    """Twelve real images of twelve patients, a second photo of patient M01, and two edited
    copies made here (in memory, in an ``image`` column)."""
    first = msld_records.groupby("patient", sort=False).head(1).set_index("patient")
    real = first.loc[[f"msld_v1:{p}" for p in PATIENTS]].reset_index()
    second = msld_records[msld_records["patient"] == "msld_v1:M01"].iloc[[1]]
    rows = pd.concat([real, second], ignore_index=True)
    rows["image"] = None
    src_flip = rows.loc[rows["patient"] == "msld_v1:M05"].iloc[0]
    src_grey = rows.loc[rows["patient"] == "msld_v1:NM03"].iloc[0]
    copies = []
    for name, src, edit in (
        ("flip", src_flip, _crop_rescale_mirror),
        ("grey", src_grey, _grey_brighter),
    ):
        copies.append(
            {
                **src.to_dict(),
                "id": f"test/{name}_of_{src['relpath']}",
                "dataset": "test",
                "relpath": f"{name}.png",
                "path": "",
                "patient": f"test:{name}",
                "image": edit(load_image(src["path"])),
            }
        )
    return pd.concat([rows, pd.DataFrame(copies)], ignore_index=True)


@pytest.fixture(scope="module")
def result(subset):
    return run_audit(records=subset)


def _link(links: pd.DataFrame, a: str, b: str) -> pd.Series | None:
    hit = links[
        ((links["id_a"] == a) & (links["id_b"] == b))
        | ((links["id_a"] == b) & (links["id_b"] == a))
    ]
    return None if hit.empty else hit.iloc[0]


def test_crop_rescale_mirror_is_linked_to_its_source(result, subset):
    copy = subset[subset["relpath"] == "flip.png"].iloc[0]
    source = subset[(subset["patient"] == "msld_v1:M05") & (subset["dataset"] == "msld_v1")]
    link = _link(result.links, copy["id"], source["id"].iloc[0])
    assert link is not None, "the mirrored crop was not linked to its source"
    assert link["kind"] == "duplicate"
    assert bool(link["mirrored"])
    assert link["ncc"] >= 0.9
    # scale maps id_a onto id_b: the copy is 1.5 times larger than the source.
    expected = 1.5 if link["id_a"] == source["id"].iloc[0] else 1 / 1.5
    assert link["scale"] == pytest.approx(expected, rel=0.08)
    assert link["scope"] == "across"  # "test" is a dataset of its own here


def test_grey_brightened_copy_is_linked(result, subset):
    copy = subset[subset["relpath"] == "grey.png"].iloc[0]
    source = subset[(subset["patient"] == "msld_v1:NM03") & (subset["dataset"] == "msld_v1")]
    link = _link(result.links, copy["id"], source["id"].iloc[0])
    assert link is not None, "the grey, brightened copy was not linked to its source"
    assert not bool(link["mirrored"])
    assert link["scale"] == pytest.approx(1.0, abs=0.02)


def test_different_lesions_are_not_linked(result, subset):
    real = subset[subset["dataset"] == "msld_v1"]
    patient = dict(zip(real["id"], real["patient"], strict=True))
    cross = result.links[
        result.links["id_a"].isin(patient)
        & result.links["id_b"].isin(patient)
        & (result.links["id_a"].map(patient) != result.links["id_b"].map(patient))
    ]
    assert cross.empty, f"different patients linked:\n{cross[['id_a', 'id_b', 'inliers']]}"
    # The verification saw candidate pairs of different lesions and rejected them.
    rejected = result.candidates[~result.candidates["linked"]]
    assert len(rejected) > 0


def test_two_different_lesions_fail_verification(subset):
    params = AuditParams()
    rows = subset[subset["patient"].isin(["msld_v1:M01", "msld_v1:NM07"])]
    a, b = (
        extract_features(load_image(row["path"]), row["id"], params)
        for _, row in rows.groupby("patient").head(1).iterrows()
    )
    match = verify_pair(a, b, params)
    assert not match.passes(params)
    assert match.ncc < params.min_ncc or match.inliers < params.min_inliers


def test_patients_and_links_merge_into_groups(result, subset):
    groups = result.groups()
    m01 = subset.loc[subset["patient"] == "msld_v1:M01", "id"].tolist()
    assert len(m01) == 2
    assert groups[m01[0]] == groups[m01[1]]  # same patient
    flip = subset.loc[subset["relpath"] == "flip.png", "id"].iloc[0]
    m05 = subset.loc[
        (subset["patient"] == "msld_v1:M05") & (subset["dataset"] == "msld_v1"), "id"
    ].iloc[0]
    assert groups[flip] == groups[m05]  # linked copy
    assert groups[m01[0]] != groups[m05]
    assert result.summary["n_groups"] == groups.nunique() == len(PATIENTS)
    assert result.summary["n_images"] == len(subset)


def test_group_ids_are_stable_and_ordered():
    ids = ["b/2", "a/1", "c/3", "d/4", "e/5"]
    patients = ["p", "q", "p", "d/4", "e/5"]
    links = [("d/4", "e/5")]
    names = dict(zip(ids, group_ids(ids, patients, links), strict=True))
    assert names == {"a/1": "g0001", "b/2": "g0002", "c/3": "g0002", "d/4": "g0003", "e/5": "g0003"}
    order = list(range(len(ids)))
    random.Random(0).shuffle(order)
    shuffled = group_ids([ids[i] for i in order], [patients[i] for i in order], links[::-1])
    assert dict(zip([ids[i] for i in order], shuffled, strict=True)) == names
    with pytest.raises(ValueError, match="unique"):
        group_ids(["x", "x"], ["p", "q"], [])


def test_audit_is_deterministic(subset, result):
    again = run_audit(records=subset)
    pd.testing.assert_series_equal(again.groups(), result.groups())
    pd.testing.assert_frame_equal(again.links, result.links)


def test_outputs_round_trip_through_load_groups(result, subset, tmp_path):
    paths = dict(zip(subset["id"], subset["path"], strict=True))
    images = {
        i: img for i, img in zip(subset["id"], subset["image"], strict=True) if img is not None
    }
    written = write_audit(result, tmp_path, paths, sheets=False)
    assert {"groups.csv", "links.csv", "audit.json", "summary.md"} <= set(written)
    table = pd.read_csv(tmp_path / "groups.csv", dtype=str)
    assert list(table.columns) == ["id", "dataset", "patient", "group"]
    groups = load_groups(subset, path=tmp_path / "groups.csv")
    assert groups.tolist() == result.groups().loc[subset["id"]].tolist()
    sheet = tmp_path / "sheet.png"
    drawn = render_contact_sheet(result.links, paths, sheet, images=images)
    assert drawn == len(result.links)
    assert 0 < sheet.stat().st_size < 2_000_000
    assert load_image(sheet).shape[1] > 4 * 128


def test_unreadable_file_is_reported_and_skipped(subset, tmp_path):
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    rows = subset[subset["dataset"] == "msld_v1"].head(3).copy()
    extra = rows.iloc[[0]].assign(id="test/broken.jpg", path=str(bad), patient="test:broken")
    out = run_audit(records=pd.concat([rows, extra], ignore_index=True))
    assert list(out.failed) == ["test/broken.jpg"]
    assert "broken.jpg" in out.failed["test/broken.jpg"]
    assert out.summary["n_images"] == 3


def test_dhash_sees_mirrors_as_different(real_images):
    grey = cv2.cvtColor(real_images[0], cv2.COLOR_RGB2GRAY)
    same = dhash(grey)
    assert same == dhash(grey.copy())
    assert bin(same ^ dhash(np.ascontiguousarray(grey[:, ::-1]))).count("1") > 10


def test_cli_registers_audit():
    args = build_parser().parse_args(["data", "audit", "--dataset", "msld_v1", "--out", "x"])
    assert args.dataset == ["msld_v1"] and args.out == "x"
    assert args.func.__name__ == "_audit"
