"""A short, readable summary of rendered stacks: resources by type, budgets, tag coverage.

`skyrelay demo` prints it for the three dev stacks before it runs the local scenario.
"""

from pathlib import Path

from skyrelay.plan.model import Plan
from skyrelay.plan.report import tag_coverage

BUDGET_TYPES = (
    "aws:budgets/budget:Budget",
    "azure-native:consumption:Budget",
    "gcp:billing/budget:Budget",
)


def budget_alerts(plan: Plan) -> list[str]:
    """Each budget's alert thresholds as `50% actual`, `100% forecasted`, for any of the clouds."""
    alerts = []
    for r in plan.resources:
        if r.type == "aws:budgets/budget:Budget":
            for n in r.inputs.get("notifications", []):
                alerts.append(f"{n['threshold']:g}% {n['notificationType'].lower()}")
        elif r.type == "azure-native:consumption:Budget":
            for n in (r.inputs.get("notifications") or {}).values():
                alerts.append(f"{n['threshold']:g}% {n.get('thresholdType', 'Actual').lower()}")
        elif r.type == "gcp:billing/budget:Budget":
            for rule in r.inputs.get("thresholdRules", []):
                basis = "forecasted" if rule.get("spendBasis") == "FORECASTED_SPEND" else "actual"
                alerts.append(f"{rule['thresholdPercent'] * 100:g}% {basis}")
    return alerts


def summary_table(plans: list[Plan]):
    from rich.table import Table

    table = Table(title="Offline plans (no credentials, no Pulumi CLI)")
    for column in ("stack", "resources", "top types", "budget alerts", "tag coverage"):
        table.add_column(column)
    for plan in plans:
        taggable, tagged, _ = tag_coverage(plan)
        top = sorted(plan.by_type().items(), key=lambda kv: -kv[1])[:4]
        table.add_row(
            plan.stack,
            str(len(plan.resources)),
            "\n".join(f"{n} x {t.split(':')[-1]}" for t, n in top),
            ", ".join(budget_alerts(plan)) or "none",
            f"{tagged}/{taggable}",
        )
    return table


def print_summaries(stacks: list[str], root: str | Path | None = None) -> list[Plan]:
    """Renders each stack (skipping any whose stack file does not exist) and prints the table."""
    from rich.console import Console

    from skyrelay.plan.render import find_project_root, render_stack, stack_file

    root = find_project_root(root or ".")
    plans = [render_stack(s, root)[0] for s in stacks if stack_file(root, s).exists()]
    Console().print(summary_table(plans))
    return plans
