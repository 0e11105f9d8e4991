"""gcp-dev as rendered: Firestore, Secret Manager, schedules, the batch bucket, alerts, dashboard and
enabled services, every default asserted."""

import json

from skyrelay import deployment as contract
from tests.gcp.conftest import named

WORKER_BASE = "https://jobs-worker-123456789012.europe-west1.run.app"
TASKS_SA = "jobs-tasks@skyrelay-dev.iam.gserviceaccount.com"


def test_firestore_native_with_pitr_delete_protection_and_abandon(gcp_plan):
    db = gcp_plan.one("gcp:firestore/database:Database")
    assert db.inputs == {
        "name": "jobs-jobs", "project": "skyrelay-dev", "locationId": "europe-west1", "type": "FIRESTORE_NATIVE",
        "concurrencyMode": "OPTIMISTIC", "pointInTimeRecoveryEnablement": "POINT_IN_TIME_RECOVERY_ENABLED",
        "deleteProtectionState": "DELETE_PROTECTION_ENABLED", "deletionPolicy": "ABANDON",
    }


def test_ttl_policy_on_the_expiry_field_exempt_from_indexing(gcp_plan):
    fields = {f.inputs["field"]: f.inputs for f in gcp_plan.of_type("gcp:firestore/field:Field")}
    ttl = fields.pop(contract.FIRESTORE_TTL_FIELD)
    assert ttl["collection"] == "jobs" and ttl["database"] == "jobs-jobs"
    assert ttl["ttlConfig"] == {} and ttl["indexConfig"] == {"indexes": []}
    # body and the limiter's state: exempt from indexing, no TTL
    assert fields == {f: {"collection": "jobs", "database": "jobs-jobs", "field": f, "indexConfig": {"indexes": []},
                          "project": "skyrelay-dev"} for f in ("body", "state")}


def test_composite_indexes_for_the_store_queries_and_a_daily_backup(gcp_plan):
    indexes = {i.name: i.inputs for i in gcp_plan.of_type("gcp:firestore/index:Index")}

    def fields(*pairs):
        return [{"fieldPath": f, "order": o} for f, o in pairs]

    assert indexes == {
        "jobs-index-tenant-created-at-id": {**indexes["jobs-index-tenant-created-at-id"], "fields": fields(
            ("type", "ASCENDING"), ("tenant", "ASCENDING"), ("created_at", "DESCENDING"), ("id", "DESCENDING"))},
        "jobs-index-tenant-status-created-at-id": {**indexes["jobs-index-tenant-status-created-at-id"], "fields": fields(
            ("type", "ASCENDING"), ("tenant", "ASCENDING"), ("status", "ASCENDING"), ("created_at", "DESCENDING"),
            ("id", "DESCENDING"))},
        "jobs-index-status-updated-at-id": {**indexes["jobs-index-status-updated-at-id"], "fields": fields(
            ("type", "ASCENDING"), ("status", "ASCENDING"), ("updated_at", "ASCENDING"), ("id", "ASCENDING"))},
    }
    assert {i["queryScope"] for i in indexes.values()} == {"COLLECTION"}
    assert {i["collection"] for i in indexes.values()} == {"jobs"}
    backup = gcp_plan.one("gcp:firestore/backupSchedule:BackupSchedule")
    assert backup.inputs["retention"] == "604800s" and backup.inputs["dailyRecurrence"] == {}


def test_secrets_with_per_secret_accessors(gcp_plan):
    secret = gcp_plan.one("gcp:secretmanager/secret:Secret")
    assert secret.inputs["secretId"] == "jobs-webhook-secret"
    assert secret.inputs["replication"] == {"auto": {}} and secret.inputs["deletionProtection"] is True
    version = gcp_plan.one("gcp:secretmanager/secretVersion:SecretVersion")
    assert version.request.ignoreChanges == ["secretData"]
    readers = gcp_plan.of_type("gcp:secretmanager/secretIamMember:SecretIamMember")
    assert sorted(r.inputs["member"].split("@")[0] for r in readers) == ["serviceAccount:jobs-api", "serviceAccount:jobs-worker"]
    assert {r.inputs["role"] for r in readers} == {"roles/secretmanager.secretAccessor"}
    assert {r.inputs["secretId"] for r in readers} == {"projects/skyrelay-dev/secrets/jobs-webhook-secret"}


def test_scheduler_ticks_sweep_and_batch_with_oidc(gcp_plan):
    jobs = {j.name: j.inputs for j in gcp_plan.of_type("gcp:cloudscheduler/job:Job")}
    assert jobs["jobs-sweep"]["schedule"] == "* * * * *" and jobs["jobs-batch"]["schedule"] == "*/5 * * * *"
    for key, path in (("jobs-sweep", "/sweep"), ("jobs-batch", "/batch")):
        target = jobs[key]["httpTarget"]
        assert target["uri"] == WORKER_BASE + path and target["httpMethod"] == "POST"
        assert target["oidcToken"] == {"serviceAccountEmail": TASKS_SA, "audience": WORKER_BASE}
        assert jobs[key]["retryConfig"] == {"retryCount": 0} and jobs[key]["timeZone"] == "Etc/UTC"


def test_batch_bucket_uniform_private_and_expiring(gcp_plan):
    bucket = named(gcp_plan, "gcp:storage/bucket:Bucket", "jobs-batch")
    assert bucket.inputs["uniformBucketLevelAccess"] is True
    assert bucket.inputs["publicAccessPrevention"] == "enforced"
    assert bucket.inputs["lifecycleRules"] == [{"action": {"type": "Delete"}, "condition": {"age": 8}}]
    grants = [g for g in gcp_plan.of_type("gcp:storage/bucketIAMMember:BucketIAMMember") if g.inputs["bucket"] == "jobs-batch"]
    assert sorted((g.inputs["member"], g.inputs["role"]) for g in grants) == [
        ("serviceAccount:jobs-worker@skyrelay-dev.iam.gserviceaccount.com", "roles/storage.objectAdmin"),
        ("serviceAccount:service-123456789012@gcp-sa-aiplatform.iam.gserviceaccount.com", "roles/storage.objectCreator"),
        ("serviceAccount:service-123456789012@gcp-sa-aiplatform.iam.gserviceaccount.com", "roles/storage.objectViewer"),
    ]
    agent = gcp_plan.one("gcp:projects/serviceIdentity:ServiceIdentity")
    assert agent.inputs["service"] == "aiplatform.googleapis.com"
    source = named(gcp_plan, "gcp:storage/bucket:Bucket", "jobs-source")
    assert source.inputs["publicAccessPrevention"] == "enforced" and source.inputs["uniformBucketLevelAccess"] is True


def test_alert_policies_notify_the_cost_guard_channel(gcp_plan):
    channel = gcp_plan.one("gcp:monitoring/notificationChannel:NotificationChannel")
    policies = {p.name: p.inputs for p in gcp_plan.of_type("gcp:monitoring/alertPolicy:AlertPolicy")}
    jobs = {k: v for k, v in policies.items() if k.startswith("jobs-")}
    assert sorted(jobs) == ["jobs-jobs-failed", "jobs-queue-backlog", "jobs-run-5xx", "jobs-worker-latency"]
    for p in jobs.values():
        assert p["notificationChannels"] == [f"projects/skyrelay-dev/notificationChannels/{channel.name}"]
    failed = jobs["jobs-jobs-failed"]["conditions"][0]["conditionThreshold"]
    assert 'metric.type="logging.googleapis.com/user/jobs_jobs_failed"' in failed["filter"]
    assert failed["comparison"] == "COMPARISON_GE" and failed["thresholdValue"] == 1
    backlog = [c["conditionThreshold"] for c in jobs["jobs-queue-backlog"]["conditions"]]
    assert "cloudtasks.googleapis.com/queue/depth" in backlog[0]["filter"] and backlog[0]["thresholdValue"] == 100
    assert "task_attempt_delays" in backlog[1]["filter"] and backlog[1]["thresholdValue"] == 600 * 1000
    five = jobs["jobs-run-5xx"]["conditions"][0]["conditionThreshold"]
    assert 'response_code_class="5xx"' in five["filter"]
    assert 'service_name="jobs-worker"' in five["filter"] and 'service_name="api-api"' in five["filter"]
    latency = jobs["jobs-worker-latency"]["conditions"][0]["conditionThreshold"]
    assert latency["aggregations"][0]["perSeriesAligner"] == "ALIGN_PERCENTILE_99" and latency["thresholdValue"] == 60000


def test_log_based_metrics_read_the_runtime_metric_lines(gcp_plan):
    metrics = {m.inputs["name"]: m.inputs for m in gcp_plan.of_type("gcp:logging/metric:Metric")}
    assert set(metrics) == {f"jobs_{k}" for k in [*contract.GCP_METRIC_FIELDS, "jobs_failed"]}
    for suffix, field in contract.GCP_METRIC_FIELDS.items():
        m = metrics[f"jobs_{suffix}"]
        assert m["valueExtractor"] == f"EXTRACT(jsonPayload.{field})"
        assert 'jsonPayload._aws.CloudWatchMetrics.Namespace="skyrelay"' in m["filter"]
        assert m["metricDescriptor"]["valueType"] == "DISTRIBUTION" and m["labelExtractors"] == {
            "tenant": "EXTRACT(jsonPayload.Tenant)", "mode": "EXTRACT(jsonPayload.Mode)"}
    assert 'jsonPayload.Status="FAILED"' in metrics["jobs_jobs_failed"]["filter"]


def test_dashboard_has_the_weekly_review(gcp_plan):
    doc = json.loads(gcp_plan.one("gcp:monitoring/dashboard:Dashboard").inputs["dashboardJson"])
    tiles = {t["widget"]["title"]: t["widget"]["xyChart"]["dataSets"] for t in doc["mosaicLayout"]["tiles"]}
    assert set(tiles) == {"Tokens per request", "Cost per tenant (USD per hour)", "Cache hit rate",
                          "Latency p50 / p99 (ms)", "Batch vs on-demand jobs (per hour)"}
    queries = {k: [d["timeSeriesQuery"]["prometheusQuery"] for d in v] for k, v in tiles.items()}
    assert "sum by (tenant)" in queries["Cost per tenant (USD per hour)"][0]
    assert "user_jobs_cost_usd_sum" in queries["Cost per tenant (USD per hour)"][0]
    assert [q.split(",")[0] for q in queries["Latency p50 / p99 (ms)"]] == ["histogram_quantile(0.5", "histogram_quantile(0.99"]
    assert "sum by (mode)" in queries["Batch vs on-demand jobs (per hour)"][0]


# The API each resource type needs: the resource must depend on that projects/service.
NEEDS = {
    "gcp:cloudtasks/queue:Queue": "cloudtasks.googleapis.com",
    "gcp:cloudrunv2/service:Service": "run.googleapis.com",
    "gcp:firestore/database:Database": "firestore.googleapis.com",
    "gcp:secretmanager/secret:Secret": "secretmanager.googleapis.com",
    "gcp:serviceaccount/account:Account": "iam.googleapis.com",
    "gcp:storage/bucket:Bucket": "storage.googleapis.com",
    "gcp:artifactregistry/repository:Repository": "artifactregistry.googleapis.com",
    "gcp:cloudscheduler/job:Job": "cloudscheduler.googleapis.com",
    "gcp:logging/metric:Metric": "logging.googleapis.com",
    "gcp:monitoring/alertPolicy:AlertPolicy": "monitoring.googleapis.com",
    "gcp:monitoring/dashboard:Dashboard": "monitoring.googleapis.com",
    "gcp:apigateway/api:Api": "apigateway.googleapis.com",
    "gcp:projects/apiKey:ApiKey": "apikeys.googleapis.com",
}


def test_every_resource_waits_for_its_api(gcp_plan):
    services = gcp_plan.of_type("gcp:projects/service:Service")
    assert all(s.inputs["disableOnDestroy"] is False for s in services)
    checked = 0
    for r in gcp_plan.resources:
        api = NEEDS.get(r.type)
        if api is None or "Budget" in r.type:
            continue
        wanted = {s.urn for s in services if s.inputs["service"] == api and s.parent == r.parent}
        if r.parent and "CostGuard" in r.parent:
            continue  # the cost guard enables its own three (tests/components)
        assert wanted and wanted & set(r.dependencies), f"{r.urn} does not wait for {api}"
        checked += 1
    assert checked >= 25


def test_project_grants_are_the_few_without_a_narrower_binding(gcp_plan):
    grants = sorted((g.inputs["member"].split(":")[1].split("@")[0], g.inputs["role"])
                    for g in gcp_plan.of_type("gcp:projects/iAMMember:IAMMember"))
    roles = ["roles/aiplatform.user", "roles/datastore.user", "roles/logging.logWriter", "roles/monitoring.metricWriter"]
    assert grants == sorted([*((who, r) for who in ("jobs-api", "jobs-worker") for r in roles),
                             ("jobs-build", "roles/logging.logWriter")])
    assert not [g for g in grants if g[1] in ("roles/owner", "roles/editor") or g[1].endswith(".admin")]
