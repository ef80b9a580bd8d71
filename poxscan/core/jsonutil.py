"""Turning results into plain JSON: numpy scalars and arrays, tuples, sets, non-finite floats."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["to_jsonable"]


def to_jsonable(value: Any) -> Any:
    """A copy of ``value`` that :func:`json.dumps` writes without a ``default``.

    Dicts get string keys; lists, tuples, sets and arrays become lists; numpy scalars become
    Python numbers; NaN and infinities become ``None`` (JSON has neither); anything else that
    JSON cannot hold becomes its ``str``.

    Examples
    --------
    >>> to_jsonable({"a": np.float32(0.5), 1: (np.int64(2), float("nan"))})
    {'a': 0.5, '1': [2, None]}
    """
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else value
        return [to_jsonable(v) for v in items]
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, np.generic):
        return to_jsonable(value.item())
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, str | int | bool):
        return value
    return str(value)
