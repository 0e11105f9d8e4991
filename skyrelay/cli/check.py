"""`skyrelay check`: the seed's production checklist, judged on the stack you are about to ship.

Renders the stack offline as `skyrelay plan` does (same --stack / --program DIR --config FILE
options), reads the router config the stack deploys from the rendered functions (or
--router-config FILE), and prints one row per point: pass, warn or fail, the evidence, the fix.

Exit codes, as `plan`'s: 0 no failed row (warnings allowed), 1 at least one failed row, 2 bad input
(unknown stack, bad config, malformed SLA file, unreachable Prometheus URL), with the message.
"""

import sys
from pathlib import Path
from typing import Annotated

import typer

from skyrelay.cli.plan import Format, _config_args


def register(app: typer.Typer) -> None:
    app.command(name="check")(check)


def check(
    stack: Annotated[str | None, typer.Option(help="stack name: renders stacks/Pulumi.<stack>.yaml")] = None,
    program: Annotated[Path | None, typer.Option(help="any Pulumi Python program folder")] = None,
    config: Annotated[
        list[str] | None,
        typer.Option(help="stack file (Pulumi.<stack>.yaml) or KEY=VALUE; repeatable"),
    ] = None,
    format: Annotated[Format, typer.Option("--format", "-f")] = Format.text,
    project_dir: Annotated[Path, typer.Option(help="folder with Pulumi.yaml (for --stack)")] = Path("."),
    router_config: Annotated[
        Path | None, typer.Option(help="router config file, instead of the one the rendered functions carry")
    ] = None,
    failover: Annotated[bool, typer.Option(help="point 5: run the takeover scenario on the local simulator")] = False,
    sla: Annotated[Path | None, typer.Option(help="point 6: latency budgets file (YAML); measures p50/p95/p99")] = None,
    prometheus: Annotated[
        str | None, typer.Option(help="point 6: measure from this Prometheus URL instead of a built-in load run")
    ] = None,
) -> None:
    """Check a stack against the production checklist (docs/readiness.md)."""
    from skyrelay.check import CheckInputError, Options, Status, report, run, subject_of
    from skyrelay.errors import ConfigError
    from skyrelay.plan import ProgramError

    if (stack is None) == (program is None):
        _fail("give exactly one of --stack NAME or --program DIR")
    try:
        plan = _render(stack, program, config or [], project_dir)
        raw = _router_file(router_config) if router_config else None
        subject = subject_of(plan, raw)
        rows = run(subject, Options(failover=failover, sla=sla, prometheus=prometheus))
    except ConfigError as exc:
        _fail(f"config error: {exc}")
    except ProgramError as exc:
        _fail(str(exc))
    except CheckInputError as exc:
        _fail(str(exc))
    if format is Format.json:
        sys.stdout.write(report.json_text(plan.stack, rows))
    elif format is Format.markdown:
        sys.stdout.write(report.markdown(plan.stack, rows))
    else:
        report.text(plan.stack, rows)
    if any(r.status is Status.failed for r in rows):
        raise typer.Exit(1)


def _render(stack: str | None, program: Path | None, config: list[str], project_dir: Path):
    from skyrelay.plan import render_program, render_stack

    if stack is not None:
        files, overrides = _config_args(config, "")
        if files:
            _fail("--config FILE is for --program; with --stack, give KEY=VALUE overrides")
        return render_stack(stack, project_dir, overrides=overrides)[0]
    from skyrelay.config import read_stack_file
    from skyrelay.plan.render import program_project

    files, overrides = _config_args(config, program_project(program))
    raw: dict = {}
    for path in files:
        raw |= read_stack_file(path)
    raw |= overrides
    name = files[0].name.removeprefix("Pulumi.").removesuffix(".yaml") if files else "dev"
    return render_program(program, raw, stack=name)


def _router_file(path: Path) -> dict:
    import yaml

    from skyrelay.check import CheckInputError

    try:
        raw = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise CheckInputError(f"--router-config {path}: {exc}") from None
    if not isinstance(raw, dict):
        raise CheckInputError(f"--router-config {path}: expected a mapping")
    return raw


def _fail(message: str) -> None:
    typer.echo(f"skyrelay check: {message}", err=True)
    raise typer.Exit(2)
