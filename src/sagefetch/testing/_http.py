"""A small threaded HTTP/1.1 server for WSGI apps, with keep-alive.

werkzeug's development server closes every connection after one response.
The real service keeps connections open, and a client that must reconnect
for every call is measured wrongly, so the local SageMaker serves through
this instead. Apps behind it get the whole request body up front.
"""

from __future__ import annotations

import contextlib
import http.server
import io
import socket
import socketserver
import sys
import threading
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import unquote

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

__all__ = ["SOCKET_KEY", "WSGIServer", "call_wsgi"]

#: WSGI environ key of the connection's socket (the fault layer drops it).
SOCKET_KEY = "sagefetch.socket"


def call_wsgi(
    app: WSGIApplication, environ: dict[str, Any]
) -> tuple[str, list[tuple[str, str]], bytes]:
    """Run a WSGI app to the end: its status line, headers and whole body."""
    started: list[Any] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        started[:] = [status, list(headers)]
        return lambda _data: None

    result = app(environ, start_response)
    try:
        payload = b"".join(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    status, headers = started
    return status, headers, payload


class WSGIServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    """Serves ``app`` on ``(host, port)``, one thread per connection."""

    daemon_threads = True
    allow_reuse_address = True
    # socketserver listens with a backlog of 5: a client opening 16 connections
    # at once would see SYNs dropped and retried a second later.
    request_queue_size = 128

    def __init__(self, host: str, port: int, app: WSGIApplication) -> None:
        super().__init__((host, port), _Handler)
        self.app = app
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()

    def track(self, connection: socket.socket, *, open_: bool) -> None:
        """Remember open connections, so :meth:`close` can cut them."""
        with self._lock:
            if open_:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    def close(self) -> None:
        """Stop serving and cut every open connection, as a dead server would."""
        self.shutdown()
        self.server_close()
        with self._lock:
            connections, self._connections = self._connections, set()
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: WSGIServer
    _methods: ClassVar[tuple[str, ...]] = ("GET", "POST", "PUT", "DELETE", "HEAD", "PATCH")

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, open_=True)

    def finish(self) -> None:
        self.server.track(self.connection, open_=False)
        with contextlib.suppress(OSError):
            super().finish()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("do_") and name[3:] in self._methods:
            return self._serve
        raise AttributeError(name)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's name
        """Log nothing: tests and benchmarks make thousands of calls."""

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path, _, query = self.path.partition("?")
        environ: dict[str, Any] = {
            "REQUEST_METHOD": self.command,
            "SCRIPT_NAME": "",
            "PATH_INFO": unquote(path),
            "QUERY_STRING": query,
            "SERVER_NAME": self.server.server_address[0],
            "SERVER_PORT": str(self.server.server_address[1]),
            "SERVER_PROTOCOL": self.request_version,
            "REMOTE_ADDR": self.client_address[0],
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
            SOCKET_KEY: self.connection,
        }
        for name, value in self.headers.items():
            key = "HTTP_" + name.upper().replace("-", "_")
            if key not in ("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"):
                environ[key] = f"{environ[key]},{value}" if key in environ else value
        status, headers, payload = call_wsgi(self.server.app, environ)
        code, _, reason = status.partition(" ")
        try:
            self.send_response_only(int(code), reason)
            for name, value in headers:
                if name.lower() not in ("content-length", "connection"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)
            self.wfile.flush()
        except OSError:
            self.close_connection = True
