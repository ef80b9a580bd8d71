"""TF-IDF retrieval of knowledge-base entries: word and character n-grams, cosine similarity.

Each entry is represented by its question variants (one document each), by the centroid of its
variants' vectors, and by one document made of its answer and keywords. A query's score for an
entry is

      (1 - answer_weight - centroid_weight) * max over variants of sim(query, variant)
    + centroid_weight * sim(query, centroid of the variants)
    + answer_weight * sim(query, answer + keywords)

The best single variant rewards a near-paraphrase; the centroid pools the vocabulary of all
phrasings of one question, so a query matching words spread over several variants still scores.
A query word missing from the knowledge base's vocabulary gets its closest vocabulary word
appended (``difflib`` ratio >= ``spelling_cutoff``), so "simtoms" also reads "symptom".

where ``sim`` is a weighted mean of the cosine similarities of word (1-2)-gram and ``char_wb``
(3-5)-gram TF-IDF vectors. Character n-grams within word boundaries keep misspelled words close
to the right ones ("simptoms" shares most trigrams with "symptoms"). Texts are compared in their
:func:`~poxscan.chat.text.content_text` form: lay terms expanded, stop words dropped, stemmed.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize as sk_normalize

from poxscan.chat.knowledge import Entry
from poxscan.chat.text import content_text, normalize

__all__ = ["TfidfRetriever"]


class TfidfRetriever:
    """Scores queries against knowledge-base entries.

    Parameters
    ----------
    char_weight
        Weight of the character n-gram similarity (the word similarity gets ``1 - char_weight``).
    answer_weight
        Weight of the similarity to the entry's answer and keywords.
    centroid_weight
        Weight of the similarity to the centroid of the entry's variants (the best variant gets
        ``1 - answer_weight - centroid_weight``).
    char_ngram_range, word_ngram_range
        n-gram ranges of the two vectorizers.
    spelling_cutoff
        Minimum ``difflib`` similarity for a spelling correction (``None``: no correction).
    idf_unit
        ``"entry"``: inverse document frequencies count entries (all of an entry's text is one
        document), so a word shared by every transmission variant of one entry is not
        discounted, while one found in many entries is. ``"text"``: each variant and each
        answer is a document.
    """

    def __init__(
        self,
        char_weight: float = 0.7,
        answer_weight: float = 0.3,
        centroid_weight: float = 0.2,
        char_ngram_range: tuple[int, int] = (3, 5),
        word_ngram_range: tuple[int, int] = (1, 2),
        spelling_cutoff: float | None = 0.8,
        idf_unit: str = "entry",
    ) -> None:
        self.char_weight = char_weight
        self.answer_weight = answer_weight
        self.centroid_weight = centroid_weight
        self.char_ngram_range = char_ngram_range
        self.word_ngram_range = word_ngram_range
        self.spelling_cutoff = spelling_cutoff
        self.idf_unit = idf_unit

    def fit(self, entries: Sequence[Entry]) -> TfidfRetriever:
        """Build the vocabularies and document vectors from the entries."""
        if self.answer_weight + self.centroid_weight > 1:
            raise ValueError("answer_weight + centroid_weight must be at most 1")
        if not entries:
            raise ValueError("cannot fit a retriever on an empty knowledge base")
        variants: list[str] = []
        owners: list[int] = []
        for i, entry in enumerate(entries):
            for question in entry.questions:
                variants.append(content_text(normalize(question)))
                owners.append(i)
        answers = [content_text(normalize(f"{e.answer} {e.keywords}")) for e in entries]
        if self.idf_unit == "entry":
            per_entry = [[] for _ in entries]
            for owner, text in zip(owners, variants, strict=True):
                per_entry[owner].append(text)
            corpus = [
                " ".join([*texts, ans]) for texts, ans in zip(per_entry, answers, strict=True)
            ]
        elif self.idf_unit == "text":
            corpus = variants + answers
        else:
            raise ValueError(f"idf_unit must be 'entry' or 'text', got {self.idf_unit!r}")
        self.word_vectorizer_ = TfidfVectorizer(
            analyzer="word",
            ngram_range=self.word_ngram_range,
            sublinear_tf=True,
            token_pattern=r"(?u)\b\w[\w-]*\b",
        ).fit(corpus)
        self.char_vectorizer_ = TfidfVectorizer(
            analyzer="char_wb", ngram_range=self.char_ngram_range, sublinear_tf=True
        ).fit(corpus)
        variant_vectors = self._vectors(variants)
        answer_vectors = self._vectors(answers)
        # Entry-by-variant averaging matrix; centroids are re-normalised to unit length.
        averaging = sparse.csr_matrix(
            (np.ones(len(owners)), (owners, np.arange(len(owners)))),
            shape=(len(entries), len(owners)),
        )
        centroid_vectors = sk_normalize(averaging @ variant_vectors)
        # All documents in one pre-transposed matrix: scoring is one sparse product per query.
        self.documents_t_ = sparse.vstack(
            [variant_vectors, centroid_vectors, answer_vectors], format="csr"
        ).T.tocsr()
        self.variant_owner_ = np.asarray(owners)
        self.variant_contents_ = list(variants)
        self.entry_ids_ = [e.id for e in entries]
        self.vocabulary_ = sorted(
            {w for w in self.word_vectorizer_.vocabulary_ if " " not in w and len(w) >= 4}
        )
        self._vocabulary_set = frozenset(self.word_vectorizer_.vocabulary_)
        self._corrections: dict[str, str | None] = {}
        return self

    def correct_spelling(self, content: str) -> str:
        """Append, for each unknown word of ``content``, the closest vocabulary word."""
        if self.spelling_cutoff is None:
            return content
        extra = []
        for word in content.split():
            if len(word) < 4 or word in self._vocabulary_set or word.isdigit():
                continue
            if word in self._corrections:
                fix = self._corrections[word]
            else:
                match = difflib.get_close_matches(
                    word, self.vocabulary_, n=1, cutoff=self.spelling_cutoff
                )
                fix = match[0] if match else None
                # A whole word plus a suffix is another word ("chicken" -> "chickenpox").
                if fix and fix.startswith(word) and len(fix) - len(word) >= 3:
                    fix = None
                # ... and one letter before a word is another word too ("spain", "brash").
                if fix and len(word) == len(fix) + 1 and word.endswith(fix):
                    fix = None
                # Bounded memo: user text is unbounded and a web server runs for days.
                if len(self._corrections) < 10_000:
                    self._corrections[word] = fix
            if fix:
                extra.append(fix)
        return content if not extra else content + " " + " ".join(extra)

    def _vectors(self, texts: Sequence[str]) -> sparse.csr_matrix:
        """Word and char TF-IDF side by side, scaled so that a dot product of two rows is
        ``(1 - char_weight) * word cosine + char_weight * char cosine``."""
        word = self.word_vectorizer_.transform(texts) * np.sqrt(1.0 - self.char_weight)
        char = self.char_vectorizer_.transform(texts) * np.sqrt(self.char_weight)
        return sparse.hstack([word, char], format="csr")

    def vectors(self, contents: Sequence[str]) -> sparse.csr_matrix:
        """TF-IDF vectors (word and character n-grams) of retrieval-view texts."""
        if not hasattr(self, "word_vectorizer_"):
            raise RuntimeError("TfidfRetriever is not fitted; call fit(entries) first")
        return self._vectors(list(contents))

    def contents(self, texts: Sequence[str]) -> list[str]:
        """Retrieval view of raw texts: normalised, lay terms expanded, spelling corrected."""
        return [self.correct_spelling(content_text(normalize(t))) for t in texts]

    def components(self, contents: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Best-variant, centroid and answer similarities of retrieval-view texts.

        Each has shape ``(len(contents), n_entries)``; :meth:`combine` weighs them. Kept apart so
        that the evaluation can try several weightings from one vectorisation.
        """
        if not hasattr(self, "documents_t_"):
            raise RuntimeError("TfidfRetriever is not fitted; call fit(entries) first")
        sims = (self._vectors(list(contents)) @ self.documents_t_).toarray()
        n_variants = len(self.variant_owner_)
        n_entries = len(self.entry_ids_)
        per_variant = sims[:, :n_variants]
        per_centroid = sims[:, n_variants : n_variants + n_entries]
        per_answer = sims[:, n_variants + n_entries :]
        best_variant = np.zeros((len(contents), n_entries))
        # Max over each entry's variants (cosines of TF-IDF vectors are never negative).
        np.maximum.at(best_variant.T, self.variant_owner_, per_variant.T)
        return best_variant, per_centroid, per_answer

    @staticmethod
    def combine(
        parts: tuple[np.ndarray, np.ndarray, np.ndarray],
        answer_weight: float,
        centroid_weight: float,
    ) -> np.ndarray:
        """Entry scores from :meth:`components` (see the module docstring)."""
        best_variant, per_centroid, per_answer = parts
        w_best = 1.0 - answer_weight - centroid_weight
        return w_best * best_variant + centroid_weight * per_centroid + answer_weight * per_answer

    def score_contents(self, contents: Sequence[str]) -> np.ndarray:
        """Entry scores of retrieval-view texts (see :meth:`contents`)."""
        return self.combine(self.components(contents), self.answer_weight, self.centroid_weight)

    def score(self, texts: Sequence[str]) -> np.ndarray:
        """Entry scores of each (raw) text: an array of shape ``(len(texts), n_entries)``."""
        if not hasattr(self, "documents_t_"):
            raise RuntimeError("TfidfRetriever is not fitted; call fit(entries) first")
        return self.score_contents(self.contents(texts))
