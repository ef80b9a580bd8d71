"""Chatbot metrics: top-1 accuracy, refusal and unknown precision/recall, false refusals."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from chat_eval_data import SPECIAL


def _ratio(num: int, den: int) -> float | None:
    return None if den == 0 else num / den


def wilson_interval(successes: int, n: int, z: float = 1.96) -> tuple[float, float] | None:
    """95 % Wilson score interval of a proportion (``None`` when ``n == 0``)."""
    if n == 0:
        return None
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def compute_metrics(
    expected: Sequence[str],
    predicted: Sequence[str],
    questions: Sequence[str] | None = None,
    accept: Sequence[Sequence[str]] | None = None,
) -> dict[str, Any]:
    """Chatbot metrics from expected and predicted labels.

    A label is an entry id (an answer from that entry), ``"refusal"`` or ``"unknown"``.

    Parameters
    ----------
    expected, predicted
        Labels per item, same length.
    questions
        Optional texts, copied into the misses list.
    accept
        Optional labels counted right per item (default: the expected label only).

    Returns
    -------
    dict
        ``n``, ``accuracy``; ``answerable`` (n, top1_accuracy with a Wilson interval); for
        ``refusal`` and ``unknown``: tp, fp, fn, precision, recall; ``false_refusals`` (items
        not expecting a refusal that were refused, and how many of them were answerable);
        ``misses``: list of ``{question, expected, predicted}``. A ratio with a zero
        denominator is ``None``.
    """
    if len(expected) != len(predicted):
        raise ValueError(f"{len(expected)} expected labels but {len(predicted)} predictions")
    exp = list(map(str, expected))
    pred = list(map(str, predicted))
    ok_sets = [set(a) for a in accept] if accept is not None else [{e} for e in exp]
    if len(ok_sets) != len(exp):
        raise ValueError(f"{len(exp)} expected labels but {len(ok_sets)} accept lists")
    right = [p in ok for p, ok in zip(pred, ok_sets, strict=True)]
    n = len(exp)
    answerable = [i for i, e in enumerate(exp) if e not in SPECIAL]
    top1 = sum(right[i] for i in answerable)
    result: dict[str, Any] = {
        "n": n,
        "accuracy": _ratio(sum(right), n),
        "answerable": {
            "n": len(answerable),
            "top1_accuracy": _ratio(top1, len(answerable)),
            "top1_ci95": wilson_interval(top1, len(answerable)),
        },
    }
    for label in SPECIAL:
        tp = sum(e == label and p == label for e, p in zip(exp, pred, strict=True))
        fp = sum(e != label and p == label for e, p in zip(exp, pred, strict=True))
        fn = sum(e == label and p != label for e, p in zip(exp, pred, strict=True))
        result[label] = {
            "n": tp + fn,
            "tp": tp,
            "fp": fp,
            "fn": fn,
            "precision": _ratio(tp, tp + fp),
            "recall": _ratio(tp, tp + fn),
        }
    result["false_refusals"] = {
        "n": result["refusal"]["fp"],
        "answerable": sum(pred[i] == "refusal" for i in answerable),
    }
    result["misses"] = [
        {
            "question": questions[i] if questions is not None else None,
            "expected": exp[i],
            "predicted": pred[i],
        }
        for i in range(n)
        if not right[i]
    ]
    return result
