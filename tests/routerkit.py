"""Shared test kit for the router suites: a config builder, a scriptable fake provider, a loopback server."""

import asyncio
import hashlib
import threading
import time
from collections import Counter

import uvicorn

from skyrelay.runtime.canonical import ChatRequest, ChatResult, Message, StreamDelta, Usage
from skyrelay.runtime.config import parse_config
from tests.peers import free_port  # noqa: F401 (tests import it from here too)

FREE_KEY, PRO_KEY, ENT_KEY = "sk-test-free", "sk-test-pro", "sk-test-ent"


def sha(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def config_dict(**overrides) -> dict:
    """Two logical models: `fast` (small: a primary, b secondary) and `big` (large: c 8k, d 32k window)."""
    base = {
        "deployments": [
            {"name": "a", "model": "fast", "provider": "openai_compat", "upstream_model": "a",
             "endpoint": "http://127.0.0.1:9", "price": {"input": 1.0, "output": 2.0, "cache_read": 0.1},
             "capabilities": ["quality"], "context_window": 8192},
            {"name": "b", "model": "fast", "provider": "openai_compat", "upstream_model": "b",
             "endpoint": "http://127.0.0.1:9", "price": {"input": 0.5, "output": 1.0}, "capabilities": ["cheap", "fast"],
             "context_window": 8192},
            {"name": "c", "model": "big", "provider": "openai_compat", "upstream_model": "c", "model_class": "large",
             "endpoint": "http://127.0.0.1:9", "context_window": 8192},
            {"name": "d", "model": "big", "provider": "openai_compat", "upstream_model": "d", "model_class": "large",
             "endpoint": "http://127.0.0.1:9", "context_window": 32768},
        ],
        "models": {"fast": {"deployments": ["a", "b"]}, "big": {"deployments": ["c", "d"]}},
        "tenants": [
            {"name": "free", "tier": "free", "api_keys": [sha(FREE_KEY)]},
            {"name": "pro", "tier": "professional", "api_keys": [sha(PRO_KEY)]},
            {"name": "ent", "tier": "enterprise", "api_keys": [sha(ENT_KEY)]},
        ],
        "timeouts": {"request_s": 5, "attempt_s": 0.3, "ttft_s": 0.3, "idle_s": 0.3},
        "breaker": {"failure_threshold": 3, "open_s": 0.5},
        "retry": {"attempts": 4, "base_s": 0.01, "max_s": 0.05, "cooldown_s": 0.2},
        "cache": {"enabled": False},
    }
    return merge_sections(base, overrides)


def merge_sections(base: dict, overrides: dict) -> dict:
    """`base` with each top-level key of `overrides` replacing it, or updating it when both are dicts."""
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            base[key] = {**base[key], **value}
        else:
            base[key] = value
    return base


def make_config(**overrides):
    return parse_config(config_dict(**overrides))


def req(model: str = "fast", text: str = "hi", **kw) -> ChatRequest:
    return ChatRequest(model, [Message("user", text)], **kw)


OK = "ok"
HANG = "hang"


class FakeProvider:
    """Scripted upstreams keyed by upstream model id. `script(model, *outcomes)`: consumed in order, the
    last one repeats. An outcome is OK, HANG, an exception instance, ("cut", n, exc) for streams, or
    ("delay", seconds): OK after that long. `streams` counts opened streams, `left` the streams closed
    before their end."""

    def __init__(self, text: str = "hello world", usage: Usage | None = None):
        self.calls: Counter[str] = Counter()
        self.streams: Counter[str] = Counter()
        self.left: Counter[str] = Counter()
        self.scripts: dict[str, list] = {}
        self.text = text
        self.usage = usage or Usage(10, 0, 0, 5)

    def script(self, model: str, *outcomes) -> None:
        self.scripts[model] = list(outcomes)

    def _next(self, model: str):
        s = self.scripts.get(model)
        if not s:
            return OK
        return s.pop(0) if len(s) > 1 else s[0]

    async def call(self, upstream, request, timeout) -> ChatResult:
        self.calls[upstream.model] += 1
        o = self._next(upstream.model)
        if isinstance(o, BaseException):
            raise o
        if o == HANG:
            await asyncio.sleep(3600)
        if isinstance(o, tuple) and o[0] == "delay":
            await asyncio.sleep(o[1])
        return ChatResult(f"{self.text} from {upstream.model}", self.usage, "stop", upstream.model)

    def open_stream(self, upstream, request, ttft, idle):
        self.calls[upstream.model] += 1
        self.streams[upstream.model] += 1
        outcome = self._next(upstream.model)
        return self._stream(upstream.model, outcome)

    async def _stream(self, model, o):
        if isinstance(o, BaseException):
            raise o
        if o == HANG:
            await asyncio.sleep(3600)
        if isinstance(o, tuple) and o[0] == "delay":
            await asyncio.sleep(o[1])
        words = f"{self.text} from {model}".split(" ")
        if isinstance(o, tuple) and o[0] == "cut":
            for w in words[: o[1]]:
                yield StreamDelta(w + " ")
            raise o[2]
        try:
            for w in words[:-1]:
                yield StreamDelta(w + " ")
        except GeneratorExit:
            self.left[model] += 1
            raise
        yield StreamDelta(words[-1], self.usage, "stop")


class ServerThread:
    """uvicorn on a loopback port in a background thread (the same server `skyrelay serve` runs)."""

    def __init__(self, app, port: int | None = None):
        self.port = port or free_port()
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                                    lifespan="on", loop="asyncio"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self):
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(10)

