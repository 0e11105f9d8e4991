"""The floor for a Python gateway here: uvicorn + one pooled aiohttp session, forwarding POST bodies.

    UPSTREAM=http://127.0.0.1:8081 uvicorn --factory bench.passthrough_proxy:make_app --workers 2
"""

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
