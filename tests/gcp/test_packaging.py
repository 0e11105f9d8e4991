"""The Cloud Run source zip: deterministic, requirements pinned from the lock file, no IaC in it."""

import zipfile

from skyrelay.components.gcp.packaging import CLOUD_RUN, CLOUD_RUN_REQUIREMENTS, build_source_zip
from skyrelay.components.packaging import pinned_requirements


def test_same_sources_give_the_same_bytes(tmp_path):
    first = build_source_zip(tmp_path / "a")
    second = build_source_zip(tmp_path / "b")
    assert first.name == second.name and first.read_bytes() == second.read_bytes()
    with zipfile.ZipFile(first) as zf:
        infos = zf.infolist()
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert [i.filename for i in infos] == sorted(i.filename for i in infos)


def test_requirements_are_pinned_from_the_lock_file(tmp_path, project_root):
    with zipfile.ZipFile(build_source_zip(tmp_path)) as zf:
        requirements = zf.read("requirements.txt").decode().split()
        names = zf.namelist()
        procfile = zf.read("Procfile").decode()
    assert requirements == pinned_requirements(CLOUD_RUN_REQUIREMENTS)
    lock = {line.split("==")[0].lower(): line.split()[0] for line in (project_root / "requirements.lock").read_text().splitlines()
            if "==" in line and not line.startswith("#")}
    for name in ("google-cloud-tasks", "google-auth", "starlette", "uvicorn"):
        assert lock[name] in requirements
    # Firestore is spoken over REST: its SDK is not in the image
    assert not any(r.startswith("google-cloud-firestore==") for r in requirements)
    assert all("==" in r for r in requirements)
    assert procfile == "web: python -m skyrelay.runtime.platforms.cloud_run --role api\n"
    assert CLOUD_RUN.platform is None and not any(n.endswith((".so", ".whl")) for n in names)


def test_the_iac_stack_stays_out(tmp_path):
    with zipfile.ZipFile(build_source_zip(tmp_path)) as zf:
        names = zf.namelist()
        requirements = zf.read("requirements.txt").decode()
    assert "skyrelay/runtime/__init__.py" in names and "skyrelay/deployment.py" in names
    assert "skyrelay/data/tiers.json" in names  # pre-parsed for the cold start
    for forbidden in ("skyrelay/plan/", "skyrelay/cli/", "skyrelay/runtime/simulator/", "skyrelay/components/",
                      "skyrelay/blueprints/", "skyrelay/policies/", "pulumi"):
        assert not [n for n in names if n.startswith(forbidden)], forbidden
    assert "pulumi" not in requirements
