"""Entry point of the `skyrelay` command.

Each sub-command lives in its own module with a `register(app)` function and imports its heavy
dependencies (pulumi, uvicorn, ...) inside the command body, so `skyrelay --help` stays fast.
"""

import importlib

import typer

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Production blueprints for async AI on AWS, Azure and GCP.")



@app.callback()
def _root() -> None:
    """Keeps `skyrelay` a command group even while it has a single sub-command."""


# One line per sub-command module.
COMMANDS = ("plan", "simulate", "serve", "demo", "jobs", "check")

for _name in COMMANDS:
    importlib.import_module(f"skyrelay.cli.{_name}").register(app)

if __name__ == "__main__":
    app()
