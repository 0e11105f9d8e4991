"""AsyncJobs for Azure: Service Bus queues, the Cosmos DB job store, one Function App on Flex
Consumption running the API, the queue triggers and the sweeper, Key Vault for secrets, logs, alerts
and the weekly-review dashboard. The runtime reads what this writes through the deployment
contract's Azure block (skyrelay/deployment.py); docs/azure.md has the table.

Job lifecycle as on every cloud: the API writes PENDING to Cosmos and sends a message; a trigger
claims the job (ETag write), runs it and completes it once. A message delivered
`max_receive_count` times is dead-lettered by Service Bus, and the worker marks its job FAILED on
that last delivery. The lock rule (`deployment.servicebus_lock`): queue lock, host renewal and
function timeout all derive from `worker_timeout_seconds`.
"""

from collections.abc import Sequence
from typing import Any, Required

import pulumi
import pulumi_azure_native as azure_native

from skyrelay import deployment as contract
from skyrelay.components.async_jobs import SharedArgs, check_worker_timeout, concurrency
from skyrelay.components.azure import observability
from skyrelay.components.azure.batch import batch_storage
from skyrelay.components.azure.cosmos import cosmos
from skyrelay.components.azure.defaults import ASYNC_JOBS
from skyrelay.components.azure.functions import function_app, host_settings, maximum_instances
from skyrelay.components.azure.keyvault import reference, secret_settings, vault
from skyrelay.components.azure.naming import compact
from skyrelay.components.azure.packaging import PYTHON
from skyrelay.components.azure.roles import grant, identity
from skyrelay.components.azure.servicebus import service_bus
from skyrelay.components.defaults import resolve
from skyrelay.errors import ConfigError

# A run must fit one hour with its lock period: Flex guarantees a running execution 60 minutes when
# it scales in, so a longer renewal would outlive the instance that holds the lock.
MAX_RENEWAL_S = 3600
ROUTER_CONFIG_SECRET = "router-config"  # CONFIG_JSON's Key Vault secret, when JobsApi writes it


class AsyncJobsArgs(SharedArgs, total=False):
    """AsyncJobs on Azure: the shared arguments (components/async_jobs.py) and these."""

    resource_group_name: Required[pulumi.Input[str]]
    """The resource group everything is created in. Required."""
    location: str
    """Azure region, e.g. westeurope (default: westeurope)."""
    worker_timeout_seconds: int
    """The longest a job's run may take, seconds (default 120). With the lock it sets the host's lock
    renewal and function timeout; the two together must fit 3600 s."""
    lock_duration_seconds: int
    """The queues' message lock, 5-300 s (default 60); the host renews it while a job runs."""
    code_path: str
    """Path of the Functions zip (default: built for this worker timeout, see packaging.py)."""
    always_ready: int
    """Always-ready (warm) instances for the HTTP group and the interactive queue's trigger (default 0)."""
    alert_emails: Sequence[str]
    """Addresses of the alerts' action group (default: none; with `action_group_id` unset the alerts have no action)."""
    action_group_id: pulumi.Input[str]
    """An existing action group for the alerts instead of a new one (default: a new one from `alert_emails`)."""
    router_config: pulumi.Input[str]
    """The router config JSON for CONFIG_JSON (no secrets). Default: none."""
    router_config_in_vault: bool
    """CONFIG_JSON is a Key Vault reference to the secret `router-config`, which JobsApi writes with
    its subscription keys' digests (default False: `router_config` is set as the plain value)."""
    batch: bool
    """Provider batch jobs (docs/batch.md): the batch container and its expiry (default False)."""
    openai_principal_id: pulumi.Input[str]
    """The Azure OpenAI account's system identity: may read and write the batch container (default: none)."""
    subscription_id: pulumi.Input[str]
    """For role definition ids (default: the provider's, getClientConfig)."""
    tenant_id: pulumi.Input[str]
    """The Entra tenant of the Key Vault (default: the provider's, getClientConfig)."""


def check_lock(worker_timeout: Any, lock_duration: Any) -> dict:
    """The lock rule with this stack's numbers, or a ConfigError naming the key that cannot fit."""
    timeout = check_worker_timeout("AsyncJobs.worker_timeout_seconds", worker_timeout, MAX_RENEWAL_S,
                                   "Flex keeps a run 60 minutes")
    if isinstance(lock_duration, bool) or not isinstance(lock_duration, int) or not 5 <= lock_duration <= contract.SERVICEBUS_MAX_LOCK_S:
        raise ConfigError("AsyncJobs.lock_duration_seconds",
                          f"must be 5-{contract.SERVICEBUS_MAX_LOCK_S} seconds (Service Bus), got {lock_duration!r}")
    lock = contract.servicebus_lock(timeout, lock_duration)
    if lock["max_auto_lock_renewal_s"] > MAX_RENEWAL_S:
        raise ConfigError("AsyncJobs.worker_timeout_seconds",
                          f"{timeout} s plus the {lock_duration} s lock needs a lock renewal of "
                          f"{lock['max_auto_lock_renewal_s']} s; at most {MAX_RENEWAL_S} s fits a Flex run")
    return lock


class AsyncJobs(pulumi.ComponentResource):
    """Service Bus, Cosmos DB, the Function App, Key Vault, logs, alerts and dashboard for
    asynchronous jobs. Children are attributes."""

    namespace: azure_native.servicebus.Namespace
    """The Service Bus namespace (local auth off, TLS 1.2)."""
    cosmos_account: azure_native.cosmosdb.DatabaseAccount
    """The Cosmos DB account of the job store (serverless, local auth off, continuous backup)."""
    function_app: azure_native.web.WebApp
    """The Function App (Flex Consumption) running the API, the triggers and the sweeper."""
    identity: azure_native.managedidentity.UserAssignedIdentity
    """The user-assigned identity everything runs as."""
    key_vault: azure_native.keyvault.Vault
    """The Key Vault of the webhook and provider secrets (RBAC, purge protection)."""
    interactive_queue_name: pulumi.Output[str]
    """The interactive job queue."""
    batch_queue_name: pulumi.Output[str]
    """The batch job queue."""
    function_app_hostname: pulumi.Output[str]
    """The Function App's default host name (JobsApi's backend)."""

    def __init__(self, name: str, args: AsyncJobsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("skyrelay:azure:AsyncJobs", name, None, opts)
        args = args or {}
        if not args.get("resource_group_name"):
            raise ConfigError("AsyncJobs.resource_group_name", "required")
        overrides = dict(args.get("overrides") or {})
        if "always_ready" in args:
            overrides["functions_always_ready"] = args["always_ready"]
        settings = resolve("AsyncJobs", ASYNC_JOBS, overrides)
        lock = check_lock(args.get("worker_timeout_seconds", 120),
                          args.get("lock_duration_seconds", settings["queue_lock_seconds"]))
        timeout = args.get("worker_timeout_seconds", 120)
        rg, location = args["resource_group_name"], args.get("location", "westeurope")
        calls = settings["functions_max_concurrent_calls"]
        self.jobs_in_flight = concurrency(args.get("model_quota_rpm", 600), args.get("job_seconds_p50", 10))
        self.max_instances = maximum_instances(self.jobs_in_flight, calls)
        client = azure_native.authorization.get_client_config_output(opts=pulumi.InvokeOptions(parent=self))
        subscription = args.get("subscription_id") or client.subscription_id
        tenant = args.get("tenant_id") or client.tenant_id
        self.lock = lock
        self._name = name

        self.identity = identity(self, name, rg, location)
        principal = self.identity.principal_id
        self.bus = service_bus(self, name, rg, location, settings, lock)
        self.namespace = self.bus.namespace
        self.store = cosmos(self, name, rg, location, settings, principal)
        self.cosmos_account = self.store.account
        self.vault = vault(self, name, rg, location, tenant, settings, args.get("provider_secrets", ()))
        self.key_vault = self.vault.vault
        self.workspace, self.insights = observability.logs(self, name, rg, location, settings)

        self.role_assignments = [
            grant(self, f"{name}-bus", self.namespace.id, "servicebus_receiver", principal, subscription),
            grant(self, f"{name}-bus", self.namespace.id, "servicebus_sender", principal, subscription),
            grant(self, f"{name}-vault", self.key_vault.id, "key_vault_secrets_user", principal, subscription),
            grant(self, f"{name}-insights", self.insights.id, "metrics_publisher", principal, subscription),
        ]
        if not args.get("code_path") and settings["functions_python"] != PYTHON:
            raise ConfigError("AsyncJobs.overrides.functions_python",
                              f"the built zip's wheels are for Python {PYTHON}; give a `code_path` built for "
                              f"{settings['functions_python']!r} or keep the default")
        code_path = args.get("code_path") or _default_code_path(timeout, calls, lock["lock_duration_s"])
        self.environment = self._app_settings(args, settings, lock, calls)
        # The storage account is the function's; its blob role exists before the app (storage_roles).
        self.functions = function_app(
            self, name, rg, location, settings, self.identity, code_path, self.environment, self.max_instances,
            depends_on=[],
            storage_roles=lambda st: [grant(self, f"{name}-storage", st.id, "blob_data_owner", principal, subscription)])
        self.function_app = self.functions.app
        self.role_assignments.extend(self.functions.storage_roles)

        self.batch_parts = None
        if args.get("batch"):
            self.batch_parts = batch_storage(self, name, rg, self.functions.storage, self.functions.blob_endpoint,
                                             settings, subscription, args.get("openai_principal_id"))

        group_id = args.get("action_group_id")
        self.action_group = None
        if group_id is None and args.get("alert_emails"):
            self.action_group = observability.action_group(self, name, rg, list(args["alert_emails"]))
            group_id = self.action_group.id
        self.action_group_id = group_id
        self.alerts = observability.alerts(
            self, name, rg, settings, self.namespace.id, [q.name for q in self.bus.queues.values()],
            self.insights.id, self.cosmos_account.id, group_id)
        self.dashboard = observability.dashboard(self, name, rg, location, self.workspace.id) if settings["dashboard"] else None

        self.interactive_queue_name = self.bus.queues["interactive"].name
        self.batch_queue_name = self.bus.queues["batch"].name
        self.function_app_hostname = self.function_app.default_host_name
        self.register_outputs({
            "namespace": self.namespace,
            "cosmos_account": self.cosmos_account,
            "function_app": self.function_app,
            "identity": self.identity,
            "key_vault": self.key_vault,
            "interactive_queue_name": self.interactive_queue_name,
            "batch_queue_name": self.batch_queue_name,
            "function_app_hostname": self.function_app_hostname,
            "function_app_name": self.function_app.name,
            "cosmos_endpoint": self.store.endpoint,
            "servicebus_namespace": self.bus.fqdn,
            "key_vault_uri": self.vault.uri,
            "batch_container_url": self.batch_parts.url if self.batch_parts else None,
            "dashboard_name": self.dashboard.name if self.dashboard else None,
        })

    def _app_settings(self, args: AsyncJobsArgs, settings: dict[str, Any], lock: dict, calls: int) -> dict:
        """The Function App's settings: the contract's Azure block, identity-based connections, Key
        Vault references for every secret, the lock rule's host overrides; never a secret value."""
        client_id = self.identity.client_id
        env: dict[str, pulumi.Input[str]] = {
            contract.COSMOS_ENDPOINT: self.store.endpoint,
            contract.COSMOS_DATABASE: settings["cosmos_database"],
            contract.COSMOS_CONTAINER: settings["cosmos_container"],
            contract.AZURE_CLIENT_ID: client_id,
            contract.SERVICEBUS_NAMESPACE: self.bus.fqdn,
            f"{contract.SERVICEBUS_CONNECTION_SETTING}__fullyQualifiedNamespace": self.bus.fqdn,
            f"{contract.SERVICEBUS_CONNECTION_SETTING}__credential": "managedidentity",
            f"{contract.SERVICEBUS_CONNECTION_SETTING}__clientId": client_id,
            **{contract.queue_name(p): q.name for p, q in self.bus.queues.items()},
            contract.MAX_RECEIVE_COUNT: str(settings["max_receive_count"]),
            contract.JOB_TTL_SECONDS: str(settings["job_ttl_days"] * 86400),
            contract.WORKER_TIMEOUT_SECONDS: str(args.get("worker_timeout_seconds", 120)),
            **secret_settings(self.vault),
            "APPLICATIONINSIGHTS_CONNECTION_STRING": self.insights.connection_string,
            "APPLICATIONINSIGHTS_AUTHENTICATION_STRING": pulumi.Output.concat(
                "ClientId=", client_id, ";Authorization=AAD"),
            **host_settings(lock, calls),
        }
        if args.get("batch"):  # the container's URL is known before it exists (the account's name is ours)
            env[contract.BATCH_BUCKET] = (f"https://{compact('st', self._name)}.blob.core.windows.net/"
                                          f"{settings['batch_container']}")
        if args.get("router_config_in_vault"):
            env[contract.CONFIG_JSON] = reference(self.vault.uri, ROUTER_CONFIG_SECRET)
        elif args.get("router_config") is not None:
            env[contract.CONFIG_JSON] = args["router_config"]
        env.update(dict(args.get("environment", {})))
        return env

    def batch_environment(self) -> dict[str, pulumi.Output[str]]:
        return {contract.BATCH_BUCKET: self.batch_parts.url} if self.batch_parts else {}


def _default_code_path(worker_timeout_s: int, calls: int, lock_s: int) -> str:
    # Imported late: packaging builds the zip, which only a render without `code_path` needs.
    from skyrelay.components.azure.packaging import build_functions_zip

    return str(build_functions_zip(worker_timeout_s, calls, lock_s))

