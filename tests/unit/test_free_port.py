"""The dev stack's port picker (helpdesk.devstack.servers.free_port)."""

from __future__ import annotations

import socket

from helpdesk.devstack.servers import _EPHEMERAL, free_port


def test_ports_come_from_outside_the_range_outgoing_connections_use() -> None:
    ports = [free_port() for _ in range(50)]
    assert not [p for p in ports if p in _EPHEMERAL]
    assert len(set(ports)) == len(ports)  # never the same port twice


def test_a_picked_port_can_be_bound_at_once() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", free_port()))
        server.listen()
