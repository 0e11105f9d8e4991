"""The floor for a Python gateway here: uvicorn + one pooled aiohttp session, forwarding POST bodies.

    UPSTREAM=http://127.0.0.1:8081 python -m bench.passthrough_proxy --port 8082 --workers 2 [--placement shared]

Workers are placed exactly as `skyrelay serve` places them (skyrelay.cli.serve.run_workers: one
SO_REUSEPORT socket per worker by default), so the benchmark compares like with like.
"""

import argparse
import os

import aiohttp

UPSTREAM = os.environ.get("UPSTREAM", "http://127.0.0.1:8081")


def make_app():
    session: aiohttp.ClientSession | None = None

    async def app(scope, receive, send):
        nonlocal session
        if scope["type"] == "lifespan":
            while True:
                msg = await receive()
                if msg["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif msg["type"] == "lifespan.shutdown":
                    if session is not None:
                        await session.close()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if session is None:
            session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1000))
        body, more = b"", True
        while more:
            msg = await receive()
            body += msg.get("body", b"")
            more = msg.get("more_body", False)
        async with session.post(UPSTREAM + scope["path"], data=body,
                                headers={"content-type": "application/json"}) as r:
            data = await r.read()
            ctype = r.headers.get("content-type", "application/json").encode()
            await send({"type": "http.response.start", "status": r.status,
                        "headers": [(b"content-type", ctype), (b"content-length", str(len(data)).encode())]})
            await send({"type": "http.response.body", "body": data})

    return app


if __name__ == "__main__":
    import uvicorn

    from skyrelay.cli.serve import run_workers

    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=8082)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--placement", default="reuseport", choices=("reuseport", "shared"))
    a = ap.parse_args()
    run_workers(uvicorn.Config("bench.passthrough_proxy:make_app", factory=True, port=a.port, workers=a.workers,
                               loop="uvloop", http="httptools", log_level="warning", access_log=False, backlog=4096,
                               server_header=False, proxy_headers=False), a.placement)
