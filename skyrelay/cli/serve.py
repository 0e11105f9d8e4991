"""`skyrelay serve`: the router's HTTP API (OpenAI-compatible) under uvicorn with uvloop and httptools.

With several workers, each worker process accepts on its own listening socket, all bound to the same
port with SO_REUSEPORT: the kernel spreads incoming connections over them by a hash of the 4-tuple,
so placement never depends on which worker happens to be awake when a connection arrives (with one
shared socket, a busy or descheduled worker can leave the other to accept almost everything). The
supervisor binds the sockets up front (a port in use fails at once) and keeps them open, so a worker
that dies is replaced on the same socket and connections queued on it wait instead of being reset.
`--placement shared` restores uvicorn's single shared socket. bench/passthrough_proxy.py starts the
same way, so the benchmark compares like with like.
"""

import contextlib
import logging
import os
import socket
import sys
import tempfile

import typer

log = logging.getLogger("uvicorn.error")
PLACEMENTS = ("reuseport", "shared")


def reuseport_sockets(host: str, port: int, n: int, backlog: int = 4096) -> list[socket.socket]:
    """`n` listening sockets on host:port, joined in one SO_REUSEPORT group."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(family, socket.SOCK_STREAM)
            socks.append(s)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            s.bind((host, port))
            s.listen(backlog)
            s.set_inheritable(True)
    except OSError:
        for s in socks:
            s.close()
        raise
    return socks


def run_workers(config, placement: str = "reuseport") -> None:
    """Blocking: runs a uvicorn `Config` with `config.workers` processes (uvicorn's own path for one
    worker or `placement="shared"`; one SO_REUSEPORT socket per worker otherwise)."""
    import uvicorn
    from uvicorn.config import STARTUP_FAILURE
    from uvicorn.supervisors.multiprocess import Multiprocess, Process

    if config.workers <= 1:
        server = uvicorn.Server(config)
        with contextlib.suppress(KeyboardInterrupt):
            server.run()
        if not server.started:
            sys.exit(STARTUP_FAILURE)
        return
    if placement == "shared" or not hasattr(socket, "SO_REUSEPORT"):
        sock = config.bind_socket()
        try:
            Multiprocess(config, sockets=[sock]).run()
        finally:
            sock.close()
        return

    class PerWorkerSockets(Multiprocess):
        """uvicorn's supervisor (signals, health checks, restarts), except worker i serves only socket i."""

        def _new(self, idx: int) -> Process:
            process = Process(self.config, [self.sockets[idx]])
            process.start()
            return process

        def init_processes(self) -> None:
            self.processes = [self._new(i) for i in range(self.processes_num)]

        def keep_subprocess_alive(self) -> None:
            if self.should_exit.is_set():
                return
            for idx, process in enumerate(self.processes):
                if process.is_alive(timeout=self.config.timeout_worker_healthcheck):
                    continue
                process.kill()
                process.join()
                if process.exitcode == STARTUP_FAILURE:  # a broken app or config: every restart would fail
                    log.error("Child process [%s] failed to start, stopping the parent process.", process.pid)
                    self.should_exit.set()
                    return
                if self.should_exit.is_set():
                    return
                log.info("Child process [%s] died", process.pid)
                self.processes[idx] = self._new(idx)

        def restart_all(self) -> None:  # SIGHUP: replace the workers one by one, each on its own socket
            for idx, old in enumerate(self.processes):
                if self.should_exit.is_set():
                    return
                old.terminate()
                old.join()
                self.processes[idx] = self._new(idx)

        def handle_ttin(self) -> None:
            log.warning("SIGTTIN ignored: the worker count is fixed with --placement reuseport")

        def handle_ttou(self) -> None:
            log.warning("SIGTTOU ignored: the worker count is fixed with --placement reuseport")

    socks = reuseport_sockets(config.host, config.port, config.workers, config.backlog)
    try:
        PerWorkerSockets(config, socks).run()
    finally:
        for s in socks:
            s.close()


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(
        config: str = typer.Option(..., "--config", "-c", help="Router config YAML (see examples/local.yaml)."),
        port: int = typer.Option(8080, "--port", "-p", help="TCP port to listen on."),
        host: str = typer.Option("127.0.0.1", "--host", help="Interface to bind."),
        workers: int = typer.Option(1, "--workers", "-w", min=1, help="Worker processes."),
        placement: str = typer.Option(
            "reuseport", "--placement",
            help="How connections reach workers: reuseport (a socket per worker, SO_REUSEPORT) or shared (one socket)."),
        log_level: str = typer.Option("warning", "--log-level", help="uvicorn log level."),
    ) -> None:
        """Serve /v1/chat/completions, /v1/models, /healthz, /metrics and /openapi.json."""
        from skyrelay.runtime.api.app import CONFIG_ENV
        from skyrelay.runtime.api.server import uvicorn_config
        from skyrelay.runtime.config import load_config

        if placement not in PLACEMENTS:
            raise typer.BadParameter(f"must be one of {', '.join(PLACEMENTS)}", param_hint="--placement")
        cfg = load_config(config)  # fail here, with the offending key, rather than in every worker
        jobs = cfg.jobs
        processes = workers if jobs is None else 1 + (0 if jobs.worker.in_process else jobs.worker.workers)
        if cfg.limiter.backend == "memory" and processes > 1:
            typer.echo(f"warning: limiter.backend memory keeps limits per process: with {processes} processes a "
                       f"tenant gets up to {processes}x its tier's limits. Use sqlite (one host) or redis.", err=True)
        if cfg.jobs is not None:  # async jobs: the API plus in-process job workers (runtime/platforms/local)
            from skyrelay.runtime.platforms.local import serve_config

            typer.echo(f"skyrelay router + {cfg.jobs.worker.workers} job worker(s) on http://{host}:{port}")
            return serve_config(config, host, port, log_level)
        os.environ[CONFIG_ENV] = os.path.abspath(config)
        if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="skyrelay-metrics-")
        typer.echo(f"skyrelay router on http://{host}:{port}  ({workers} worker{'s' if workers > 1 else ''}"
                   f"{', ' + placement + ' placement' if workers > 1 else ''})")
        run_workers(uvicorn_config("skyrelay.runtime.api.app:app_from_env", factory=True, host=host, port=port,
                                   workers=workers, log_level=log_level,
                                   max_header_bytes=cfg.api.max_header_bytes), placement)
