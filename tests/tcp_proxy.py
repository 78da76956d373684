"""A tiny TCP proxy for fault tests: forwards 127.0.0.1:<port> to a real server until it is cut.

`cut()` closes the listening socket and every open connection, as a database server that dies or a
network that drops would; new connections are refused. `restore()` listens on the same port again.
"""

from __future__ import annotations

import selectors
import socket
import threading
from typing import Self


class TcpProxy:
    def __init__(self, target_host: str, target_port: int):
        self.target = (target_host, target_port)
        self.port = 0
        self._listener: socket.socket | None = None
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()

    def start(self) -> Self:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return self

    def cut(self) -> None:
        """Stop listening and drop every connection (clients see a reset or EOF, then refusals)."""
        with self._lock:
            listener, self._listener = self._listener, None
            connections, self._connections = self._connections, set()
        if listener:
            listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        for conn in connections:
            _close(conn)

    def restore(self) -> None:
        self.start()

    def stop(self) -> None:
        self.cut()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                _close(client)
                continue
            with self._lock:
                if self._listener is not listener:  # cut while connecting
                    _close(client), _close(upstream)
                    return
                self._connections.update((client, upstream))
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()

    def _pump(self, a: socket.socket, b: socket.socket) -> None:
        peer = {a: b, b: a}
        with selectors.DefaultSelector() as selector:
            try:
                selector.register(a, selectors.EVENT_READ)
                selector.register(b, selectors.EVENT_READ)
                while True:
                    for key, _ in selector.select():
                        data = key.fileobj.recv(65536)
                        if not data:
                            return
                        peer[key.fileobj].sendall(data)
            except (OSError, ValueError):
                return  # cut: the sockets were closed under us
            finally:
                with self._lock:
                    self._connections.difference_update((a, b))
                _close(a), _close(b)


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
