"""Lambda: X-Ray tracing, reserved concurrency, log retention, no secrets in environment values,
and a runtime AWS still supports."""

import re

from pulumi_policy import Severity

from skyrelay.policies import config
from skyrelay.policies.props import Graph, as_map, get, number, of_type
from skyrelay.policies.rule import ADVISORY, Rule, resource_policy, stack_policy

FUNCTION = "aws:lambda/function:Function"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"

# Runtimes whose deprecation date (function create/update blocked, or no more patches) has passed.
DEPRECATED_RUNTIMES = frozenset(
    {
        "python2.7", "python3.6", "python3.7", "python3.8", "python3.9",
        "nodejs", "nodejs4.3", "nodejs4.3-edge", "nodejs6.10", "nodejs8.10", "nodejs10.x", "nodejs12.x",
        "nodejs14.x", "nodejs16.x", "nodejs18.x",
        "java8", "dotnetcore1.0", "dotnetcore2.0", "dotnetcore2.1", "dotnetcore3.1", "dotnet5.0", "dotnet6",
        "dotnet7", "go1.x", "ruby2.5", "ruby2.7", "ruby3.2", "provided",
    }
)  # fmt: skip

TRACING = Rule(
    id="aws-lambda-tracing",
    description="Lambda functions send traces to X-Ray (active tracing).",
    severity=Severity.LOW,
    enforcement=ADVISORY,
    checkov=("CKV_AWS_50",),
    cloud="aws",
    remediation='Set `tracing_config={"mode": "Active"}` and allow xray:PutTraceSegments in the role.',
)
RESERVED = Rule(
    id="aws-lambda-reserved-concurrency",
    description="Lambda functions have reserved concurrency, which bounds both spend and downstream load.",
    severity=Severity.MEDIUM,
    checkov=("CKV_AWS_115",),
    cloud="aws",
    remediation="Set `reserved_concurrent_executions` to the concurrency the model quota can serve (not -1).",
)
LOGS = Rule(
    id="aws-lambda-log-retention",
    description="Every Lambda function logs to a CloudWatch log group with a retention period.",
    severity=Severity.MEDIUM,
    checkov=("CKV_AWS_66", "CKV_AWS_338"),
    cloud="aws",
    kind="stack",
    remediation=(
        "Create the log group before the function (`/aws/lambda/<name>`, or pass it in `logging_config`) "
        "with `retention_in_days`; without one, Lambda creates a group that keeps logs forever."
    ),
)
SECRETS = Rule(
    id="aws-lambda-no-plaintext-secrets",
    description="Lambda environment variables hold no secret values; they reference a secret store instead.",
    severity=Severity.CRITICAL,
    checkov=("CKV_AWS_45",),
    cloud="aws",
    remediation=(
        "Keep the value in Secrets Manager (or SSM SecureString) and pass its ARN, e.g. "
        "`WEBHOOK_SECRET_ARN`; the function reads it at start-up. Environment values are visible to "
        "anyone who can read the function's configuration."
    ),
)
RUNTIME = Rule(
    id="aws-lambda-runtime-supported",
    description="Lambda functions use a runtime that AWS has not deprecated.",
    severity=Severity.HIGH,
    checkov=("CKV_AWS_363",),
    cloud="aws",
    config=("deprecatedRuntimes",),
    remediation="Move to a supported runtime such as python3.12 or python3.13 (or nodejs22.x).",
)

# Names that announce a secret, unless they only point at one (…_ARN, …_NAME, …_ID, …_URL …).
SECRET_NAME = re.compile(r"(SECRET|PASSWORD|PASSWD|TOKEN|API_?KEY|PRIVATE_?KEY|CREDENTIAL|ACCESS_?KEY)", re.I)
REFERENCE_NAME = re.compile(r"(_ARN|_NAME|_ID|_URL|_URI|_PATH|_PARAM(ETER)?|_REF|_ENDPOINT|_HEADER)$", re.I)
REFERENCE_VALUE = re.compile(r"^(arn:aws[\w-]*:|\{\{resolve:|https?://|/)")
# Values that are credentials whatever their name.
SECRET_VALUE = re.compile(
    r"(AKIA|ASIA)[0-9A-Z]{16}|-----BEGIN [A-Z ]*PRIVATE KEY-----|\bsk-[A-Za-z0-9_-]{20,}|\bghp_[A-Za-z0-9]{36}"
    r"|\bxox[abposr]-[A-Za-z0-9-]{10,}|\bAIza[0-9A-Za-z_-]{35}"
)


def check_tracing(args):
    mode = get(args.props, "tracingConfig.mode")
    if mode != "Active":
        yield f"tracingConfig.mode is {mode or 'unset'}, not Active"


def check_reserved(args):
    value = number(get(args.props, "reservedConcurrentExecutions"))
    if value is None or value < 0:
        yield "reservedConcurrentExecutions is not set (unreserved)"


def secret_env_names(variables) -> list[str]:
    found = []
    for name, value in as_map(variables).items():
        if not isinstance(value, str) or not value:
            continue
        if SECRET_VALUE.search(value) or SECRET_NAME.search(name) and not REFERENCE_NAME.search(name) and not REFERENCE_VALUE.match(value):
            found.append(name)
    return found


def check_secrets(args):
    names = secret_env_names(get(args.props, "environment.variables"))
    if names:
        yield f"environment variables look like plaintext secrets: {', '.join(sorted(names))}"


def check_runtime(args):
    runtime = get(args.props, "runtime")
    deprecated = config.value(args.get_config(), "deprecatedRuntimes") or DEPRECATED_RUNTIMES
    if runtime and runtime in deprecated:
        yield f"runtime {runtime} is deprecated"


def check_logs(args):
    graph = Graph.of(args.resources, FUNCTION, LOG_GROUP)
    groups_of: dict[str, list] = {}
    for group in of_type(args.resources, LOG_GROUP):
        group_name = str(get(group.props, "name") or "")
        # a group named after the function: "/aws/lambda/" + fn.name (an Output) or the literal name
        owners = graph.targets(group, "name", group_name.removeprefix("/aws/lambda/") or None, [FUNCTION])
        for fn in owners:
            groups_of.setdefault(fn.urn, []).append(group)
    by_name = {get(g.props, "name"): g for g in of_type(args.resources, LOG_GROUP) if get(g.props, "name")}
    for function in of_type(args.resources, FUNCTION):
        mine = list(groups_of.get(function.urn, []))
        configured = get(function.props, "loggingConfig.logGroup")
        if configured:
            mine += graph.targets(function, "loggingConfig", configured, [LOG_GROUP])
            mine += [by_name[configured]] if configured in by_name else []
        else:
            mine += [d for d in function.dependencies if d.resource_type == LOG_GROUP
                     and str(get(d.props, "name") or "").startswith("/aws/lambda/")]  # fmt: skip
        if not mine:
            yield "no CloudWatch log group is created for this function (logs are kept forever)", function.urn
        elif not any((number(get(g.props, "retentionInDays")) or 0) > 0 for g in mine):
            yield f"log group {mine[0].name} has no retentionInDays", function.urn


POLICIES = [
    resource_policy(TRACING, check_tracing, [FUNCTION]),
    resource_policy(RESERVED, check_reserved, [FUNCTION]),
    stack_policy(LOGS, check_logs),
    resource_policy(SECRETS, check_secrets, [FUNCTION]),
    resource_policy(RUNTIME, check_runtime, [FUNCTION]),
]
