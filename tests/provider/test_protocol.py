"""The plugin over the real provider gRPC protocol, started as the engine starts it: GetPluginInfo,
GetSchema (valid against Pulumi's package metaschema, every public component listed) and a
Construct of every hosted component."""

import inspect
import json
import tomllib
from pathlib import Path

import jsonschema_rs
import pulumi
import pytest
import yaml

from skyrelay.components import aws, azure, gcp
from skyrelay.provider.hosted import HOSTED
from tests.provider.loopback import PLUGIN_DIR, ROOT, state_of

METASCHEMA = Path(__file__).parent / "data" / "pulumi.json"
# The least each hosted component needs to construct (a component that joins the package adds its line).
MINIMAL_INPUTS = {
    "skyrelay:aws:AsyncJobs": {},
    "skyrelay:aws:JobsApi": {},
    "skyrelay:aws:CostGuard": {"budgetAmount": 100, "costCenter": "ai-platform"},
    "skyrelay:aws:WorkQueue": {"consumerTimeoutSeconds": 60},
    "skyrelay:azure:CostGuard": {
        "budgetAmount": 100, "costCenter": "ai-platform", "resourceGroupName": "rg-ai", "alertEmails": ["a@example.com"],
    },
    "skyrelay:azure:AsyncJobs": {"resourceGroupName": "rg-ai", "codePath": str(ROOT / "pyproject.toml")},
    "skyrelay:azure:JobsApi": {
        "resourceGroupName": "rg-ai", "functionAppName": "fn-ai", "functionAppHostname": "fn-ai.azurewebsites.net",
    },
    "skyrelay:gcp:CostGuard": {
        "budgetAmount": 100, "costCenter": "ai-platform", "billingAccount": "000000-AAAAAA-BBBBBB",
        "alertEmails": ["a@example.com"],
    },
    "skyrelay:gcp:AsyncJobs": {},
    "skyrelay:gcp:JobsApi": {"image": "europe-west1-docker.pkg.dev/p/r/skyrelay:1"},
}


def project_version() -> str:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


def test_plugin_info_is_the_package_version(plugin, served_schema):
    assert plugin.plugin_info().version == project_version() == served_schema["version"]


def test_served_schema_validates_against_the_pulumi_metaschema(served_schema):
    validator = jsonschema_rs.Draft202012Validator(json.loads(METASCHEMA.read_text()))
    assert [e.message for e in validator.iter_errors(served_schema)] == []
    # Control: the metaschema does reject a malformed schema, so the empty list above means something.
    broken = json.loads(json.dumps(served_schema))
    broken["resources"]["skyrelay:aws:AsyncJobs"]["inputProperties"]["workerTimeoutSeconds"]["items"] = {"type": "string"}
    assert list(validator.iter_errors(broken))


def public_components() -> set[type]:
    return {
        v for cloud in (aws, azure, gcp) for v in map(cloud.__dict__.get, cloud.__all__)
        if inspect.isclass(v) and issubclass(v, pulumi.ComponentResource)
    }


def test_schema_lists_every_public_component_of_every_cloud(served_schema):
    assert {h.component for h in HOSTED} == public_components()
    assert set(served_schema["resources"]) == {h.token for h in HOSTED} == set(MINIMAL_INPUTS)
    assert {t.split(":")[1] for t in served_schema["resources"]} == {"aws", "azure", "gcp"}
    assert all(r["isComponent"] for r in served_schema["resources"].values())


@pytest.mark.parametrize("token", sorted(MINIMAL_INPUTS))
def test_every_hosted_component_constructs_under_its_own_token(plugin, served_schema, token):
    """The URN's type is the token the Python class registers, equal to the schema's: a resource has
    one type whether a Python or a YAML program created it."""
    name = "min-" + token.replace(":", "-").lower()
    response = plugin.construct(token, name, MINIMAL_INPUTS[token])
    assert response.urn.endswith(f"pulumi:pulumi:Stack${token}::{name}")
    state = state_of(response)
    outputs = served_schema["resources"][token]["properties"]
    assert state and set(state) <= set(outputs)
    children = [r for r in plugin.monitor.planned if r.parent == response.urn]
    assert children, "the component registered no children"


def test_plugin_files_run_the_entry_point_in_the_locked_virtualenv():
    plugin = yaml.safe_load((PLUGIN_DIR / "PulumiPlugin.yaml").read_text())
    assert set(plugin) <= {"runtime", "packages", "requiredPulumiVersion", "template"}
    assert plugin["runtime"]["name"] == "python"
    venv = (PLUGIN_DIR / plugin["runtime"]["options"]["virtualenv"]).resolve()
    assert venv == (ROOT / ".venv").resolve()  # `make install` builds it from requirements.lock
    assert (PLUGIN_DIR / "__main__.py").is_file()
    lines = [x for x in (PLUGIN_DIR / "requirements.txt").read_text().splitlines() if x and not x.startswith("#")]
    assert lines == ["-r ../requirements.lock", "-e .."]
    assert (PLUGIN_DIR / "../requirements.lock").resolve() == ROOT / "requirements.lock"
    pins = (ROOT / "requirements.lock").read_text()
    for distribution in ("pulumi==3.272.0", "pulumi-aws==7.51.1", "pulumi-azure-native==3.29.0", "pulumi-gcp==10.2.0"):
        assert f"\n{distribution}\n" in pins
