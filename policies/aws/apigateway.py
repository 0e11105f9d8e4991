"""API Gateway (REST v1 and HTTP/WebSocket v2): access logs, data trace off, auth on every method,
usage plans with throttles, and no synchronous integration longer than the 29 s client budget."""

from pulumi_policy import Severity

from skyrelay.policies import config
from skyrelay.policies.props import Graph, as_list, as_map, get, number, of_type, truthy
from skyrelay.policies.rule import Rule, resource_policy, stack_policy

STAGE = "aws:apigateway/stage:Stage"
STAGE_V2 = "aws:apigatewayv2/stage:Stage"
METHOD_SETTINGS = "aws:apigateway/methodSettings:MethodSettings"
METHOD = "aws:apigateway/method:Method"
ROUTE_V2 = "aws:apigatewayv2/route:Route"
INTEGRATION = "aws:apigateway/integration:Integration"
INTEGRATION_V2 = "aws:apigatewayv2/integration:Integration"
REST_API = "aws:apigateway/restApi:RestApi"
USAGE_PLAN = "aws:apigateway/usagePlan:UsagePlan"

ACCESS_LOGS = Rule(
    id="aws-apigw-access-logs",
    description="API Gateway stages write access logs.",
    severity=Severity.MEDIUM,
    checkov=("CKV_AWS_76",),
    cloud="aws",
    remediation="Set the stage's `access_log_settings` (a log group ARN with retention, and a JSON format).",
)
DATA_TRACE = Rule(
    id="aws-apigw-data-trace-off",
    description="API Gateway does not log full request and response bodies (data trace is off).",
    severity=Severity.HIGH,
    checkov=("CKV_AWS_276",),
    cloud="aws",
    remediation="Set `data_trace_enabled=False` in method settings; prompts and completions must not reach logs.",
)
METHOD_AUTH = Rule(
    id="aws-apigw-method-auth",
    description="Every API Gateway method or route requires an authorizer, IAM auth or an API key.",
    severity=Severity.CRITICAL,
    checkov=("CKV_AWS_59",),
    cloud="aws",
    remediation=(
        "Set `authorization` (AWS_IAM, CUSTOM, COGNITO_USER_POOLS; JWT on v2) or `api_key_required=True`. "
        "CORS preflight (OPTIONS) is exempt."
    ),
)
USAGE_PLAN_THROTTLE = Rule(
    id="aws-apigw-usage-plan-throttle",
    description="Every REST API is in a usage plan, and every usage plan sets throttle limits.",
    severity=Severity.MEDIUM,
    cloud="aws",
    kind="stack",
    remediation=(
        "Create an `aws.apigateway.UsagePlan` per tier with `api_stages` for the API's stage and "
        "`throttle_settings` (burst_limit, rate_limit) from the tier table."
    ),
)
INTEGRATION_TIMEOUT = Rule(
    id="aws-apigw-integration-timeout",
    description="No synchronous API Gateway integration waits longer than 29 s; long work goes through the queue.",
    severity=Severity.MEDIUM,
    cloud="aws",
    config=("maxIntegrationTimeoutMs",),
    remediation="Keep `timeout_milliseconds` at or below 29000 and return 202 with a job id for long-running calls.",
)


def check_access_logs(args):
    if not get(args.props, "accessLogSettings.destinationArn"):
        yield "accessLogSettings.destinationArn is not set"


def check_data_trace(args):
    if args.resource_type == METHOD_SETTINGS:
        settings = [get(args.props, "settings")]
    else:
        settings = [get(args.props, "defaultRouteSettings"), *as_list(get(args.props, "routeSettings"))]
    if any(truthy(get(s, "dataTraceEnabled")) for s in settings if s):
        yield "dataTraceEnabled is true"


def check_method_auth(args):
    props = args.props
    if truthy(get(props, "apiKeyRequired")):
        return
    if args.resource_type == METHOD:
        if str(get(props, "httpMethod", "")).upper() == "OPTIONS":
            return
        auth = str(get(props, "authorization", "NONE")).upper()
    else:
        if str(get(props, "routeKey", "")).upper().startswith("OPTIONS "):
            return
        auth = str(get(props, "authorizationType", "NONE")).upper()
    if auth == "NONE":
        yield "authorization is NONE and no API key is required"


def check_integration_timeout(args):
    limit = number(config.value(args.get_config(), "maxIntegrationTimeoutMs"), 29000)
    timeout = number(get(args.props, "timeoutMilliseconds"))
    if timeout is not None and timeout > limit:
        yield f"timeoutMilliseconds {timeout:g} > {limit:g}"


def _throttled(plan) -> bool:
    throttle = as_map(get(plan.props, "throttleSettings"))
    return (number(throttle.get("rateLimit")) or 0) > 0 and (number(throttle.get("burstLimit")) or 0) > 0


def check_usage_plans(args):
    graph = Graph.of(args.resources, REST_API)
    planned = set()
    for plan in of_type(args.resources, USAGE_PLAN):
        if not _throttled(plan):
            yield "usage plan has no throttleSettings (rateLimit and burstLimit)", plan.urn
        planned.update(a.urn for a in graph.targets(plan, "apiStages", None, [REST_API]))
        for stage in as_list(get(plan.props, "apiStages")):
            planned.update(a.urn for a in graph.targets(plan, "", get(stage, "apiId"), [REST_API]))
    for api in of_type(args.resources, REST_API):
        if api.urn not in planned:
            yield "REST API is in no usage plan, so clients are not throttled", api.urn


POLICIES = [
    resource_policy(ACCESS_LOGS, check_access_logs, [STAGE, STAGE_V2]),
    resource_policy(DATA_TRACE, check_data_trace, [METHOD_SETTINGS, STAGE_V2]),
    resource_policy(METHOD_AUTH, check_method_auth, [METHOD, ROUTE_V2]),
    stack_policy(USAGE_PLAN_THROTTLE, check_usage_plans),
    resource_policy(INTEGRATION_TIMEOUT, check_integration_timeout, [INTEGRATION, INTEGRATION_V2]),
]
