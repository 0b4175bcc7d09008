"""Serve a WSGI application over real HTTP on 127.0.0.1, in a background thread.

The server socket is bound first (port 0: the system picks a free port), so that the
application can be built knowing its own URL (``GRU_BASE_URL``, the issuer of its
tokens) before it starts answering. Used as a context manager::

    with LiveServer() as server:
        server.start(build_app(..., GRU_BASE_URL=server.url))
        requests.get(server.url + "/healthz", timeout=5)
"""

import threading

from werkzeug.serving import make_server

__all__ = ["LiveServer"]


class LiveServer:
    """werkzeug's threaded development server, one thread per request, on 127.0.0.1."""

    def __init__(self, host="127.0.0.1"):
        self.app = None
        self._server = make_server(host, 0, self._dispatch, threaded=True)
        self.url = f"http://{host}:{self._server.server_port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="gru-live-server", daemon=True
        )

    def _dispatch(self, environ, start_response):
        return self.app(environ, start_response)

    def start(self, app):
        """Serve ``app`` from now on; returns the server."""
        self.app = app
        self._thread.start()
        return self

    def stop(self):
        """Stop accepting requests, close the socket, wait for the serving thread."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=10)
        self._server.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.stop()
