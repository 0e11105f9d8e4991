"""runtime/clouds/http_pool.py against a loopback HTTP/1.1 server: connections are reused, one the server
closed while idle is never reused (the call does not fail), and one the answer closes is not pooled."""

import socket
import threading
import time

import pytest

from skyrelay.runtime.clouds.http_pool import ConnectionPool


class Server:
    """Answers every request with 200 "ok"; `mode`: keep (keep-alive), drop (closes the socket after
    each answer without saying so, as an idle timeout does), close (answers `Connection: close`)."""

    def __init__(self, mode: str):
        self.mode, self.accepted = mode, 0
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        with conn:
            buf = b""
            while True:
                while b"\r\n\r\n" not in buf:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buf += data
                _, buf = buf.split(b"\r\n\r\n", 1)
                extra = b"Connection: close\r\n" if self.mode == "close" else b""
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n" + extra + b"\r\nok")
                if self.mode != "keep":
                    return

    def close(self):
        self.sock.close()


@pytest.mark.parametrize("mode,connections", [("keep", 1), ("drop", 3), ("close", 3)])
def test_the_pool_reuses_only_connections_that_are_still_open(mode, connections):
    server = Server(mode)
    pool = ConnectionPool(f"127.0.0.1:{server.port}", https=False, timeout_s=10)
    try:
        answers = []
        for _ in range(3):
            answers.append(pool.send("GET", "/", None, {})[::2])
            time.sleep(0.05)  # the dropping server has closed its side by now
        assert answers == [(200, b"ok")] * 3
        assert server.accepted == connections
        assert len(pool._idle) == (1 if mode == "keep" else 0 if mode == "close" else 1)  # noqa: SLF001
    finally:
        pool.close()
        server.close()
