"""BM25 retrieval of knowledge-base entries (``bm25s``), fused with TF-IDF by rank.

BM25 rewards the rare words a query shares with an entry and saturates repeated ones, where the
TF-IDF cosine rewards overall similarity of wording; the two err on different questions, so the
chatbot ranks entries by the reciprocal rank fusion (:func:`reciprocal_rank_fusion`) of both.
Each entry is one BM25 document: its question variants, its keywords and its answer, in the
retrieval view of :func:`poxscan.chat.text.content_text` (lay terms expanded, stop words dropped,
stemmed), so BM25 and TF-IDF read the same words.
"""

from __future__ import annotations

from collections.abc import Sequence

import bm25s
import numpy as np

from poxscan.chat.knowledge import Entry
from poxscan.chat.text import content_text, normalize

__all__ = ["Bm25Retriever", "reciprocal_rank_fusion"]


class Bm25Retriever:
    """Okapi BM25 scores of queries against knowledge-base entries.

    Parameters
    ----------
    k1
        Term-frequency saturation.
    b
        Length normalisation (0: none, 1: full).
    """

    def __init__(self, k1: float = 1.2, b: float = 0.75) -> None:
        self.k1 = k1
        self.b = b

    def fit(self, entries: Sequence[Entry]) -> Bm25Retriever:
        """Index one document per entry."""
        if not entries:
            raise ValueError("cannot fit a retriever on an empty knowledge base")
        docs = [
            content_text(normalize(" ".join([*e.questions, e.keywords, e.answer]))).split()
            for e in entries
        ]
        self.index_ = bm25s.BM25(k1=self.k1, b=self.b, method="lucene")
        self.index_.index(docs, show_progress=False)
        self.vocabulary_ = frozenset(w for doc in docs for w in doc)
        self.n_entries_ = len(entries)
        return self

    def score_contents(self, contents: Sequence[str]) -> np.ndarray:
        """BM25 scores of retrieval-view texts: shape ``(len(contents), n_entries)``."""
        if not hasattr(self, "index_"):
            raise RuntimeError("Bm25Retriever is not fitted; call fit(entries) first")
        out = np.zeros((len(contents), self.n_entries_))
        for i, content in enumerate(contents):
            words = [w for w in content.split() if w in self.vocabulary_]
            if words:
                out[i] = self.index_.get_scores(words)
        return out


def reciprocal_rank_fusion(
    scores: Sequence[np.ndarray], weights: Sequence[float], k: float = 60.0
) -> np.ndarray:
    """Weighted reciprocal rank fusion of several score matrices (rows: queries).

    An entry's fused score is ``sum_i weights[i] / (k + rank_i)``, with ``rank_i`` its 1-based
    rank under the ``i``-th scorer (ties share the better rank). Only ranks matter, so scorers
    on different scales (cosines, BM25) combine without calibration.

    Parameters
    ----------
    scores
        Matrices of the same shape ``(n_queries, n_entries)``.
    weights
        One non-negative weight per matrix.
    k
        Damping constant: larger values flatten the difference between top ranks.

    Returns
    -------
    numpy.ndarray
        Fused scores, same shape as each input.
    """
    if len(scores) != len(weights) or not scores:
        raise ValueError(f"{len(scores)} score matrices but {len(weights)} weights")
    fused = np.zeros_like(np.asarray(scores[0], dtype=float))
    for matrix, weight in zip(scores, weights, strict=True):
        if weight == 0:
            continue
        matrix = np.asarray(matrix, dtype=float)
        # rank = 1 + number of entries scoring strictly higher (ties share the better rank).
        ranks = 1 + (matrix[:, None, :] > matrix[:, :, None]).sum(axis=2)
        fused += weight / (k + ranks)
    return fused
