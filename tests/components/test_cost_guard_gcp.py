"""GCP CostGuard as rendered in the gcp-dev stack, asserted on the same inventory `skyrelay plan` prints."""

import json
import logging

import pytest

from skyrelay.config import parse_stack_config
from skyrelay.errors import ConfigError
from skyrelay.plan.mocks import GCP_PROJECT_NUMBER
from skyrelay.tags import REQUIRED_TAG_KEYS, taggable_property
from tests.components.kit import cost_guard_program

TAGS = {"cost-center": "cc-ai-1234", "environment": "dev", "team": "ai-platform"}
TOPIC_ID = "projects/skyrelay-dev/topics/cost-budget-alerts"


@pytest.fixture(scope="module")
def plan():
    from skyrelay.plan import render_stack

    return render_stack("gcp-dev")[0]


def test_budget_rules_at_50_80_100_current_and_100_forecasted(plan):
    budget = plan.one("gcp:billing/budget:Budget")
    assert budget.inputs["thresholdRules"] == [
        {"thresholdPercent": 0.5, "spendBasis": "CURRENT_SPEND"},
        {"thresholdPercent": 0.8, "spendBasis": "CURRENT_SPEND"},
        {"thresholdPercent": 1, "spendBasis": "CURRENT_SPEND"},
        {"thresholdPercent": 1, "spendBasis": "FORECASTED_SPEND"},
    ]
    assert budget.inputs["amount"] == {"specifiedAmount": {"currencyCode": "USD", "units": "500"}}
    assert budget.inputs["billingAccount"] == "012345-6789AB-CDEF01"


def test_budget_filtered_to_the_project_number_and_cost_center_label(plan):
    budget_filter = plan.one("gcp:billing/budget:Budget").inputs["budgetFilter"]
    assert budget_filter["projects"] == [f"projects/{GCP_PROJECT_NUMBER}"]
    assert budget_filter["labels"] == {"cost-center": "cc-ai-1234"}
    assert budget_filter["calendarPeriod"] == "MONTH"


def test_every_update_goes_to_the_topic_and_the_email_channels(plan):
    budget = plan.one("gcp:billing/budget:Budget")
    rule = budget.inputs["allUpdatesRule"]
    assert rule["pubsubTopic"] == TOPIC_ID and rule["schemaVersion"] == "1.0"
    channel = plan.one("gcp:monitoring/notificationChannel:NotificationChannel")
    assert channel.inputs["type"] == "email" and channel.inputs["labels"]["email_address"] == "finops@example.com"
    assert rule["monitoringNotificationChannels"] == ["projects/skyrelay-dev/notificationChannels/cost-email-0"]
    publisher = plan.one("gcp:pubsub/topicIAMMember:TopicIAMMember")
    assert publisher.inputs["member"] == "serviceAccount:billing-budget-alert@system.gserviceaccount.com"
    assert publisher.inputs["role"] == "roles/pubsub.publisher"
    assert publisher.urn in budget.dependencies  # the first notification needs the grant


def test_topic_keeps_messages_in_the_stack_region(plan):
    topic = plan.one("gcp:pubsub/topic:Topic")
    assert topic.inputs["messageStoragePolicy"] == {"allowedPersistenceRegions": ["europe-west1"]}
    assert topic.inputs["messageRetentionDuration"] == "604800s"


def _cost_guard(resources):
    """The cost guard's children (the stack also holds AsyncJobs' alerts and services)."""
    return [r for r in resources if "skyrelay:gcp:CostGuard" in r.urn]


def test_anomaly_substitute_is_a_spend_driver_alert_policy(plan):
    (policy,) = _cost_guard(plan.of_type("gcp:monitoring/alertPolicy:AlertPolicy"))
    (condition,) = policy.inputs["conditions"]
    query = condition["conditionPrometheusQueryLanguage"]["query"]
    assert "serviceruntime_googleapis_com:api_request_count" in query
    assert 'monitored_resource="consumed_api"' in query and r"aiplatform\\.googleapis\\.com" in query
    assert "offset 1w" in query and "> 3 *" in query and "> 0.05" in query
    assert policy.inputs["notificationChannels"] == ["projects/skyrelay-dev/notificationChannels/cost-email-0"]
    assert policy.inputs["userLabels"] == TAGS
    assert "substitute" in policy.inputs["documentation"]["content"]


def test_budget_and_alerts_wait_for_their_apis(plan):
    services = {s.inputs["service"]: s for s in _cost_guard(plan.of_type("gcp:projects/service:Service"))}
    assert set(services) == {"billingbudgets.googleapis.com", "pubsub.googleapis.com", "monitoring.googleapis.com"}
    assert all(s.inputs["disableOnDestroy"] is False for s in services.values())
    budget = plan.one("gcp:billing/budget:Budget")
    assert services["billingbudgets.googleapis.com"].urn in budget.dependencies


def test_labels_not_tags_on_every_taggable_resource_and_provider_default_labels(plan):
    taggable = [r for r in plan.resources if taggable_property(r.type)]
    assert {r.type for r in taggable} >= {"gcp:pubsub/topic:Topic"}
    for r in taggable:
        assert taggable_property(r.type) == "labels"
        assert {k: r.inputs["labels"][k] for k in REQUIRED_TAG_KEYS} == TAGS, r.urn
    for r in plan.resources:
        if r.type.startswith("gcp:"):
            assert not set(REQUIRED_TAG_KEYS) & set(r.inputs.get("tags") or {}), r.urn
    provider = plan.one("pulumi:providers:gcp")
    assert json.loads(provider.inputs["defaultLabels"]) == TAGS
    assert provider.inputs["project"] == "skyrelay-dev" and provider.inputs["region"] == "europe-west1"
    assert provider.inputs["billingProject"] == "skyrelay-dev"


def test_notification_channel_labels_hold_only_channel_config(plan):
    channel = plan.one("gcp:monitoring/notificationChannel:NotificationChannel")
    assert channel.inputs["labels"] == {"email_address": "finops@example.com"}


def test_stack_outputs(render_stack):
    outputs = render_stack("gcp-dev").outputs
    assert outputs["budget_topic_id"] == TOPIC_ID
    assert outputs["budget_id"].startswith("billingAccounts/012345-6789AB-CDEF01/budgets/")



BASE = "'budget_amount': 10, 'cost_center': 'c', 'billing_account': '012345-6789AB-CDEF01'"


def test_overriding_a_secure_default_warns_naming_it(tmp_path, render_program, caplog):
    caplog.set_level(logging.WARNING)
    plan = render_program(cost_guard_program(tmp_path, "gcp", "{" + BASE + ", 'overrides': {'topic_pin_region': False}}"), {})
    assert "topic_pin_region" in caplog.text
    assert "messageStoragePolicy" not in plan.one("gcp:pubsub/topic:Topic").inputs


def test_fractional_amount_and_switches(tmp_path, render_program):
    plan = render_program(
        cost_guard_program(
            tmp_path, "gcp",
            "{'budget_amount': 12.5, 'cost_center': 'c', 'billing_account': '012345-6789AB-CDEF01', "
            "'currency': 'EUR', 'overrides': {'spend_driver_alert': False, 'forecast_notification': False, "
            "'enable_apis': False}}",
        ),
        {},
    )
    budget = plan.one("gcp:billing/budget:Budget")
    assert budget.inputs["amount"]["specifiedAmount"] == {"currencyCode": "EUR", "units": "12", "nanos": 500_000_000}
    assert {r["spendBasis"] for r in budget.inputs["thresholdRules"]} == {"CURRENT_SPEND"}
    assert plan.of_type("gcp:monitoring/alertPolicy:AlertPolicy") == []
    assert plan.of_type("gcp:projects/service:Service") == []


@pytest.mark.parametrize(
    ("args", "key"),
    [
        ("{'budget_amount': -1, 'cost_center': 'c', 'billing_account': 'x'}", "CostGuard.budget_amount"),
        ("{'budget_amount': 5, 'billing_account': 'x'}", "CostGuard.cost_center"),
        ("{'budget_amount': 5, 'cost_center': 'c'}", "CostGuard.billing_account"),
        ("{" + BASE + ", 'alert_emails': ['a%d@b.co' % i for i in range(6)]}", "CostGuard.alert_emails"),
        ("{" + BASE + ", 'overrides': {'nope': 1}}", "CostGuard.overrides.nope"),
    ],
)
def test_bad_component_args_fail_naming_the_arg(tmp_path, render_program, args, key):
    with pytest.raises(ConfigError) as err:
        render_program(cost_guard_program(tmp_path, "gcp", args), {})
    assert err.value.key == key


def _raw(gcp):
    raw = {
        "skyrelay:cloud": "gcp",
        "skyrelay:tags": TAGS,
        "skyrelay:budget": {"amount": 100},
    }
    if gcp is not None:
        raw["skyrelay:gcp"] = gcp
    return raw


@pytest.mark.parametrize(
    ("gcp", "key"),
    [
        (None, "skyrelay:gcp"),
        ({"project": "skyrelay-dev"}, "skyrelay:gcp.billingAccount"),
        ({"billingAccount": "012345-6789AB-CDEF01"}, "skyrelay:gcp.project"),
        ({"project": "Skyrelay_Dev", "billingAccount": "012345-6789AB-CDEF01"}, "skyrelay:gcp.project"),
        ({"project": "skyrelay-dev", "billingAccount": "0123456789ABCDEF01"}, "skyrelay:gcp.billingAccount"),
        ({"project": "skyrelay-dev", "billingAccount": "012345-6789AB-CDEF01", "region": "EU"}, "skyrelay:gcp.region"),
    ],
)
def test_bad_gcp_config_names_the_key(gcp, key):
    with pytest.raises(ConfigError) as err:
        parse_stack_config(_raw(gcp), "Pulumi.gcp-dev.yaml")
    assert err.value.key == key


def test_stack_file_parses(project_root):
    from skyrelay.config import load_stack_config

    config = load_stack_config(project_root / "stacks" / "Pulumi.gcp-dev.yaml")
    assert config.cloud == "gcp" and config.gcp.billing_account == "012345-6789AB-CDEF01"
