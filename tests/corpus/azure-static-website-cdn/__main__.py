"""A static website in Azure Storage behind a CDN endpoint (written for skyrelay's corpus)."""

import pulumi
from pulumi_azure_native import cdn, resources, storage

tags = {"cost-center": "cc-web", "environment": "dev", "team": "web"}
group = resources.ResourceGroup("site-rg", tags=tags)
profile = cdn.Profile(
    "site-cdn", resource_group_name=group.name, sku=cdn.SkuArgs(name=cdn.SkuName.STANDARD_MICROSOFT), tags=tags
)
account = storage.StorageAccount(
    "sitesa",
    resource_group_name=group.name,
    kind=storage.Kind.STORAGE_V2,
    sku=storage.SkuArgs(name=storage.SkuName.STANDARD_LRS),
    access_tier=storage.AccessTier.HOT,
    enable_https_traffic_only=True,
    encryption=storage.EncryptionArgs(
        key_source=storage.KeySource.MICROSOFT_STORAGE,
        services=storage.EncryptionServicesArgs(blob=storage.EncryptionServiceArgs(enabled=True)),
    ),
    tags=tags,
)

origin_host = account.primary_endpoints.apply(lambda endpoints: endpoints.web.replace("https://", "").rstrip("/"))
endpoint = cdn.Endpoint(
    "site-endpoint",
    endpoint_name=account.name.apply(lambda name: f"cdn-{name}"),
    resource_group_name=group.name,
    profile_name=profile.name,
    is_http_allowed=False,
    is_https_allowed=True,
    origin_host_header=origin_host,
    origins=[cdn.DeepCreatedOriginArgs(name="storage", host_name=origin_host, https_port=443)],
    query_string_caching_behavior=cdn.QueryStringCachingBehavior.NOT_SET,
    tags=tags,
)

website = storage.StorageAccountStaticWebsite(
    "site-website", account_name=account.name, resource_group_name=group.name,
    index_document="index.html", error404_document="404.html",
)
for page in ("index.html", "404.html"):
    storage.Blob(
        page.replace(".", "-"),
        resource_group_name=group.name,
        account_name=account.name,
        container_name=website.container_name,
        source=pulumi.FileAsset(f"./wwwroot/{page}"),
        content_type="text/html",
    )

pulumi.export("static_endpoint", account.primary_endpoints.web)
pulumi.export("cdn_endpoint", endpoint.host_name.apply(lambda host: f"https://{host}"))
