"""Cloud Run: no service (above all, the worker) is invokable by allUsers or allAuthenticatedUsers."""

from collections.abc import Mapping

from pulumi_policy import Severity

from skyrelay.policies.props import as_json, as_list, get, truthy
from skyrelay.policies.rule import Rule, resource_policy

SERVICE_V2 = "gcp:cloudrunv2/service:Service"
MEMBER_TYPES = ("gcp:cloudrunv2/serviceIamMember:ServiceIamMember", "gcp:cloudrun/iamMember:IamMember")
BINDING_TYPES = ("gcp:cloudrunv2/serviceIamBinding:ServiceIamBinding", "gcp:cloudrun/iamBinding:IamBinding")
POLICY_TYPES = ("gcp:cloudrunv2/serviceIamPolicy:ServiceIamPolicy", "gcp:cloudrun/iamPolicy:IamPolicy")
PUBLIC = {"allUsers", "allAuthenticatedUsers"}
INVOKER_ROLES = {"roles/run.invoker", "roles/run.admin", "roles/owner", "roles/editor"}

NOT_PUBLIC = Rule(
    id="gcp-cloudrun-not-public",
    description="Cloud Run services (the worker above all) are not invokable by allUsers or allAuthenticatedUsers.",
    severity=Severity.CRITICAL,
    checkov=("CKV_GCP_102",),
    cloud="gcp",
    remediation=(
        "Grant roles/run.invoker to the service accounts that call the service (Cloud Tasks, API Gateway), "
        "not to allUsers; keep `invoker_iam_disabled` false. Exempt a deliberately public endpoint by URN."
    ),
)


def public_grants(role, members) -> list[str]:
    if role not in INVOKER_ROLES:
        return []
    return [m for m in as_list(members) if m in PUBLIC]


def check(args):
    props, kind = args.props, args.resource_type
    found: list[str] = []
    if kind == SERVICE_V2:
        if truthy(get(props, "invokerIamDisabled")):
            yield "invokerIamDisabled is true: anyone can invoke the service"
        return
    if kind in MEMBER_TYPES:
        found = public_grants(get(props, "role"), [get(props, "member")])
    elif kind in BINDING_TYPES:
        found = public_grants(get(props, "role"), get(props, "members"))
    elif kind in POLICY_TYPES:
        doc = as_json(get(props, "policyData"))
        for binding in as_list(get(doc, "bindings") if isinstance(doc, Mapping) else None):
            found += public_grants(get(binding, "role"), get(binding, "members"))
    if found:
        yield f"grants invoke to {', '.join(sorted(set(found)))}"


POLICIES = [resource_policy(NOT_PUBLIC, check, [SERVICE_V2, *MEMBER_TYPES, *BINDING_TYPES, *POLICY_TYPES])]
