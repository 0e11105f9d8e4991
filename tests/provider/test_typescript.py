"""examples/typescript-consumer/index.ts type-checks with `tsc` against the package as the served
schema declares it (tests/provider/ts_declarations.py: no Pulumi CLI here, so not an SDK from
Pulumi's generator), and the same check fails on a misspelt input, a wrong type, a missing required
input, an unknown overrides key or an unknown output."""

import hashlib
import json
import re
import shutil
import subprocess

import pytest

from tests.provider.loopback import ROOT
from tests.provider.ts_declarations import declarations

TOOLS = ROOT / "tests" / "provider" / "typescript"  # tsc, @pulumi/pulumi, @pulumi/aws, pinned by its package-lock.json
EXAMPLE = ROOT / "examples" / "typescript-consumer"
NPM_TIMEOUT_S = 900
TSC_TIMEOUT_S = 600

BROKEN = {  # file -> (change to index.ts, what tsc must say)
    "misspelt.ts": (("workerTimeoutSeconds: 300", "workerTimeoutSecs: 300"), "'workerTimeoutSecs' does not exist"),
    "wrong_type.ts": (("workerTimeoutSeconds: 300", 'workerTimeoutSeconds: "300"'), "Type 'string' is not assignable to type 'number'"),
    "missing_required.ts": (("    budgetAmount: 500,\n", ""), "Property 'budgetAmount' is missing"),
    "unknown_override.ts": (("maxReceiveCount: 3", "maxRecieveCount: 3"), "'maxRecieveCount' does not exist"),
    "unknown_output.ts": (("jobs.interactiveQueueUrl", "jobs.queueUrl"), "Property 'queueUrl' does not exist"),
}


@pytest.fixture(scope="session")
def node_modules():
    """The check's npm packages, installed once per lock file under build/ts-check/ with `npm ci`."""
    npm = shutil.which("npm")
    assert npm, "npm is not installed: it comes with Node.js (apt-get install nodejs npm)"
    manifest = [(TOOLS / name).read_bytes() for name in ("package.json", "package-lock.json")]
    cache = ROOT / "build" / "ts-check" / hashlib.sha256(b"".join(manifest)).hexdigest()[:16]
    if not (cache / "node_modules" / ".package-lock.json").is_file():
        cache.mkdir(parents=True, exist_ok=True)
        for name in ("package.json", "package-lock.json"):
            shutil.copyfile(TOOLS / name, cache / name)
        done = subprocess.run([npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund"], cwd=cache,
                              capture_output=True, text=True, timeout=NPM_TIMEOUT_S)
        assert done.returncode == 0, done.stderr[-3000:]
    return cache / "node_modules"


def tsc(tmp_path, node_modules, schema: dict, sources: dict[str, str]) -> subprocess.CompletedProcess:
    """Runs tsc (the example's compiler options, no emit) over `sources`, with `@pulumi/skyrelay`
    resolved to the declarations emitted from `schema`."""
    project = tmp_path / "project"
    (project / "skyrelay").mkdir(parents=True)
    (project / "node_modules").symlink_to(node_modules, target_is_directory=True)
    (project / "skyrelay" / "index.ts").write_text(declarations(schema))
    for name, text in sources.items():
        (project / name).write_text(text)
    config = json.loads((EXAMPLE / "tsconfig.json").read_text())
    config["compilerOptions"] |= {"noEmit": True, "baseUrl": ".", "paths": {"@pulumi/skyrelay": ["./skyrelay/index.ts"]}}
    config["files"] = sorted(sources)
    (project / "tsconfig.json").write_text(json.dumps(config))
    command = ["node", str(node_modules / "typescript" / "bin" / "tsc"), "-p", "tsconfig.json", "--pretty", "false"]
    return subprocess.run(command, cwd=project, capture_output=True, text=True, timeout=TSC_TIMEOUT_S)


def test_typescript_example_type_checks_against_the_served_schema(tmp_path, node_modules, served_schema):
    source = (EXAMPLE / "index.ts").read_text()
    assert 'from "@pulumi/skyrelay"' in source and "skyrelay.aws.AsyncJobs" in source and "skyrelay.aws.CostGuard" in source
    done = tsc(tmp_path, node_modules, served_schema, {"index.ts": source})
    assert done.returncode == 0, done.stdout[-3000:]


def test_the_check_fails_on_a_broken_program(tmp_path, node_modules, served_schema):
    source = (EXAMPLE / "index.ts").read_text()
    broken = {}
    for name, ((old, new), _) in BROKEN.items():
        assert old in source, old
        broken[name] = source.replace(old, new, 1)
    done = tsc(tmp_path, node_modules, served_schema, broken)
    assert done.returncode != 0
    reports = re.split(r"\n(?=\S)", done.stdout)  # one per error: its first line names the file
    errors = {name: [r for r in reports if r.startswith(f"{name}(")] for name in BROKEN}
    for name, (_, expected) in BROKEN.items():
        assert any(expected in line for line in errors[name]), (name, errors[name])
    assert not re.search(r"^skyrelay/", done.stdout, re.M), done.stdout  # the declarations themselves are sound
