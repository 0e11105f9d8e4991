"""`skyrelay plan`: the credential-free preview of a stack or any Pulumi Python program.

The policy pack (skyrelay.policies) judges the rendered resources with the same rules and the same
config as `pulumi preview --policy-pack policies --policy-pack-config FILE`.

Exit codes: 0 ok (advisory findings allowed), 1 at least one mandatory policy violation, 2 bad
usage or config (the message names the key or file), or a program that fails: the message names the
file and line, the resource or invoke, the class of failure and, for missing config, the key to set.

The --stack / --program / --config options (and how --config reads) are skyrelay/cli/stack_options.py,
shared with `skyrelay check`.
"""

import sys
from pathlib import Path
from typing import Annotated

import typer

from skyrelay.cli import stack_options as opts


def register(app: typer.Typer) -> None:
    app.command(name="plan")(plan)


def plan(
    stack: opts.Stack = None,
    program: opts.Program = None,
    config: opts.Config = None,
    format: opts.FormatOption = opts.Format.text,
    project_dir: opts.ProjectDir = Path("."),
    policy_config: Annotated[
        Path | None, typer.Option(help="policy pack config JSON, as for `pulumi preview --policy-pack-config`")
    ] = None,
) -> None:
    """Render a stack offline (no credentials, no Pulumi CLI) and report its resources."""
    from skyrelay.errors import ConfigError
    from skyrelay.plan import ProgramError, report
    from skyrelay.plan.policy import Evaluator, load_policy_config, mandatory

    opts.require_one("plan", stack, program)
    try:
        evaluator = Evaluator(load_policy_config(policy_config))
    except ConfigError as exc:
        _fail(f"policy config error: {exc}")
    try:
        result = opts.render("plan", stack, program, config or [], project_dir)
    except ConfigError as exc:
        _fail(f"config error: {exc}")
    except ProgramError as exc:
        _fail(str(exc))
    violations = evaluator.evaluate(result)
    rules = len(evaluator.policies)
    if format is opts.Format.json:
        sys.stdout.write(report.json_text(result, violations))
    elif format is opts.Format.markdown:
        sys.stdout.write(report.markdown(result, violations, rules))
    else:
        report.text(result, violations, rules)
    if mandatory(violations):
        raise typer.Exit(1)


def _fail(message: str) -> None:
    opts.fail("plan", message)
