"""A webhook receiver on loopback that keeps what it got: the platform e2e tests (Functions, Cloud
Run) verify the signed deliveries it holds with the standardwebhooks library."""

from aiohttp import web


class Hooks:
    async def start(self):
        self.got = []

        async def hook(request):
            self.got.append((await request.read(), dict(request.headers)))
            return web.Response(status=204)

        app = web.Application()
        app.router.add_post("/hook", hook)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/hook"
        return self

    async def stop(self):
        await self.runner.cleanup()
