"""Mock provider answers that look like the real thing: ids, ARNs, URLs and resource ids.

Components compose these values into policies and environment variables, so realistic shapes
let a plan show (and the policy pack judge) what a real deployment would get.
"""

import hashlib
from typing import Any

import pulumi

ACCOUNT_ID = "123456789012"
SUBSCRIPTION_ID = "00000000-0000-0000-0000-000000000000"
TENANT_ID = "11111111-1111-1111-1111-111111111111"
GCP_PROJECT_NUMBER = "123456789012"


def _short_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:8]


class PlanMocks(pulumi.runtime.Mocks):
    """Answers resource registrations and invokes for the three providers."""

    def __init__(self, region: str = "us-east-1", gcp_project: str = "skyrelay-dev", location: str = "westeurope"):
        self.region = region
        self.gcp_project = gcp_project
        self.location = location

    # ---- resources ----
    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        state = dict(args.inputs)
        provider = args.typ.split(":", 1)[0]
        if args.typ.startswith("pulumi:providers:"):
            return f"{args.name}-provider-id", state
        if provider == "aws":
            return self._aws(args, state)
        if provider == "azure-native":
            return self._azure(args, state)
        if provider == "gcp":
            return self._gcp(args, state)
        return f"{args.name}-id", state

    def _aws(self, args, state: dict) -> tuple[str, dict]:
        module, kind = _module_and_kind(args.typ)
        name = state.get("name") or f"{args.name}-{_short_hash(args.name)}"
        arn_prefix = f"arn:aws:{module}:{self.region}:{ACCOUNT_ID}"
        if kind in _AWS_NAMED_KINDS:
            state.setdefault("name", name)  # the engine's autonaming, which mocks skip
        state.setdefault("arn", f"{arn_prefix}:{name}")
        if "tags" in state:
            state.setdefault("tagsAll", state["tags"])
        rid = name
        if module == "sqs" and kind == "Queue":
            rid = f"https://sqs.{self.region}.amazonaws.com/{ACCOUNT_ID}/{name}"
            state["url"] = rid
            state["arn"] = f"{arn_prefix}:{name}"
        elif module == "sns" and kind == "Topic":
            rid = state["arn"]
        elif module == "lambda" and kind == "Function":
            state["arn"] = f"{arn_prefix}:function:{name}"
            state["invokeArn"] = (
                f"arn:aws:apigateway:{self.region}:lambda:path/2015-03-31/functions/{state['arn']}/invocations"
            )
            state.setdefault("qualifiedArn", state["arn"] + ":$LATEST")
        elif module == "dynamodb" and kind == "Table":
            state["arn"] = f"{arn_prefix}:table/{name}"
            state["streamArn"] = state["arn"] + "/stream/2026-01-01T00:00:00.000"
        elif module == "iam":
            state["arn"] = f"arn:aws:iam::{ACCOUNT_ID}:{kind.lower()}/{name}"
        elif module == "kms" and kind == "Key":
            rid = "1234abcd-12ab-34cd-56ef-" + _short_hash(args.name) + "abcd"
            state["arn"] = f"{arn_prefix}:key/{rid}"
            state["keyId"] = rid
        elif module == "cloudwatch" and kind == "LogGroup":
            state["arn"] = f"arn:aws:logs:{self.region}:{ACCOUNT_ID}:log-group:{name}"
        elif module == "apigateway" and kind == "RestApi":
            rid = _short_hash(args.name) + "ab"
            state["rootResourceId"] = _short_hash(args.name + "root")
            state["executionArn"] = f"arn:aws:execute-api:{self.region}:{ACCOUNT_ID}:{rid}"
        elif module == "apigateway" and kind == "Stage":
            api = state.get("restApi", "api")
            state["invokeUrl"] = f"https://{api}.execute-api.{self.region}.amazonaws.com/{state.get('stageName', 'v1')}"
            state["executionArn"] = f"arn:aws:execute-api:{self.region}:{ACCOUNT_ID}:{api}/{state.get('stageName')}"
        elif module == "secretsmanager" and kind == "Secret":
            state["arn"] = f"{arn_prefix}:secret:{name}-AbCdEf"
            rid = state["arn"]
        elif module == "apigateway" and kind == "ApiKey":
            state["value"] = pulumi.Output.secret("mock-api-key-" + _short_hash(args.name))
            rid = _short_hash(args.name + "key") + "k1"
        elif module == "apigateway" and kind in ("Resource", "Deployment", "UsagePlan", "Authorizer", "RequestValidator"):
            rid = _short_hash(args.name + kind)[:6]
            if kind == "Deployment":
                state["createdDate"] = "2026-01-01T00:00:00Z"
        elif module == "lambda" and kind == "EventSourceMapping":
            rid = f"{_short_hash(args.name)}-1234-4abc-8def-{_short_hash(args.name + 'esm')}0000"
            state["uuid"] = rid
            state["functionArn"] = f"arn:aws:lambda:{self.region}:{ACCOUNT_ID}:function:{state.get('functionName', name)}"
            state["state"] = "Enabled"
        elif module == "cloudwatch" and kind == "MetricAlarm":
            state["arn"] = f"arn:aws:cloudwatch:{self.region}:{ACCOUNT_ID}:alarm:{name}"
        elif module == "cloudwatch" and kind == "Dashboard":
            rid = state.get("dashboardName", name)
            state["dashboardArn"] = f"arn:aws:cloudwatch::{ACCOUNT_ID}:dashboard/{rid}"
        elif module == "cognito" and kind == "UserPool":
            rid = f"{self.region}_{_short_hash(args.name)[:9]}"
            state["arn"] = f"arn:aws:cognito-idp:{self.region}:{ACCOUNT_ID}:userpool/{rid}"
            state["endpoint"] = f"cognito-idp.{self.region}.amazonaws.com/{rid}"
        elif module == "cognito" and kind == "UserPoolClient":
            rid = _short_hash(args.name) * 3 + "ab"
        elif module == "wafv2" and kind == "WebAcl":
            rid = f"{_short_hash(args.name)}-1234-4abc-8def-{_short_hash(args.name + 'acl')}0000"
            state["arn"] = f"arn:aws:wafv2:{self.region}:{ACCOUNT_ID}:regional/webacl/{name}/{rid}"
        elif module == "secretsmanager" and kind == "SecretVersion":
            rid = f"{state.get('secretId', name)}|{_short_hash(args.name)}"
            state["versionId"] = _short_hash(args.name)
        state.setdefault("id", rid)
        return rid, state

    def _azure(self, args, state: dict) -> tuple[str, dict]:
        module, kind = _module_and_kind(args.typ)
        name = state.get("name") or state.get(f"{kind[0].lower()}{kind[1:]}Name") or args.name
        rg = state.get("resourceGroupName", "rg")
        rid = (
            f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{rg}/providers/Microsoft.{module.capitalize()}/"
            f"{kind[0].lower()}{kind[1:]}s/{name}"
        )
        if kind == "ResourceGroup":
            rid = f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{state.get('resourceGroupName', name)}"
        state.setdefault("name", name)
        state["id"] = rid
        return rid, state

    def _gcp(self, args, state: dict) -> tuple[str, dict]:
        module, kind = _module_and_kind(args.typ)
        project = state.get("project", self.gcp_project)
        name = state.get("name") or args.name
        rid = f"projects/{project}/{kind[0].lower()}{kind[1:]}s/{name}"
        if module == "cloudrunv2" and kind == "Service":
            state["uri"] = f"https://{name}-{_short_hash(name)}-ew.a.run.app"
        if module == "serviceaccount" and kind == "Account":
            state["email"] = f"{state.get('accountId', name)}@{project}.iam.gserviceaccount.com"
            state["member"] = "serviceAccount:" + state["email"]
        if module == "pubsub" and kind == "Topic":
            rid = f"projects/{project}/topics/{name}"
        if module == "billing" and kind == "Budget":
            rid = f"billingAccounts/{state.get('billingAccount', 'X')}/budgets/{_short_hash(args.name)}"
        if "labels" in state:
            state.setdefault("effectiveLabels", state["labels"])
            state.setdefault("pulumiLabels", state["labels"])
        state.setdefault("name", name)
        state["id"] = rid
        return rid, state

    # ---- invokes ----
    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        token = args.token
        if token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": ACCOUNT_ID, "arn": f"arn:aws:iam::{ACCOUNT_ID}:user/plan", "userId": "PLAN"}
        if token == "aws:index/getRegion:getRegion":
            return {"name": self.region, "region": self.region, "id": self.region}
        if token == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com"}
        if token == "aws:secretsmanager/getRandomPassword:getRandomPassword":
            return {"randomPassword": "mock-random-" + _short_hash(str(sorted(args.args.items())))}
        if token.startswith("azure-native:authorization:getClientConfig"):
            return {"subscriptionId": SUBSCRIPTION_ID, "tenantId": TENANT_ID, "clientId": "plan", "objectId": "plan"}
        if token == "gcp:organizations/getProject:getProject":
            return {"projectId": args.args.get("projectId", self.gcp_project), "number": GCP_PROJECT_NUMBER}
        if token == "gcp:organizations/getClientConfig:getClientConfig":
            return {"project": self.gcp_project, "region": "europe-west1", "accessToken": "plan"}
        return {}


# Types whose `name` output the engine fills in by autonaming when the program leaves it unset.
_AWS_NAMED_KINDS = {
    "Queue", "Topic", "Function", "Table", "Role", "Policy", "Budget", "RestApi", "LogGroup", "Secret",
    "MetricAlarm", "UsagePlan", "ApiKey", "UserPool", "UserPoolClient", "WebAcl", "Authorizer",
}


def _module_and_kind(type_token: str) -> tuple[str, str]:
    """`aws:sqs/queue:Queue` -> ("sqs", "Queue"); `azure-native:cosmosdb:DatabaseAccount` -> ("cosmosdb", ...)."""
    _, module, kind = type_token.split(":", 2)
    return module.split("/")[0].removesuffix("_"), kind
