"""Points 1, 2, 4, 7 and 8 on the rendered aws-dev stack: each passes, and fails on a changed program
or config, naming what is missing."""

import copy

from skyrelay.check import Status, p1_async, p2_breakers, p4_gateway_limits, p7_budgets, p8_batch, subject_of
from tests.readiness.conftest import with_inputs, without


def router_raw(plan) -> dict:
    return copy.deepcopy(subject_of(plan).router_raw)


def test_aws_dev_passes_points_1_2_4_7_8_with_evidence(aws_dev_plan):
    subject = subject_of(aws_dev_plan)
    rows = {m.__name__: m.check(subject) for m in (p1_async, p2_breakers, p4_gateway_limits, p7_budgets, p8_batch)}
    for name, row in rows.items():
        assert row.status is Status.passed, (name, row.evidence)
        assert row.evidence and not row.fix
    p1 = rows[p1_async.__name__].evidence
    assert "12 API Gateway integrations, longest timeoutMilliseconds 29000" in p1
    assert any("skyrelay-aws-dev-api-api (behind the API): timeout 29 s" in e for e in p1)
    assert any("model quality: at most 1400 tokens sync at 50 tokens/s" in e for e in p1)
    p4 = rows[p4_gateway_limits.__name__].evidence
    assert "tier enterprise: usage plan api-enterprise (rate 20/s, burst 1200), 1200 RPM, quota 30,000,000/month" in p4
    assert len(p4) == 4
    assert "budget cost-monthly: 500.00 USD/month, alerts at [50, 80, 100] percent" in rows[p7_budgets.__name__].evidence
    p8 = rows[p8_batch.__name__].evidence
    assert "batcher schedule: jobs-batcher: rate(5 minutes)" in p8
    assert "batch queue: jobs-batch, consumed by jobs-batch (batch size 10)" in p8


def test_point_1_fails_on_a_sync_timeout_over_29_s(aws_dev_plan):
    plan = with_inputs(aws_dev_plan, "aws:apigateway/integration:Integration", "api-post-v1-chat-completions",
                       timeoutMilliseconds=30000)
    plan = with_inputs(plan, "aws:lambda/function:Function", "api-handler", timeout=60)
    row = p1_async.check(subject_of(plan))
    assert row.status is Status.failed and row.fix
    assert "integration timeout over 29000 ms: api-post-v1-chat-completions (30000 ms)" in row.evidence
    assert any("timeout 60 s, over the 29 s limit" in e for e in row.evidence)


def test_point_1_fails_without_a_sync_deadline_or_when_the_default_cannot_finish(aws_dev_plan):
    raw = router_raw(aws_dev_plan)
    del raw["api"]["sync_deadline_s"]
    row = p1_async.check(subject_of(aws_dev_plan, raw))
    assert row.status is Status.failed and "api.sync_deadline_s is not set" in row.evidence[0]
    raw = router_raw(aws_dev_plan)
    raw["api"]["default_max_tokens"] = 4096
    row = p1_async.check(subject_of(aws_dev_plan, raw))
    assert row.status is Status.failed
    assert "model quality: default max_tokens 4096 cannot finish in 28 s at 50 tokens/s (at most 1400)" in row.evidence


def test_point_2_fails_without_a_fallback(aws_dev_plan):
    raw = router_raw(aws_dev_plan)
    del raw["models"]["quality"]["fallback"]
    raw["models"]["quality"]["deployments"] = ["quality-bedrock"]  # the failover region's copy gone too
    row = p2_breakers.check(subject_of(aws_dev_plan, raw))
    assert row.status is Status.failed
    assert "model quality: one deployment (quality-bedrock) and no fallback response" in row.evidence
    # a second deployment is a fallback too
    raw["deployments"].append({**raw["deployments"][1], "name": "quality-west", "region": "us-west-2"})
    raw["models"]["quality"]["deployments"].append("quality-west")
    row = p2_breakers.check(subject_of(aws_dev_plan, raw))
    assert row.status is Status.passed
    assert "model quality: fails over quality-bedrock -> quality-west" in row.evidence


def test_point_4_fails_without_a_usage_plan_or_with_numbers_off_the_tier_table(aws_dev_plan):
    row = p4_gateway_limits.check(subject_of(without(aws_dev_plan, "aws:apigateway/usagePlan:UsagePlan",
                                                     names=("api-professional",))))
    assert row.status is Status.failed and "tier professional: no edge quota (usage plan)" in row.evidence
    plan = with_inputs(aws_dev_plan, "aws:apigateway/usagePlan:UsagePlan", "api-free",
                       quotaSettings={"limit": 99, "period": "MONTH"})
    row = p4_gateway_limits.check(subject_of(plan))
    assert row.status is Status.failed
    assert "tier free usage plan api-free (rate 0.1667/s, burst 10): monthly quota 99 != 10000" in row.evidence
    row = p4_gateway_limits.check(subject_of(without(aws_dev_plan, "aws:apigateway/usagePlanKey:UsagePlanKey")))
    assert row.status is Status.failed and "no API key is in any edge quota" in row.evidence


def test_point_7_fails_without_a_budget_a_threshold_or_an_anomaly_subscriber(aws_dev_plan):
    row = p7_budgets.check(subject_of(without(aws_dev_plan, "aws:budgets/budget:Budget")))
    assert row.status is Status.failed and "no budget in the plan" in row.evidence
    budget = aws_dev_plan.one("aws:budgets/budget:Budget")
    notes = [n for n in budget.inputs["notifications"] if n["threshold"] != 80]
    row = p7_budgets.check(subject_of(with_inputs(aws_dev_plan, budget.type, budget.name, notifications=notes)))
    assert row.status is Status.failed
    assert "budget cost-monthly: no actual-spend alert with a subscriber at [80] percent" in row.evidence
    row = p7_budgets.check(subject_of(with_inputs(aws_dev_plan, p7_budgets.ANOMALY_SUBSCRIPTION, "cost-anomalies",
                                                  subscribers=[])))
    assert row.status is Status.failed and "no anomaly alert with a subscriber" in row.evidence


def test_point_8_fails_without_the_batch_schedule_or_batch_deployments(aws_dev_plan):
    row = p8_batch.check(subject_of(without(aws_dev_plan, "aws:cloudwatch/eventTarget:EventTarget",
                                            names=("jobs-batcher",))))
    assert row.status is Status.failed
    assert "no batcher schedule: nothing forms and polls provider batch jobs" in row.evidence
    raw = router_raw(aws_dev_plan)
    for d in raw["deployments"]:
        d.pop("batch", None)
    row = p8_batch.check(subject_of(aws_dev_plan, raw))
    assert row.status is Status.failed and "no deployment has a `batch` section: batch-mode jobs run on demand" in row.evidence
    row = p8_batch.check(subject_of(without(aws_dev_plan, "aws:lambda/eventSourceMapping:EventSourceMapping",
                                            names=("jobs-batch",))))
    assert row.status is Status.failed and any("has no event source mapping" in e for e in row.evidence)
