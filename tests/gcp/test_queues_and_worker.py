"""gcp-dev as rendered: the Cloud Tasks queues and the Cloud Run worker, every default asserted."""

import math

from skyrelay import deployment as contract
from skyrelay.components.gcp.defaults import ASYNC_JOBS
from tests.gcp.conftest import env_of, named

QUEUE = "gcp:cloudtasks/queue:Queue"
SERVICE = "gcp:cloudrunv2/service:Service"
NUMBER = "123456789012"  # the plan's placeholder project number
WORKER_BASE = f"https://jobs-worker-{NUMBER}.europe-west1.run.app"
TASKS_SA = "jobs-tasks@skyrelay-dev.iam.gserviceaccount.com"


def test_two_queues_with_bounded_retries_from_the_shared_defaults(gcp_plan, gcp_config):
    queues = {q.name: q for q in gcp_plan.of_type(QUEUE)}
    assert sorted(queues) == ["jobs-batch", "jobs-interactive"]
    for q in queues.values():
        assert q.inputs["retryConfig"] == {
            "maxAttempts": gcp_config.gcp.max_receive_count, "minBackoff": "2s", "maxBackoff": "300s",
            "maxDoublings": 5, "maxRetryDuration": "86400s",
        }
        assert q.inputs["stackdriverLoggingConfig"] == {"samplingRatio": 1}
        assert q.inputs["location"] == "europe-west1"


def test_rate_limits_follow_littles_law_split_three_to_one(gcp_plan, gcp_config):
    g = gcp_config.gcp
    total = math.ceil(g.model_quota_rpm / 60 * g.job_seconds_p50)  # 100
    limits = {q.name: q.inputs["rateLimits"] for q in gcp_plan.of_type(QUEUE)}
    assert limits["jobs-interactive"] == {"maxConcurrentDispatches": total * 3 // 4, "maxDispatchesPerSecond": 7.5}
    assert limits["jobs-batch"] == {"maxConcurrentDispatches": total - total * 3 // 4, "maxDispatchesPerSecond": 2.5}
    worker = named(gcp_plan, SERVICE, "jobs-worker")
    assert worker.inputs["template"]["scaling"] == {
        "minInstanceCount": g.worker_min_instances, "maxInstanceCount": math.ceil(total / g.worker_concurrency)}


def test_every_task_goes_to_the_worker_with_an_oidc_token(gcp_plan):
    for q in gcp_plan.of_type(QUEUE):
        target = q.inputs["httpTarget"]
        assert target["httpMethod"] == "POST"
        assert target["uriOverride"] == {"scheme": "HTTPS", "host": WORKER_BASE.removeprefix("https://"),
                                         "pathOverride": {"path": "/tasks"}, "uriOverrideEnforceMode": "ALWAYS"}
        assert target["oidcToken"] == {"serviceAccountEmail": TASKS_SA, "audience": WORKER_BASE}


def test_worker_is_private_protected_sized_and_built_from_source(gcp_plan, gcp_config):
    w = named(gcp_plan, SERVICE, "jobs-worker")
    assert w.inputs["ingress"] == "INGRESS_TRAFFIC_INTERNAL_ONLY"
    assert w.inputs["deletionProtection"] is True and w.inputs["invokerIamDisabled"] is False
    t = w.inputs["template"]
    assert t["timeout"] == f"{gcp_config.gcp.worker_timeout_seconds}s"
    assert t["maxInstanceRequestConcurrency"] == gcp_config.gcp.worker_concurrency
    assert t["serviceAccount"] == "jobs-worker@skyrelay-dev.iam.gserviceaccount.com"
    (c,) = t["containers"]
    assert c["commands"] + c["args"] == ["python", "-m", "skyrelay.runtime.platforms.cloud_run", "--role", "worker"]
    assert c["ports"] == {"containerPort": 8080}
    assert c["resources"] == {"limits": {"cpu": "1", "memory": "1Gi"}, "cpuIdle": True, "startupCpuBoost": True}
    base = "europe-west1-docker.pkg.dev/serverless-runtimes/google-22/runtimes/python312"
    image = "europe-west1-docker.pkg.dev/skyrelay-dev/jobs-runtime/runtime"
    assert c["baseImageUri"] == base and c["image"] == image
    build = w.inputs["buildConfig"]
    assert build["baseImage"] == base and build["imageUri"] == image
    assert build["sourceLocation"].startswith("gs://") and build["sourceLocation"].endswith(".zip")
    assert build["serviceAccount"] == "projects/skyrelay-dev/serviceAccounts/jobs-build@skyrelay-dev.iam.gserviceaccount.com"
    assert build["environmentVariables"] == {
        "GOOGLE_ENTRYPOINT": "python -m skyrelay.runtime.platforms.cloud_run --role worker"}


def test_the_worker_environment_is_the_contract(gcp_plan, gcp_config):
    env = env_of(named(gcp_plan, SERVICE, "jobs-worker"))
    value = {k: e.get("value") for k, e in env.items()}
    timeout = gcp_config.gcp.worker_timeout_seconds
    assert value[contract.DISPATCH_DEADLINE_SECONDS] == str(contract.dispatch_deadline(timeout)) == str(timeout + 30)
    assert value[contract.WORKER_URL] == WORKER_BASE + "/tasks"
    assert value[contract.OIDC_AUDIENCE] == WORKER_BASE
    assert value[contract.TASKS_SERVICE_ACCOUNT] == TASKS_SA
    assert value[contract.tasks_queue("interactive")] == "projects/skyrelay-dev/locations/europe-west1/queues/jobs-interactive"
    assert value[contract.tasks_queue("batch")] == "projects/skyrelay-dev/locations/europe-west1/queues/jobs-batch"
    assert value[contract.GCP_PROJECT] == "skyrelay-dev" and value[contract.GCP_LOCATION] == "europe-west1"
    assert value[contract.FIRESTORE_DATABASE] == "jobs-jobs"
    assert value[contract.FIRESTORE_COLLECTION] == ASYNC_JOBS["firestore_collection"].value
    assert value[contract.TTL_ATTRIBUTE] == contract.FIRESTORE_TTL_FIELD
    assert value[contract.JOB_TTL_SECONDS] == str(7 * 86400)
    assert value[contract.MAX_RECEIVE_COUNT] == str(gcp_config.gcp.max_receive_count)
    assert value[contract.BATCH_BUCKET] == "jobs-batch"
    assert contract.CONFIG_JSON in value and contract.TIERS in value
    # The secret is a reference to its latest version, never a value.
    hook = env[contract.WEBHOOK_SECRET]
    assert "value" not in hook
    assert hook["valueSource"] == {"secretKeyRef": {"secret": "jobs-webhook-secret", "version": "latest"}}


def test_only_the_tasks_account_may_invoke_the_worker(gcp_plan):
    grants = [g for g in gcp_plan.of_type("gcp:cloudrunv2/serviceIamMember:ServiceIamMember")
              if g.inputs["name"] == "jobs-worker"]
    assert [(g.inputs["role"], g.inputs["member"]) for g in grants] == [("roles/run.invoker", f"serviceAccount:{TASKS_SA}")]
    for g in gcp_plan.of_type("gcp:cloudrunv2/serviceIamMember:ServiceIamMember"):
        assert g.inputs["member"] not in ("allUsers", "allAuthenticatedUsers")


def test_enqueuers_are_per_queue_and_act_as_is_on_the_tasks_account_only(gcp_plan):
    enq = gcp_plan.of_type("gcp:cloudtasks/queueIamMember:QueueIamMember")
    assert sorted((e.inputs["name"], e.inputs["member"].split("@")[0]) for e in enq) == [
        ("jobs-batch", "serviceAccount:jobs-api"), ("jobs-batch", "serviceAccount:jobs-worker"),
        ("jobs-interactive", "serviceAccount:jobs-api"), ("jobs-interactive", "serviceAccount:jobs-worker")]
    assert {e.inputs["role"] for e in enq} == {"roles/cloudtasks.enqueuer"}
    act_as = [m for m in gcp_plan.of_type("gcp:serviceaccount/iAMMember:IAMMember")
              if m.inputs["serviceAccountId"].endswith("jobs-tasks@skyrelay-dev.iam.gserviceaccount.com")]
    assert sorted(m.inputs["member"].split("@")[0] for m in act_as) == ["serviceAccount:jobs-api", "serviceAccount:jobs-worker"]


def test_image_repository_keeps_the_newest_and_deletes_the_old(gcp_plan):
    repo = gcp_plan.one("gcp:artifactregistry/repository:Repository")
    assert repo.inputs["format"] == "DOCKER" and repo.inputs["repositoryId"] == "jobs-runtime"
    assert repo.inputs["cleanupPolicyDryRun"] is False
    assert sorted(repo.inputs["cleanupPolicies"], key=lambda p: p["id"]) == [
        {"id": "delete-old", "action": "DELETE", "condition": {"olderThan": "2592000s", "tagState": "ANY"}},
        {"id": "keep-newest", "action": "KEEP", "mostRecentVersions": {"keepCount": 10}},
    ]
    writer = gcp_plan.one("gcp:artifactregistry/repositoryIamMember:RepositoryIamMember")
    assert writer.inputs["role"] == "roles/artifactregistry.writer"
    assert writer.inputs["member"] == "serviceAccount:jobs-build@skyrelay-dev.iam.gserviceaccount.com"
