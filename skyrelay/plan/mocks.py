"""Mock provider answers that look like the real thing: ids, ARNs, URLs and resource ids.

Components compose these values into policies and environment variables, so realistic shapes
let a plan show (and the policy pack judge) what a real deployment would get. The render runs in
preview mode: an output these answers leave out is unknown, as it is in `pulumi preview`, and so is
any answer built from an input that is itself unknown (see `new_resource`). Invokes are answered by
invokes.py.
"""

import hashlib
from typing import Any

import pulumi
from pulumi.output import Unknown

from skyrelay.plan.invokes import (
    PLACEHOLDER_ACCOUNT_ID as ACCOUNT_ID,
)
from skyrelay.plan.invokes import (
    PLACEHOLDER_GCP_PROJECT_NUMBER as GCP_PROJECT_NUMBER,
)
from skyrelay.plan.invokes import (
    PLACEHOLDER_SUBSCRIPTION_ID as SUBSCRIPTION_ID,
)
from skyrelay.plan.invokes import (
    PLACEHOLDER_TENANT_ID as TENANT_ID,
)
from skyrelay.plan.invokes import Context, Invokes
from skyrelay.plan.unknowns import UNKNOWN, taint

__all__ = ["ACCOUNT_ID", "GCP_PROJECT_NUMBER", "SUBSCRIPTION_ID", "TENANT_ID", "PlanMocks"]


def _short_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:8]


class PlanMocks(pulumi.runtime.Mocks):
    """Answers resource registrations and invokes for the three providers."""

    def __init__(
        self,
        region: str = "us-east-1",
        gcp_project: str = "skyrelay-dev",
        location: str = "westeurope",
        context: Context | None = None,
    ):
        self.region = region
        self.gcp_project = gcp_project
        self.location = location
        self.invokes = Invokes(context or Context())
        self.providers: dict[str, dict] = {}  # provider URN -> its inputs (filled by the monitor)

    def provider_inputs(self, ref: str | None) -> dict:
        """The inputs of the explicit provider a `urn::id` reference names (empty for the default)."""
        return self.providers.get((ref or "").rsplit("::", 1)[0], {})

    # ---- resources ----
    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        """(id, outputs). Inputs unknown at preview arrive as the SDK's Unknown; they are echoed
        unknown, and an id, ARN or URL composed from one contains the sentinel and is unknown too."""
        state = _with_sentinels(dict(args.inputs))
        provider = args.typ.split(":", 1)[0]
        if args.typ.startswith("pulumi:providers:"):
            rid = f"{args.name}-provider-id"
        elif provider == "aws":
            rid, state = self._aws(args, state)
        elif provider == "azure-native":
            rid, state = self._azure(args, state)
        elif provider == "gcp":
            rid, state = self._gcp(args, state)
        else:
            rid = f"{args.name}-id"
        rid = taint(rid)
        return ("" if rid == UNKNOWN else rid), taint(state)

    def _aws(self, args, state: dict) -> tuple[str, dict]:
        module, kind = _module_and_kind(args.typ)
        name = state.get("name") or f"{args.name}-{_short_hash(args.name)}"
        region = self.provider_inputs(args.provider).get("region") or self.region
        arn_prefix = f"arn:aws:{module}:{region}:{ACCOUNT_ID}"
        if kind in _AWS_NAMED_KINDS:
            state.setdefault("name", name)  # the engine's autonaming, which mocks skip
        state.setdefault("arn", f"{arn_prefix}:{name}")
        if "tags" in state:
            state.setdefault("tagsAll", state["tags"])
        rid = name
        if module == "sqs" and kind == "Queue":
            rid = f"https://sqs.{region}.amazonaws.com/{ACCOUNT_ID}/{name}"
            state["url"] = rid
            state["arn"] = f"{arn_prefix}:{name}"
        elif module == "sns" and kind == "Topic":
            rid = state["arn"]
        elif module == "lambda" and kind == "Function":
            state["arn"] = f"{arn_prefix}:function:{name}"
            state["invokeArn"] = (
                f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{state['arn']}/invocations"
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
            state["arn"] = f"arn:aws:logs:{region}:{ACCOUNT_ID}:log-group:{name}"
        elif module == "apigateway" and kind == "RestApi":
            rid = _short_hash(args.name) + "ab"
            state["rootResourceId"] = _short_hash(args.name + "root")
            state["executionArn"] = f"arn:aws:execute-api:{region}:{ACCOUNT_ID}:{rid}"
        elif module == "apigateway" and kind == "Stage":
            api = state.get("restApi", "api")
            state["invokeUrl"] = f"https://{api}.execute-api.{region}.amazonaws.com/{state.get('stageName', 'v1')}"
            state["executionArn"] = f"arn:aws:execute-api:{region}:{ACCOUNT_ID}:{api}/{state.get('stageName')}"
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
            state["functionArn"] = f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{state.get('functionName', name)}"
            state["state"] = "Enabled"
        elif module == "cloudwatch" and kind == "MetricAlarm":
            state["arn"] = f"arn:aws:cloudwatch:{region}:{ACCOUNT_ID}:alarm:{name}"
        elif module == "cloudwatch" and kind == "Dashboard":
            rid = state.get("dashboardName", name)
            state["dashboardArn"] = f"arn:aws:cloudwatch::{ACCOUNT_ID}:dashboard/{rid}"
        elif module == "cognito" and kind == "UserPool":
            rid = f"{region}_{_short_hash(args.name)[:9]}"
            state["arn"] = f"arn:aws:cognito-idp:{region}:{ACCOUNT_ID}:userpool/{rid}"
            state["endpoint"] = f"cognito-idp.{region}.amazonaws.com/{rid}"
        elif module == "cognito" and kind == "UserPoolClient":
            rid = _short_hash(args.name) * 3 + "ab"
        elif module == "wafv2" and kind == "WebAcl":
            rid = f"{_short_hash(args.name)}-1234-4abc-8def-{_short_hash(args.name + 'acl')}0000"
            state["arn"] = f"arn:aws:wafv2:{region}:{ACCOUNT_ID}:regional/webacl/{name}/{rid}"
        elif module == "s3" and kind in ("Bucket", "BucketV2"):
            rid = state.setdefault("bucket", f"{args.name}-{_short_hash(args.name)}")  # autonamed at preview
            state["arn"] = f"arn:aws:s3:::{rid}"
            state.setdefault("bucketDomainName", f"{rid}.s3.amazonaws.com")
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
        # azure-native v3 takes user-assigned identities as a list of ids and answers a map keyed by id.
        identity = state.get("identity")
        if isinstance(identity, dict) and isinstance(identity.get("userAssignedIdentities"), list):
            state["identity"] = {**identity, "userAssignedIdentities": {i: {} for i in identity["userAssignedIdentities"]}}
        # The provider's Check fills the location in from its config: known at preview.
        state.setdefault("location", self.provider_inputs(args.provider).get("location") or self.location)
        state["id"] = rid
        return rid, state

    def _gcp(self, args, state: dict) -> tuple[str, dict]:
        module, kind = _module_and_kind(args.typ)
        project = state.get("project") or self.provider_inputs(args.provider).get("project") or self.gcp_project
        name = state.get("name") or args.name
        rid = f"projects/{project}/{kind[0].lower()}{kind[1:]}s/{name}"
        if module == "cloudrunv2" and kind == "Service":
            state["uri"] = f"https://{name}-{_short_hash(name)}-ew.a.run.app"
        if module == "serviceaccount" and kind == "Account":
            state["email"] = f"{state.get('accountId', name)}@{project}.iam.gserviceaccount.com"
            state["member"] = "serviceAccount:" + state["email"]
        if module == "pubsub" and kind == "Topic":
            rid = f"projects/{project}/topics/{name}"
        # ---- GCP (issue 12): outputs the GCP components compose into documents and environments ----
        if module == "projects" and kind == "ApiKey":
            state["keyString"] = pulumi.Output.secret("AIzaSyMock" + _short_hash(args.name) * 4)
        if module == "apigateway" and kind == "Api":
            state["managedService"] = f"{state.get('apiId', name)}-{_short_hash(name)}.apigateway.{project}.cloud.goog"
        if module == "apigateway" and kind == "Gateway":
            state["defaultHostname"] = f"{state.get('gatewayId', name)}-{_short_hash(name)}.ew.gateway.dev"
        if module == "secretmanager" and kind == "Secret":
            rid = f"projects/{project}/secrets/{state.get('secretId', name)}"
        # ---- end GCP ----
        if module == "billing" and kind == "Budget":
            rid = f"billingAccounts/{state.get('billingAccount', 'X')}/budgets/{_short_hash(args.name)}"
        state.setdefault("project", project)  # the provider fills it in from its config at preview
        if "labels" in state:
            state.setdefault("effectiveLabels", state["labels"])
            state.setdefault("pulumiLabels", state["labels"])
        state.setdefault("name", name)
        state["id"] = rid
        return rid, state

    # ---- invokes (the monitor answers them through `invokes`; kept for the Mocks interface) ----
    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        answer = self.invokes.answer(args.token, dict(args.args), self.provider_inputs(args.provider))
        return {} if not isinstance(answer, dict) else answer


def _with_sentinels(value: Any) -> Any:
    """The SDK's Unknown values as the sentinel string, so answers composed from them contain it."""
    if isinstance(value, Unknown):
        return UNKNOWN
    if isinstance(value, dict):
        return {k: _with_sentinels(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_with_sentinels(v) for v in value]
    return value


# Types whose `name` output the engine fills in by autonaming when the program leaves it unset.
_AWS_NAMED_KINDS = {
    "Queue", "Topic", "Function", "Table", "Role", "Policy", "Budget", "RestApi", "LogGroup", "Secret",
    "MetricAlarm", "UsagePlan", "ApiKey", "UserPool", "UserPoolClient", "WebAcl", "Authorizer", "EventRule",
}


def _module_and_kind(type_token: str) -> tuple[str, str]:
    """`aws:sqs/queue:Queue` -> ("sqs", "Queue"); `azure-native:cosmosdb:DatabaseAccount` -> ("cosmosdb", ...)."""
    _, module, kind = type_token.split(":", 2)
    return module.split("/")[0].removesuffix("_"), kind
