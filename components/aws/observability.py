"""Alarms (to the cost-guard SNS topic) and the weekly-review dashboard.

The runtime emits its business metrics as CloudWatch Embedded Metric Format into the `skyrelay`
namespace (`Tokens`, `Requests`, `CostUsd` by `Tenant`, `CacheHits`/`CacheLookups`, `LatencyMs`,
`Jobs` by `Mode`: batch | on_demand, `BatchCostUsd`/`BatchSavedUsd`, runtime/batch/observe.py); the dashboard and alarms read them together with the AWS service metrics.
"""

import json
from typing import Any

import pulumi
import pulumi_aws as aws

METRIC_NAMESPACE = "skyrelay"


def metric_alarm(
    owner: pulumi.Resource,
    name: str,
    description: str,
    namespace: str,
    metric: str,
    *,
    dimensions: dict[str, pulumi.Input[str]],
    statistic: str,
    period: int,
    evaluation_periods: int,
    threshold: float,
    comparison: str,
    topic_arn: pulumi.Input[str] | None,
) -> aws.cloudwatch.MetricAlarm:
    """One alarm the way every skyrelay alarm is set: missing data is not breaching, and the topic
    (when given) hears both the alarm and the recovery."""
    actions = [topic_arn] if topic_arn is not None else []
    return aws.cloudwatch.MetricAlarm(
        name,
        alarm_description=description,
        namespace=namespace,
        metric_name=metric,
        dimensions=dimensions,
        statistic=statistic,
        period=period,
        evaluation_periods=evaluation_periods,
        threshold=threshold,
        comparison_operator=comparison,
        treat_missing_data="notBreaching",
        alarm_actions=actions,
        ok_actions=actions,
        opts=pulumi.ResourceOptions(parent=owner),
    )


def queue_alarms(
    owner: pulumi.Resource,
    name: str,
    queue: aws.sqs.Queue,
    dlq: aws.sqs.Queue,
    topic_arn: pulumi.Input[str] | None,
    settings: dict[str, Any],
) -> list[aws.cloudwatch.MetricAlarm]:
    return [
        metric_alarm(owner, f"{name}-dlq-depth", f"{name}: messages reached the dead-letter queue (jobs FAILED)",
                     "AWS/SQS", "ApproximateNumberOfMessagesVisible", dimensions={"QueueName": dlq.name},
                     statistic="Maximum", period=60, evaluation_periods=1, threshold=settings["alarm_dlq_depth"],
                     comparison="GreaterThanThreshold", topic_arn=topic_arn),
        metric_alarm(owner, f"{name}-oldest-message",
                     f"{name}: the oldest queued job is waiting too long (workers behind or failing)",
                     "AWS/SQS", "ApproximateAgeOfOldestMessage", dimensions={"QueueName": queue.name},
                     statistic="Maximum", period=60, evaluation_periods=5,
                     threshold=settings["alarm_oldest_message_seconds"], comparison="GreaterThanThreshold",
                     topic_arn=topic_arn),
    ]


def function_alarms(
    owner: pulumi.Resource,
    name: str,
    function: aws.lambda_.Function,
    topic_arn: pulumi.Input[str] | None,
    settings: dict[str, Any],
) -> list[aws.cloudwatch.MetricAlarm]:
    return [
        metric_alarm(owner, f"{name}-{metric.lower()}", f"{name}: Lambda {metric.lower()}", "AWS/Lambda", metric,
                     dimensions={"FunctionName": function.name}, statistic="Sum", period=300, evaluation_periods=1,
                     threshold=settings[key], comparison="GreaterThanOrEqualToThreshold", topic_arn=topic_arn)
        for metric, key in (("Errors", "alarm_worker_errors"), ("Throttles", "alarm_worker_throttles"))
    ]


def dashboard(
    owner: pulumi.Resource,
    name: str,
    region: pulumi.Input[str],
    worker_name: pulumi.Input[str],
    queue_names: list[pulumi.Input[str]],
    dlq_names: list[pulumi.Input[str]],
) -> aws.cloudwatch.Dashboard:
    body = pulumi.Output.all(region, worker_name, pulumi.Output.all(*queue_names), pulumi.Output.all(*dlq_names)).apply(
        lambda a: dashboard_body(a[0], a[1], list(a[2]), list(a[3]))
    )
    return aws.cloudwatch.Dashboard(
        name,
        dashboard_name=f"{pulumi.get_project()}-{pulumi.get_stack()}-{name}"[:255],
        dashboard_body=body,
        opts=pulumi.ResourceOptions(parent=owner),
    )


def dashboard_body(region: str, worker: str, queues: list[str], dlqs: list[str]) -> str:
    """The seed's weekly review: tokens per request, cost per tenant, cache hit rate, p50/p99
    latency, batch vs on-demand split; then queue health and worker health."""
    ns = METRIC_NAMESPACE

    def widget(title: str, x: int, y: int, props: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "metric",
            "x": x,
            "y": y,
            "width": 8,
            "height": 6,
            "properties": {"title": title, "region": region, "view": "timeSeries", "period": 3600, **props},
        }

    widgets = [
        widget(
            "Tokens per request",
            0,
            0,
            {
                "metrics": [
                    [ns, "Tokens", {"id": "t", "stat": "Sum", "visible": False}],
                    [ns, "Requests", {"id": "r", "stat": "Sum", "visible": False}],
                    [{"expression": "t / r", "label": "tokens/request", "id": "e1"}],
                ]
            },
        ),
        widget(
            "Cost per tenant (USD)",
            8,
            0,
            {
                "metrics": [
                    [{"expression": f"SEARCH('{{{ns},Tenant}} MetricName=\"CostUsd\"', 'Sum', 3600)", "id": "c"}]
                ],
                "stacked": True,
            },
        ),
        widget(
            "Cache hit rate",
            16,
            0,
            {
                "metrics": [
                    [ns, "CacheHits", {"id": "h", "stat": "Sum", "visible": False}],
                    [ns, "CacheLookups", {"id": "l", "stat": "Sum", "visible": False}],
                    [{"expression": "100 * h / l", "label": "hit rate %", "id": "e2"}],
                ],
                "yAxis": {"left": {"min": 0, "max": 100}},
            },
        ),
        widget(
            "Latency p50 / p99 (ms)",
            0,
            6,
            {"metrics": [[ns, "LatencyMs", {"stat": "p50"}], [ns, "LatencyMs", {"stat": "p99"}]]},
        ),
        widget(
            "Batch vs on-demand jobs",
            8,
            6,
            {
                "metrics": [
                    # runtime/batch/observe.py (batcher ticks) and the Lambda worker's jobs, as EMF
                    [ns, "Jobs", "Mode", "batch", {"stat": "Sum"}],
                    [ns, "Jobs", "Mode", "on_demand", {"stat": "Sum"}],
                    [ns, "BatchSavedUsd", "Mode", "batch", {"stat": "Sum", "yAxis": "right", "label": "saved (USD)"}],
                ],
            },
        ),
        widget(
            "Worker",
            16,
            6,
            {
                "metrics": [
                    ["AWS/Lambda", m, "FunctionName", worker, {"stat": s}]
                    for m, s in (("Invocations", "Sum"), ("Errors", "Sum"), ("Throttles", "Sum"), ("Duration", "p99"))
                ]
            },
        ),
        widget(
            "Queues: depth and oldest message",
            0,
            12,
            {
                "metrics": [["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", q] for q in queues]
                + [["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", q, {"yAxis": "right"}] for q in queues]
            },
        ),
        widget(
            "Dead-letter queues",
            8,
            12,
            {"metrics": [["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", q] for q in dlqs]},
        ),
    ]
    return json.dumps({"widgets": widgets})
