"""A separate Pulumi program that reuses skyrelay's Azure AsyncJobs component with minimal args.

`pip install skyrelay[iac]`, then `pulumi up` here (or `skyrelay plan --program examples/azure-consumer`
offline). Everything else (local auth off on Service Bus and Cosmos, TLS 1.2, dead-lettering, the
lock computed from the worker timeout, Flex Consumption with a managed identity, Key Vault references,
alerts, the dashboard) comes from the defaults.
"""

import pulumi
import pulumi_azure_native as azure_native

from skyrelay.components.azure import AsyncJobs

config = pulumi.Config()
group = azure_native.resources.ResourceGroup("rg", location="westeurope")

jobs = AsyncJobs(
    "summaries",
    {
        "resource_group_name": group.name,
        "worker_timeout_seconds": config.get_int("workerTimeoutSeconds") or 300,
    },
)

pulumi.export("function_app", jobs.function_app.name)
pulumi.export("interactive_queue", jobs.interactive_queue_name)
pulumi.export("cosmos_account", jobs.cosmos_account.name)
