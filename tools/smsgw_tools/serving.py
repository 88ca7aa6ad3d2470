"""Run a socketserver in a background thread, as every local server here does."""

from __future__ import annotations

import threading
from socketserver import BaseServer


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
