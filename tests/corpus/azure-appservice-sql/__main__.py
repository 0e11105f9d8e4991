"""A Web App running a package from a signed blob, with SQL and Application Insights
(written for skyrelay's corpus)."""

import pulumi
from pulumi_azure_native import applicationinsights as insights
from pulumi_azure_native import resources, sql, storage, web

config = pulumi.Config()
login = config.get("sqlLogin") or "appadmin"
password = config.require_secret("sqlPassword")

group = resources.ResourceGroup("app-rg")
account = storage.StorageAccount(
    "appsa", resource_group_name=group.name, kind=storage.Kind.STORAGE_V2,
    sku=storage.SkuArgs(name=storage.SkuName.STANDARD_LRS),
)
container = storage.BlobContainer(
    "packages", account_name=account.name, resource_group_name=group.name, public_access=storage.PublicAccess.NONE
)
package = storage.Blob(
    "site-package",
    resource_group_name=group.name,
    account_name=account.name,
    container_name=container.name,
    type=storage.BlobType.BLOCK,
    source=pulumi.FileArchive("wwwroot"),
)
sas = storage.list_storage_account_service_sas_output(
    account_name=account.name,
    resource_group_name=group.name,
    protocols=storage.HttpProtocol.HTTPS,
    shared_access_start_time="2026-01-01",
    shared_access_expiry_time="2030-01-01",
    resource=storage.SignedResource.C,
    permissions=storage.Permissions.R,
    canonicalized_resource=pulumi.Output.concat("/blob/", account.name, "/", container.name),
)
package_url = pulumi.Output.concat(
    "https://", account.name, ".blob.core.windows.net/", container.name, "/", package.name, "?", sas.service_sas_token
)

telemetry = insights.Component(
    "app-insights", resource_group_name=group.name, application_type=insights.ApplicationType.WEB, kind="web",
    ingestion_mode="ApplicationInsights",
)
server = sql.Server(
    "app-sql", resource_group_name=group.name, administrator_login=login, administrator_login_password=password,
    version="12.0", minimal_tls_version="1.2",
)
database = sql.Database("app-db", resource_group_name=group.name, server_name=server.name, sku=sql.SkuArgs(name="S0"))
connection = pulumi.Output.concat(
    "Server=tcp:", server.name, ".database.windows.net;initial catalog=", database.name,
    ";user ID=", login, ";password=", password, ";Min Pool Size=0;Max Pool Size=30;",
)

plan = web.AppServicePlan("app-plan", resource_group_name=group.name, kind="App", sku=web.SkuDescriptionArgs(name="B1", tier="Basic"))
app = web.WebApp(
    "app",
    resource_group_name=group.name,
    server_farm_id=plan.id,
    https_only=True,
    site_config=web.SiteConfigArgs(
        app_settings=[
            web.NameValuePairArgs(name="APPINSIGHTS_INSTRUMENTATIONKEY", value=telemetry.instrumentation_key),
            web.NameValuePairArgs(
                name="APPLICATIONINSIGHTS_CONNECTION_STRING",
                value=telemetry.instrumentation_key.apply(lambda key: "InstrumentationKey=" + key),
            ),
            web.NameValuePairArgs(name="WEBSITE_RUN_FROM_PACKAGE", value=package_url),
        ],
        connection_strings=[web.ConnStringInfoArgs(name="db", type=web.ConnectionStringType.SQL_AZURE, connection_string=connection)],
    ),
)

pulumi.export("endpoint", app.default_host_name.apply(lambda host: "https://" + host))
