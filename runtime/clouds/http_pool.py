"""Kept-alive stdlib HTTP connections to one host, for the cloud clients written on `http.client` (the
AWS JSON client, Cosmos REST, Firestore REST).

Why these clients use `http.client` at all: botocore, azure-cosmos and google-cloud-firestore cost a
serverless worker hundreds of milliseconds of cold import each (docs/aws.md, docs/azure.md, docs/gcp.md).
Why one pool for the three: what a client needs from its connections is the same on every cloud, namely
reuse across calls made from worker threads, a socket the server closed while idle never reused (a write
sent on it would fail and be retried, or worse, be sent twice), and a connection the answer asked to close
closed. Each client keeps only its own wire format: signing, paths, retries, error codes.
"""

import http.client
import select
import ssl
import threading
from collections.abc import Callable


def default_tls() -> ssl.SSLContext:
    """The process's one verifying TLS context (the CA bundle loads once, not per client)."""
    from skyrelay.runtime.tls import tls_context

    return tls_context()


def dropped(conn: http.client.HTTPConnection) -> bool:
    """True when an idle kept-alive socket was closed by the server (readable at EOF) or is unusable."""
    if conn.sock is None:
        return True
    try:
        return bool(select.select([conn.sock], [], [], 0)[0])
    except (OSError, ValueError):
        return True


class ConnectionPool:
    """Connections to `host` (host[:port]); `https` with the context `tls()` returns (the verifying one
    by default; the Cosmos emulator's self-signed certificate needs another)."""

    def __init__(self, host: str, https: bool, timeout_s: float,
                 tls: Callable[[], ssl.SSLContext] = default_tls):
        self.host, self.https, self.timeout_s, self._tls = host, https, timeout_s, tls
        self._idle: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()

    def send(self, method: str, path: str, body: bytes | None, headers: dict) -> tuple[int, dict, bytes]:
        """(status, lower-cased headers, body) of one request; the connection goes back to the pool
        unless the answer closes it. Blocking: callers in an event loop run it in a worker thread."""
        conn = self._connection()
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
        except BaseException:
            conn.close()
            raise
        if resp.will_close:
            conn.close()
        else:
            with self._lock:
                self._idle.append(conn)
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data

    def _connection(self) -> http.client.HTTPConnection:
        while True:
            with self._lock:
                conn = self._idle.pop() if self._idle else None
            if conn is None:
                if self.https:
                    return http.client.HTTPSConnection(self.host, timeout=self.timeout_s, context=self._tls())
                return http.client.HTTPConnection(self.host, timeout=self.timeout_s)
            if not dropped(conn):
                return conn
            conn.close()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()
