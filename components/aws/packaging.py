"""The Lambda target of the runtime's packaging (components/packaging.py): what the zip that both
AWS functions run is built of, and why.

- Wheels for the Lambda Python and architecture, without boto3/botocore, which the Lambda runtime
  provides; .pyc compiled by a matching interpreter (unchecked-hash, so no timestamps).
- Trims and text patches that buy cold-start time and size, each measured (docs/aws.md).
`SKYRELAY_LAMBDA_ZIP` (build time) names a prebuilt zip to use instead (CI builds it once per commit).
"""

from pathlib import Path

from skyrelay.components.packaging import BUNDLED_TEST_SUITES, RUNTIME_REQUIREMENTS, Target, build

# What the runtime imports on Lambda. botocore is provided by the Lambda Python runtime.
LAMBDA_REQUIREMENTS: tuple[str, ...] = (*RUNTIME_REQUIREMENTS, "mangum")
# Distributions never shipped: the Lambda runtime has them, or they are dev/IaC only.
EXCLUDED_DISTRIBUTIONS = frozenset(
    {"boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3", "pulumi", "pip", "setuptools"}
)
EXCLUDED_SOURCE_DIRS = ("plan", "cli", "runtime/simulator")
# Size trims (the zip budget is 5 MB): optional C accelerators whose packages fall back to pure
# Python when they are missing (LibYAML, aiohttp's websocket, multidict, yarl, frozenlist,
# propcache), test-only extensions, aiohttp's web server, typing stubs and Cython sources, pydantic's v1 shim and mypy plugin.
# Measured (bench/lambda_cold.py, docs/aws.md): the accelerators do not make the cold import faster
# (`import aiohttp, yarl, multidict`: 226 vs 229 ms CPU with and without them), so they are kept only
# where they pay on the request path and fit: aiohttp's HTTP response parser and writer (every
# provider call), 184 KB once stripped of debug symbols (`STRIP_SHARED_OBJECTS`).
TRIMMED_GLOBS = (
    "yaml/_yaml*.so", "_yaml",
    "aiohttp/_websocket/reader_c*.so", "aiohttp/_websocket/mask*.so", "multidict/_multidict*.so",
    "multidict/_testcapi*.so", "yarl/_quoting_c*.so", "frozenlist/_frozenlist*.so", "propcache/_helpers_c*.so",
    "**/*.pyi", "**/*.pyx", "**/*.pxd", "**/*.pxi", "**/*.c", "**/*.h", "**/py.typed",
    "pydantic/v1", "pydantic/mypy.py",
    "aiohttp/web.py", "aiohttp/web_*.py", "aiohttp/worker.py",  # aiohttp's server: the runtime is a client only
    *BUNDLED_TEST_SUITES,
)
# Wheels' extension modules often carry debug symbols (aiohttp's parser: 3.4 MB, 618 KB stripped).
# `strip --strip-unneeded` removes them when binutils is installed (deterministic for the same
# input); without it the trimmed accelerators above are dropped too, to stay within the budget.
STRIP_SHARED_OBJECTS = True
KEPT_ACCELERATORS = ("aiohttp/_http_parser*.so", "aiohttp/_http_writer*.so")
PYTHON = "3.12"
PLATFORM = "manylinux2014_x86_64"
FORMAT_VERSION = "7"  # bump when the layout, trims or patches of the zip change
# .pyc without column positions (line numbers stay; tracebacks lose only their ^^^ markers):
# smaller code objects to read and unmarshal at every cold start.
COMPILE_FLAGS: tuple[str, ...] = ("-X", "no_debug_ranges")
# Cold-start patches to the installed wheels, applied to the zip's copy only: (file, old, new, count).
# Each `old` must occur exactly `count` times, else the build fails (a new version must be re-checked).
# - aiohttp builds two TLS contexts at import (verified and unverified), each loading the system CA
#   bundle: ~50 ms of the worker's cold start. The runtime never asks for an unverified one, and its
#   provider client passes its own verified context (`providers.client.tls_context`, built once, on
#   the first HTTPS session, shared with the AWS calls): aiohttp's are made on first use instead.
SOURCE_PATCHES: tuple[tuple[str, str, str, int], ...] = (
    (
        "aiohttp/connector.py",
        "_SSL_CONTEXT_VERIFIED = _make_ssl_context(True)\n_SSL_CONTEXT_UNVERIFIED = _make_ssl_context(False)\n",
        "_SSL_CONTEXT_VERIFIED = _SSL_CONTEXT_UNVERIFIED = None  # skyrelay packaging: built on first use\n"
        "_SSL_CONTEXTS: dict = {}\n\n\n"
        "def _ssl_context(verified: bool) -> SSLContext:\n"
        "    ctx = _SSL_CONTEXTS.get(verified)\n"
        "    if ctx is None:\n"
        "        ctx = _SSL_CONTEXTS[verified] = _make_ssl_context(verified)\n"
        "    return ctx\n",
        1,
    ),
    ("aiohttp/connector.py", "return _SSL_CONTEXT_UNVERIFIED\n", "return _ssl_context(False)\n", 2),
    ("aiohttp/connector.py", "return _SSL_CONTEXT_VERIFIED\n", "return _ssl_context(True)\n", 1),
    # - pydantic imports importlib.metadata (~20 ms: zipfile, email, csv, ...) when it first builds a
    #   model, to look plugins up; the zip keeps no entry points (dist-info: METADATA only), so there
    #   are none, and the handlers set PYDANTIC_DISABLE_PLUGINS: imported only when looking them up.
    ("pydantic/plugin/_loader.py", "from importlib.metadata import entry_points\n", "", 1),
    (
        "pydantic/plugin/_loader.py",
        "        try:\n            for entry_point in entry_points(",
        "        try:\n            from importlib.metadata import entry_points  # skyrelay packaging: not at import\n\n"
        "            for entry_point in entry_points(",
        1,
    ),
)



LAMBDA = Target(
    name="lambda",
    python=PYTHON,
    requirements=LAMBDA_REQUIREMENTS,
    platform=PLATFORM,
    excluded_distributions=EXCLUDED_DISTRIBUTIONS,
    excluded_source_dirs=EXCLUDED_SOURCE_DIRS,
    trimmed_globs=TRIMMED_GLOBS,
    strip_shared_objects=STRIP_SHARED_OBJECTS,
    kept_accelerators=KEPT_ACCELERATORS,
    patches=SOURCE_PATCHES,
    compile_pyc=True,
    compile_flags=COMPILE_FLAGS,
    prebuilt_env="SKYRELAY_LAMBDA_ZIP",
    format_version=FORMAT_VERSION,
)


def build_lambda_zip(build_dir: str | Path | None = None, keep_sources: bool = False) -> Path:
    """Builds (or reuses) the Lambda zip and returns its path (see components/packaging.py)."""
    return build(LAMBDA, build_dir, keep_sources)
