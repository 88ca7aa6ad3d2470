"""The local servers' HTTP server, and running one in a background thread."""

from __future__ import annotations

import sys
import threading
from http.server import ThreadingHTTPServer
from socketserver import BaseServer


class LocalHTTPServer(ThreadingHTTPServer):
    """A threading HTTP server that does not print a traceback when a client drops its
    connection (a pooled keep-alive connection closed by its process, a client timeout):
    for a server that is normal, not an error. Anything else is reported as before.

    Its listen backlog is 128, not socketserver's 5: twenty clients connecting at
    once are queued, not reset."""

    request_queue_size = 128

    def handle_error(self, request, client_address) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


def serve_in_background(server: BaseServer, name: str) -> threading.Thread:
    """Start serving `server` in a daemon thread (polled every 50 ms, so it stops quickly)."""
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=name, daemon=True
    )
    thread.start()
    return thread


def stop_serving(server: BaseServer, thread: threading.Thread) -> None:
    """Stop the loop, close the socket and wait for the thread."""
    server.shutdown()
    server.server_close()
    thread.join()
