"""`skyrelay check` as a user runs it (a real process): formats, exit codes, bad input exits 2."""

import json
import subprocess
import sys

import yaml

from tests.conftest import ROOT


def run_check(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "skyrelay.cli.main", "check", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300)


def test_aws_dev_json_has_eight_rows_and_exits_0():
    result = run_check("--stack", "aws-dev", "--format", "json")
    assert result.returncode == 0, result.stdout + result.stderr
    doc = json.loads(result.stdout)
    assert [r["point"] for r in doc["rows"]] == list(range(1, 10))  # the eight points and the cold-start row
    assert doc["summary"]["fail"] == 0
    assert all(r["evidence"] for r in doc["rows"])
    # without --failover, point 5 is judged statically (a second region per model passes); without --sla
    # point 6 warns "not measured"; row 9 warns for the Enterprise tenant's missing dedicated capacity
    assert {r["point"] for r in doc["rows"] if r["status"] == "warn"} == {6, 9}
    assert "not measured" in doc["rows"][4]["evidence"][-1]


def test_any_program_with_a_stack_file_checks_like_the_stack():
    result = run_check("--program", str(ROOT / "stacks"), "--config", str(ROOT / "stacks" / "Pulumi.aws-dev.yaml"),
                       "--format", "json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["stack"] == "aws-dev" and doc["summary"] == {"pass": 7, "warn": 2, "fail": 0}


def test_a_failed_row_exits_1_in_markdown(tmp_path):
    """A router config without fallbacks or a failover region (as a changed blueprint would deploy) fails point 2."""
    plan = json.loads(run_check("--stack", "aws-dev", "--format", "json").stdout)
    assert plan["rows"][1]["status"] == "pass"
    from skyrelay.blueprints.aws import router_config_doc
    from skyrelay.config import load_stack_config

    raw = router_config_doc(load_stack_config(ROOT / "stacks" / "Pulumi.aws-dev.yaml"))
    for m in raw["models"].values():
        m.pop("fallback")
        m["deployments"] = m["deployments"][:1]
    path = tmp_path / "router.yaml"
    path.write_text(yaml.safe_dump(raw))
    result = run_check("--stack", "aws-dev", "--router-config", str(path), "--format", "markdown")
    assert result.returncode == 1, result.stderr
    assert "| 2 | Circuit breaker on every LLM client, with a fallback | ❌ fail |" in result.stdout
    assert "model fast: one deployment (fast-bedrock) and no fallback response" in result.stdout


def test_bad_input_exits_2_with_a_message(tmp_path):
    unknown = run_check("--stack", "nope")
    assert unknown.returncode == 2 and "does not exist" in unknown.stderr
    assert run_check().returncode == 2
    bad = tmp_path / "router.yaml"
    bad.write_text("deployments: [")
    result = run_check("--stack", "aws-dev", "--router-config", str(bad))
    assert result.returncode == 2 and "--router-config" in result.stderr
