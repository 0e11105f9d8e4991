"""Run the simulator: in the foreground (`skyrelay simulate`) or in a background thread (tests).

aiohttp's server sets TCP_NODELAY on accepted sockets, so small SSE writes are not delayed.
"""

import asyncio
import logging
import threading
from collections.abc import Callable

from aiohttp import web

from skyrelay.runtime.simulator.app import make_app
from skyrelay.runtime.simulator.state import SimConfig


def _quiet() -> None:
    # Resets and hangs are deliberate; aiohttp would log each one as a server error.
    logging.getLogger("aiohttp.server").setLevel(logging.CRITICAL)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)


async def _start(host: str, port: int, config: SimConfig | None) -> tuple[web.AppRunner, int]:
    runner = web.AppRunner(make_app(config), access_log=None, handle_signals=False, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, host, port, reuse_address=True, backlog=1024)
    await site.start()
    bound = site._server.sockets[0].getsockname()[1]  # the real port when port=0
    return runner, bound


def start_in_thread(port: int = 0, host: str = "127.0.0.1",
                    config: SimConfig | None = None) -> tuple[str, Callable[[], None]]:
    """Starts the simulator on its own event loop thread; returns (base_url, stop)."""
    _quiet()
    loop = asyncio.new_event_loop()
    started: dict = {}
    ready = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            started["runner"], started["port"] = loop.run_until_complete(_start(host, port, config))
        except BaseException as exc:  # noqa: BLE001 - reported to the caller below
            started["error"] = exc
            ready.set()
            return
        ready.set()
        loop.run_forever()
        loop.run_until_complete(started["runner"].cleanup())
        loop.close()

    thread = threading.Thread(target=run, name="skyrelay-simulator", daemon=True)
    thread.start()
    if not ready.wait(10):
        raise RuntimeError("simulator did not start within 10 s")
    if "error" in started:
        raise started["error"]

    def stop() -> None:
        if loop.is_running():
            loop.call_soon_threadsafe(loop.stop)
            thread.join(5)

    return f"http://{host}:{started['port']}", stop


def serve_forever(host: str = "127.0.0.1", port: int = 8090, config: SimConfig | None = None) -> None:
    """Blocking run for the CLI."""
    _quiet()
    web.run_app(make_app(config), host=host, port=port, access_log=None, print=None)


class SimControl:
    """A tiny blocking client for the `/_sim/` control API (stdlib only; for tests and scripts)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    def _call(self, method: str, path: str, body: dict | None = None) -> dict:
        import json
        import urllib.request

        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base_url + path, data=data, method=method,
                                     headers={"content-type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read() or b"{}")

    def calls(self, model: str | None = None) -> dict:
        """All counts, or one model's `{"total": n, "ok": n, "<fault>": n}` (empty if never called)."""
        snap = self._call("GET", "/_sim/calls")
        return snap if model is None else snap["models"].get(model, {})

    def total(self, model: str) -> int:
        return self.calls(model).get("total", 0)

    def client_closed(self, model: str) -> int:
        """Streams of `model` whose client closed the connection before their end."""
        return self.calls()["client_closed"].get(model, 0)

    def set_fault(self, model: str, fault: str | None, duration_s: float | None = None, count: int | None = None,
                  **params) -> dict:
        return self._call("POST", "/_sim/faults", {"model": model, "fault": fault, "duration_s": duration_s,
                                                   "count": count, "params": params})

    def configure(self, **values) -> dict:
        return self._call("POST", "/_sim/config", values)

    def requests(self, model: str | None = None) -> list[dict]:
        """The request bodies the simulator received (oldest first, the last 500), as {"provider", "model",
        "path", "body"}; only `model`'s when given."""
        got = self._call("GET", "/_sim/requests")["requests"]
        return got if model is None else [r for r in got if r["model"] == model]

    def reset(self) -> None:
        self._call("POST", "/_sim/reset", {})
