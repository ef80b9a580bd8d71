"""Keep BLAS to one thread around a prediction's small matrix products.

OpenBLAS (NumPy's, SciPy's) lets its worker threads spin for a while after each call, waiting
for the next one. In a prediction the backbone's TensorFlow pass, which uses every core, comes
right after the gate's, the head's and SHAP's small products (one photo's 1,280 numbers against
a few hundred or thousand rows), so on a 2-core machine the spinning thread takes a core from
the next forward pass. ``experiments/bench_predict.py`` shows the cost: a gated prediction of
the shipped model should take a few milliseconds more than an ungated one (the gate shares its
embedding); before this limit it took about 40 ms more (an uncommitted run of that benchmark).
Products that small gain nothing from a second thread.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

_controller: Any = None
_controller_lock = threading.Lock()


def _get_controller() -> Any:
    """threadpoolctl's view of the loaded BLAS libraries (built once: it scans the process),
    or ``None`` without threadpoolctl."""
    global _controller
    with _controller_lock:
        if _controller is None:
            try:
                from threadpoolctl import ThreadpoolController
            except ImportError:  # a minimal install: leave the threads as they are
                _controller = False
            else:
                _controller = ThreadpoolController()
        return _controller or None


@contextlib.contextmanager
def single_threaded_blas() -> Iterator[None]:
    """A context in which BLAS libraries loaded so far run on one thread; restored after.

    Libraries loaded inside the context (a first TensorFlow or SciPy import) are not limited.
    """
    controller = _get_controller()
    if controller is None:
        yield
        return
    with controller.limit(limits=1, user_api="blas"):
        yield
