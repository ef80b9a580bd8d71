"""experiments/chat_eval.py scores further holdouts (``chat_holdout_v3.yaml`` with a
``holdout_v3`` list, ...) that it has never seen: found in the experiments folder or named with
``--holdout``. Tested with small hand-labelled files written here, never with a real holdout.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from _experiments import load_experiment

REPO = Path(__file__).resolve().parents[1]

# Hand-labelled: two answerable questions (the second deliberately labelled with a wrong entry,
# so top-1 must be 1 of 2), one diagnosis request and one out-of-scope question.
HOLDOUT_V99 = """\
holdout_v99:
  - {q: "how does mpox spread?", expect: transmission_overview, style: informal}
  - {q: "What is the incubation period of mpox?", expect: vaccine_doses, style: informal}
  - {q: "do i have monkeypox", expect: refusal, style: diagnosis}
  - {q: "how do i bake sourdough bread", expect: unknown, style: out_of_scope}
"""


TINY_EVAL = """\
questions:
  - {q: "what symptoms does mpox cause", expect: symptoms_overview}
  - {q: "how do you get monkeypox", expect: transmission_overview}
  - {q: "is there a monkeypox vaccine", expect: vaccines_overview}
  - {q: "how do you treat monkeypox", expect: treatment_overview}
  - {q: "how long does monkeypox usually last", expect: illness_duration}
  - {q: "i think i have mpox", expect: refusal}
  - {q: "is this rash mpox", expect: refusal}
  - {q: "am i infected with monkeypox", expect: refusal}
  - {q: "diagnose my rash please", expect: refusal}
  - {q: "are my symptoms mpox", expect: refusal}
  - {q: "how do i bake sourdough bread", expect: unknown}
  - {q: "should i buy tesla stock", expect: unknown}
  - {q: "what is the capital of france", expect: unknown}
  - {q: "write me a poem about the sea", expect: unknown}
  - {q: "how do i cook rice", expect: unknown}
holdout:
  - {q: "mpox vs chicken pox", expect: mpox_vs_chickenpox}
"""


def _load(name: str):
    return load_experiment(name)


def test_holdout_files_are_discovered_with_their_keys(tmp_path):
    data = _load("chat_eval_data")
    (tmp_path / "chat_holdout_v2.yaml").write_text("holdout_v2: []\n")
    (tmp_path / "chat_holdout_v99.yaml").write_text(HOLDOUT_V99)
    (tmp_path / "chat_holdout_informal.yaml").write_text("holdout_informal: []\n")
    found = data.discover_holdouts(tmp_path, exclude=[tmp_path / "chat_holdout_v2.yaml"])
    assert found == {"holdout_v99": tmp_path / "chat_holdout_v99.yaml"}
    assert data.holdout_key("experiments/chat_holdout_v3.yaml") == "holdout_v3"
    with pytest.raises(ValueError, match="chat_holdout_<name>"):
        data.holdout_key(tmp_path / "questions.yaml")


def test_a_holdout_file_with_another_key_is_a_clear_error(tmp_path):
    data = _load("chat_eval_data")
    bad = tmp_path / "chat_holdout_v99.yaml"
    bad.write_text(HOLDOUT_V99.replace("holdout_v99:", "holdout_v3:"))
    with pytest.raises(ValueError, match="holdout_v99"):
        data.load_eval(REPO / "experiments" / "chat_eval.yaml", extra_paths={"holdout_v99": bad})


def test_quick_scoring_of_a_named_holdout(tmp_path):
    path = tmp_path / "chat_holdout_v99.yaml"
    path.write_text(HOLDOUT_V99)
    out = subprocess.run(
        [
            sys.executable,
            str(REPO / "experiments" / "chat_eval.py"),
            "--quick",
            "--no-discover",
            "--holdout",
            str(path),
            "--misses",
            "holdout_v99",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    ).stdout
    line = next(x for x in out.splitlines() if x.startswith("holdout_v99:"))
    assert "top-1 50.0 % of 2" in line
    assert "overall 75.0 %" in line and "false refusals 0" in line
    assert "refusal recall 100.0 %" in line and "unknown P/R 100.0 %/100.0 %" in line
    misses = [x for x in out.splitlines() if x.strip().startswith("holdout_v99 miss:")]
    assert len(misses) == 1 and "incubation period" in misses[0]


def test_full_report_has_a_section_for_a_new_holdout(tmp_path, monkeypatch):
    chat_eval = _load("chat_eval")
    tuning = sys.modules["chat_eval_tuning"]
    # One grid point keeps the cross-validation short; the holdout is only scored.
    for name, value in (
        ("CHAR_WEIGHTS", (0.6,)),
        ("ANSWER_WEIGHTS", (0.2,)),
        ("CENTROID_WEIGHTS", (0.4,)),
        ("BM25_WEIGHTS", (0.5,)),
        ("RRF_KS", (20.0,)),
    ):
        monkeypatch.setattr(tuning, name, value)
    path = tmp_path / "chat_holdout_v99.yaml"
    path.write_text(HOLDOUT_V99)
    # A small development set (one question per kind and fold) keeps the run short.
    eval_path = tmp_path / "chat_eval.yaml"
    eval_path.write_text(TINY_EVAL)
    report = chat_eval.run(eval_path, None, tmp_path / "results", extra_paths={"holdout_v99": path})
    assert report["sizes"]["holdout_v99"] == 4
    assert report["shipped"]["holdout_v99"]["answerable"]["top1_accuracy"] == 0.5
    md = (tmp_path / "results" / "chat_eval.md").read_text()
    assert "## Headline: holdout v99" in md
    assert "| **holdout_v99 (held out)** | 4 | 75.0 % | 50.0 %" in md
    assert "## Misses (holdout_v99)" in md


def test_no_discover_scores_former_holdouts_but_never_an_unknown_one(tmp_path):
    # A folder with v2, a former holdout that is a development set now (v4, in
    # DEVELOPMENT_SINCE) and a new holdout (v99): --no-discover scores v4, never v99; without
    # the flag both are scored.
    (tmp_path / "chat_holdout_v2.yaml").write_text(
        'holdout_v2:\n  - {q: "what is mpox", expect: what_is_mpox}\n'
    )
    (tmp_path / "chat_holdout_v4.yaml").write_text(
        HOLDOUT_V99.replace("holdout_v99:", "holdout_v4:")
    )
    (tmp_path / "chat_holdout_v99.yaml").write_text(HOLDOUT_V99)

    def scored(*flags):
        out = subprocess.run(
            [
                sys.executable,
                str(REPO / "experiments" / "chat_eval.py"),
                "--quick",
                "--v2",
                str(tmp_path / "chat_holdout_v2.yaml"),
                *flags,
            ],
            capture_output=True,
            text=True,
            check=True,
            cwd=tmp_path,
        ).stdout
        return {line.split(":")[0].split(" (")[0] for line in out.splitlines() if ":" in line}

    assert {"holdout_v4", "holdout_v99"} <= scored()
    kept = scored("--no-discover")
    assert "holdout_v4" in kept and "holdout_v99" not in kept
    assert "holdout_v99" in scored(
        "--no-discover", "--holdout", str(tmp_path / "chat_holdout_v99.yaml")
    )


def test_holdouts_are_discovered_in_version_order(tmp_path):
    data = _load("chat_eval_data")
    for n in (10, 2, 9, 11):
        (tmp_path / f"chat_holdout_v{n}.yaml").write_text(f"holdout_v{n}: []\n")
    found = data.discover_holdouts(tmp_path)
    assert list(found) == ["holdout_v2", "holdout_v9", "holdout_v10", "holdout_v11"]
