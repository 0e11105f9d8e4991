"""The Functions target of the runtime's packaging (components/packaging.py): the zip the Flex
Consumption app runs, deployed from its deployment container.

- Wheels for Linux x86_64 and the pinned Python (`PYTHON`, the Function App's runtime version), so
  the zip needs no remote build (Flex runs the package as uploaded); pure-Python where a
  distribution has no wheel for the platform fails the build, never the first invocation.
- At the zip root: `function_app.py` (one line: the runtime's v2-model FunctionApp) and `host.json`,
  rendered from the stack's worker timeout by `deployment.host_json` (the lock rule), so a stack's
  zip carries its own renewal and function timeout.
- Bytecode for `PYTHON` beside every source (`__pycache__`, unchecked-hash .pyc, when an interpreter
  of that version is here): Flex runs the package mounted read-only (as run-from-package does; from
  the platform docs), where Python can write no bytecode, so without it every cold start compiles
  every module it imports (the .pyc name /var/task paths, the shared compile step's, in tracebacks).
- The IaC stack stays out (Pulumi, the plan, the CLI, the simulator), and so does the AWS runtime's
  Lambda-only dependencies.
"""

import json
from dataclasses import replace
from pathlib import Path

from skyrelay import deployment as contract
from skyrelay.components.packaging import BUNDLED_TEST_SUITES, RUNTIME_REQUIREMENTS, Target, build

PYTHON = "3.11"
PLATFORM = "manylinux2014_x86_64"  # the Lambda target's tag: wheels built for glibc 2.17+ run on Flex's Linux workers
FORMAT_VERSION = "2"  # 2: bytecode beside the sources
# What the runtime imports on Azure Functions. Cosmos DB is reached through its REST API
# (runtime/clouds/azure/cosmos.py): azure-cosmos stays a test dependency, for the tests that pin the
# REST client to it.
FUNCTIONS_REQUIREMENTS: tuple[str, ...] = (
    *RUNTIME_REQUIREMENTS,
    "azure-functions",
    "azure-servicebus",
    "azure-identity",
    "azure-storage-blob",
)
EXCLUDED_DISTRIBUTIONS = frozenset({"pulumi", "pip", "setuptools", "boto3", "botocore", "s3transfer", "mangum"})
EXCLUDED_SOURCE_DIRS = ("plan", "cli", "runtime/simulator", "runtime/platforms/aws_lambda",
                        "runtime/platforms/cloud_run")
ENTRY = "from skyrelay.runtime.platforms.azure_functions.function_app import app  # noqa: F401\n"
TRIMMED_GLOBS = ("**/*.pyi", "**/*.pyx", "**/*.pxd", "**/*.c", "**/*.h", "pydantic/v1", "pydantic/mypy.py",
                 *BUNDLED_TEST_SUITES)

FUNCTIONS = Target(
    name="functions",
    python=PYTHON,
    requirements=FUNCTIONS_REQUIREMENTS,
    platform=PLATFORM,
    excluded_distributions=EXCLUDED_DISTRIBUTIONS,
    excluded_source_dirs=EXCLUDED_SOURCE_DIRS,
    trimmed_globs=TRIMMED_GLOBS,
    compile_pyc=True,
    prebuilt_env="SKYRELAY_FUNCTIONS_ZIP",
    format_version=FORMAT_VERSION,
)


def host_json_text(worker_timeout_s: int, max_concurrent_calls: int, lock_duration_s: int) -> str:
    return json.dumps(contract.host_json(worker_timeout_s, max_concurrent_calls, lock_duration_s), indent=2,
                      sort_keys=True) + "\n"


def target_for(worker_timeout_s: int = 60, max_concurrent_calls: int = 16,
               lock_duration_s: int = contract.SERVICEBUS_DEFAULT_LOCK_S) -> Target:
    """The Functions target with this stack's host.json and the root entry module."""
    return replace(FUNCTIONS, extra_files=(
        ("function_app.py", ENTRY),
        ("host.json", host_json_text(worker_timeout_s, max_concurrent_calls, lock_duration_s)),
    ))


def build_functions_zip(worker_timeout_s: int = 60, max_concurrent_calls: int = 16,
                        lock_duration_s: int = contract.SERVICEBUS_DEFAULT_LOCK_S,
                        build_dir: str | Path | None = None) -> Path:
    """Builds (or reuses) the Functions zip for these host settings and returns its path. Sources stay
    (the host indexes `function_app.py` by name), with their bytecode beside them."""
    return build(target_for(worker_timeout_s, max_concurrent_calls, lock_duration_s), build_dir, keep_sources=True)
