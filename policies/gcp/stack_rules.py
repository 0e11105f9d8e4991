"""GCP stack rules, across resources: the dispatch deadline covers the worker's timeout, and every
Firestore database has a TTL policy.

- A Cloud Tasks push stays open for the task's dispatch deadline; if the worker may run longer, the
  task is retried while the worker still runs it (a duplicate run, googleapis/python-tasks#93).
  skyrelay sets the deadline on each task from SKYRELAY_DISPATCH_DEADLINE_SECONDS, so the rule
  compares that value with the `template.timeout` of the service SKYRELAY_WORKER_URL names
  (https://<service>-<project number>.<region>.run.app).
- A job store without TTL grows forever (and keeps prompts and answers past their retention).
"""

import re

from pulumi_policy import Severity

from skyrelay.policies.props import as_list, get, number, of_type
from skyrelay.policies.rule import Rule, stack_policy

SERVICE_V2 = "gcp:cloudrunv2/service:Service"
DATABASE = "gcp:firestore/database:Database"
FIELD = "gcp:firestore/field:Field"
DEADLINE_ENV = "SKYRELAY_DISPATCH_DEADLINE_SECONDS"
WORKER_URL_ENV = "SKYRELAY_WORKER_URL"
RUN_HOST = re.compile(r"^https://([a-z0-9-]+)-\d+\.[a-z0-9-]+\.run\.app(/|$)")

DEADLINE = Rule(
    id="gcp-tasks-dispatch-deadline",
    description="The Cloud Tasks dispatch deadline a service sets is at least the timeout of the worker it pushes to.",
    severity=Severity.HIGH,
    kind="stack",
    cloud="gcp",
    remediation=(
        f"Set {DEADLINE_ENV} to at least the worker's timeout plus the settle (skyrelay: timeout + 30 s, "
        "deployment.dispatch_deadline); keep the worker timeout at most 1770 s, as Cloud Tasks caps deadlines at 30 minutes."
    ),
)
TTL = Rule(
    id="gcp-firestore-ttl",
    description="Every Firestore database has a TTL policy (a firestore Field with ttl_config).",
    severity=Severity.HIGH,
    kind="stack",
    cloud="gcp",
    remediation="Add `gcp.firestore.Field(database=..., collection=..., field='expires_at', ttl_config={})`.",
)


def seconds(duration) -> float | None:
    if isinstance(duration, str) and duration.endswith("s"):
        return number(duration[:-1])
    return number(duration)


def _env(service) -> dict[str, str]:
    env = {}
    for container in as_list(get(service.props, "template.containers")):
        for entry in as_list(get(container, "envs")):
            if isinstance(get(entry, "value"), str):
                env[get(entry, "name", "")] = get(entry, "value")
    return env


def check_deadline(args):
    services = of_type(args.resources, SERVICE_V2)
    by_name = {get(s.props, "name"): s for s in services if get(s.props, "name")}
    for svc in services:
        env = _env(svc)
        deadline = number(env.get(DEADLINE_ENV))
        match = RUN_HOST.match(env.get(WORKER_URL_ENV, ""))
        if deadline is None or not match or match.group(1) not in by_name:
            continue
        timeout = seconds(get(by_name[match.group(1)].props, "template.timeout", "300s"))
        if timeout is not None and deadline < timeout:
            yield (f"{DEADLINE_ENV}={deadline:g} s is shorter than the worker {match.group(1)}'s timeout "
                   f"({timeout:g} s): tasks are retried while the worker still runs them"), svc.urn


def check_ttl(args):
    fields = [f for f in of_type(args.resources, FIELD) if get(f.props, "ttlConfig") is not None]
    covered = {get(f.props, "database", "(default)") for f in fields}
    databases = of_type(args.resources, DATABASE)
    named = {get(db.props, "name") for db in databases if get(db.props, "name")}
    for db in databases:
        name = get(db.props, "name")
        # A database without a name input is the provider's "(default)"; a field may name it by its output.
        ok = name in covered if name else bool(covered - named)
        if not ok:
            yield "no Firestore Field with ttl_config on this database: job records never expire", db.urn


POLICIES = [stack_policy(DEADLINE, check_deadline), stack_policy(TTL, check_ttl)]
