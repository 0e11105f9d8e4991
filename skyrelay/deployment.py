"""The deployment contract between the components that deploy the runtime and the runtime itself.

A component writes a function's environment; the runtime (`runtime/platforms/bootstrap.py`) reads it
back at start-up. Both sides import the names from here, so neither writes a SKYRELAY_* literal, and
each setting travels once:
- the blueprint renders the router config (deployments, models, tenants, limiter) into CONFIG_JSON;
- the component that owns a resource names it (the job table, the queues, the secrets) and says what
  it decided about it (max receive count, record TTL and its attribute, the body limit);
- the effective tier table travels as TIERS, read by the runtime's limiter and the policy pack.

Only the standard library: the Lambda zip ships this module, and the runtime imports it cold.
"""

import json
from collections.abc import Iterable, Mapping

PREFIX = "SKYRELAY_"

# ---- the router config ----
CONFIG_JSON = "SKYRELAY_CONFIG_JSON"  # the router config as JSON; wins over CONFIG_FILE
CONFIG_FILE = "SKYRELAY_CONFIG"  # else a router config file, relative to the code root
TIERS = "SKYRELAY_TIERS"  # {tier: {rpm, tpm, ...}}: the tier table with the stack's overrides applied
MAX_BODY_BYTES = "SKYRELAY_MAX_BODY_BYTES"  # the edge's body limit; the API enforces the same
BASE_PATH = "SKYRELAY_BASE_PATH"  # a path prefix the gateway adds (API Gateway stage mappings)

# ---- jobs: what the component that owns the store and the queues decided ----
JOBS_TABLE = "SKYRELAY_JOBS_TABLE"
JOB_TTL_SECONDS = "SKYRELAY_JOB_TTL_SECONDS"
TTL_ATTRIBUTE = "SKYRELAY_TTL_ATTRIBUTE"  # the store attribute the table's TTL deletes on
MAX_RECEIVE_COUNT = "SKYRELAY_MAX_RECEIVE_COUNT"  # deliveries before dead-lettering = the worker's attempts
PRIORITIES = ("interactive", "batch")

# ---- batch work (runtime/batch): the bucket of its JSONL and the provider's batch service role ----
BATCH_BUCKET = "SKYRELAY_BATCH_BUCKET"  # AWS: the S3 bucket (Azure: a container, GCP: a GCS bucket)
BATCH_ROLE_ARN = "SKYRELAY_BATCH_ROLE_ARN"  # AWS: the role Bedrock assumes to read the input and write the output

# ---- secrets: the environment holds references; values live in the process only ----
WEBHOOK_SECRET = "SKYRELAY_WEBHOOK_SECRET"  # the value, once resolved (every tenant's signing secret)
SECRET_REF_SUFFIX = "_ARN"  # AWS: <value name>_ARN holds the Secrets Manager ARN

# ---- emulators in tests only ----
AWS_ENDPOINT_URL = "SKYRELAY_AWS_ENDPOINT_URL"
AWS_CLIENT = "SKYRELAY_AWS_CLIENT"  # "botocore" forces botocore (benchmark comparison)

# ---- events a schedule sends a worker function ----
SWEEP_EVENT = {"skyrelay": "sweep"}  # re-enqueue PENDING jobs that lost their message
BATCH_EVENT = {"skyrelay": "batch"}  # one batcher tick: form, submit and poll provider batch jobs


def queue_url(priority: str) -> str:
    return f"SKYRELAY_QUEUE_{_upper(priority)}_URL"


def dlq_url(priority: str) -> str:
    return f"SKYRELAY_DLQ_{_upper(priority)}_URL"


def provider_secret(name: str) -> str:
    """The variable a provider's API key is in once resolved (a deployment's `api_key_env`)."""
    return f"SKYRELAY_PROVIDER_{_upper(name)}_SECRET"


def secret_ref(value_name: str) -> str:
    """The variable holding the reference to the secret whose value goes into `value_name`."""
    return value_name + SECRET_REF_SUFFIX


def is_secret_ref(name: str) -> bool:
    """WEBHOOK_SECRET's and every provider secret's reference variable."""
    if not name.endswith(SECRET_REF_SUFFIX):
        return False
    value = name[: -len(SECRET_REF_SUFFIX)]
    return value == WEBHOOK_SECRET or (value.startswith("SKYRELAY_PROVIDER_") and value.endswith("_SECRET"))


def is_sweep(event) -> bool:
    return isinstance(event, dict) and event.get("skyrelay") == SWEEP_EVENT["skyrelay"] and "Records" not in event


def is_batch_tick(event) -> bool:
    return isinstance(event, dict) and event.get("skyrelay") == BATCH_EVENT["skyrelay"] and "Records" not in event


def _upper(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name).upper()


# ---- documents ----
def tiers_doc(table: Mapping) -> str:
    """TIERS: `{tier: {field: value}}` from a {TierName: Tier} table (pydantic models or dicts)."""
    doc = {}
    for name, tier in table.items():
        values = tier.model_dump(mode="json", exclude={"name"}) if hasattr(tier, "model_dump") else dict(tier)
        doc[str(getattr(name, "value", name))] = values
    return json.dumps(doc, sort_keys=True)


def tiers_from_doc(text: str) -> dict[str, dict]:
    """TIERS back into the router config's `tier_overrides` (every field; `custom` is a table note)."""
    doc = json.loads(text)
    return {tier: {k: v for k, v in values.items() if k != "custom"} for tier, values in doc.items()}


def router_config_doc(deployments: Iterable[Mapping], tiers: Iterable[str], limiter: Mapping) -> dict:
    """The router config a blueprint renders for its runtime: the deployments (in priority order per
    logical model), one tenant per offered tier (named after it) and the limiter every instance
    shares. Tier numbers are not in it (TIERS carries them), nor secrets, nor what a component
    decides about the job store and queues (its own variables carry those)."""
    deployments = [dict(d) for d in deployments]
    models: dict[str, list[str]] = {}
    for d in deployments:
        models.setdefault(d["model"], []).append(d["name"])
    return {
        "deployments": deployments,
        "models": {m: {"strategy": "priority", "deployments": names} for m, names in models.items()},
        "tenants": [{"name": str(t), "tier": str(t)} for t in tiers],
        "limiter": dict(limiter),
    }


def cost_guard_args(config) -> dict:
    """The CostGuard arguments every cloud's blueprint passes, from the stack config's `budget` and
    `tags` (a skyrelay.config.StackConfig). A blueprint adds only what its cloud's CostGuard takes
    besides (scope, billing account, currency, the anomaly threshold, labels)."""
    budget = config.budget
    return {
        "budget_amount": budget.amount,
        "cost_center": config.tags.cost_center,
        "alert_emails": list(budget.emails),
        "alert_thresholds": list(budget.alert_thresholds),
        "forecast_threshold": budget.forecast_threshold,
    }


# ==== Azure (issue 11): what components/azure writes into the Function App's app settings ====
# The job store and the shared limiter: one Cosmos DB (NoSQL) container, reached with the function's
# user-assigned managed identity (AZURE_CLIENT_ID) through the account's data-plane RBAC.
COSMOS_ENDPOINT = "SKYRELAY_COSMOS_ENDPOINT"  # https://<account>.documents.azure.com:443/
COSMOS_DATABASE = "SKYRELAY_COSMOS_DATABASE"
COSMOS_CONTAINER = "SKYRELAY_COSMOS_CONTAINER"  # jobs, idempotency keys and limiter counters (see COSMOS_CONTAINER_SPEC)
AZURE_CLIENT_ID = "SKYRELAY_AZURE_CLIENT_ID"  # the user-assigned identity's client id (Cosmos, Service Bus)
# The queues: one Service Bus queue per priority; the triggers' connection is the host's identity-based
# `ServiceBusConnection__*` settings, the runtime's (sends, settlement by lock token) this namespace.
SERVICEBUS_NAMESPACE = "SKYRELAY_SERVICEBUS_NAMESPACE"  # <namespace>.servicebus.windows.net
SERVICEBUS_CONNECTION_SETTING = "ServiceBusConnection"  # the triggers' `connection`: <this>__fullyQualifiedNamespace, ...
# Emulators in tests only (production has local auth disabled on both services):
COSMOS_EMULATOR_KEY = "SKYRELAY_COSMOS_EMULATOR_KEY"  # key auth and no TLS verification (self-signed peer)
SERVICEBUS_EMULATOR_CONNECTION = "SKYRELAY_SERVICEBUS_EMULATOR_CONNECTION"  # ...;UseDevelopmentEmulator=true

SERVICEBUS_MAX_LOCK_S = 300  # the longest message lock Service Bus grants (PT5M)
SERVICEBUS_DEFAULT_LOCK_S = 60  # PT1M, the Azure Verified Modules' queue default

# The one container the Cosmos store and limiter use. Every document's id is its partition key: a job
# is read by id alone (the worker knows nothing else), and an idempotency key or a tenant's limiter
# counters are documents of their own (`type` tells them apart). Listing a tenant's jobs and the
# sweeper's stale query are cross-partition queries served by the composite indexes below; nothing
# else is indexed (prompts and results stay out of the index). `defaultTtl: -1` turns TTL on without a
# default, so each document's own `ttl` (seconds after its last write) expires it; the runtime still
# filters expired documents itself, as TTL deletion is lazy.
COSMOS_CONTAINER_SPEC = {
    "partitionKey": {"paths": ["/id"], "kind": "Hash", "version": 2},
    "defaultTtl": -1,
    "indexingPolicy": {
        "indexingMode": "consistent",
        "automatic": True,
        "includedPaths": [{"path": f"/{p}/?"} for p in
                          ("type", "tenant", "status", "created_at", "updated_at", "expires_at")],
        "excludedPaths": [{"path": "/*"}],
        "compositeIndexes": [
            # GET /v1/jobs: a tenant's jobs newest first, (created_at, id) keyset pages
            [{"path": "/created_at", "order": "descending"}, {"path": "/id", "order": "descending"}],
            # the sweeper: jobs in one status, oldest update first
            [{"path": "/status", "order": "ascending"}, {"path": "/updated_at", "order": "ascending"}],
        ],
    },
}


def queue_name(priority: str) -> str:
    """Azure: the Service Bus queue of a priority (the trigger binds it as %SKYRELAY_QUEUE_<P>_NAME%)."""
    return f"SKYRELAY_QUEUE_{_upper(priority)}_NAME"


def servicebus_lock(worker_timeout_s: float, lock_duration_s: float = SERVICEBUS_DEFAULT_LOCK_S) -> dict:
    """The Service Bus form of the visibility rule: how long a message stays locked while a worker
    runs its job, computed from the worker timeout (the longest a job's run may take), never guessed.

    The queue's lock is at most 5 minutes; the Functions host renews it while the function runs, up
    to host.json's `maxAutoLockRenewalDuration`. That must cover the whole run plus one lock period
    (the settle and the webhook after the result), or a long call is redelivered mid-run
    (azure-functions-host#1026). `functionTimeout` gets the same bound: a run the host cuts short
    would be redelivered anyway. Returns seconds: lock_duration_s, max_auto_lock_renewal_s,
    function_timeout_s. ValueError names the bad argument."""
    if not worker_timeout_s > 0:
        raise ValueError(f"worker_timeout_s must be > 0, got {worker_timeout_s!r}")
    if not 5 <= lock_duration_s <= SERVICEBUS_MAX_LOCK_S:
        raise ValueError(f"lock_duration_s must be 5..{SERVICEBUS_MAX_LOCK_S} s (Service Bus), got {lock_duration_s!r}")
    lock = int(lock_duration_s)
    renewal = int(-(-worker_timeout_s // 1)) + lock
    return {"lock_duration_s": lock, "max_auto_lock_renewal_s": renewal, "function_timeout_s": renewal}


def hms(seconds: float) -> str:
    """A host.json / ISO-less TimeSpan: hh:mm:ss."""
    s = int(seconds)
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def host_json(worker_timeout_s: float, max_concurrent_calls: int,
              lock_duration_s: float = SERVICEBUS_DEFAULT_LOCK_S) -> dict:
    """The Function App's host.json for the Service Bus triggers (runtime/platforms/azure_functions/
    host.json is this with the runtime's defaults; a component renders its own from the stack's worker
    timeout). The API is served at its own paths (`routePrefix: ""`: /v1/jobs, not /api/v1/jobs).
    `autoCompleteMessages` stays on: the host completes the message when the function
    returns and abandons it when the function raises; the runtime dead-letters (with a reason) and
    schedules delayed retries itself (runtime/queues/servicebus.py)."""
    if max_concurrent_calls < 1:
        raise ValueError(f"max_concurrent_calls must be >= 1, got {max_concurrent_calls!r}")
    lock = servicebus_lock(worker_timeout_s, lock_duration_s)
    return {
        "version": "2.0",
        "functionTimeout": hms(lock["function_timeout_s"]),
        "extensionBundle": {"id": "Microsoft.Azure.Functions.ExtensionBundle", "version": "[4.*, 5.0.0)"},
        "extensions": {"http": {"routePrefix": ""}, "serviceBus": {
            "autoCompleteMessages": True,
            "maxAutoLockRenewalDuration": hms(lock["max_auto_lock_renewal_s"]),
            "maxConcurrentCalls": max_concurrent_calls,
            "prefetchCount": 0,
        }},
        "logging": {"logLevel": {"default": "Information"}},
    }


# ==== GCP (issue 12): what components/gcp writes into the Cloud Run services' environment ====
# The job store and the shared limiter: one Firestore (Native) database; a collection of jobs (and
# idempotency keys, limiter counters as documents of their own), reached with the service's own
# service account (metadata-server credentials through google-auth).
GCP_PROJECT = "SKYRELAY_GCP_PROJECT"
GCP_LOCATION = "SKYRELAY_GCP_LOCATION"  # the region of the Tasks queues and the Cloud Run services
FIRESTORE_DATABASE = "SKYRELAY_FIRESTORE_DATABASE"  # the database id ("(default)" or a named one)
FIRESTORE_COLLECTION = "SKYRELAY_FIRESTORE_COLLECTION"
FIRESTORE_TTL_FIELD = "expires_at"  # a timestamp field; the database's TTL policy deletes on it
# The queues: one Cloud Tasks queue per priority (tasks_queue()); each task is an HTTP push to the
# worker service's WORKER_URL with an OIDC token minted for TASKS_SERVICE_ACCOUNT, audience OIDC_AUDIENCE.
WORKER_URL = "SKYRELAY_WORKER_URL"  # https://<worker>.run.app/tasks: what every task targets
TASKS_SERVICE_ACCOUNT = "SKYRELAY_TASKS_SERVICE_ACCOUNT"  # the enqueuer's email: signs pushes, the worker checks it
OIDC_AUDIENCE = "SKYRELAY_OIDC_AUDIENCE"  # the audience the worker requires on every push (its own URL)
DISPATCH_DEADLINE_SECONDS = "SKYRELAY_DISPATCH_DEADLINE_SECONDS"  # set on each task (the queue has no default)
# Emulators in tests only:
TASKS_ENDPOINT = "SKYRELAY_TASKS_ENDPOINT"  # host:port of a Cloud Tasks REST peer on loopback
OIDC_CERTS_URL = "SKYRELAY_OIDC_CERTS_URL"  # the peer's signing keys, instead of Google's certs
# FIRESTORE_EMULATOR_HOST is the client library's own variable for the Firestore emulator.

CLOUD_TASKS_MAX_DEADLINE_S = 1800  # the longest dispatch deadline Cloud Tasks accepts (30 minutes)
CLOUD_TASKS_MIN_DEADLINE_S = 15


def tasks_queue(priority: str) -> str:
    """GCP: the Cloud Tasks queue of a priority, as its full name projects/<p>/locations/<l>/queues/<q>."""
    return f"SKYRELAY_TASKS_{_upper(priority)}_QUEUE"


def dispatch_deadline(worker_timeout_s: float) -> int:
    """The Cloud Tasks form of the visibility rule: a push must stay open for the whole run plus the
    settle, or the task is retried while the worker still runs it. Seconds; ValueError when the worker
    timeout cannot fit Cloud Tasks' 30-minute ceiling."""
    if not worker_timeout_s > 0:
        raise ValueError(f"worker_timeout_s must be > 0, got {worker_timeout_s!r}")
    deadline = max(CLOUD_TASKS_MIN_DEADLINE_S, int(-(-worker_timeout_s // 1)) + 30)
    if deadline > CLOUD_TASKS_MAX_DEADLINE_S:
        raise ValueError(f"worker_timeout_s {worker_timeout_s!r} needs a dispatch deadline of {deadline} s; "
                         f"Cloud Tasks allows at most {CLOUD_TASKS_MAX_DEADLINE_S} s (30 minutes)")
    return deadline


# ==== Azure (issue 11, components): what the lock rule was computed from ====
# The worker timeout the Function App's lock renewal and function timeout were derived from
# (servicebus_lock); the policy pack's stack rule checks the queues' lock and the host settings against it.
WORKER_TIMEOUT_SECONDS = "SKYRELAY_WORKER_TIMEOUT_SECONDS"

# ---- GCP metrics (issue 12): the Cloud Run runtime prints one JSON line per measurement to stdout,
# the same Embedded Metric Format documents the Lambda worker prints (runtime/batch/observe.py emf():
# metric names and dimensions as top-level keys). Cloud Logging parses each line into jsonPayload and
# components/gcp turns these fields into log-based metrics for the alerts and the weekly dashboard.
GCP_METRIC_FIELDS = {  # log-based metric suffix -> the jsonPayload field it extracts
    "tokens": "Tokens", "cost_usd": "CostUsd", "cache_hits": "CacheHits", "latency_ms": "LatencyMs", "jobs": "Jobs",
}
GCP_METRIC_LABELS = {"tenant": "Tenant", "mode": "Mode"}  # label -> the jsonPayload dimension
GCP_JOB_STATUS_FIELD = "Status"  # a job's final status ("FAILED" counts in the jobs-failed alert)

# ---- model keep-alive (issue 14, docs/readiness.md) ----
KEEPALIVE_SCHEDULE = "rate(5 minutes)"  # the seed's keep-alive period (EventBridge / timer / Cloud Scheduler)
KEEPALIVE_PINGS_PER_MONTH = 30 * 24 * 12  # one ping per deployment every 5 minutes


def keepalive_event(deployments: Iterable[str]) -> dict:
    """The scheduled event that makes the worker ping these router deployments (one token each);
    the worker answers it without touching the job store or the queues."""
    return {"skyrelay": "keepalive", "deployments": sorted(deployments)}


def is_keepalive(event) -> bool:
    return isinstance(event, dict) and event.get("skyrelay") == "keepalive"

# ==== Azure runtime (issue 13): batch storage, the batcher's timer and the metric lines ====
# BATCH_BUCKET on Azure is the batch container's full URL, https://<account>.blob.core.windows.net/<container>
# (components/azure/async_jobs.py); the runtime splits it into the blob client's account URL and container
# and reaches it with the AZURE_CLIENT_ID identity (Storage Blob Data Contributor on the container).
BLOB_EMULATOR_CONNECTION = "SKYRELAY_BLOB_EMULATOR_CONNECTION"  # tests only: an Azurite connection string
# The Functions runtime logs the same Embedded Metric Format lines Lambda and Cloud Run print
# (runtime/batch/observe.py emf()) through this Python logger, at INFO; the Functions host sends them to
# Application Insights as traces, so each line is AppTraces.Message and `parse_json(Message)` reads
# its fields. components/azure/observability.py's review queries read exactly these.
AZURE_METRIC_LOGGER = "skyrelay.metrics"
AZURE_METRIC_MARKER = '{"_aws":'  # every metric line starts so (the EMF envelope); nothing else logged does
AZURE_METRIC_FIELDS = {**GCP_METRIC_FIELDS, "batch_cost_usd": "BatchCostUsd", "batch_saved_usd": "BatchSavedUsd"}
AZURE_METRIC_LABELS = GCP_METRIC_LABELS
AZURE_JOB_STATUS_FIELD = GCP_JOB_STATUS_FIELD

# ==== the router config as a file in the code (issue 14): off the 4 KB Lambda environment ====
# The AWS blueprint ships the rendered router config inside the function's zip under this name and
# sets CONFIG_FILE to it; the runtime reads it once at cold start (JSON: no YAML parser on the cold
# path). A config change so changes the code hash, which publishes a new version for the `live` alias.
ROUTER_CONFIG_FILE = "skyrelay-router.json"
# The API function's generated key digests, which the zip cannot carry (the keys exist only once
# deployed): {tenant: [sha256 hex, ...]}, a secret output merged into the loaded config's tenants
# (a tenant missing from the config is created on the tier of its name).
KEY_DIGESTS = "SKYRELAY_KEY_DIGESTS"


def add_key_digests(doc: dict, digests: Mapping[str, Iterable[str]]) -> dict:
    """`doc` (a router config document) with each tenant's key digests added (in place, returned)."""
    tenants = doc.setdefault("tenants", [])
    for name, values in digests.items():
        tenant = next((t for t in tenants if t.get("name") == name), None)
        if tenant is None:
            tenant = {"name": name, "tier": name}
            tenants.append(tenant)
        keys = tenant.setdefault("api_keys", [])
        keys.extend(v for v in values if v not in keys)
    return doc


# ==== readiness settings every blueprint's router config carries (issue 14, docs/readiness.md) ====
READINESS_FALLBACK_TEXT = "Temporarily unavailable; please retry shortly."
READINESS_DEFAULT_MAX_TOKENS = 1024


def with_readiness(doc: dict, gateway_limit_s: int) -> dict:
    """`doc` (a rendered router config) with what points 1 and 2 of the checklist need, in place:
    sync chats judged against the gateway's limit less a second for the runtime's own work (refused
    with use_async_jobs past it), and a marked fallback answer per model while all its breakers are open."""
    for model in doc["models"].values():
        model.setdefault("fallback", {"text": READINESS_FALLBACK_TEXT})
    doc.setdefault("api", {}).update({"sync_deadline_s": gateway_limit_s - 1,
                                      "default_max_tokens": READINESS_DEFAULT_MAX_TOKENS})
    return doc
