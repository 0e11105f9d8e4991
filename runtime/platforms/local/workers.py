"""A job worker process for local mode: `skyrelay serve` starts `jobs.worker.workers` of these.

    python -m skyrelay.runtime.platforms.local.workers CONFIG [--name worker-1] [--no-sweep] [--parent PID]

SIGTERM or SIGINT: stop receiving, give in-flight jobs `jobs.worker.shutdown_grace_s`, release the
rest (job back to PENDING, message visible at once), exit 0. With `--parent`, the process also stops
when that process goes away (the API was SIGKILLed), so no worker is orphaned.
"""

import argparse
import asyncio
import logging
import os
import signal

from skyrelay.runtime.platforms.local import _run, run_workers

log = logging.getLogger("skyrelay.local.workers")


async def main(config: str, name: str, sweep: bool, parent: int | None) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    async def watch_parent():
        while not stop.is_set():
            if os.getppid() != parent:
                log.warning("%s: parent %d is gone; stopping", name, parent)
                stop.set()
                return
            await asyncio.sleep(1.0)

    watcher = asyncio.create_task(watch_parent()) if parent else None
    try:
        await run_workers(config, 1, stop=stop, sweep=sweep, name=name)
    finally:
        if watcher is not None:
            watcher.cancel()


def cli(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="skyrelay-worker")
    ap.add_argument("config")
    ap.add_argument("--name", default=f"worker-{os.getpid()}")
    ap.add_argument("--no-sweep", action="store_true", help="leave the sweeper to another process")
    ap.add_argument("--parent", type=int, default=None, help="stop when this process goes away")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    _run(main(args.config, args.name, not args.no_sweep, args.parent))


if __name__ == "__main__":
    cli()
