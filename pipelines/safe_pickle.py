"""Unpickle saved models without running foreign code: an allow-list of the types they use.

A pickle is a program: its ``GLOBAL`` opcodes name any importable callable and ``REDUCE`` calls
it, so ``joblib.load`` on a hostile file runs whatever the attacker wrote, whatever the manifest
says. :func:`safe_load` unpickles the joblib format (compressed or not, numpy arrays stored by
joblib's ``NumpyArrayWrapper``) with an unpickler whose ``find_class`` admits only what
poxscan's own models are made of, in the spirit of skops' trusted types:

- **classes** defined in poxscan (module prefix ``poxscan.``) or in one of the explicitly listed
  numpy, scipy, pandas, scikit-learn and XGBoost modules (:data:`CLASS_MODULES`); the class
  must really be defined in the module the pickle names, so nothing re-exported sneaks in;
- Cython's ``__pyx_unpickle_*`` reconstructors of those modules (scikit-learn's loss and tree
  objects use them);
- a short list of **functions and builtins** (:data:`ALLOWED_GLOBALS`): numpy's array and
  scalar reconstructors, ``copyreg._reconstructor``, the univariate scores of scikit-learn's
  selectors, the one poxscan function an estimator holds as a parameter, ``functools.partial``,
  a few plain containers. Functions are never admitted by module: a pickle may call what it
  names, and a function such as ``poxscan.core.atomic.atomic_write_text`` would write files.

Anything else is refused with :class:`UnsafeModelError` at the moment the stream names it, before
its module is imported or anything of it is called; ``REDUCE`` may only call admitted classes
and functions. Modules are imported only when admitted, so a refused name never runs import-time
code either. The old joblib (< 0.10) format, which pickles without these hooks, is refused.
"""

from __future__ import annotations

import importlib
import io
import pickle
from typing import Any

from poxscan.pipelines.model_dir import ModelIntegrityError

__all__ = [
    "ALLOWED_GLOBALS",
    "CLASS_MODULES",
    "UnsafeModelError",
    "is_admitted",
    "safe_load",
]

#: Modules whose classes a saved model may hold (exact names: a submodule is not implied).
CLASS_MODULES: frozenset[str] = frozenset(
    {
        # numpy
        "numpy",
        "numpy.dtypes",
        "numpy.random._generator",
        "numpy.random._mt19937",
        "numpy.random._pcg64",
        "numpy.random._philox",
        "numpy.random._sfc64",
        "numpy.random.bit_generator",
        "numpy.random.mtrand",
        "numpy.ma.core",
        # joblib's array wrappers (the joblib file format itself)
        "joblib.numpy_pickle",
        # scipy / pandas containers a table or a sparse matrix may leave behind
        "scipy.sparse._csr",
        "scipy.sparse._csc",
        "scipy.sparse._coo",
        "pandas.core.frame",
        "pandas.core.series",
        "pandas.core.indexes.base",
        "pandas.core.indexes.range",
        "pandas.core.internals.managers",
        "pandas.core.internals.blocks",
        "pandas._libs.internals",
        # scikit-learn: the estimators poxscan builds, and their parts
        "sklearn.pipeline",
        "sklearn.base",
        "sklearn.calibration",
        "sklearn.isotonic",
        "sklearn.discriminant_analysis",
        "sklearn.dummy",
        "sklearn.multiclass",
        "sklearn.decomposition._pca",
        "sklearn.decomposition._truncated_svd",
        "sklearn.preprocessing._data",
        "sklearn.preprocessing._label",
        "sklearn.preprocessing._encoders",
        "sklearn.impute._base",
        "sklearn.feature_selection._univariate_selection",
        "sklearn.feature_selection._variance_threshold",
        "sklearn.feature_selection._from_model",
        "sklearn.feature_selection._rfe",
        "sklearn.linear_model._logistic",
        "sklearn.linear_model._ridge",
        "sklearn.linear_model._stochastic_gradient",
        "sklearn.svm._classes",
        "sklearn.neural_network._multilayer_perceptron",
        "sklearn.neural_network._stochastic_optimizers",
        "sklearn.tree._classes",
        "sklearn.tree._tree",
        "sklearn.ensemble._weight_boosting",
        "sklearn.ensemble._forest",
        "sklearn.ensemble._iforest",
        "sklearn.ensemble._gb",
        "sklearn.ensemble._hist_gradient_boosting.gradient_boosting",
        "sklearn.ensemble._hist_gradient_boosting.binning",
        "sklearn.ensemble._hist_gradient_boosting.predictor",
        "sklearn.neighbors._classification",
        "sklearn.neighbors._unsupervised",
        "sklearn.neighbors._lof",
        "sklearn.neighbors._kd_tree",
        "sklearn.neighbors._ball_tree",
        "sklearn.covariance._empirical_covariance",
        "sklearn.covariance._robust_covariance",
        "sklearn.covariance._elliptic_envelope",
        "sklearn.covariance._shrunk_covariance",
        "sklearn.mixture._gaussian_mixture",
        "sklearn._loss.loss",
        "sklearn._loss._loss",
        "sklearn._loss.link",
        "sklearn.utils._bunch",
        "sklearn.metrics._dist_metrics",
        # XGBoost
        "xgboost.sklearn",
        "xgboost.core",
    }
)

#: Module prefix of poxscan's own classes (extractors, selectors, calibrators, gates, models).
POXSCAN_PREFIX = "poxscan."

#: Functions and builtins a model's pickle may name, as ``"module.name"``.
ALLOWED_GLOBALS: frozenset[str] = frozenset(
    {
        # containers and values
        "builtins.object",
        "builtins.slice",
        "builtins.set",
        "builtins.frozenset",
        "builtins.complex",
        "builtins.bytearray",
        "builtins.range",
        "builtins.int",
        "builtins.float",
        "builtins.bool",
        "builtins.str",
        "builtins.bytes",
        "builtins.tuple",
        "builtins.list",
        "builtins.dict",
        "collections.OrderedDict",
        "collections.defaultdict",
        "functools.partial",
        "copyreg._reconstructor",
        # numpy's reconstructors
        "numpy.core.multiarray._reconstruct",
        "numpy._core.multiarray._reconstruct",
        "numpy.core.multiarray.scalar",
        "numpy._core.multiarray.scalar",
        "numpy.core.numeric._frombuffer",
        "numpy._core.numeric._frombuffer",
        "numpy.random._pickle.__randomstate_ctor",
        "numpy.random._pickle.__generator_ctor",
        "numpy.random._pickle.__bit_generator_ctor",
        # pandas' reconstructors
        "pandas._libs.internals._unpickle_block",
        "pandas.core.internals.blocks.new_block",
        "pandas.core.indexes.base._new_Index",
        # score functions of scikit-learn's univariate selectors
        "sklearn.feature_selection._univariate_selection.f_classif",
        "sklearn.feature_selection._univariate_selection.chi2",
        "sklearn.feature_selection._univariate_selection.f_regression",
        "sklearn.feature_selection._mutual_info.mutual_info_classif",
        # poxscan functions its estimators hold as parameters (pure computations, no I/O)
        "poxscan.pipelines.selectors._ovr_importance",
    }
)

#: Callables REDUCE may call besides admitted classes (builtins here are classes too).
_FUNCTIONS = {g for g in ALLOWED_GLOBALS if not g.startswith("builtins.")}


class UnsafeModelError(pickle.UnpicklingError, ModelIntegrityError):
    """A model file names a type or function that poxscan models are not made of."""


def is_admitted(module: str, name: str) -> bool:
    """Whether ``module.name`` may appear in a model pickle (imports nothing)."""
    key = f"{module}.{name}"
    if key in ALLOWED_GLOBALS:
        return True
    if module == "poxscan" or module.startswith(POXSCAN_PREFIX) or module in CLASS_MODULES:
        # Classes only (checked once imported) or Cython's reconstructors; no dunder path
        # (``Pipeline.__init__.__globals__``) may walk out of the class.
        parts = name.split(".")
        last = len(parts) - 1
        return all(
            p and (not p.startswith("__") or (i == last and p.startswith("__pyx_unpickle_")))
            for i, p in enumerate(parts)
        )
    return False


def _resolve(module: str, name: str, where: str) -> Any:
    key = f"{module}.{name}"
    if not is_admitted(module, name):
        raise UnsafeModelError(
            f"{where}: refusing to load: the pickle names {key}, which is not among the types "
            "poxscan models are made of (numpy, scikit-learn, XGBoost, poxscan); the file may "
            "be malicious. Nothing it names was imported or run."
        )
    try:
        obj: Any = importlib.import_module(module)
        for part in name.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise pickle.UnpicklingError(
            f"{where}: {key} is not in the installed packages ({exc}); the model was saved "
            "with other versions"
        ) from None
    if key in ALLOWED_GLOBALS:
        return obj
    if name.startswith("__pyx_unpickle_") and callable(obj):
        return obj
    if not isinstance(obj, type) or obj.__module__ != module:
        # A function, or a name re-exported from elsewhere: only classes defined here.
        raise UnsafeModelError(
            f"{where}: refusing to load: {key} is not a class defined in {module}"
        )
    return obj


def _unpickler_class() -> type:
    from joblib.numpy_pickle import NumpyUnpickler

    class RestrictedUnpickler(NumpyUnpickler):
        """joblib's unpickler (arrays stored beside the pickle) with an allow-list."""

        dispatch = NumpyUnpickler.dispatch.copy()

        def find_class(self, module: str, name: str) -> Any:
            # joblib routes the nested pickles of object arrays through this method too.
            return _resolve(module, name, self.filename or "<model>")

        def load_reduce(self) -> None:
            func = self.stack[-2]
            admitted = isinstance(func, type) or (
                f"{getattr(func, '__module__', '')}.{getattr(func, '__qualname__', '')}"
                in _FUNCTIONS
                or getattr(func, "__name__", "").startswith("__pyx_unpickle_")
            )
            if not admitted:
                raise UnsafeModelError(
                    f"{self.filename or '<model>'}: refusing to load: the pickle calls "
                    f"{func!r}, which is not an admitted class or reconstructor"
                )
            super().load_reduce()

        dispatch[pickle.REDUCE[0]] = load_reduce

    return RestrictedUnpickler


def safe_load(data: bytes, name: str = "<model>") -> Any:
    """Unpickle joblib bytes, admitting only the types of poxscan models.

    Parameters
    ----------
    data : bytes
        The content of a file written by ``joblib.dump`` (any compression).
    name : str
        The file's name, for error messages.

    Returns
    -------
    object
        The unpickled object.

    Raises
    ------
    UnsafeModelError
        The stream names a module, class or function outside the allow-list (see the module
        docstring), or uses joblib's pre-0.10 format.
    pickle.UnpicklingError, ValueError, EOFError
        The bytes are not a joblib pickle.
    """
    from joblib.numpy_pickle import _validate_fileobject_and_memmap

    handle = io.BytesIO(data)
    with _validate_fileobject_and_memmap(handle, name) as (fobj, _):
        if isinstance(fobj, str):
            raise UnsafeModelError(
                f"{name}: refusing joblib's pre-0.10 format, which cannot be loaded safely"
            )
        unpickler = _unpickler_class()(name, fobj, ensure_native_byte_order=True)
        return unpickler.load()
