"""When a program fails under `skyrelay plan`: an error a user can act on.

`ProgramError` names the user's own file and line (the innermost frame in the program's folder),
the resource being constructed or the invoke involved, and the class of failure:

- `missing-config`: a required config value is not set; the message names the `--config` key.
- `unknown-at-preview`: plain Python code used a value only known after deployment (an SDK Unknown,
  or an invoke field the plan could not compute).
- `unsupported-invoke`: the program used the result of an invoke the plan has no answer for (no
  table entry and no SDK result class), and failed on a missing field or None.
- `program-error`: anything else, the program's own error, with its message.
"""

import linecache
import re
from pathlib import Path
from types import TracebackType
from typing import Any

import pulumi
from pulumi.config import ConfigMissingError, ConfigTypeError
from pulumi.output import Unknown

from skyrelay.plan.unknowns import UNKNOWN, is_tainted, tainted_source

KINDS = ("missing-config", "unknown-at-preview", "unsupported-invoke", "program-error")
_FAILED_INVOKE = re.compile(r"invoke of ([\w.:/-]+) failed: (.*)", re.S)

_HINTS = {
    "missing-config": "set it: --config {key}=VALUE (or add it under `config:` in the stack file given to --config)",
    "unknown-at-preview": (
        "this value is only known after deployment: pass the Output itself, or use it inside .apply() "
        "(or the invoke's _output form), which preview skips while the value is unknown"
    ),
    "unsupported-invoke": (
        "the plan has no answer for {invoke}: use its _output form (unknown at preview), or add it to "
        "TABLE in skyrelay/plan/invokes.py"
    ),
}


class ProgramError(RuntimeError):
    """The program failed while rendering; `str()` is the report the CLI prints."""

    def __init__(self, kind: str, message: str, file: str | None = None, line: int | None = None,
                 source: str = "", resource: str | None = None, invoke: str | None = None,
                 config_key: str | None = None):  # fmt: skip
        self.kind, self.message, self.file, self.line, self.source = kind, message, file, line, source
        self.resource, self.invoke, self.config_key = resource, invoke, config_key
        super().__init__(self.report())

    def report(self) -> str:
        where = f" at {self.file}:{self.line}" if self.file else ""
        lines = [f"{self.kind}{where}: {self.message}"]
        if self.source:
            lines.append(f"  {self.line} | {self.source}")
        if self.resource:
            lines.append(f"  resource: {self.resource}")
        if self.invoke:
            lines.append(f"  invoke: {self.invoke}")
        hint = _HINTS.get(self.kind)
        if hint:
            lines.append("  hint: " + hint.format(key=self.config_key, invoke=self.invoke or "this invoke"))
        return "\n".join(lines)


def diagnose(exc: BaseException, program_dir: Path, invokes: list[dict[str, Any]]) -> ProgramError:
    frames = _frames(exc)
    user = [f for f in frames if _in_program(f.tb_frame.f_code.co_filename, program_dir)]
    frame = user[-1].tb_frame if user else None
    file = line = None
    source = ""
    if user:
        file, line = _display(frame.f_code.co_filename), user[-1].tb_lineno
        source = linecache.getline(frame.f_code.co_filename, line).strip()
    resource = _resource(frames)
    invoke = _invoke_function(frames)
    message = f"{type(exc).__name__}: {_clean(str(exc))}"
    failed = _FAILED_INVOKE.search(str(exc))
    if failed:
        invoke, message = failed.group(1), f"{type(exc).__name__}: invoke of {failed.group(1)} failed: {failed.group(2)}"

    def error(kind: str, **extra) -> ProgramError:
        fields = {"file": file, "line": line, "source": source, "resource": resource, "invoke": invoke} | extra
        return ProgramError(kind, message, **fields)

    if isinstance(exc, ConfigMissingError | ConfigTypeError):
        # The SDK's own message tells to run `pulumi config set`; the hint says how to set it here.
        message = str(exc).splitlines()[0] if isinstance(exc, ConfigTypeError) else (
            f"{type(exc).__name__}: missing required configuration variable '{exc.key}'"
        )
        return error("missing-config", config_key=exc.key)
    unknown_from = _unknown_source(exc, frame)
    if unknown_from is not None:
        return error("unknown-at-preview", invoke=unknown_from or invoke)
    unsupported = [i["token"] for i in invokes if i["answer"] == "unsupported"]
    if unsupported and isinstance(exc, AttributeError | IndexError | KeyError | TypeError):
        return error("unsupported-invoke", invoke=", ".join(unsupported))
    return error("program-error")


def _frames(exc: BaseException) -> list[TracebackType]:
    out, tb = [], exc.__traceback__
    while tb is not None:
        out.append(tb)
        tb = tb.tb_next
    return out


def _in_program(filename: str, program_dir: Path) -> bool:
    path = Path(filename)
    return path.is_relative_to(program_dir) and "site-packages" not in path.parts


def _display(filename: str) -> str:
    path = Path(filename)
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _resource(frames: list[TracebackType]) -> str | None:
    """The resource whose constructor was running: `aws.iam.Role("name")`."""
    for tb in frames:
        local = tb.tb_frame.f_locals
        self = local.get("self") or local.get("__self__")
        if isinstance(self, pulumi.Resource):
            cls = type(self)
            parts = cls.__module__.split(".")
            package = parts[0].removeprefix("pulumi_").replace("_native", "-native")
            module = ".".join(parts[1:-1]) if len(parts) > 2 else ""
            name = local.get("resource_name") or local.get("name") or getattr(self, "_name", "?")
            return f"{'.'.join(p for p in (package, module, cls.__name__) if p)}({name!r})"
    return None


def _invoke_function(frames: list[TracebackType]) -> str | None:
    """The SDK data-source function that was running, e.g. `aws.iam.get_policy_document`."""
    for tb in reversed(frames):
        code = tb.tb_frame.f_code
        module = tb.tb_frame.f_globals.get("__name__", "")
        if module.startswith("pulumi_") and code.co_name.startswith(("get_", "list_")):
            parts = module.split(".")
            return ".".join([parts[0].removeprefix("pulumi_"), *parts[1:-1], code.co_name])
    return None


def _unknown_source(exc: BaseException, frame) -> str | None:
    """'' or the `token:field` an unknown came from, when the failure is about an unknown; else None."""
    text = str(exc)
    if is_tainted(text):
        return tainted_source(text) or ""
    if "'Unknown'" in text:
        return ""
    for value in (frame.f_locals.values() if frame is not None else ()):
        if isinstance(value, Unknown):
            return ""
        if is_tainted(value):
            return tainted_source(value) or ""
    return None


def _clean(text: str) -> str:
    """The message without placeholder noise: a placeholder shows as <unknown>."""
    return re.sub(re.escape(UNKNOWN) + r"(<[^>]*>)?", "<unknown>", text).strip()
