"""Tuning across processes and machines: many workers, one Optuna study in a shared database.

A study in PostgreSQL (any SQLAlchemy URL; SQLite for one machine) has a **trial budget**:
the number of finished (complete or pruned) trials it should end with. Every worker, started
on any machine with the same ``--storage``, ``--study-name`` and objective, runs
:func:`run_worker`, which loops until the study holds exactly that many finished trials:

- **No trial counted twice, none beyond the budget.** Whether a new trial may start is decided,
  and the trial created, under a lock every worker shares (a PostgreSQL advisory lock, or a file
  lock beside a SQLite database): the check "finished + running < budget" and the creation of
  the trial are one atomic step.
- **No trial lost.** Each running trial sends a heartbeat (``RDBStorage(heartbeat_interval)``).
  A worker that dies stops beating; after ``grace_period`` seconds any live worker marks its
  trial failed (``optuna.storages.fail_stale_trials``), and
  :class:`optuna.storages.RetryHeartbeatStaleTrialCallback` enqueues a copy of it with the same
  parameters, which the next ``study.ask()`` picks up. Workers wait for running trials before
  they leave, so the last survivor finishes whatever the dead left behind.
- **Same data everywhere.** The feature cache is content-addressed and deterministic, so each
  machine may share it (``$POXSCAN_CACHE`` on a network folder) or rebuild it. The first worker
  stores a SHA-256 of the feature table, labels and groups in the study; a worker whose data
  differs refuses to add trials, since its scores would not be comparable.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import multiprocessing as mp
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from optuna.storages import RDBStorage
from optuna.trial import TrialState

from poxscan.pipelines.study_storage import (
    DEFAULT_MAX_FAILURES,
    FailureGuard,
    TooManyFailedTrials,
    fail_stale,
    make_storage,
    single_thread,
)
from poxscan.pipelines.tuning import TRIAL_ERRORS, ObjectiveSpec, make_study, open_study

__all__ = [
    "StudyAudit",
    "TooManyFailedTrials",
    "audit_study",
    "data_fingerprint",
    "make_storage",
    "run_worker",
    "tune_parallel",
]

log = logging.getLogger(__name__)

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)


def data_fingerprint(X: Any, y: np.ndarray, groups: np.ndarray) -> str:
    """SHA-256 of a feature table's names, row ids and values, with labels and groups."""
    digest = hashlib.sha256()
    digest.update("\n".join(map(str, X.columns)).encode())
    digest.update("\n".join(map(str, X.index)).encode())
    # float32 is what the cache stores; rounding the cast away from platform noise is not
    # needed because extractors are deterministic on one library version.
    digest.update(np.ascontiguousarray(X.to_numpy(dtype=np.float32)).tobytes())
    digest.update(np.asarray(y, dtype=np.int64).tobytes())
    digest.update("\n".join(map(str, groups)).encode())
    return digest.hexdigest()


class _BudgetLock:
    """One lock for all workers of a study, held while deciding on and creating a trial.

    PostgreSQL: an advisory lock on a connection from one engine kept for the worker's life
    (a new engine and connection per trial cost a PostgreSQL fork each time, under the lock).
    SQLite: a file lock beside the database.
    """

    def __init__(self, url: str, study_name: str) -> None:
        self.url = url
        self.key = zlib.crc32(f"poxscan-tune:{study_name}".encode())  # fits a bigint key
        self.path = None
        self.engine = None
        if url.startswith("sqlite"):
            self.path = Path(url.split("///", 1)[1] + f".{study_name}.lock")
        else:
            import sqlalchemy as sa

            self.engine = sa.create_engine(url, pool_size=1, pool_pre_ping=True)

    @contextlib.contextmanager
    def hold(self) -> Iterator[None]:
        if self.path is not None:
            with open(self.path, "a+") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX)
                try:
                    yield
                finally:
                    fcntl.flock(handle, fcntl.LOCK_UN)
            return
        import sqlalchemy as sa

        assert self.engine is not None
        with self.engine.connect() as conn:
            conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": self.key})
            try:
                yield
            finally:
                conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
                conn.commit()

    def close(self) -> None:
        if self.engine is not None:
            self.engine.dispose()


@contextlib.contextmanager
def _heartbeat(storage: RDBStorage, trial_id: int) -> Iterator[None]:
    """Record the trial's heartbeat every interval until the block ends."""
    stop = threading.Event()
    interval = storage.get_heartbeat_interval() or 10

    def beat() -> None:
        while not stop.wait(interval):
            with contextlib.suppress(Exception):  # a missed beat is retried next interval
                storage.record_heartbeat(trial_id)

    storage.record_heartbeat(trial_id)
    thread = threading.Thread(target=beat, name=f"heartbeat-{trial_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def _counts(study: optuna.Study) -> tuple[int, int, int]:
    """Finished, running and waiting trials, by three COUNT queries (not by loading them all).

    The queries are three snapshots, and other workers tell their trials (RUNNING to
    COMPLETE or PRUNED) without the lock. Counting RUNNING first means a trial that finishes
    in between is counted twice, never zero times: a worker may wait once too often, but it
    never starts a trial beyond the budget. (Finished first lost such a trial, and two
    workers overshot the budget by one under load.) Stale trials are failed and re-queued
    only under the lock, so WAITING cannot change between the queries.
    """
    storage, sid = study._storage, study._study_id
    running = storage.get_n_trials(sid, state=TrialState.RUNNING)
    waiting = storage.get_n_trials(sid, state=TrialState.WAITING)
    finished = storage.get_n_trials(sid, state=FINISHED)
    return finished, running, waiting


def _reserve(study: optuna.Study) -> int:
    """Take a WAITING retry, else create a new trial: the part of ``ask`` that needs the lock."""
    trial_id = study._pop_waiting_trial_id()
    if trial_id is None:
        trial_id = study._storage.create_new_trial(study._study_id)
    return trial_id


def _open_trial(study: optuna.Study, trial_id: int) -> optuna.Trial:
    """The rest of ``study.ask``, outside the lock: TPE's relative sampling runs here, so
    workers sample in parallel instead of one after the other under the lock."""
    study._thread_local.cached_all_trials = None
    return optuna.Trial(study, trial_id)


def _check_data(study: optuna.Study, fingerprint: str) -> None:
    stored = study.user_attrs.get("data_sha256")
    if stored is None:
        study.set_user_attr("data_sha256", fingerprint)
    elif stored != fingerprint:
        raise ValueError(
            f"study {study.study_name!r} was tuned on other features (sha256 {stored[:12]}, "
            f"this worker has {fingerprint[:12]}): rebuild the feature cache with the same "
            "datasets and extractor versions, or share it"
        )


def run_worker(
    study_name: str,
    storage_url: str,
    objective_spec: ObjectiveSpec | dict[str, Any],
    budget: int,
    worker: int = 0,
    data: Any = None,
    heartbeat_interval: int = 10,
    grace_period: int | None = None,
    poll: float = 1.0,
    max_failures: int = DEFAULT_MAX_FAILURES,
) -> int:
    """Add trials to a shared study until it holds ``budget`` finished trials.

    Parameters
    ----------
    study_name, storage_url : str
        The study and its database, the same on every worker.
    objective_spec : ObjectiveSpec or dict
        Datasets, search space, folds, seed, metric; must equal the study's stored spec.
    budget : int
        Finished (complete or pruned) trials the study should end with, all workers together.
    worker : int
        This worker's number (seeds its sampler differently from the others).
    data : ExperimentData, optional
        Features already loaded; otherwise read through the feature cache.
    heartbeat_interval, grace_period : int
        See :func:`make_storage`.
    poll : float
        Seconds to wait while other workers' trials are still running.
    max_failures : int
        Stop with :class:`TooManyFailedTrials` after this many failed trials in a row.

    Returns
    -------
    int
        Trials this worker finished.

    Raises
    ------
    TooManyFailedTrials
        ``max_failures`` trials in a row raised (e.g. a search space no data can fit).
    """
    storage = make_storage(storage_url, heartbeat_interval, grace_period)
    study, objective = open_study(
        study_name, storage, objective_spec, worker=worker, data=data, progress=False
    )
    _check_data(study, data_fingerprint(objective.X, objective.y, objective.groups))
    guard = FailureGuard(max_failures, who=f"tuning worker {worker}")
    lock = _BudgetLock(storage_url, study_name)
    done = 0
    try:
        # One BLAS/OpenMP thread: two workers on two cores, not four threads fighting.
        with single_thread(environment=False):
            while True:
                with lock.hold():
                    # Dead workers' trials fail here and come back as WAITING copies: under
                    # the lock, so no worker counts between the failure and the copy.
                    fail_stale(study)
                    finished, running, waiting = _counts(study)
                    trial_id = None
                    if waiting or finished + running < budget:
                        trial_id = _reserve(study)
                if trial_id is None:
                    if running == 0:
                        return done
                    time.sleep(poll)  # a running trial may still die and need this worker
                    continue
                if _run_trial(study, storage, trial_id, objective, worker, guard):
                    done += 1
    finally:
        lock.close()


def _run_trial(
    study: optuna.Study,
    storage: RDBStorage,
    trial_id: int,
    objective: Any,
    worker: int,
    guard: FailureGuard,
) -> bool:
    """Run and tell one reserved trial; whether it finished (complete or pruned)."""
    with _heartbeat(storage, trial_id):
        trial = _open_trial(study, trial_id)
        trial.set_user_attr("worker", worker)
        try:
            value = objective(trial)
        except optuna.TrialPruned:
            study.tell(trial, state=TrialState.PRUNED)
        except TRIAL_ERRORS as exc:
            reason = f"{type(exc).__name__}: {exc}"
            log.warning("trial %d failed: %s", trial.number, reason)
            trial.set_user_attr("fail_reason", reason)
            study.tell(trial, state=TrialState.FAIL)
            guard.record(TrialState.FAIL, reason)  # raises at the limit
            return False
        else:
            study.tell(trial, value)
    guard.record(TrialState.COMPLETE)
    log.info("worker %d finished trial %d", worker, trial.number)
    return True


def _worker_main(kwargs: dict[str, Any]) -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    run_worker(**kwargs)


def tune_parallel(
    study_name: str,
    storage_url: str,
    objective_spec: ObjectiveSpec | dict[str, Any],
    budget: int,
    workers: int = 2,
    first_worker: int = 0,
    heartbeat_interval: int = 10,
    grace_period: int | None = None,
    max_failures: int = DEFAULT_MAX_FAILURES,
) -> optuna.Study:
    """Run ``workers`` local worker processes on one study until its budget is spent.

    Each process loads the features itself (through the shared cache), as a worker on another
    machine would, and starts with one thread per native pool (BLAS, OpenMP, TensorFlow): with
    more, one worker alone already fills the cores and a second adds nothing. Returns the study
    once every worker has stopped.
    """
    spec = (
        objective_spec
        if isinstance(objective_spec, ObjectiveSpec)
        else ObjectiveSpec.from_dict(objective_spec)
    )
    # Create the study (and its spec) once, before workers race to do it.
    storage = make_storage(storage_url, heartbeat_interval, grace_period)
    study = make_study(study_name, storage, seed=spec.seed)
    if "objective_spec" not in study.user_attrs:
        study.set_user_attr("objective_spec", spec.identity())
    ctx = mp.get_context("spawn")  # no forked TensorFlow or database connections
    procs = [
        ctx.Process(
            target=_worker_main,
            args=(
                {
                    "study_name": study_name,
                    "storage_url": storage_url,
                    "objective_spec": spec.to_dict(),
                    "budget": budget,
                    "worker": first_worker + i,
                    "heartbeat_interval": heartbeat_interval,
                    "grace_period": grace_period,
                    "max_failures": max_failures,
                },
            ),
            name=f"poxscan-tune-worker-{first_worker + i}",
        )
        for i in range(workers)
    ]
    with single_thread():  # the children inherit the environment at start
        for p in procs:
            p.start()
    for p in procs:
        p.join()
    failed = [p.name for p in procs if p.exitcode != 0]
    if failed:
        raise RuntimeError(f"tuning workers failed: {failed}")
    return optuna.load_study(study_name=study_name, storage=storage)


@dataclass
class StudyAudit:
    """Whether a shared study ended complete: counts, and trials lost or counted twice."""

    finished: int
    complete: int
    pruned: int
    failed: int
    running: int
    waiting: int
    retried: int
    unretried_failures: list[int]
    duplicate_params: int

    def complete_for(self, budget: int) -> bool:
        """Exactly ``budget`` finished trials, nothing running or waiting, no failure lost."""
        return (
            self.finished == budget
            and self.running == 0
            and self.waiting == 0
            and not self.unretried_failures
        )


def audit_study(study: optuna.Study) -> StudyAudit:
    """Count a study's trials by state and check that every dead trial was retried once."""
    trials = study.get_trials(deepcopy=False)
    retried_from = [
        t.system_attrs["failed_trial"] for t in trials if "failed_trial" in t.system_attrs
    ]
    failed = [t.number for t in trials if t.state == TrialState.FAIL]
    # A trial that failed by raising (bad config) is not retried; one whose worker died is.
    dead = [
        t.number for t in trials if t.state == TrialState.FAIL and "fail_reason" not in t.user_attrs
    ]
    finished = [t for t in trials if t.state in FINISHED]
    # The same trial told twice would show as two finished trials sharing one number; Optuna
    # forbids that, so count finished trials whose parameters and retry origin coincide.
    keys = [(tuple(sorted(t.params.items())), t.system_attrs.get("failed_trial")) for t in finished]
    return StudyAudit(
        finished=len(finished),
        complete=sum(t.state == TrialState.COMPLETE for t in trials),
        pruned=sum(t.state == TrialState.PRUNED for t in trials),
        failed=len(failed),
        running=sum(t.state == TrialState.RUNNING for t in trials),
        waiting=sum(t.state == TrialState.WAITING for t in trials),
        retried=len(retried_from),
        unretried_failures=sorted(set(dead) - set(retried_from)),
        duplicate_params=len(keys) - len(set(keys)),
    )
