"""Secure, production defaults for the Azure components (one table per component).

Each entry says why. Overriding an entry marked secure logs a warning naming it.
"""

from skyrelay.components.async_jobs import SHARED_DEFAULTS
from skyrelay.components.defaults import Default

# The built-in policy definition "Require a tag on resources" (Deny effect, Indexed mode).
REQUIRE_TAG_POLICY_ID = "/providers/Microsoft.Authorization/policyDefinitions/871b6d14-10aa-478d-b590-94f262ecfa99"

COST_GUARD: dict[str, Default] = {
    "budget_time_grain": Default("Monthly", "budgets reset with the bill"),
    "forecast_notification": Default(True, "warn before the money is spent, not after"),
    "anomaly_alert": Default(
        True, "daily Cost Management anomaly alert (InsightAlert) for the subscription; Azure's only anomaly signal"
    ),
    "anomaly_alert_years": Default(1, "lifetime of the anomaly alert schedule; the portal's default"),
    "require_tag_policies": Default(
        True, "one 'Require a tag on resources' assignment per required tag on the resource group", secure=True
    ),
    "policy_enforcement_mode": Default(
        "Default", "the tag policies deny untagged resources ('DoNotEnforce' only audits)", secure=True
    ),
}

# AsyncJobs: Service Bus (namespace, interactive + batch queues), Cosmos DB (account, database, jobs
# container), the Function App on Flex Consumption with its identity and deployment storage, Key Vault,
# Log Analytics + Application Insights, alerts and the dashboard. Sizes that depend on the deployment
# (worker timeout, model quota) are args; these are the rules around them. Anchors: Azure Verified
# Modules and Azure-Samples/functions-e2e-sb-vnet (research/azure-gcp.md).
ASYNC_JOBS: dict[str, Default] = {
    **SHARED_DEFAULTS,
    # ---- Service Bus ----
    "servicebus_sku": Default("Standard", "Standard: queues, dead-lettering, scheduled messages; Premium for isolation "
                              "and private endpoints (a knob: `Premium`)"),
    "servicebus_premium_capacity": Default(1, "messaging units when the SKU is Premium"),
    "servicebus_local_auth": Default(False, "SAS keys off: only Entra ID identities reach the namespace (AVM)", secure=True),
    "servicebus_min_tls": Default("1.2", "minimum TLS 1.2 on the namespace (AVM)", secure=True),
    "servicebus_public_network_access": Default("Enabled", "Flex Consumption without a VNet reaches the namespace over its "
                                                "public endpoint; `Disabled` needs private endpoints (a knob)"),
    "queue_lock_seconds": Default(60, "PT1M message lock (AVM); the host renews it up to maxAutoLockRenewalDuration, "
                                  "computed from the worker timeout (deployment.servicebus_lock)"),
    "queue_ttl": Default("P14D", "messages live 14 days (AVM), then are dead-lettered"),
    "queue_dead_letter_on_expiration": Default(True, "expired messages go to the DLQ, not away (AVM)", secure=True),
    "queue_max_size_mb": Default(1024, "queue size limit (AVM); a full queue answers sends with 503 (back-pressure)"),
    # ---- Cosmos DB ----
    "cosmos_serverless": Default(True, "serverless: pay per request, nothing at idle (a knob: provisioned autoscale)"),
    "cosmos_local_auth": Default(False, "account keys off: data-plane RBAC for the function identity only (AVM)",
                                 secure=True),
    "cosmos_key_based_metadata_writes": Default(False, "keys cannot change databases or containers (AVM)", secure=True),
    "cosmos_backup_tier": Default("Continuous30Days", "continuous backup, 30-day point-in-time restore (AVM)", secure=True),
    "cosmos_min_tls": Default("Tls12", "minimum TLS 1.2 (AVM: the only value)", secure=True),
    "cosmos_public_network_access": Default("Enabled", "as the namespace: public endpoint, identity-only access; "
                                            "`Disabled` needs private endpoints"),
    "cosmos_consistency": Default("Session", "read-your-writes per client, the store's ETag writes need no more (AVM)"),
    "cosmos_database": Default("skyrelay", "the database name"),
    "cosmos_container": Default("jobs", "jobs, idempotency keys and limiter counters (deployment.COSMOS_CONTAINER_SPEC)"),
    # ---- Function App (Flex Consumption) ----
    "functions_python": Default("3.11", "the Python of the Functions zip's wheels (the packaging Target's)"),
    "functions_instance_memory_mb": Default(2048, "Flex instance size (the samples' size; 512, 2048 or 4096)"),
    "functions_max_concurrent_calls": Default(16, "Service Bus messages per instance at once (host.json)"),
    "functions_always_ready": Default(0, "always-ready instances per trigger group (http, and the Service Bus "
                                      "function group): 0 scales from zero (~2 min first message, "
                                      "azure-functions-host#10706); 1 keeps one warm, billed"),
    "functions_https_only": Default(True, "HTTP is redirected to HTTPS", secure=True),
    "functions_min_tls": Default("1.2", "minimum TLS 1.2 on the site and SCM", secure=True),
    "functions_ftps_state": Default("Disabled", "no FTP/FTPS deployment", secure=True),
    "functions_basic_auth": Default(False, "basic publishing credentials off for FTP and SCM", secure=True),
    "storage_shared_key_access": Default(False, "storage accounts take identities only, no account keys (samples)",
                                         secure=True),
    "storage_min_tls": Default("TLS1_2", "minimum TLS 1.2 on storage", secure=True),
    "storage_public_blob_access": Default(False, "no anonymous blob access", secure=True),
    # ---- Key Vault ----
    "key_vault_rbac": Default(True, "Azure RBAC on the vault (no access policies): Secrets User for the identity",
                              secure=True),
    "key_vault_purge_protection": Default(True, "a deleted vault or secret cannot be purged before retention ends",
                                          secure=True),
    "key_vault_soft_delete_days": Default(90, "soft-delete retention (the maximum)", secure=True),
    "key_vault_sku": Default("standard", "software-protected keys; `premium` for HSM"),
    # ---- Observability ----
    "app_insights_local_auth": Default(False, "telemetry ingestion with Entra ID only (samples)", secure=True),
    "alarm_active_messages": Default(1000, "alert when a queue holds this many active messages"),
    "alarm_function_errors": Default(1, "alert on any failed function execution in 5 minutes"),
    "alarm_cosmos_throttled": Default(1, "alert on any Cosmos request throttled (429) in 5 minutes"),
    # ---- batch inference (`batch: True`, docs/batch.md) ----
    "batch_container": Default("batch", "the blob container of the batcher's JSONL (inputs, outputs, results)"),
    "batch_object_expiry_days": Default(8, "batch blobs expire a day after the job records (lifecycle rule)"),
}

# JobsApi: API Management in front of the API function, one Product per tier.
API: dict[str, Default] = {
    "sku": Default("Consumption", "pay per call, no idle cost; rate-limit and quota per subscription work on every SKU"),
    "sku_capacity": Default(0, "units (0 for Consumption; at least 1 on the others)"),
    "subscription_required": Default(True, "every operation requires a subscription key (one per tenant)", secure=True),
    "backend_auth": Default("function_key", "APIM calls the API function with its host key from a secret named value; "
                            "`managed_identity` sends an Entra token instead; never anonymous", secure=True),
    "max_body_bytes": Default(1048576, "request bodies over 1 MiB are refused at the edge (413); the API enforces the "
                              "same limit", secure=True),
    "min_tls": Default("1.2", "TLS 1.0/1.1 and SSL 3.0 off on the gateway and to backends (custom properties on the "
                       "SKUs that take them; Consumption has them off and rejects the properties)", secure=True),
    "rate_limit_period_s": Default(60, "rate-limit renewal period: the tier's RPM per minute"),
    "quota_period_s": Default(2592000, "quota renewal period: the tier's monthly request quota per 30 days"),
    "tracing": Default(False, "no request tracing on subscriptions (bodies are customer data)", secure=True),
    "publisher_email": Default("platform@example.com", "APIM's required publisher contact (set yours)"),
    "publisher_name": Default("skyrelay", "APIM's required publisher name"),
}
