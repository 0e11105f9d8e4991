"""The log-based metrics AsyncJobs deploys read the fields the Cloud Run worker really prints
(runtime/platforms/cloud_run/worker.py: job_metrics): the namespace their filter requires, each value
field, each label's dimension, and the status the jobs-failed metric counts."""

import json
import re
from types import SimpleNamespace

import pytest

from skyrelay import deployment as contract


def field(doc: dict, path: str):
    """A jsonPayload path as Cloud Logging reads it: a list matches when any element does."""
    node = [doc]
    for key in path.split("."):
        nxt = []
        for n in node:
            for item in (n if isinstance(n, list) else [n]):
                if isinstance(item, dict) and key in item:
                    nxt.append(item[key])
        node = nxt
    return node


@pytest.fixture(scope="module")
def line():
    from skyrelay.runtime.platforms.metrics import job_metrics

    job = SimpleNamespace(usage={"total_tokens": 42, "cache_read_tokens": 10}, cost=0.0021, tenant="free",
                          created_at=100.0, updated_at=101.5, finished_at=101.5,
                          status=SimpleNamespace(value="FAILED"))
    return json.loads(job_metrics(job, now=101.5))


def test_every_log_metric_finds_its_fields_in_the_worker_line(gcp_plan, line):
    metrics = {m.inputs["name"]: m.inputs for m in gcp_plan.of_type("gcp:logging/metric:Metric")}
    assert len(metrics) == len(contract.GCP_METRIC_FIELDS) + 1
    for m in metrics.values():
        for path, value in re.findall(r'jsonPayload\.([\w.]+)="([^"]+)"', m["filter"]):
            assert value in field(line, path), (m["name"], path)
        for path in re.findall(r"jsonPayload\.([\w.]+):\*", m["filter"]):
            assert field(line, path), (m["name"], path)
        if "valueExtractor" in m:
            (path,) = re.findall(r"EXTRACT\(jsonPayload\.(\w+)\)", m["valueExtractor"])
            assert isinstance(field(line, path)[0], int | float), path
        for extractor in m.get("labelExtractors", {}).values():
            (path,) = re.findall(r"EXTRACT\(jsonPayload\.(\w+)\)", extractor)
            assert field(line, path), path
    assert line["Tenant"] == "free" and line["Mode"] == "on_demand" and line["Tokens"] == 42
