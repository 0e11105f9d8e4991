"""The Functions artifact: wheels for Linux x86_64 and the pinned Python, host.json from the lock
rule, the one-line entry module, no IaC; deterministic; and self-contained: a bare interpreter with
only the unpacked zip on its path indexes the app's functions."""

import json
import subprocess
import sys
import zipfile

import pytest

from skyrelay import deployment as contract
from skyrelay.components.azure import packaging


@pytest.fixture(scope="module")
def zip_path():
    return packaging.build_functions_zip(120, 16, 60)


def test_zip_holds_linux_wheels_for_the_pinned_python_and_no_iac(zip_path):
    names = zipfile.ZipFile(zip_path).namelist()
    tops = {n.split("/")[0] for n in names}
    assert {"azure", "pydantic", "pydantic_core", "starlette", "aiohttp", "skyrelay"} <= tops
    assert not tops & {"pulumi", "pulumi_azure_native", "boto3", "botocore", "mangum"}
    assert not any(n.startswith(("skyrelay/plan/", "skyrelay/cli/", "skyrelay/runtime/simulator/",
                                 "skyrelay/runtime/platforms/aws_lambda/", "skyrelay/components/")) for n in names)
    sos = [n for n in names if n.endswith(".so")]
    assert sos and all("x86_64" in n or "abi3" in n for n in sos)
    assert not [n for n in sos if "cpython-3" in n and "cpython-311" not in n]
    assert packaging.PYTHON == "3.11"


def test_host_json_and_entry_module_come_from_the_lock_rule(zip_path):
    with zipfile.ZipFile(zip_path) as zf:
        assert json.loads(zf.read("host.json")) == contract.host_json(120, 16, 60)
        assert zf.read("function_app.py").decode() == packaging.ENTRY


def test_same_inputs_same_zip_and_a_new_worker_timeout_a_new_one(zip_path):
    again = packaging.build_functions_zip(120, 16, 60)
    assert again == zip_path
    infos = zipfile.ZipFile(zip_path).infolist()
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    other = packaging.target_for(300, 16, 60)
    assert other.extra_files != packaging.target_for(120, 16, 60).extra_files  # and so the zip's hash


def test_the_unpacked_zip_alone_indexes_the_function_app(zip_path, tmp_path):
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(tmp_path)
    script = ("import sys; sys.path[:] = [sys.argv[1]] + [p for p in sys.path if 'site-packages' not in p]\n"
              "import function_app\n"
              "print(sorted(f.get_function_name() for f in function_app.app.get_functions()))\n")
    out = subprocess.run([sys.executable, "-I", "-S", "-c", script, str(tmp_path)], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == str(["api", "batch", "batcher", "interactive", "sweeper"])
