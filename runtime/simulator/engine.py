"""What every wire format shares: fault handling, timing, deterministic text and usage.

Tokens are whitespace-separated words, so tests can predict every count. A wire module parses
its request into a `SimRequest` and renders what `serve` decides through its `Wire` methods.
"""

import asyncio
import contextlib
import socket
import struct
import time
from dataclasses import dataclass, field, replace
from typing import Protocol

from aiohttp import web

from skyrelay.runtime.simulator import faults
from skyrelay.runtime.simulator.faults import Fault
from skyrelay.runtime.simulator.state import OVERRIDE_HEADERS, SimConfig, SimState

STATE_KEY = web.AppKey("sim_state", SimState)
ERROR_FAULTS = frozenset({"429", "429-no-retry-after", "500", "503", "401", "down", "context-length"})


def error_table(rate_limited: tuple, server_error: tuple, unavailable: tuple, unauthorized: tuple,
                context_length: tuple | None = None) -> dict[str, tuple]:
    """A wire's canned error answer per error fault: `429-no-retry-after` answers like `429` (the wire
    leaves out the retry hint) and `down` like `503`. Without `context_length` the wire builds that one itself."""
    table = {"429": rate_limited, "429-no-retry-after": rate_limited, "500": server_error, "503": unavailable,
             "down": unavailable, "401": unauthorized}
    if context_length is not None:
        table["context-length"] = context_length
    return table


@dataclass(slots=True)
class SimRequest:
    provider: str
    model: str
    stream: bool
    prompt_tokens: int  # every input token the request carried
    prefix_tokens: int = 0  # tokens of the cacheable prefix
    prefix_key: int = 0
    cache_mode: str | None = None  # "explicit" (Bedrock cachePoint), "auto" (OpenAI/Azure), "resource" (Vertex)
    max_tokens: int | None = None
    echo: str = ""
    include_usage: bool = True  # OpenAI streams: only with stream_options.include_usage
    # Tools and structured output (simulator/tools.py decides what the model does with them):
    tools: list = field(default_factory=list)  # [(name, JSON Schema of the arguments)]
    tool_choice: str | None = None  # auto | none | required | a function name
    tool_result: str | None = None  # the last turn's tool output, when the last turn answers a call
    json_schema: dict | None = None  # response_format's schema ({"type": "object"} for json_object)
    invalid_json: bool = False  # the `invalid-json` fault: structured output / arguments unparseable
    calls: list = field(default_factory=list)  # the model's tool calls: [(id, name, arguments JSON text)]
    logprobs: int | None = None  # OpenAI/Azure: logprobs asked, with this many top_logprobs
    n: int = 1  # OpenAI/Azure: choices per answer (each the same text)


@dataclass(slots=True)
class SimUsage:
    input: int  # canonical: excludes cache reads and writes
    cache_read: int = 0
    cache_write: int = 0
    output: int = 0


class Wire(Protocol):
    provider: str
    stream_content_type: str

    def error(self, kind: str, req: SimRequest, fault: Fault) -> web.Response: ...
    def sync_ok(self, req: SimRequest, text: str, usage: SimUsage, finish: str) -> web.Response: ...
    def content_filter(self, req: SimRequest, usage: SimUsage) -> web.Response | list[bytes]: ...
    def stream_start(self, req: SimRequest) -> bytes: ...
    def stream_chunk(self, req: SimRequest, text: str, index: int) -> bytes: ...
    def stream_end(self, req: SimRequest, usage: SimUsage, finish: str, marker: bool) -> bytes: ...
    def malformed(self, req: SimRequest) -> bytes: ...
    def tool_chunks(self, req: SimRequest) -> list[bytes]: ...


def words(text: str) -> int:
    return len(text.split())


def completion(req: SimRequest, cfg: SimConfig) -> tuple[list[str], int, str]:
    """Deterministic echo-ish text split into stream pieces, its token count and finish reason."""
    n = cfg.tokens if req.max_tokens is None else max(0, min(cfg.tokens, req.max_tokens))
    finish = "length" if req.max_tokens is not None and req.max_tokens < cfg.tokens else "stop"
    source = req.echo.split() or ["sim"]
    toks = [source[i % len(source)] for i in range(n)] or [""]
    pieces_n = max(1, min(cfg.chunks or len(toks), len(toks)))
    per, extra = divmod(len(toks), pieces_n)
    pieces, at = [], 0
    for i in range(pieces_n):
        size = per + (1 if i < extra else 0)
        pieces.append(" ".join(toks[at:at + size]) + (" " if i < pieces_n - 1 else ""))
        at += size
    return pieces, n, finish


def usage_for(state: SimState, req: SimRequest, cfg: SimConfig, output: int) -> SimUsage:
    read = write = 0
    if req.cache_mode == "explicit" and req.prefix_tokens:
        if state.seen_prefix(req.provider, req.model, req.prefix_key):
            read = req.prefix_tokens
        else:
            write = req.prefix_tokens
    elif req.cache_mode == "auto" and req.prefix_tokens >= cfg.auto_cache_min_tokens:
        if state.seen_prefix(req.provider, req.model, req.prefix_key):
            read = req.prefix_tokens // 128 * 128
    elif req.cache_mode == "resource":
        return SimUsage(input=req.prompt_tokens, cache_read=cfg.vertex_cached_tokens, output=output)
    return SimUsage(input=req.prompt_tokens - read - write, cache_read=read, cache_write=write, output=output)


def record(request: web.Request, provider: str, model: str, body: dict) -> None:
    """Keeps the request body for `GET /_sim/requests` (tests compare it with what an SDK sends)."""
    request.app[STATE_KEY].record(provider, model, request.path, body)


def pick_fault(request: web.Request, state: SimState, model: str) -> Fault | None:
    return (faults.from_header(request.headers.get("x-sim-fault")) or faults.from_model(model)
            or state.faults.take(model))


def effective_config(request: web.Request, state: SimState) -> SimConfig:
    cfg = state.config
    overrides = {}
    for header, name in OVERRIDE_HEADERS.items():
        raw = request.headers.get(header)
        if raw is not None:
            overrides[name] = type(getattr(cfg, name))(float(raw))
    return replace(cfg, **overrides) if overrides else cfg


def abort_connection(request: web.Request) -> None:
    """Closes the socket with an RST (SO_LINGER 0), as a crashed upstream or a middlebox would."""
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


async def wait_for_disconnect(request: web.Request, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        transport = request.transport
        if transport is None or transport.is_closing():
            return
        await asyncio.sleep(0.05)


async def _sleep_ms(ms: float) -> None:
    if ms > 0:
        await asyncio.sleep(ms / 1000)


async def serve(request: web.Request, wire: Wire, req: SimRequest) -> web.StreamResponse:
    state = request.app[STATE_KEY]
    cfg = effective_config(request, state)
    fault = pick_fault(request, state, req.model)
    if fault is None and cfg.context_window and req.prompt_tokens > cfg.context_window:
        fault = Fault("context-length")
    name = fault.name if fault else None
    state.count(wire.provider, req.model, name or "ok")

    if name in ERROR_FAULTS:
        await _sleep_ms(cfg.latency_ms)
        return wire.error(name, req, fault)
    if name == "reset":
        abort_connection(request)
        return web.Response(status=500)  # never reaches the client
    if name == "hang":
        await wait_for_disconnect(request, fault.param())
        return web.Response(status=504)

    if name == "invalid-json":
        req.invalid_json, fault, name = True, None, None
    pieces, n_out, finish = completion(req, cfg)
    if req.tools or req.json_schema is not None:
        pieces, n_out, finish = _tool_turn(req, pieces, n_out, finish)
    usage = usage_for(state, req, cfg, n_out)
    first_delay = cfg.latency_ms + (fault.param() if name == "slow-first-token" else 0.0)

    if name == "content-filter":
        await _sleep_ms(first_delay)
        outcome = wire.content_filter(req, usage)
        if isinstance(outcome, web.StreamResponse):
            return outcome
        resp = web.StreamResponse(headers={"content-type": wire.stream_content_type})
        await resp.prepare(request)
        for part in outcome:
            await resp.write(part)
        await resp.write_eof()
        return resp

    if not req.stream:
        return await _serve_sync(request, wire, req, cfg, fault, pieces, usage, finish, first_delay)

    resp = web.StreamResponse(headers={"content-type": wire.stream_content_type, "cache-control": "no-cache"})
    await resp.prepare(request)
    try:
        await _stream(request, resp, wire, req, cfg, name, fault, pieces, usage, finish, first_delay)
    except ConnectionError:  # the client went away mid-stream
        state.client_left(req.model)
    return resp


def _tool_turn(req: SimRequest, pieces: list[str], n_out: int, finish: str) -> tuple[list[str], int, str]:
    """Tool calls or a structured answer in place of the echo text, when the request asks for them."""
    from skyrelay.runtime.simulator import tools

    calls = tools.decide(req)
    if calls:
        req.calls = [(f"call_sim_{abs(hash((req.model, req.echo, i))) % 10**10}_{i}", n, a)
                     for i, (n, a) in enumerate(calls)]
        return [], sum(words(a) for _, _, a in req.calls), "tool_calls"
    if req.json_schema is not None and req.tool_result is None:
        text = tools.structured_text(req)
        return tools.fragments(text), words(text), "stop"
    return pieces, n_out, finish


async def _stream(request, resp, wire, req, cfg, name, fault, pieces, usage, finish, first_delay) -> None:
    head = wire.stream_start(req)
    if head:
        await resp.write(head)
    await _pause(request, first_delay)
    for chunk in wire.tool_chunks(req) if req.calls else ():
        await resp.write(chunk)
    after = int(fault.param()) if name in ("cut", "stall", "malformed") else -1
    for i, piece in enumerate(pieces):
        if i:
            await _pause(request, cfg.chunk_ms)
        if i == after and await _mid_stream_fault(request, resp, wire, req, name):
            return
        await resp.write(wire.stream_chunk(req, piece, i))
    # The fault point lies past the last piece: apply it before the end.
    if after >= len(pieces) and await _mid_stream_fault(request, resp, wire, req, name):
        return
    await resp.write(wire.stream_end(req, usage, finish, marker=name != "no-end"))
    await resp.write_eof()


async def _pause(request: web.Request, ms: float) -> None:
    """A gap between stream chunks that ends early, with ConnectionResetError, when the client has closed
    the connection (so a stream the client left stops at once, as a real upstream's does)."""
    deadline = time.monotonic() + ms / 1000
    while True:
        transport = request.transport
        if transport is None or transport.is_closing():
            raise ConnectionResetError("the client closed the stream")
        left = deadline - time.monotonic()
        if left <= 0:
            return
        await asyncio.sleep(min(left, 0.05))


async def _mid_stream_fault(request: web.Request, resp: web.StreamResponse, wire: Wire, req: SimRequest,
                            name: str) -> bool:
    """Applies a `cut`, `stall` or `malformed` fault at this point of a stream; True when the stream ends here."""
    if name == "cut":
        abort_connection(request)
        return True
    if name == "stall":
        await wait_for_disconnect(request, 600)
        return True
    await resp.write(wire.malformed(req))
    return False


async def _serve_sync(request, wire, req, cfg, fault, pieces, usage, finish, first_delay) -> web.StreamResponse:
    await _sleep_ms(first_delay + cfg.chunk_ms * max(0, len(pieces) - 1))
    name = fault.name if fault else None
    ok = wire.sync_ok(req, "".join(pieces), usage, finish)
    if name is None or name == "slow-first-token":
        return ok
    if name == "stall":
        await wait_for_disconnect(request, 600)
        return ok
    body = ok.body
    if name == "malformed":
        return web.Response(body=b"{not json" + body[:16], content_type="application/json")
    # "cut" and "no-end": announce the full length, send half, then reset / close.
    resp = web.StreamResponse(headers={"content-type": "application/json"})
    resp.content_length = len(body)
    await resp.prepare(request)
    await resp.write(body[: len(body) // 2])
    abort_connection(request)
    return resp
