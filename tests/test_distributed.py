"""Two workers on one PostgreSQL study: budget kept exactly, a dead worker's trial retried."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import subprocess
import sys
import time
import uuid

import numpy as np
import optuna
import pytest
from optuna.trial import TrialState

from poxscan.pipelines import distributed
from poxscan.pipelines.distributed import (
    TooManyFailedTrials,
    _counts,
    _worker_main,
    audit_study,
    make_storage,
    run_worker,
)
from poxscan.pipelines.experiment_data import load_experiment
from poxscan.pipelines.search_space import SearchSpace
from poxscan.pipelines.tuning import ObjectiveSpec, run_study

pytest_plugins = ["postgres_server"]


@pytest.fixture(scope="module")
def small_data(data_root, tmp_path_factory):
    """Colour features of all MSLD images, from a fresh cache."""
    cache = tmp_path_factory.mktemp("cache")
    return load_experiment(["msld_v1"], ["color"], data_root=data_root, cache=cache, progress=False)


def _spec(classifiers=("logreg", "lda")) -> ObjectiveSpec:
    space = SearchSpace(families=["color"], classifiers=list(classifiers), selectors=["anova"])
    return ObjectiveSpec(datasets=["msld_v1"], space=space, n_splits=3, seed=0)


def _after_barrier(barrier, kwargs) -> None:
    # Each worker holds its first trial until the other is inside one too: both must do
    # work, however unequal their start-up times (with 0.2 s trials, one worker once spent
    # the whole budget while the other was still opening the study).
    real, waited = distributed._run_trial, []

    def first_waits(*args, **kw):
        if not waited:
            waited.append(True)
            barrier.wait(timeout=300)
        return real(*args, **kw)

    distributed._run_trial = first_waits
    _worker_main(kwargs)


def _start(ctx, name, url, spec, budget, worker, data, interval=1, grace=3, barrier=None):
    kwargs = {
        "study_name": name,
        "storage_url": url,
        "objective_spec": spec.to_dict(),
        "budget": budget,
        "worker": worker,
        "data": data,
        "heartbeat_interval": interval,
        "grace_period": grace,
    }
    if barrier is None:
        proc = ctx.Process(target=_worker_main, args=(kwargs,))
    else:
        proc = ctx.Process(target=_after_barrier, args=(barrier, kwargs))
    proc.start()
    return proc


def test_two_workers_share_the_budget_exactly(postgres_url, small_data):
    name = f"two-workers-{uuid.uuid4().hex[:8]}"
    spec, budget = _spec(), 6
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(2)
    procs = [
        _start(ctx, name, postgres_url, spec, budget, w, small_data, barrier=barrier)
        for w in (0, 1)
    ]
    for p in procs:
        p.join(timeout=300)
        assert p.exitcode == 0
    study = optuna.load_study(study_name=name, storage=postgres_url)
    audit = audit_study(study)
    assert audit.complete_for(budget), audit
    assert audit.duplicate_params == 0
    assert len(study.trials) == budget  # nothing extra was created, nothing lost
    workers = {t.user_attrs["worker"] for t in study.trials}
    assert workers == {0, 1}  # both did work
    assert len({t.number for t in study.trials}) == budget


def test_a_trial_finishing_between_the_counts_is_not_lost(tmp_path):
    # Another worker tells its trial while this one counts, without the lock: the trial
    # leaves RUNNING for COMPLETE between two of the count queries. It must be counted
    # (twice is safe, once too few lets a worker start a trial beyond the budget).
    storage = make_storage(f"sqlite:///{tmp_path / 'race.db'}", 1, 3)
    study = optuna.create_study(study_name="race", storage=storage)
    other = study.ask()
    storage = study._storage
    real = storage.get_n_trials
    calls = []

    def interleaved(study_id, state=None):
        n = real(study_id, state=state)
        calls.append(state)
        if len(calls) == 1:
            study.tell(other, 0.5)  # the other worker finishes right after the first query
        return n

    storage.get_n_trials = interleaved
    finished, running, waiting = _counts(study)
    assert len(calls) == 3
    assert finished + running >= 1, (finished, running)
    assert waiting == 0


def test_killed_worker_trial_is_retried(postgres_url, small_data):
    name = f"kill-{uuid.uuid4().hex[:8]}"
    # The MLP makes trials last long enough to be killed in the middle of one.
    spec, budget = _spec(classifiers=("mlp",)), 4
    ctx = mp.get_context("spawn")
    victim = _start(ctx, name, postgres_url, spec, budget, 0, small_data)
    storage = make_storage(postgres_url, heartbeat_interval=1, grace_period=3)
    killed_trial = None
    deadline = time.monotonic() + 120
    while killed_trial is None and time.monotonic() < deadline:
        try:
            study = optuna.load_study(study_name=name, storage=storage)
        except KeyError:  # the victim has not created the study yet
            time.sleep(0.2)
            continue
        # Kill once a trial has drawn its parameters, so its retry must reuse them.
        running = [
            t
            for t in study.get_trials(deepcopy=False)
            if t.state == TrialState.RUNNING and t.params
        ]
        if running:
            os.kill(victim.pid, signal.SIGKILL)
            killed_trial = running[0].number
        time.sleep(0.05)
    victim.join(timeout=30)
    assert killed_trial is not None, "the victim never started a trial"
    assert victim.exitcode == -signal.SIGKILL

    # The survivor finishes the budget, including a retry of the dead worker's trial.
    run_worker(
        name,
        postgres_url,
        spec,
        budget,
        worker=1,
        data=small_data,
        heartbeat_interval=1,
        grace_period=3,
    )
    study = optuna.load_study(study_name=name, storage=postgres_url)
    audit = audit_study(study)
    assert audit.complete_for(budget), audit
    dead = study.trials[killed_trial]
    assert dead.state == TrialState.FAIL
    retries = [t for t in study.trials if t.system_attrs.get("failed_trial") == killed_trial]
    assert len(retries) == 1
    assert retries[0].state in (TrialState.COMPLETE, TrialState.PRUNED)
    # The retry reuses every parameter the dead trial had drawn (it draws the rest itself).
    assert dead.params.items() <= retries[0].params.items()


def test_worker_with_other_features_is_refused(postgres_url, small_data):
    name = f"mismatch-{uuid.uuid4().hex[:8]}"
    spec = _spec()
    run_worker(name, postgres_url, spec, 2, data=small_data)
    other = small_data.subset(np.arange(len(small_data.y) - 1))
    with pytest.raises(ValueError, match="tuned on other features"):
        run_worker(name, postgres_url, spec, 3, data=other)


def test_cli_two_workers_then_trains_the_best(postgres_url, data_root, tmp_path, capsys):
    from poxscan.cli import main

    name = f"cli-{uuid.uuid4().hex[:8]}"
    model_dir = tmp_path / "model"
    argv = [
        "tune", "--dataset", "msld_v1", "--data-root", str(data_root),
        "--cache", str(tmp_path / "cache"), "--families", "color", "--classifiers", "logreg,lda",
        "--selectors", "anova", "--n-splits", "3", "--storage", postgres_url,
        "--study-name", name, "--workers", "2", "--budget", "4", "--heartbeat", "2",
        "--out", str(tmp_path / "best.json"), "--train-out", str(model_dir), "--no-progress",
    ]  # fmt: skip
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "budget 4: 4 finished" in out
    study = optuna.load_study(study_name=name, storage=postgres_url)
    assert audit_study(study).complete_for(4)
    assert {t.user_attrs["worker"] for t in study.trials} <= {0, 1}
    assert (model_dir / "manifest.json").is_file() and (model_dir / "model.joblib").is_file()


def _failing(data):
    """The same rows with every feature NaN: every trial raises ValueError in its first fit."""
    import dataclasses

    return dataclasses.replace(data, X=data.X * np.nan)


def test_worker_whose_every_trial_fails_stops(postgres_url, small_data):
    name = f"all-fail-{uuid.uuid4().hex[:8]}"
    with pytest.raises(TooManyFailedTrials, match="3 failed trials in a row") as info:
        run_worker(name, postgres_url, _spec(), 50, data=_failing(small_data), max_failures=3)
    assert "NaN" in str(info.value)  # the last error is quoted
    study = optuna.load_study(study_name=name, storage=postgres_url)
    states = [t.state for t in study.trials]
    assert states == [TrialState.FAIL] * 3  # it stopped at the bound, leaving nothing running


def test_default_mode_study_whose_every_trial_fails_stops(small_data, tmp_path):
    url = f"sqlite:///{tmp_path / 'fail.db'}"
    with pytest.raises(TooManyFailedTrials, match="4 failed trials in a row"):
        run_study(
            "fail", url, _spec(), n_trials=50, data=_failing(small_data), max_failures=4,
            show_progress_bar=False,
        )  # fmt: skip
    study = optuna.load_study(study_name="fail", storage=url)
    assert [t.state for t in study.trials] == [TrialState.FAIL] * 4


def test_killed_default_mode_tune_resumes_without_running_trials(data_root, tmp_path):
    """kill -9 of `poxscan tune` without --budget (SQLite), then resume: the dead trial is
    failed and retried, and no trial stays RUNNING."""
    db = tmp_path / "study.db"
    url = f"sqlite:///{db}"
    argv = [
        sys.executable, "-m", "poxscan", "tune", "--dataset", "msld_v1",
        "--data-root", str(data_root), "--families", "color", "--classifiers", "mlp",
        "--selectors", "anova", "--n-splits", "3", "--storage", url, "--study-name", "killed",
        "--n-trials", "20", "--heartbeat", "1", "--grace", "2", "--out",
        str(tmp_path / "best.json"), "--no-progress",
    ]  # fmt: skip
    victim = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    killed = None
    deadline = time.monotonic() + 240
    try:
        while killed is None and time.monotonic() < deadline and victim.poll() is None:
            time.sleep(0.1)
            try:
                study = optuna.load_study(study_name="killed", storage=url)
                trials = study.get_trials(deepcopy=False)
            except Exception:  # not created yet, or the database is busy
                continue
            running = [t for t in trials if t.state == TrialState.RUNNING and t.params]
            if running:
                victim.send_signal(signal.SIGKILL)
                killed = running[0].number
    finally:
        if victim.poll() is None and killed is None:
            victim.kill()
        victim.wait(timeout=30)
    assert killed is not None, "the tune never started a trial"
    study = optuna.load_study(study_name="killed", storage=url)
    assert study.trials[killed].state == TrialState.RUNNING  # what the bug left behind
    time.sleep(2.5)  # past the grace period: the dead trial's heartbeat is stale
    from poxscan.cli import main

    resume = [a for a in argv[3:] if a != "20"]
    resume[resume.index("--n-trials") + 1 : resume.index("--n-trials") + 1] = ["2"]
    assert main(resume) == 0
    study = optuna.load_study(study_name="killed", storage=url)
    assert not [t.number for t in study.trials if t.state == TrialState.RUNNING]
    assert study.trials[killed].state == TrialState.FAIL
    retries = [t for t in study.trials if t.system_attrs.get("failed_trial") == killed]
    assert len(retries) == 1 and retries[0].state in (TrialState.COMPLETE, TrialState.PRUNED)
