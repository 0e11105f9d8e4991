"""The Cloud Tasks queues (interactive and batch) and their sizing.

Cloud Tasks has no dead-letter queue: after `max_attempts` the task is deleted. The worker reads
`X-CloudTasks-TaskRetryCount` and marks the job FAILED on the last attempt itself, so the queue's
`max_attempts` travels to it as MAX_RECEIVE_COUNT. Each queue carries a queue-level HTTP target:
every task goes to the worker's /tasks with an OIDC token of the enqueuer service account (the queue
overrides whatever URL a task names), so no task can reach anything else or arrive unsigned.

Sizing (components/async_jobs.py): the model quota's concurrency, split 3:1, is each queue's
`max_concurrent_dispatches`; the quota's rate, split the same way, its `max_dispatches_per_second`.
"""

import math
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_gcp as gcp

from skyrelay import deployment as contract
from skyrelay.components.async_jobs import concurrency, split
from skyrelay.components.gcp.services import TASKS, Services

TASKS_PATH = "/tasks"
MAX_DISPATCHES_PER_SECOND = 500  # Cloud Tasks' ceiling per queue
MAX_CONCURRENT_DISPATCHES = 5000


@dataclass(frozen=True)
class Sizing:
    """What the shared rule decides for one stack: queue rates and concurrency, the worker's bounds."""

    interactive_concurrency: int
    batch_concurrency: int
    interactive_rate: float
    batch_rate: float
    worker_max_instances: int

    @property
    def total(self) -> int:
        return self.interactive_concurrency + self.batch_concurrency


def sizing(model_quota_rpm: int, job_seconds_p50: float, worker_concurrency: int) -> Sizing:
    """Little's law at the quota, split 3:1, and the instances that hold it at `worker_concurrency` each."""
    total = concurrency(model_quota_rpm, job_seconds_p50)
    interactive, batch = (min(MAX_CONCURRENT_DISPATCHES, n) for n in split(total))
    rate = model_quota_rpm / 60
    num = interactive / (interactive + batch)
    return Sizing(
        interactive_concurrency=interactive,
        batch_concurrency=batch,
        interactive_rate=min(MAX_DISPATCHES_PER_SECOND, round(max(rate * num, 0.1), 3)),
        batch_rate=min(MAX_DISPATCHES_PER_SECOND, round(max(rate - rate * num, 0.1), 3)),
        worker_max_instances=max(1, math.ceil((interactive + batch) / worker_concurrency)),
    )


def queue_path(project: pulumi.Input[str], location: str, queue_name: str) -> pulumi.Output[str]:
    """The full queue name the runtime creates tasks in: projects/<p>/locations/<l>/queues/<q>. Built
    from the inputs, not the queue's outputs: the worker's environment carries it, and the queue
    targets the worker, so an output here would be a cycle."""
    return pulumi.Output.concat("projects/", project, "/locations/", location, "/queues/", queue_name)


def work_queue(owner: pulumi.Resource, name: str, *, location: str, project: pulumi.Input[str] | None,
               rate: float, concurrent: int, worker_host: pulumi.Input[str], audience: pulumi.Input[str],
               tasks_email: pulumi.Input[str], settings: dict[str, Any], services: Services) -> gcp.cloudtasks.Queue:
    oidc = gcp.cloudtasks.QueueHttpTargetOidcTokenArgs(service_account_email=tasks_email, audience=audience) \
        if settings["tasks_oidc"] else None
    return gcp.cloudtasks.Queue(
        name,
        name=name,
        location=location,
        project=project,
        retry_config=gcp.cloudtasks.QueueRetryConfigArgs(
            max_attempts=settings["max_receive_count"],
            min_backoff=settings["tasks_min_backoff"],
            max_backoff=settings["tasks_max_backoff"],
            max_doublings=settings["tasks_max_doublings"],
            max_retry_duration=settings["tasks_max_retry_duration"],
        ),
        rate_limits=gcp.cloudtasks.QueueRateLimitsArgs(
            max_dispatches_per_second=rate, max_concurrent_dispatches=concurrent,
        ),
        http_target=gcp.cloudtasks.QueueHttpTargetArgs(
            http_method="POST",
            uri_override=gcp.cloudtasks.QueueHttpTargetUriOverrideArgs(
                scheme="HTTPS", host=worker_host,
                path_override=gcp.cloudtasks.QueueHttpTargetUriOverridePathOverrideArgs(path=TASKS_PATH),
                uri_override_enforce_mode="ALWAYS",
            ),
            oidc_token=oidc,
        ),
        stackdriver_logging_config=gcp.cloudtasks.QueueStackdriverLoggingConfigArgs(
            sampling_ratio=settings["tasks_logging_sampling_ratio"]),
        opts=services.after(TASKS),
    )


def enqueuers(owner: pulumi.Resource, name: str, queue: gcp.cloudtasks.Queue,
              members: dict[str, pulumi.Input[str]]) -> list[gcp.cloudtasks.QueueIamMember]:
    """roles/cloudtasks.enqueuer on this queue only, for each caller that creates tasks."""
    return [
        gcp.cloudtasks.QueueIamMember(
            f"{name}-enqueuer-{who}", name=queue.name, location=queue.location, project=queue.project,
            role="roles/cloudtasks.enqueuer", member=member, opts=pulumi.ResourceOptions(parent=owner),
        )
        for who, member in sorted(members.items())
    ]


def queue_env(project: pulumi.Input[str], location: str, names: dict[str, str]) -> dict[str, pulumi.Input[str]]:
    """tasks_queue(priority) -> the queue's full name, for every priority."""
    return {contract.tasks_queue(p): queue_path(project, location, q) for p, q in names.items()}
