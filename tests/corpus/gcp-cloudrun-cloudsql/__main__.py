"""Cloud Run + Cloud SQL (PostgreSQL) through the Cloud SQL connector (written for skyrelay's corpus)."""

import pulumi
import pulumi_gcp as gcp

config = pulumi.Config()
db_name = config.require("dbName")
db_password = config.require_secret("dbPassword")
region = pulumi.Config("gcp").require("region")
labels = {"cost-center": "cc-data", "environment": "dev", "team": "data"}

instance = gcp.sql.DatabaseInstance(
    "db",
    database_version="POSTGRES_16",
    region=region,
    deletion_protection=False,
    settings=gcp.sql.DatabaseInstanceSettingsArgs(tier="db-f1-micro", user_labels=labels),
)
database = gcp.sql.Database("app-db", instance=instance.name, name=db_name)
user = gcp.sql.User("app-user", instance=instance.name, name=db_name, password=db_password)

database_url = pulumi.Output.concat(
    "postgres://", db_name, ":", db_password, "@/", db_name, "?host=/cloudsql/", instance.connection_name
)

service = gcp.cloudrun.Service(
    "app",
    location=region,
    metadata=gcp.cloudrun.ServiceMetadataArgs(labels=labels),
    template=gcp.cloudrun.ServiceTemplateArgs(
        metadata=gcp.cloudrun.ServiceTemplateMetadataArgs(
            annotations={"run.googleapis.com/cloudsql-instances": instance.connection_name}
        ),
        spec=gcp.cloudrun.ServiceTemplateSpecArgs(
            containers=[
                gcp.cloudrun.ServiceTemplateSpecContainerArgs(
                    image="gcr.io/cloudrun/hello",
                    envs=[gcp.cloudrun.ServiceTemplateSpecContainerEnvArgs(name="DATABASE_URL", value=database_url)],
                )
            ]
        ),
    ),
    traffics=[gcp.cloudrun.ServiceTrafficArgs(latest_revision=True, percent=100)],
)
gcp.cloudrun.IamMember("app-public", service=service.name, location=region, role="roles/run.invoker", member="allUsers")

pulumi.export("instance", instance.name)
pulumi.export("url", service.statuses[0].url)
