"""Enabled services: every GCP resource waits for the `projects/service` of its API.

On a fresh project a resource created before its API is on fails with SERVICE_DISABLED, and the
first `pulumi up` dies half way. Each component enables what it needs (kept on at destroy: another
stack may use the API too) and passes `after(...)` options to each child.
"""

from collections.abc import Iterable

import pulumi
import pulumi_gcp as gcp


class Services:
    """The `gcp.projects.Service` resources of one component, by API name."""

    def __init__(self, owner: pulumi.Resource, name: str, project: pulumi.Input[str] | None, apis: Iterable[str],
                 enabled: bool = True):
        self.owner = owner
        self.by_api: dict[str, gcp.projects.Service] = {}
        if enabled:
            for api in sorted(set(apis)):
                self.by_api[api] = gcp.projects.Service(
                    f"{name}-{api.split('.')[0]}", project=project, service=api, disable_on_destroy=False,
                    opts=pulumi.ResourceOptions(parent=owner),
                )

    def after(self, *apis: str, depends_on: Iterable[pulumi.Resource] = (), **kwargs) -> pulumi.ResourceOptions:
        """Options for a child that needs `apis` (and whatever else it `depends_on`)."""
        deps = [self.by_api[a] for a in apis if a in self.by_api] + list(depends_on)
        return pulumi.ResourceOptions(parent=self.owner, depends_on=deps, **kwargs)

    def all(self) -> list[gcp.projects.Service]:
        return list(self.by_api.values())


RUN = "run.googleapis.com"
TASKS = "cloudtasks.googleapis.com"
FIRESTORE = "firestore.googleapis.com"
SECRETS = "secretmanager.googleapis.com"
IAM = "iam.googleapis.com"
STORAGE = "storage.googleapis.com"
BUILD = "cloudbuild.googleapis.com"
REGISTRY = "artifactregistry.googleapis.com"
MONITORING = "monitoring.googleapis.com"
LOGGING = "logging.googleapis.com"
SCHEDULER = "cloudscheduler.googleapis.com"
GATEWAY = "apigateway.googleapis.com"
SERVICE_MANAGEMENT = "servicemanagement.googleapis.com"
SERVICE_CONTROL = "servicecontrol.googleapis.com"
AIPLATFORM = "aiplatform.googleapis.com"
