"""Rows 4, 7, 8 and 9 on the rendered azure-dev and gcp-dev stacks: each passes (or warns, with the
evidence, where the cloud cannot express the point), and fails on a changed program, naming what is
missing. The row logic is shared with AWS; only the resource mappings differ."""

import base64
import json

import pytest

from skyrelay.check import (
    Status,
    p3_caching,
    p4_gateway_limits,
    p6_sla,
    p7_budgets,
    p8_batch,
    p9_warm_pools,
    subject_of,
)
from tests.conftest import ROOT
from tests.readiness.conftest import with_inputs, without


@pytest.fixture(scope="module")
def azure_plan():
    from skyrelay.plan import render_stack

    return render_stack("azure-dev", ROOT)[0]


@pytest.fixture(scope="module")
def gcp_plan():
    from skyrelay.plan import render_stack

    return render_stack("gcp-dev", ROOT)[0]


def test_azure_dev_rows_4_7_9_pass_and_8_warns_only_for_the_unknown_router_config(azure_plan):
    subject = subject_of(azure_plan)
    assert subject.cloud == "azure"
    p4 = p4_gateway_limits.check(subject)
    assert p4.status is Status.passed, p4.evidence
    assert "tier free: APIM product free (rate-limit 10/60 s), 10 RPM, quota 10,000/month" in p4.evidence
    p7 = p7_budgets.check(subject)
    assert p7.status is Status.passed, p7.evidence
    assert any(e.startswith("budget cost-monthly: 500 ") and "alerts at [50, 80, 100] percent" in e for e in p7.evidence)
    p8 = p8_batch.check(subject)
    assert p8.status is Status.warn and [e for e in p8.evidence if "router config is not in the plan" in e]
    assert "batcher schedule: timer function `batcher` in the app's package: 0 */5 * * * * (NCRONTAB)" in p8.evidence
    assert "batch queue: Service Bus jobs-batch, consumed by the `batch` function of jobs-functions" in p8.evidence
    p9 = p9_warm_pools.check(subject)
    assert p9.status is Status.passed, p9.evidence
    assert any("alwaysReady http 1, function:interactive 1" in e for e in p9.evidence)


def test_azure_rows_fail_on_a_changed_program(azure_plan):
    policy = next(p for p in azure_plan.of_type(p4_gateway_limits.APIM_PRODUCT_POLICY) if p.inputs["productId"] == "free")
    changed = with_inputs(azure_plan, policy.type, policy.name,
                          value=policy.inputs["value"].replace('rate-limit calls="10"', 'rate-limit calls="100"'))
    row = p4_gateway_limits.check(subject_of(changed))
    assert row.status is Status.failed
    assert any(e.startswith("tier free APIM product free") and "rate 100.0 requests/minute != 10" in e for e in row.evidence)
    row = p4_gateway_limits.check(subject_of(without(azure_plan, p4_gateway_limits.APIM_SUBSCRIPTION)))
    assert row.status is Status.failed and "no API key is in any edge quota" in row.evidence
    budget = azure_plan.one(p7_budgets.AZURE_BUDGET)
    notes = {k: v for k, v in budget.inputs["notifications"].items() if v["threshold"] != 50}
    row = p7_budgets.check(subject_of(with_inputs(azure_plan, budget.type, budget.name, notifications=notes)))
    assert row.status is Status.failed
    assert "budget cost-monthly: no actual-spend alert with a subscriber at [50] percent" in row.evidence
    row = p7_budgets.check(subject_of(without(azure_plan, p7_budgets.AZURE_ANOMALY)))
    assert row.status is Status.failed and "no anomaly alert with a subscriber" in row.evidence
    row = p8_batch.check(subject_of(without(azure_plan, p8_batch.BLOB)))  # no package: no batcher timer
    assert row.status is Status.failed
    assert "no batcher schedule: nothing forms and polls provider batch jobs" in row.evidence
    row = p9_warm_pools.check(subject_of(without(azure_plan, "azure-native:web:WebApp")))
    assert row.status is Status.failed and "no Function App or Cloud Run service runs the runtime" in row.evidence


def test_gcp_dev_rows_8_9_pass_and_4_7_warn_where_the_cloud_cannot_express_the_point(gcp_plan):
    subject = subject_of(gcp_plan)
    assert subject.cloud == "gcp"
    p4 = p4_gateway_limits.check(subject)
    assert p4.status is Status.warn, p4.evidence
    assert "only per minute and per consumer project" in p4.evidence[0]
    assert any("quota 1000 requests/min per consumer project (the largest tier RPM)" in e for e in p4.evidence)
    p7 = p7_budgets.check(subject)
    assert p7.status is Status.warn, p7.evidence
    assert "GCP has no cost anomaly alert resource" in p7.evidence[0]
    assert "budget cost-monthly: 500 USD/month, alerts at [50, 80, 100] percent" in p7.evidence
    p8 = p8_batch.check(subject)
    assert p8.status is Status.passed, p8.evidence
    assert any(e.startswith("batcher schedule: Cloud Scheduler jobs-batch: */5 * * * * -> POST ") for e in p8.evidence)
    p9 = p9_warm_pools.check(subject)
    assert any(e.startswith("Cloud Run jobs-worker: min instances 0") for e in p9.evidence)
    assert p9.status is Status.warn  # the enterprise tenant has no dedicated deployment, as on aws-dev
    # in GCP's terms: the capacity Vertex sells, the knobs gcp-dev has (not AWS's alias or stack key)
    assert "enterprise tenant enterprise: no dedicated deployment (Vertex AI Provisioned Throughput): it shares " \
           "on-demand capacity with every tier" in p9.evidence
    assert "worker_min_instances" in p9.fix and "aws" not in p9.fix and "alias" not in p9.fix
    p6 = p6_sla.check(subject)  # the availability's assumptions name GCP's gateway and compute
    assert any(e.startswith("composite availability: ") and "gateway and compute (API Gateway, Cloud Run) not counted"
               in e for e in p6.evidence), p6.evidence
    p3 = p3_caching.check(subject)
    assert p3.status is Status.warn and "cachedContents" in p3.fix


def test_gcp_rows_fail_on_a_changed_program(gcp_plan):
    cfg = gcp_plan.one(p4_gateway_limits.GCP_API_CONFIG)
    doc = json.loads(base64.b64decode(cfg.inputs["openapiDocuments"][0]["document"]["contents"]))
    doc["x-google-management"]["quota"]["limits"][0]["values"]["STANDARD"] = 5
    docs = [{"document": {**cfg.inputs["openapiDocuments"][0]["document"],
                          "contents": base64.b64encode(json.dumps(doc).encode()).decode()}}]
    row = p4_gateway_limits.check(subject_of(with_inputs(gcp_plan, cfg.type, cfg.name, openapiDocuments=docs)))
    assert row.status is Status.failed and "API config api-config: quota 5/min != the largest tier RPM 1000" in row.evidence
    budget = gcp_plan.one(p7_budgets.GCP_BUDGET)
    rules = [r for r in budget.inputs["thresholdRules"] if r["thresholdPercent"] != 0.8]
    row = p7_budgets.check(subject_of(with_inputs(gcp_plan, budget.type, budget.name, thresholdRules=rules)))
    assert row.status is Status.failed
    assert "budget cost-monthly: no actual-spend alert with a subscriber at [80] percent" in row.evidence
    row = p8_batch.check(subject_of(without(gcp_plan, p8_batch.SCHEDULER_JOB, names=("jobs-batch",))))
    assert row.status is Status.failed
    assert "no batcher schedule: nothing forms and polls provider batch jobs" in row.evidence
    worker = next(s for s in gcp_plan.of_type("gcp:cloudrunv2/service:Service") if s.name == "jobs-worker")
    template = {**worker.inputs["template"], "scaling": {"minInstanceCount": 2, "maxInstanceCount": 13}}
    row = p9_warm_pools.check(subject_of(with_inputs(gcp_plan, worker.type, worker.name, template=template)))
    assert "Cloud Run jobs-worker: min instances 2 of at most 13" in row.evidence
