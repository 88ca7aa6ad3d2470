"""A port the local stack names before its server starts is nobody else's meanwhile."""

from __future__ import annotations

import socket

import pytest

from smsgw_tools.local.ports import Reservations

HOST = "127.0.0.1"


def test_a_reserved_port_is_bound_by_no_other_server_until_released():
    # Given a port reserved for the callback function's server
    ports = Reservations(HOST)
    port = ports.reserve("callback")

    # Then a server that asks for it (as HTTPServer does, with SO_REUSEADDR) is refused,
    # and servers that bind port 0 meanwhile are given others
    with socket.socket() as other:
        other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        with pytest.raises(OSError):
            other.bind((HOST, port))
    given = []
    for _ in range(200):
        with socket.socket() as anyone:
            anyone.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            anyone.bind((HOST, 0))
            given.append(anyone.getsockname()[1])
    assert port not in given

    # When it is released, its own server binds it
    ports.release("callback")
    with socket.socket() as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind((HOST, port))
        server.listen()
    ports.release_all()  # nothing left: a no-op
