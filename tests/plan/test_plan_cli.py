"""`skyrelay plan`: output formats and exit codes, run as a user runs it (a real process)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GOOD = """config:
  skyrelay:cloud: aws
  skyrelay:tags: {cost-center: cc1, environment: dev, team: ai}
  skyrelay:budget: {amount: 100}
"""


def run_plan(*args, cwd=ROOT):
    return subprocess.run(
        [sys.executable, "-m", "skyrelay.cli.main", "plan", *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def project_with(tmp_path: Path, stack_text: str) -> Path:
    """A project folder whose program is our stacks/ and whose only stack file is `stack_text`."""
    (tmp_path / "Pulumi.yaml").write_text(f"name: skyrelay\nmain: {ROOT / 'stacks'}\nstackConfigDir: stacks\n")
    (tmp_path / "stacks").mkdir()
    (tmp_path / "stacks" / "Pulumi.t.yaml").write_text(stack_text)
    return tmp_path


def test_json_lists_resources_with_urn_type_name_parent_inputs():
    result = run_plan("--stack", "aws-dev", "--format", "json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["stack"] == "aws-dev"
    budget = next(r for r in doc["resources"] if r["type"] == "aws:budgets/budget:Budget")
    assert set(budget) >= {"urn", "type", "name", "parent", "inputs"}
    assert budget["parent"].endswith("skyrelay:aws:CostGuard::cost")
    assert doc["summary"]["resources"] == len(doc["resources"])


def test_markdown_and_text_formats():
    md = run_plan("--stack", "aws-dev", "--format", "markdown")
    assert md.returncode == 0 and "| `aws:budgets/budget:Budget` | 1 |" in md.stdout
    text = run_plan("--stack", "aws-dev")
    assert text.returncode == 0 and "Resources by type" in text.stdout and "Tag coverage" in text.stdout


@pytest.mark.parametrize(
    ("stack_text", "named"),
    [
        (GOOD.replace("cost-center: cc1, ", ""), "skyrelay:tags.cost-center"),
        (GOOD.replace("team: ai", "team: AI Platform"), "skyrelay:tags.team"),
        (GOOD.replace("amount: 100", "amount: 0"), "skyrelay:budget.amount"),
        (GOOD + "  skyrelay:tiers: [free, gold]\n", "skyrelay:tiers[1]"),
        (GOOD.replace("{amount: 100}", "{amount: 100"), "Pulumi.t.yaml"),
    ],
    ids=["missing-cost-center", "gcp-invalid-tag", "budget-not-positive", "unknown-tier", "malformed-file"],
)
def test_bad_config_exits_2_naming_the_key(tmp_path, stack_text, named):
    result = run_plan("--stack", "t", "--project-dir", str(project_with(tmp_path, stack_text)))
    assert result.returncode == 2, result.stdout + result.stderr
    assert named in result.stderr
    assert "Resources by type" not in result.stdout


def test_unknown_stack_and_bad_usage_exit_2():
    assert "does not exist" in run_plan("--stack", "nope").stderr
    assert run_plan("--stack", "nope").returncode == 2
    assert run_plan().returncode == 2  # neither --stack nor --program


def test_any_program_with_its_own_config(tmp_path):
    program = tmp_path / "prog"
    program.mkdir()
    (program / "__main__.py").write_text(
        "import pulumi, pulumi_aws as aws\n"
        "cfg = pulumi.Config('demo')\n"
        "aws.sqs.Queue('q', message_retention_seconds=cfg.require_int('retention'))\n"
    )
    config = tmp_path / "Pulumi.prod.yaml"
    config.write_text("config:\n  demo:retention: 1209600\n")
    result = run_plan("--program", str(program), "--config", str(config), "--format", "json")
    assert result.returncode == 1, result.stderr  # a bare queue breaks mandatory rules
    doc = json.loads(result.stdout)
    assert doc["stack"] == "prod"
    queue = doc["resources"][0]
    assert queue["type"] == "aws:sqs/queue:Queue" and queue["inputs"]["messageRetentionSeconds"] == 1209600
    assert {"aws-sqs-encryption", "aws-sqs-dlq"} <= {v["policy"] for v in doc["violations"] if v["urn"] == queue["urn"]}
    advisory = tmp_path / "policy.json"
    advisory.write_text('{"all": "advisory"}')
    relaxed = run_plan("--program", str(program), "--config", str(config), "--policy-config", str(advisory))
    assert relaxed.returncode == 0, relaxed.stderr
