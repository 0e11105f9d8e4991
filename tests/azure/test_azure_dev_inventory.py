"""The azure-dev stack as `skyrelay plan` renders it: every Azure default (components/azure/defaults.py,
research/azure-gcp.md) asserted on the inventory, the products' rate-limit and quota against the tier
table, and the lock rule end to end (queue lock, host.json in the zip, the app's host settings)."""

import json
import math
import re
import zipfile

import pytest

from skyrelay import deployment as contract
from skyrelay.config import load_stack_config


@pytest.fixture(scope="module")
def plan():
    from skyrelay.plan import render_stack

    return render_stack("azure-dev")[0]


@pytest.fixture(scope="module")
def config(project_root):
    return load_stack_config(project_root / "stacks" / "Pulumi.azure-dev.yaml")


def one(plan, token):
    found = plan.of_type(f"azure-native:{token}")
    assert len(found) == 1, (token, [r.name for r in found])
    return found[0]


def app_settings(plan) -> dict:
    app = one(plan, "web:WebApp")
    return {s["name"]: s["value"] for s in app.inputs["siteConfig"]["appSettings"]}


def test_service_bus_namespace_is_standard_with_local_auth_off_and_tls_12(plan):
    ns = one(plan, "servicebus:Namespace")
    assert ns.inputs["sku"] == {"name": "Standard", "tier": "Standard"}
    assert ns.inputs["disableLocalAuth"] is True and ns.inputs["minimumTlsVersion"] == "1.2"
    assert ns.inputs["publicNetworkAccess"] == "Enabled"


def test_queues_dead_letter_with_the_shared_delivery_count_ttl_and_the_lock_rule(plan, config):
    queues = {q.inputs["queueName"]: q for q in plan.of_type("azure-native:servicebus:Queue")}
    assert sorted(queues) == ["jobs-batch", "jobs-interactive"]
    lock = contract.servicebus_lock(config.azure.worker_timeout_seconds, config.azure.lock_duration_seconds)
    for q in queues.values():
        assert q.inputs["maxDeliveryCount"] == config.azure.max_receive_count == 5
        assert q.inputs["deadLetteringOnMessageExpiration"] is True
        assert q.inputs["defaultMessageTimeToLive"] == "P14D"
        assert q.inputs["lockDuration"] == "PT1M" and lock["lock_duration_s"] == 60
    settings = app_settings(plan)
    assert settings[contract.queue_name("interactive")] == "jobs-interactive"
    assert settings[contract.MAX_RECEIVE_COUNT] == "5"
    renewal = settings["AzureFunctionsJobHost__extensions__serviceBus__maxAutoLockRenewalDuration"]
    assert renewal == contract.hms(lock["max_auto_lock_renewal_s"]) == "00:03:00"  # 120 s run + 60 s lock
    assert settings["AzureFunctionsJobHost__functionTimeout"] == "00:03:00"


def test_the_deployed_zip_carries_host_json_from_the_same_rule_and_the_entry_module(plan):
    blob = one(plan, "storage:Blob")
    path = blob.inputs["source"]["path"]
    with zipfile.ZipFile(path) as zf:
        host = json.loads(zf.read("host.json"))
        entry = zf.read("function_app.py").decode()
        names = set(zf.namelist())
    assert host == contract.host_json(120, 16, 60)
    assert host["extensions"]["serviceBus"]["maxAutoLockRenewalDuration"] == "00:03:00"
    assert "skyrelay.runtime.platforms.azure_functions.function_app import app" in entry
    assert "azure/functions/__init__.py" in names
    assert "azure/cosmos/__init__.py" not in names  # Cosmos DB through its REST API (runtime/clouds/azure/cosmos.py)
    # bytecode beside the sources (Flex's read-only mount writes none); the entry module stays a source
    assert "skyrelay/runtime/jobs/__pycache__/worker.cpython-311.pyc" in names and "function_app.py" in names
    assert not any(n.startswith(("pulumi/", "skyrelay/plan/", "skyrelay/cli/", "botocore/")) for n in names)


def test_cosmos_is_serverless_keyless_continuous_30_days_tls_12_and_the_container_is_the_contract_spec(plan):
    account = one(plan, "cosmosdb:DatabaseAccount")
    i = account.inputs
    assert i["capabilities"] == [{"name": "EnableServerless"}]
    assert i["disableLocalAuth"] is True and i["disableKeyBasedMetadataWriteAccess"] is True
    assert i["backupPolicy"] == {"type": "Continuous", "continuousModeProperties": {"tier": "Continuous30Days"}}
    assert i["minimalTlsVersion"] == "Tls12"
    container = one(plan, "cosmosdb:SqlResourceSqlContainer").inputs["resource"]
    spec = contract.COSMOS_CONTAINER_SPEC
    assert container["id"] == "jobs" and container["partitionKey"] == spec["partitionKey"]
    assert container["defaultTtl"] == -1
    assert container["indexingPolicy"] == spec["indexingPolicy"]
    role = one(plan, "cosmosdb:SqlResourceSqlRoleAssignment").inputs
    assert role["roleDefinitionId"].endswith("/sqlRoleDefinitions/00000000-0000-0000-0000-000000000002")
    assert role["scope"] == account.inputs.get("id", role["scope"]) and role["scope"].endswith("/databaseAccounts/jobs-cosmos")
    settings = app_settings(plan)
    assert settings[contract.COSMOS_ENDPOINT] == "https://jobs-cosmos.documents.azure.com:443/"
    assert settings[contract.COSMOS_CONTAINER] == "jobs" and settings[contract.COSMOS_DATABASE] == "skyrelay"


def test_function_app_is_flex_with_identity_https_tls_no_ftp_no_basic_auth_and_no_rejected_properties(plan, config):
    plan_sku = one(plan, "web:AppServicePlan").inputs
    assert plan_sku["sku"] == {"name": "FC1", "tier": "FlexConsumption"} and plan_sku["reserved"] is True
    app = one(plan, "web:WebApp").inputs
    assert app["kind"] == "functionapp,linux" and app["httpsOnly"] is True
    assert app["identity"]["type"] == "UserAssigned" and len(app["identity"]["userAssignedIdentities"]) == 1
    site = app["siteConfig"]
    assert site["minTlsVersion"] == "1.2" and site["scmMinTlsVersion"] == "1.2" and site["ftpsState"] == "Disabled"
    for rejected in ("alwaysOn", "netFrameworkVersion", "functionAppScaleLimit"):
        assert rejected not in site  # Flex rejects them (pulumi-azure-native#4168, #3411)
    settings = app_settings(plan)
    assert not {"FUNCTIONS_WORKER_RUNTIME", "FUNCTIONS_EXTENSION_VERSION"} & set(settings)
    fac = app["functionAppConfig"]
    assert fac["runtime"] == {"name": "python", "version": "3.11"}
    storage = fac["deployment"]["storage"]
    assert storage["type"] == "blobContainer" and storage["value"].endswith("/app-package")
    assert storage["authentication"]["type"] == "UserAssignedIdentity"
    scale = fac["scaleAndConcurrency"]
    little = math.ceil(config.azure.model_quota_rpm / 60 * config.azure.job_seconds_p50)
    assert scale["maximumInstanceCount"] == min(1000, max(40, math.ceil(little / 16)))
    assert scale["alwaysReady"] == [{"name": "http", "instanceCount": 1}, {"name": "function:interactive", "instanceCount": 1}]
    for token in ("web:WebAppFtpAllowed", "web:WebAppScmAllowed"):
        assert one(plan, token).inputs["allow"] is False
    assert settings["ServiceBusConnection__credential"] == "managedidentity"
    assert settings["ServiceBusConnection__fullyQualifiedNamespace"] == settings[contract.SERVICEBUS_NAMESPACE]
    assert settings["AzureWebJobsStorage__credential"] == "managedidentity"


def test_storage_has_shared_keys_off_tls_12_no_public_blobs(plan):
    s = one(plan, "storage:StorageAccount").inputs
    assert s["allowSharedKeyAccess"] is False and s["minimumTlsVersion"] == "TLS1_2"
    assert s["allowBlobPublicAccess"] is False and s["enableHttpsTrafficOnly"] is True
    assert re.fullmatch(r"[a-z0-9]{3,24}", s["accountName"])
    for c in plan.of_type("azure-native:storage:BlobContainer"):
        assert c.inputs["publicAccess"] == "None"


def test_key_vault_is_rbac_with_purge_protection_and_settings_hold_references_only(plan):
    v = one(plan, "keyvault:Vault").inputs["properties"]
    assert v["enableRbacAuthorization"] is True and v["enablePurgeProtection"] is True
    assert v["softDeleteRetentionInDays"] == 90
    settings = app_settings(plan)
    assert settings[contract.WEBHOOK_SECRET].startswith("@Microsoft.KeyVault(SecretUri=https://")
    assert settings[contract.CONFIG_JSON].endswith("/secrets/router-config)")
    for s in plan.of_type("azure-native:keyvault:Secret"):
        assert s.inputs["properties"]["value"] == "[secret]"  # never in the plan


def test_roles_are_scoped_to_one_resource_each(plan):
    wanted = {"4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0": "/namespaces/", "69a216fc-b8fb-44d8-bc22-1f3c2cd27a39": "/namespaces/",
              "4633458b-17de-408a-b874-0445c86b69e6": "/vaults/", "b7e6dc6d-f1e8-4753-8033-0f276bb0955b": "/storageAccounts/",
              "5e0bd9bd-7b93-4f28-af87-19fc36ad61bd": "/accounts/"}
    found = {}
    for r in plan.of_type("azure-native:authorization:RoleAssignment"):
        role = r.inputs["roleDefinitionId"].rsplit("/", 1)[1]
        found[role] = r.inputs["scope"]
        assert "/providers/" in r.inputs["scope"]  # never a whole resource group
    for role, part in wanted.items():
        assert part in found[role], (role, found.get(role))
    storage_role = next(r for r in plan.of_type("azure-native:authorization:RoleAssignment")
                        if r.inputs["roleDefinitionId"].endswith("b7e6dc6d-f1e8-4753-8033-0f276bb0955b"))
    assert storage_role.urn in one(plan, "web:WebApp").dependencies  # the app reads its package with it


def test_logs_insights_alerts_and_the_dashboard(plan, config):
    ws = one(plan, "operationalinsights:Workspace").inputs
    assert ws["retentionInDays"] == config.azure.log_retention_days
    ai = one(plan, "applicationinsights:Component").inputs
    assert ai["ingestionMode"] == "LogAnalytics" and ai["disableLocalAuth"] is True and "workspaceResourceId" in ai
    group = one(plan, "monitor:ActionGroup")
    assert [r["emailAddress"] for r in group.inputs["emailReceivers"]] == list(config.budget.emails)
    alerts = {a.name: a.inputs for a in plan.of_type("azure-native:monitor:MetricAlert")}
    metrics = {c["metricName"]: c for a in alerts.values() for c in a["criteria"]["allOf"]}
    assert set(metrics) == {"DeadletteredMessages", "ActiveMessages", "requests/failed", "TotalRequests"}
    assert metrics["DeadletteredMessages"]["threshold"] == 0 and metrics["DeadletteredMessages"]["operator"] == "GreaterThan"
    assert metrics["TotalRequests"]["dimensions"] == [{"name": "StatusCode", "operator": "Include", "values": ["429"]}]
    assert all(a["actions"] == [{"actionGroupId": group.inputs.get("id", a["actions"][0]["actionGroupId"])}] for a in alerts.values())
    budget = one(plan, "consumption:Budget").inputs
    assert all(n["contactGroups"] == [alerts[next(iter(alerts))]["actions"][0]["actionGroupId"]]
               for n in budget["notifications"].values())
    dash = one(plan, "portal:Dashboard").inputs
    titles = [next(i["value"] for i in p["metadata"]["inputs"] if i["name"] == "PartTitle")
              for p in dash["properties"]["lenses"][0]["parts"]]
    for review in ("Tokens per request", "Cost per tenant (USD)", "Cache hit rate", "Latency p50 / p99 (ms)",
                   "Batch vs on-demand jobs", "Batch cost and savings (USD)", "Failed jobs"):
        assert review in titles
    queries = [next(i["value"] for i in p["metadata"]["inputs"] if i["name"] == "Query")
               for p in dash["properties"]["lenses"][0]["parts"]]
    lines = "AppTraces | where Message startswith '{\"_aws\":' | extend m = parse_json(Message)"
    assert sum(q.startswith(lines) for q in queries) == 7  # the runtime's metric lines (tests/azure_runtime)


def test_apim_products_rate_limit_and_quota_equal_the_tier_table(plan, config):
    service = one(plan, "apimanagement:ApiManagementService").inputs
    assert service["sku"] == {"name": "Consumption", "capacity": 0}
    assert not {"developerPortalStatus", "legacyPortalStatus", "natGatewayState"} & set(service)  # SDK defaults, unset
    assert "customProperties" not in service  # Consumption rejects them (and has TLS 1.0/1.1 off)
    policies = {p.inputs["productId"]: p.inputs["value"] for p in plan.of_type("azure-native:apimanagement:ProductPolicy")}
    table = config.tier_table()
    assert sorted(policies) == sorted(t.value for t in table)
    for name, tier in table.items():
        xml = policies[name.value]
        assert f'<rate-limit calls="{tier.rpm}" renewal-period="60" />' in xml
        assert f'<quota calls="{tier.monthly_request_quota}" renewal-period="2592000" />' in xml
    subs = plan.of_type("azure-native:apimanagement:Subscription")
    assert sorted(s.inputs["sid"] for s in subs) == sorted(t.value for t in table)
    assert all(s.inputs["allowTracing"] is False and "/products/" in s.inputs["scope"] for s in subs)


def test_api_operations_require_a_subscription_and_reach_the_function_with_its_key(plan):
    api = one(plan, "apimanagement:Api").inputs
    assert api["subscriptionRequired"] is True and api["protocols"] == ["https"] and api["path"] == "v1"
    ops = sorted((o.inputs["method"], "/v1" + o.inputs["urlTemplate"]) for o in plan.of_type("azure-native:apimanagement:ApiOperation"))
    assert ops == [("DELETE", "/v1/jobs/{id}"), ("GET", "/v1/jobs"), ("GET", "/v1/jobs/{id}"), ("POST", "/v1/chat/completions"),
                   ("POST", "/v1/jobs")]
    policy = one(plan, "apimanagement:ApiPolicy").inputs["value"]
    assert '<set-header name="x-functions-key" exists-action="override"><value>{{skyrelay-function-key}}</value>' in policy
    assert 'code="413"' in policy and "&gt; 1048576" in policy
    assert one(plan, "apimanagement:NamedValue").inputs["secret"] is True


def test_batch_container_expiry_and_the_global_batch_deployment(plan):
    containers = {c.inputs["containerName"] for c in plan.of_type("azure-native:storage:BlobContainer")}
    assert containers == {"app-package", "batch"}
    rule = one(plan, "storage:ManagementPolicy").inputs["policy"]["rules"][0]
    assert rule["definition"]["actions"]["baseBlob"]["delete"]["daysAfterModificationGreaterThan"] == 8
    assert app_settings(plan)[contract.BATCH_BUCKET].endswith(".blob.core.windows.net/batch")
    skus = sorted(d.inputs["sku"]["name"] for d in plan.of_type("azure-native:cognitiveservices:Deployment"))
    assert skus == ["GlobalBatch", "GlobalStandard"]
    assert one(plan, "cognitiveservices:Account").inputs["properties"]["disableLocalAuth"] is True


def test_every_resource_is_tagged_and_the_plan_has_no_mandatory_violation(plan):
    from skyrelay.plan.policy import evaluate
    from skyrelay.tags import taggable_property

    for r in plan.resources:
        prop = taggable_property(r.type)
        if prop and r.custom:
            assert r.inputs.get(prop, {}).get("cost-center") == "cc-ai-1234", r.name
    violations = evaluate(plan)
    assert [v for v in violations if v.level == "mandatory"] == []
    assert violations == []  # nor advisory: the rules that read app settings read only theirs (no unknowns)
