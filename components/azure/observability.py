"""Logs, alerts and the weekly-review dashboard of AsyncJobs on Azure.

- A Log Analytics workspace with explicit retention and a workspace-based Application Insights
  component (local auth off: the function identity ingests with Monitoring Metrics Publisher).
- Metric alerts to one action group: any dead-lettered message, active messages piling up (Service
  Bus publishes no message-age metric; the count stands in for the oldest-message alarm), failed
  function executions, and Cosmos requests throttled with 429.
- A portal dashboard of the seed's weekly review (tokens per request, cost per tenant, cache hit
  rate, p50/p99, batch vs on-demand, batch cost and savings, failed jobs), as Log Analytics queries
  over the runtime's metric lines in App Insights (AppTraces), beside the function failures chart.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_azure_native as azure_native

from skyrelay import deployment as contract

ALERT_WINDOW = "PT5M"


@dataclass
class Observability:
    workspace: azure_native.operationalinsights.Workspace
    insights: azure_native.applicationinsights.Component
    action_group: azure_native.monitor.ActionGroup | None
    action_group_id: pulumi.Input[str] | None
    alerts: list[azure_native.monitor.MetricAlert] = field(default_factory=list)
    dashboard: azure_native.portal.Dashboard | None = None


def logs(owner: pulumi.Resource, name: str, resource_group: pulumi.Input[str], location: str,
         settings: dict[str, Any]) -> tuple[azure_native.operationalinsights.Workspace, azure_native.applicationinsights.Component]:
    child = pulumi.ResourceOptions(parent=owner)
    workspace = azure_native.operationalinsights.Workspace(
        f"{name}-logs",
        resource_group_name=resource_group,
        location=location,
        sku=azure_native.operationalinsights.WorkspaceSkuArgs(name="PerGB2018"),
        retention_in_days=settings["log_retention_days"],
        opts=child,
    )
    insights = azure_native.applicationinsights.Component(
        f"{name}-insights",
        resource_group_name=resource_group,
        location=location,
        kind="web",
        application_type="web",
        ingestion_mode="LogAnalytics",
        workspace_resource_id=workspace.id,
        disable_local_auth=not settings["app_insights_local_auth"],
        retention_in_days=settings["log_retention_days"],
        opts=child,
    )
    return workspace, insights


def action_group(owner: pulumi.Resource, name: str, resource_group: pulumi.Input[str],
                 emails: Sequence[str]) -> azure_native.monitor.ActionGroup:
    return azure_native.monitor.ActionGroup(
        f"{name}-alerts",
        resource_group_name=resource_group,
        location="Global",
        enabled=True,
        group_short_name="skyrelay",
        email_receivers=[azure_native.monitor.MicrosoftCommonEmailReceiverArgs(
            name=f"email-{i}", email_address=address, use_common_alert_schema=True) for i, address in enumerate(emails)],
        opts=pulumi.ResourceOptions(parent=owner),
    )


def metric_alert(owner: pulumi.Resource, name: str, resource_group: pulumi.Input[str], description: str,
                 scope: pulumi.Input[str], namespace: str, metric: str, aggregation: str, threshold: float,
                 group_id: pulumi.Input[str] | None, dimensions: Sequence[tuple[str, Sequence[pulumi.Input[str]]]] = (),
                 severity: int = 2) -> azure_native.monitor.MetricAlert:
    """One alert the way every skyrelay alert is set: 5-minute window, auto-mitigated, to the group."""
    return azure_native.monitor.MetricAlert(
        name,
        resource_group_name=resource_group,
        location="global",
        description=description,
        severity=severity,
        enabled=True,
        scopes=[scope],
        evaluation_frequency="PT1M",
        window_size=ALERT_WINDOW,
        auto_mitigate=True,
        criteria=azure_native.monitor.MetricAlertSingleResourceMultipleMetricCriteriaArgs(
            odata_type="Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria",
            all_of=[azure_native.monitor.MetricCriteriaArgs(
                criterion_type="StaticThresholdCriterion",
                name=metric,
                metric_name=metric,
                metric_namespace=namespace,
                operator="GreaterThan",
                threshold=threshold,
                time_aggregation=aggregation,
                dimensions=[azure_native.monitor.MetricDimensionArgs(name=d, operator="Include", values=list(v))
                            for d, v in dimensions] or None,
            )],
        ),
        actions=[azure_native.monitor.MetricAlertActionArgs(action_group_id=group_id)] if group_id is not None else None,
        opts=pulumi.ResourceOptions(parent=owner),
    )


def alerts(owner: pulumi.Resource, name: str, resource_group: pulumi.Input[str], settings: dict[str, Any],
           namespace_id: pulumi.Input[str], queue_names: Sequence[pulumi.Input[str]], insights_id: pulumi.Input[str],
           cosmos_id: pulumi.Input[str], group_id: pulumi.Input[str] | None) -> list[azure_native.monitor.MetricAlert]:
    bus = "Microsoft.ServiceBus/namespaces"
    queues = [("EntityName", list(queue_names))]
    return [
        metric_alert(owner, f"{name}-dead-lettered", resource_group, "A job message was dead-lettered", namespace_id,
                     bus, "DeadletteredMessages", "Maximum", settings["alarm_dlq_depth"], group_id, queues, severity=1),
        metric_alert(owner, f"{name}-active-messages", resource_group, "Job messages are piling up in a queue",
                     namespace_id, bus, "ActiveMessages", "Maximum", settings["alarm_active_messages"], group_id, queues),
        metric_alert(owner, f"{name}-function-errors", resource_group, "Function executions failed", insights_id,
                     "microsoft.insights/components", "requests/failed", "Count",
                     settings["alarm_function_errors"] - 1, group_id),
        metric_alert(owner, f"{name}-cosmos-throttled", resource_group, "Cosmos DB throttled requests (429)", cosmos_id,
                     "Microsoft.DocumentDB/databaseAccounts", "TotalRequests", "Count",
                     settings["alarm_cosmos_throttled"] - 1, group_id, [("StatusCode", ["429"])]),
    ]


# The weekly review, as Log Analytics queries over App Insights' tables (workspace-based: AppRequests,
# AppTraces). Business figures come from the runtime's metric lines: the Functions worker logs the same
# Embedded Metric Format JSON Lambda and Cloud Run print (deployment.AZURE_METRIC_LOGGER), the host sends
# each as a trace, and `parse_json(Message)` reads its fields, named in deployment.AZURE_METRIC_FIELDS /
# AZURE_METRIC_LABELS / AZURE_JOB_STATUS_FIELD (tests/azure_runtime checks the lines carry exactly these).
_F, _L = contract.AZURE_METRIC_FIELDS, contract.AZURE_METRIC_LABELS
METRIC_LINES = (f"AppTraces | where Message startswith '{contract.AZURE_METRIC_MARKER}' "
                "| extend m = parse_json(Message)")


def _lines(where: str) -> str:
    return f"{METRIC_LINES} | where {where}"


REVIEW_QUERIES = {
    "Tokens per request": _lines(f"isnotnull(m.{_F['tokens']})") + " | summarize tokens_per_request = "
                          f"avg(todouble(m.{_F['tokens']})) by bin(TimeGenerated, 1h)",
    "Cost per tenant (USD)": _lines(f"isnotnull(m.{_F['cost_usd']})") + " | summarize cost = "
                             f"sum(todouble(m.{_F['cost_usd']})) by tenant = tostring(m.{_L['tenant']}), "
                             "bin(TimeGenerated, 1d)",
    "Cache hit rate": _lines(f"isnotnull(m.{_F['cache_hits']})") + " | summarize hit_rate = 100.0 * "
                      f"sum(todouble(m.{_F['cache_hits']})) / count() by bin(TimeGenerated, 1h)",
    "Latency p50 / p99 (ms)": _lines(f"isnotnull(m.{_F['latency_ms']})") + " | summarize p50 = "
                              f"percentile(todouble(m.{_F['latency_ms']}), 50), p99 = "
                              f"percentile(todouble(m.{_F['latency_ms']}), 99) by bin(TimeGenerated, 1h)",
    # on demand: one job line per final job (fallback work included); batch: the batcher's lines (its
    # fallback count is left out, as each of those jobs writes its own job line when it ends)
    "Batch vs on-demand jobs": _lines(f"isnotnull(m.{_F['jobs']}) and (isnotnull(m.{contract.AZURE_JOB_STATUS_FIELD})"
                                      f" or tostring(m.{_L['mode']}) == 'batch')") +
                               f" | summarize jobs = sum(toint(m.{_F['jobs']})) by mode = tostring(m.{_L['mode']}), "
                               "bin(TimeGenerated, 1d)",
    "Batch cost and savings (USD)": _lines(f"isnotnull(m.{_F['batch_cost_usd']})") + " | summarize cost = "
                                    f"sum(todouble(m.{_F['batch_cost_usd']})), saved = "
                                    f"sum(todouble(m.{_F['batch_saved_usd']})) by bin(TimeGenerated, 1d)",
    "Failed jobs": _lines(f"tostring(m.{contract.AZURE_JOB_STATUS_FIELD}) == 'FAILED'") + " | summarize failed = "
                   f"sum(toint(m.{_F['jobs']})) by tenant = tostring(m.{_L['tenant']}), bin(TimeGenerated, 1h)",
    "Function failures": "AppRequests | where Success == false | summarize failures = count() by OperationName, "
                         "bin(TimeGenerated, 1h)",
}


def dashboard(owner: pulumi.Resource, name: str, resource_group: pulumi.Input[str], location: str,
              workspace_id: pulumi.Input[str]) -> azure_native.portal.Dashboard:
    def part(i: int, title: str, query: str) -> azure_native.portal.DashboardPartsArgs:
        return azure_native.portal.DashboardPartsArgs(
            position=azure_native.portal.DashboardPartsPositionArgs(x=(i % 3) * 6, y=(i // 3) * 4, col_span=6, row_span=4),
            metadata=azure_native.portal.DashboardPartMetadataArgs(
                type="Extension/Microsoft_OperationsManagementSuite_Workspace/PartType/LogsDashboardPart",
                inputs=[{"name": "Scope", "value": {"resourceIds": [workspace_id]}},
                        {"name": "Query", "value": query}, {"name": "PartTitle", "value": title},
                        {"name": "Version", "value": "2.0"}, {"name": "TimeRange", "value": "P7D"}],
                settings={},
            ),
        )

    return azure_native.portal.Dashboard(
        f"{name}-review",
        resource_group_name=resource_group,
        location=location,
        dashboard_name=f"{pulumi.get_project()}-{pulumi.get_stack()}-{name}-review"[:160],
        properties=azure_native.portal.DashboardPropertiesWithProvisioningStateArgs(
            lenses=[azure_native.portal.DashboardLensArgs(
                order=0, parts=[part(i, t, q) for i, (t, q) in enumerate(REVIEW_QUERIES.items())])],
            metadata={"model": {"timeRange": {"type": "MsPortalFx.Composition.Configuration.ValueTypes.TimeRange",
                                              "value": {"relative": {"duration": 24, "timeUnit": 1}}}}},
        ),
        opts=pulumi.ResourceOptions(parent=owner),
    )
