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


def test_the_router_config_loads_in_the_runtime_and_batch_work_goes_to_the_global_batch_deployment(project_root):
    from skyrelay.blueprints.azure import router_config_doc
    from skyrelay.config import load_stack_config
    from skyrelay.runtime.batch.intake import batch_deployment
    from skyrelay.runtime.router.config import RouterConfig
    from skyrelay.runtime.router.strategies import DeploymentState, Planner

    stack = load_stack_config(project_root / "stacks" / "Pulumi.azure-dev.yaml")
    cfg = RouterConfig.model_validate(router_config_doc(stack))
    assert cfg.limiter.backend == "cosmos"
    assert [t.name for t in cfg.tenants] == ["free", "developer", "professional", "enterprise"]
    on_demand, batch = cfg.deployments
    assert (on_demand.upstream_model, on_demand.auth, on_demand.endpoint) == (
        "gpt-4o-mini", "entra", "https://skyrelay-dev-openai.openai.azure.com/")
    assert batch_deployment(cfg, "fast").name == batch.name == "fast-azure-batch"
    assert batch.upstream_model == "gpt-4o-mini-batch" and batch.batch.max_enqueued_tokens == 50_000
    assert cfg.model_class("fast").value == "small"  # the free tier may call it
    states = [DeploymentState(d, breaker=None) for d in cfg.deployments]
    order = Planner(cfg.models["fast"], states).order()
    assert [s.name for s in order] == ["fast-azure"]  # on demand never reaches the GlobalBatch deployment


API_PROGRAM = '''
from skyrelay.components.azure import JobsApi
JobsApi("api", {"resource_group_name": "rg", "function_app_name": "fn", "function_app_hostname": "fn.azurewebsites.net",
                "sku": SKU, "tiers": [{"name": "free", "rpm": 7, "monthly_request_quota": 700}], "tenants": ["free:acme"],
                JWT})
'''


def render_api(tmp_path, render_program, sku, jwt=""):
    (tmp_path / "__main__.py").write_text(API_PROGRAM.replace("SKU", repr(sku)).replace("JWT", jwt))
    return render_program(tmp_path, {}, stack="t", project="p")


def test_a_dedicated_sku_turns_old_tls_off_and_jwt_is_validated_before_the_backend(tmp_path, render_program):
    plan = render_api(tmp_path, render_program, "Developer",
                      '"jwt": {"openid_config_url": "https://login.example.com/.well-known/openid-configuration", '
                      '"audience": "api://skyrelay"}')
    service = plan.of_type("azure-native:apimanagement:ApiManagementService")[0].inputs
    assert service["sku"] == {"name": "Developer", "capacity": 1}
    props = service["customProperties"]
    assert {k.rsplit(".", 1)[1] for k, v in props.items() if v == "False"} == {"Tls10", "Tls11", "Ssl30"}
    assert len(props) == 6  # gateway and backend side
    policy = plan.of_type("azure-native:apimanagement:ApiPolicy")[0].inputs["value"]
    assert policy.index("<validate-jwt") < policy.index("<set-backend-service")
    assert '<audience>api://skyrelay</audience>' in policy
    (product,) = plan.of_type("azure-native:apimanagement:ProductPolicy")
    assert '<rate-limit calls="7" renewal-period="60" />' in product.inputs["value"]
    assert '<quota calls="700" renewal-period="2592000" />' in product.inputs["value"]
    (sub,) = plan.of_type("azure-native:apimanagement:Subscription")
    assert sub.inputs["sid"] == "acme" and sub.inputs["scope"].endswith("/products/free")


def test_an_unknown_sku_or_tenant_tier_fails_naming_the_argument(tmp_path, render_program):
    with pytest.raises(ConfigError, match="JobsApi.sku"):
        render_api(tmp_path, render_program, "Gold")
    (tmp_path / "__main__.py").write_text(API_PROGRAM.replace("SKU", "'Consumption'").replace('"free:acme"', '"gold:acme"')
                                          .replace("JWT", ""))
    with pytest.raises(ConfigError, match="JobsApi.tenants"):
        render_program(tmp_path, {}, stack="t", project="p")


def test_a_python_other_than_the_zips_needs_its_own_code_path(tmp_path, render_program):
    (tmp_path / "__main__.py").write_text(
        'from skyrelay.components.azure import AsyncJobs\n'
        'AsyncJobs("j", {"resource_group_name": "rg", "overrides": {"functions_python": "3.12"}})\n')
    with pytest.raises(ConfigError, match="AsyncJobs.overrides.functions_python"):
        render_program(tmp_path, {}, stack="t", project="p")
