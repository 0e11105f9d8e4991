"""The control API under `/_sim/`: set faults per model, read call counts, change settings, reset."""

from dataclasses import asdict

import orjson
from aiohttp import web

from skyrelay.runtime.simulator.engine import STATE_KEY
from skyrelay.runtime.simulator.faults import FAULTS


def _json(data, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, content_type="application/json")


async def _body(request: web.Request) -> dict:
    raw = await request.read()
    try:
        data = orjson.loads(raw) if raw else {}
    except orjson.JSONDecodeError:
        raise web.HTTPBadRequest(text="invalid JSON") from None
    if not isinstance(data, dict):
        raise web.HTTPBadRequest(text="body must be a JSON object")
    return data


async def set_fault(request: web.Request) -> web.Response:
    """{model, fault, duration_s?, count?, params?}; fault null / "none" clears the model's fault."""
    data = await _body(request)
    model = data.get("model")
    if not model:
        return _json({"error": "model is required"}, 400)
    try:
        request.app[STATE_KEY].faults.set(str(model), data.get("fault"), data.get("duration_s"), data.get("count"),
                                          data.get("params"))
    except ValueError as exc:
        return _json({"error": str(exc)}, 400)
    return _json(request.app[STATE_KEY].faults.snapshot())


async def list_faults(request: web.Request) -> web.Response:
    return _json({"active": request.app[STATE_KEY].faults.snapshot(), "known": list(FAULTS)})


async def calls(request: web.Request) -> web.Response:
    return _json(request.app[STATE_KEY].snapshot())


async def requests(request: web.Request) -> web.Response:
    return _json({"requests": list(request.app[STATE_KEY].requests)})


async def config(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    if request.method == "POST":
        state.config = state.config.updated(await _body(request))
    return _json(asdict(state.config))


async def reset(request: web.Request) -> web.Response:
    request.app[STATE_KEY].reset()
    return _json({"ok": True})


def add_routes(app: web.Application) -> None:
    app.router.add_post("/_sim/faults", set_fault)
    app.router.add_get("/_sim/faults", list_faults)
    app.router.add_get("/_sim/calls", calls)
    app.router.add_get("/_sim/requests", requests)
    app.router.add_get("/_sim/config", config)
    app.router.add_post("/_sim/config", config)
    app.router.add_post("/_sim/reset", reset)
