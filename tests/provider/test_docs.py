"""The README's component list and docs/provider.md's reference are the served schema's
(scripts/gen_docs.py writes them; tests/test_generated_docs.py checks the whole docs for drift)."""

import copy
import importlib.util

from tests.provider.loopback import ROOT

DOCS = (ROOT / "README.md", ROOT / "docs" / "provider.md")


def gen_docs():
    spec = importlib.util.spec_from_file_location("gen_docs", ROOT / "scripts" / "gen_docs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generated_reference_is_rendered_from_the_served_schema(served_schema):
    gen = gen_docs()
    for path in DOCS:
        text = path.read_text()
        assert gen.PROVIDER_COMPONENTS_BLOCK.search(text) or gen.PROVIDER_REFERENCE_BLOCK.search(text)
        assert gen.render_provider(text, served_schema) == text
    reference = (ROOT / "docs" / "provider.md").read_text()
    assert all(f"### `{token}`" in reference for token in [*served_schema["resources"], *served_schema["types"]])


def test_a_changed_schema_makes_the_reference_drift(served_schema):
    gen = gen_docs()
    changed = copy.deepcopy(served_schema)
    inputs = changed["resources"]["skyrelay:aws:AsyncJobs"]["inputProperties"]
    inputs["workerTimeoutSecs"] = inputs.pop("workerTimeoutSeconds")
    for path in DOCS:
        assert gen.render_provider(path.read_text(), changed) != path.read_text()
