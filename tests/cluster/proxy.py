"""A TCP proxy on loopback that can cut the network between a node and its broker: while cut, nothing passes either
way and new connections hang (a black hole, as a pulled cable or a dead switch, not a refused connection: each side
notices only by its own keep-alive); restored, the connections of before are dropped and new ones pass."""
from __future__ import annotations

import contextlib
import socket
import threading

from tichwatch.tools.broker import free_port


class CuttableProxy:
    """127.0.0.1:`port` → 127.0.0.1:`target_port`."""

    def __init__(self, target_port: int):
        self.target_port = target_port
        self.port = free_port()
        self._cut = threading.Event()
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._closed = False
        threading.Thread(target=self._accept, name="proxy-accept", daemon=True).start()

    def cut(self) -> None:
        """From now on nothing passes."""
        self._cut.set()

    def restore(self) -> None:
        """Drop every connection made so far (they died with the network) and let new ones through."""
        with self._lock:
            dead, self._sockets = self._sockets, []
            self._cut.clear()
        for s in dead:
            _close(s)

    def close(self) -> None:
        """Stop listening and drop everything."""
        self._closed = True
        _close(self._listener)
        self.restore()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self._sockets.append(client)
            if self._cut.is_set():
                continue  # held open, never answered: the client's connect times out on its own
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
            except OSError:
                _close(client)
                continue
            with self._lock:
                self._sockets.append(upstream)
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), name="proxy-pump", daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        while True:
            try:
                data = source.recv(65536)
            except OSError:
                data = b""
            if not data:
                if not self._cut.is_set():  # an end that happens while cut never reaches the other side
                    _close(sink)
                return
            if self._cut.is_set():
                continue  # lost on the way
            try:
                sink.sendall(data)
            except OSError:
                _close(source)
                return


def _close(s: socket.socket) -> None:
    with contextlib.suppress(OSError):
        s.shutdown(socket.SHUT_RDWR)
    s.close()
