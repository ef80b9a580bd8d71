"""What every tuning mode shares: heartbeat storage, stale-trial retry, a failure bound, one thread.

- :func:`make_storage` gives an RDB storage whose running trials beat; a trial whose process died
  (``kill -9``, a lost machine) stops beating and, ``grace_period`` seconds later, the next
  trial of any worker marks it failed and enqueues a copy with the same parameters
  (:class:`optuna.storages.RetryHeartbeatStaleTrialCallback`). ``poxscan tune`` uses it in the
  default mode (one process, SQLite) as in the distributed one, so a resumed study never keeps
  a dead trial RUNNING.
- :class:`FailureGuard` stops a worker with a clear error after ``limit`` trials in a row failed
  (a config that always raises, data the pipeline cannot take): without it a worker would loop
  forever asking for trials that all fail.
- :func:`single_thread` pins BLAS/OpenMP (and, for processes started inside it, TensorFlow and
  XGBoost) to one thread: parallel workers scale only when each uses one core.
"""

from __future__ import annotations

import contextlib
import os
import time
import warnings
from collections.abc import Iterator

import optuna
from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback, fail_stale_trials
from optuna.trial import FrozenTrial, TrialState
from threadpoolctl import threadpool_limits

__all__ = [
    "DEFAULT_MAX_FAILURES",
    "FailureGuard",
    "TooManyFailedTrials",
    "fail_stale",
    "make_storage",
    "single_thread",
]

#: Consecutive failed trials after which a worker gives up.
DEFAULT_MAX_FAILURES = 10

#: Environment that caps every native thread pool a trial may start, in this process's children.
SINGLE_THREAD_ENV = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "BLIS_NUM_THREADS": "1",
    "VECLIB_MAXIMUM_THREADS": "1",
    "NUMEXPR_NUM_THREADS": "1",
    "TF_NUM_INTRAOP_THREADS": "1",
    "TF_NUM_INTEROP_THREADS": "1",
}


class TooManyFailedTrials(RuntimeError):
    """A worker saw ``limit`` failed trials in a row and stopped."""


def make_storage(
    url: str, heartbeat_interval: int = 10, grace_period: int | None = None, max_retry: int = 3
) -> RDBStorage:
    """An RDB storage whose running trials beat, and whose dead trials are retried.

    Parameters
    ----------
    url : str
        SQLAlchemy URL: ``postgresql://user@host:port/db`` or ``sqlite:///file.db``.
    heartbeat_interval : int
        Seconds between a running trial's heartbeats.
    grace_period : int, optional
        Seconds without a heartbeat after which a trial counts as dead (default: twice the
        interval).
    max_retry : int
        How often one trial's parameters are retried after its workers died.
    """
    import sqlalchemy.exc

    for attempt in range(5):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return RDBStorage(
                    url,
                    heartbeat_interval=heartbeat_interval,
                    grace_period=grace_period or 2 * heartbeat_interval,
                    heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry),
                    engine_kwargs={"pool_pre_ping": True},
                )
        except sqlalchemy.exc.DBAPIError:
            # Workers starting together on an empty database race to create Optuna's tables;
            # the loser sees them a moment later.
            if attempt == 4:
                raise
            time.sleep(0.5 * (attempt + 1))
    raise AssertionError("unreachable")


def fail_stale(study: optuna.Study) -> None:
    """Fail (and enqueue retries of) trials whose heartbeat stopped; a no-op without beats."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        fail_stale_trials(study)


class FailureGuard:
    """Count failed trials in a row; raise :class:`TooManyFailedTrials` at ``limit``.

    Use :meth:`record` from a hand-written ask/tell loop, or pass the guard as an Optuna
    ``callbacks`` entry (it then stops the study, and :meth:`check` raises afterwards).

    Parameters
    ----------
    limit : int
        Consecutive failures tolerated; a complete or pruned trial resets the count.
    who : str
        Named in the error (``"worker 1"``).
    """

    def __init__(self, limit: int = DEFAULT_MAX_FAILURES, who: str = "tuning") -> None:
        if int(limit) < 1:
            raise ValueError(f"the failure limit must be at least 1, got {limit}")
        self.limit = int(limit)
        self.who = who
        self.in_a_row = 0
        self.last_reason = ""
        self.tripped = False

    def _error(self) -> TooManyFailedTrials:
        return TooManyFailedTrials(
            f"{self.who}: stopped after {self.in_a_row} failed trials in a row "
            f"(limit {self.limit}); last error: {self.last_reason or 'see the log'}. Every "
            "trial fails: check the search space and the data"
        )

    def record(self, state: TrialState, reason: str = "") -> None:
        """Count a finished trial; raise when the limit of failures in a row is reached."""
        if state != TrialState.FAIL:
            self.in_a_row = 0
            return
        self.in_a_row += 1
        self.last_reason = reason or self.last_reason
        if self.in_a_row >= self.limit:
            self.tripped = True
            raise self._error()

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:
        reason = str(trial.user_attrs.get("fail_reason", ""))
        try:
            self.record(trial.state, reason)
        except TooManyFailedTrials:
            study.stop()

    def check(self) -> None:
        """Raise if the guard stopped a study."""
        if self.tripped:
            raise self._error()


@contextlib.contextmanager
def single_thread(environment: bool = True) -> Iterator[None]:
    """One BLAS/OpenMP thread here, and one thread per pool in processes started inside.

    ``environment`` also sets :data:`SINGLE_THREAD_ENV` for the duration (restored after), so
    worker processes spawned inside start with one thread for OpenBLAS, MKL, OpenMP (XGBoost)
    and TensorFlow, before any of them is imported.
    """
    saved = {k: os.environ.get(k) for k in SINGLE_THREAD_ENV}
    if environment:
        os.environ.update(SINGLE_THREAD_ENV)
    try:
        with threadpool_limits(limits=1):
            yield
    finally:
        if environment:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
