"""Loopback ports for the local stack's servers."""

from __future__ import annotations

import socket


def free_port(host: str) -> int:
    """A port free now (for a server that binds it at once)."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


class Reservations:
    """Ports named before their servers start (a function URL that the template's
    parameters name), each held by a socket bound without SO_REUSEADDR, so that no other
    server binding port 0 meanwhile (a simulator, the sink, moto) is given it. Released
    just before its own server binds it."""

    def __init__(self, host: str) -> None:
        self._host = host
        self._held: dict[str, socket.socket] = {}

    def reserve(self, name: str) -> int:
        held = socket.socket()
        held.bind((self._host, 0))
        self._held[name] = held
        return held.getsockname()[1]

    def release(self, name: str) -> None:
        held = self._held.pop(name, None)
        if held is not None:
            held.close()

    def release_all(self) -> None:
        for name in list(self._held):
            self.release(name)
