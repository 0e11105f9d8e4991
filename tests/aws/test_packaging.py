"""The Lambda artifact: deterministic, within budget, wheels for Lambda Python 3.12 x86_64, .pyc for
3.12, no boto3, and no IaC code."""

import importlib.util
import zipfile

import pytest

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
    sos = [n for n in names if n.endswith(".so")]
    assert sos and all("cpython-312-x86_64-linux-gnu" in n for n in sos)


def test_zip_holds_pyc_for_python_312_when_an_interpreter_is_found(zip_path):
    names = zipfile.ZipFile(zip_path).namelist()
    if packaging.find_python("3.12") is None:
        pytest.skip("no Python 3.12 here: the zip ships sources")
    pycs = [n for n in names if n.endswith(".pyc")]
    assert {"skyrelay/tiers.pyc", "skyrelay/runtime/router/router.pyc", "pydantic/main.pyc"} <= set(pycs)
    assert not [n for n in names if n.endswith(".py") and n[:-3] + ".pyc" in names]
    import subprocess

    magic = subprocess.run(
        [packaging.find_python("3.12"), "-c", "import importlib.util,sys; sys.stdout.buffer.write(importlib.util.MAGIC_NUMBER)"],
        capture_output=True, check=True,
    ).stdout
    with zipfile.ZipFile(zip_path) as zf:
        header = zf.read("skyrelay/tiers.pyc")[:16]
    assert header[:4] == magic != importlib.util.MAGIC_NUMBER  # 3.12 bytecode, not this interpreter's
    assert int.from_bytes(header[4:8], "little") == 0b01  # hash-based, unchecked: no timestamps


def test_entries_have_fixed_timestamps_and_sorted_order(zip_path):
    infos = zipfile.ZipFile(zip_path).infolist()
    assert {i.date_time for i in infos} == {packaging.FIXED_TIME}
    names = [i.filename for i in infos]
    assert names == sorted(names)


def test_writing_the_same_tree_twice_gives_identical_bytes(tmp_path):
    import os
    import time

    tree = tmp_path / "tree"
    (tree / "pkg").mkdir(parents=True)
    (tree / "pkg" / "b.py").write_text("B = 2\n")
    (tree / "pkg" / "a.py").write_text("A = 1\n")
    packaging._write_zip(tree, tmp_path / "one.zip")
    later = time.time() + 3600
    for f in (tree / "pkg").iterdir():
        os.utime(f, (later, later))
    packaging._write_zip(tree, tmp_path / "two.zip")
    assert (tmp_path / "one.zip").read_bytes() == (tmp_path / "two.zip").read_bytes()


def test_the_cache_key_follows_source_content(monkeypatch, tmp_path, zip_path):
    """A built zip is reused for the same inputs, and a source change makes a new one."""
    assert packaging.build_lambda_zip() == zip_path
    sources = packaging.source_files()
    extra = tmp_path / "extra.py"
    extra.write_text("X = 1\n")
    monkeypatch.setattr(packaging, "source_files", lambda: {**sources, "skyrelay/runtime/zz_extra.py": extra})
    rebuilt = packaging.build_lambda_zip()
    try:
        assert rebuilt != zip_path
        assert "skyrelay/runtime/zz_extra.pyc" in zipfile.ZipFile(rebuilt).namelist() or (
            "skyrelay/runtime/zz_extra.py" in zipfile.ZipFile(rebuilt).namelist()
        )
    finally:
        rebuilt.unlink()
