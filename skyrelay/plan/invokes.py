"""Data-source invokes that answer offline: a small table, and unknowns of the declared type for the rest.

Three kinds of answer, recorded per token in the plan (`Plan.invokes`) so a reader knows what the
render assumed:

- `computed`: pure functions of their arguments, answered exactly (`aws.iam.getPolicyDocument`,
  `aws.getPartition`).
- `context`: what the provider would read from its configuration (region, project, subscription).
  Taken from the invoke's provider, then the stack config (`aws:region`, `gcp:project`, ...); a value
  no config gives is a placeholder, listed in `Plan.placeholders` with the key that would set it.
- `unknown`: everything else. An Output-form invoke (`get_x_output`) is wholly unknown, as the
  engine answers for one it cannot run yet, so nothing `.apply`-ed to it runs. A plain invoke returns
  an object of its SDK result class whose fields are placeholders (see unknowns.py), so attribute
  access and indexing work and whatever uses a field stays unknown.

Add an entry to `TABLE` to teach the plan another data source.
"""

from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from skyrelay.plan.policy_document import TOKEN as POLICY_DOCUMENT
from skyrelay.plan.policy_document import get_policy_document
from skyrelay.plan.unknowns import placeholder, result_class

PLACEHOLDER_ACCOUNT_ID = "123456789012"
PLACEHOLDER_SUBSCRIPTION_ID = "00000000-0000-0000-0000-000000000000"
PLACEHOLDER_TENANT_ID = "11111111-1111-1111-1111-111111111111"
PLACEHOLDER_PRINCIPAL_ID = "22222222-2222-2222-2222-222222222222"
PLACEHOLDER_GCP_PROJECT = "plan-project"
PLACEHOLDER_GCP_PROJECT_NUMBER = "123456789012"
DEFAULT_AWS_REGION = "us-east-1"

# Set (by render.py) while an Output-form invoke is being sent: such an invoke may be wholly unknown.
OUTPUT_FORM: ContextVar[bool] = ContextVar("skyrelay_plan_output_form", default=False)
WHOLLY_UNKNOWN = object()


@dataclass
class Context:
    """Where context invokes look: the program's stack config, and the invoke's provider inputs."""

    config: dict[str, Any] = field(default_factory=dict)
    defaults: dict[str, Any] = field(default_factory=dict)  # what our own stack config says (render_stack)
    placeholders: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)

    def value(self, provider: dict, provider_key: str | None, config_key: str, default_key: str | None = None) -> Any:
        if provider_key and provider.get(provider_key):
            return provider[provider_key]
        if self.config.get(config_key):
            return self.config[config_key]
        return self.defaults.get(default_key or config_key)

    def placeholder(self, token: str, field_name: str, value: str, how: str) -> str:
        self.placeholders[(token, field_name)] = {"invoke": token, "field": field_name, "value": value, "set": how}
        return value


@dataclass
class Call:
    token: str
    args: dict[str, Any]
    provider: dict[str, Any]  # the inputs of the explicit provider the invoke uses, if any
    context: Context


# ---- AWS ----
def aws_region(call: Call) -> str:
    region = call.args.get("region") or call.context.value(call.provider, "region", "aws:region")
    if region:
        return str(region)
    return call.context.placeholder(call.token, "region", DEFAULT_AWS_REGION, "--config aws:region=REGION")


_PARTITIONS = (  # region prefix -> partition, DNS suffix, reverse DNS prefix
    ("us-gov-", "aws-us-gov", "amazonaws.com", "com.amazonaws"),
    ("cn-", "aws-cn", "amazonaws.com.cn", "cn.com.amazonaws"),
    ("us-isob-", "aws-iso-b", "sc2s.sgov.gov", "gov.sgov.sc2s"),
    ("us-iso-", "aws-iso", "c2s.ic.gov", "gov.ic.c2s"),
    ("", "aws", "amazonaws.com", "com.amazonaws"),
)


def aws_partition(call: Call) -> dict:
    region = aws_region(call)
    _, partition, suffix, reverse = next(p for p in _PARTITIONS if region.startswith(p[0]))
    return {"partition": partition, "dnsSuffix": suffix, "reverseDnsPrefix": reverse, "id": partition}


def aws_get_region(call: Call) -> dict:
    region = aws_region(call)
    suffix = aws_partition(call)["dnsSuffix"]
    return {"name": region, "region": region, "id": region, "endpoint": f"ec2.{region}.{suffix}",
            "description": region}  # fmt: skip


def aws_account_id(call: Call) -> str:
    allowed = call.context.value(call.provider, "allowedAccountIds", "aws:allowedAccountIds")
    if isinstance(allowed, str):
        allowed = [a.strip() for a in allowed.strip("[]").replace('"', "").split(",") if a.strip()]
    if allowed and len(allowed) == 1:
        return str(allowed[0])
    return call.context.placeholder(call.token, "accountId", PLACEHOLDER_ACCOUNT_ID,
                                    '--config aws:allowedAccountIds=["ACCOUNT_ID"]')  # fmt: skip


def aws_caller_identity(call: Call) -> dict:
    account = aws_account_id(call)
    partition = aws_partition(call)["partition"]
    return {"accountId": account, "arn": f"arn:{partition}:iam::{account}:user/skyrelay-plan",
            "userId": "AIDAPLACEHOLDERPLANUSER", "id": account}  # fmt: skip


def aws_availability_zones(call: Call) -> dict:
    region = aws_region(call)
    names = [call.context.placeholder(call.token, "names", f"{region}a", "(placeholder zones a, b, c)"),
             f"{region}b", f"{region}c"]  # fmt: skip
    ids = [f"use1-az{i}" if region == "us-east-1" else f"{region[:2]}{region.split('-')[1][:1]}1-az{i}" for i in (1, 2, 3)]
    return {"names": names, "zoneIds": ids, "groupNames": [region], "id": region, "state": "available"}


# ---- GCP ----
def gcp_project_id(call: Call, arg: str = "projectId") -> str:
    project = call.args.get(arg) or call.context.value(call.provider, "project", "gcp:project")
    if project:
        return str(project)
    return call.context.placeholder(call.token, arg, PLACEHOLDER_GCP_PROJECT, "--config gcp:project=PROJECT")


def gcp_project(call: Call) -> dict:
    project = gcp_project_id(call)
    number = call.context.defaults.get("gcp:projectNumber") or call.context.placeholder(
        call.token, "number", PLACEHOLDER_GCP_PROJECT_NUMBER, "(no config key: a placeholder number)"
    )
    return {"projectId": project, "number": str(number), "name": project, "id": f"projects/{project}"}


def gcp_client_config(call: Call) -> dict:
    project = gcp_project_id(call, "project")
    region = call.context.value(call.provider, "region", "gcp:region") or ""
    zone = call.context.value(call.provider, "zone", "gcp:zone") or ""
    token = call.context.placeholder(call.token, "accessToken", "plan-placeholder-token", "(never known offline)")
    return {"project": project, "region": region, "zone": zone, "accessToken": token,
            "id": f"projects/{project}/regions/{region}/zones/{zone}"}  # fmt: skip


# ---- Azure ----
def azure_client_config(call: Call) -> dict:
    def pick(provider_key: str, config_key: str, fallback: str, field_name: str) -> str:
        value = call.context.value(call.provider, provider_key, config_key)
        return str(value) if value else call.context.placeholder(
            call.token, field_name, fallback, f"--config {config_key}=..."
        )

    return {
        "subscriptionId": pick("subscriptionId", "azure-native:subscriptionId", PLACEHOLDER_SUBSCRIPTION_ID,
                               "subscriptionId"),
        "tenantId": pick("tenantId", "azure-native:tenantId", PLACEHOLDER_TENANT_ID, "tenantId"),
        "clientId": pick("clientId", "azure-native:clientId", PLACEHOLDER_PRINCIPAL_ID, "clientId"),
        "objectId": call.context.placeholder(call.token, "objectId", PLACEHOLDER_PRINCIPAL_ID,
                                             "(never known offline)"),
    }  # fmt: skip


@dataclass(frozen=True)
class Entry:
    kind: str  # computed | context
    answer: Callable[[Call], dict]


TABLE: dict[str, Entry] = {
    POLICY_DOCUMENT: Entry("computed", lambda call: get_policy_document(call.args)),
    "aws:index/getPartition:getPartition": Entry("computed", aws_partition),
    "aws:index/getRegion:getRegion": Entry("context", aws_get_region),
    "aws:index/getCallerIdentity:getCallerIdentity": Entry("context", aws_caller_identity),
    "aws:index/getAvailabilityZones:getAvailabilityZones": Entry("context", aws_availability_zones),
    "gcp:organizations/getProject:getProject": Entry("context", gcp_project),
    "gcp:organizations/getClientConfig:getClientConfig": Entry("context", gcp_client_config),
    "azure-native:authorization:getClientConfig": Entry("context", azure_client_config),
}


def _echoed(cls: type, args: dict) -> dict:
    """The arguments a result class echoes back (its fields of the same name): known at preview."""
    from pulumi import _types

    fields = _types.output_type_types(cls)
    return {k: v for k, v in args.items() if k in fields and v is not None}


class Invokes:
    """Answers a render's invokes and records, per token, how each was answered."""

    def __init__(self, context: Context):
        self.context = context
        self.answered: dict[str, dict[str, Any]] = {}

    def _note(self, token: str, kind: str) -> None:
        entry = self.answered.setdefault(token, {"token": token, "answer": kind, "count": 0})
        entry["count"] += 1

    def answer(self, token: str, args: dict, provider: dict) -> Any:
        """The result dict, or WHOLLY_UNKNOWN. Raises the entry's own error for bad arguments."""
        entry = TABLE.get(token)
        if entry is not None:
            self._note(token, entry.kind)
            result = entry.answer(Call(token, args, provider, self.context))
            cls = result_class(token) if entry.kind == "context" else None
            # A context entry answers the fields a provider reads from its configuration; the
            # others are unknown, in their declared type.
            return result if cls is None else placeholder(cls, token) | _echoed(cls, args) | result
        if OUTPUT_FORM.get():
            self._note(token, "unknown")
            return WHOLLY_UNKNOWN
        cls = result_class(token)
        if cls is None:
            self._note(token, "unsupported")
            return {}
        self._note(token, "unknown")
        return placeholder(cls, token) | _echoed(cls, args)

    def summary(self) -> list[dict[str, Any]]:
        return [self.answered[t] for t in sorted(self.answered)]

    def placeholders(self) -> list[dict[str, str]]:
        return [self.context.placeholders[k] for k in sorted(self.context.placeholders)]
