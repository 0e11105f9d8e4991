"""The runtime as a deployable artifact: one deterministic zip per named `Target` (the Lambda zip
today; the Functions zip and the Cloud Run source next), from one implementation.

Components reference the runtime by path, never by import. A zip holds:
- `skyrelay/` core modules and data (not `skyrelay.plan` / `skyrelay.cli`, which pull in Pulumi),
- `skyrelay/runtime/` without the simulator,
- for a target with a `platform`, the third-party wheels for its Python and architecture
  (`pip install --platform ... --only-binary=:all:`), minus what the cloud's runtime provides; for a
  target without one, a pinned `requirements.txt` that the cloud's build installs,
- data files pre-parsed (YAML -> JSON: no YAML parser on a cold path), the target's extra files
  (host.json, an entry module), and .pyc compiled by a matching interpreter when the target asks.

Entries are sorted, timestamps fixed and permissions normalised, so the same inputs give the same
bytes (and the same hash: no redeploy without a change). Built zips are cached under
`build/<target>/` keyed on the content hash of every input; wheels are cached apart, keyed on the
requirement pins, so a source edit only re-zips.
"""

import contextlib
import hashlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

FIXED_TIME = (1980, 1, 1, 0, 0, 0)
DEPS_VERSION = "4"  # bump when the trims of the cached wheels (`_strip`) change
KEPT_ZIPS = 5  # older builds of a target are deleted: each source edit makes a new zip
# Data files the runtime reads at cold start, shipped pre-parsed as JSON beside the YAML source
# (skyrelay/tiers.py reads the JSON when it is there).
PREPARSED_DATA = (("skyrelay/data/tiers.yaml", "skyrelay/data/tiers.json"),)
Patch = tuple[str, str, str, int]  # (file, old text, new text, occurrences of the old text)


# What the cloud-neutral runtime imports on every cloud (the API, the router, the jobs, the batch
# intake); each cloud's Target adds its SDKs and its server. Pinned from the lock file at build time.
RUNTIME_REQUIREMENTS: tuple[str, ...] = (
    "pydantic",
    "pyyaml",
    "starlette",
    "aiohttp",
    "orjson",
    "prometheus-client",
    "python-multipart",  # POST /v1/files streams a batch file's upload (runtime/api/files.py)
    "jsonschema",  # tools and response_format schemas (runtime/parse_tools.py, imported only when a request has one)
)
# The test suites and benchmarks some of those wheels ship inside their packages: never imported.
BUNDLED_TEST_SUITES: tuple[str, ...] = ("jsonschema/tests", "jsonschema/benchmarks", "referencing/tests")


@dataclass(frozen=True)
class Target:
    """What one cloud's artifact is built of. Only `name`, `python` and `requirements` are required."""

    name: str  # build/<name>/skyrelay-<name>-<hash>.zip
    python: str  # the interpreter version the cloud runs
    requirements: tuple[str, ...]  # distributions the runtime imports there (pinned from the lock file)
    platform: str | None = None  # pip --platform for vendored wheels; None: ship requirements.txt instead
    excluded_distributions: frozenset[str] = frozenset()  # the cloud's runtime provides them
    excluded_source_dirs: tuple[str, ...] = ("plan", "cli", "runtime/simulator")
    trimmed_globs: tuple[str, ...] = ()  # removed from the wheels (size)
    strip_shared_objects: bool = False  # `strip --strip-unneeded` the wheels' extensions when binutils is here
    kept_accelerators: tuple[str, ...] = ()  # trimmed too when they cannot be stripped
    patches: tuple[Patch, ...] = ()  # exact text patches to the wheels (the build fails on a mismatch)
    compile_pyc: bool = False  # ship .pyc for `python` (when such an interpreter is found) instead of sources
    compile_flags: tuple[str, ...] = ()
    extra_files: tuple[tuple[str, str], ...] = ()  # (archive name, text) added at the root
    prebuilt_env: str | None = None  # an environment variable naming a prebuilt zip to use instead
    format_version: str = "1"  # bump when the layout, trims or patches change


def skyrelay_source_root() -> Path:
    """The folder holding the `skyrelay` core package (found by spec, without importing runtime)."""
    spec = importlib.util.find_spec("skyrelay")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("skyrelay is not importable")
    return Path(next(iter(spec.submodule_search_locations)))


def runtime_source_root() -> Path:
    spec = importlib.util.find_spec("skyrelay.runtime")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("skyrelay.runtime is not installed; the deployable zips are built from it")
    return Path(next(iter(spec.submodule_search_locations)))


def source_files(excluded_dirs: Sequence[str] = Target.excluded_source_dirs) -> dict[str, Path]:
    """Archive name -> file for the skyrelay core and runtime sources that go into a zip."""
    files: dict[str, Path] = {}
    core = skyrelay_source_root()
    for path in _walk(core):
        rel = path.relative_to(core).as_posix()
        if rel.split("/")[0] in excluded_dirs:
            continue
        files[f"skyrelay/{rel}"] = path
    runtime = runtime_source_root()
    for path in _walk(runtime):
        rel = path.relative_to(runtime).as_posix()
        if any(f"runtime/{rel}".startswith(d + "/") for d in excluded_dirs):
            continue
        files[f"skyrelay/runtime/{rel}"] = path
    return dict(sorted(files.items()))


def _walk(root: Path) -> Iterable[Path]:
    for path in sorted(root.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix not in (".pyc", ".pyo"):
            yield path


def pinned_requirements(requirements: Sequence[str]) -> list[str]:
    """Requirements pinned to the versions in the project's lock file when there is one."""
    pins: dict[str, str] = {}
    lock = skyrelay_source_root().parent / "requirements.lock"
    if lock.is_file():
        for line in lock.read_text().splitlines():
            name, sep, version = line.strip().partition("==")
            if sep and not line.startswith("#"):
                pins[_canonical(name)] = version.split()[0]
    return [f"{r}=={pins[_canonical(r)]}" if _canonical(r) in pins else r for r in requirements]


def find_python(version: str) -> str | None:
    """An interpreter of exactly `version` to compile .pyc with, or None. SKYRELAY_LAMBDA_PYTHON
    (build-time only) names one explicitly."""
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


def build(target: Target, build_dir: str | Path | None = None, keep_sources: bool = False) -> Path:
    """Builds (or reuses) `target`'s zip and returns its path. With `compile_pyc`, sources are
    replaced by .pyc for the target's Python when an interpreter of that version is found;
    without one, sources ship."""
    prebuilt = os.environ.get(target.prebuilt_env) if target.prebuilt_env else None
    if prebuilt:
        return Path(prebuilt)
    build_dir = Path(build_dir) if build_dir else skyrelay_source_root().parent / "build" / target.name
    build_dir.mkdir(parents=True, exist_ok=True)
    pins = pinned_requirements(target.requirements)
    interpreter = find_python(target.python) if target.compile_pyc else None
    sources = source_files(target.excluded_source_dirs)
    stripped = _strips(target)
    digest = hashlib.sha256()
    for part in (target.format_version, target.python, str(target.platform), str(stripped), repr(target.patches),
                 repr(target.compile_flags), repr(target.extra_files), *pins, str(bool(interpreter)),
                 str(keep_sources)):
        digest.update(part.encode() + b"\0")
    for name, path in sources.items():
        digest.update(name.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    out = build_dir / f"skyrelay-{target.name}-{digest.hexdigest()[:16]}.zip"
    if out.is_file():
        return out
    with tempfile.TemporaryDirectory(prefix=f"skyrelay-{target.name}-") as tmp:
        staging = Path(tmp) / "pkg"
        if target.platform:
            shutil.copytree(_dependencies(build_dir, target, pins), staging, symlinks=False)
            patch(staging, target.patches)
        else:
            staging.mkdir()
            (staging / "requirements.txt").write_text("\n".join(pins) + "\n")
        for name, path in sources.items():
            dest = staging / name
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, dest)
        for name, text in target.extra_files:
            (staging / name).parent.mkdir(parents=True, exist_ok=True)
            (staging / name).write_text(text)
        _preparse_data(staging)
        if interpreter:
            _compile(interpreter, staging, keep_sources, target.compile_flags)
        partial = out.with_name(f"{out.stem}.{os.getpid()}.{os.urandom(4).hex()}.tmp")  # concurrent builds
        write_zip(staging, partial)
        partial.replace(out)
    _prune(build_dir, target.name, keep=out)
    return out


def _strips(target: Target) -> bool:
    return bool(target.strip_shared_objects and shutil.which("strip"))


def _preparse_data(staging: Path) -> None:
    import yaml

    for source, parsed in PREPARSED_DATA:
        doc = yaml.safe_load((staging / source).read_text())
        (staging / parsed).write_text(json.dumps(doc, sort_keys=True, separators=(",", ":")))


def _prune(build_dir: Path, name: str, keep: Path, derived: bool = False) -> None:
    """Keeps the KEPT_ZIPS newest built zips of a target (or, `derived`, twice as many zips made by
    `with_files`), so neither kind pushes the other out."""
    shape = rf"skyrelay-{re.escape(name)}-[0-9a-f]{{16}}" + (r"-[0-9a-f]{12}" if derived else "") + r"\.zip"
    zips = sorted((p for p in build_dir.glob(f"skyrelay-{name}-*.zip") if re.fullmatch(shape, p.name)),
                  key=lambda p: p.stat().st_mtime, reverse=True)
    if derived:
        zips = zips[KEPT_ZIPS:]  # twice KEPT_ZIPS kept in all
    for old in [z for z in zips if z != keep][KEPT_ZIPS - 1:]:
        with contextlib.suppress(OSError):  # a concurrent build may have removed it
            old.unlink()


def _dependencies(build_dir: Path, target: Target, pins: list[str]) -> Path:
    key = hashlib.sha256("\n".join([DEPS_VERSION, target.python, str(target.platform), str(_strips(target)),
                                    repr(sorted(target.excluded_distributions)), repr(target.trimmed_globs),
                                    *pins]).encode()).hexdigest()[:16]
    folder = build_dir / f"deps-{key}"
    if (folder / ".complete").is_file():
        return folder
    if folder.exists():
        shutil.rmtree(folder)
    cmd = [
        sys.executable, "-m", "pip", "install", "--quiet", "--no-compile", "--disable-pip-version-check",
        "--platform", target.platform, "--python-version", target.python, "--implementation", "cp",
        "--only-binary=:all:", "--target", str(folder), *pins,
    ]
    subprocess.run(cmd, check=True)
    _strip(folder, target)
    (folder / ".complete").write_text("\n".join(pins) + "\n")
    return folder


def _strip(folder: Path, target: Target) -> None:
    """Removes excluded distributions (by their RECORD), bin/ scripts, host bytecode and the trims."""
    for info in list(folder.glob("*.dist-info")):
        name = _canonical(info.name.rsplit("-", 1)[0])
        if name in target.excluded_distributions:
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
    strip = shutil.which("strip") if target.strip_shared_objects else None
    patterns = target.trimmed_globs if strip else (*target.trimmed_globs, *target.kept_accelerators)
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


def patch(folder: Path, patches: Sequence[Patch]) -> None:
    """Applies text patches; an `old` text found other than `count` times fails the build."""
    for rel, old, new, count in patches:
        path = folder / rel
        text = path.read_text()
        found = text.count(old)
        if found != count:
            raise RuntimeError(f"{rel}: expected {count} occurrence(s) of {old!r}, found {found}; "
                               "re-check the target's patches against this version")
        path.write_text(text.replace(old, new))



def _compile(interpreter: str, staging: Path, keep_sources: bool, flags: Sequence[str]) -> None:
    """Compiles every .py with the target Python; the .pyc replace the sources unless kept."""
    script = (
        "import compileall, sys\n"
        "ok = compileall.compile_dir(sys.argv[1], ddir='/var/task', quiet=2, legacy=%s,"
        " invalidation_mode=__import__('py_compile').PycInvalidationMode.UNCHECKED_HASH, workers=1)\n"
        "sys.exit(0 if ok else 1)\n"
    ) % (not keep_sources)
    subprocess.run([interpreter, *flags, "-c", script, str(staging)], check=True)
    if not keep_sources:
        for source in staging.rglob("*.py"):
            if source.with_suffix(".pyc").is_file():
                source.unlink()


def write_zip(staging: Path, target: Path) -> None:
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for path in sorted(staging.rglob("*"), key=lambda p: p.relative_to(staging).as_posix()):
            if not path.is_file() or path.name == ".complete":
                continue
            info = zipfile.ZipInfo(path.relative_to(staging).as_posix(), date_time=FIXED_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, path.read_bytes(), compresslevel=9)


def with_files(base: str | Path, files: Sequence[tuple[str, str]], build_dir: str | Path | None = None) -> Path:
    """`base` (a built or prebuilt zip) with `files` ((archive name, text)) added at the root, as a new
    deterministic zip beside it (or in `build_dir`), cached by content. A stack's own data (the AWS
    router config) travels so without rebuilding the runtime: the same base and files give the same
    bytes, and any change to either gives a new code hash."""
    base = Path(base)
    names = {name for name, _ in files}
    digest = hashlib.sha256(hashlib.sha256(base.read_bytes()).digest())
    for name, text in sorted(files):
        digest.update(name.encode() + b"\0" + text.encode() + b"\0")
    folder = Path(build_dir) if build_dir else (base.parent if os.access(base.parent, os.W_OK) else
                                                Path(tempfile.gettempdir()))
    out = folder / f"{base.stem}-{digest.hexdigest()[:12]}.zip"
    if out.is_file():
        return out
    folder.mkdir(parents=True, exist_ok=True)
    entries = [(name, text.encode()) for name, text in files]
    partial = out.with_name(f"{out.stem}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    with zipfile.ZipFile(base) as src, zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        kept = [(i.filename, src.read(i)) for i in src.infolist() if i.filename not in names]
        for name, data in sorted([*kept, *entries]):
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data, compresslevel=9)
    partial.replace(out)
    name = base.stem.removeprefix("skyrelay-").rsplit("-", 1)[0]
    _prune(folder, name, keep=out, derived=True)
    return out


def zip_sha256_base64(path: str | Path) -> str:
    """Lambda's `source_code_hash` format: base64 of the zip's SHA-256."""
    import base64

    return base64.b64encode(hashlib.sha256(Path(path).read_bytes()).digest()).decode()


def _canonical(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")
