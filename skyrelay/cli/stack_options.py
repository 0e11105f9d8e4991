"""The options `skyrelay plan` and `skyrelay check` share (--stack / --program DIR / --config /
--format / --project-dir) and the offline render they lead to, written once so both commands accept
the same input, reject the same misuse with the same message, and render the same stack.

`--config` takes a stack file (`Pulumi.prod.yaml`: its name gives the stack name) or `KEY=VALUE`
(`db-name=app`: a key without a namespace gets the project's, as `pulumi config set` does); repeat it.
"""

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer


class Format(StrEnum):
    text = "text"
    markdown = "markdown"
    json = "json"


Stack = Annotated[str | None, typer.Option(help="stack name: renders stacks/Pulumi.<stack>.yaml")]
Program = Annotated[Path | None, typer.Option(help="any Pulumi Python program folder")]
Config = Annotated[
    list[str] | None,
    typer.Option(help="stack file (Pulumi.<stack>.yaml) or KEY=VALUE; repeatable"),
]
FormatOption = Annotated[Format, typer.Option("--format", "-f")]
ProjectDir = Annotated[Path, typer.Option(help="folder with Pulumi.yaml (for --stack)")]


def fail(command: str, message: str) -> None:
    """A usage or input error: the message on stderr, exit code 2 (as every skyrelay command)."""
    typer.echo(f"skyrelay {command}: {message}", err=True)
    raise typer.Exit(2)


def require_one(command: str, stack: str | None, program: Path | None) -> None:
    if (stack is None) == (program is None):
        fail(command, "give exactly one of --stack NAME or --program DIR")


def render(command: str, stack: str | None, program: Path | None, config: list[str], project_dir: Path):
    """The stack (or program, with its --config files and settings) rendered offline under mocks.

    Raises ConfigError and ProgramError for the command to report; --config FILE with --stack is a
    usage error (the stack's own file is the config)."""
    from skyrelay.plan import render_program, render_stack

    if stack is not None:
        files, overrides = config_args(config, "")
        if files:
            fail(command, "--config FILE is for --program; with --stack, give KEY=VALUE overrides")
        return render_stack(stack, project_dir, overrides=overrides)[0]
    from skyrelay.config import read_stack_file
    from skyrelay.plan.render import program_project

    files, overrides = config_args(config, program_project(program))
    raw: dict = {}
    for path in files:
        raw |= read_stack_file(path)
    raw |= overrides
    name = files[0].name.removeprefix("Pulumi.").removesuffix(".yaml") if files else "dev"
    return render_program(program, raw, stack=name)


def config_args(values: list[str], namespace: str) -> tuple[list[Path], dict[str, str]]:
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
