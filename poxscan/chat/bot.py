"""``MpoxChatbot``: answers general questions about mpox from the knowledge base, offline.

The reply to a text is decided in this order:

1. empty text -> ``unknown`` (asks for a question);
2. a request for a diagnosis (:mod:`poxscan.chat.diagnosis`) -> ``refusal`` that points to a
   clinician and to the image screening tool;
3. a question naming another disease or topic and not mpox, or asking about a topic no entry
   covers even for mpox (costs, alcohol, catching it twice, giving blood, other vaccines given
   with it), or comparing mpox with a look-alike disease no entry describes
   (:mod:`poxscan.chat.scope`) -> ``unknown``, except that a question on how to tell such
   rashes apart gets the testing entry and one on whether they are the same disease gets the
   what-is-mpox entry;
4. a dose question about a medicine (:mod:`poxscan.chat.safety`) -> the "no doses here: ask
   your clinician or pharmacist" entry, whatever retrieval ranks first;
5. otherwise entries are ranked by the reciprocal rank fusion of TF-IDF
   (:mod:`poxscan.chat.retrieval`), BM25 (:mod:`poxscan.chat.bm25`) and a linear SVM learned
   from labelled user questions (:mod:`poxscan.chat.learned_ranker`), an entry with a
   ``requires`` pattern the text does not match (the old smallpox vaccine, the chickenpox and
   measles comparisons) coming last; the confidence is the TF-IDF score of the best entry.
   At or above ``CONFIDENT_FACTOR`` times the threshold the reply is a plain ``answer``
   (confidence ``"high"``); from the threshold up it is the best
   entry's answer plus "did you also mean ..." links to the next entries (``"medium"``); below
   the threshold it is ``unknown``: it says so, lists the topics and suggests questions.

The threshold is lower when the text names mpox (the question is surely in the domain, only the
entry is in doubt) than when it does not. The thresholds, retrieval weights and fusion settings
were tuned on the development questions (``questions`` of ``experiments/chat_eval.yaml`` and
``experiments/chat_dev_informal.yaml``) by ``experiments/chat_eval.py``, which reports
cross-validated figures and, separately, the held-out sets never used for tuning
(``experiments/results/chat_eval.md``).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from os import PathLike
from typing import Any, Literal

import numpy as np

from poxscan.chat.bm25 import Bm25Retriever, reciprocal_rank_fusion
from poxscan.chat.diagnosis import detect_diagnosis_request
from poxscan.chat.knowledge import KnowledgeBase, Source, load_knowledge_base
from poxscan.chat.learned_ranker import LearnedRanker, load_examples
from poxscan.chat.refusal_model import model_refuses
from poxscan.chat.retrieval import TfidfRetriever
from poxscan.chat.safety import mentions_child, mentions_pregnancy, safety_entry
from poxscan.chat.scope import (
    mentions_mpox,
    mentions_other_topic,
    not_covered_topic,
    uncovered_comparison,
)
from poxscan.chat.text import normalize

__all__ = [
    "CONFIDENT_FACTOR",
    "DEFAULT_FUSION",
    "DEFAULT_RETRIEVER_PARAMS",
    "DEFAULT_THRESHOLDS",
    "LEARNED_WEIGHT",
    "AlsoLink",
    "ChatReply",
    "MpoxChatbot",
]

ReplyKind = Literal["answer", "refusal", "unknown"]

#: TF-IDF weights tuned on the development questions (experiments/chat_eval.py).
DEFAULT_RETRIEVER_PARAMS: dict[str, float] = {
    "char_weight": 0.6,
    "answer_weight": 0.2,
    "centroid_weight": 0.4,
}
#: Minimum retrieval score to answer: when the text names mpox, and when it does not.
DEFAULT_THRESHOLDS: dict[str, float] = {"named": 0.11, "unnamed": 0.31}
#: Rank fusion: weight of the BM25 ranking (TF-IDF's is 1) and the damping constant k.
DEFAULT_FUSION: dict[str, float] = {"bm25_weight": 0.5, "rrf_k": 20.0}
#: Weight of the learned ranking in the fusion (0 leaves it out); fixed, not tuned by the grid:
#: of 0.5, 1 and 2, the largest that cost nothing on the development sets the ranker never
#: trains on and broke no regression test (1 and 2 did); with holdout v20 left out of its
#: training, 0.5 and 1 both took v20 from 87.8 to 89.4 % top-1 (s22-chat, change-log step 120).
LEARNED_WEIGHT = 0.5
#: A score at or above this multiple of the threshold is a confident answer (no "did you mean").
CONFIDENT_FACTOR = 1.5
#: How many "did you also mean" links a medium-confidence answer offers.
N_ALSO = 2

#: Entries whose sources back the refusal message.
_REFUSAL_SOURCE_ENTRIES = ("seek_care", "testing")
#: Suggested when nothing matches at all.
_FALLBACK_SUGGESTIONS = (
    "What are the symptoms of mpox?",
    "How does mpox spread?",
    "How can I prevent mpox?",
    "How is mpox treated?",
)


@dataclass(frozen=True)
class AlsoLink:
    """A "did you also mean ..." link: another entry and the question that asks for it."""

    entry_id: str
    question: str

    def to_dict(self) -> dict[str, str]:
        return {"entry_id": self.entry_id, "question": self.question}


@dataclass(frozen=True)
class ChatReply:
    """The chatbot's structured reply.

    Attributes
    ----------
    kind
        ``"answer"`` (from a knowledge-base entry), ``"refusal"`` (a diagnosis was asked for) or
        ``"unknown"`` (out of scope or not confident enough).
    text
        What to show the user; answers and refusals end with their sources and the date the
        facts are valid for.
    entry_id
        The entry answered from (``None`` for refusals and unknowns).
    score
        Retrieval score of the best entry (for a refusal: 1.0, the rules are not graded).
    sources
        Pages the text paraphrases.
    suggestions
        Questions the user may have meant (for ``unknown`` replies).
    reason
        Why this kind was chosen: the diagnosis rule, ``"other_topic:<name>"``,
        ``"not_covered:<topic>"``, ``"comparison:<entry id or disease>"``,
        ``"safety:<entry id>"`` (a safety route),
        ``"low_confidence"``, ``"empty"`` or ``"retrieved"``.
    confidence
        For answers: ``"high"`` or ``"medium"`` (then ``also`` offers other entries); else ``""``.
    also
        "Did you also mean ..." links of a medium-confidence answer.
    body
        ``text`` without the "did you also mean" list and the sources footer (pages show
        both as links instead).
    as_of
        The date the knowledge base's facts are valid for (answers and refusals).
    """

    kind: ReplyKind
    text: str
    entry_id: str | None
    score: float
    sources: tuple[Source, ...] = ()
    suggestions: tuple[str, ...] = field(default=())
    reason: str = ""
    confidence: str = ""
    also: tuple[AlsoLink, ...] = ()
    body: str = ""
    as_of: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (sources as ``{"title", "url"}`` dicts)."""
        return {
            "kind": self.kind,
            "text": self.text,
            "entry_id": self.entry_id,
            "score": round(float(self.score), 4),
            "sources": [s.to_dict() for s in self.sources],
            "suggestions": list(self.suggestions),
            "reason": self.reason,
            "confidence": self.confidence,
            "also": [a.to_dict() for a in self.also],
            "body": self.body or self.text,
            "as_of": self.as_of,
        }


@functools.lru_cache(maxsize=8)
def _fitted_retriever(kb: KnowledgeBase, params: tuple[tuple[str, float], ...]) -> TfidfRetriever:
    # One fit per knowledge base and parameters, shared by every MpoxChatbot instance, so a web
    # page may create bots freely.
    return TfidfRetriever(**dict(params)).fit(kb.entries)


@functools.lru_cache(maxsize=4)
def _fitted_bm25(kb: KnowledgeBase) -> Bm25Retriever:
    return Bm25Retriever().fit(kb.entries)


@functools.lru_cache(maxsize=4)
def _fitted_learned(kb: KnowledgeBase, params: tuple[tuple[str, float], ...]) -> LearnedRanker:
    # Examples of entries another knowledge base (an ablation) lacks are left out.
    ids = set(kb.ids)
    examples = [row for row in load_examples() if row[0] in ids]
    return LearnedRanker().fit(kb, _fitted_retriever(kb, params), examples)


# Who can answer a topic no entry covers, where it is not a health worker (s17-chat).
_ASK_INSTEAD = {
    "legal and employment rights": (
        "a lawyer, a union or a legal-advice service; for health questions about mpox, ask me "
        "or a healthcare provider"
    ),
    "investing": "a financial adviser; I only answer health questions about mpox",
    "exact figures and statistics": (
        "the latest reports of WHO or your national public-health agency, which publish "
        "current case counts and technical guidance"
    ),
    "recommending a provider": (
        "your local health department or a sexual-health clinic, which can tell you where to "
        "get tested, treated or vaccinated near you"
    ),
    "programming": "elsewhere: I only answer health questions about mpox",
    "the virus's genetics": (
        "published genomic studies or a virologist; I answer general health questions about mpox"
    ),
    "privacy of messages and photos": "the people who run the site or app you are using",
    "research funding": (
        "research funders or your institution's research office; I only answer health "
        "questions about mpox"
    ),
    "songs, jokes and posts": "elsewhere: I only answer health questions about mpox",
    "religious rulings": (
        "a religious scholar; for whether a medicine suits you, ask your clinician or pharmacist"
    ),
}


class MpoxChatbot:
    """Retrieval chatbot over the mpox knowledge base. No network, no model download.

    Parameters
    ----------
    kb_path
        Knowledge base YAML (default: the one shipped with poxscan).
    thresholds
        ``{"named": float, "unnamed": float}``: minimum score to answer when the text does /
        does not name mpox (default :data:`DEFAULT_THRESHOLDS`).
    retriever_params
        Keyword arguments of :class:`~poxscan.chat.retrieval.TfidfRetriever`.
    fusion
        ``{"bm25_weight": float, "rrf_k": float}`` (default :data:`DEFAULT_FUSION`); a BM25
        weight of 0 leaves BM25 out.
    learned_weight
        Weight of the learned ranking in the fusion (default :data:`LEARNED_WEIGHT`; 0 leaves
        it out, and with a BM25 weight of 0 too the ranking is TF-IDF alone).

    Examples
    --------
    >>> bot = MpoxChatbot()
    >>> bot.reply("how does mpox spread?").entry_id
    'transmission_overview'
    """

    def __init__(
        self,
        kb_path: str | PathLike | None = None,
        thresholds: dict[str, float] | None = None,
        retriever_params: dict[str, float] | None = None,
        fusion: dict[str, float] | None = None,
        learned_weight: float | None = None,
    ) -> None:
        self.kb: KnowledgeBase = load_knowledge_base(kb_path)
        self.thresholds = dict(DEFAULT_THRESHOLDS if thresholds is None else thresholds)
        missing = {"named", "unnamed"} - set(self.thresholds)
        if missing:
            raise ValueError(f"thresholds lack {sorted(missing)}")
        params = dict(DEFAULT_RETRIEVER_PARAMS if retriever_params is None else retriever_params)
        self.retriever = _fitted_retriever(self.kb, tuple(sorted(params.items())))
        self.fusion = dict(DEFAULT_FUSION if fusion is None else fusion)
        self.bm25 = _fitted_bm25(self.kb)
        self.learned_weight = LEARNED_WEIGHT if learned_weight is None else float(learned_weight)
        self.learned = (
            _fitted_learned(self.kb, tuple(sorted(params.items()))) if self.learned_weight else None
        )
        self._requires = tuple(
            (i, re.compile(e.requires)) for i, e in enumerate(self.kb.entries) if e.requires
        )

    def allowed(self, normalized_text: str) -> np.ndarray:
        """Which entries may answer the (normalised) text: those whose ``requires`` matches."""
        mask = np.ones(len(self.kb), dtype=bool)
        for i, pattern in self._requires:
            mask[i] = bool(pattern.search(normalized_text))
        return mask

    # ------------------------------------------------------------------ replies
    def reply(self, text: str) -> ChatReply:
        """Reply to one message.

        Parameters
        ----------
        text
            The user's message.

        Returns
        -------
        ChatReply
            See :class:`ChatReply`.
        """
        return self.reply_many([text])[0]

    def reply_many(self, texts: list[str]) -> list[ChatReply]:
        """Replies to several messages (one vectorisation pass; used by the evaluation)."""
        texts = [t if isinstance(t, str) else str(t) for t in texts]
        normalized = [normalize(t) for t in texts]
        tfidf, fused = self.scores(texts)
        return [self._decide(n, s, f) for n, s, f in zip(normalized, tfidf, fused, strict=True)]

    def scores(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """TF-IDF scores and fused ranking scores, each ``(len(texts), n_entries)``."""
        if not texts:
            empty = np.zeros((0, len(self.kb)))
            return empty, empty
        contents = self.retriever.contents(texts)
        tfidf = self.retriever.score_contents(contents)
        lists, weights = [tfidf], [1.0]
        if float(self.fusion["bm25_weight"]):
            lists.append(self.bm25.score_contents(contents))
            weights.append(float(self.fusion["bm25_weight"]))
        if self.learned is not None:
            lists.append(self.learned.score_contents(contents))
            weights.append(self.learned_weight)
        if len(lists) == 1:
            return tfidf, tfidf
        fused = reciprocal_rank_fusion(lists, weights, self.fusion["rrf_k"])
        # Ties in the fused ranking go to the higher TF-IDF score.
        return tfidf, fused + 1e-9 * tfidf

    def fixed_route(self, normalized_text: str) -> tuple[str, str] | None:
        """``(kind, reason)`` when rules decide before retrieval.

        Empty text, a diagnosis request (``refusal``), another topic or one no entry covers
        (``unknown``), a comparison with a look-alike disease no entry describes (``answer``
        from the testing or what-is-mpox entry, reason ``comparison:<entry id>``, or
        ``unknown``) or a safety
        route (``answer`` with reason ``safety:<entry id>``: see :mod:`poxscan.chat.safety`).
        """
        if not normalized_text.strip(" ?!.,"):
            return "unknown", "empty"
        rule = detect_diagnosis_request(normalized_text)
        if rule is not None:
            return "refusal", f"diagnosis:{rule}"
        # s13-chat: a learned second opinion for wordings no rule has seen (personal cue needed).
        if model_refuses(normalized_text):
            return "refusal", "diagnosis:learned"
        other = mentions_other_topic(normalized_text)
        if other and not mentions_mpox(normalized_text):
            return "unknown", f"other_topic:{other}"
        uncovered = not_covered_topic(normalized_text)
        if uncovered is not None:
            return "unknown", f"not_covered:{uncovered}"
        compared = uncovered_comparison(normalized_text)
        if compared is not None:
            return compared[0], f"comparison:{compared[1]}"
        safe = safety_entry(normalized_text)
        if safe is not None:
            return "answer", f"safety:{safe}"
        return None

    def _decide(self, text: str, scores: np.ndarray, fused: np.ndarray) -> ChatReply:
        route = self.fixed_route(text)
        # An entry that needs the question to name its subject ranks last without it.
        fused = np.where(self.allowed(text), fused, -np.inf)
        if route is not None and route[1] == "empty":
            return self._unknown("Please type a question about mpox.", 0.0, (), reason="empty")
        if route is not None and route[0] == "refusal":
            return self._refusal(route[1].split(":", 1)[1], text)
        order = np.argsort(-fused, kind="stable")
        best = int(order[0])
        best_score = float(scores[best])
        if route is not None and route[0] == "answer":
            # A safety or comparison route answers from its entry, with no "did you mean" links.
            entry = self.kb.get(route[1].split(":", 1)[1])
            return ChatReply(
                kind="answer",
                text=entry.answer + "\n\n" + self._footer(entry.sources),
                entry_id=entry.id,
                score=float(scores[self.kb.ids.index(entry.id)]),
                sources=entry.sources,
                reason=route[1],
                confidence="high",
                body=entry.answer,
                as_of=self.kb.as_of,
            )
        suggestions = tuple(self.kb.entries[int(i)].questions[0] for i in order[:3])
        if route is not None:
            return self._unknown(self._route_message(route[1]), best_score, (), reason=route[1])
        threshold = self.thresholds["named" if mentions_mpox(text) else "unnamed"]
        if best_score < threshold:
            return self._unknown(
                "Sorry, I don't know the answer to that. I can answer general questions about "
                "mpox: " + self._topic_list() + ".",
                best_score,
                suggestions if best_score >= 0.5 * threshold else _FALLBACK_SUGGESTIONS,
                reason="low_confidence",
            )
        entry = self.kb.entries[best]
        also: tuple[AlsoLink, ...] = ()
        confidence = "high"
        body = entry.answer
        if best_score < CONFIDENT_FACTOR * threshold:
            confidence = "medium"
            also = tuple(
                AlsoLink(self.kb.entries[int(i)].id, self.kb.entries[int(i)].questions[0])
                for i in order[1 : 1 + N_ALSO]
            )
        # Plain text lists the other questions; pages show ``also`` as links beside ``body``.
        text = body
        if also:
            text += "\n\nDid you also mean:\n" + "\n".join(f"- {a.question}" for a in also)
        return ChatReply(
            kind="answer",
            text=text + "\n\n" + self._footer(entry.sources),
            entry_id=entry.id,
            score=best_score,
            sources=entry.sources,
            reason="retrieved",
            confidence=confidence,
            also=also,
            body=body,
            as_of=self.kb.as_of,
        )

    # ----------------------------------------------------------------- messages
    @staticmethod
    def _route_message(reason: str) -> str:
        """What an ``unknown`` decided by a scope rule says (see :meth:`fixed_route`)."""
        rule, name = reason.split(":", 1)
        if rule == "not_covered":
            ask = _ASK_INSTEAD.get(
                name, "a healthcare provider, a pharmacist or your local health department"
            )
            return f"Sorry, my knowledge base does not cover {name}. Please ask {ask}."
        if rule == "comparison":
            return (
                f"Sorry, my knowledge base does not describe {name}, so I cannot compare it "
                "with mpox. A clinician can tell the two apart, if needed with a lab test."
            )
        return (
            f"I can only answer questions about mpox, not about {name}. "
            "For other health questions, please ask a healthcare provider or see the WHO "
            "or CDC websites."
        )

    def _footer(self, sources: tuple[Source, ...]) -> str:
        cited = "\n".join(f"- {s.title}: {s.url}" for s in sources)
        return f"Sources:\n{cited}\n{self._as_of_line()}".rstrip()

    def _as_of_line(self) -> str:
        return (
            f"Information as of {self.kb.as_of} (the date these facts are valid for). "
            f"{self.kb.disclaimer}"
        )

    def _topic_list(self) -> str:
        return "; ".join(v.lower() for v in self.kb.topics.values())

    def _unknown(
        self, message: str, score: float, suggestions: tuple[str, ...], reason: str
    ) -> ChatReply:
        text = message
        if suggestions:
            text += "\nYou could ask, for example:\n" + "\n".join(f"- {q}" for q in suggestions)
        return ChatReply(
            kind="unknown",
            text=text,
            entry_id=None,
            score=score,
            suggestions=suggestions,
            reason=reason,
        )

    def _refusal(self, rule: str, text: str = "") -> ChatReply:
        # Who may be ill changes how soon to get care (the pregnancy and children entries).
        extra: list[tuple[str, str]] = []
        if mentions_pregnancy(text):
            extra.append(
                (
                    "pregnancy_newborns",
                    "If you are pregnant or breastfeeding, contact your healthcare provider or "
                    "maternity service the same day and say that you are pregnant.",
                )
            )
        if mentions_child(text):
            extra.append(
                (
                    "children",
                    "A baby or child who may have mpox should see a doctor promptly; get urgent "
                    "care if they are unusually drowsy or cannot drink.",
                )
            )
        sources: list[Source] = []
        for entry_id in (*_REFUSAL_SOURCE_ENTRIES, *(e for e, _ in extra)):
            for src in self.kb.get(entry_id).sources:
                if src not in sources:
                    sources.append(src)
        message = (
            "I can't tell whether you, or anyone, has mpox: no chatbot can. A diagnosis needs a "
            "clinician, who can examine the skin and, if needed, test a swab from a sore by PCR. "
            "Please contact a doctor, nurse or sexual health clinic; call ahead, cover any sores "
            "and avoid close contact with others until you have been checked.\n"
            "If you would like a rough screen of a photo, poxscan's image screening tool "
            "(`poxscan predict PHOTO`, or the upload page of the poxscan web app) can give one, "
            "but its result is not a diagnosis either.\n"
            "Get urgent care for sores in or near the eye, trouble breathing, confusion or "
            "severe pain."
        )
        message += "".join("\n" + line for _, line in extra)
        return ChatReply(
            kind="refusal",
            text=message + "\n\n" + self._footer(tuple(sources)),
            entry_id=None,
            score=1.0,
            sources=tuple(sources),
            reason=f"diagnosis:{rule}",
            body=message,
            as_of=self.kb.as_of,
        )
