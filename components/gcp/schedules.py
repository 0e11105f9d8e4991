"""Cloud Scheduler ticks to the worker, and the batch bucket (issue 13's GCP half).

- The sweeper: every minute Scheduler POSTs /sweep to the worker (the runtime re-enqueues PENDING
  jobs whose task was lost). The batcher: every 5 minutes it POSTs /batch (form, submit and poll
  Vertex batch prediction jobs). Both carry an OIDC token of the same `tasks` service account the
  queues use, with the worker's URL as audience: the worker accepts one identity, and the
  worker's ingress stays internal (Scheduler and Tasks reach it as Google-internal traffic).
- The batch bucket: uniform bucket-level access (IAM only, no ACLs), public access prevention
  enforced, a lifecycle rule that deletes JSONL a day after the job records expire. objectAdmin on
  this bucket only, for the worker (it writes inputs, reads results) and for the Vertex batch
  service account the batch prediction jobs run as (it reads inputs, writes outputs).
"""

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_gcp as gcp

from skyrelay.components.gcp.services import AIPLATFORM, SCHEDULER, STORAGE, Services

SWEEP_PATH = "/sweep"
BATCH_PATH = "/batch"


def scheduled_push(owner: pulumi.Resource, resource_name: str, *, job_name: str, region: str, project,
                   schedule: str, url: pulumi.Input[str], audience: pulumi.Input[str], email: pulumi.Input[str],
                   attempt_deadline_s: int, services: Services, depends_on=()) -> gcp.cloudscheduler.Job:
    return gcp.cloudscheduler.Job(
        resource_name,
        name=job_name,
        region=region,
        project=project,
        schedule=schedule,
        time_zone="Etc/UTC",
        attempt_deadline=f"{attempt_deadline_s}s",
        retry_config=gcp.cloudscheduler.JobRetryConfigArgs(retry_count=0),  # the next tick is the retry
        http_target=gcp.cloudscheduler.JobHttpTargetArgs(
            uri=url, http_method="POST",
            oidc_token=gcp.cloudscheduler.JobHttpTargetOidcTokenArgs(service_account_email=email, audience=audience),
        ),
        opts=services.after(SCHEDULER, depends_on=depends_on),
    )


@dataclass
class BatchParts:
    bucket: gcp.storage.Bucket
    service_account: gcp.serviceaccount.Account
    grants: list[pulumi.Resource]


def batch_parts(owner: pulumi.Resource, name: str, *, location: str, project, worker_member: pulumi.Input[str],
                worker_email: pulumi.Input[str], settings: dict[str, Any], services: Services) -> BatchParts:
    """The batch bucket and Vertex's batch service account (it reads the inputs, writes the outputs)."""
    bucket = gcp.storage.Bucket(
        f"{name}-batch",
        location=location,
        project=project,
        uniform_bucket_level_access=settings["batch_bucket_uniform_access"],
        public_access_prevention=settings["batch_bucket_public_access_prevention"],
        versioning=gcp.storage.BucketVersioningArgs(enabled=settings["batch_bucket_versioning"]),
        lifecycle_rules=[gcp.storage.BucketLifecycleRuleArgs(
            action=gcp.storage.BucketLifecycleRuleActionArgs(type="Delete"),
            condition=gcp.storage.BucketLifecycleRuleConditionArgs(age=settings["batch_object_expiry_days"]),
        )],
        force_destroy=False,
        opts=services.after(STORAGE),
    )
    # Vertex batch prediction jobs run as this account (the worker passes it as the job's
    # `serviceAccount`): it reads the bucket's inputs and writes outputs, and calls the model.
    sa = gcp.serviceaccount.Account(
        f"{name}-vertex-batch", account_id=f"{name}-vertex-batch"[:30].rstrip("-"), project=project,
        display_name=f"skyrelay {name}: Vertex batch prediction jobs", opts=services.after(AIPLATFORM),
    )
    child = pulumi.ResourceOptions(parent=owner)
    grants: list[pulumi.Resource] = [
        gcp.storage.BucketIAMMember(f"{name}-batch-worker", bucket=bucket.name, role="roles/storage.objectAdmin",
                                    member=worker_member, opts=child),
        gcp.storage.BucketIAMMember(f"{name}-batch-vertex", bucket=bucket.name, role="roles/storage.objectAdmin",
                                    member=sa.member, opts=child),
        gcp.projects.IAMMember(f"{name}-batch-vertex-user", project=sa.project, role="roles/aiplatform.user",
                               member=sa.member, opts=child),
        # The worker submits jobs that run as `sa`: it may act as that account only.
        gcp.serviceaccount.IAMMember(f"{name}-worker-acts-as-vertex-batch", service_account_id=sa.name,
                                     role="roles/iam.serviceAccountUser", member=worker_member, opts=child),
        gcp.projects.IAMMember(f"{name}-worker-vertex-user", project=sa.project, role="roles/aiplatform.user",
                               member=worker_member, opts=child),
    ]
    return BatchParts(bucket=bucket, service_account=sa, grants=grants)
