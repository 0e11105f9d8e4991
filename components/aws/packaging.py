"""The Lambda artifact: a deterministic zip of `skyrelay.runtime` (+ the core it needs) and its wheels.

Components reference the runtime by path, never by import. The zip holds:
- `skyrelay/` core modules and data (not `skyrelay.plan` / `skyrelay.cli`, which pull in Pulumi),
- `skyrelay/runtime/` without the simulator,
- third-party wheels for the target Lambda Python and architecture
  (`pip install --platform manylinux2014_x86_64 --python-version 3.12 --only-binary=:all:`),
  without boto3/botocore, which the Lambda runtime provides,
- .pyc compiled by a matching interpreter (unchecked-hash, so no timestamps) when one is found.

Entries are sorted, timestamps fixed and permissions normalised, so the same inputs give the same
bytes (and the same `source_code_hash`: no redeploy without a change). Built zips are cached under
`build/lambda/` keyed on the content hash of every input; wheels are cached apart, keyed on the
requirement pins, so a source edit only re-zips.
"""

import contextlib
import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path

# What the runtime imports on Lambda. botocore is provided by the Lambda Python runtime.
LAMBDA_REQUIREMENTS: tuple[str, ...] = (
    "pydantic",
    "pyyaml",
    "starlette",
    "mangum",
    "aiohttp",
    "orjson",
    "prometheus-client",
)
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
)
# Wheels' extension modules often carry debug symbols (aiohttp's parser: 3.4 MB, 618 KB stripped).
# `strip --strip-unneeded` removes them when binutils is installed (deterministic for the same
# input); without it the trimmed accelerators above are dropped too, to stay within the budget.
STRIP_SHARED_OBJECTS = True
KEPT_ACCELERATORS = ("aiohttp/_http_parser*.so", "aiohttp/_http_writer*.so")
FIXED_TIME = (1980, 1, 1, 0, 0, 0)
PYTHON = "3.12"
PLATFORM = "manylinux2014_x86_64"
FORMAT_VERSION = "6"  # bump when the layout, trims or patches of the zip change
# .pyc without column positions (line numbers stay; tracebacks lose only their ^^^ markers):
# smaller code objects to read and unmarshal at every cold start.
COMPILE_FLAGS: tuple[str, ...] = ("-X", "no_debug_ranges")
DEPS_VERSION = "4"  # bump when the trims of the cached wheels (`_strip`) change
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


def skyrelay_source_root() -> Path:
    """The folder holding the `skyrelay` core package (found by spec, without importing runtime)."""
    spec = importlib.util.find_spec("skyrelay")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("skyrelay is not importable")
    return Path(next(iter(spec.submodule_search_locations)))


def runtime_source_root() -> Path:
    spec = importlib.util.find_spec("skyrelay.runtime")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("skyrelay.runtime is not installed; the Lambda zip is built from it")
    return Path(next(iter(spec.submodule_search_locations)))


def source_files() -> dict[str, Path]:
    """Archive name -> file for the skyrelay core and runtime sources that go into the zip."""
    files: dict[str, Path] = {}
    core = skyrelay_source_root()
    for path in _walk(core):
        rel = path.relative_to(core).as_posix()
        if rel.split("/")[0] in EXCLUDED_SOURCE_DIRS:
            continue
        files[f"skyrelay/{rel}"] = path
    runtime = runtime_source_root()
    for path in _walk(runtime):
        rel = path.relative_to(runtime).as_posix()
        if any(f"runtime/{rel}".startswith(d + "/") for d in EXCLUDED_SOURCE_DIRS):
            continue
        files[f"skyrelay/runtime/{rel}"] = path
    return dict(sorted(files.items()))


def _walk(root: Path) -> Iterable[Path]:
    for path in sorted(root.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix not in (".pyc", ".pyo"):
            yield path


def pinned_requirements(requirements: Sequence[str] = LAMBDA_REQUIREMENTS) -> list[str]:
    """Requirements pinned to the versions in the project's lock file when there is one."""
    pins: dict[str, str] = {}
    lock = skyrelay_source_root().parent / "requirements.lock"
    if lock.is_file():
        for line in lock.read_text().splitlines():
            name, sep, version = line.strip().partition("==")
            if sep and not line.startswith("#"):
                pins[_canonical(name)] = version.split()[0]
    return [f"{r}=={pins[_canonical(r)]}" if _canonical(r) in pins else r for r in requirements]


def find_python(version: str = PYTHON) -> str | None:
    """An interpreter of exactly `version` to compile .pyc with, or None."""
    candidates = [os.environ.get("SKYRELAY_LAMBDA_PYTHON"), shutil.which(f"python{version}"), f"/usr/bin/python{version}"]
    candidates += sorted(str(p) for p in Path.home().glob(f".pyenv/versions/{version}*/bin/python{version}"))
    for candidate in candidates:
        if not candidate or not Path(candidate).exists():
            continue
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run(
                [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                capture_output=True, text=True, timeout=20,
            )
            if out.returncode == 0 and out.stdout.strip() == version:
                return candidate
    return None


def build_lambda_zip(
    build_dir: str | Path | None = None,
    requirements: Sequence[str] = LAMBDA_REQUIREMENTS,
    python: str = PYTHON,
    platform: str = PLATFORM,
    compile_pyc: bool = True,
    keep_sources: bool = False,
) -> Path:
    """Builds (or reuses) the Lambda zip and returns its path.

    `SKYRELAY_LAMBDA_ZIP` names a prebuilt zip to use instead (CI builds it once per commit).
    With `compile_pyc`, sources are replaced by .pyc for `python` when an interpreter of that
    version is found; without one, sources ship (cold start is then slower; see docs/aws.md).
    """
    prebuilt = os.environ.get("SKYRELAY_LAMBDA_ZIP")
    if prebuilt:
        return Path(prebuilt)
    build_dir = Path(build_dir) if build_dir else skyrelay_source_root().parent / "build" / "lambda"
    build_dir.mkdir(parents=True, exist_ok=True)
    pins = pinned_requirements(requirements)
    interpreter = find_python(python) if compile_pyc else None
    sources = source_files()
    digest = hashlib.sha256()
    stripped = str(bool(STRIP_SHARED_OBJECTS and shutil.which("strip")))
    for part in (FORMAT_VERSION, python, platform, stripped, repr(SOURCE_PATCHES), repr(COMPILE_FLAGS), *pins,
                 str(bool(interpreter)), str(keep_sources)):
        digest.update(part.encode() + b"\0")
    for name, path in sources.items():
        digest.update(name.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    target = build_dir / f"skyrelay-lambda-{digest.hexdigest()[:16]}.zip"
    if target.is_file():
        return target
    deps = _dependencies(build_dir, pins, python, platform)
    with tempfile.TemporaryDirectory(prefix="skyrelay-lambda-") as tmp:
        staging = Path(tmp) / "pkg"
        shutil.copytree(deps, staging, symlinks=False)
        _patch(staging)
        for name, path in sources.items():
            dest = staging / name
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, dest)
        _preparse_data(staging)
        if interpreter:
            _compile(interpreter, staging, keep_sources)
        partial = target.with_name(f"{target.stem}.{os.getpid()}.{os.urandom(4).hex()}.tmp")  # concurrent builds
        _write_zip(staging, partial)
        partial.replace(target)
    _prune(build_dir, keep=target)
    return target


# Data files the runtime reads at cold start, shipped pre-parsed as JSON beside the YAML source
# (skyrelay/tiers.py reads the JSON when it is there): no YAML parser on the worker's cold path.
PREPARSED_DATA = (("skyrelay/data/tiers.yaml", "skyrelay/data/tiers.json"),)
KEPT_ZIPS = 5  # older builds in build/lambda/ are deleted: each source edit makes a new ~4 MB zip


def _preparse_data(staging: Path) -> None:
    import json

    import yaml

    for source, parsed in PREPARSED_DATA:
        doc = yaml.safe_load((staging / source).read_text())
        (staging / parsed).write_text(json.dumps(doc, sort_keys=True, separators=(",", ":")))


def _prune(build_dir: Path, keep: Path) -> None:
    zips = sorted(build_dir.glob("skyrelay-lambda-*.zip"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in [z for z in zips if z != keep][KEPT_ZIPS - 1:]:
        with contextlib.suppress(OSError):  # a concurrent build may have removed it
            old.unlink()


def _dependencies(build_dir: Path, pins: list[str], python: str, platform: str) -> Path:
    stripped = str(bool(STRIP_SHARED_OBJECTS and shutil.which("strip")))
    key = hashlib.sha256("\n".join([DEPS_VERSION, python, platform, stripped, *pins]).encode()).hexdigest()[:16]
    folder = build_dir / f"deps-{key}"
    if (folder / ".complete").is_file():
        return folder
    if folder.exists():
        shutil.rmtree(folder)
    cmd = [
        sys.executable, "-m", "pip", "install", "--quiet", "--no-compile", "--disable-pip-version-check",
        "--platform", platform, "--python-version", python, "--implementation", "cp",
        "--only-binary=:all:", "--target", str(folder), *pins,
    ]
    subprocess.run(cmd, check=True)
    _strip(folder)
    (folder / ".complete").write_text("\n".join(pins) + "\n")
    return folder


def _strip(folder: Path) -> None:
    """Removes excluded distributions (by their RECORD), bin/ scripts and host bytecode."""
    for info in list(folder.glob("*.dist-info")):
        name = _canonical(info.name.rsplit("-", 1)[0])
        if name in EXCLUDED_DISTRIBUTIONS:
            record = info / "RECORD"
            if record.is_file():
                for line in record.read_text().splitlines():
                    path = folder / line.split(",")[0]
                    if path.is_file():
                        path.unlink()
            shutil.rmtree(info, ignore_errors=True)
    for path in sorted(folder.rglob("__pycache__"), reverse=True):
        shutil.rmtree(path, ignore_errors=True)
    shutil.rmtree(folder / "bin", ignore_errors=True)
    strip = shutil.which("strip") if STRIP_SHARED_OBJECTS else None
    patterns = TRIMMED_GLOBS if strip else (*TRIMMED_GLOBS, *KEPT_ACCELERATORS)
    for pattern in patterns:
        for path in sorted(folder.glob(pattern)):
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
    if strip:
        for path in sorted(folder.rglob("*.so")):
            subprocess.run([strip, "--strip-unneeded", str(path)], check=True)
    for info in folder.glob("*.dist-info"):  # importlib.metadata needs METADATA only
        for path in sorted(info.rglob("*"), reverse=True):
            if path.is_file() and path.name != "METADATA":
                path.unlink()
    for path in sorted(folder.rglob("*"), reverse=True):  # empty folders left by removed distributions
        if path.is_dir() and not any(path.iterdir()):
            path.rmdir()


def _patch(folder: Path, patches: Sequence[tuple[str, str, str, int]] = SOURCE_PATCHES) -> None:
    """Applies SOURCE_PATCHES; an `old` text found other than `count` times fails the build."""
    for rel, old, new, count in patches:
        path = folder / rel
        text = path.read_text()
        found = text.count(old)
        if found != count:
            raise RuntimeError(f"{rel}: expected {count} occurrence(s) of {old!r}, found {found}; "
                               "re-check SOURCE_PATCHES (components/aws/packaging.py) against this version")
        path.write_text(text.replace(old, new))


def _compile(interpreter: str, staging: Path, keep_sources: bool) -> None:
    """Compiles every .py with the target Python; the .pyc replace the sources unless kept."""
    script = (
        "import compileall, sys\n"
        "ok = compileall.compile_dir(sys.argv[1], ddir='/var/task', quiet=2, legacy=%s,"
        " invalidation_mode=__import__('py_compile').PycInvalidationMode.UNCHECKED_HASH, workers=1)\n"
        "sys.exit(0 if ok else 1)\n"
    ) % (not keep_sources)
    subprocess.run([interpreter, *COMPILE_FLAGS, "-c", script, str(staging)], check=True)
    if not keep_sources:
        for source in staging.rglob("*.py"):
            if source.with_suffix(".pyc").is_file():
                source.unlink()


def _write_zip(staging: Path, target: Path) -> None:
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for path in sorted(staging.rglob("*"), key=lambda p: p.relative_to(staging).as_posix()):
            if not path.is_file() or path.name == ".complete":
                continue
            info = zipfile.ZipInfo(path.relative_to(staging).as_posix(), date_time=FIXED_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, path.read_bytes(), compresslevel=9)


def zip_sha256_base64(path: str | Path) -> str:
    """Lambda's `source_code_hash` format: base64 of the zip's SHA-256."""
    import base64

    return base64.b64encode(hashlib.sha256(Path(path).read_bytes()).digest()).decode()


def _canonical(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")
