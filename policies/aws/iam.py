"""IAM: no wildcard actions in the policies of roles (and managed policies) the stack creates."""

from collections.abc import Mapping

from pulumi_policy import Severity

from skyrelay.policies.props import as_json, as_list, get
from skyrelay.policies.rule import Rule, resource_policy

ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
POLICY = "aws:iam/policy:Policy"

NO_WILDCARD = Rule(
    id="aws-iam-no-wildcard-actions",
    description='IAM policies the stack creates allow no "*" or "service:*" actions.',
    severity=Severity.CRITICAL,
    checkov=("CKV_AWS_63", "CKV_AWS_290"),
    cloud="aws",
    remediation="List the actions the role needs (e.g. sqs:ReceiveMessage, sqs:DeleteMessage) on the resources it uses.",
)


def wildcard_actions(document) -> list[str]:
    doc = as_json(document)
    if not isinstance(doc, Mapping):
        return []
    found = []
    for st in as_list(doc.get("Statement")):
        if not isinstance(st, Mapping) or st.get("Effect", "Allow") != "Allow":
            continue
        if "NotAction" in st:
            found.append("NotAction")
        found += [a for a in as_list(st.get("Action")) if isinstance(a, str) and (a == "*" or a.endswith(":*"))]
    return found


def check(args):
    if args.resource_type == ROLE:
        documents = [get(p, "policy") for p in as_list(get(args.props, "inlinePolicies"))]
    else:
        documents = [get(args.props, "policy")]
    found = sorted({a for d in documents if d for a in wildcard_actions(d)})
    if found:
        yield f"policy allows wildcard actions: {', '.join(found)}"


POLICIES = [resource_policy(NO_WILDCARD, check, [ROLE, ROLE_POLICY, POLICY])]
