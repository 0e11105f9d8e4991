"""A Cloud Run (v2) service the way every skyrelay service is built, and the source it is built from.

- **Source, not Docker.** `RuntimeSource` uploads the packaged source zip (packaging.py) to a private
  bucket and `build_config` has Cloud Build turn it into an image with Google's Python buildpack on
  the serverless-runtimes base image, into an Artifact Registry repository that keeps the newest
  images only. A user's own `image` skips all of it.
- **Private by default.** Its own service account, `invoker_iam_disabled` false (Cloud Run checks
  roles/run.invoker on every request), deletion protection, explicit timeout, concurrency and
  min/max instances. Secrets are `secret_key_ref` entries, never values.
- **Its URL is known before it exists**: https://<service>-<project number>.<region>.run.app. The
  queues target it and the worker's own environment names it, without a cycle through outputs.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_gcp as gcp

from skyrelay.components.gcp.services import BUILD, REGISTRY, RUN, STORAGE, Services

MODULE = "skyrelay.runtime.platforms.cloud_run"
PORT = 8080


def service_url(service_name: str, project_number: pulumi.Input[str], region: str) -> pulumi.Output[str]:
    """Cloud Run's deterministic URL of a service."""
    return pulumi.Output.concat("https://", service_name, "-", project_number, ".", region, ".run.app")


def service_name(name: str, role: str) -> str:
    """A Cloud Run service name: lowercase letters, digits and hyphens, at most 49 characters."""
    text = "".join(c if c.isalnum() else "-" for c in f"{name}-{role}".lower()).strip("-")
    return text[:49].rstrip("-")


@dataclass
class RuntimeSource:
    """Where the packaged runtime lives and where its image is built to (None parts with a user image)."""

    bucket: gcp.storage.Bucket | None
    object: gcp.storage.BucketObject | None
    repository: gcp.artifactregistry.Repository | None
    grants: list[pulumi.Resource]
    build_account: pulumi.Input[str] | None  # projects/<p>/serviceAccounts/<email>
    image: pulumi.Input[str]  # the built image's URI, or the user's image
    base_image: str | None
    source_location: pulumi.Input[str] | None  # gs://bucket/object

    @property
    def built(self) -> bool:
        return self.source_location is not None


def runtime_source(owner: pulumi.Resource, name: str, *, location: str, project: pulumi.Input[str],
                   source_path: str | None, image: str | None, build_sa: gcp.serviceaccount.Account,
                   settings: dict[str, Any], services: Services) -> RuntimeSource:
    if image:
        return RuntimeSource(None, None, None, [], None, image, None, None)
    bucket = gcp.storage.Bucket(
        f"{name}-source", location=location, project=project, uniform_bucket_level_access=True,
        public_access_prevention="enforced", force_destroy=True,
        lifecycle_rules=[gcp.storage.BucketLifecycleRuleArgs(
            action=gcp.storage.BucketLifecycleRuleActionArgs(type="Delete"),
            condition=gcp.storage.BucketLifecycleRuleConditionArgs(num_newer_versions=3, with_state="ARCHIVED"),
        )],
        versioning=gcp.storage.BucketVersioningArgs(enabled=True),
        opts=services.after(STORAGE),
    )
    archive = pulumi.FileAsset(source_path)
    obj = gcp.storage.BucketObject(
        f"{name}-source", bucket=bucket.name, name=f"skyrelay/{source_path.rsplit('/', 1)[-1]}", source=archive,
        opts=pulumi.ResourceOptions(parent=owner),
    )
    repo_id = service_name(name, "runtime")
    repository = gcp.artifactregistry.Repository(
        f"{name}-images", repository_id=repo_id, location=location, project=project, format="DOCKER",
        description="skyrelay runtime images built from the packaged source",
        cleanup_policies=[gcp.artifactregistry.RepositoryCleanupPolicyArgs(
            id="keep-newest", action="KEEP",
            most_recent_versions=gcp.artifactregistry.RepositoryCleanupPolicyMostRecentVersionsArgs(
                keep_count=settings["artifact_keep_count"]),
        )],
        opts=services.after(REGISTRY),
    )
    grants: list[pulumi.Resource] = [
        gcp.storage.BucketIAMMember(f"{name}-build-reads-source", bucket=bucket.name, role="roles/storage.objectViewer",
                                    member=build_sa.member, opts=pulumi.ResourceOptions(parent=owner)),
        gcp.artifactregistry.RepositoryIamMember(
            f"{name}-build-writes-images", repository=repository.name, location=location, project=project,
            role="roles/artifactregistry.writer", member=build_sa.member, opts=pulumi.ResourceOptions(parent=owner)),
    ]
    image_uri = pulumi.Output.concat(location, "-docker.pkg.dev/", project, "/", repo_id, "/runtime")
    return RuntimeSource(
        bucket=bucket, object=obj, repository=repository, grants=grants,
        build_account=pulumi.Output.concat("projects/", project, "/serviceAccounts/", build_sa.email),
        image=image_uri, base_image=f"{location}-docker.pkg.dev/{settings['python_base_image']}",
        source_location=pulumi.Output.concat("gs://", bucket.name, "/", obj.name),
    )


def env_entries(plain: Mapping[str, pulumi.Input[str]],
                secrets: Mapping[str, pulumi.Input[str]]) -> list[gcp.cloudrunv2.ServiceTemplateContainerEnvArgs]:
    """Plain variables as values; each secret as a `secret_key_ref` to its latest version."""
    entries = [gcp.cloudrunv2.ServiceTemplateContainerEnvArgs(name=k, value=v) for k, v in sorted(plain.items())]
    entries += [
        gcp.cloudrunv2.ServiceTemplateContainerEnvArgs(
            name=k,
            value_source=gcp.cloudrunv2.ServiceTemplateContainerEnvValueSourceArgs(
                secret_key_ref=gcp.cloudrunv2.ServiceTemplateContainerEnvValueSourceSecretKeyRefArgs(
                    secret=secret_id, version="latest")),
        )
        for k, secret_id in sorted(secrets.items())
    ]
    return entries


def service(owner: pulumi.Resource, resource_name: str, *, name: str, role: str, location: str,
            project: pulumi.Input[str] | None, source: RuntimeSource, service_account: pulumi.Input[str],
            ingress: str, timeout_s: int, concurrency: int, min_instances: int, max_instances: int,
            cpu: str, memory: str, env: Mapping[str, pulumi.Input[str]], secret_env: Mapping[str, pulumi.Input[str]],
            settings: dict[str, Any], services: Services, depends_on: Sequence[pulumi.Resource] = ()
            ) -> gcp.cloudrunv2.Service:
    """The API (`role="api"`) or the worker (`role="worker"`): `python -m ...cloud_run --role <role>` on $PORT."""
    command = ["python", "-m", MODULE, "--role", role]
    build = None
    if source.built:
        build = gcp.cloudrunv2.ServiceBuildConfigArgs(
            source_location=source.source_location,
            base_image=source.base_image,
            image_uri=source.image,
            enable_automatic_updates=True,
            service_account=source.build_account,
            environment_variables={"GOOGLE_ENTRYPOINT": " ".join(command)},
        )
    container = gcp.cloudrunv2.ServiceTemplateContainerArgs(
        image=source.image,
        base_image_uri=source.base_image,
        commands=command[:1],
        args=command[1:],
        ports=gcp.cloudrunv2.ServiceTemplateContainerPortsArgs(container_port=PORT),
        envs=env_entries(env, secret_env),
        resources=gcp.cloudrunv2.ServiceTemplateContainerResourcesArgs(
            limits={"cpu": cpu, "memory": memory},
            cpu_idle=settings.get("worker_cpu_idle", True),
            startup_cpu_boost=settings.get("worker_startup_cpu_boost", True),
        ),
    )
    return gcp.cloudrunv2.Service(
        resource_name,
        name=name,
        location=location,
        project=project,
        description=f"skyrelay {role}",
        ingress=ingress,
        deletion_protection=settings["deletion_protection"],
        invoker_iam_disabled=settings.get("invoker_iam_disabled", False),
        build_config=build,
        template=gcp.cloudrunv2.ServiceTemplateArgs(
            service_account=service_account,
            timeout=f"{timeout_s}s",
            max_instance_request_concurrency=concurrency,
            scaling=gcp.cloudrunv2.ServiceTemplateScalingArgs(min_instance_count=min_instances,
                                                              max_instance_count=max_instances),
            containers=[container],
        ),
        opts=services.after(RUN, *((BUILD, REGISTRY) if source.built else ()),
                            depends_on=[*source.grants, *depends_on]),
    )


def invoker(owner: pulumi.Resource, resource_name: str, svc: gcp.cloudrunv2.Service,
            member: pulumi.Input[str]) -> gcp.cloudrunv2.ServiceIamMember:
    """roles/run.invoker on this service for exactly one service account."""
    return gcp.cloudrunv2.ServiceIamMember(
        resource_name, name=svc.name, location=svc.location, project=svc.project, role="roles/run.invoker",
        member=member, opts=pulumi.ResourceOptions(parent=owner),
    )
