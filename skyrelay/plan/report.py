"""Human-readable reports of a plan: a coloured text tree for terminals, Markdown for PR comments.

Both list what is unknown at preview (inputs, invokes answered as unknown, placeholders standing in
for context no config gave) and end with the policy pack's findings, grouped by severity, each
policy with its remediation. Everything is listed in a stable order: two renders of the same
program give the same bytes.
"""

from collections.abc import Sequence

from skyrelay.plan.model import Plan, PlannedResource
from skyrelay.tags import REQUIRED_TAG_KEYS, taggable_property


def document(plan: Plan, violations: Sequence) -> dict:
    """The `--format json` document: the plan and its violations."""
    return plan.to_json() | {"violations": [v.to_json() for v in violations]}


def json_text(plan: Plan, violations: Sequence) -> str:
    import json

    return json.dumps(document(plan, violations), indent=2, default=str) + "\n"


def tag_coverage(plan: Plan) -> tuple[int, int, list[str]]:
    """(taggable resources, fully tagged ones, URNs missing a required tag)."""
    taggable, missing = 0, []
    for r in plan.resources:
        prop = taggable_property(r.type)
        if prop is None:
            continue
        taggable += 1
        tags = r.inputs.get(prop) or {}
        if not isinstance(tags, dict) or any(k not in tags for k in REQUIRED_TAG_KEYS):
            missing.append(r.urn)
    return taggable, taggable - len(missing), missing


def _children(plan: Plan) -> dict[str | None, list[PlannedResource]]:
    known = {r.urn for r in plan.resources}
    children: dict[str | None, list[PlannedResource]] = {}
    for r in plan.resources:
        parent = r.parent if r.parent in known else None
        children.setdefault(parent, []).append(r)
    return children


SEVERITIES = ("critical", "high", "medium", "low", "unspecified")


def by_severity(violations: Sequence) -> list[tuple[str, list]]:
    groups = [(sev, [v for v in violations if v.severity == sev]) for sev in SEVERITIES]
    return [(sev, vs) for sev, vs in groups if vs]


def short_urn(urn: str) -> str:
    """`type::name` of a URN (the stack for stack-wide findings)."""
    if not urn:
        return "(stack)"
    parts = urn.split("::")
    return f"{parts[-2].rsplit('$', 1)[-1]}::{parts[-1]}" if len(parts) >= 2 else urn


def policy_summary(violations: Sequence, rules: int | None) -> str:
    mandatory = sum(v.level == "mandatory" for v in violations)
    advisory = len(violations) - mandatory
    unknown = sum(bool(getattr(v, "unknown", False)) for v in violations)
    if not violations:
        return f"Policy pack: no violations{f' ({rules} rules)' if rules else ''}."
    tail = f", {unknown} of them unknown at preview" if unknown else ""
    return f"Policy pack: {mandatory} mandatory, {advisory} advisory violation(s){tail}."


def preview_lines(plan: Plan) -> list[str]:
    """Plain lines on what the render could not know: unknown inputs, invokes, placeholders."""
    unknowns = plan.unknowns()
    lines = [f"Unknown at preview: {len(unknowns)} input value(s)"]
    lines += [f"  {short_urn(urn)}  {path}" for urn, path in unknowns]
    if plan.invokes:
        lines.append("Invokes: " + "; ".join(f"{i['token']} {i['answer']} x{i['count']}" for i in plan.invokes))
    for p in plan.placeholders:
        lines.append(f"Placeholder: {p['invoke']} {p['field']} = {p['value']} (set: {p['set']})")
    return lines


def _remediations(group: Sequence) -> dict[str, str]:
    out: dict[str, str] = {}
    for v in group:
        out.setdefault(v.policy, v.remediation)
    return out


def text(plan: Plan, violations: Sequence | None = None, rules: int | None = None) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.tree import Tree

    console = Console()
    children = _children(plan)
    tree = Tree(f"[bold]{plan.project}[/] / [bold cyan]{plan.stack}[/] ({len(plan.resources)} resources)")

    def add(node, parent):
        for r in children.get(parent, []):
            style = "green" if r.custom else "bold magenta"
            add(node.add(f"[{style}]{r.type}[/] {r.name}"), r.urn)

    add(tree, None)
    console.print(tree)
    table = Table(title="Resources by type")
    table.add_column("type")
    table.add_column("count", justify="right")
    for type_token, count in plan.by_type().items():
        table.add_row(type_token, str(count))
    console.print(table)
    taggable, tagged, _ = tag_coverage(plan)
    console.print(f"Tag coverage: {tagged}/{taggable} taggable resources carry {', '.join(REQUIRED_TAG_KEYS)}")
    from rich.markup import escape

    for line in preview_lines(plan):
        console.print(escape(line), highlight=False)
    if violations is None:
        return

    style = "bold red" if any(v.level == "mandatory" for v in violations) else "bold green"
    console.print(f"[{style}]{policy_summary(violations, rules)}[/]")
    for severity, group in by_severity(violations):
        console.print(f"[bold]{severity.upper()}[/]")
        for v in group:
            mark = "[red]mandatory[/]" if v.level == "mandatory" else "[yellow]advisory[/]"
            mark += " [magenta](unknown at preview)[/]" if getattr(v, "unknown", False) else ""
            console.print(f"  {mark} [cyan]{v.policy}[/] {escape(short_urn(v.urn))}: {escape(v.message)}")
        for policy, remedy in _remediations(group).items():
            console.print(f"  [dim]fix {policy}: {escape(remedy)}[/]")


def markdown_violations(violations: Sequence, rules: int | None = None) -> list[str]:
    lines = ["", f"#### {policy_summary(violations, rules)}"]
    for severity, group in by_severity(violations):
        lines += ["", f"##### {severity.capitalize()} ({len(group)})", "",
                  "| Level | Policy | Resource | Finding |", "|---|---|---|---|"]  # fmt: skip
        for v in group:
            level = "**mandatory**" if v.level == "mandatory" else "advisory"
            level += " (unknown at preview)" if getattr(v, "unknown", False) else ""
            finding = v.message.replace("|", "\\|").replace("\n", " ")
            lines.append(f"| {level} | `{v.policy}` | `{short_urn(v.urn)}` | {finding} |")
        lines += ["", "Remediation:"]
        lines += [f"- `{policy}`: {remedy}" for policy, remedy in _remediations(group).items()]
    return lines


def markdown(plan: Plan, violations: Sequence | None = None, rules: int | None = None) -> str:
    taggable, tagged, missing = tag_coverage(plan)
    lines = [
        f"### skyrelay plan: `{plan.stack}`",
        "",
        f"{len(plan.resources)} resources; tag coverage {tagged}/{taggable}.",
        "",
        "| Type | Count |",
        "|---|---:|",
    ]
    lines += [f"| `{t}` | {n} |" for t, n in plan.by_type().items()]
    if missing:
        lines += ["", "**Missing required tags:**", *[f"- `{urn}`" for urn in missing]]
    unknowns = plan.unknowns()
    lines += ["", f"**Unknown at preview:** {len(unknowns)} input value(s)."]
    if unknowns:
        lines += ["", "| Resource | Input |", "|---|---|", *[f"| `{short_urn(u)}` | `{p}` |" for u, p in unknowns]]
    if plan.invokes:
        lines += ["", "| Invoke | Answer | Count |", "|---|---|---:|"]
        lines += [f"| `{i['token']}` | {i['answer']} | {i['count']} |" for i in plan.invokes]
    if plan.placeholders:
        lines += ["", "Placeholders (no config gave these values):"]
        lines += [f"- `{p['invoke']}` `{p['field']}` = `{p['value']}` (set: `{p['set']}`)" for p in plan.placeholders]
    if violations is not None:
        lines += markdown_violations(violations, rules)
    lines += ["", "<details><summary>Resources</summary>", "", "| Name | Type | Parent |", "|---|---|---|"]
    names = {r.urn: r.name for r in plan.resources}
    lines += [f"| {r.name} | `{r.type}` | {names.get(r.parent, '')} |" for r in plan.resources]
    lines += ["", "</details>", ""]
    return "\n".join(lines)
