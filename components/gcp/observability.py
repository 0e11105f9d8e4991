"""Alerts (to notification channels) and the weekly-review dashboard, on Cloud Monitoring.

The runtime's business metrics reach Cloud Monitoring as structured logs: it prints the same
Embedded Metric Format documents on Cloud Run as on Lambda (deployment.GCP_METRIC_FIELDS), Cloud
Logging parses them into `jsonPayload`, and the log-based metrics below extract each field (a
distribution per field, labelled by tenant and mode). The dashboard reads them with PromQL, where a
distribution is a histogram (`_sum`, `_count`, `_bucket`): tokens per request, cost per tenant,
cache hit rate, p50/p99 latency, batch vs on-demand jobs. The alerts add Cloud Tasks' and Cloud
Run's own metrics: FAILED jobs, queue depth and attempt delay, 5xx and p99 latency.
"""

import json
from collections.abc import Sequence
from typing import Any

import pulumi
import pulumi_gcp as gcp

from skyrelay import deployment as contract
from skyrelay.components.gcp.services import LOGGING, MONITORING, Services

DISTRIBUTION_BUCKETS = gcp.logging.MetricBucketOptionsArgs(
    exponential_buckets=gcp.logging.MetricBucketOptionsExponentialBucketsArgs(
        num_finite_buckets=64, growth_factor=1.4, scale=0.01))


def metric_name(name: str, suffix: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in f"{name}_{suffix}")


def promql_name(metric: str) -> str:
    """A user log-based metric as PromQL names it."""
    return f"logging_googleapis_com:user_{metric}"


# The runtime's metric lines: EMF documents in the skyrelay namespace, on any Cloud Run revision.
RUNTIME_LINES = 'resource.type="cloud_run_revision" AND jsonPayload._aws.CloudWatchMetrics.Namespace="skyrelay"'


def log_metrics(owner: pulumi.Resource, name: str, project, services: Services) -> dict[str, gcp.logging.Metric]:
    """One DISTRIBUTION per runtime metric field, and a counter of jobs that end FAILED."""
    base = RUNTIME_LINES
    metrics: dict[str, gcp.logging.Metric] = {}
    for suffix, field in contract.GCP_METRIC_FIELDS.items():
        metrics[suffix] = gcp.logging.Metric(
            f"{name}-{suffix.replace('_', '-')}",
            name=metric_name(name, suffix),
            project=project,
            description=f"skyrelay runtime metric {field} (jsonPayload.{field}), by tenant and mode",
            filter=f"{base} AND jsonPayload.{field}:*",
            value_extractor=f"EXTRACT(jsonPayload.{field})",
            label_extractors={k: f"EXTRACT(jsonPayload.{v})" for k, v in contract.GCP_METRIC_LABELS.items()},
            metric_descriptor=gcp.logging.MetricMetricDescriptorArgs(
                metric_kind="DELTA", value_type="DISTRIBUTION", unit="1",
                labels=[gcp.logging.MetricMetricDescriptorLabelArgs(key=k, value_type="STRING")
                        for k in contract.GCP_METRIC_LABELS],
            ),
            bucket_options=DISTRIBUTION_BUCKETS,
            opts=services.after(LOGGING),
        )
    metrics["jobs_failed"] = gcp.logging.Metric(
        f"{name}-jobs-failed",
        name=metric_name(name, "jobs_failed"),
        project=project,
        description="skyrelay jobs that ended FAILED (the worker's last attempt, or a permanent error)",
        filter=f'{base} AND jsonPayload.{contract.GCP_JOB_STATUS_FIELD}="FAILED"',
        metric_descriptor=gcp.logging.MetricMetricDescriptorArgs(metric_kind="DELTA", value_type="INT64", unit="1"),
        opts=services.after(LOGGING),
    )
    return metrics


def _threshold(display: str, filter_: str, aligner: str, period: str, comparison: str, value: float,
               duration: str, reducer: str | None = None) -> gcp.monitoring.AlertPolicyConditionArgs:
    return gcp.monitoring.AlertPolicyConditionArgs(
        display_name=display,
        condition_threshold=gcp.monitoring.AlertPolicyConditionConditionThresholdArgs(
            filter=filter_, comparison=comparison, threshold_value=value, duration=duration,
            aggregations=[gcp.monitoring.AlertPolicyConditionConditionThresholdAggregationArgs(
                alignment_period=period, per_series_aligner=aligner, cross_series_reducer=reducer)],
        ),
    )


def alert_policies(owner: pulumi.Resource, name: str, project, *, worker_name: str, service_names: Sequence[str],
                   queue_names: Sequence[str], failed_metric: gcp.logging.Metric, channels: Sequence[pulumi.Input[str]],
                   settings: dict[str, Any], labels: dict[str, str] | None,
                   services: Services) -> list[gcp.monitoring.AlertPolicy]:
    def policy(key: str, display: str, conditions, doc: str, depends_on=()) -> gcp.monitoring.AlertPolicy:
        return gcp.monitoring.AlertPolicy(
            f"{name}-{key}",
            project=project,
            display_name=f"{name}: {display}",
            combiner="OR",
            severity="ERROR",
            conditions=conditions,
            notification_channels=list(channels),
            alert_strategy=gcp.monitoring.AlertPolicyAlertStrategyArgs(auto_close="86400s"),
            documentation=gcp.monitoring.AlertPolicyDocumentationArgs(mime_type="text/markdown", content=doc),
            user_labels=labels or None,
            opts=services.after(MONITORING, depends_on=depends_on),
        )

    failed_type = pulumi.Output.concat('metric.type="logging.googleapis.com/user/', failed_metric.name,
                                       '" AND resource.type="cloud_run_revision"')
    queues = " OR ".join(f'resource.labels.queue_id="{q}"' for q in queue_names)
    runs = " OR ".join(f'resource.labels.service_name="{s}"' for s in service_names)
    oldest_ms = settings["alarm_oldest_message_seconds"] * 1000
    return [
        policy("jobs-failed", "jobs FAILED", [_threshold(
            "jobs ended FAILED", failed_type, "ALIGN_SUM", "300s", "COMPARISON_GE", settings["alarm_failed_jobs"],
            "0s", "REDUCE_SUM")],
            "Jobs ended FAILED: Cloud Tasks has no dead-letter queue, so the worker marked them on their last "
            "attempt. Their reasons are in the job records; `skyrelay jobs replay` re-runs them.",
            depends_on=[failed_metric]),
        policy("queue-backlog", "queue backlog and task age", [
            _threshold("queue depth", f'metric.type="cloudtasks.googleapis.com/queue/depth" AND '
                       f'resource.type="cloud_tasks_queue" AND ({queues})', "ALIGN_MEAN", "60s", "COMPARISON_GT",
                       settings["alarm_queue_depth"], "600s"),
            _threshold("task attempt delay p99", f'metric.type="cloudtasks.googleapis.com/queue/task_attempt_delays" '
                       f'AND resource.type="cloud_tasks_queue" AND ({queues})', "ALIGN_PERCENTILE_99", "300s",
                       "COMPARISON_GT", oldest_ms, "0s"),
        ], "Tasks are waiting: the worker is at its max instances, or the provider is throttling."),
        policy("run-5xx", "Cloud Run 5xx", [_threshold(
            "5xx responses", f'metric.type="run.googleapis.com/request_count" AND resource.type="cloud_run_revision" '
            f'AND metric.labels.response_code_class="5xx" AND ({runs})', "ALIGN_SUM", "60s", "COMPARISON_GE",
            settings["alarm_5xx_per_minute"], "300s", "REDUCE_SUM")],
            "A skyrelay service answers 5xx. On the worker a 5xx is a retry (Cloud Tasks backs off)."),
        policy("worker-latency", "worker p99 latency", [_threshold(
            "worker request latency p99", f'metric.type="run.googleapis.com/request_latencies" AND '
            f'resource.type="cloud_run_revision" AND resource.labels.service_name="{worker_name}"',
            "ALIGN_PERCENTILE_99", "300s", "COMPARISON_GT", settings["alarm_latency_p99_ms"], "300s")],
            "Pushes take long: check the provider's latency and the dispatch deadline (docs/gcp.md)."),
    ]


def dashboard_json(metrics: dict[str, str]) -> str:
    """The weekly-review dashboard: `metrics` maps each GCP_METRIC_FIELDS suffix to its metric name."""
    m = {k: promql_name(v) for k, v in metrics.items()}

    def tile(i: int, title: str, queries: list[str]) -> dict:
        return {"xPos": (i % 2) * 24, "yPos": (i // 2) * 16, "width": 24, "height": 16, "widget": {
            "title": title, "xyChart": {"dataSets": [
                {"timeSeriesQuery": {"prometheusQuery": q}, "plotType": "LINE"} for q in queries]}}}

    tiles = [
        tile(0, "Tokens per request",
             [f"sum(rate({m['tokens']}_sum[1h])) / sum(rate({m['tokens']}_count[1h]))"]),
        tile(1, "Cost per tenant (USD per hour)", [f"sum by (tenant) (increase({m['cost_usd']}_sum[1h]))"]),
        tile(2, "Cache hit rate",
             [f"sum(rate({m['cache_hits']}_sum[1h])) / sum(rate({m['cache_hits']}_count[1h]))"]),
        tile(3, "Latency p50 / p99 (ms)", [
            f"histogram_quantile(0.5, sum by (le) (rate({m['latency_ms']}_bucket[5m])))",
            f"histogram_quantile(0.99, sum by (le) (rate({m['latency_ms']}_bucket[5m])))"]),
        tile(4, "Batch vs on-demand jobs (per hour)", [f"sum by (mode) (increase({m['jobs']}_sum[1h]))"]),
    ]
    return json.dumps({"displayName": "skyrelay weekly review", "mosaicLayout": {"columns": 48, "tiles": tiles}},
                      sort_keys=True)


def dashboard(owner: pulumi.Resource, name: str, project, metrics: dict[str, gcp.logging.Metric],
              services: Services) -> gcp.monitoring.Dashboard:
    names = {k: v.name for k, v in metrics.items() if k in contract.GCP_METRIC_FIELDS}
    doc = pulumi.Output.all(**names).apply(lambda n: dashboard_json(dict(n)))
    return gcp.monitoring.Dashboard(
        f"{name}-review", project=project, dashboard_json=doc,
        opts=services.after(MONITORING, depends_on=list(metrics.values())),
    )


def email_channels(owner: pulumi.Resource, name: str, project, emails: Sequence[str], labels,
                   services: Services) -> list[gcp.monitoring.NotificationChannel]:
    return [
        gcp.monitoring.NotificationChannel(
            f"{name}-alerts-{i}", project=project, display_name=f"skyrelay alerts: {email}", type="email",
            labels={"email_address": email}, user_labels=labels or None, opts=services.after(MONITORING),
        )
        for i, email in enumerate(emails)
    ]
