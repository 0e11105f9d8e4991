"""Azure CostGuard as rendered in the azure-dev stack, asserted on the same inventory `skyrelay plan` prints."""

import logging
from datetime import UTC, datetime

import pytest

from skyrelay.config import parse_stack_config
from skyrelay.errors import ConfigError
from skyrelay.plan.mocks import SUBSCRIPTION_ID
from skyrelay.tags import REQUIRED_TAG_KEYS, taggable_property
from tests.components.kit import cost_guard_program

RG_SCOPE = f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/rg-skyrelay-dev"
REQUIRE_TAG = "/providers/Microsoft.Authorization/policyDefinitions/871b6d14-10aa-478d-b590-94f262ecfa99"
TAGS = {"cost-center": "cc-ai-1234", "environment": "dev", "team": "ai-platform"}


@pytest.fixture(scope="module")
def plan():
    from skyrelay.plan import render_stack

    return render_stack("azure-dev")[0]


def test_budget_at_resource_group_scope_with_50_80_100_actual_and_100_forecasted(plan):
    budget = plan.one("azure-native:consumption:Budget")
    assert budget.inputs["scope"] == RG_SCOPE
    notes = budget.inputs["notifications"]
    assert sorted(notes) == ["actual_100", "actual_50", "actual_80", "forecasted_100"]
    for key, note in notes.items():
        kind, threshold = key.split("_")
        # the blueprint's budget also notifies AsyncJobs' action group
        groups = note.pop("contactGroups")
        assert len(groups) == 1 and groups[0].endswith("/actionGroups/jobs-alerts")
        assert note == {
            "enabled": True,
            "operator": "GreaterThan",
            "threshold": int(threshold),
            "thresholdType": kind.capitalize(),
            "contactEmails": ["finops@example.com"],
        }, key
    assert budget.inputs["amount"] == 500
    assert budget.inputs["category"] == "Cost" and budget.inputs["timeGrain"] == "Monthly"
    first_of_month = datetime.now(UTC).strftime("%Y-%m-01T00:00:00Z")
    assert budget.inputs["timePeriod"] == {"startDate": first_of_month}


def test_budget_depends_on_the_resource_group_it_is_scoped_to(plan):
    group = plan.one("azure-native:resources:ResourceGroup")
    assert group.inputs["resourceGroupName"] == "rg-skyrelay-dev" and group.inputs["location"] == "westeurope"
    assert group.urn in plan.one("azure-native:consumption:Budget").dependencies


def test_subscription_anomaly_alert_is_a_daily_insight_alert(plan):
    alert = plan.one("azure-native:costmanagement:ScheduledActionByScope")
    inputs = alert.inputs
    assert inputs["kind"] == "InsightAlert"
    assert inputs["scope"] == f"subscriptions/{SUBSCRIPTION_ID}"
    assert inputs["viewId"] == (
        f"/subscriptions/{SUBSCRIPTION_ID}/providers/Microsoft.CostManagement/views/ms:DailyAnomalyByResourceGroup"
    )
    assert inputs["status"] == "Enabled" and inputs["displayName"]
    assert inputs["notification"]["to"] == ["finops@example.com"] and inputs["notification"]["subject"]
    assert inputs["schedule"]["frequency"] == "Daily"
    assert inputs["schedule"]["startDate"] < inputs["schedule"]["endDate"]
    assert inputs["name"] == "skyrelay-azure-dev-cost-anomalies"


def test_one_require_tag_policy_assignment_per_required_tag(plan):
    assignments = plan.of_type("azure-native:authorization:PolicyAssignment")
    assert sorted(a.inputs["parameters"]["tagName"]["value"] for a in assignments) == sorted(REQUIRED_TAG_KEYS)
    for a in assignments:
        assert a.inputs["policyDefinitionId"] == REQUIRE_TAG
        assert a.inputs["scope"] == RG_SCOPE
        assert a.inputs["enforcementMode"] == "Default"
        assert len(a.inputs["policyAssignmentName"]) <= 64


def test_every_taggable_resource_carries_the_three_tags(plan):
    taggable = [r for r in plan.resources if taggable_property(r.type)]
    assert "azure-native:resources:ResourceGroup" in [r.type for r in taggable] and len(taggable) > 20
    for r in taggable:
        assert {k: r.inputs["tags"][k] for k in REQUIRED_TAG_KEYS} == TAGS, r.urn


def test_explicit_provider_with_the_stack_location(plan):
    provider = plan.one("pulumi:providers:azure-native")
    assert provider.inputs["location"] == "westeurope"
    assert all(r.provider.startswith(provider.urn) for r in plan.resources if r.custom and r.type.startswith("azure-native:"))


def test_stack_outputs(render_stack):
    outputs = render_stack("azure-dev").outputs
    assert outputs["budget_scope"] == RG_SCOPE
    assert outputs["resource_group_id"] == RG_SCOPE



BASE = "'budget_amount': 10, 'cost_center': 'c', 'resource_group_name': 'rg', 'alert_emails': ['a@b.co']"


def test_overriding_a_secure_default_warns_naming_it(tmp_path, render_program, caplog):
    caplog.set_level(logging.WARNING)
    plan = render_program(
        cost_guard_program(tmp_path, "azure", "{" + BASE + ", 'overrides': {'policy_enforcement_mode': 'DoNotEnforce'}}"), {}
    )
    assert "policy_enforcement_mode" in caplog.text
    assert {a.inputs["enforcementMode"] for a in plan.of_type("azure-native:authorization:PolicyAssignment")} == {
        "DoNotEnforce"
    }


def test_explicit_subscription_action_groups_and_start_date(tmp_path, render_program):
    sub = "22222222-2222-2222-2222-222222222222"
    group = f"/subscriptions/{sub}/resourceGroups/ops/providers/microsoft.insights/actionGroups/finops"
    plan = render_program(
        cost_guard_program(
            tmp_path, "azure",
            "{" + BASE + f", 'subscription_id': '{sub}', 'action_group_ids': ['{group}'], 'start_date': '2026-01-01',"
            " 'overrides': {'anomaly_alert': False}}",
        ),
        {},
    )
    budget = plan.one("azure-native:consumption:Budget")
    assert budget.inputs["scope"] == f"/subscriptions/{sub}/resourceGroups/rg"
    assert all(n["contactGroups"] == [group] for n in budget.inputs["notifications"].values())
    assert budget.inputs["timePeriod"]["startDate"] == "2026-01-01T00:00:00Z"
    assert plan.of_type("azure-native:costmanagement:ScheduledActionByScope") == []


@pytest.mark.parametrize(
    ("args", "key"),
    [
        ("{'budget_amount': 0, 'cost_center': 'c', 'resource_group_name': 'rg', 'alert_emails': ['a@b.co']}",
         "CostGuard.budget_amount"),
        ("{'budget_amount': 5, 'resource_group_name': 'rg', 'alert_emails': ['a@b.co']}", "CostGuard.cost_center"),
        ("{'budget_amount': 5, 'cost_center': 'c', 'alert_emails': ['a@b.co']}", "CostGuard.resource_group_name"),
        ("{'budget_amount': 5, 'cost_center': 'c', 'resource_group_name': 'rg'}", "CostGuard.alert_emails"),
        ("{" + BASE + ", 'alert_thresholds': [10, 20, 30, 40, 50]}", "CostGuard.alert_thresholds"),
        ("{" + BASE + ", 'start_date': '2026-01-15'}", "CostGuard.start_date"),
        ("{" + BASE + ", 'overrides': {'nope': 1}}", "CostGuard.overrides.nope"),
    ],
)
def test_bad_component_args_fail_naming_the_arg(tmp_path, render_program, args, key):
    with pytest.raises(ConfigError) as err:
        render_program(cost_guard_program(tmp_path, "azure", args), {})
    assert err.value.key == key


def _raw(**azure):
    return {
        "skyrelay:cloud": "azure",
        "skyrelay:tags": TAGS,
        "skyrelay:budget": {"amount": 100, "emails": ["a@b.co"]},
        "skyrelay:azure": azure,
    }


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ({k: v for k, v in _raw().items() if k != "skyrelay:azure"}, "skyrelay:azure"),
        (_raw(location="westeurope"), "skyrelay:azure.resourceGroup"),
        (_raw(resourceGroup="rg", location="West Europe"), "skyrelay:azure.location"),
        (_raw(resourceGroup="rg", subscriptionId="not-a-guid"), "skyrelay:azure.subscriptionId"),
        (_raw(resourceGroup="rg", region="westeurope"), "skyrelay:azure.region"),
    ],
)
def test_bad_azure_config_names_the_key(raw, key):
    with pytest.raises(ConfigError) as err:
        parse_stack_config(raw, "Pulumi.azure-dev.yaml")
    assert err.value.key == key


def test_stack_file_parses(project_root):
    from skyrelay.config import load_stack_config

    config = load_stack_config(project_root / "stacks" / "Pulumi.azure-dev.yaml")
    assert config.cloud == "azure" and config.azure.resource_group == "rg-skyrelay-dev"
