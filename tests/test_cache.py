"""The feature cache and ``poxscan features extract``, on real MSLD images."""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import poxscan.features.cache as cache_mod
from poxscan.cli import main
from poxscan.core.data import file_sha256
from poxscan.features import ColorFeatures, HOGFeatures, make_extractor
from poxscan.features.cache import FeatureCache, extract_features, extract_many, load_feature_table

N = 8


@pytest.fixture(scope="module")
def records(msld_records) -> pd.DataFrame:
    """Eight real images, both classes."""
    picks = msld_records.groupby("y", group_keys=False).head(N // 2).sort_values("id")
    return picks.reset_index(drop=True)


@pytest.fixture
def spy(monkeypatch):
    """Count images passed to each extractor class's ``transform`` and decoded by the cache."""
    counts: dict[str, int] = {"decoded": 0}

    def wrap(cls):
        original = cls.transform

        def transform(self, X):
            counts[cls.family] = counts.get(cls.family, 0) + len(X)
            return original(self, X)

        monkeypatch.setattr(cls, "transform", transform)

    for cls in (ColorFeatures, HOGFeatures):
        wrap(cls)
    original_load = cache_mod.load_image

    def load_image(path, *args, **kwargs):
        counts["decoded"] += 1
        return original_load(path, *args, **kwargs)

    monkeypatch.setattr(cache_mod, "load_image", load_image)
    return counts


def _files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def _leftovers(folder: Path) -> list[str]:
    """Temporary files of interrupted atomic writes."""
    return [f for f in _files(folder) if Path(f).name.startswith(".") or f.endswith(".tmp")]


def test_first_run_computes_second_run_reads(tmp_path, records, spy):
    cache = FeatureCache(tmp_path / "cache")
    first = extract_features(records, HOGFeatures(), cache=cache, progress=False)
    assert (first.n_computed, first.n_cached) == (N, 0)
    assert spy["hog"] == N and spy["decoded"] == N
    assert list(first.table.index) == list(records["id"])
    assert list(first.table.columns) == list(
        HOGFeatures().fit([np.zeros((8, 8, 3), np.uint8)]).get_feature_names_out()
    )
    assert first.table.dtypes.eq(np.float32).all()
    assert first.failures == []
    assert first.location == tmp_path / "cache" / "features" / HOGFeatures().fingerprint()
    assert (first.location / "meta.json").is_file()

    # Second run: nothing computed, and thanks to the path index nothing even decoded.
    second = extract_features(records, HOGFeatures(), cache=cache, progress=False)
    assert (second.n_computed, second.n_cached) == (0, N)
    assert spy["hog"] == N and spy["decoded"] == N
    pd.testing.assert_frame_equal(second.table, first.table)

    # The cached values are the extractor's own.
    direct = extract_features(records, HOGFeatures(), cache=False, progress=False)
    np.testing.assert_array_equal(direct.table.to_numpy(), first.table.to_numpy())


def test_spy_transform_not_called_on_hit(tmp_path, records, monkeypatch):
    cache = FeatureCache(tmp_path)
    extract_features(records, ColorFeatures(bins=8), cache=cache, progress=False)

    def forbidden(self, X):
        raise AssertionError("transform must not run on a cache hit")

    monkeypatch.setattr(ColorFeatures, "transform", forbidden)
    monkeypatch.setattr(ColorFeatures, "fit", forbidden)
    again = extract_features(records, ColorFeatures(bins=8), cache=cache, progress=False)
    assert again.n_computed == 0
    assert again.table.shape == (N, len(again.table.columns)) and again.table.shape[1] > 0


def test_changed_file_misses_and_same_pixels_hit(tmp_path, records, spy):
    folder = tmp_path / "imgs"
    folder.mkdir()
    paths = []
    for i, src in enumerate(records["path"][:4]):
        dst = folder / f"img{i}.jpg"
        shutil.copyfile(src, dst)
        paths.append(str(dst))
    recs = pd.DataFrame({"id": [f"x/{i}" for i in range(4)], "path": paths})
    cache = FeatureCache(tmp_path / "cache")
    extract_features(recs, HOGFeatures(), cache=cache, progress=False)
    assert spy["hog"] == 4

    # Replace one file's content: its (size, mtime) no longer match, it is decoded and computed.
    shutil.copyfile(records["path"][5], paths[1])
    os.utime(paths[1], ns=(1, 1))
    changed = extract_features(recs, HOGFeatures(), cache=cache, progress=False)
    assert (changed.n_computed, changed.n_cached) == (1, 3)
    assert spy["hog"] == 5

    # A copy under another name holds the same pixels: decoded (new path) but not computed.
    copy = folder / "copy.png"
    shutil.copyfile(paths[0], copy)
    recs2 = pd.DataFrame({"id": ["copy"], "path": [str(copy)]})
    decoded = spy["decoded"]
    dup = extract_features(recs2, HOGFeatures(), cache=cache, progress=False)
    assert (dup.n_computed, dup.n_cached) == (0, 1)
    assert spy["decoded"] == decoded + 1
    np.testing.assert_array_equal(dup.table.to_numpy()[0], changed.table.to_numpy()[0])


def test_duplicate_pixels_in_one_run_are_computed_once(tmp_path, records, spy):
    recs = pd.DataFrame(
        {
            "id": ["a", "b", "c"],
            "path": [records["path"][0], records["path"][0], records["path"][1]],
        }
    )
    result = extract_features(recs, HOGFeatures(), cache=FeatureCache(tmp_path), progress=False)
    assert spy["hog"] == 2
    assert (result.n_computed, result.n_cached) == (2, 1)
    np.testing.assert_array_equal(result.table.loc["a"], result.table.loc["b"])


def test_changed_parameter_recomputes_only_that_family(tmp_path, records, spy):
    cache = FeatureCache(tmp_path)
    table = load_feature_table(records, ["color", "hog"], cache=cache, progress=False)
    assert spy["color"] == N and spy["hog"] == N
    assert spy["decoded"] == N  # one decode per image, shared by both families
    assert table.shape[0] == N
    assert table.columns[0].startswith("color__") and table.columns[-1].startswith("hog__")

    table2 = load_feature_table(
        records, {"color": None, "hog": {"image_size": 64}}, cache=cache, progress=False
    )
    assert spy["color"] == N  # unchanged family: all from the cache
    assert spy["hog"] == 2 * N
    color_cols = [c for c in table.columns if c.startswith("color__")]
    pd.testing.assert_frame_equal(table2[color_cols], table[color_cols])
    assert sum(c.startswith("hog__") for c in table2.columns) == 3 * 3 * 2 * 2 * 9
    assert len(list((tmp_path / "features").iterdir())) == 3


def test_family_dict_params_change_fingerprint_folder(tmp_path, records):
    cache = FeatureCache(tmp_path)
    a = extract_features(records[:2], ColorFeatures(), cache=cache, progress=False)
    b = extract_features(records[:2], ColorFeatures(bins=8), cache=cache, progress=False)
    assert a.location != b.location
    assert b.n_computed == 2
    meta = yaml.safe_load((b.location / "meta.json").read_text())
    assert meta["params"]["bins"] == 8 and meta["family"] == "color"
    assert meta["feature_names"] == list(b.table.columns)


def _explode_after(monkeypatch, limit: int, seen_chunks: list[int], folder_of) -> None:
    """Make HOGFeatures fail once ``limit`` images have been transformed."""
    original = HOGFeatures._transform_batch
    done = {"n": 0}

    def exploding(self, images):
        seen_chunks.append(len(list(folder_of().glob("chunk-*.npz"))))
        if done["n"] + len(images) > limit:
            raise RuntimeError("simulated crash")
        done["n"] += len(images)
        return original(self, images)

    monkeypatch.setattr(HOGFeatures, "_transform_batch", exploding)


def test_resume_after_interruption(tmp_path, records, monkeypatch):
    cache = FeatureCache(tmp_path, chunk_size=2)
    folder = cache.folder(HOGFeatures())
    seen: list[int] = []
    _explode_after(monkeypatch, 5, seen, lambda: folder)
    with pytest.raises(RuntimeError, match="simulated crash"):
        extract_features(records, HOGFeatures(), cache=cache, progress=False, batch_size=2)
    # Chunks were written during the run (before the crash), not only at its end.
    assert seen == [0, 1, 2]
    assert len(list(folder.glob("chunk-*.npz"))) == 2
    assert _leftovers(tmp_path) == []
    monkeypatch.undo()

    calls = []
    original = HOGFeatures.transform
    monkeypatch.setattr(
        HOGFeatures, "transform", lambda self, X: calls.append(len(X)) or original(self, X)
    )
    rerun = extract_features(records, HOGFeatures(), cache=cache, progress=False, batch_size=2)
    assert (rerun.n_computed, rerun.n_cached) == (N - 4, 4)
    assert sum(calls) == N - 4
    full = extract_features(records, HOGFeatures(), cache=False, progress=False)
    np.testing.assert_array_equal(rerun.table.to_numpy(), full.table.to_numpy())


def test_interrupt_keeps_rows_of_an_unfinished_chunk(tmp_path, records, monkeypatch):
    """KeyboardInterrupt between chunks: rows computed so far are still written."""
    cache = FeatureCache(tmp_path, chunk_size=100)
    original = HOGFeatures._transform_batch
    done = {"n": 0}

    def interrupted(self, images):
        if done["n"] >= 3:
            raise KeyboardInterrupt
        done["n"] += len(images)
        return original(self, images)

    monkeypatch.setattr(HOGFeatures, "_transform_batch", interrupted)
    with pytest.raises(KeyboardInterrupt):
        extract_features(records, HOGFeatures(), cache=cache, progress=False, batch_size=3)
    monkeypatch.undo()
    rerun = extract_features(records, HOGFeatures(), cache=cache, progress=False)
    assert (rerun.n_computed, rerun.n_cached) == (N - 3, 3)


def test_chunk_writes_are_atomic(tmp_path, records, monkeypatch):
    cache = FeatureCache(tmp_path)
    real_savez = np.savez

    def half_written(handle, **arrays):
        handle.write(b"PK\x03\x04 partial zip")
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(cache_mod.np, "savez", half_written)
    with pytest.raises(OSError, match="disk full"):
        extract_features(records, HOGFeatures(), cache=cache, progress=False)
    monkeypatch.setattr(cache_mod.np, "savez", real_savez)
    assert _leftovers(tmp_path) == []
    assert list(tmp_path.rglob("chunk-*")) == []
    result = extract_features(records, HOGFeatures(), cache=cache, progress=False)
    assert result.n_computed == N


def test_unreadable_chunk_is_ignored_and_recomputed(tmp_path, records, caplog):
    cache = FeatureCache(tmp_path)
    first = extract_features(records, HOGFeatures(), cache=cache, progress=False)
    (chunk,) = first.location.glob("chunk-*.npz")
    chunk.write_bytes(b"garbage")
    with caplog.at_level(logging.WARNING, logger="poxscan.features.cache"):
        again = extract_features(records, HOGFeatures(), cache=cache, progress=False)
    assert again.n_computed == N
    assert any("unreadable cache chunk" in r.getMessage() for r in caplog.records)
    pd.testing.assert_frame_equal(again.table, first.table)
    # The corrupt chunk was deleted once recomputed: a third run reads all, warns nothing.
    assert not chunk.exists()
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="poxscan.features.cache"):
        third = extract_features(
            records, HOGFeatures(), cache=FeatureCache(tmp_path), progress=False
        )
    assert third.n_computed == 0 and third.n_cached == N
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_bad_files_are_reported_and_skipped(tmp_path, records, caplog):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"this is not a jpeg")
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes(Path(records["path"][0]).read_bytes()[:300])
    bad = pd.DataFrame(
        {
            "id": ["bad/broken", "bad/truncated", "bad/missing"],
            "path": [str(broken), str(truncated), str(tmp_path / "missing.jpg")],
        }
    )
    recs = pd.concat([records[:3], bad, records[3:]], ignore_index=True)
    cache = FeatureCache(tmp_path / "cache")
    with caplog.at_level(logging.WARNING, logger="poxscan.features.cache"):
        result = extract_features(recs, HOGFeatures(), cache=cache, progress=False, batch_size=2)
    assert [rid for rid, _ in result.failures] == ["bad/broken", "bad/truncated", "bad/missing"]
    assert list(result.table.index) == list(records["id"])
    assert result.n_computed == N
    messages = " ".join(r.getMessage() for r in caplog.records)
    for name, problem in (("broken.jpg", "not an image"), ("missing.jpg", "no such file")):
        assert name in messages and problem in messages
    assert "truncated" in dict(result.failures)["bad/truncated"]
    # Failures are not cached: a second run reports them again.
    again = extract_features(recs, HOGFeatures(), cache=cache, progress=False)
    assert len(again.failures) == 3 and again.n_computed == 0


def test_load_feature_table_keeps_rows_loaded_in_every_family(tmp_path, records):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG nope")
    recs = pd.concat(
        [records, pd.DataFrame({"id": ["bad"], "path": [str(broken)]})], ignore_index=True
    )
    table = load_feature_table(recs, ["hog", "color"], cache=tmp_path / "c", progress=False)
    assert list(table.index) == list(records["id"])
    assert table.attrs["failures"][0][0] == "bad"
    assert table.columns[0].startswith("hog__") and table.columns.is_unique
    assert (
        table.shape[1]
        == 1764 + ColorFeatures().fit([np.zeros((8, 8, 3), np.uint8)]).n_features_out_
    )
    with pytest.raises(KeyError, match="unknown feature family"):
        load_feature_table(recs, ["colour"], cache=tmp_path / "c", progress=False)


def test_extract_many_returns_one_result_per_extractor(tmp_path, records):
    results = extract_many(
        records,
        [HOGFeatures(), ColorFeatures(bins=4)],
        cache=FeatureCache(tmp_path),
        progress=False,
    )
    assert [r.table.columns[0].split("__")[0] for r in results] == ["hog", "color"]
    assert all(r.n_computed == N for r in results)


def test_cache_false_writes_nothing(tmp_path, records, monkeypatch):
    monkeypatch.setenv("POXSCAN_CACHE", str(tmp_path / "env-cache"))
    result = extract_features(records[:2], HOGFeatures(), cache=False, progress=False)
    assert result.n_computed == 2 and result.location is None
    assert not (tmp_path / "env-cache").exists()


def test_default_root_comes_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("POXSCAN_CACHE", str(tmp_path / "env-cache"))
    assert FeatureCache().root == tmp_path / "env-cache"
    monkeypatch.delenv("POXSCAN_CACHE")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert FeatureCache().root == tmp_path / "home" / ".cache" / "poxscan"


@pytest.fixture
def tiny_dataset(tmp_path, records, monkeypatch):
    """A two-image dataset plus one broken file, with its own manifest."""
    root = tmp_path / "data"
    folder = root / "tiny" / "Monkeypox"
    folder.mkdir(parents=True)
    for i in range(2):
        shutil.copyfile(records["path"][i], folder / f"M{i}.jpg")
    (folder / "M9.jpg").write_bytes(b"broken")
    files = {f"Monkeypox/{p.name}": file_sha256(p) for p in sorted(folder.iterdir())}
    manifest = {
        "datasets": {
            "tiny": {
                "path": "tiny",
                "title": "t",
                "upstream": "u",
                "commit": "c",
                "licence": "l",
                "classes": {"Monkeypox": "mpox"},
                "expected_counts": {"Monkeypox": 3},
                "checksum": "x",
                "files": files,
            }
        }
    }
    path = tmp_path / "manifest.yaml"
    path.write_text(yaml.safe_dump(manifest))
    monkeypatch.setenv("POXSCAN_MANIFEST", str(path))
    return root


def test_cli_extract(tmp_path, tiny_dataset, capsys):
    argv = [
        "features",
        "extract",
        "--dataset",
        "tiny",
        "--data-root",
        str(tiny_dataset),
        "--family",
        "hog",
        "--family",
        "color",
        "--param",
        "hog.pixels_per_cell=32,32",
        "--cache-dir",
        str(tmp_path / "cache"),
        "--no-progress",
    ]
    assert main(argv) == 1  # one broken image
    out = capsys.readouterr().out
    assert "hog" in out and "2 computed, 0 from cache" in out
    assert "tiny/Monkeypox/M9.jpg" in out and "1 images could not be used" in out
    assert str(tmp_path / "cache") in out
    hog_dirs = [p for p in (tmp_path / "cache" / "features").iterdir() if p.name.startswith("hog")]
    expected = HOGFeatures(pixels_per_cell=(32, 32)).fingerprint()
    assert [p.name for p in hog_dirs] == [expected]

    assert main(argv) == 1
    assert "0 computed, 2 from cache" in capsys.readouterr().out


def test_cli_rejects_bad_params(tmp_path, tiny_dataset, capsys):
    base = [
        "features",
        "extract",
        "--dataset",
        "tiny",
        "--data-root",
        str(tiny_dataset),
        "--cache-dir",
        str(tmp_path / "cache"),
        "--family",
        "hog",
    ]
    assert main([*base, "--param", "hog.nonsense=1"]) == 2
    assert "nonsense" in capsys.readouterr().err
    assert main([*base, "--param", "color.bins=4"]) == 2
    assert "not among" in capsys.readouterr().err
    assert main([*base, "--param", "hog"]) == 2
    assert "FAMILY.KEY=VALUE" in capsys.readouterr().err


def test_many_chunks_are_compacted(tmp_path, records, monkeypatch):
    monkeypatch.setattr(cache_mod, "_COMPACT_AFTER", 3)
    cache = FeatureCache(tmp_path, chunk_size=1)
    first = extract_features(records, HOGFeatures(), cache=cache, progress=False, batch_size=1)
    assert len(list(first.location.glob("chunk-*.npz"))) == 1
    again = extract_features(records, HOGFeatures(), cache=cache, progress=False)
    assert again.n_computed == 0
    pd.testing.assert_frame_equal(again.table, first.table)


@pytest.mark.slow
@pytest.mark.deep
def test_deep_family_goes_through_the_cache_in_batches(tmp_path, records, monkeypatch):
    """The deep extractor gets whole batches, and a second run neither fits nor transforms."""
    from poxscan.features.deep import DeepFeatures

    calls: list[int] = []
    original = DeepFeatures.transform
    monkeypatch.setattr(
        DeepFeatures, "transform", lambda self, X: calls.append(len(X)) or original(self, X)
    )
    cache = FeatureCache(tmp_path)
    recs = records[:5]
    table = load_feature_table(recs, ["hog", "deep"], cache=cache, progress=False)
    assert calls == [5]  # one batch, not one image at a time
    deep_cols = [c for c in table.columns if c.startswith("deep__")]
    assert len(deep_cols) == 1280 and np.isfinite(table[deep_cols].to_numpy()).all()
    assert (tmp_path / "features" / DeepFeatures().fingerprint() / "meta.json").is_file()

    def forbidden(self, X, y=None):
        raise AssertionError("no deep computation on a cache hit")

    monkeypatch.setattr(DeepFeatures, "transform", forbidden)
    monkeypatch.setattr(DeepFeatures, "fit", forbidden)
    again = load_feature_table(recs, {"hog": {}, "deep": {}}, cache=cache, progress=False)
    pd.testing.assert_frame_equal(again, table)


def test_cli_param_parsing():
    from poxscan.cli.features import parse_params

    params = parse_params(
        [
            "hog.image_size=96",
            "hog.pixels_per_cell=8,8",
            "texture.lbp=[[8, 1], [16, 2.5]]",
            "color.spaces=hsv",
            "deep.backbone=efficientnet-lite2",
        ],
        ["hog", "texture", "color", "deep"],
    )
    assert params == {
        "hog": {"image_size": 96, "pixels_per_cell": (8, 8)},
        "texture": {"lbp": ((8, 1), (16, 2.5))},
        "color": {"spaces": "hsv"},
        "deep": {"backbone": "efficientnet-lite2"},
    }
    # Parsed values build extractors whose fingerprints match the Python equivalents.
    built = make_extractor("texture", **params["texture"])
    assert built.fingerprint() == make_extractor("texture", lbp=((8, 1), (16, 2.5))).fingerprint()
