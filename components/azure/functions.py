"""The Function App of AsyncJobs on Flex Consumption (FC1), the shape of
Azure-Samples/functions-e2e-sb-vnet:

- a user-assigned identity runs everything: the triggers' identity-based Service Bus connection
  (`ServiceBusConnection__*`), the host storage (`AzureWebJobsStorage__*`), the deployment storage,
  Cosmos, Key Vault references and App Insights ingestion;
- one storage account (shared keys off, TLS 1.2, no public blobs) holds the host's state and the
  deployment container the zip is uploaded to;
- HTTPS only, TLS 1.2 on the site and SCM, FTP off, basic publishing credentials off (FTP and SCM);
- `functionAppConfig`: the Python version, the instance size, `maximumInstanceCount` from the shared
  sizing rule and `alwaysReady` as the warm-pool knob. Flex rejects `siteConfig.alwaysOn`,
  `netFrameworkVersion`, `functionAppScaleLimit` and the FUNCTIONS_WORKER_RUNTIME /
  FUNCTIONS_EXTENSION_VERSION settings (pulumi-azure-native#4168, #3411, #3551): none is set.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_azure_native as azure_native

from skyrelay import deployment as contract
from skyrelay.components.azure.naming import compact
from skyrelay.errors import ConfigError

FLEX_MIN_INSTANCES, FLEX_MAX_INSTANCES = 40, 1000  # Flex's bounds on maximumInstanceCount (per function group)
INSTANCE_MEMORY_MB = (512, 2048, 4096)
DEPLOYMENT_CONTAINER = "app-package"
PACKAGE_BLOB = "released-package.zip"
FLEX_REJECTED_DEFAULTS = ("net_framework_version", "local_my_sql_enabled")
HOST_SETTING = "AzureFunctionsJobHost__"  # app settings override host.json: the plan and the policy see them


@dataclass
class FunctionApp:
    storage: azure_native.storage.StorageAccount
    deployment_container: azure_native.storage.BlobContainer
    package: azure_native.storage.Blob
    plan: azure_native.web.AppServicePlan
    app: azure_native.web.WebApp
    ftp_off: azure_native.web.WebAppFtpAllowed
    scm_off: azure_native.web.WebAppScmAllowed
    blob_endpoint: pulumi.Output[str]
    storage_roles: list[pulumi.Resource]


def maximum_instances(jobs_in_flight: int, max_concurrent_calls: int) -> int:
    """The shared sizing rule on Flex: instances = jobs in flight / messages per instance, within
    Flex's 40..1000 (below 40 the cap cannot bind; the runtime's shared limiter holds the tiers)."""
    return min(FLEX_MAX_INSTANCES, max(FLEX_MIN_INSTANCES, math.ceil(jobs_in_flight / max_concurrent_calls)))


def always_ready(count: int) -> list[azure_native.web.FunctionsAlwaysReadyConfigArgs]:
    """`count` warm instances for the HTTP group (the API) and the interactive Service Bus function
    (the first message after idle otherwise waits for a scale-from-zero, azure-functions-host#10706)."""
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise ConfigError("AsyncJobs.always_ready", f"must be a whole number >= 0, got {count!r}")
    if not count:
        return []
    return [azure_native.web.FunctionsAlwaysReadyConfigArgs(name=group, instance_count=count)
            for group in ("http", "function:interactive")]


def host_settings(lock: dict, max_concurrent_calls: int) -> dict[str, str]:
    """The lock rule's host.json values as app settings too (they win over host.json, and the stack
    policy reads them off the plan)."""
    return {
        f"{HOST_SETTING}functionTimeout": contract.hms(lock["function_timeout_s"]),
        f"{HOST_SETTING}extensions__serviceBus__maxAutoLockRenewalDuration": contract.hms(lock["max_auto_lock_renewal_s"]),
        f"{HOST_SETTING}extensions__serviceBus__maxConcurrentCalls": str(max_concurrent_calls),
    }


def function_app(owner: pulumi.Resource, name: str, resource_group: pulumi.Input[str], location: str,
                 settings: dict[str, Any], identity: azure_native.managedidentity.UserAssignedIdentity,
                 code_path: str, app_settings: dict[str, pulumi.Input[str]], max_instances: int,
                 depends_on: list[pulumi.Resource],
                 storage_roles: Callable[[azure_native.storage.StorageAccount], list[pulumi.Resource]] = lambda s: [],
                 ) -> FunctionApp:
    """The app and its storage. `storage_roles(account)` grants the identity its data roles on the new
    account; the app waits for them (it reads its package and host state with that identity)."""
    memory = settings["functions_instance_memory_mb"]
    if memory not in INSTANCE_MEMORY_MB:
        raise ConfigError("AsyncJobs.overrides.functions_instance_memory_mb",
                          f"must be one of {', '.join(map(str, INSTANCE_MEMORY_MB))}, got {memory!r}")
    child = pulumi.ResourceOptions(parent=owner)
    account = compact("st", name)
    storage = azure_native.storage.StorageAccount(
        f"{name}-storage",
        account_name=account,
        resource_group_name=resource_group,
        location=location,
        kind="StorageV2",
        sku=azure_native.storage.SkuArgs(name="Standard_LRS"),
        allow_shared_key_access=settings["storage_shared_key_access"],
        allow_blob_public_access=settings["storage_public_blob_access"],
        minimum_tls_version=settings["storage_min_tls"],
        enable_https_traffic_only=True,
        default_to_o_auth_authentication=True,
        opts=child,
    )
    roles = storage_roles(storage)
    blob_endpoint = pulumi.Output.from_input(f"https://{account}.blob.core.windows.net/")  # the account is named here
    container = azure_native.storage.BlobContainer(
        f"{name}-deployment",
        account_name=storage.name,
        resource_group_name=resource_group,
        container_name=DEPLOYMENT_CONTAINER,
        public_access="None",
        opts=child,
    )
    package = azure_native.storage.Blob(
        f"{name}-package",
        account_name=storage.name,
        container_name=container.name,
        resource_group_name=resource_group,
        blob_name=PACKAGE_BLOB,
        type="Block",
        content_type="application/zip",
        source=pulumi.FileAsset(code_path),
        opts=child,
    )
    plan = azure_native.web.AppServicePlan(
        f"{name}-plan",
        resource_group_name=resource_group,
        location=location,
        kind="functionapp",
        reserved=True,  # Linux
        sku=azure_native.web.SkuDescriptionArgs(name="FC1", tier="FlexConsumption"),
        opts=child,
    )
    client_id = identity.client_id
    host_storage = {
        "AzureWebJobsStorage__accountName": account,
        "AzureWebJobsStorage__credential": "managedidentity",
        "AzureWebJobsStorage__clientId": client_id,
    }
    all_settings = {**host_storage, **app_settings}
    site_config = azure_native.web.SiteConfigArgs(
        min_tls_version=settings["functions_min_tls"],
        scm_min_tls_version=settings["functions_min_tls"],
        ftps_state=settings["functions_ftps_state"],
        http20_enabled=True,
        app_settings=[azure_native.web.NameValuePairArgs(name=k, value=v) for k, v in sorted(all_settings.items())],
    )
    # The SDK fills `netFrameworkVersion: v4.6` (and localMySqlEnabled) in by default; Flex rejects the
    # first (pulumi-azure-native#3411), so both are taken out again: unset, they are not sent.
    for default in FLEX_REJECTED_DEFAULTS:
        setattr(site_config, default, None)
    app = azure_native.web.WebApp(
        f"{name}-functions",
        resource_group_name=resource_group,
        location=location,
        kind="functionapp,linux",
        server_farm_id=plan.id,
        https_only=settings["functions_https_only"],
        identity=azure_native.web.ManagedServiceIdentityArgs(
            type="UserAssigned", user_assigned_identities=[identity.id]),
        key_vault_reference_identity=identity.id,  # Key Vault references resolve with this identity
        site_config=site_config,
        function_app_config=azure_native.web.FunctionAppConfigArgs(
            deployment=azure_native.web.FunctionsDeploymentArgs(
                storage=azure_native.web.FunctionsDeploymentStorageArgs(
                    type="blobContainer",
                    value=pulumi.Output.concat(blob_endpoint, DEPLOYMENT_CONTAINER),
                    authentication=azure_native.web.FunctionsDeploymentStorageAuthenticationArgs(
                        type="UserAssignedIdentity", user_assigned_identity_resource_id=identity.id),
                ),
            ),
            runtime=azure_native.web.FunctionsRuntimeArgs(name="python", version=settings["functions_python"]),
            scale_and_concurrency=azure_native.web.FunctionsScaleAndConcurrencyArgs(
                instance_memory_mb=memory,
                maximum_instance_count=max_instances,
                always_ready=always_ready(settings["functions_always_ready"]) or None,
            ),
        ),
        opts=pulumi.ResourceOptions(parent=owner, depends_on=[*depends_on, package, *roles]),
    )
    basic = not settings["functions_basic_auth"]
    ftp_off = azure_native.web.WebAppFtpAllowed(
        f"{name}-ftp-basic-auth", name=app.name, resource_group_name=resource_group, allow=not basic, opts=child)
    scm_off = azure_native.web.WebAppScmAllowed(
        f"{name}-scm-basic-auth", name=app.name, resource_group_name=resource_group, allow=not basic, opts=child)
    return FunctionApp(storage, container, package, plan, app, ftp_off, scm_off, blob_endpoint, roles)
