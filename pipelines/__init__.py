"""Classical pipelines over feature tables: building, tuning with Optuna, honest evaluation.

- :mod:`~poxscan.pipelines.builder`: ``build_pipeline(config)`` from a JSON-able config.
- :mod:`~poxscan.pipelines.family_selector`, :mod:`~poxscan.pipelines.selectors`,
  :mod:`~poxscan.pipelines.classifiers`: the pipeline's steps.
- :mod:`~poxscan.pipelines.targets`: integer labels for the binary and multi-class tasks.
- :mod:`~poxscan.pipelines.search_space`, :mod:`~poxscan.pipelines.splits`,
  :mod:`~poxscan.pipelines.tuning`: the Optuna study (``poxscan tune``).
- :mod:`~poxscan.pipelines.experiment_data`: cached features, labels and groups of datasets.
- :mod:`~poxscan.pipelines.evaluation`, :mod:`~poxscan.pipelines.metrics`,
  :mod:`~poxscan.pipelines.intervals`, :mod:`~poxscan.pipelines.plots`,
  :mod:`~poxscan.pipelines.report`: nested cross-validation, ablations, cross-dataset tests,
  confidence intervals, figures and reports (``poxscan evaluate``).
"""

from typing import Any

__all__ = ["build_pipeline", "config_families", "family_names", "normalize_config"]


def __getattr__(name: str) -> Any:
    # Imported on first use: the builder loads every classifier and selector of scikit-learn,
    # which loading a model to predict with does not need.
    if name in __all__:
        from poxscan.pipelines import builder

        return getattr(builder, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
