"""Grouped 5-fold cross-validation of the refusal classifier (``poxscan/chat/refusal_model.py``).

Every fold fits the classifier on the other folds only; folds are grouped by near-duplicate
key (the first four normalised words' sorted set), so copies of a question do not straddle
folds. Reports, out of fold: the classifier alone (probability at the threshold, with a
personal cue) and rules + classifier, refusal recall and false refusals; and the lowest
threshold with no out-of-fold false refusal. ``--probes`` scores a probe list
(``expected|question``) with the shipped rules, and rules + shipped classifier.

Usage::

    python experiments/refusal_model_cv.py [--threshold 0.9] [--probes PATH]
"""

from __future__ import annotations

import argparse

import numpy as np
from sklearn.model_selection import GroupKFold

from poxscan.chat.diagnosis import detect_diagnosis_request
from poxscan.chat.refusal_model import (
    THRESHOLD,
    RefusalModel,
    load_examples,
    model_may_refuse,
    model_refuses,
)
from poxscan.chat.text import normalize


def _key(text: str) -> str:
    return " ".join(sorted(set(text.split()[:4])))


def cross_validate(threshold: float) -> None:
    """Print out-of-fold figures of the classifier alone and with the rules."""
    raw, y, _ = load_examples()
    texts = [normalize(t) for t in raw]
    keys = [_key(t) for t in texts]
    oof = np.zeros(len(texts))
    for train, test in GroupKFold(n_splits=5).split(texts, y, keys):
        model = RefusalModel([texts[i] for i in train], y[train])
        oof[test] = model.probability([texts[i] for i in test])
    cue = np.array([model_may_refuse(t) for t in texts])
    rules = np.array([detect_diagnosis_request(t) is not None for t in texts])
    neg = y == 0
    safe = max(oof[neg & cue]) if (neg & cue).any() else 0.0
    print(f"{len(y)} examples, {int(y.sum())} refusals; highest out-of-fold p of a")
    print(f"non-refusal where the model is consulted: {safe:.4f} (threshold must exceed it)")
    for t in sorted({threshold, 0.5, 0.7, 0.8, 0.85, 0.9, 0.95, 0.99}):
        clf = (oof >= t) & cue
        both = clf | rules
        print(
            f"t={t:.2f} classifier alone: recall {clf[~neg].mean():.3f}, "
            f"false refusals {int(clf[neg].sum())}; rules + classifier: recall "
            f"{both[~neg].mean():.3f}, false refusals {int(both[neg].sum())}"
        )
    print(f"rules alone: recall {rules[~neg].mean():.3f}, false refusals {int(rules[neg].sum())}")


def probes(path: str, threshold: float) -> None:
    """Score a probe list with the rules alone and with rules + classifier."""
    rows = []
    for line in open(path, encoding="utf-8").read().splitlines():
        label, _, q = line.partition("|")
        if label in ("refusal", "answer"):
            rows.append((label == "refusal", normalize(q)))
    for name, fn in (
        ("rules", lambda t: detect_diagnosis_request(t) is not None),
        (
            "rules+classifier",
            lambda t: detect_diagnosis_request(t) is not None or model_refuses(t, threshold),
        ),
    ):
        got = [(want, fn(t), t) for want, t in rows]
        rec = sum(w and g for w, g, _ in got)
        fr = sum((not w) and g for w, g, _ in got)
        print(f"{name}: refused {rec} of {sum(w for w, _, _ in got)}, false refusals {fr}")
        for w, g, t in got:
            if w != g:
                print(f"   miss ({'refusal' if w else 'answer'}): {t}")


def main() -> None:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threshold", type=float, default=THRESHOLD)
    parser.add_argument("--probes")
    args = parser.parse_args()
    if args.probes:
        probes(args.probes, args.threshold)
    else:
        cross_validate(args.threshold)


if __name__ == "__main__":
    main()
