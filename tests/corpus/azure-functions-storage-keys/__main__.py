"""A Function App whose storage connection string is built from the account's listed keys
(written for skyrelay's corpus)."""

import pulumi
from pulumi_azure_native import resources, storage, web

group = resources.ResourceGroup("functions-rg")
account = storage.StorageAccount(
    "functionssa",
    resource_group_name=group.name,
    sku=storage.SkuArgs(name=storage.SkuName.STANDARD_LRS),
    kind=storage.Kind.STORAGE_V2,
    minimum_tls_version=storage.MinimumTlsVersion.TLS1_2,
)
plan = web.AppServicePlan(
    "functions-plan",
    resource_group_name=group.name,
    kind="functionapp",
    reserved=True,
    sku=web.SkuDescriptionArgs(name="Y1", tier="Dynamic"),
)

keys = pulumi.Output.all(group.name, account.name).apply(
    lambda names: storage.list_storage_account_keys(resource_group_name=names[0], account_name=names[1])
)
primary_key = keys.apply(lambda listed: listed.keys[0].value)
connection = pulumi.Output.concat(
    "DefaultEndpointsProtocol=https;AccountName=", account.name, ";AccountKey=", primary_key
)

app = web.WebApp(
    "functions-app",
    resource_group_name=group.name,
    kind="functionapp",
    server_farm_id=plan.id,
    https_only=True,
    identity=web.ManagedServiceIdentityArgs(type=web.ManagedServiceIdentityType.SYSTEM_ASSIGNED),
    site_config=web.SiteConfigArgs(
        min_tls_version=web.SupportedTlsVersions.SUPPORTED_TLS_VERSIONS_1_2,
        app_settings=[
            web.NameValuePairArgs(name="FUNCTIONS_WORKER_RUNTIME", value="python"),
            web.NameValuePairArgs(name="FUNCTIONS_EXTENSION_VERSION", value="~4"),
            web.NameValuePairArgs(name="AzureWebJobsStorage", value=connection),
        ],
    ),
)

pulumi.export("primary_key", pulumi.Output.secret(primary_key))
pulumi.export("endpoint", app.default_host_name.apply(lambda host: f"https://{host}/api/hello"))
