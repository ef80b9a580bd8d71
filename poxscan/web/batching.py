"""Cross-request micro-batching: concurrent uploads share one pass through the model.

A WSGI server answers each request in its own thread; the :class:`~poxscan.predict.Predictor`
serialises inference behind one lock, so eight concurrent uploads used to be eight batch-1
passes in a row, each paying the fixed costs of a call (the backbone's graph launch, the feature
pipeline's DataFrame validation, the explanation). :class:`MicroBatcher` puts every request's
decoded image in a queue; one worker thread takes whatever is queued (waiting up to
``max_wait_ms`` for more once the first arrives, at most ``max_batch``) and runs them through
:meth:`Predictor.predict_images` together: one batched forward pass, featurised together, each
request's own result handed back to its thread. An image's result does not depend on the
batch it is in (every step works row by row).

A request whose batch fails is retried alone, so one bad image never fails its neighbours.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["MicroBatcher"]

log = logging.getLogger(__name__)


@dataclass
class _Job:
    image: np.ndarray
    name: str
    top_k: int
    future: Future = field(default_factory=Future)


class MicroBatcher:
    """Gather concurrent predictions into batches for one worker thread.

    Parameters
    ----------
    predictor : Predictor
        The loaded model.
    max_batch : int, default=8
        Most images in one pass.
    max_wait_ms : float, default=5
        How long the worker waits for more requests after the first one of a batch arrived
        (0: take only what is already queued). Bounds the latency a lone request pays.

    Attributes
    ----------
    batches, images : int
        Passes run and images predicted so far (``images / batches`` is the mean batch).
    """

    def __init__(self, predictor: Any, max_batch: int = 8, max_wait_ms: float = 5.0) -> None:
        if int(max_batch) < 1:
            raise ValueError(f"max_batch must be at least 1, got {max_batch}")
        if float(max_wait_ms) < 0:
            raise ValueError(f"max_wait_ms must be at least 0, got {max_wait_ms}")
        self.predictor = predictor
        self.max_batch = int(max_batch)
        self.max_wait_ms = float(max_wait_ms)
        self.batches = 0
        self.images = 0
        self._queue: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="poxscan-batcher", daemon=True)
        self._thread.start()

    def predict(self, image: np.ndarray, name: str, top_k: int = 5) -> Any:
        """The prediction of one decoded image, computed in a batch with concurrent ones.

        Returns what :meth:`Predictor.predict_images` returns for it (a ``Prediction`` or a
        ``Refusal``); raises what predicting the image alone raises.
        """
        job = _Job(np.asarray(image), str(name), int(top_k))
        self._queue.put(job)
        return job.future.result()

    def stats(self) -> dict[str, float]:
        """Passes, images and the mean batch size so far."""
        return {
            "batches": self.batches,
            "images": self.images,
            "mean_batch": self.images / self.batches if self.batches else 0.0,
        }

    # -- worker ----------------------------------------------------------------------------
    def _gather(self) -> list[_Job]:
        jobs = [self._queue.get()]
        deadline = time.monotonic() + self.max_wait_ms / 1000.0
        while len(jobs) < self.max_batch:
            try:
                jobs.append(self._queue.get_nowait())
                continue
            except queue.Empty:
                pass
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                jobs.append(self._queue.get(timeout=left))
            except queue.Empty:
                break
        return jobs

    def _run(self) -> None:
        while True:
            jobs = self._gather()
            # One top_k per pass (the web app uses one for every request).
            for top_k in sorted({j.top_k for j in jobs}):
                self._serve([j for j in jobs if j.top_k == top_k], top_k)

    def _serve(self, jobs: list[_Job], top_k: int) -> None:
        try:
            results = self.predictor.predict_images(
                [j.image for j in jobs], [j.name for j in jobs], top_k=top_k
            )
        except Exception as exc:
            if len(jobs) == 1:
                jobs[0].future.set_exception(exc)
                return
            # One image broke the batch: each alone, so only that request fails.
            for job in jobs:
                self._serve([job], top_k)
            return
        self.batches += 1
        self.images += len(jobs)
        for job, result in zip(jobs, results, strict=True):
            job.future.set_result(result)
