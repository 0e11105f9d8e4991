"""`skyrelay serve`: the router's HTTP API (OpenAI-compatible) under uvicorn with uvloop and httptools."""

import os
import tempfile

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(
        config: str = typer.Option(..., "--config", "-c", help="Router config YAML (see examples/local.yaml)."),
        port: int = typer.Option(8080, "--port", "-p", help="TCP port to listen on."),
        host: str = typer.Option("127.0.0.1", "--host", help="Interface to bind."),
        workers: int = typer.Option(1, "--workers", "-w", min=1, help="Worker processes (share one socket)."),
        log_level: str = typer.Option("warning", "--log-level", help="uvicorn log level."),
    ) -> None:
        """Serve /v1/chat/completions, /v1/models, /healthz, /metrics and /openapi.json."""
        import uvicorn

        from skyrelay.runtime.api.app import CONFIG_ENV
        from skyrelay.runtime.router.config import load_config

        cfg = load_config(config)  # fail here, with the offending key, rather than in every worker
        if cfg.jobs is not None:  # async jobs: the API plus in-process job workers (runtime/platforms/local)
            from skyrelay.runtime.platforms.local import serve_config

            typer.echo(f"skyrelay router + {cfg.jobs.worker.workers} job worker(s) on http://{host}:{port}")
            return serve_config(config, host, port, log_level)
        os.environ[CONFIG_ENV] = os.path.abspath(config)
        if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="skyrelay-metrics-")
        typer.echo(f"skyrelay router on http://{host}:{port}  ({workers} worker{'s' if workers > 1 else ''})")
        uvicorn.run(
            "skyrelay.runtime.api.app:app_from_env", factory=True, host=host, port=port, workers=workers,
            loop="uvloop", http="httptools", lifespan="on", log_level=log_level, access_log=False,
            backlog=4096, server_header=False, proxy_headers=False,
        )
