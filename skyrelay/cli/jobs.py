"""`skyrelay jobs replay-dlq`: move dead-lettered jobs back to work (runtime/jobs/replay.py), or, with
`--dry-run`, count and list them without changing anything.

    skyrelay jobs replay-dlq --config skyrelay.yaml --deployment azure --dry-run

The store and queue are the config's `jobs:` section, with what a deployment decided filled in from
the environment, as its functions do (`--deployment aws`: the DynamoDB table and SQS queues of
AsyncJobs' variables; `--deployment azure`: the Cosmos container and Service Bus queues; `--deployment
gcp`: the Firestore collection and Cloud Tasks queues, where the dead letters are the FAILED jobs
the worker gave up on, since Cloud Tasks keeps none). Exit codes:
0 done, 2 bad usage or config (the message names the key or file).
"""

import json
import os
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer


class Target(StrEnum):
    config = "config"
    aws = "aws"
    azure = "azure"
    gcp = "gcp"


def register(app: typer.Typer) -> None:
    jobs = typer.Typer(no_args_is_help=True, help="Operate on the job store and queues of a deployment.")
    jobs.command(name="replay-dlq")(replay_dlq)
    app.add_typer(jobs, name="jobs")


def _deployment(target: Target):
    if target == Target.aws:
        from skyrelay.runtime.platforms.aws_lambda.runtime import AWS

        return AWS
    if target == Target.azure:
        from skyrelay.runtime.platforms.azure_functions.runtime import AZURE

        return AZURE
    if target == Target.gcp:
        from skyrelay.runtime.platforms.cloud_run.runtime import GCP

        return GCP
    return None


def replay_dlq(
    config: Annotated[Path, typer.Option(help="the router config (its jobs: section names the store and queue)")],
    deployment: Annotated[Target, typer.Option(help="fill the store and queue from this deployment's "
                                                    "environment variables, as its functions do")] = Target.config,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="count and list; change nothing")] = False,
    limit: Annotated[int, typer.Option(min=1, help="dead letters looked at in this run")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="the report as JSON")] = False,
) -> None:
    """Move dead-lettered jobs back to PENDING with a fresh message (attempts reset, a `replayed`
    history entry), or count them with --dry-run."""
    import asyncio

    from skyrelay.errors import ConfigError
    from skyrelay.runtime.config import load_config
    from skyrelay.runtime.jobs.replay import make_source, replay
    from skyrelay.runtime.platforms import bootstrap

    try:
        target = _deployment(deployment)
        router_config = bootstrap.apply_contract(load_config(config), os.environ, target)
        jobs = bootstrap.jobs_config(router_config, os.environ, target)
        store, queue = bootstrap.store_and_queue(jobs)
        source = make_source(jobs.queue.backend, queue, store)
    except (ConfigError, ValueError, OSError) as exc:
        typer.echo(f"replay-dlq: {exc}", err=True)
        raise typer.Exit(2) from None

    async def run():
        try:
            return await replay(store, source, dry_run=dry_run, limit=limit)
        finally:
            await source.close()
            await queue.close()
            await store.close()

    report = asyncio.run(run())
    if as_json:
        typer.echo(json.dumps({"dry_run": report.dry_run, "count": report.count, "counts": report.counts(),
                               "jobs": [o.__dict__ for o in report.outcomes]}, indent=2))
        return
    for o in report.outcomes:
        typer.echo(f"{o.action:<20} {o.job_id}  status={o.status}  reason={o.reason}")
    summary = ", ".join(f"{k}={v}" for k, v in sorted(report.counts().items())) or "none"
    verb = "found (dry run)" if dry_run else "looked at"
    typer.echo(f"{report.count} dead-lettered job(s) {verb}: {summary}")
