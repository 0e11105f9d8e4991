"""`python -m skyrelay.runtime.platforms.cloud_run --role api|worker [--host H] [--port P]`: one Cloud
Run service. The port is $PORT (Cloud Run sets it; 8080 otherwise), the host 0.0.0.0 (Cloud Run's
front end connects from outside the container).

SIGTERM: uvicorn stops accepting, gives in-flight requests `worker.shutdown_grace_s` (Cloud Run
allows 10 s after SIGTERM), then cancels what is left: a cancelled job is released to PENDING
(runtime/jobs/worker.py) and its push gets no 2xx, so Cloud Tasks delivers it again. The lifespan then
closes the store, queue and router.
"""

import argparse
import os
import sys

ROLES = ("api", "worker")


def api_app():
    from skyrelay.runtime.platforms import bootstrap
    from skyrelay.runtime.platforms.cloud_run import runtime

    started = runtime.start()
    app = bootstrap.api_app(started.config, started.store, started.queue, started.jobs)
    return app, started.jobs.worker.shutdown_grace_s


def worker_app():
    """Built before serving: Cloud Run's startup probe waits for it, and no push pays for it."""
    from skyrelay.runtime.platforms.cloud_run.worker import build, make_app

    handlers = build()
    return make_app(handlers=lambda: handlers), handlers.cfg.worker.shutdown_grace_s


def server_config(app, host: str, port: int, grace_s: float):
    """runtime/api/server.py's uvicorn settings (uvloop, httptools with the header limit); where the
    image lacks uvloop or httptools (uvicorn installed without its `standard` extra), uvicorn's own
    asyncio loop and h11, which applies the same header limit. Cloud Run kills the instance 10 s after
    SIGTERM: the drain stays within 8 s."""
    import importlib.util

    drain = max(1, min(int(grace_s), 8))
    if importlib.util.find_spec("uvloop") and importlib.util.find_spec("httptools"):
        from skyrelay.runtime.api.server import uvicorn_config

        return uvicorn_config(app, host=host, port=port, timeout_graceful_shutdown=drain)
    import uvicorn

    return uvicorn.Config(app, host=host, port=port, log_level="warning", loop="asyncio", http="h11", lifespan="on",
                          access_log=False, server_header=False, proxy_headers=False,
                          h11_max_incomplete_event_size=65536, timeout_graceful_shutdown=drain)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m skyrelay.runtime.platforms.cloud_run")
    parser.add_argument("--role", choices=ROLES, required=True)
    parser.add_argument("--host", default="0.0.0.0")  # noqa: S104 - Cloud Run's front end is outside
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8080")))
    args = parser.parse_args(argv)
    import logging

    import uvicorn

    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    app, grace = api_app() if args.role == "api" else worker_app()
    uvicorn.Server(server_config(app, args.host, args.port, grace)).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
