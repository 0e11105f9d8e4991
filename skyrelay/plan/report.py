"""Human-readable reports of a plan: a coloured text tree for terminals, Markdown for PR comments."""

from skyrelay.plan.model import Plan, PlannedResource
from skyrelay.tags import REQUIRED_TAG_KEYS, taggable_property


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


def text(plan: Plan) -> None:
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


def markdown(plan: Plan) -> str:
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
    lines += ["", "<details><summary>Resources</summary>", "", "| Name | Type | Parent |", "|---|---|---|"]
    names = {r.urn: r.name for r in plan.resources}
    lines += [f"| {r.name} | `{r.type}` | {names.get(r.parent, '')} |" for r in plan.resources]
    lines += ["", "</details>", ""]
    return "\n".join(lines)
