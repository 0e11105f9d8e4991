"""Generated doc blocks (component defaults, tier table) match the code they come from."""

import importlib.util
import subprocess
import sys

from skyrelay.components.aws import defaults as aws_defaults
from skyrelay.components.defaults import Default


def _gen(project_root):
    spec = importlib.util.spec_from_file_location("gen_docs", project_root / "scripts" / "gen_docs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_docs_match_code(project_root):
    result = subprocess.run([sys.executable, "scripts/gen_docs.py", "--check"], cwd=project_root, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_a_changed_default_makes_the_readme_drift(project_root, monkeypatch):
    gen = _gen(project_root)
    readme = project_root / "components" / "aws" / "README.md"
    assert gen.render(readme) == readme.read_text()
    monkeypatch.setitem(aws_defaults.COST_GUARD, "kms_deletion_window_days", Default(7, "changed"))
    assert gen.render(readme) != readme.read_text()
