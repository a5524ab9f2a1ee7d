"""The sandbox's sockets: accepted connections send small responses without delay."""

from __future__ import annotations

import os
import socket
from urllib.parse import urlsplit

from gcfetch.sandbox import Sandbox


def _server_side(client: socket.socket) -> socket.socket:
    """The sandbox's end of `client`'s connection, found among this process's descriptors."""
    wanted = (client.getpeername(), client.getsockname())
    for name in os.listdir("/proc/self/fd"):
        try:
            candidate = socket.socket(fileno=os.dup(int(name)))
        except OSError:
            continue
        try:
            if (candidate.getsockname(), candidate.getpeername()) == wanted:
                return candidate
        except OSError:
            pass
        candidate.close()
    raise AssertionError("the sandbox's end of the connection was not found")


def test_accepted_connections_disable_nagle(sandbox: Sandbox):
    # Without TCP_NODELAY a response's body waits for the client's delayed ACK of its
    # headers: 40 ms per request on loopback.
    url = urlsplit(sandbox.base_url)
    with socket.create_connection((url.hostname, url.port)) as client:
        client.sendall(f"GET /api/v1/gcapi/ HTTP/1.1\r\nHost: {url.netloc}\r\n\r\n".encode())
        assert client.recv(1024).startswith(b"HTTP/1.1 ")
        server = _server_side(client)
        with server:
            assert server.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
