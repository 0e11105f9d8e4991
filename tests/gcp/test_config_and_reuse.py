"""Bad gcp-dev config exits 2 naming the key before anything registers; the unmodified copy plans with
0 mandatory violations; component guards name the argument; secure overrides warn; a consumer program
reuses AsyncJobs with minimal args."""

import json
import logging
import shutil

import pytest
import yaml
from typer.testing import CliRunner

from skyrelay.errors import ConfigError


def plan_with(tmp_path, project_root, mutate, fmt="text"):
    doc = yaml.safe_load((project_root / "stacks" / "Pulumi.gcp-dev.yaml").read_text())
    mutate(doc["config"])
    (tmp_path / "stacks").mkdir()
    shutil.copy(project_root / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    shutil.copy(project_root / "stacks" / "__main__.py", tmp_path / "stacks" / "__main__.py")
    (tmp_path / "stacks" / "Pulumi.bad.yaml").write_text(yaml.safe_dump(doc))
    from skyrelay.cli.main import app

    return CliRunner().invoke(app, ["plan", "--stack", "bad", "--project-dir", str(tmp_path), "--format", fmt])


@pytest.mark.parametrize(
    ("mutate", "key", "why"),
    [
        (lambda c: c["skyrelay:gcp"].update(workerTimeoutSeconds=1771), "skyrelay:gcp.workerTimeoutSeconds",
         "30 minutes"),
        (lambda c: c["skyrelay:gcp"].update(region="mars-north1"), "skyrelay:gcp.region", "API Gateway runs in"),
        (lambda c: c.update({"skyrelay:tiers": ["free", "platinum"]}), "skyrelay:tiers[1]", "free"),
        (lambda c: c["skyrelay:gcp"].update(project="Skyrelay_Dev"), "skyrelay:gcp.project", "pattern"),
        (lambda c: c["skyrelay:gcp"].update(project="sky"), "skyrelay:gcp.project", "pattern"),
        (lambda c: c["skyrelay:gcp"].update(workerTimout=60), "skyrelay:gcp.workerTimout", "Extra inputs"),
        (lambda c: c["skyrelay:gcp"].update(jwtIssuer="https://issuer"), "skyrelay:gcp.jwtJwksUri", "jwtIssuer"),
    ],
    ids=["worker-timeout-over-30-min", "unknown-region", "unknown-tier", "project-id-chars", "project-id-short", "typo",
         "jwt-without-jwks"],
)
def test_bad_stack_config_exits_2_naming_the_key(tmp_path, project_root, mutate, key, why):
    result = plan_with(tmp_path, project_root, mutate)
    assert result.exit_code == 2, result.output
    assert key in result.output and why in result.output


def test_the_unmodified_copy_plans_with_no_mandatory_violation(tmp_path, project_root):
    """Control for the test above, and the acceptance figure: the plan, 0 mandatory violations."""
    result = plan_with(tmp_path, project_root, lambda c: None, fmt="json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output[result.output.index("{"):])
    assert [v for v in report["violations"] if v["level"] == "mandatory"] == []
    assert report["violations"] == []  # nothing advisory either: every policy could run
    assert report["summary"]["resources"] >= 90


def test_the_longest_allowed_worker_timeout_renders_its_30_minute_deadline(tmp_path, project_root):
    result = plan_with(tmp_path, project_root, lambda c: c["skyrelay:gcp"].update(workerTimeoutSeconds=1770),
                       fmt="json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output[result.output.index("{"):])
    worker = next(r for r in report["resources"] if r["name"] == "jobs-worker")
    envs = {e["name"]: e.get("value") for e in worker["inputs"]["template"]["containers"][0]["envs"]}
    assert envs["SKYRELAY_DISPATCH_DEADLINE_SECONDS"] == "1800"
    assert worker["inputs"]["template"]["timeout"] == "1770s"


def program(tmp_path, args: str):
    (tmp_path / "__main__.py").write_text(f"from skyrelay.components.gcp import AsyncJobs\nAsyncJobs('j', {args})\n")
    return tmp_path


IMAGE = "'image': 'europe-west1-docker.pkg.dev/p/r/skyrelay:1'"


@pytest.mark.parametrize(
    ("args", "key"),
    [
        ("{" + IMAGE + ", 'worker_timeout_seconds': 1771}", "AsyncJobs.worker_timeout_seconds"),
        ("{" + IMAGE + ", 'worker_timeout_seconds': 0}", "AsyncJobs.worker_timeout_seconds"),
        ("{" + IMAGE + ", 'worker_min_instances': 50, 'worker_max_instances': 10}", "AsyncJobs.worker_min_instances"),
        ("{" + IMAGE + ", 'model_quota_rpm': 0}", "AsyncJobs.model_quota_rpm"),
        ("{" + IMAGE + ", 'overrides': {'nope': 1}}", "AsyncJobs.overrides.nope"),
    ],
)
def test_bad_component_args_fail_naming_the_arg(tmp_path, render_program, args, key):
    with pytest.raises(ConfigError) as err:
        render_program(program(tmp_path, args), {"gcp:project": "p-123456"})
    assert err.value.key == key


def test_overriding_a_secure_default_warns_naming_it(tmp_path, render_program, caplog):
    caplog.set_level(logging.WARNING)
    plan = render_program(program(tmp_path, "{" + IMAGE + ", 'overrides': {'worker_ingress': 'INGRESS_TRAFFIC_ALL'}}"),
                          {"gcp:project": "p-123456"})
    assert "worker_ingress" in caplog.text
    assert plan.one("gcp:cloudrunv2/service:Service").inputs["ingress"] == "INGRESS_TRAFFIC_ALL"
    # A user image skips the source build: no bucket, no repository, no build_config.
    assert plan.of_type("gcp:artifactregistry/repository:Repository") == []
    assert "buildConfig" not in plan.one("gcp:cloudrunv2/service:Service").inputs


def test_consumer_program_renders_async_jobs_with_minimal_args(project_root, render_program):
    plan = render_program(project_root / "examples" / "gcp-consumer",
                          {"gcp:project": "consumer-proj", "gcp-consumer:workerTimeoutSeconds": "900"})
    plan.one("skyrelay:gcp:AsyncJobs")
    worker = plan.one("gcp:cloudrunv2/service:Service")
    assert worker.inputs["template"]["timeout"] == "900s"
    assert worker.inputs["ingress"] == "INGRESS_TRAFFIC_INTERNAL_ONLY"
    envs = {e["name"]: e.get("value") for e in worker.inputs["template"]["containers"][0]["envs"]}
    assert envs["SKYRELAY_DISPATCH_DEADLINE_SECONDS"] == "930"
    queues = plan.of_type("gcp:cloudtasks/queue:Queue")
    assert sorted(q.inputs["name"] for q in queues) == ["summaries-batch", "summaries-interactive"]
    assert all(q.inputs["httpTarget"]["oidcToken"]["serviceAccountEmail"].startswith("summaries-tasks@") for q in queues)
    assert set(plan.outputs) == {"worker_url", "database", "interactive_queue"}
    assert plan.outputs["worker_url"].endswith(".europe-west1.run.app/tasks")


def test_jwt_settings_reach_the_gateway_document(tmp_path, project_root):
    import base64

    result = plan_with(tmp_path, project_root, lambda c: c["skyrelay:gcp"].update(
        jwtIssuer="https://securetoken.google.com/skyrelay-dev",
        jwtJwksUri="https://www.googleapis.com/service_accounts/v1/metadata/x509/securetoken@system.gserviceaccount.com"),
        fmt="json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output[result.output.index("{"):])
    config = next(r for r in report["resources"] if r["type"] == "gcp:apigateway/apiConfig:ApiConfig")
    doc = json.loads(base64.b64decode(config["inputs"]["openapiDocuments"][0]["document"]["contents"]))
    assert doc["securityDefinitions"]["jwt"]["x-google-issuer"] == "https://securetoken.google.com/skyrelay-dev"
    assert doc["security"] == [{"api_key": [], "jwt": []}]


def test_switches_turn_parts_off(tmp_path, render_program):
    plan = render_program(program(tmp_path, "{" + IMAGE + ", 'overrides': {'dashboard': False, 'sweeper_schedule': None, "
                                            "'enable_apis': False, 'firestore_backup_retention': None}}"),
                          {"gcp:project": "p-123456"})
    assert plan.of_type("gcp:monitoring/dashboard:Dashboard") == []
    assert plan.of_type("gcp:cloudscheduler/job:Job") == []  # no sweeper, and no batch without `batch`
    assert plan.of_type("gcp:projects/service:Service") == []
    assert plan.of_type("gcp:firestore/backupSchedule:BackupSchedule") == []
    assert plan.of_type("gcp:storage/bucket:Bucket") == []  # a user image: no source bucket; no batch bucket
    assert len(plan.of_type("gcp:cloudtasks/queue:Queue")) == 2


def test_jobs_api_alone_builds_its_own_source_and_guards_its_args(tmp_path, render_program):
    (tmp_path / "__main__.py").write_text(
        "from skyrelay.components.gcp import JobsApi\n"
        "JobsApi('edge', {'location': 'us-central1', 'api_keys': ['free:web'], 'router_config': '{}'})\n")
    plan = render_program(tmp_path, {"gcp:project": "p-123456"})
    service = plan.one("gcp:cloudrunv2/service:Service")
    assert service.inputs["buildConfig"]["sourceLocation"].startswith("gs://")
    assert service.inputs["template"]["serviceAccount"] == "edge-api@p-123456.iam.gserviceaccount.com"
    assert plan.one("gcp:artifactregistry/repository:Repository").inputs["location"] == "us-central1"
    grants = {(g.inputs["role"], g.inputs["member"]) for g in plan.of_type("gcp:projects/iAMMember:IAMMember")}
    assert grants == {("roles/logging.logWriter", "serviceAccount:edge-build@p-123456.iam.gserviceaccount.com")}
    assert plan.one("gcp:apigateway/gateway:Gateway").inputs["region"] == "us-central1"
    for args, key in (("{'timeout_seconds': 3601}", "JobsApi.timeout_seconds"),
                      ("{'api_keys': ['gold:x']}", "JobsApi.api_keys"),
                      ("{'jwt_issuer': 'https://i'}", "JobsApi.jwt_jwks_uri")):
        (tmp_path / "__main__.py").write_text(f"from skyrelay.components.gcp import JobsApi\nJobsApi('edge', {args})\n")
        with pytest.raises(ConfigError) as err:
            render_program(tmp_path, {"gcp:project": "p-123456"})
        assert err.value.key == key


def test_provider_secrets_are_references_with_a_placeholder_version(tmp_path, render_program):
    plan = render_program(program(tmp_path, "{" + IMAGE + ", 'provider_secrets': ['openai']}"), {"gcp:project": "p-123456"})
    secrets = {s.inputs["secretId"] for s in plan.of_type("gcp:secretmanager/secret:Secret")}
    assert secrets == {"j-webhook-secret", "j-provider-openai"}
    versions = {v.name: v for v in plan.of_type("gcp:secretmanager/secretVersion:SecretVersion")}
    assert versions["j-provider-openai"].request.ignoreChanges == ["secretData", "enabled"]
    worker = plan.one("gcp:cloudrunv2/service:Service")
    assert versions["j-provider-openai"].urn in worker.dependencies
    env = {e["name"]: e for e in worker.inputs["template"]["containers"][0]["envs"]}
    assert env["SKYRELAY_PROVIDER_OPENAI_SECRET"] == {"name": "SKYRELAY_PROVIDER_OPENAI_SECRET", "valueSource": {
        "secretKeyRef": {"secret": "j-provider-openai", "version": "latest"}}}
    readers = [r for r in plan.of_type("gcp:secretmanager/secretIamMember:SecretIamMember")
               if r.inputs["secretId"].endswith("/j-provider-openai")]
    assert sorted(r.inputs["member"].split("@")[0] for r in readers) == ["serviceAccount:j-api-sa", "serviceAccount:j-worker"]  # ids of 6+ chars
