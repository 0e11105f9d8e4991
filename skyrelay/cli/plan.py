"""`skyrelay plan`: the credential-free preview of a stack or any Pulumi Python program.

The policy pack (skyrelay.policies) judges the rendered resources with the same rules and the same
config as `pulumi preview --policy-pack policies --policy-pack-config FILE`.

Exit codes: 0 ok (advisory findings allowed), 1 at least one mandatory policy violation, 2 bad
usage or config (the message names the key or file), or a program that fails: the message names the
file and line, the resource or invoke, the class of failure and, for missing config, the key to set.

`--config` takes a stack file (`Pulumi.prod.yaml`: its name gives the stack name) or `KEY=VALUE`
(`db-name=app`: a key without a namespace gets the project's, as `pulumi config set` does); repeat it.
"""

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer


class Format(StrEnum):
    text = "text"
    markdown = "markdown"
    json = "json"


def register(app: typer.Typer) -> None:
    app.command(name="plan")(plan)


def plan(
    stack: Annotated[str | None, typer.Option(help="stack name: renders stacks/Pulumi.<stack>.yaml")] = None,
    program: Annotated[Path | None, typer.Option(help="any Pulumi Python program folder")] = None,
    config: Annotated[
        list[str] | None,
        typer.Option(help="stack file (Pulumi.<stack>.yaml) or KEY=VALUE; repeatable"),
    ] = None,
    format: Annotated[Format, typer.Option("--format", "-f")] = Format.text,
    project_dir: Annotated[Path, typer.Option(help="folder with Pulumi.yaml (for --stack)")] = Path("."),
    policy_config: Annotated[
        Path | None, typer.Option(help="policy pack config JSON, as for `pulumi preview --policy-pack-config`")
    ] = None,
) -> None:
    """Render a stack offline (no credentials, no Pulumi CLI) and report its resources."""
    from skyrelay.errors import ConfigError
    from skyrelay.plan import ProgramError, render_program, render_stack, report
    from skyrelay.plan.policy import Evaluator, load_policy_config, mandatory

    if (stack is None) == (program is None):
        _fail("give exactly one of --stack NAME or --program DIR")
    try:
        evaluator = Evaluator(load_policy_config(policy_config))
    except ConfigError as exc:
        _fail(f"policy config error: {exc}")
    try:
        if stack is not None:
            files, overrides = _config_args(config or [], "")
            if files:
                _fail("--config FILE is for --program; with --stack, give KEY=VALUE overrides")
            result, _ = render_stack(stack, project_dir, overrides=overrides)
        else:
            from skyrelay.config import read_stack_file
            from skyrelay.plan.render import program_project

            files, overrides = _config_args(config or [], program_project(program))
            raw: dict = {}
            for path in files:
                raw |= read_stack_file(path)
            raw |= overrides
            name = files[0].name.removeprefix("Pulumi.").removesuffix(".yaml") if files else "dev"
            result = render_program(program, raw, stack=name)
    except ConfigError as exc:
        _fail(f"config error: {exc}")
    except ProgramError as exc:
        _fail(str(exc))
    violations = evaluator.evaluate(result)
    rules = len(evaluator.policies)
    if format is Format.json:
        sys.stdout.write(report.json_text(result, violations))
    elif format is Format.markdown:
        sys.stdout.write(report.markdown(result, violations, rules))
    else:
        report.text(result, violations, rules)
    if mandatory(violations):
        raise typer.Exit(1)


def _config_args(values: list[str], namespace: str) -> tuple[list[Path], dict[str, str]]:
    """`--config` values: stack files, and KEY=VALUE settings (namespaced like `pulumi config set`)."""
    files, settings = [], {}
    for value in values:
        key, sep, setting = value.partition("=")
        if sep and not Path(value).is_file():
            key = key.strip()
            settings[key if ":" in key or not namespace else f"{namespace}:{key}"] = setting
        else:
            files.append(Path(value))
    return files, settings


def _fail(message: str) -> None:
    typer.echo(f"skyrelay plan: {message}", err=True)
    raise typer.Exit(2)
