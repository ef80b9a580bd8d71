"""A learned second opinion on whether a message asks to judge a real person's rash.

The rules of :mod:`poxscan.chat.diagnosis` miss wordings they have not seen. This classifier
(TF-IDF of word 1-2-grams and character 2-5-grams, logistic regression) is fitted at first use,
deterministically, on ``refusal_examples.txt``: labelled development questions only (written by
``experiments/export_refusal_examples.py``; no holdout in use, no pickle, no network). The bot
refuses when the rules fire, or when the classifier's probability reaches :data:`THRESHOLD` and
the message has a personal cue (:data:`PERSONAL_CUE`), so a general question that merely reads
like a request is never refused on the model's word alone.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy.sparse import hstack
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from poxscan.chat.diagnosis import (
    _CLAIM_CHECK,
    _HOW_TO,
    _KNOWN_ILLNESS,
    _TOLD_BY_CLINICIAN,
    _TOOL_CAPABILITY,
    _WHAT_TO_DO,
)
from poxscan.chat.safety import safety_entry
from poxscan.chat.scope import not_covered_topic

EXAMPLES = Path(__file__).with_name("refusal_examples.txt")

#: Probability at or above which (with a personal cue) the message is refused; chosen by
#: grouped 5-fold cross-validation on the examples with no false refusal out of fold
#: (``experiments/refusal_model_cv.py``).
THRESHOLD = 0.85

#: A real person's body, finding, photo or symptoms: first person, a named other person, or
#: a photo handed over.
PERSONAL_CUE = re.compile(
    r"\b(i|me|my|mine|myself|im|ive|id|we|us|our|he|she|him|his|her|hers|"
    r"(?:son|daughter|kid|child|baby|toddler|wife|husband|partner|boyfriend|girlfriend|"
    r"friend|roommate|neighbou?r|mum|mom|dad|sister|brother|patient|client)s?|"
    r"this|these|attached|uploaded|sent|pic|pics|photo|photos|picture|pictures|image)\b"
)

#: What is to be judged: the disease or a look-alike named, a diagnosis, verdict or opinion
#: asked for, "what is this", a likeness, or a photo (without one, "is it ok to shave over my
#: spots" reads like a request to the model but asks about care).
VERDICT_CUE = re.compile(
    r"\b(mpox|chickenpox|chicken\s+pox|herpes|shingles|measles|syphilis|eczema|allergy|"
    r"allergic|acne|scabies|impetigo|psoriasis|hand\s+foot|cold\s+sore|bites?|diagnos\w*|"
    r"verdict|opinion|reckon|guess|what\s+(?:is|are|could|might)\s+(?:it|this|that|they|these|"
    r"those)|looks?\s+like|pics?|photos?|pictures?|images?|attached|uploaded)\b"
)


#: s18-chat: getting a test ("could my boyfriend have the mpox test at a pharmacy"): the
#: testing entry answers it (a provider takes the swab), whatever the finding.
GET_TESTED = re.compile(
    r"\b(?:have|get|take|do|book|order)\s+(?:the\s+|a\s+|an\s+)?(?:mpox\s+)?(?:pcr\s+|swab\s+)?"
    r"tests?\b(?!\s+(?:positive|negative))|\bget(?:ting)?\s+tested\b"
)


def load_examples(path: Path = EXAMPLES) -> tuple[list[str], np.ndarray, list[str]]:
    """Questions, labels (1 = must be refused) and source groups of the examples file."""
    texts, labels, groups = [], [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        label, group, text = line.split("\t", 2)
        texts.append(text)
        labels.append(int(label))
        groups.append(group)
    return texts, np.asarray(labels), groups


class RefusalModel:
    """TF-IDF word + character n-grams and logistic regression over normalised text.

    Parameters
    ----------
    texts
        Normalised training messages (:func:`poxscan.chat.text.normalize`).
    labels
        1 where the message must be refused, else 0.
    """

    def __init__(self, texts: Sequence[str], labels: Sequence[int]) -> None:
        self.words = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1)
        self.chars = TfidfVectorizer(
            analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2
        )
        features = hstack([self.words.fit_transform(texts), self.chars.fit_transform(texts)])
        # Balanced weights: refusals are a quarter of the examples.
        self.model = LogisticRegression(C=10.0, class_weight="balanced", max_iter=2000)
        self.model.fit(features.tocsr(), np.asarray(labels))

    def probability(self, texts: Sequence[str]) -> np.ndarray:
        """Probability that each normalised message asks to judge a real person's finding."""
        features = hstack([self.words.transform(texts), self.chars.transform(texts)])
        return self.model.predict_proba(features.tocsr())[:, 1]


@lru_cache(maxsize=1)
def shipped_model() -> RefusalModel:
    """The model fitted on all examples (once per process)."""
    from poxscan.chat.text import normalize

    texts, labels, _ = load_examples()
    return RefusalModel([normalize(t) for t in texts], labels)


def has_personal_cue(normalized_text: str) -> bool:
    """Whether the message names a real person's body, finding, photo or symptoms."""
    return bool(PERSONAL_CUE.search(normalized_text))


def model_may_refuse(normalized_text: str) -> bool:
    """Whether the classifier is consulted: a personal and a verdict cue, no answerable kind.

    A known illness ("i have mpox, is my rash serious"), a clinician's verdict, what to do or
    how to do something, what a tool can do, a claim
    checked, getting a test, and the urgent-care routes of :mod:`poxscan.chat.safety` are
    answered by design; the rules make the same exceptions, and the model confuses them with
    requests. A topic no entry covers (:func:`poxscan.chat.scope.not_covered_topic`: "can my
    boss sack me over mpox", "do you save my photos") gets "I don't know" instead (s17-chat).
    """
    if not has_personal_cue(normalized_text) or not VERDICT_CUE.search(normalized_text):
        return False
    if safety_entry(normalized_text) is not None or not_covered_topic(normalized_text):
        return False
    answerable = (
        _KNOWN_ILLNESS,
        _TOLD_BY_CLINICIAN,
        _WHAT_TO_DO,
        _HOW_TO,
        _TOOL_CAPABILITY,
        _CLAIM_CHECK,
        GET_TESTED,
    )
    return not any(p.search(normalized_text) for p in answerable)


def model_refuses(normalized_text: str, threshold: float = THRESHOLD) -> bool:
    """Whether the classifier (where it is consulted) marks the message as a verdict request."""
    if not model_may_refuse(normalized_text):
        return False
    return bool(shipped_model().probability([normalized_text])[0] >= threshold)
