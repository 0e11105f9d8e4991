"""The import contracts cover the whole core: a new core module must be added to .importlinter."""

import configparser


def test_every_core_module_is_in_the_core_contract(project_root):
    parser = configparser.ConfigParser()
    parser.read(project_root / ".importlinter")
    listed = set(parser["importlinter:contract:core"]["source_modules"].split())
    core = {
        f"skyrelay.{p.stem}"
        for p in (project_root / "skyrelay").iterdir()
        if (p.suffix == ".py" and p.stem != "__init__") or (p.is_dir() and (p / "__init__.py").exists())
    } - {"skyrelay.plan", "skyrelay.cli", "skyrelay.check"}  # the top floor (its own contract)
    assert core == listed


def test_component_modules_keep_annotations_evaluable(project_root):
    """Schema inference for component providers breaks on postponed annotations."""
    offenders = [
        str(p.relative_to(project_root))
        for p in (project_root / "components").rglob("*.py")
        if "from __future__ import annotations" in p.read_text()
    ]
    assert offenders == []
