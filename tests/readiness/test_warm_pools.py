"""Warm pools on aws-dev: the alias always, provisioned concurrency with its autoscaling target when
the knob is on, every caller on the alias; the keep-alive schedule when enabled, and the worker
answering its ping without the job store; Enterprise dedicated capacity; each judged by row 9."""

import json

import pytest
import yaml

from skyrelay import deployment as contract
from skyrelay.check import Status, p9_warm_pools, subject_of
from skyrelay.errors import ConfigError
from skyrelay.plan import render_stack
from tests.conftest import ROOT
from tests.readiness.conftest import with_inputs

ARN = "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/abc123"
WORKER, API = "skyrelay-aws-dev-jobs-worker", "skyrelay-aws-dev-api-api"


def aws_dev_with(**aws) -> dict:
    raw = yaml.safe_load((ROOT / "stacks" / "Pulumi.aws-dev.yaml").read_text())["config"]
    return {"skyrelay:aws": {**raw["skyrelay:aws"], **aws}}


@pytest.fixture(scope="module")
def warm_plan():
    overrides = aws_dev_with(
        warmPool={"worker": {"provisioned": 5, "autoscalingMax": 20, "targetUtilization": 0.6}, "api": {"provisioned": 2}},
        keepAlive=["quality-bedrock"],
        dedicatedCapacity={"model": "quality", "modelArn": ARN, "tenants": ["enterprise"]},
    )
    return render_stack("aws-dev", ROOT, overrides=overrides)[0]


def test_aws_dev_default_has_aliases_and_callers_on_them(aws_dev_plan):
    aliases = {a.inputs["functionName"]: a for a in aws_dev_plan.of_type(p9_warm_pools.ALIAS)}
    assert set(aliases) == {WORKER, API} and all(a.inputs["name"] == "live" for a in aliases.values())
    assert all(f.inputs["publish"] is True for f in aws_dev_plan.of_type("aws:lambda/function:Function"))
    assert not aws_dev_plan.of_type(p9_warm_pools.PROVISIONED)
    row = p9_warm_pools.check(subject_of(aws_dev_plan))
    assert row.status is Status.warn  # the dev stack's Enterprise tier has no dedicated capacity
    assert f"function {WORKER}: alias live (4 callers on it), on demand (no provisioned concurrency: cold starts " \
           "possible)" in row.evidence


def test_provisioned_concurrency_autoscaling_and_mappings_on_the_alias(warm_plan):
    pools = {p.inputs["functionName"]: p.inputs for p in warm_plan.of_type(p9_warm_pools.PROVISIONED)}
    assert pools[WORKER]["qualifier"] == "live" and pools[WORKER]["provisionedConcurrentExecutions"] == 5
    assert pools[API]["provisionedConcurrentExecutions"] == 2
    target = warm_plan.one(p9_warm_pools.SCALING_TARGET).inputs
    assert target == {**target, "serviceNamespace": "lambda", "scalableDimension": "lambda:function:ProvisionedConcurrency",
                      "resourceId": f"function:{WORKER}:live", "minCapacity": 5, "maxCapacity": 20}
    policy = warm_plan.one("aws:appautoscaling/policy:Policy").inputs
    assert policy["policyType"] == "TargetTrackingScaling"
    tracking = policy["targetTrackingScalingPolicyConfiguration"]
    assert tracking["targetValue"] == 0.6
    assert tracking["predefinedMetricSpecification"]["predefinedMetricType"] == "LambdaProvisionedConcurrencyUtilization"
    for esm in warm_plan.of_type("aws:lambda/eventSourceMapping:EventSourceMapping"):
        assert esm.inputs["functionName"].endswith(f"function:{WORKER}:live")
    chat = next(i for i in warm_plan.of_type("aws:apigateway/integration:Integration")
                if i.name == "api-post-v1-chat-completions")
    assert f"function:{API}:live/invocations" in chat.inputs["uri"]
    permissions = [p.inputs for p in warm_plan.of_type("aws:lambda/permission:Permission")]
    assert permissions and all(p["qualifier"] == "live" for p in permissions)
    row = p9_warm_pools.check(subject_of(warm_plan))
    assert row.status is Status.passed, row.evidence
    assert any(e.startswith(f"function {WORKER}: alias live with 5 provisioned, autoscaling 5-20 on utilization (~")
               for e in row.evidence)


def test_keep_alive_schedule_targets_the_worker_alias_with_its_cost(warm_plan):
    target = next(t for t in warm_plan.of_type("aws:cloudwatch/eventTarget:EventTarget") if t.name == "jobs-keepalive")
    assert json.loads(target.inputs["input"]) == contract.keepalive_event(["quality-bedrock"])
    assert target.inputs["arn"].endswith(f"function:{WORKER}:live")
    rule = next(r for r in warm_plan.of_type("aws:cloudwatch/eventRule:EventRule") if r.name == "jobs-keepalive")
    assert rule.inputs["scheduleExpression"] == "rate(5 minutes)"
    row = p9_warm_pools.check(subject_of(warm_plan))
    line = next(e for e in row.evidence if e.startswith("keep-alive jobs-keepalive"))
    # 8,640 pings x (10 input tokens x 0.003 + 1 output token x 0.015) / 1000 = 0.39 USD
    assert "8,640 pings/month each): quality-bedrock ~0.39 USD/month, plus ~0.15 USD/month" in line, line


def test_dedicated_capacity_pins_enterprise_and_clears_the_warning(warm_plan):
    cfg = subject_of(warm_plan).router
    dep = cfg.deployment("quality-dedicated")
    assert dep.provisioned and dep.upstream_model == ARN and dep.model_class == "dedicated"
    assert next(t for t in cfg.tenants if t.name == "enterprise").dedicated == ("quality-dedicated",)
    row = p9_warm_pools.check(subject_of(warm_plan))
    assert "enterprise tenant enterprise: dedicated capacity quality-dedicated" in row.evidence


def test_a_caller_on_latest_fails_the_row(aws_dev_plan):
    esm = aws_dev_plan.of_type("aws:lambda/eventSourceMapping:EventSourceMapping")[0]
    plan = with_inputs(aws_dev_plan, esm.type, esm.name,
                       functionName=f"arn:aws:lambda:us-east-1:123456789012:function:{WORKER}")
    row = p9_warm_pools.check(subject_of(plan))
    assert row.status is Status.failed
    assert f"function {WORKER}: {esm.name} invoke $LATEST, not the live alias" in row.evidence


@pytest.mark.parametrize(("aws", "key"), [
    ({"keepAlive": ["nope-bedrock"]}, "skyrelay:aws.keepAlive[0]"),
    ({"warmPool": {"worker": {"provisioned": 500}}}, "AsyncJobs.warm_pool.provisioned"),
    ({"dedicatedCapacity": {"model": "quality", "modelArn": ARN, "tenants": ["gold"]}},
     "skyrelay:aws.dedicatedCapacity.tenants[0]"),
])
def test_bad_warm_pool_config_fails_naming_the_key(aws, key):
    with pytest.raises(ConfigError) as err:
        render_stack("aws-dev", ROOT, overrides=aws_dev_with(**aws))
    assert key in str(err.value)
