"""A light provider transport for the Lambda worker: stdlib `http.client` instead of aiohttp.

    router = Router(config, call=transport.call, open_stream=transport.open_stream)

A worker invocation handles one job, one provider call at a time, so aiohttp's pooling and
connector machinery buy nothing there and its import is a large part of the cold start.
`call(upstream, request, timeout)` has the contract of `providers.client.complete`: the same
adapters build, sign and parse (the provider package's `ADAPTER` and `SIGNER`, the objects
`providers.registry.adapter_for` returns), and every failure is a canonical `ProviderError`:
- a non-2xx status -> `adapter.error(status, headers, body)`;
- no reply within `timeout` (connect, send, read) -> `UpstreamTimeout`;
- connection refused / reset / cut, a malformed reply -> `UpstreamServerError`.

The blocking HTTP runs in a worker thread (`asyncio.to_thread`). The socket timeout is the call's
remaining time, and `asyncio.timeout(timeout)` bounds the whole call; a call it abandons closes its
connection, so the thread's blocked read ends at once. Connections are kept alive per origin and
dropped when the peer has closed them while idle (checked before reuse: a POST is never re-sent).
HTTPS uses the process's one verified TLS context (`runtime.tls.tls_context`, shared with the
AWS calls of `clouds/aws/json_client.py`). Streams are not used by the job worker: `open_stream` is the provider
client's (imported on first use).

Signing is the providers' own: Bedrock SigV4 is `bedrock.auth`, on the runtime's one signer
(`runtime/clouds/aws/sigv4.py`, shared with the AWS JSON client) with the role's credentials from the environment,
so a `sigv4` Bedrock deployment does not import botocore on Lambda either.

The worker handler builds its router with this transport. With `Router` no longer importing the
provider client to recognise injected calls, and `adapter_for` in `providers.registry` and
`tls_context` in `runtime.tls` (no aiohttp), a cold worker never imports aiohttp for a non-stream job.
"""

import asyncio
import contextlib
import http.client
import select
import threading
import time
from urllib.parse import urlsplit

from skyrelay.runtime.canonical import ChatRequest, ChatResult
from skyrelay.runtime.errors import ProviderError, UpstreamServerError, UpstreamTimeout
from skyrelay.runtime.providers.base import Upstream
from skyrelay.runtime.providers.registry import adapter_for
from skyrelay.runtime.tls import tls_context

MAX_IDLE_PER_ORIGIN = 4

_idle: dict[tuple[str, str], list[http.client.HTTPConnection]] = {}
_lock = threading.Lock()


def _tls():
    return tls_context()


def _dropped(conn: http.client.HTTPConnection) -> bool:
    """True when an idle connection's peer has closed it (readable while idle: EOF or stray bytes)."""
    sock = conn.sock
    if sock is None:
        return True
    try:
        return bool(select.select([sock], [], [], 0)[0])
    except (OSError, ValueError):
        return True


def _connection(scheme: str, netloc: str, timeout: float) -> http.client.HTTPConnection:
    with _lock:
        pool = _idle.get((scheme, netloc))
        while pool:
            conn = pool.pop()
            if not _dropped(conn):
                conn.sock.settimeout(timeout)
                return conn
            conn.close()
    if scheme == "https":
        return http.client.HTTPSConnection(netloc, timeout=timeout, context=_tls())
    if scheme == "http":
        return http.client.HTTPConnection(netloc, timeout=timeout)
    raise UpstreamServerError(f"unsupported URL scheme {scheme!r}")


def _release(scheme: str, netloc: str, conn: http.client.HTTPConnection, reusable: bool) -> None:
    if reusable:
        with _lock:
            pool = _idle.setdefault((scheme, netloc), [])
            if len(pool) < MAX_IDLE_PER_ORIGIN:
                pool.append(conn)
                return
    conn.close()


def _abort(conn: http.client.HTTPConnection) -> None:
    """Closes a connection another thread may be blocked on (shutdown wakes its read)."""
    sock = conn.sock
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(2)  # socket.SHUT_RDWR
    conn.close()


class _Exchange:
    """One request/response on one connection, run in a worker thread."""

    __slots__ = ("scheme", "netloc", "target", "call", "deadline", "conn", "abandoned")

    def __init__(self, url: str, call, deadline: float):
        parts = urlsplit(url)
        self.scheme, self.netloc = parts.scheme.lower(), parts.netloc
        self.target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.call, self.deadline = call, deadline
        self.conn: http.client.HTTPConnection | None = None
        self.abandoned = False

    def run(self) -> tuple[int, dict[str, str], bytes]:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        conn = self.conn = _connection(self.scheme, self.netloc, remaining)
        try:
            conn.request(self.call.method, self.target, body=self.call.body, headers=self.call.headers)
            resp = conn.getresponse()
            body = resp.read()
            reply = {k.lower(): v for k, v in resp.getheaders()}
        except BaseException:
            conn.close()
            raise
        _release(self.scheme, self.netloc, conn, not resp.will_close and not self.abandoned)
        return resp.status, reply, body

    def abandon(self) -> None:
        self.abandoned = True
        if self.conn is not None:
            _abort(self.conn)


async def call(upstream: Upstream, request: ChatRequest, timeout: float) -> ChatResult:
    """One non-streamed call; raises a canonical `ProviderError` on any failure (as `client.complete`)."""
    adapter, signer = adapter_for(upstream.provider)
    http_call = adapter.build(upstream, request, False)
    what = f"{upstream.provider} {upstream.model}"
    exchange = None
    try:
        async with asyncio.timeout(timeout):
            deadline = time.monotonic() + timeout
            await signer.sign(upstream, http_call)
            exchange = _Exchange(http_call.url, http_call, deadline)
            status, headers, body = await asyncio.to_thread(exchange.run)
    except ProviderError:
        raise
    except TimeoutError:
        if exchange is not None:
            exchange.abandon()
        raise UpstreamTimeout(f"{what}: timed out") from None
    except (OSError, http.client.HTTPException) as exc:
        raise UpstreamServerError(f"{what}: {type(exc).__name__}: {exc}") from None
    except asyncio.CancelledError:
        if exchange is not None:
            exchange.abandon()
        raise
    if status >= 300:
        raise adapter.error(status, headers, body)
    return adapter.parse(upstream, status, headers, body)


def open_stream(upstream: Upstream, request: ChatRequest, ttft_timeout: float, idle_timeout: float):
    """Streams go through the provider client (aiohttp), imported on first use."""
    from skyrelay.runtime.providers import client

    return client.open_stream(upstream, request, ttft_timeout, idle_timeout)


def close_all() -> None:
    """Closes the idle connections (tests; a Lambda container just ends)."""
    with _lock:
        pools = list(_idle.values())
        _idle.clear()
    for pool in pools:
        for conn in pool:
            conn.close()
