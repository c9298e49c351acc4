"""A real S3-compatible server on 127.0.0.1 for the remote tests and benchmark.

moto's server mode (the S3 API over HTTP, as s3fs's own tests use it), run as a separate
process so it has its own interpreter, wrapped to count what clients ask of it: every
request with its method, path, ``Range`` header and the bytes of its response body.
``GET /__counts__`` returns the log as JSON, ``DELETE /__counts__`` clears it::

    python tests/remote/s3server.py          # prints "PORT <n>" once it listens
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any

COUNTS_PATH = "/__counts__"


class CountingApp:
    """WSGI middleware recording (method, path?query, range, response bytes) per request."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.lock = threading.Lock()
        self.log: list[tuple[str, str, str, int]] = []

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]
                 ) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == COUNTS_PATH:
            if environ["REQUEST_METHOD"] == "DELETE":
                with self.lock:
                    self.log.clear()
            with self.lock:
                body = json.dumps(self.log).encode()
            start_response("200 OK", [("Content-Type", "application/json"),
                                      ("Content-Length", str(len(body)))])
            return [body]
        result = self.app(environ, start_response)
        try:
            chunks = [bytes(c) for c in result]
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        n = sum(len(c) for c in chunks) if environ["REQUEST_METHOD"] != "HEAD" else 0
        with self.lock:
            query = environ.get("QUERY_STRING", "")
            self.log.append((environ["REQUEST_METHOD"], path + ("?" + query if query else ""),
                             environ.get("HTTP_RANGE", ""), n))
        return chunks


def main() -> None:
    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    app = CountingApp(DomainDispatcherApplication(create_backend_app))
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=MotoRequestHandler)
    print(f"PORT {server.server_address[1]}", flush=True)
    # Stops when the parent closes our stdin (or kills us).
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sys.stdin.read()
    server.shutdown()


if __name__ == "__main__":
    main()
