"""Regenerates the generated parts of the docs from code, so they cannot drift.

- In each `components/<cloud>/README.md`, a block between `<!-- defaults:NAME -->` and
  `<!-- /defaults -->` is the "Default settings" table of `components/<cloud>/defaults.py:NAME`.
- In `docs/tiers.md`, the block between `<!-- tiers -->` and `<!-- /tiers -->` is the tier table.
- In `docs/policies.md`, the block between `<!-- policy-rules -->` and `<!-- /policy-rules -->` is the
  policy pack's rule table, from the rules' metadata (`skyrelay.policies.registry.rules()`).
- The component provider's reference, from the package schema (`skyrelay.provider`): in `README.md`
  between `<!-- provider-components -->` and `<!-- /provider-components -->` (components and inputs
  by cloud), in `docs/provider.md` between `<!-- provider-reference -->` and `<!-- /provider-reference -->`.

Run `.venv/bin/python scripts/gen_docs.py`; `--check` exits 1 listing the files that drift.
"""

import importlib
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULTS_BLOCK = re.compile(r"(<!-- defaults:(\w+) -->\n)(.*?)(<!-- /defaults -->)", re.S)
TIERS_BLOCK = re.compile(r"(<!-- tiers -->\n)(.*?)(<!-- /tiers -->)", re.S)
POLICY_BLOCK = re.compile(r"(<!-- policy-rules -->\n)(.*?)(<!-- /policy-rules -->)", re.S)
PROVIDER_COMPONENTS_BLOCK = re.compile(r"(<!-- provider-components -->\n)(.*?)(<!-- /provider-components -->)", re.S)
PROVIDER_REFERENCE_BLOCK = re.compile(r"(<!-- provider-reference -->\n)(.*?)(<!-- /provider-reference -->)", re.S)


def tiers_table() -> str:
    from skyrelay.tiers import default_tiers

    lines = [
        "| Tier | RPM | TPM | Concurrent streams | max_tokens cap | Model classes | Monthly requests |",
        "|---|---:|---:|---:|---:|---|---:|",
    ]
    for tier in default_tiers().values():
        name = tier.name.value.capitalize() + (" (custom)" if tier.custom else "")
        lines.append(
            f"| {name} | {tier.rpm:,} | {tier.tpm:,} | {tier.max_concurrent_streams} | {tier.max_tokens_cap:,} "
            f"| {', '.join(m.value for m in tier.model_classes)} | {tier.monthly_request_quota:,} |"
        )
    return "\n".join(lines) + "\n"


def policy_rules_table() -> str:
    """The policy pack's rules: id, kind, cloud, severity, default enforcement, Checkov ids, what it checks."""
    from skyrelay.policies.registry import rules

    lines = [
        "| Rule | Kind | Cloud | Severity | Default | Checkov | Checks |",
        "|---|---|---|---|---|---|---|",
    ]
    for rule in rules().values():
        checkov = ", ".join(rule.checkov) or "-"
        lines.append(
            f"| `{rule.id}` | {rule.kind} | {rule.cloud} | {rule.severity.value} | {rule.enforcement.value} "
            f"| {checkov} | {rule.description} |"
        )
    return "\n".join(lines) + "\n"


def render_policy_rules(text: str) -> str:
    return POLICY_BLOCK.sub(lambda m: m[1] + policy_rules_table() + m[3], text)


def provider_schema() -> dict:
    """The schema the plugin serves (built in-process by the same code)."""
    from skyrelay.provider.inference import infer
    from skyrelay.provider.provider import package_version

    return infer(package_version()).schema


def render_provider(text: str, schema: dict | None = None) -> str:
    from skyrelay.provider import reference

    if not (PROVIDER_COMPONENTS_BLOCK.search(text) or PROVIDER_REFERENCE_BLOCK.search(text)):
        return text
    schema = schema or provider_schema()
    text = PROVIDER_COMPONENTS_BLOCK.sub(lambda m: m[1] + reference.components_table(schema) + m[3], text)
    return PROVIDER_REFERENCE_BLOCK.sub(lambda m: m[1] + reference.markdown(schema) + m[3], text)


def render(path: Path) -> str:
    from skyrelay.components.defaults import markdown_table

    text = path.read_text()
    if path.name == "README.md" and path.parent.parent.name == "components":
        module = importlib.import_module(f"skyrelay.components.{path.parent.name}.defaults")
        text = DEFAULTS_BLOCK.sub(lambda m: m[1] + markdown_table(getattr(module, m[2])) + "\n" + m[4], text)
    text = TIERS_BLOCK.sub(lambda m: m[1] + tiers_table() + m[3], text)
    text = render_policy_rules(text)
    text = render_provider(text)
    return text


def targets() -> list[Path]:
    docs = [ROOT / "docs" / "tiers.md", ROOT / "docs" / "policies.md", ROOT / "docs" / "provider.md", ROOT / "README.md"]
    return sorted(ROOT.glob("components/*/README.md")) + [p for p in docs if p.exists()]


def main() -> int:
    drift = []
    for path in targets():
        fresh = render(path)
        if fresh != path.read_text():
            drift.append(path)
            if "--check" not in sys.argv:
                path.write_text(fresh)
    if "--check" in sys.argv and drift:
        print("generated docs drift from code:", *[str(p.relative_to(ROOT)) for p in drift], sep="\n  ")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
