"""The poxscan web app (``poxscan serve``): upload page, result page, model card, chatbot, JSON API.

>>> from poxscan.web import create_app
>>> app = create_app("models/msld")   # doctest: +SKIP

Flask is imported only when this package is, never by ``poxscan --help``.
"""

from poxscan.web.app import create_app

__all__ = ["create_app"]
