"""Bad AWS stack config exits 2 naming the key; overriding a secure default warns naming it; an
unknown override fails naming it; component-level guards on the visibility and timeout rules."""

import shutil

import pytest
import yaml
from typer.testing import CliRunner

from skyrelay.components.aws.async_jobs import max_concurrency
from skyrelay.components.aws.queues import visibility_timeout


def plan_with(tmp_path, project_root, mutate):
    doc = yaml.safe_load((project_root / "stacks" / "Pulumi.aws-dev.yaml").read_text())
    mutate(doc["config"])
    (tmp_path / "stacks").mkdir()
    shutil.copy(project_root / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    shutil.copy(project_root / "stacks" / "__main__.py", tmp_path / "stacks" / "__main__.py")
    (tmp_path / "stacks" / "Pulumi.bad.yaml").write_text(yaml.safe_dump(doc))
    from skyrelay.cli.main import app

    return CliRunner().invoke(app, ["plan", "--stack", "bad", "--project-dir", str(tmp_path)])


@pytest.mark.parametrize(
    ("mutate", "key", "why"),
    [
        (lambda c: c["skyrelay:aws"].update(workerTimeoutSeconds=901), "skyrelay:aws.workerTimeoutSeconds", "900"),
        (lambda c: c.update({"skyrelay:tiers": ["free", "gold"]}), "skyrelay:tiers[1]", "free"),
        (
            lambda c: c["skyrelay:aws"].update(workerTimeoutSeconds=600, queueRetentionSeconds=300),
            "skyrelay:aws.queueRetentionSeconds",
            "workerTimeoutSeconds (600)",
        ),
        (lambda c: c["skyrelay:aws"].update(logRetentionDays=10), "skyrelay:aws.logRetentionDays", "CloudWatch"),
        (lambda c: c["skyrelay:aws"].update(maxBodyBytes=10**6), "skyrelay:aws.maxBodyBytes", "65536"),
        (lambda c: c["skyrelay:aws"].update(workerTimout=60), "skyrelay:aws.workerTimout", "Extra inputs"),
    ],
    ids=["worker-timeout-over-900", "unknown-tier", "retention-below-timeout", "log-retention", "body", "typo"],
)
def test_bad_stack_config_exits_2_naming_the_key(tmp_path, project_root, mutate, key, why):
    result = plan_with(tmp_path, project_root, mutate)
    assert result.exit_code == 2, result.output
    assert key in result.output and why in result.output


def test_the_unmodified_copy_plans(tmp_path, project_root):
    """Control for the test above: the same copy without a mutation renders (exit 0)."""
    result = plan_with(tmp_path, project_root, lambda c: None)
    assert result.exit_code == 0, result.output


PROGRAM = '''
import pulumi
from skyrelay.components.aws import AsyncJobs, JobsApi
jobs = AsyncJobs("j", {OVERRIDES})
'''


def render(tmp_path, render_program, overrides):
    (tmp_path / "__main__.py").write_text(PROGRAM.replace("{OVERRIDES}", repr(overrides)))
    return render_program(tmp_path, {}, stack="t", project="p")


def test_overriding_a_secure_default_warns_naming_it(tmp_path, render_program, monkeypatch):
    import pulumi

    warnings = []
    monkeypatch.setattr(pulumi.log, "warn", lambda msg, *a, **k: warnings.append(msg))
    plan = render(tmp_path, render_program, {"overrides": {"queue_tls_only": False, "receive_wait_time_seconds": 10}})
    assert any("queue_tls_only" in w for w in warnings)
    assert not any("receive_wait_time_seconds" in w for w in warnings)  # not a secure default
    for policy in plan.of_type("aws:sqs/queuePolicy:QueuePolicy"):
        assert "SecureTransport" not in policy.inputs["policy"]  # the override took effect


def test_unknown_override_fails_naming_it(tmp_path, render_program):
    from skyrelay.errors import ConfigError

    with pytest.raises(ConfigError) as err:
        render(tmp_path, render_program, {"overrides": {"max_recieve_count": 3}})
    assert "max_recieve_count" in str(err.value)


def test_component_rejects_worker_timeout_over_900_and_retention_below_it(tmp_path, render_program):
    from skyrelay.errors import ConfigError

    with pytest.raises(ConfigError, match="worker_timeout_seconds"):
        render(tmp_path, render_program, {"worker_timeout_seconds": 1000})
    with pytest.raises(ConfigError, match="queue_retention_seconds"):
        render(tmp_path, render_program, {"worker_timeout_seconds": 300, "queue_retention_seconds": 120})


def test_visibility_timeout_rule_and_its_cap():
    assert visibility_timeout(120, 5) == 725
    assert visibility_timeout(900, 300) == 5700
    assert visibility_timeout(900, 300, factor=100) == 43200  # the SQS maximum


@pytest.mark.parametrize(
    ("rpm", "p50", "reserved", "expected"),
    [(600, 10, 100, (75, 25)), (60, 1, 100, (3, 2)), (6000, 60, 100, (75, 25)), (600, 10, 40, (30, 10))],
)
def test_max_concurrency_follows_the_model_quota_within_reserved(rpm, p50, reserved, expected):
    got = max_concurrency(rpm, p50, reserved)
    assert got == expected and sum(got) <= reserved and min(got) >= 2
