"""Keep TensorFlow's, absl's and CUDA's start-up lines off the user's terminal.

Importing TensorFlow prints lines such as ``Could not find cuda drivers on your machine``,
``WARNING: All log messages before absl::InitializeLog() is called are written to STDERR`` and
``cpu_feature_guard ... rebuild TensorFlow with the appropriate compiler flags``; its first
operation logs ``E0000 ... failed call to cuInit`` on a machine without a GPU. The shared
libraries write them straight to file descriptor 2 while loading, before any logging setting
applies, so environment variables alone cannot stop them. :func:`quiet_tensorflow` therefore

* sets ``TF_CPP_MIN_LOG_LEVEL=3`` (TensorFlow's C++ errors and below) before TensorFlow loads,
  and lowers the Python ``tensorflow`` and ``absl`` loggers to errors;
* installs an import hook that points file descriptor 2 at ``/dev/null`` while the
  ``tensorflow`` package itself is being imported, whoever imports it first (Keras, a lazy
  import in a feature extractor), and restores it at once afterwards, so Python exceptions and
  poxscan's own messages still reach the terminal.

``poxscan --verbose`` skips all of this. Nothing here imports TensorFlow.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.machinery
import importlib.util
import logging
import os
import sys
from collections.abc import Iterator
from types import ModuleType

__all__ = ["quiet_tensorflow", "stderr_silenced"]

_PACKAGE = "tensorflow"


@contextlib.contextmanager
def stderr_silenced() -> Iterator[None]:
    """Point file descriptor 2 at ``/dev/null`` for the block (C/C++ writes included)."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


class _QuietLoader(importlib.abc.Loader):
    """Runs the real loader with fd 2 silenced, then hands the module back to it."""

    def __init__(self, inner: importlib.abc.Loader, finder: _QuietFinder) -> None:
        self.inner = inner
        self.finder = finder

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self.inner.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        try:
            with stderr_silenced():
                self.inner.exec_module(module)
        finally:
            module.__loader__ = self.inner
            if module.__spec__ is not None:
                module.__spec__.loader = self.inner
            with contextlib.suppress(ValueError):  # imported: the hook has done its job
                sys.meta_path.remove(self.finder)


class _QuietFinder(importlib.abc.MetaPathFinder):
    """Asks the other finders for ``tensorflow`` and wraps the loader they return.

    It stays installed until TensorFlow is actually imported: a mere probe
    (``importlib.util.find_spec("tensorflow")``) gets a wrapped spec too and leaves it in place.
    """

    def find_spec(self, fullname, path, target=None):
        if fullname != _PACKAGE:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        if spec.loader is not None:
            spec.loader = _QuietLoader(spec.loader, self)
        return spec


def quiet_tensorflow() -> None:
    """Silence TensorFlow's start-up output for this process (call before it is imported)."""
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    for name in ("tensorflow", "absl"):
        logging.getLogger(name).setLevel(logging.ERROR)
    if _PACKAGE not in sys.modules and not any(isinstance(f, _QuietFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _QuietFinder())
