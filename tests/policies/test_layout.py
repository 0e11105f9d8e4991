"""The pack's import rules: no component imports anywhere in policies/, per-cloud folders
independent, and PolicyPack built only in policies/__main__.py (building one starts a server)."""

import ast

from tests.conftest import ROOT

POLICIES = ROOT / "policies"


def imports_of(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module


def test_policies_never_import_components_and_clouds_stay_apart():
    clouds = {"aws", "azure", "gcp"}
    problems = []
    for path in POLICIES.rglob("*.py"):
        folder = path.relative_to(POLICIES).parts[0]
        for name in imports_of(path):
            if name.startswith("skyrelay.components"):
                problems.append(f"{path}: {name}")
            cloud = name.split(".")[2] if name.startswith("skyrelay.policies.") and name.count(".") >= 2 else None
            if folder in clouds and cloud in clouds and cloud != folder:
                problems.append(f"{path}: {name}")
    assert problems == []


def test_only_main_builds_the_pack():
    builders = [p.name for p in POLICIES.rglob("*.py") if "PolicyPack(" in p.read_text()]
    assert builders == ["__main__.py"]
