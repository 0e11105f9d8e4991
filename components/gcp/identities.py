"""Service accounts of the async wing, one per caller, each with only what it does:

- `worker`: runs the worker service (Firestore user, its secrets, its queues: the sweeper re-enqueues);
- `api`: runs the API service (Firestore user, enqueuer on the queues, act-as the enqueuer for OIDC);
- `tasks`: the identity Cloud Tasks and Cloud Scheduler mint OIDC tokens for; invoker of the worker only;
- `build`: Cloud Build's identity for the source build (reads the source, writes the image, logs).

Project-level grants are limited to what has no resource-level binding (Firestore, logs, metrics).
"""

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from skyrelay.components.gcp.services import IAM, Services


@dataclass
class Identities:
    worker: gcp.serviceaccount.Account
    api: gcp.serviceaccount.Account
    tasks: gcp.serviceaccount.Account
    build: gcp.serviceaccount.Account
    project_grants: list[gcp.projects.IAMMember]
    act_as: list[gcp.serviceaccount.IAMMember]


WORKER_ROLES = ("roles/datastore.user", "roles/logging.logWriter", "roles/monitoring.metricWriter")
API_ROLES = ("roles/datastore.user", "roles/logging.logWriter", "roles/monitoring.metricWriter")
BUILD_ROLES = ("roles/logging.logWriter",)


def account_id(name: str, role: str) -> str:
    """A service account id: 6-30 characters, lowercase letters, digits and hyphens, letter first."""
    text = "".join(c if c.isalnum() else "-" for c in f"{name}-{role}".lower()).strip("-")
    if not text[:1].isalpha():
        text = "sr-" + text
    return (text + "-sa")[:30].rstrip("-") if len(text) < 6 else text[:30].rstrip("-")


def identities(owner: pulumi.Resource, name: str, project: pulumi.Input[str] | None, services: Services) -> Identities:
    def account(role: str, what: str) -> gcp.serviceaccount.Account:
        return gcp.serviceaccount.Account(
            f"{name}-{role}", account_id=account_id(name, role), project=project,
            display_name=f"skyrelay {name}: {what}", opts=services.after(IAM),
        )

    worker = account("worker", "job worker (Cloud Run)")
    api = account("api", "jobs API (Cloud Run)")
    tasks = account("tasks", "Cloud Tasks / Scheduler OIDC pushes to the worker")
    build = account("build", "Cloud Build of the runtime source")
    grants = []
    for who, sa, roles in (("worker", worker, WORKER_ROLES), ("api", api, API_ROLES), ("build", build, BUILD_ROLES)):
        for role in roles:
            grants.append(gcp.projects.IAMMember(
                f"{name}-{who}-{role.split('/')[1].replace('.', '-')}", project=_project(project, sa), role=role,
                member=sa.member, opts=pulumi.ResourceOptions(parent=owner),
            ))
    # Whoever creates a task with an OIDC token acts as the token's service account: the API (submit)
    # and the worker (the sweeper's re-enqueue, delayed retries) may act as `tasks`, nothing else.
    act_as = [
        gcp.serviceaccount.IAMMember(
            f"{name}-{who}-acts-as-tasks", service_account_id=tasks.name, role="roles/iam.serviceAccountUser",
            member=sa.member, opts=pulumi.ResourceOptions(parent=owner),
        )
        for who, sa in (("api", api), ("worker", worker))
    ]
    return Identities(worker=worker, api=api, tasks=tasks, build=build, project_grants=grants, act_as=act_as)


def _project(project: pulumi.Input[str] | None, sa: gcp.serviceaccount.Account) -> pulumi.Input[str]:
    return project if project is not None else sa.project
