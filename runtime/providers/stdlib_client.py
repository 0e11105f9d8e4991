"""A light provider client for cold-started workers (the Lambda worker first): stdlib `http.client` instead of aiohttp.

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
AWS calls of `clouds/aws/json_client.py`). `open_stream` has the contract of `providers.client.open_stream` (the router
reads non-streamed answers from upstream streams, `timeouts.stream_sync`): the same adapters' stream
parsers, over the same pooled connections, each read in a worker thread.

Signing is the providers' own: Bedrock SigV4 is `bedrock.auth`, on the runtime's one signer
(`runtime/clouds/aws/sigv4.py`, shared with the AWS JSON client) with the role's credentials from the environment,
so a `sigv4` Bedrock deployment does not import botocore on Lambda either.

The worker handler builds its router with this transport. With `Router` no longer importing the
provider client to recognise injected calls, and `adapter_for` in `providers.registry` and
`tls_context` in `runtime.tls` (no aiohttp), a cold worker never imports aiohttp.
"""

import asyncio
import contextlib
import http.client
import threading
import time
from collections import deque
from urllib.parse import urlsplit

from skyrelay.runtime.canonical import ChatRequest, ChatResult, StreamDelta
from skyrelay.runtime.clouds.http_pool import dropped
from skyrelay.runtime.errors import ProviderError, UpstreamServerError, UpstreamTimeout
from skyrelay.runtime.providers.base import Upstream
from skyrelay.runtime.providers.registry import adapter_for
from skyrelay.runtime.tls import tls_context

MAX_IDLE_PER_ORIGIN = 4

_idle: dict[tuple[str, str], list[http.client.HTTPConnection]] = {}
_lock = threading.Lock()


def _tls():
    return tls_context()


def _connection(scheme: str, netloc: str, timeout: float) -> http.client.HTTPConnection:
    with _lock:
        pool = _idle.get((scheme, netloc))
        while pool:
            conn = pool.pop()
            if not dropped(conn):
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


class _Stream:
    """An upstream stream over http.client, with the contract of `providers.client.ProviderStream`: the
    first delta within `ttft_timeout` (connect, status, first delta; every failure up to then a canonical
    `ProviderError`), then each read within `idle_timeout` (`UpstreamTimeout`), a cut or unterminated
    stream `UpstreamServerError`. Each blocking step runs in a worker thread; a stream that is closed
    or cancelled early shuts its socket, so the thread's blocked read ends at once."""

    __slots__ = ("upstream", "request", "ttft_timeout", "idle_timeout", "_exchange", "_resp", "_parser",
                 "_pending", "_opened", "_finished")

    def __init__(self, upstream: Upstream, request: ChatRequest, ttft_timeout: float, idle_timeout: float):
        self.upstream, self.request = upstream, request
        self.ttft_timeout, self.idle_timeout = ttft_timeout, idle_timeout
        self._exchange: _Exchange | None = None
        self._resp: http.client.HTTPResponse | None = None
        self._parser = None
        self._pending: deque[StreamDelta] = deque()
        self._opened = self._finished = False

    def __await__(self):
        return self.open().__await__()

    def __aiter__(self) -> "_Stream":
        return self

    def ready(self) -> bool:
        return bool(self._pending) or (self._opened and self._finished)

    async def open(self) -> "_Stream":
        if self._opened:
            return self
        self._opened = True
        up = self.upstream
        adapter, signer = adapter_for(up.provider)
        http_call = adapter.build(up, self.request, True)
        what = f"{up.provider} {up.model}"
        with self._failures(lambda: f"{what}: no first delta within {self.ttft_timeout}s", what):
            async with asyncio.timeout(self.ttft_timeout):
                deadline = time.monotonic() + self.ttft_timeout
                await signer.sign(up, http_call)
                self._exchange = _Exchange(http_call.url, http_call, deadline)
                status, headers, body = await self._in_thread(self._start, adapter, deadline)
        if status >= 300:
            raise adapter.error(status, headers, body)
        return self

    def _start(self, adapter, deadline: float) -> tuple[int, dict[str, str], bytes]:
        """In the thread: the request, the status and, on a 2xx, the reads up to the first delta."""
        ex = self._exchange
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        conn = ex.conn = _connection(ex.scheme, ex.netloc, remaining)
        conn.request(ex.call.method, ex.target, body=ex.call.body, headers=ex.call.headers)
        resp = self._resp = conn.getresponse()
        if resp.status >= 300:
            body = resp.read()
            self._finished = True
            _release(ex.scheme, ex.netloc, conn, not resp.will_close)
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, body
        self._parser = adapter.stream_parser(self.upstream)
        while not self._pending:
            conn.sock.settimeout(max(0.001, deadline - time.monotonic()))
            if not self._read():
                raise UpstreamServerError("stream ended before the first delta")
        return resp.status, {}, b""

    def _read(self) -> bool:
        """In the thread: one read fed to the parser; False at the end of the body."""
        chunk = self._resp.read1(65536)
        if not chunk:
            self._finished = True
            self._parser.close()  # raises when the end-of-stream marker never came
            ex = self._exchange
            _release(ex.scheme, ex.netloc, ex.conn, not self._resp.will_close and not ex.abandoned)
            return False
        self._pending.extend(self._parser.feed(chunk))
        return True

    def _next_batch(self) -> None:
        """In the thread: reads until at least one delta is buffered or the body ends."""
        self._exchange.conn.sock.settimeout(self.idle_timeout)
        while not self._pending and self._read():
            pass

    async def __anext__(self) -> StreamDelta:
        if not self._opened:
            await self.open()
        if not self._pending and not self._finished:
            with self._failures(lambda: f"stream idle for over {self.idle_timeout}s", "stream cut"):
                await self._in_thread(self._next_batch)
        if self._pending:
            return self._pending.popleft()
        raise StopAsyncIteration

    async def rest(self, within: float) -> list[StreamDelta]:
        """Every delta not taken yet, the body read to its end within `within` seconds (each read also within
        `idle_timeout`) in one thread call: as `ProviderStream.rest`."""
        if not self._opened:
            await self.open()
        if not self._finished:
            end = time.monotonic() + within

            def timed_out() -> str:
                if time.monotonic() >= end:
                    return f"no complete answer within {within:.3g}s"
                return f"stream idle for over {self.idle_timeout}s"

            with self._failures(timed_out, "stream cut"):
                await self._in_thread(self._read_to_end, end)
        out = list(self._pending)
        self._pending.clear()
        return out

    def _read_to_end(self, end: float) -> None:
        sock = self._exchange.conn.sock
        while True:
            left = end - time.monotonic()
            if left <= 0:
                raise TimeoutError
            sock.settimeout(min(self.idle_timeout, left))
            if not self._read():
                return

    @contextlib.contextmanager
    def _failures(self, timed_out, what: str):
        """Every failure of a step aborts the stream and surfaces as a canonical `ProviderError`: a timeout
        as `UpstreamTimeout(timed_out())`, a socket or HTTP error as `UpstreamServerError`."""
        try:
            yield
        except ProviderError:
            self._abort()
            raise
        except TimeoutError:
            self._abort()
            raise UpstreamTimeout(timed_out()) from None
        except (OSError, http.client.HTTPException) as exc:
            self._abort()
            raise UpstreamServerError(f"{what}: {type(exc).__name__}: {exc}") from None

    async def _in_thread(self, fn, *args):
        try:
            return await asyncio.to_thread(fn, *args)
        except asyncio.CancelledError:  # a timeout or a caller that left: unblock the thread
            self._abort()
            raise

    def _abort(self) -> None:
        self._finished = True
        self._pending.clear()
        if self._exchange is not None:
            self._exchange.abandon()

    async def aclose(self) -> None:
        """Closes the connection unless the body was read to its end (then it went back to the pool)."""
        if not self._finished:
            self._abort()


def open_stream(upstream: Upstream, request: ChatRequest, ttft_timeout: float, idle_timeout: float) -> _Stream:
    """A stream you may `await` (to peek the first delta) and then `async for` over (as `client.open_stream`)."""
    return _Stream(upstream, request, ttft_timeout, idle_timeout)


def close_all() -> None:
    """Closes the idle connections (tests; a Lambda container just ends)."""
    with _lock:
        pools = list(_idle.values())
        _idle.clear()
    for pool in pools:
        for conn in pool:
            conn.close()
