"""The I/O half of the providers: one pooled aiohttp session per upstream origin.

    result = await complete(upstream, request, timeout=30)

    async with open_stream(upstream, request, ttft_timeout=5, idle_timeout=10) as stream:
        async for delta in stream: ...

`open_stream` returns a `ProviderStream` that is both awaitable and async-iterable. Awaiting it
(or entering it, or taking the first item) connects, checks the status and reads until the first
delta, all within `ttft_timeout`; every failure up to that point raises a canonical
`ProviderError` before anything was yielded, so the caller can still fail over. After that, a gap
over `idle_timeout` raises `UpstreamTimeout`, and a cut, malformed or unterminated stream raises
`UpstreamServerError` (or the upstream's in-stream error, mapped). `rest()` reads the remainder at
once (a non-streamed answer read from a stream).
"""

import asyncio
from collections import deque

import aiohttp
from yarl import URL

from skyrelay.runtime.canonical import ChatRequest, ChatResult, StreamDelta
from skyrelay.runtime.errors import ProviderError, UpstreamServerError, UpstreamTimeout
from skyrelay.runtime.providers.base import StreamParser, Upstream
from skyrelay.runtime.providers.registry import adapter_for  # noqa: F401 (re-exported)
from skyrelay.runtime.tls import tls_context  # noqa: F401 (re-exported)

_SESSIONS: dict[str, tuple[asyncio.AbstractEventLoop, aiohttp.ClientSession]] = {}
_NO_TIMEOUT = aiohttp.ClientTimeout(total=None)
_URLS: dict[str, tuple[URL, str]] = {}

POOL_LIMIT = 1000  # connections per origin
KEEPALIVE_S = 60.0
def _origin(url: str) -> str:
    slash = url.find("/", url.find("//") + 2)
    return url if slash < 0 else url[:slash]


def _parsed(url: str) -> tuple[URL, str]:
    """(yarl URL, origin), cached: deployments reuse a handful of URLs, so parse each once."""
    entry = _URLS.get(url)
    if entry is None:
        if len(_URLS) >= 1024:
            _URLS.clear()
        entry = _URLS[url] = (URL(url, encoded=True), _origin(url))
    return entry


def url_of(url: str) -> URL:
    return _parsed(url)[0]


def session_for(url: str) -> aiohttp.ClientSession:
    """The pooled session of the URL's origin, created lazily on the running loop."""
    origin = _parsed(url)[1]
    loop = asyncio.get_running_loop()
    entry = _SESSIONS.get(origin)
    if entry is not None and entry[0] is loop and not entry[1].closed:
        return entry[1]
    # HTTPS origins get the shared context (the CA bundle loads once); plain HTTP ones need none.
    tls = tls_context() if origin[:6].lower() == "https:" else True
    connector = aiohttp.TCPConnector(limit=POOL_LIMIT, keepalive_timeout=KEEPALIVE_S, ttl_dns_cache=300, ssl=tls)
    # No cookie jar: provider APIs are stateless, and filtering an empty jar still costs per request.
    session = aiohttp.ClientSession(connector=connector, timeout=_NO_TIMEOUT, skip_auto_headers=("User-Agent",),
                                    cookie_jar=aiohttp.DummyCookieJar())
    _SESSIONS[origin] = (loop, session)
    return session


async def close_all() -> None:
    """Closes every session that belongs to the running loop (and forgets the others)."""
    loop = asyncio.get_running_loop()
    entries = list(_SESSIONS.values())
    _SESSIONS.clear()
    for owner, session in entries:
        if owner is loop and not session.closed:
            await session.close()


def _transport_error(exc: BaseException, what: str) -> ProviderError:
    if isinstance(exc, TimeoutError):
        return UpstreamTimeout(f"{what}: timed out")
    return UpstreamServerError(f"{what}: {type(exc).__name__}: {exc}")


async def complete(upstream: Upstream, request: ChatRequest, timeout: float) -> ChatResult:
    """One non-streamed call; raises a canonical `ProviderError` on any failure."""
    adapter, signer = adapter_for(upstream.provider)
    call = adapter.build(upstream, request, False)
    try:
        async with asyncio.timeout(timeout):
            await signer.sign(upstream, call)
            async with session_for(call.url).request(
                call.method, url_of(call.url), data=call.body, headers=call.headers
            ) as resp:
                body = await resp.read()
                status, headers = resp.status, resp.headers
    except ProviderError:
        raise
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
        raise _transport_error(exc, f"{upstream.provider} {upstream.model}") from None
    if status >= 300:
        raise adapter.error(status, headers, body)
    return adapter.parse(upstream, status, headers, body)


class ProviderStream:
    """A stream from one upstream; see the module docstring for the failure contract."""

    __slots__ = ("upstream", "request", "ttft_timeout", "idle_timeout", "_resp", "_parser", "_pending",
                 "_opened", "_finished")

    def __init__(self, upstream: Upstream, request: ChatRequest, ttft_timeout: float, idle_timeout: float):
        self.upstream, self.request = upstream, request
        self.ttft_timeout, self.idle_timeout = ttft_timeout, idle_timeout
        self._resp: aiohttp.ClientResponse | None = None
        self._parser: StreamParser | None = None
        self._pending: deque[StreamDelta] = deque()
        self._opened = False
        self._finished = False

    def __await__(self):
        return self.open().__await__()

    async def __aenter__(self) -> "ProviderStream":
        return await self.open()

    async def __aexit__(self, *exc) -> None:
        await self.aclose()

    async def open(self) -> "ProviderStream":
        """Connects and buffers the first delta, within `ttft_timeout`. Idempotent."""
        if self._opened:
            return self
        self._opened = True
        up = self.upstream
        adapter, signer = adapter_for(up.provider)
        call = adapter.build(up, self.request, True)
        try:
            async with asyncio.timeout(self.ttft_timeout):
                await signer.sign(up, call)
                resp = self._resp = await session_for(call.url).request(
                    call.method, url_of(call.url), data=call.body, headers=call.headers
                )
                if resp.status >= 300:
                    body = await resp.read()
                    raise adapter.error(resp.status, resp.headers, body)
                parser = self._parser = adapter.stream_parser(up)
                while not self._pending:
                    chunk = await resp.content.readany()
                    if not chunk:
                        parser.close()
                        raise UpstreamServerError("stream ended before the first delta")
                    self._pending.extend(parser.feed(chunk))
        except ProviderError:
            self._abort()
            raise
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            self._abort()
            if isinstance(exc, TimeoutError):
                raise UpstreamTimeout(f"{up.provider} {up.model}: no first delta within {self.ttft_timeout}s") from None
            raise _transport_error(exc, f"{up.provider} {up.model}") from None
        return self

    def __aiter__(self) -> "ProviderStream":
        return self

    def ready(self) -> bool:
        """True when the next `__anext__` returns (a delta, or the end) without reading the network."""
        return bool(self._pending) or (self._opened and self._finished)

    async def __anext__(self) -> StreamDelta:
        if not self._opened:
            await self.open()
        if self._pending:
            return self._pending.popleft()
        if self._finished:
            raise StopAsyncIteration
        resp, parser = self._resp, self._parser
        while True:
            try:
                async with asyncio.timeout(self.idle_timeout):
                    chunk = await resp.content.readany()
            except TimeoutError:
                self._abort()
                raise UpstreamTimeout(f"stream idle for over {self.idle_timeout}s") from None
            except (aiohttp.ClientError, OSError) as exc:
                self._abort()
                raise _transport_error(exc, "stream cut") from None
            if not chunk:
                self._finished = True
                resp.release()
                parser.close()  # raises when the end-of-stream marker never came
                raise StopAsyncIteration
            try:
                deltas = parser.feed(chunk)
            except ProviderError:
                self._abort()
                raise
            if deltas:
                self._pending.extend(deltas)
                return self._pending.popleft()

    async def rest(self, within: float) -> list[StreamDelta]:
        """Every delta not taken yet, the body read to its end within `within` seconds and parsed at once: how
        a non-streamed answer is read from a stream. Each read also within `idle_timeout` (one timer for both,
        moved on per read); errors as in `__anext__`."""
        if not self._opened:
            await self.open()
        out = list(self._pending)
        self._pending.clear()
        if self._finished:
            return out
        content, idle, chunks = self._resp.content, self.idle_timeout, []
        loop = asyncio.get_running_loop()
        end = loop.time() + within
        try:
            if content.is_eof():  # the whole body is here already (a short answer): no wait, no timer
                chunks.append(content.read_nowait())
            else:
                async with asyncio.timeout(min(idle, within)) as timer:
                    while chunk := await content.readany():
                        chunks.append(chunk)
                        timer.reschedule(min(loop.time() + idle, end))
        except TimeoutError:
            self._abort()
            if loop.time() >= end:
                raise UpstreamTimeout(f"no complete answer within {within:.3g}s") from None
            raise UpstreamTimeout(f"stream idle for over {idle}s") from None
        except (aiohttp.ClientError, OSError) as exc:
            self._abort()
            raise _transport_error(exc, "stream cut") from None
        except BaseException:  # cancelled: the connection cannot be reused
            self._abort()
            raise
        self._finished = True
        self._resp.release()
        if chunks:
            out.extend(self._parser.feed(b"".join(chunks)))
        self._parser.close()  # raises a deferred in-stream error, or when the end-of-stream marker never came
        return out

    def _abort(self) -> None:
        self._finished = True
        self._pending.clear()
        if self._resp is not None:
            self._resp.close()

    async def aclose(self) -> None:
        """Releases the connection (closed if the body was not fully read)."""
        if self._resp is not None and not self._finished:
            self._finished = True
            self._resp.close()


def open_stream(upstream: Upstream, request: ChatRequest, ttft_timeout: float, idle_timeout: float) -> ProviderStream:
    """A stream you may `await` (to peek the first delta) and then `async for` over."""
    return ProviderStream(upstream, request, ttft_timeout, idle_timeout)
