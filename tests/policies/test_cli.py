"""`skyrelay plan` with the pack: our stacks pass, a third-party program fails, exit codes 0/1/2."""

import json

import pytest
from typer.testing import CliRunner

from tests.conftest import ROOT
from tests.policies.conftest import FIXTURES

STACKS = sorted(p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in (ROOT / "stacks").glob("Pulumi.*.yaml"))


def plan(*args: str):
    from skyrelay.cli.main import app

    return CliRunner().invoke(app, ["plan", *args])


@pytest.mark.parametrize("stack", STACKS)
def test_our_stacks_have_no_mandatory_violations(stack):
    result = plan("--stack", stack, "--project-dir", str(ROOT), "--format", "json")
    doc = json.loads(result.stdout)
    assert [v for v in doc["violations"] if v["level"] == "mandatory"] == []
    assert result.exit_code == 0


def test_the_three_stacks_are_covered():
    assert {"aws-dev", "azure-dev", "gcp-dev"} <= set(STACKS)


def test_third_party_program_fails_with_its_violations():
    result = plan("--program", str(FIXTURES / "third_party"), "--config", str(FIXTURES / "third_party" / "Pulumi.dev.yaml"),
                  "--format", "json")  # fmt: skip
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    found = {(v["policy"], v["urn"].rsplit("::", 1)[-1]) for v in doc["violations"]}
    assert {
        ("aws-sqs-dlq", "jobs"),
        ("aws-sqs-visibility-timeout", "jobs"),
        ("aws-lambda-no-plaintext-secrets", "summarizer"),
        ("aws-iam-no-wildcard-actions", "summarizer"),
        ("aws-dynamodb-pitr", "results"),
        ("stack-budget-alerts", ""),
    } <= found
    assert all(v["urn"].startswith("urn:pulumi:dev::acme-summarizer::") for v in doc["violations"] if v["urn"])


def test_markdown_groups_by_severity_with_remediation():
    result = plan("--program", str(FIXTURES / "aws_violating"), "--format", "markdown")
    assert result.exit_code == 1
    text = result.stdout
    order = [text.index(f"##### {s}") for s in ("Critical", "High", "Medium", "Low")]
    assert order == sorted(order)
    assert "| **mandatory** | `aws-iam-no-wildcard-actions` | `aws:iam/role:Role::bad-role` |" in text
    assert "- `aws-iam-no-wildcard-actions`: List the actions" in text


def test_text_report_lists_findings():
    result = plan("--program", str(FIXTURES / "gcp_violating"))
    assert result.exit_code == 1
    assert "gcp-cloudrun-not-public" in result.stdout and "CRITICAL" in result.stdout


def test_advisory_only_exits_zero(tmp_path):
    config = tmp_path / "policy.json"
    config.write_text(json.dumps({"all": "advisory"}))
    result = plan("--program", str(FIXTURES / "third_party"), "--policy-config", str(config), "--format", "json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["violations"]


@pytest.mark.parametrize(
    ("content", "needle"),
    [("{not json", "malformed JSON"), ('{"aws-sqs-dlq": "loud"}', "aws-sqs-dlq.enforcementLevel"), (None, "does not exist")],
)
def test_bad_policy_config_exits_2(tmp_path, content, needle):
    config = tmp_path / "policy.json"
    if content is not None:
        config.write_text(content)
    result = plan("--program", str(FIXTURES / "third_party"), "--policy-config", str(config))
    assert result.exit_code == 2
    assert needle in result.stderr
