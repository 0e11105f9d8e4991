"""An HTTP Cloud Function from a zipped folder in a bucket (written for skyrelay's corpus)."""

import pulumi
import pulumi_gcp as gcp

config = pulumi.Config()
environment = {
    "DESTINATION": config.get("destination") or "Seattle",
    "MAPS_API_KEY": config.get("mapsApiKey") or "",
}

bucket = gcp.storage.Bucket("sources", location="US", uniform_bucket_level_access=True)
source = gcp.storage.BucketObject(
    "handler-zip",
    name="handler.zip",
    bucket=bucket.name,
    source=pulumi.AssetArchive({".": pulumi.FileArchive("./pythonfunc")}),
)
function = gcp.cloudfunctions.Function(
    "handler",
    runtime="python312",
    entry_point="handler",
    region="us-central1",
    source_archive_bucket=bucket.name,
    source_archive_object=source.name,
    trigger_http=True,
    available_memory_mb=128,
    environment_variables=environment,
)
gcp.cloudfunctions.FunctionIamMember(
    "handler-invoker",
    project=function.project,
    region=function.region,
    cloud_function=function.name,
    role="roles/cloudfunctions.invoker",
    member="allUsers",
)

pulumi.export("bucket_url", bucket.url)
pulumi.export("function_url", function.https_trigger_url)
