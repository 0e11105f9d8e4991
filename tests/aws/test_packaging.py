"""The Lambda artifact: deterministic, within budget, wheels for Lambda Python 3.12 x86_64, .pyc for
3.12, no boto3, and no IaC code."""

import importlib.util
import zipfile

import pytest

from skyrelay.components import packaging as generic
from skyrelay.components.aws import packaging


@pytest.fixture(scope="module")
def zip_path():
    return packaging.build_lambda_zip()


def test_zip_is_within_the_5_mb_budget_and_carries_no_boto3_or_iac(zip_path):
    assert zip_path.stat().st_size <= 5 * 1024 * 1024
    names = zipfile.ZipFile(zip_path).namelist()
    tops = {n.split("/")[0] for n in names}
    assert not tops & {"boto3", "botocore", "s3transfer", "pulumi", "pulumi_aws"}
    assert {"pydantic", "pydantic_core", "starlette", "mangum", "aiohttp", "yaml", "skyrelay"} <= tops
    assert not any(n.startswith(("skyrelay/plan/", "skyrelay/cli/", "skyrelay/runtime/simulator/")) for n in names)
    assert not any(n.startswith("skyrelay/components/") or n.startswith("skyrelay/blueprints/") for n in names)
    assert "skyrelay/data/tiers.yaml" in names
    with zipfile.ZipFile(zip_path) as zf:  # the pre-parsed copy the worker reads is the same table
        import json

        import yaml

        assert json.loads(zf.read("skyrelay/data/tiers.json")) == yaml.safe_load(zf.read("skyrelay/data/tiers.yaml"))
    sos = [n for n in names if n.endswith(".so")]
    assert sos and all("cpython-312-x86_64-linux-gnu" in n for n in sos)


def test_zip_holds_pyc_for_python_312_when_an_interpreter_is_found(zip_path):
    names = zipfile.ZipFile(zip_path).namelist()
    if generic.find_python("3.12") is None:
        pytest.skip("no Python 3.12 here: the zip ships sources")
    pycs = [n for n in names if n.endswith(".pyc")]
    assert {"skyrelay/tiers.pyc", "skyrelay/runtime/router/router.pyc", "pydantic/main.pyc"} <= set(pycs)
    assert not [n for n in names if n.endswith(".py") and n[:-3] + ".pyc" in names]
    import subprocess

    magic = subprocess.run(
        [generic.find_python("3.12"), "-c", "import importlib.util,sys; sys.stdout.buffer.write(importlib.util.MAGIC_NUMBER)"],
        capture_output=True, check=True,
    ).stdout
    with zipfile.ZipFile(zip_path) as zf:
        header = zf.read("skyrelay/tiers.pyc")[:16]
    assert header[:4] == magic != importlib.util.MAGIC_NUMBER  # 3.12 bytecode, not this interpreter's
    assert int.from_bytes(header[4:8], "little") == 0b01  # hash-based, unchecked: no timestamps


def test_entries_have_fixed_timestamps_and_sorted_order(zip_path):
    infos = zipfile.ZipFile(zip_path).infolist()
    assert {i.date_time for i in infos} == {generic.FIXED_TIME}
    names = [i.filename for i in infos]
    assert names == sorted(names)


def test_writing_the_same_tree_twice_gives_identical_bytes(tmp_path):
    import os
    import time

    tree = tmp_path / "tree"
    (tree / "pkg").mkdir(parents=True)
    (tree / "pkg" / "b.py").write_text("B = 2\n")
    (tree / "pkg" / "a.py").write_text("A = 1\n")
    generic.write_zip(tree, tmp_path / "one.zip")
    later = time.time() + 3600
    for f in (tree / "pkg").iterdir():
        os.utime(f, (later, later))
    generic.write_zip(tree, tmp_path / "two.zip")
    assert (tmp_path / "one.zip").read_bytes() == (tmp_path / "two.zip").read_bytes()


def test_the_cache_key_follows_source_content(monkeypatch, tmp_path, zip_path):
    """A built zip is reused for the same inputs, and a source change makes a new one."""
    assert packaging.build_lambda_zip() == zip_path
    sources = generic.source_files()
    extra = tmp_path / "extra.py"
    extra.write_text("X = 1\n")
    monkeypatch.setattr(generic, "source_files", lambda dirs: {**sources, "skyrelay/runtime/zz_extra.py": extra})
    rebuilt = packaging.build_lambda_zip()
    try:
        assert rebuilt != zip_path
        assert "skyrelay/runtime/zz_extra.pyc" in zipfile.ZipFile(rebuilt).namelist() or (
            "skyrelay/runtime/zz_extra.py" in zipfile.ZipFile(rebuilt).namelist()
        )
    finally:
        rebuilt.unlink()


def test_source_patches_fail_the_build_when_their_text_is_not_found(tmp_path):
    (tmp_path / "mod.py").write_text("A = 1\nA = 1\n")
    generic.patch(tmp_path, [("mod.py", "A = 1\n", "A = 2\n", 2)])
    assert (tmp_path / "mod.py").read_text() == "A = 2\nA = 2\n"
    with pytest.raises(RuntimeError, match="mod.py: expected 1 occurrence"):
        generic.patch(tmp_path, [("mod.py", "A = 2\n", "A = 3\n", 1)])


def test_packaged_aiohttp_builds_no_tls_context_at_import_and_one_on_first_use(tmp_path):
    """aiohttp's import-time TLS contexts (a CA bundle load each) are deferred in the zip; the
    provider client's shared context is the only one an HTTPS upstream needs."""
    import subprocess
    import sys
    from pathlib import Path

    import aiohttp

    src = Path(aiohttp.__file__).parent
    (tmp_path / "aiohttp").mkdir()
    for f in src.glob("*.py"):
        (tmp_path / "aiohttp" / f.name).write_bytes(f.read_bytes())
    for f in list(src.glob("*.so")) + [p for p in src.iterdir() if p.is_dir() and p.name != "__pycache__"]:
        (tmp_path / "aiohttp" / f.name).symlink_to(f)
    generic.patch(tmp_path, [p for p in packaging.SOURCE_PATCHES if p[0].startswith("aiohttp/")])
    script = (
        "import ssl\n"
        "made = []\n"  # contexts given roots: from the default paths, or a file / hashed directory
        "for name in ('set_default_verify_paths', 'load_verify_locations'):\n"
        "    def counted(self, *a, _orig=getattr(ssl.SSLContext, name), **k):\n"
        "        made.append(1)\n"
        "        return _orig(self, *a, **k)\n"
        "    setattr(ssl.SSLContext, name, counted)\n"
        "import aiohttp.connector as c\n"
        "assert made == [], made\n"
        "from skyrelay.runtime.providers.client import tls_context\n"
        "ctx = tls_context()\n"
        "assert tls_context() is ctx and len(made) == 1, made\n"
        "assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname\n"
        "assert c._ssl_context(True) is c._ssl_context(True) and len(made) == 2\n"
    )
    env = {"PYTHONPATH": str(tmp_path), "PATH": ""}
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
