"""Evaluation questions of the mpox chatbot: loading, folds, overlap with the knowledge base.

Used by ``experiments/chat_eval.py``. Four files:

- ``experiments/chat_eval.yaml``: ``questions`` (the first development set: cross-validated and
  tuned on), and the older held-out lists ``holdout`` and ``holdout_final`` (scored only);
- ``experiments/chat_dev_informal.yaml``: ``dev_informal``, the informal development set of the
  generalisation work (cross-validated and tuned on together with ``questions``);
- ``experiments/chat_holdout_informal.yaml``: ``holdout_informal``, informal wording written
  before the issue-14 changes (scored only);
- ``experiments/chat_holdout_v2.yaml``: ``holdout_v2``, informal wording written before the
  generalisation work (scored only, once, at its end). Since the s4-chat work it is a
  DEVELOPMENT set: its misses were read and guided general fixes (its first score, 83.3 %
  top-1, stays the honest holdout figure); it is still not tuned on (no folds);
- further holdouts ``experiments/chat_holdout_<name>.yaml`` (e.g. ``chat_holdout_v3.yaml``
  with a ``holdout_v3`` list), found by :func:`discover_holdouts` or named on the command line,
  are scored only, with the shipped settings. ``chat_holdout_v3.yaml`` is a DEVELOPMENT set
  since the s5-chat work (its misses were read and guided general fixes; its first score,
  88.4 % top-1, stays the honest holdout figure in ``first_runs.holdout_v3_first_score``); it
  is still scored apart, not tuned on (no folds). ``chat_holdout_v4.yaml`` likewise since the
  s6-chat work (first score 88.5 % top-1 in ``first_runs.holdout_v4_first_score``), and
  ``chat_holdout_v5.yaml`` since the s7-chat work (first score 86.8 % top-1 in
  ``first_runs.holdout_v5_first_score``), v6 since the s8-chat work (84.6 %) and v7 since the
  s9-chat work (89.0 %), v8 since the s10-chat work (92.7 %), v9 since the s11-chat work
  (91.7 %), v10 since the s12-chat work (91.6 %), v11 since the s13-chat work (88.8 %),
  v12 since the s14-chat work (89.8 %), v13 since the s15-chat work (86.4 %), v14 since
  the s16-chat work (86.7 %), v15 since the s17-chat work (89.1 %) and v16 since the s18-chat
  work (88.9 %), v17 since the s19-chat work (93.8 %), v18 since the s20-chat work
  (88.7 %), v19 since the s21-chat work (89.5 %), v20 since the s22-chat work (81.0 %), v21
  since the s23-chat work (81.9 %) and v22 since the s24-chat work (91.6 %).
  :data:`DEVELOPMENT_SINCE` names such sets.

An item may list ``accept``: other entry ids that answer it correctly too (declared in the file).
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from poxscan.chat.text import normalize

SPECIAL = ("refusal", "unknown")
N_FOLDS = 5
#: Held-out lists of chat_eval.yaml: scored, never tuned on.
HOLDOUT_KEYS = ("holdout", "holdout_final")
#: The informal holdout's list (its own file).
INFORMAL_KEY = "holdout_informal"
#: The second informal holdout's list (its own file).
V2_KEY = "holdout_v2"
#: The informal development set's list (its own file; tuned on).
DEV_KEY = "dev_informal"
#: The third informal holdout's list (``chat_holdout_v3.yaml``, found by discovery).
V3_KEY = "holdout_v3"
#: The fourth informal holdout's list (``chat_holdout_v4.yaml``, found by discovery).
V4_KEY = "holdout_v4"
#: The fifth informal holdout's list (``chat_holdout_v5.yaml``, found by discovery).
V5_KEY = "holdout_v5"
#: The sixth informal holdout's list (``chat_holdout_v6.yaml``, found by discovery).
V6_KEY = "holdout_v6"
#: The seventh informal holdout's list (``chat_holdout_v7.yaml``, found by discovery).
V7_KEY = "holdout_v7"
#: The eighth informal holdout's list (``chat_holdout_v8.yaml``, found by discovery).
V8_KEY = "holdout_v8"
#: The ninth informal holdout's list (``chat_holdout_v9.yaml``, found by discovery).
V9_KEY = "holdout_v9"
#: The tenth informal holdout's list (``chat_holdout_v10.yaml``, found by discovery).
V10_KEY = "holdout_v10"
#: The eleventh informal holdout's list (``chat_holdout_v11.yaml``, found by discovery).
V11_KEY = "holdout_v11"
#: The twelfth informal holdout's list (``chat_holdout_v12.yaml``, found by discovery).
V12_KEY = "holdout_v12"
#: The thirteenth informal holdout's list (``chat_holdout_v13.yaml``, found by discovery).
V13_KEY = "holdout_v13"
#: The fourteenth informal holdout's list (``chat_holdout_v14.yaml``, found by discovery).
V14_KEY = "holdout_v14"
#: The fifteenth informal holdout's list (``chat_holdout_v15.yaml``, found by discovery).
V15_KEY = "holdout_v15"
#: The sixteenth informal holdout's list (``chat_holdout_v16.yaml``, found by discovery).
V16_KEY = "holdout_v16"
#: The seventeenth informal holdout's list (``chat_holdout_v17.yaml``, found by discovery).
V17_KEY = "holdout_v17"
#: The eighteenth informal holdout's list (``chat_holdout_v18.yaml``, found by discovery).
V18_KEY = "holdout_v18"
#: The nineteenth informal holdout's list (``chat_holdout_v19.yaml``, found by discovery).
V19_KEY = "holdout_v19"
#: The twentieth informal holdout's list (``chat_holdout_v20.yaml``, found by discovery).
V20_KEY = "holdout_v20"
#: The twenty-first informal holdout's list (``chat_holdout_v21.yaml``, found by discovery).
V21_KEY = "holdout_v21"
#: The twenty-second informal holdout's list (``chat_holdout_v22.yaml``, found by discovery).
V22_KEY = "holdout_v22"
#: Former holdouts whose misses have been read, with the work that demoted them: they are
#: reported as development sets (scored apart, never tuned on), their first score kept in
#: ``first_runs.<key>_first_score``.
DEVELOPMENT_SINCE = {
    V2_KEY: "s4-chat",
    V3_KEY: "s5-chat",
    V4_KEY: "s6-chat",
    V5_KEY: "s7-chat",
    V6_KEY: "s8-chat",
    V7_KEY: "s9-chat",
    V8_KEY: "s10-chat",
    V9_KEY: "s11-chat",
    V10_KEY: "s12-chat",
    V11_KEY: "s13-chat",
    V12_KEY: "s14-chat",
    V13_KEY: "s15-chat",
    V14_KEY: "s16-chat",
    V15_KEY: "s17-chat",
    V16_KEY: "s18-chat",
    V17_KEY: "s19-chat",
    V18_KEY: "s20-chat",
    V19_KEY: "s21-chat",
    V20_KEY: "s22-chat",
    V21_KEY: "s23-chat",
    V22_KEY: "s24-chat",
}


def holdout_key(path: str | Path) -> str:
    """The list key of a holdout file: ``chat_holdout_v3.yaml`` -> ``holdout_v3``."""
    stem = Path(path).stem
    prefix = "chat_holdout_"
    if not stem.startswith(prefix) or len(stem) == len(prefix):
        raise ValueError(f"{path}: a holdout file must be named chat_holdout_<name>.yaml")
    return "holdout_" + stem[len(prefix) :]


def discover_holdouts(directory: str | Path, exclude: Sequence[str | Path] = ()) -> dict:
    """Holdout files ``chat_holdout_v<N>.yaml`` in ``directory``, as ``{key: path}``.

    Files in ``exclude`` (compared resolved: the v2 set, read through its own option) are left
    out; keys are :func:`holdout_key` of the file name, in version order (v9 before v10).
    """
    skip = {Path(p).resolve() for p in exclude}

    def version(path: Path) -> tuple[float, str]:
        number = re.fullmatch(r"chat_holdout_v(\d+)", path.stem)
        return (int(number.group(1)) if number else math.inf, path.stem)

    found = sorted(Path(directory).glob("chat_holdout_v*.yaml"), key=version)
    return {holdout_key(p): p for p in found if p.resolve() not in skip}


def kind_of(label: str) -> str:
    """``"refusal"``, ``"unknown"`` or ``"answer"`` (for an entry id)."""
    return label if label in SPECIAL else "answer"


def _items(path: str | Path, split: str, raws: Any, kb_ids: Sequence[str] | None) -> list[dict]:
    if not isinstance(raws, list):
        raise ValueError(f"{path}: '{split}' must be a list of questions")
    out = []
    for i, raw in enumerate(raws):
        if not isinstance(raw, dict) or not raw.get("q") or not raw.get("expect"):
            raise ValueError(f"{path}: {split} item {i} needs 'q' and 'expect', got {raw!r}")
        expect = str(raw["expect"])
        accept = tuple(str(a) for a in raw.get("accept") or ())
        for label in (expect, *accept):
            if kb_ids is not None and label not in SPECIAL and label not in kb_ids:
                raise ValueError(f"{path}: {split} item {i} expects unknown entry id {label!r}")
        out.append(
            {
                "q": str(raw["q"]),
                "expect": expect,
                "accept": (expect, *accept),
                "style": str(raw.get("style", "")),
                "kind": kind_of(expect),
                "split": split,
                "source": split,
                "fold": None,
            }
        )
    return out


def _load_list(path: str | Path, key: str, kb_ids: Sequence[str] | None, split: str) -> list:
    with open(path, encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    if not isinstance(data, dict) or not data.get(key):
        raise ValueError(f"{path}: expected a non-empty '{key}' list")
    return _items(path, split, data[key], kb_ids)


def load_eval(
    path: str | Path,
    kb_ids: Sequence[str] | None = None,
    informal_path: str | Path | None = None,
    dev_path: str | Path | None = None,
    v2_path: str | Path | None = None,
    extra_paths: dict[str, str | Path] | None = None,
) -> list[dict[str, Any]]:
    """Read the evaluation sets; assign development items a fold.

    Parameters
    ----------
    path
        ``chat_eval.yaml``: a ``questions`` list of ``{q, expect, style}`` and optional
        ``holdout`` and ``holdout_final`` lists.
    kb_ids
        Valid entry ids; an ``expect`` or ``accept`` that is neither one of them nor
        refusal/unknown raises ``ValueError`` naming the file and item.
    informal_path
        Optional ``chat_holdout_informal.yaml`` (its ``holdout_informal`` list).
    dev_path
        Optional ``chat_dev_informal.yaml`` (its ``dev_informal`` list): development items
        too, after ``questions``.
    v2_path
        Optional ``chat_holdout_v2.yaml`` (its ``holdout_v2`` list).
    extra_paths
        Optional further holdouts ``{key: path}``; each file holds a ``key`` list (same item
        format), scored only (split ``key``).

    Returns
    -------
    list of dict
        Items with keys ``q``, ``expect``, ``accept`` (labels counted right), ``style``,
        ``kind``, ``split`` (``main`` for both development sets, else the holdout's name),
        ``source`` (the list the item comes from) and ``fold`` (0 to ``N_FOLDS - 1`` for
        development items, round-robin within each kind in file order, ``questions`` first;
        else None).
    """
    with open(path, encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    main = data.get("questions") if isinstance(data, dict) else None
    if not isinstance(main, list) or not main:
        raise ValueError(f"{path}: expected a non-empty 'questions' list")
    out = _items(path, "main", main, kb_ids)
    for it in out:
        it["source"] = "questions"
    if dev_path is not None:
        dev = _load_list(dev_path, DEV_KEY, kb_ids, "main")
        for it in dev:
            it["source"] = DEV_KEY
        out += dev
    seen: dict[str, int] = {}
    for it in out:
        it["fold"] = seen.get(it["kind"], 0) % N_FOLDS
        seen[it["kind"]] = seen.get(it["kind"], 0) + 1
    for key in HOLDOUT_KEYS:
        out += _items(path, key, data.get(key) or [], kb_ids)
    if informal_path is not None:
        out += _load_list(informal_path, INFORMAL_KEY, kb_ids, INFORMAL_KEY)
    if v2_path is not None:
        out += _load_list(v2_path, V2_KEY, kb_ids, V2_KEY)
    for key, extra in (extra_paths or {}).items():
        if key in (*HOLDOUT_KEYS, INFORMAL_KEY, V2_KEY, DEV_KEY, "main"):
            raise ValueError(f"{extra}: list key {key!r} is already used by another set")
        out += _load_list(extra, key, kb_ids, key)
    return out


def load_first_runs(path: str | Path) -> dict[str, Any]:
    """The recorded first scorings of held-out parts (``first_runs`` in a YAML file), if any."""
    with open(path, encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    return (data.get("first_runs") or {}) if isinstance(data, dict) else {}


def kb_items(kb) -> list[dict[str, Any]]:
    """The knowledge base's own question variants as answerable items (self-retrieval)."""
    return [
        {"q": q, "expect": e.id, "accept": (e.id,), "kind": "answer", "style": "kb_variant"}
        for e in kb.entries
        for q in e.questions
    ]


def variant_overlap(items: Sequence[dict], kb) -> list[str]:
    """Evaluation questions identical (after normalisation) to a knowledge-base variant."""
    variants = {normalize(q).strip(" ?.!") for e in kb.entries for q in e.questions}
    return [it["q"] for it in items if normalize(it["q"]).strip(" ?.!") in variants]


def nearest_variant_ratio(items: Sequence[dict], kb) -> list[float]:
    """Per item: ``difflib`` ratio between the normalised question and its closest variant."""
    variants = [normalize(q).strip(" ?.!") for e in kb.entries for q in e.questions]
    out = []
    for it in items:
        text = normalize(it["q"]).strip(" ?.!")
        # seq2 is the question (difflib caches its index); each variant is set as seq1.
        matcher = difflib.SequenceMatcher(None, "", text)
        best = 0.0
        for v in variants:
            matcher.set_seq1(v)
            if matcher.real_quick_ratio() > best and matcher.quick_ratio() > best:
                best = max(best, matcher.ratio())
        out.append(best)
    return out
