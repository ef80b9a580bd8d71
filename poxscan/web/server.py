"""waitress around the app, with JSON errors even for what waitress refuses before the app runs.

waitress reads a whole request before the app sees it, and answers some requests itself: a body
over ``max_request_body_size`` (413), a malformed request line or headers (400), headers too
large (431). Its own answers are plain text; an API client expects the JSON error every other
response carries (``{"ok": false, "status", "error", "message"}``). :func:`make_server` swaps in
a channel whose error task writes that JSON, so every 413, whoever sends it, is JSON.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["make_server", "waitress_body_limit"]


def waitress_body_limit(max_upload_bytes: int) -> int:
    """waitress' own cap: a little above the app's limit, so the app answers a slightly
    oversized upload itself (its clear 413) and waitress cuts off a huge one early."""
    return 2 * int(max_upload_bytes) + 1024 * 1024


def _error_task_class(max_upload_bytes: int) -> type:
    from waitress.task import ErrorTask

    limit_mb = max_upload_bytes / 1024 / 1024

    class JsonErrorTask(ErrorTask):
        """waitress' error response, as the app's JSON error."""

        def execute(self) -> None:
            error = self.request.error
            code, reason = int(error.code), str(error.reason)
            if code == 413:
                message = (
                    f"The upload is larger than the limit of {limit_mb:g} MB. "
                    "Please choose a smaller photo."
                )
            else:
                message = f"{reason}: {str(error.body).strip()}"
            body = json.dumps(
                {"ok": False, "status": code, "error": reason, "message": message}
            ).encode("utf-8")
            self.status = f"{code} {reason}"
            self.response_headers.extend(
                [("Content-Type", "application/json"), ("Cache-Control", "no-store")]
            )
            self.set_close_on_finish()
            self.content_length = len(body)
            self.write(body)

    return JsonErrorTask


def make_server(app: Any, *, max_upload_bytes: int, **kwargs: Any) -> Any:
    """A waitress server for ``app`` whose own error responses are JSON.

    Parameters
    ----------
    app : WSGI application
    max_upload_bytes : int
        The app's upload limit (quoted in the 413 message; waitress' cap is derived from it).
    **kwargs
        Passed to :func:`waitress.create_server` (``host``, ``port``, ``threads``, ...).

    Returns
    -------
    waitress server
        ``.run()`` serves; ``.close()`` stops.
    """
    from waitress import create_server
    from waitress.channel import HTTPChannel
    from waitress.server import BaseWSGIServer

    kwargs.setdefault("max_request_body_size", waitress_body_limit(max_upload_bytes))
    channel = type(
        "JsonErrorChannel",
        (HTTPChannel,),
        {"error_task_class": _error_task_class(max_upload_bytes)},
    )
    server = create_server(app, **kwargs)
    # One listening socket gives a BaseWSGIServer; several (IPv4 and IPv6) a MultiSocketServer.
    listeners = [server] if isinstance(server, BaseWSGIServer) else list(server.map.values())
    for listener in listeners:
        if isinstance(listener, BaseWSGIServer):
            listener.channel_class = channel
    return server
