"""Runs a Pulumi Python program as `pulumi preview` would, under mocks, and returns what it registered.

`render_stack` is `skyrelay plan --stack NAME`: it validates our stack config first (so bad config
fails before any resource is registered) and then runs `stacks/`. `render_program` runs any
Pulumi Python program with a config mapping, ours or not.

The SDK runs in preview mode: an output the mocks do not answer is unknown and `.apply` on it does
not run (unknowns.py); invokes are answered by invokes.py. A program that still fails raises
`ProgramError` naming its file, line, resource or invoke and the class of failure (diagnose.py).
"""

import asyncio
import contextlib
import json
import os
import runpy
import sys
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pulumi import _types
from pulumi.output import Unknown, contains_unknowns
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from skyrelay.config import StackConfig, parse_stack_config, read_stack_file
from skyrelay.errors import ConfigError
from skyrelay.plan.diagnose import ProgramError, diagnose
from skyrelay.plan.invokes import OUTPUT_FORM, Context
from skyrelay.plan.mocks import PlanMocks
from skyrelay.plan.model import Plan
from skyrelay.plan.monitor import CapturingMonitor
from skyrelay.plan.unknowns import UNKNOWN, taint
from skyrelay.plan.wire import COMPUTED

__all__ = ["ProgramError", "find_project_root", "render_program", "render_stack", "stack_file"]


def find_project_root(start: str | Path = ".") -> Path:
    here = Path(start).resolve()
    for folder in (here, *here.parents):
        if (folder / "Pulumi.yaml").is_file():
            return folder
    raise ConfigError("Pulumi.yaml", f"no Pulumi.yaml in {here} or any parent folder")


def read_project(root: Path) -> dict[str, Any]:
    try:
        doc = yaml.safe_load((root / "Pulumi.yaml").read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError("Pulumi.yaml", f"malformed YAML: {exc}", str(root / "Pulumi.yaml")) from None
    if "name" not in doc:
        raise ConfigError("name", "Pulumi.yaml needs a project name", str(root / "Pulumi.yaml"))
    return doc


def program_project(program_dir: str | Path) -> str:
    """The project name a program runs as: its Pulumi.yaml's `name`, else its folder's name."""
    program_dir = Path(program_dir).resolve()
    with contextlib.suppress(ConfigError):
        return read_project(find_project_root(program_dir))["name"]
    return program_dir.name


def stack_file(root: Path, stack: str) -> Path:
    project = read_project(root)
    config_dir = project.get("stackConfigDir", ".")
    return root / config_dir / f"Pulumi.{stack}.yaml"


def render_stack(
    stack: str, root: str | Path | None = None, overrides: dict[str, Any] | None = None
) -> tuple[Plan, StackConfig]:
    """Validates and renders one of our stacks (`stacks/Pulumi.<stack>.yaml`), with `overrides`
    (`ns:key` -> value, from `--config KEY=VALUE`) applied over the file."""
    root = find_project_root(root or ".")
    project = read_project(root)
    path = stack_file(root, stack)
    raw = read_stack_file(path) | (overrides or {})
    config = parse_stack_config(raw, str(path))
    program = root / str(project.get("main", "."))
    plan = render_program(program, raw, stack=stack, project=project["name"], mocks=mocks_for(config, raw))
    return plan, config


def mocks_for(config: StackConfig, raw: dict[str, Any] | None = None) -> PlanMocks:
    """Mocks whose context is our stack config: the region, project and location it names."""
    kwargs, defaults = {}, {}
    if config.aws:
        kwargs["region"] = defaults["aws:region"] = config.aws.region
    if config.gcp:
        kwargs["gcp_project"] = defaults["gcp:project"] = config.gcp.project
        defaults["gcp:region"] = config.gcp.region
    if config.azure:
        kwargs["location"] = defaults["azure-native:location"] = config.azure.location
        if config.azure.subscription_id:
            defaults["azure-native:subscriptionId"] = config.azure.subscription_id
    return PlanMocks(**kwargs, context=Context(config=dict(raw or {}), defaults=defaults))


def mocks_from_config(config: dict[str, Any]) -> PlanMocks:
    """Mocks for any program: region, project and location from the providers' own config keys."""
    kwargs = {}
    for key, arg in (("aws:region", "region"), ("gcp:project", "gcp_project"), ("azure-native:location", "location")):
        if config.get(key):
            kwargs[arg] = str(config[key])
    return PlanMocks(**kwargs, context=Context(config=dict(config)))


def render_program(
    program_dir: str | Path,
    config: dict[str, Any],
    stack: str = "dev",
    project: str | None = None,
    mocks: PlanMocks | None = None,
) -> Plan:
    """Runs `program_dir/__main__.py` under mocks with `config` (Pulumi `ns:key` -> value)."""
    program_dir = Path(program_dir).resolve()
    main = program_dir / "__main__.py"
    if not main.is_file():
        raise ConfigError("program", f"{main} does not exist")
    project = project or program_project(program_dir)
    # A key without a namespace is the project's, as `pulumi config set` stores it.
    config = {(k if ":" in k else f"{project}:{k}"): v for k, v in config.items()}
    mocks = mocks or mocks_from_config(config)
    monitor = CapturingMonitor(mocks)
    _reset_pulumi()
    pulumi.runtime.set_all_config({k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()}, [])
    pulumi.runtime.set_mocks(monitor.mocks, project=project, stack=stack, preview=True, monitor=monitor)
    pulumi_settings.SETTINGS.rpc_manager.clear()
    pulumi_settings.SETTINGS.outputs.clear()
    failure = None
    with _program_context(program_dir), _output_form_marked():
        try:
            _sync_await(run_pulumi_func(lambda: runpy.run_path(str(main), run_name="__main__")))
        except ConfigError:
            raise
        except Exception as exc:  # the program's own failure: say where, what and what to do
            failure = exc
    if failure is not None:
        raise diagnose(failure, program_dir, mocks.invokes.summary()) from failure
    root = pulumi_settings.get_root_resource()
    outputs = {}
    if root is not None:
        outputs = {k: _plain(v) for k, v in sorted(getattr(root, "outputs", {}).items())}
    # Registration order depends on async scheduling; sort so reports and diffs are stable.
    resources = sorted(monitor.planned, key=lambda r: r.urn)
    return Plan(stack=stack, project=project, resources=resources, outputs=outputs,
                invokes=mocks.invokes.summary(), placeholders=mocks.invokes.placeholders())  # fmt: skip


def _plain(value: Any) -> Any:
    """Resolves an exported value for the report; Outputs become their value, unknown or [secret]."""
    if isinstance(value, pulumi.Output):
        resolved = _sync_await(value.future(with_unknowns=True))
        if _sync_await(value.is_secret()):
            return "[secret]"
        if not _sync_await(value.is_known()) and not contains_unknowns(resolved):
            return COMPUTED  # an apply that preview skipped
        return _plain(resolved)
    if isinstance(value, Unknown):
        return COMPUTED
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in sorted(value.items())}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, str):
        return COMPUTED if taint(value) == UNKNOWN else value
    if isinstance(value, int | float | bool) or value is None:
        return value
    if _types.is_output_type(type(value)):
        return _plain(_types.output_type_to_dict(value))
    return f"<{type(value).__name__}>"


@contextlib.contextmanager
def _output_form_marked():
    """Marks the invokes sent through the SDK's Output-form entry points (`get_x_output` calls
    `pulumi.runtime.invoke_output`), so the plan may answer them wholly unknown: the task the SDK
    starts for the invoke copies the context variable set here. Restored on exit."""
    originals = {name: getattr(pulumi.runtime, name) for name in ("invoke_output", "invoke_output_single")}

    def marked(original):
        def invoke(*args, **kwargs):
            token = OUTPUT_FORM.set(True)
            try:
                return original(*args, **kwargs)
            finally:
                OUTPUT_FORM.reset(token)

        return invoke

    for name, original in originals.items():
        setattr(pulumi.runtime, name, marked(original))
    try:
        yield
    finally:
        for name, original in originals.items():
            setattr(pulumi.runtime, name, original)


def _reset_pulumi() -> None:
    """Pulumi keeps the root stack in a module global; each render starts from none (config is
    replaced wholesale by set_all_config). It also needs a current event loop in this thread, which
    an earlier `asyncio.run` in the same process (a server, a test) leaves unset: give it a new one."""
    pulumi_settings.ROOT.set(None)
    asyncio.set_event_loop(asyncio.new_event_loop())


@contextlib.contextmanager
def _program_context(program_dir: Path):
    """Runs the program the way the language host does: from its folder, importable siblings. The
    sibling modules it imported are forgotten afterwards, so the next program's `iam.py` is its own."""
    old_cwd, old_path, old_modules = os.getcwd(), list(sys.path), set(sys.modules)
    os.chdir(program_dir)
    sys.path.insert(0, str(program_dir))
    try:
        yield
    finally:
        os.chdir(old_cwd)
        sys.path[:] = old_path
        for name in set(sys.modules) - old_modules:
            origin = getattr(sys.modules[name], "__file__", None) or ""
            if origin.startswith(str(program_dir) + os.sep):
                del sys.modules[name]
