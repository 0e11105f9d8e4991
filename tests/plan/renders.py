"""Renders plans through the CLI, as a user runs `skyrelay plan`, and prints every output as JSON.

`python -m tests.plan.renders TARGET...` where TARGET is `stack:NAME` or `program:DIR` (a corpus
program, with the `--config` arguments its case gives). The byte-stability test runs this twice, in
two processes with different hash seeds (the order of Python sets changes between processes, which
is where unstable output used to come from), and compares the bytes.
"""

import json
import sys
from pathlib import Path

FORMATS = ("json", "markdown", "text")
ROOT = Path(__file__).resolve().parents[2]


def cli_args(target: str, fmt: str) -> list[str]:
    from tests.plan.corpus_cases import CASES

    kind, _, name = target.partition(":")
    if kind == "stack":
        return ["plan", "--stack", name, "--project-dir", str(ROOT), "--format", fmt]
    case = CASES[Path(name).name]
    config = [arg for key, value in case.config.items() for arg in ("--config", f"{key}={value}")]
    return ["plan", "--program", str(ROOT / "tests" / "corpus" / Path(name).name), *config, "--format", fmt]


def main(targets: list[str]) -> None:
    from typer.testing import CliRunner

    from skyrelay.cli.main import app

    runner = CliRunner()
    out = {}
    for target in targets:
        for fmt in FORMATS:
            result = runner.invoke(app, cli_args(target, fmt))
            out[f"{target} {fmt}"] = {"exit": result.exit_code, "stdout": result.stdout,
                                      "error": repr(result.exception) if result.exit_code not in (0, 1) else ""}  # fmt: skip
    sys.stdout.write(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1:])
