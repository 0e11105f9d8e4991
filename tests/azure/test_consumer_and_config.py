"""Reuse and bad config on Azure: examples/azure-consumer renders with minimal args; bad azure-dev
config exits 2 naming the key before anything registers; overriding a secure default warns naming it;
component guards on the lock rule and the SKUs."""

import shutil

import pytest
import yaml
from typer.testing import CliRunner

from skyrelay.errors import ConfigError


def test_the_consumer_example_renders_async_jobs_with_minimal_args(project_root, render_program):
    plan = render_program(project_root / "examples" / "azure-consumer", {"azure-consumer:workerTimeoutSeconds": "240"})
    assert len(plan.of_type("skyrelay:azure:AsyncJobs")) == 1
    queues = plan.of_type("azure-native:servicebus:Queue")
    assert len(queues) == 2 and all(q.inputs["lockDuration"] == "PT1M" for q in queues)
    app = plan.of_type("azure-native:web:WebApp")[0]
    settings = {s["name"]: s["value"] for s in app.inputs["siteConfig"]["appSettings"]}
    # 240 s run + 60 s lock: the renewal and the function timeout are 5 minutes
    assert settings["AzureFunctionsJobHost__extensions__serviceBus__maxAutoLockRenewalDuration"] == "00:05:00"
    assert plan.of_type("azure-native:cosmosdb:DatabaseAccount")[0].inputs["disableLocalAuth"] is True


def plan_with(tmp_path, project_root, mutate):
    doc = yaml.safe_load((project_root / "stacks" / "Pulumi.azure-dev.yaml").read_text())
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
        (lambda c: c["skyrelay:azure"].update(workerTimeoutSeconds=3590), "skyrelay:azure.workerTimeoutSeconds",
         "lock renewal of 3650 s"),
        (lambda c: c["skyrelay:azure"].update(lockDurationSeconds=301), "skyrelay:azure.lockDurationSeconds", "300"),
        (lambda c: c["skyrelay:azure"].update(apimSku="Gold"), "skyrelay:azure.apimSku", "Consumption"),
        (lambda c: c["skyrelay:azure"].update(servicebusSku="Basic"), "skyrelay:azure.servicebusSku", "Premium"),
        (lambda c: c.update({"skyrelay:tiers": ["free", "gold"]}), "skyrelay:tiers[1]", "free"),
        (lambda c: c["skyrelay:azure"].update(location="westeurop"), "skyrelay:azure.location", "Azure region"),
        (lambda c: c["skyrelay:azure"].update(logRetentionDays=7), "skyrelay:azure.logRetentionDays", "30"),
    ],
    ids=["timeout-cannot-fit-renewal", "lock-over-5-min", "unknown-apim-sku", "unknown-servicebus-sku", "unknown-tier",
         "invalid-location", "log-retention"],
)
def test_bad_stack_config_exits_2_naming_the_key(tmp_path, project_root, mutate, key, why):
    result = plan_with(tmp_path, project_root, mutate)
    assert result.exit_code == 2, result.output
    assert key in result.output and why in result.output


def test_the_unmodified_copy_plans(tmp_path, project_root):
    result = plan_with(tmp_path, project_root, lambda c: None)
    assert result.exit_code == 0, result.output


def test_component_guards_name_the_argument():
    from skyrelay.components.azure.api import check_sku
    from skyrelay.components.azure.async_jobs import check_lock

    with pytest.raises(ConfigError, match="AsyncJobs.worker_timeout_seconds"):
        check_lock(3590, 60)
    with pytest.raises(ConfigError, match="AsyncJobs.lock_duration_seconds"):
        check_lock(60, 301)
    assert check_lock(120, 60) == {"lock_duration_s": 60, "max_auto_lock_renewal_s": 180, "function_timeout_s": 180}
    with pytest.raises(ConfigError, match="JobsApi.sku"):
        check_sku("Gold", 0)
    assert check_sku("Consumption", 3) == ("Consumption", 0) and check_sku("StandardV2", 0) == ("StandardV2", 1)


PROGRAM = '''
from skyrelay.components.azure import AsyncJobs
AsyncJobs("j", {"resource_group_name": "rg", "code_path": __file__, "overrides": OVERRIDES})
'''


def render(tmp_path, render_program, overrides):
    (tmp_path / "__main__.py").write_text(PROGRAM.replace("OVERRIDES", repr(overrides)))
    return render_program(tmp_path, {}, stack="t", project="p")


def test_overriding_a_secure_default_warns_naming_it(tmp_path, render_program, monkeypatch):
    import pulumi

    warnings = []
    monkeypatch.setattr(pulumi.log, "warn", lambda msg, *a, **k: warnings.append(msg))
    plan = render(tmp_path, render_program, {"servicebus_local_auth": True, "alarm_active_messages": 50})
    assert any("servicebus_local_auth" in w for w in warnings)
    assert not any("alarm_active_messages" in w for w in warnings)  # not a secure default
    assert plan.of_type("azure-native:servicebus:Namespace")[0].inputs["disableLocalAuth"] is False  # it took effect


def test_unknown_override_fails_naming_it(tmp_path, render_program):
    with pytest.raises(ConfigError) as err:
        render(tmp_path, render_program, {"servicebus_local_auht": True})
    assert "AsyncJobs.overrides.servicebus_local_auht" in str(err.value)
