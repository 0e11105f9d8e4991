"""AWS CostGuard as rendered in the aws-dev stack, asserted on the same inventory `skyrelay plan` prints."""

import json
import logging

import pytest

from skyrelay.errors import ConfigError
from skyrelay.tags import REQUIRED_TAG_KEYS, taggable_property
from tests.components.kit import cost_guard_program


@pytest.fixture(scope="module")
def plan():
    from skyrelay.plan import render_stack

    return render_stack("aws-dev")[0]


def test_budget_alerts_at_50_80_100_actual_and_100_forecasted(plan):
    budget = plan.one("aws:budgets/budget:Budget")
    got = sorted((n["notificationType"], n["threshold"]) for n in budget.inputs["notifications"])
    assert got == [("ACTUAL", 50), ("ACTUAL", 80), ("ACTUAL", 100), ("FORECASTED", 100)]
    for n in budget.inputs["notifications"]:
        assert n["thresholdType"] == "PERCENTAGE" and n["comparisonOperator"] == "GREATER_THAN"
        assert n["subscriberSnsTopicArns"][0].startswith("arn:aws:sns:")
    assert budget.inputs["timeUnit"] == "MONTHLY" and budget.inputs["limitAmount"] == "500.00"
    assert budget.inputs["costFilters"] == [{"name": "TagKeyValue", "values": ["user:cost-center$cc-ai-1234"]}]


def test_anomaly_monitor_by_cost_center_and_immediate_sns_subscription(plan):
    monitor = plan.one("aws:costexplorer/anomalyMonitor:AnomalyMonitor")
    assert monitor.inputs["monitorType"] == "CUSTOM"
    spec = json.loads(monitor.inputs["monitorSpecification"])
    assert spec["Tags"] == {"Key": "cost-center", "Values": ["cc-ai-1234"], "MatchOptions": ["EQUALS"]}
    sub = plan.one("aws:costexplorer/anomalySubscription:AnomalySubscription")
    assert sub.inputs["frequency"] == "IMMEDIATE"
    assert sub.inputs["subscribers"][0]["type"] == "SNS"
    dim = sub.inputs["thresholdExpression"]["dimension"]
    assert dim["key"] == "ANOMALY_TOTAL_IMPACT_ABSOLUTE" and dim["values"] == ["50"]
    policy = plan.one("aws:sns/topicPolicy:TopicPolicy")
    assert policy.urn in sub.dependencies  # subscribing fails until the topic policy exists


def test_topic_policy_lets_budgets_and_anomaly_detection_publish_over_tls_only(plan):
    doc = json.loads(plan.one("aws:sns/topicPolicy:TopicPolicy").inputs["policy"])
    by_sid = {s["Sid"]: s for s in doc["Statement"]}
    assert by_sid["AllowBudgetsPublish"]["Principal"] == {"Service": "budgets.amazonaws.com"}
    assert by_sid["AllowCostAnomalyPublish"]["Principal"] == {"Service": "costalerts.amazonaws.com"}
    assert all("aws:SourceAccount" in s["Condition"]["StringEquals"] for s in doc["Statement"] if s["Effect"] == "Allow")
    assert by_sid["DenyInsecureTransport"]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_topic_encrypted_with_a_rotating_key_the_cost_services_may_use(plan):
    key = plan.one("aws:kms/key:Key")
    assert key.inputs["enableKeyRotation"] is True
    services = [s for s in json.loads(key.inputs["policy"])["Statement"] if s["Sid"] == "CostServicesPublish"][0]
    assert set(services["Principal"]["Service"]) == {"budgets.amazonaws.com", "costalerts.amazonaws.com"}
    assert plan.one("aws:sns/topic:Topic").inputs["kmsMasterKeyId"].startswith("arn:aws:kms:")


def test_cost_allocation_tags_activated(plan):
    tags = plan.of_type("aws:costexplorer/costAllocationTag:CostAllocationTag")
    assert sorted((t.inputs["tagKey"], t.inputs["status"]) for t in tags) == [
        (k, "Active") for k in sorted(REQUIRED_TAG_KEYS)
    ]


def test_every_taggable_resource_carries_the_three_tags_and_provider_default_tags(plan):
    taggable = [r for r in plan.resources if taggable_property(r.type)]
    assert len(taggable) >= 5
    for r in taggable:
        assert {k: r.inputs["tags"][k] for k in REQUIRED_TAG_KEYS} == {
            "cost-center": "cc-ai-1234",
            "environment": "dev",
            "team": "ai-platform",
        }, r.urn
    provider = plan.one("pulumi:providers:aws")
    assert json.loads(provider.inputs["defaultTags"])["tags"]["cost-center"] == "cc-ai-1234"



def test_overriding_a_secure_default_warns_naming_it(tmp_path, render_program, caplog):
    caplog.set_level(logging.WARNING)
    plan = render_program(
        cost_guard_program(tmp_path, "aws", "{'budget_amount': 10, 'cost_center': 'c', 'overrides': {'sns_tls_only': False}}"), {}
    )
    assert "sns_tls_only" in caplog.text
    doc = json.loads(plan.one("aws:sns/topicPolicy:TopicPolicy").inputs["policy"])
    assert "DenyInsecureTransport" not in {s["Sid"] for s in doc["Statement"]}


@pytest.mark.parametrize(
    ("args", "key"),
    [
        ("{'budget_amount': 0, 'cost_center': 'c'}", "CostGuard.budget_amount"),
        ("{'budget_amount': 5}", "CostGuard.cost_center"),
        ("{'budget_amount': 5, 'cost_center': 'c', 'overrides': {'nope': 1}}", "CostGuard.overrides.nope"),
    ],
)
def test_bad_component_args_fail_naming_the_arg(tmp_path, render_program, args, key):
    with pytest.raises(ConfigError) as err:
        render_program(cost_guard_program(tmp_path, "aws", args), {})
    assert err.value.key == key
