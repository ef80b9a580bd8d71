"""poxscan: mpox screening from skin-lesion photos with explained classical and deep models.

Public entry points live in their modules: :mod:`poxscan.core.imageio` (the one image loader),
:mod:`poxscan.core.data` (datasets and groups), :mod:`poxscan.features` (feature extractors),
:mod:`poxscan.pipelines` (tuned classical pipelines). The ``poxscan`` command wraps them.
"""

__version__ = "0.1.0"
