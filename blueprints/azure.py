"""The Azure blueprint: what `pulumi up -s azure-dev` deploys.

AsyncAiApi = the resource group + CostGuard (budget, anomaly alert, tag policies; its budget also
notifies AsyncJobs' action group) + AsyncJobs (Service Bus, Cosmos DB, the Flex Function App running
the runtime, Key Vault, logs, alerts, dashboard, the batch container) + JobsApi (API Management:
tier products, one subscription per tenant) + optionally an Azure OpenAI account with an on-demand
(GlobalStandard) and a GlobalBatch deployment, called with the function identity (Entra ID).
The runtime is packaged once as the Functions zip for this stack's worker timeout (host.json).
"""

import json

import pulumi
import pulumi_azure_native as azure_native

from skyrelay import deployment as contract
from skyrelay.components.azure import AsyncJobs, CostGuard, JobsApi
from skyrelay.components.azure.api import tier_limits_from_table
from skyrelay.components.azure.naming import guid, role_definition_id
from skyrelay.config import StackConfig

OPENAI_API_VERSION = "2024-10-21"
# The documented default deployment (docs/azure.md): one small model, on demand and as a GlobalBatch
# deployment (Batch API, 50% of the on-demand price). Prices per 1,000 tokens (USD).
DEFAULT_OPENAI_MODEL = {"model": "fast", "upstream_model": "gpt-4o-mini", "version": "2024-07-18", "model_class": "small",
                        "capabilities": ["fast", "cheap"], "context_window": 128000,
                        "price": {"input": 0.00015, "output": 0.0006, "cache_read": 0.000075, "cache_write": 0.00015},
                        "output_tokens_per_s": 60}
# Readiness (docs/readiness.md): the gateway's synchronous limit the router judges max_tokens against.
GATEWAY_SYNC_LIMIT_S = 30
ON_DEMAND_CAPACITY = 10  # GlobalStandard: thousands of tokens per minute
BATCH_ENQUEUED_CAPACITY = 50  # GlobalBatch: thousands of enqueued tokens


def openai_endpoint(account: str) -> str:
    return f"https://{account}.openai.azure.com/"


def router_config_doc(config: StackConfig) -> dict:
    """The router config the Function App loads: the Azure OpenAI deployment (Entra ID with the
    function identity; no key) when the stack creates the account, one tenant per offered tier, and
    the Cosmos limiter (shared by every instance; the platform fills its container in)."""
    settings = config.azure
    deployments = []
    if settings.openai_account:
        m = DEFAULT_OPENAI_MODEL
        common = {"provider": "azure_openai", "model": m["model"], "endpoint": openai_endpoint(settings.openai_account),
                  "api_version": OPENAI_API_VERSION, "auth": "entra", "capabilities": m["capabilities"],
                  "context_window": m["context_window"], "price": m["price"],
                  "output_tokens_per_s": m["output_tokens_per_s"]}
        deployments.append({"name": f"{m['model']}-azure", "upstream_model": m["upstream_model"],
                            "model_class": m["model_class"], **common})
        if settings.batch:
            # The GlobalBatch deployment takes the model's provider batches (runtime/batch: the first
            # deployment of a model with `batch`); `dedicated` and pinned to no tenant keeps it out of
            # on-demand routing, which it cannot serve. Its enqueued-token quota caps what is queued.
            deployments.append({"name": f"{m['model']}-azure-batch", "upstream_model": f"{m['upstream_model']}-batch",
                                "model_class": "dedicated", **common,
                                "batch": {"max_enqueued_tokens": BATCH_ENQUEUED_CAPACITY * 1000}})
    doc = contract.router_config_doc(deployments, [t.value for t in config.tier_table()], {"backend": "cosmos"})
    return contract.with_readiness(doc, GATEWAY_SYNC_LIMIT_S)


def openai_parts(owner: pulumi.Resource, config: StackConfig, group: pulumi.Input[str]):
    """The Azure OpenAI account (local auth off) with its on-demand and GlobalBatch deployments."""
    settings = config.azure
    child = pulumi.ResourceOptions(parent=owner)
    account = azure_native.cognitiveservices.Account(
        "openai",
        account_name=settings.openai_account,
        resource_group_name=group,
        location=settings.location,
        kind="OpenAI",
        sku=azure_native.cognitiveservices.SkuArgs(name="S0"),
        identity=azure_native.cognitiveservices.IdentityArgs(type="SystemAssigned"),
        properties=azure_native.cognitiveservices.AccountPropertiesArgs(
            custom_sub_domain_name=settings.openai_account, disable_local_auth=True, public_network_access="Enabled"),
        opts=child,
    )
    m = DEFAULT_OPENAI_MODEL

    def model_deployment(name: str, sku: str, capacity: int, after=None):
        return azure_native.cognitiveservices.Deployment(
            f"openai-{name}",
            account_name=account.name,
            resource_group_name=group,
            deployment_name=name,
            sku=azure_native.cognitiveservices.SkuArgs(name=sku, capacity=capacity),
            properties=azure_native.cognitiveservices.DeploymentPropertiesArgs(
                model=azure_native.cognitiveservices.DeploymentModelArgs(
                    format="OpenAI", name=m["upstream_model"], version=m["version"]),
                version_upgrade_option="NoAutoUpgrade",
            ),
            # Deployments of one account are created one at a time (the service rejects concurrent ones).
            opts=pulumi.ResourceOptions(parent=owner, depends_on=[after] if after else None),
        )

    on_demand = model_deployment(m["upstream_model"], "GlobalStandard", ON_DEMAND_CAPACITY)
    batch = model_deployment(f"{m['upstream_model']}-batch", "GlobalBatch", BATCH_ENQUEUED_CAPACITY, after=on_demand)
    return account, on_demand, batch


class AsyncAiApi(pulumi.ComponentResource):
    """The whole async AI API on Azure for one stack. Children: `group`, `cost_guard`, `jobs`, `api`."""

    def __init__(self, name: str, config: StackConfig, opts: pulumi.ResourceOptions | None = None):
        super().__init__("skyrelay:azure:AsyncAiApi", name, None, opts)
        settings = config.azure
        child = pulumi.ResourceOptions(parent=self)
        tiers = config.tier_table()
        # The stack's resource group carries the tags and is the scope of the budget and the tag policies.
        self.group = azure_native.resources.ResourceGroup(
            "rg", resource_group_name=settings.resource_group, location=settings.location, opts=child)
        rg = self.group.name
        self.openai = self.openai_deployment = self.openai_batch_deployment = None
        if settings.openai_account:
            self.openai, self.openai_deployment, self.openai_batch_deployment = openai_parts(self, config, rg)
        self.router_config = json.dumps(router_config_doc(config), separators=(",", ":"), sort_keys=True)
        self.jobs = AsyncJobs(
            "jobs",
            {
                "resource_group_name": rg,
                "location": settings.location,
                "worker_timeout_seconds": settings.worker_timeout_seconds,
                "lock_duration_seconds": settings.lock_duration_seconds,
                "model_quota_rpm": settings.model_quota_rpm,
                "job_seconds_p50": settings.job_seconds_p50,
                "always_ready": settings.always_ready,
                "provider_secrets": list(settings.provider_secrets),
                "alert_emails": list(config.budget.emails),
                "router_config_in_vault": True,  # JobsApi writes it, with the subscription keys' digests
                "batch": settings.batch,
                **({"openai_principal_id": self.openai.identity.principal_id} if self.openai else {}),
                **({"subscription_id": settings.subscription_id} if settings.subscription_id else {}),
                "environment": {contract.TIERS: contract.tiers_doc(tiers),
                                contract.MAX_BODY_BYTES: str(settings.max_body_bytes)},
                "overrides": {
                    "max_receive_count": settings.max_receive_count,
                    "log_retention_days": settings.log_retention_days,
                    "servicebus_sku": settings.servicebus_sku,
                },
            },
            opts=child,
        )
        self.openai_access = None
        if self.openai is not None:
            subscription = settings.subscription_id or azure_native.authorization.get_client_config_output(
                opts=pulumi.InvokeOptions(parent=self)).subscription_id
            self.openai_access = azure_native.authorization.RoleAssignment(
                "openai-user",
                role_assignment_name=guid("openai-user"),
                scope=self.openai.id,
                role_definition_id=role_definition_id(subscription, "openai_user"),
                principal_id=self.jobs.identity.principal_id,
                principal_type="ServicePrincipal",
                opts=child,
            )
        self.api = JobsApi(
            "api",
            {
                "resource_group_name": rg,
                "location": settings.location,
                "function_app_name": self.jobs.function_app.name,
                "function_app_hostname": self.jobs.function_app_hostname,
                "sku": settings.apim_sku,
                "tiers": tier_limits_from_table(tiers),
                "router_config": self.router_config,
                "config_vault_name": self.jobs.key_vault.name,
                **({"jwt": settings.jwt.model_dump(exclude_none=True)} if settings.jwt else {}),
                "overrides": {"max_body_bytes": settings.max_body_bytes, "publisher_email": settings.publisher_email},
            },
            opts=child,
        )
        guard_args = {**contract.cost_guard_args(config), "resource_group_name": rg}
        if self.jobs.action_group_id is not None:
            guard_args["action_group_ids"] = [self.jobs.action_group_id]
        if settings.subscription_id:
            guard_args["subscription_id"] = settings.subscription_id
        self.cost_guard = CostGuard("cost", guard_args, opts=child)
        self.register_outputs({"api_url": self.api.url, "function_app": self.jobs.function_app.name})


def deploy(config: StackConfig) -> dict:
    settings = config.azure  # parse_stack_config requires the section when cloud is azure
    provider = azure_native.Provider(
        "azure-native",
        location=settings.location,
        subscription_id=settings.subscription_id,  # None: the CLI's / environment's subscription
    )
    app = AsyncAiApi("skyrelay", config, opts=pulumi.ResourceOptions(providers={"azure-native": provider}))
    jobs = app.jobs
    return {
        "resource_group_id": app.group.id,
        "budget_id": app.cost_guard.budget.id,
        "budget_scope": app.cost_guard.scope,
        "api_url": app.api.url,
        "function_app": jobs.function_app.name,
        "function_app_hostname": jobs.function_app_hostname,
        "servicebus_namespace": jobs.bus.fqdn,
        "interactive_queue": jobs.interactive_queue_name,
        "batch_queue": jobs.batch_queue_name,
        "cosmos_endpoint": jobs.store.endpoint,
        "key_vault_uri": jobs.vault.uri,
        "batch_container_url": jobs.batch_parts.url if jobs.batch_parts else None,
        "dashboard": jobs.dashboard.name if jobs.dashboard else None,
        "products": {k: v.id for k, v in app.api.products.items()},
        "openai_endpoint": openai_endpoint(settings.openai_account) if settings.openai_account else None,
    }
