"""A third ranking for the chatbot: a linear SVM learned from labelled user questions.

TF-IDF and BM25 score a question by its likeness to an entry's own wording; people who type to
a health chatbot rarely use that wording. The development holdouts (2,674 answerable informal
questions written by others, each labelled with the entry that answers it) show how they do ask.
This ranker is a linear SVM (one-vs-rest, ``C`` = :data:`DEFAULT_C`) on the retriever's TF-IDF
view (word and character n-grams) of the knowledge-base variants plus those questions, fitted at
first use, deterministically, from ``ranker_examples.txt`` (each question with its retrieval
view, so that loading does not redo the spelling correction; written by
``experiments/export_ranker_examples.py``: former holdouts that are development sets now, never
a holdout in use, no development-CV question, no pickle, no network). Its decision values are a
third list in the reciprocal rank fusion (:func:`poxscan.chat.bm25.reciprocal_rank_fusion`);
the confidence of an answer stays the TF-IDF score, so the thresholds keep their meaning.

Left out one development set at a time, the learned list raised top-1 on the set it never saw
(``experiments/chat_learned_ranker.py``); judged on the blind holdout v21 it took the bot's
top-1 from 81.9 to 84.6 % (change-log step 121 of ``experiments/chat_eval.yaml``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.svm import LinearSVC

from poxscan.chat.knowledge import KnowledgeBase
from poxscan.chat.retrieval import TfidfRetriever

__all__ = ["DEFAULT_C", "EXAMPLES", "LearnedRanker", "load_examples"]

EXAMPLES = Path(__file__).with_name("ranker_examples.txt")
#: Regularisation of the SVM (the value the leave-one-set-out comparison used).
DEFAULT_C = 1.0


def load_examples(path: str | Path = EXAMPLES) -> list[tuple[str, str, str, str]]:
    """``(entry_id, group, question, content)`` rows of an examples file (``#`` lines are
    comments); ``content`` is the question's retrieval view
    (:meth:`~poxscan.chat.retrieval.TfidfRetriever.contents`) when the file was written.

    Raises
    ------
    ValueError
        A line without four tab-separated fields, naming the file and the line.
    """
    rows = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) != 4 or not all(f.strip() for f in fields):
            raise ValueError(
                f"{path}:{number}: expected 'entry_id<TAB>group<TAB>question<TAB>content'"
            )
        rows.append((fields[0], fields[1], fields[2], fields[3]))
    return rows


class LearnedRanker:
    """Entry scores from a linear SVM on TF-IDF vectors of questions.

    Parameters
    ----------
    C
        Inverse regularisation strength of :class:`sklearn.svm.LinearSVC`.
    """

    def __init__(self, C: float = DEFAULT_C) -> None:
        self.C = C

    def fit(
        self,
        kb: KnowledgeBase,
        retriever: TfidfRetriever,
        examples: Sequence[tuple[str, str, str, str]] = (),
    ) -> LearnedRanker:
        """Fit on the knowledge base's question variants plus labelled examples.

        Parameters
        ----------
        kb
            The knowledge base whose entries are the classes.
        retriever
            A fitted retriever: its retrieval view and vectors are the features.
        examples
            ``(entry_id, group, question, content)`` rows (see :func:`load_examples`); an
            unknown entry id raises ``ValueError``.
        """
        index = {entry_id: i for i, entry_id in enumerate(kb.ids)}
        unknown = sorted({row[0] for row in examples if row[0] not in index})
        if unknown:
            raise ValueError(f"examples name entries the knowledge base lacks: {unknown}")
        # The knowledge base's variants in the retriever's own view (their words are its
        # vocabulary, so spelling correction would add nothing), then the stored views.
        contents = list(retriever.variant_contents_) + [row[3] for row in examples]
        labels = [int(i) for i in retriever.variant_owner_] + [index[row[0]] for row in examples]
        features = retriever.vectors(contents)
        # liblinear's dual solver shuffles with random_state: fixed for reproducible replies.
        self.svm_ = LinearSVC(C=self.C, random_state=0).fit(features, np.asarray(labels))
        # A question worded exactly as a knowledge-base variant is that entry's: a linear model
        # may rank a short canonical question ("how is mpox diagnosed?") elsewhere.
        owners: dict[str, set[int]] = {}
        for content, owner in zip(
            retriever.variant_contents_, retriever.variant_owner_, strict=True
        ):
            owners.setdefault(content, set()).add(int(owner))
        # Several entries sharing the wording all rank first: TF-IDF and BM25 decide.
        self.exact_ = {c: sorted(o) for c, o in owners.items()}
        self.retriever_ = retriever
        self.n_entries_ = len(kb)
        return self

    def score_contents(self, contents: Sequence[str]) -> np.ndarray:
        """Decision values ``(len(contents), n_entries)`` of retrieval-view texts; an entry
        the SVM never saw scores lowest, the entry of a variant worded exactly so highest."""
        if not hasattr(self, "svm_"):
            raise RuntimeError("LearnedRanker is not fitted; call fit(kb, retriever) first")
        out = np.full((len(contents), self.n_entries_), -1e9)
        if len(contents):
            vectors = self.retriever_.vectors(contents)
            out[:, self.svm_.classes_] = self.svm_.decision_function(sparse.csr_matrix(vectors))
        for row, content in enumerate(contents):
            if content in self.exact_:
                out[row, self.exact_[content]] = np.inf
        return out
