"""Every entry of the GCP defaults tables (components/gcp/defaults.py) is checked on the gcp-dev
inventory: a new default without a check here fails `test_every_default_has_a_check`."""

import json

import pytest

from skyrelay import deployment as contract
from skyrelay.components.gcp.defaults import API, ASYNC_JOBS
from tests.gcp.conftest import env_of, named

SERVICE = "gcp:cloudrunv2/service:Service"


def worker(p):
    return named(p, SERVICE, "jobs-worker")


def api(p):
    return named(p, SERVICE, "api-service")


def queues(p):
    found = p.of_type("gcp:cloudtasks/queue:Queue")
    assert len(found) == 2
    return found


def retry(p, key):
    return {q.inputs["retryConfig"][key] for q in queues(p)}


def policy_threshold(p, name, index=0):
    return named(p, "gcp:monitoring/alertPolicy:AlertPolicy", name).inputs["conditions"][index]["conditionThreshold"]


def resources(c):
    return c["template"]["containers"][0]["resources"]


def db(p):
    return p.one("gcp:firestore/database:Database").inputs


def batch_bucket(p):
    return named(p, "gcp:storage/bucket:Bucket", "jobs-batch").inputs


def schedule(p, name):
    return named(p, "gcp:cloudscheduler/job:Job", name).inputs["schedule"]


# The stack's overrides: gcp-dev sets these from skyrelay:gcp (the values equal the defaults there).
ASYNC_CHECKS = {
    "max_receive_count": lambda p, v: retry(p, "maxAttempts") == {v}
    and env_of(worker(p))[contract.MAX_RECEIVE_COUNT]["value"] == str(v),
    "job_ttl_days": lambda p, v: env_of(worker(p))[contract.JOB_TTL_SECONDS]["value"] == str(v * 86400),
    "alarm_oldest_message_seconds": lambda p, v: policy_threshold(p, "jobs-queue-backlog", 1)["thresholdValue"] == v * 1000,
    "dashboard": lambda p, v: bool(p.of_type("gcp:monitoring/dashboard:Dashboard")) == v,
    "tasks_min_backoff": lambda p, v: retry(p, "minBackoff") == {v},
    "tasks_max_backoff": lambda p, v: retry(p, "maxBackoff") == {v},
    "tasks_max_doublings": lambda p, v: retry(p, "maxDoublings") == {v},
    "tasks_max_retry_duration": lambda p, v: retry(p, "maxRetryDuration") == {v},
    "tasks_logging_sampling_ratio": lambda p, v: {q.inputs["stackdriverLoggingConfig"]["samplingRatio"]
                                                  for q in queues(p)} == {v},
    "tasks_oidc": lambda p, v: all(("oidcToken" in q.inputs["httpTarget"]) == v for q in queues(p)),
    "worker_ingress": lambda p, v: worker(p).inputs["ingress"] == v,
    "worker_concurrency": lambda p, v: worker(p).inputs["template"]["maxInstanceRequestConcurrency"] == v,
    "worker_min_instances": lambda p, v: worker(p).inputs["template"]["scaling"]["minInstanceCount"] == v,
    "worker_cpu": lambda p, v: resources(worker(p).inputs)["limits"]["cpu"] == v,
    "worker_memory": lambda p, v: resources(worker(p).inputs)["limits"]["memory"] == v,
    "worker_cpu_idle": lambda p, v: resources(worker(p).inputs)["cpuIdle"] == v,
    "worker_startup_cpu_boost": lambda p, v: resources(worker(p).inputs)["startupCpuBoost"] == v,
    "deletion_protection": lambda p, v: worker(p).inputs["deletionProtection"] == v,
    "invoker_iam_disabled": lambda p, v: worker(p).inputs["invokerIamDisabled"] == v,
    "python_base_image": lambda p, v: worker(p).inputs["buildConfig"]["baseImage"] == f"europe-west1-docker.pkg.dev/{v}",
    "artifact_keep_count": lambda p, v: {"id": "keep-newest", "action": "KEEP", "mostRecentVersions": {"keepCount": v}}
    in p.one("gcp:artifactregistry/repository:Repository").inputs["cleanupPolicies"],
    "firestore_type": lambda p, v: db(p)["type"] == v,
    "firestore_pitr": lambda p, v: (db(p)["pointInTimeRecoveryEnablement"] == "POINT_IN_TIME_RECOVERY_ENABLED") == v,
    "firestore_delete_protection": lambda p, v: (db(p)["deleteProtectionState"] == "DELETE_PROTECTION_ENABLED") == v,
    "firestore_deletion_policy": lambda p, v: db(p)["deletionPolicy"] == v,
    "firestore_concurrency_mode": lambda p, v: db(p)["concurrencyMode"] == v,
    "firestore_collection": lambda p, v: {i.inputs["collection"] for i in p.of_type("gcp:firestore/index:Index")} == {v}
    and env_of(worker(p))[contract.FIRESTORE_COLLECTION]["value"] == v,
    "firestore_backup_retention": lambda p, v: p.one("gcp:firestore/backupSchedule:BackupSchedule").inputs["retention"] == v,
    "secret_replication": lambda p, v: v == "auto" and p.one("gcp:secretmanager/secret:Secret").inputs["replication"] == {"auto": {}},
    "secret_deletion_protection": lambda p, v: p.one("gcp:secretmanager/secret:Secret").inputs["deletionProtection"] == v,
    "alarm_failed_jobs": lambda p, v: policy_threshold(p, "jobs-jobs-failed")["thresholdValue"] == v,
    "alarm_5xx_per_minute": lambda p, v: policy_threshold(p, "jobs-run-5xx")["thresholdValue"] == v,
    "alarm_latency_p99_ms": lambda p, v: policy_threshold(p, "jobs-worker-latency")["thresholdValue"] == v,
    "alarm_queue_depth": lambda p, v: policy_threshold(p, "jobs-queue-backlog")["thresholdValue"] == v,
    "sweeper_schedule": lambda p, v: schedule(p, "jobs-sweep") == v,
    "batch_schedule": lambda p, v: schedule(p, "jobs-batch") == v,
    "batch_object_expiry_days": lambda p, v: batch_bucket(p)["lifecycleRules"][0]["condition"] == {"age": v},
    "batch_bucket_uniform_access": lambda p, v: batch_bucket(p)["uniformBucketLevelAccess"] == v,
    "batch_bucket_public_access_prevention": lambda p, v: batch_bucket(p)["publicAccessPrevention"] == v,
    "batch_bucket_versioning": lambda p, v: batch_bucket(p)["versioning"] == {"enabled": v},
    "enable_apis": lambda p, v: bool(p.of_type("gcp:projects/service:Service")) == v,
}
# Shared defaults with nothing to set on GCP (components/gcp/README.md says why).
NOT_ON_GCP = {"log_retention_days", "alarm_dlq_depth"}


def openapi(p) -> dict:
    import base64

    (doc,) = p.one("gcp:apigateway/apiConfig:ApiConfig").inputs["openapiDocuments"]
    return json.loads(base64.b64decode(doc["document"]["contents"]))


API_CHECKS = {
    "api_key_required": lambda p, v: (openapi(p)["security"] == [{"api_key": []}]) == v,
    "quota_metric": lambda p, v: openapi(p)["x-google-management"]["metrics"][0]["name"] == v,
    "api_ingress": lambda p, v: api(p).inputs["ingress"] == v,
    "api_concurrency": lambda p, v: api(p).inputs["template"]["maxInstanceRequestConcurrency"] == v,
    "api_min_instances": lambda p, v: api(p).inputs["template"]["scaling"]["minInstanceCount"] == v,
    "api_max_instances": lambda p, v: api(p).inputs["template"]["scaling"]["maxInstanceCount"] == v,
    "api_cpu": lambda p, v: resources(api(p).inputs)["limits"]["cpu"] == v,
    "api_memory": lambda p, v: resources(api(p).inputs)["limits"]["memory"] == v,
    "deletion_protection": lambda p, v: api(p).inputs["deletionProtection"] == v,
    "max_body_bytes": lambda p, v: env_of(api(p))[contract.MAX_BODY_BYTES]["value"] == str(v),
    "backend_deadline_seconds": lambda p, v: openapi(p)["x-google-backend"]["deadline"] == v,
}


def test_every_default_has_a_check():
    assert set(ASYNC_CHECKS) | NOT_ON_GCP == set(ASYNC_JOBS) and not set(ASYNC_CHECKS) & NOT_ON_GCP
    assert set(API_CHECKS) == set(API)


@pytest.mark.parametrize("key", sorted(ASYNC_CHECKS))
def test_async_jobs_default_on_the_inventory(gcp_plan, key):
    assert ASYNC_CHECKS[key](gcp_plan, ASYNC_JOBS[key].value), key


@pytest.mark.parametrize("key", sorted(API_CHECKS))
def test_jobs_api_default_on_the_inventory(gcp_plan, key):
    assert API_CHECKS[key](gcp_plan, API[key].value), key
