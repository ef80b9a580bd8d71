"""Optuna studies over poxscan pipelines: one study per experiment, resumable, shareable.

Objective
---------
A trial's score is the mean over a grouped, stratified k-fold split
(:func:`~poxscan.pipelines.splits.grouped_folds`, groups from :func:`poxscan.core.data.load_groups`)
of the validation **ROC-AUC** (macro one-vs-rest for multi-class). ROC-AUC rather than balanced
accuracy because:

- it scores the ranking of images, not one threshold. poxscan calibrates probabilities and
  chooses the screening threshold afterwards, on out-of-fold scores
  (:mod:`poxscan.pipelines.calibration`), so the tuner should not reward a model for a lucky
  0.5 cut-off it will not keep;
- on folds of 40-60 images, balanced accuracy moves in steps of 2-5 % per image and is a much
  noisier signal for TPE than the AUC, which uses every pair of images;
- it is insensitive to the class balance, which differs between datasets (45 % mpox in
  MSLD v1, 24 % in ahsan2022).

``--metric balanced_accuracy`` is available for those who want the decision itself tuned.

Pruning and seeds
-----------------
Each fold's running mean is reported (``trial.report(mean_so_far, fold)``); a
:class:`~optuna.pruners.MedianPruner` stops a trial from its second fold on when it is below
the median of earlier trials at that fold. Folds are fixed per study (same seed), so the
intermediate values of different trials are comparable. The sampler is
:class:`~optuna.samplers.TPESampler` seeded with ``seed + trials already in the study +
100_003 * worker``: a resumed study does not replay its first random trials, and parallel
workers explore different points, yet every run is reproducible from the study's history.

Storage
-------
By default a study lives in SQLite at ``experiments/studies/<study name>.db`` under the
current directory (run from the repository root), created with ``load_if_exists=True``, so an
interrupted study resumes where it stopped and ``optuna-dashboard sqlite:///...`` shows it. Any
SQLAlchemy URL works (``postgresql://user@host/db`` for workers on several machines): the
study stores its ``objective_spec`` (datasets, task, space, folds, metric), and
:func:`run_study` is all a worker needs to call to add trials to it.
"""

from __future__ import annotations

import json
import logging
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd
from sklearn.exceptions import ConvergenceWarning

from poxscan.core.atomic import atomic_write_text
from poxscan.pipelines.builder import build_pipeline
from poxscan.pipelines.metrics import TUNING_METRICS, tuning_score
from poxscan.pipelines.search_space import SearchSpace
from poxscan.pipelines.splits import grouped_folds
from poxscan.pipelines.study_storage import (
    DEFAULT_MAX_FAILURES,
    FailureGuard,
    fail_stale,
    make_storage,
    single_thread,
)

__all__ = [
    "DEFAULT_METRIC",
    "CVObjective",
    "ObjectiveSpec",
    "best_config",
    "default_storage",
    "make_study",
    "open_study",
    "run_study",
    "study_summary",
    "tune_in_memory",
    "write_best",
]

log = logging.getLogger(__name__)

DEFAULT_METRIC = "roc_auc"
STUDIES_DIR = Path("experiments") / "studies"
#: Exceptions that fail one trial but not the study (e.g. a singular LDA on a tiny fold).
TRIAL_ERRORS = (ValueError, np.linalg.LinAlgError, FloatingPointError)


@dataclass
class ObjectiveSpec:
    """Everything that defines a study's objective, JSON-able, stored with the study.

    Parameters
    ----------
    datasets : list of str
        Datasets tuned on.
    space : SearchSpace
        Task, families, classifiers and selectors searched.
    n_splits : int
        Folds of the grouped stratified k-fold.
    seed : int
        Seed of the folds and of the sampler.
    metric : {"roc_auc", "balanced_accuracy"}
        Score maximised.
    family_params : dict
        Extractor parameters per family (``{"deep": {"backbone": "efficientnet-lite2"}}``).
    data_root, cache : str or None
        Where the datasets and the feature cache are on this machine (not part of the
        study's identity: workers on other machines may have them elsewhere).
    """

    datasets: list[str] = field(default_factory=lambda: ["msld_v1"])
    space: SearchSpace = field(default_factory=SearchSpace)
    n_splits: int = 4
    seed: int = 0
    metric: str = DEFAULT_METRIC
    family_params: dict[str, dict[str, Any]] = field(default_factory=dict)
    data_root: str | None = None
    cache: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.space, dict):
            self.space = SearchSpace.from_dict(self.space)
        if self.metric not in TUNING_METRICS:
            raise ValueError(f"unknown metric {self.metric!r}; use one of {TUNING_METRICS}")
        self.datasets = [self.datasets] if isinstance(self.datasets, str) else list(self.datasets)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "datasets": list(self.datasets),
            "space": self.space.to_dict(),
            "n_splits": self.n_splits,
            "seed": self.seed,
            "metric": self.metric,
            "family_params": self.family_params,
            "data_root": self.data_root,
            "cache": self.cache,
        }

    def identity(self) -> dict[str, Any]:
        """The part that must match for trials to be comparable (no machine paths)."""
        out = self.to_dict()
        out.pop("data_root")
        out.pop("cache")
        return out

    @classmethod
    def from_dict(cls, spec: dict[str, Any]) -> ObjectiveSpec:
        """Inverse of :meth:`to_dict`."""
        return cls(**spec)

    def families_arg(self) -> dict[str, dict[str, Any]]:
        """The ``families`` argument of the feature cache for this space."""
        return {f: dict(self.family_params.get(f, {})) for f in self.space.families}


class CVObjective:
    """Grouped stratified k-fold score of the config a trial suggests.

    Parameters
    ----------
    X : DataFrame
        Feature table holding every family of ``space``.
    y : array of int
        Labels.
    groups : array
        Split groups.
    space : SearchSpace
        What trials choose from.
    n_splits : int
        Folds.
    seed : int
        Fold shuffling seed.
    metric : str
        See :data:`~poxscan.pipelines.metrics.TUNING_METRICS`.
    family_params : dict, optional
        Written into each config's ``families`` so the best config rebuilds the same features.
    """

    def __init__(
        self,
        X: pd.DataFrame,
        y: np.ndarray,
        groups: np.ndarray,
        space: SearchSpace,
        n_splits: int = 4,
        seed: int = 0,
        metric: str = DEFAULT_METRIC,
        family_params: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        if metric not in TUNING_METRICS:
            raise ValueError(f"unknown metric {metric!r}; use one of {TUNING_METRICS}")
        self.X = X
        self.y = np.asarray(y)
        self.groups = np.asarray(groups)
        self.space = space
        self.metric = metric
        self.family_params = dict(family_params or {})
        self.folds = grouped_folds(self.y, self.groups, n_splits, seed=seed)

    def config_for(self, trial: optuna.Trial) -> dict[str, Any]:
        """The trial's config, with extractor parameters attached to its families."""
        config = self.space.suggest(trial)
        if any(self.family_params.get(f) for f in config["families"]):
            config["families"] = {f: self.family_params.get(f, {}) for f in config["families"]}
        return config

    def __call__(self, trial: optuna.Trial) -> float:
        config = self.config_for(trial)
        trial.set_user_attr("config", config)
        scores: list[float] = []
        for i, (train, test) in enumerate(self.folds):
            with warnings.catch_warnings():
                # Early-stopped MLPs and capped solvers warn on every fold; the score says enough.
                warnings.simplefilter("ignore", ConvergenceWarning)
                pipe = build_pipeline(config).fit(self.X.iloc[train], self.y[train])
                proba = pipe.predict_proba(self.X.iloc[test])
            scores.append(tuning_score(self.metric, self.y[test], proba))
            trial.set_user_attr("fold_scores", scores)
            trial.report(float(np.mean(scores)), i)
            if trial.should_prune():
                raise optuna.TrialPruned(f"pruned after fold {i + 1}: mean {np.mean(scores):.4f}")
        return float(np.mean(scores))


def default_storage(study_name: str, root: str | PathLike | None = None) -> str:
    """``sqlite:///<root>/experiments/studies/<study_name>.db`` (root: current directory)."""
    folder = Path(root or Path.cwd()) / STUDIES_DIR
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{(folder / f'{study_name}.db').resolve()}"


def make_study(
    study_name: str | None,
    storage: str | optuna.storages.BaseStorage | None,
    seed: int = 0,
    worker: int = 0,
    n_startup_trials: int = 8,
) -> optuna.Study:
    """Create or load (``load_if_exists=True``) a maximising study with a seeded TPE sampler.

    The sampler seed is ``seed + <trials already in the study> + 100_003 * worker`` (see the
    module docstring); the pruner is a :class:`~optuna.pruners.MedianPruner` that waits for
    ``n_startup_trials // 2`` finished trials and prunes from the second fold on.
    """
    pruner = optuna.pruners.MedianPruner(
        n_startup_trials=max(1, n_startup_trials // 2), n_warmup_steps=1
    )
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # no "new study created" line
    try:
        study = optuna.create_study(
            study_name=study_name,
            storage=storage,
            direction="maximize",
            pruner=pruner,
            load_if_exists=True,
        )
    finally:
        optuna.logging.set_verbosity(verbosity)
    offset = len(study.trials)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study.sampler = optuna.samplers.TPESampler(
            seed=seed + offset + 100_003 * worker,
            n_startup_trials=n_startup_trials,
            multivariate=True,
            group=True,
            constant_liar=True,
        )
    return study


def _optimize(
    study: optuna.Study,
    objective: CVObjective,
    n_trials: int | None,
    timeout: float | None,
    show_progress_bar: bool,
    max_failures: int = DEFAULT_MAX_FAILURES,
) -> None:
    guard = FailureGuard(max_failures, who=f"study {study.study_name!r}")

    def recorded(trial: optuna.Trial) -> float:
        try:
            return objective(trial)
        except TRIAL_ERRORS as exc:
            # Kept with the trial: the failure guard quotes it, and audit_study tells a trial
            # that raised (not retried) from one whose process died (retried).
            trial.set_user_attr("fail_reason", f"{type(exc).__name__}: {exc}")
            raise

    # Optuna logs one INFO line per trial; the progress bar (or the summary) says enough.
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    # One BLAS/OpenMP thread: on a shared two-core machine more threads oversubscribe it
    # (an LDA fit over 1280 columns takes 17 s with two threads, 2.5 s with one).
    try:
        fail_stale(study)  # dead trials of an earlier, killed run: failed and requeued now
        with single_thread(environment=False):
            study.optimize(
                recorded,
                n_trials=n_trials,
                timeout=timeout,
                catch=TRIAL_ERRORS,
                callbacks=[guard],
                show_progress_bar=show_progress_bar,
                gc_after_trial=False,
            )
    finally:
        optuna.logging.set_verbosity(verbosity)
    guard.check()


def open_study(
    study_name: str,
    storage: str | optuna.storages.BaseStorage | None,
    objective_spec: ObjectiveSpec | dict[str, Any],
    worker: int = 0,
    data: Any = None,
    progress: bool = True,
) -> tuple[optuna.Study, CVObjective]:
    """Create or load a study, check its stored objective, and build that objective.

    Shared by :func:`run_study` and the distributed workers
    (:func:`poxscan.pipelines.distributed.run_worker`). A study resumed with a different
    objective raises ``ValueError``, since its trials would not be comparable.
    """
    spec = (
        objective_spec
        if isinstance(objective_spec, ObjectiveSpec)
        else ObjectiveSpec.from_dict(objective_spec)
    )
    study = make_study(study_name, storage, seed=spec.seed, worker=worker)
    stored = study.user_attrs.get("objective_spec")
    if stored is None:
        study.set_user_attr("objective_spec", spec.identity())
    elif stored != json.loads(json.dumps(spec.identity())):
        raise ValueError(
            f"study {study_name!r} in {storage} was created with a different objective "
            f"({stored}); use another --study-name"
        )
    if data is None:
        from poxscan.pipelines.experiment_data import load_experiment

        data = load_experiment(
            spec.datasets,
            spec.families_arg(),
            task=spec.space.task,
            data_root=spec.data_root,
            cache=spec.cache,
            progress=progress,
        )
    objective = CVObjective(
        data.X,
        data.y,
        data.groups,
        spec.space,
        n_splits=spec.n_splits,
        seed=spec.seed,
        metric=spec.metric,
        family_params=spec.family_params,
    )
    return study, objective


def run_study(
    study_name: str,
    storage: str | optuna.storages.BaseStorage | None,
    objective_spec: ObjectiveSpec | dict[str, Any],
    n_trials: int | None = 50,
    timeout: float | None = None,
    worker: int = 0,
    show_progress_bar: bool = True,
    data: Any = None,
    heartbeat_interval: int = 10,
    grace_period: int | None = None,
    max_failures: int = DEFAULT_MAX_FAILURES,
) -> optuna.Study:
    """Add up to ``n_trials`` trials (or until ``timeout`` seconds) to a study; resumable.

    This is the one function a tuning worker runs: several processes or machines may call it
    with the same ``study_name`` and ``storage`` (e.g. PostgreSQL) and distinct ``worker``
    numbers, and Optuna shares the trials between them.

    Parameters
    ----------
    study_name : str
        Study to create or resume.
    storage : str, BaseStorage or None
        SQLAlchemy URL (``sqlite:///...``, ``postgresql://...``), or None for in-memory.
    objective_spec : ObjectiveSpec or dict
        Datasets, search space, folds, seed and metric. Stored in the study's user attributes
        on creation; resuming with a different spec raises, since the trials would not be
        comparable.
    n_trials, timeout : int, float or None
        Stop after this many new trials or seconds, whichever comes first.
    worker : int
        Worker number (seeds the sampler differently per worker).
    show_progress_bar : bool
        Optuna's tqdm bar.
    data : ExperimentData, optional
        Features already loaded (tests, benchmarks); otherwise read through the feature cache.
    heartbeat_interval, grace_period : int
        A URL storage gets heartbeats (see :func:`poxscan.pipelines.study_storage.make_storage`):
        a trial left RUNNING by a killed process is failed and retried once ``grace_period``
        seconds (default twice the interval) have passed without its beat.
    max_failures : int
        Stop with :class:`~poxscan.pipelines.study_storage.TooManyFailedTrials` after this
        many failed trials in a row.

    Returns
    -------
    optuna.Study
    """
    if isinstance(storage, str):
        storage = make_storage(storage, heartbeat_interval, grace_period)
    study, objective = open_study(
        study_name, storage, objective_spec, worker=worker, data=data, progress=show_progress_bar
    )
    _optimize(study, objective, n_trials, timeout, show_progress_bar, max_failures)
    return study


def tune_in_memory(
    X: pd.DataFrame,
    y: np.ndarray,
    groups: np.ndarray,
    space: SearchSpace,
    n_trials: int = 30,
    n_splits: int = 3,
    seed: int = 0,
    timeout: float | None = None,
    metric: str = DEFAULT_METRIC,
    show_progress_bar: bool = False,
    family_params: dict[str, dict[str, Any]] | None = None,
) -> tuple[dict[str, Any], optuna.Study]:
    """A throw-away study on the given rows (nested CV's inner loop): best config and study.

    ``family_params`` (e.g. ``{"deep": {"backbone": "efficientnet-lite2"}}``) is written into
    the configs' ``families``, as in :class:`CVObjective`.
    """
    objective = CVObjective(
        X, y, groups, space, n_splits=n_splits, seed=seed, metric=metric,
        family_params=family_params,
    )  # fmt: skip
    study = make_study(None, None, seed=seed, n_startup_trials=min(8, max(2, n_trials // 3)))
    _optimize(study, objective, n_trials, timeout, show_progress_bar)
    return best_config(study), study


def best_config(study: optuna.Study) -> dict[str, Any]:
    """Config of the study's best completed trial."""
    try:
        trial = study.best_trial
    except ValueError as exc:
        raise ValueError(f"study {study.study_name!r} has no completed trial yet") from exc
    return dict(trial.user_attrs["config"])


def study_summary(study: optuna.Study) -> dict[str, Any]:
    """Counts of trials by state, and the best trial's value, config and fold scores."""
    states = [t.state.name.lower() for t in study.trials]
    summary: dict[str, Any] = {
        "study_name": study.study_name,
        "n_trials": len(states),
        "states": {s: states.count(s) for s in sorted(set(states))},
        "objective_spec": study.user_attrs.get("objective_spec"),
    }
    try:
        best = study.best_trial
    except ValueError:
        return summary
    summary.update(
        best_value=best.value,
        best_trial=best.number,
        best_fold_scores=best.user_attrs.get("fold_scores"),
        best_config=best.user_attrs.get("config"),
    )
    return summary


def write_best(study: optuna.Study, path: str | PathLike, extra: dict | None = None) -> Path:
    """Write :func:`study_summary` (with the best config) as JSON, atomically."""
    path = Path(path)
    payload = {**study_summary(study), "written": time.strftime("%Y-%m-%dT%H:%M:%S")}
    payload.update(extra or {})
    atomic_write_text(path, json.dumps(payload, indent=2, default=str) + "\n")
    return path


def trials_frame(study: optuna.Study, columns: Sequence[str] = ("number", "value", "state")):
    """The study's trials as a DataFrame (a thin wrapper kept for the CLI and the benchmark)."""
    return study.trials_dataframe(attrs=tuple(columns))
