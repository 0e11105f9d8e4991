"""The check's three renderings: text for a terminal, Markdown for the PR comment, JSON for tools."""

import json
import sys

from skyrelay.check.model import Row, Status

MARK = {Status.passed: "PASS", Status.warn: "WARN", Status.failed: "FAIL"}
ICON = {Status.passed: "✅ pass", Status.warn: "⚠️ warn", Status.failed: "❌ fail"}


def summary(rows: list[Row]) -> dict[str, int]:
    return {s.value: sum(r.status is s for r in rows) for s in Status}


def json_text(stack: str, rows: list[Row]) -> str:
    doc = {"stack": stack, "summary": summary(rows), "rows": [r.to_json() for r in rows]}
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"


def text(stack: str, rows: list[Row], out=None) -> None:
    out = out or sys.stdout
    out.write(f"skyrelay check: stack {stack}\n\n")
    for r in rows:
        out.write(f"{MARK[r.status]}  {r.point}. {r.title}\n")
        for line in r.evidence:
            out.write(f"      - {line}\n")
        if r.fix:
            out.write(f"      fix: {r.fix}\n")
    s = summary(rows)
    out.write(f"\n{s['pass']} pass, {s['warn']} warn, {s['fail']} fail\n")


def markdown(stack: str, rows: list[Row]) -> str:
    lines = [f"### Production readiness: `{stack}`", "", "| # | Point | Result | Evidence | Fix |", "|---|---|---|---|---|"]
    for r in rows:
        evidence = "<br>".join(_cell(e) for e in r.evidence)
        lines.append(f"| {r.point} | {r.title} | {ICON[r.status]} | {evidence} | {_cell(r.fix)} |")
    s = summary(rows)
    lines += ["", f"{s['pass']} pass, {s['warn']} warn, {s['fail']} fail", ""]
    return "\n".join(lines)


def _cell(value: str) -> str:
    return value.replace("|", "\\|").replace("\n", " ")
