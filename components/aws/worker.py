"""A Lambda function the way every skyrelay function is built: log group first (with retention),
a least-privilege role, X-Ray, JSON logs, reserved concurrency, code from the packaged zip by path.

Used by AsyncJobs (the worker) and JobsApi (the API handler); not a component of its own, so the
children stay attributes of the component that owns them.
"""

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

LAMBDA_ASSUME_ROLE = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)


@dataclass
class LambdaParts:
    log_group: aws.cloudwatch.LogGroup
    role: aws.iam.Role
    role_policy: aws.iam.RolePolicy
    function: aws.lambda_.Function


def function_name(component_name: str, suffix: str) -> str:
    """A deterministic, stack-unique function name (<= 64 chars), known before the function exists
    so that its log group can be created first."""
    base = f"{pulumi.get_project()}-{pulumi.get_stack()}-{component_name}-{suffix}"
    return base[:64].rstrip("-")


def build_function(
    owner: pulumi.Resource,
    name: str,
    fn_name: str,
    *,
    code_path: str,
    handler: str,
    timeout: int,
    memory_mb: int,
    environment: dict[str, pulumi.Input[str]],
    statements: pulumi.Input[list[dict[str, Any]]],
    settings: dict[str, Any],
    reserved_concurrency: int | None,
    kms_key_arn: pulumi.Input[str] | None = None,
    description: str = "",
) -> LambdaParts:
    child = pulumi.ResourceOptions(parent=owner)
    log_group = aws.cloudwatch.LogGroup(
        name,
        name=f"/aws/lambda/{fn_name}",
        retention_in_days=settings["log_retention_days"],
        kms_key_id=kms_key_arn,
        opts=child,
    )
    role = aws.iam.Role(
        name,
        description=f"{fn_name}: least privilege (its log group, queues, table and secrets only)",
        assume_role_policy=LAMBDA_ASSUME_ROLE,
        max_session_duration=3600,
        opts=child,
    )
    policy = pulumi.Output.all(log_group.arn, statements).apply(lambda a: _role_policy(a[0], a[1]))
    role_policy = aws.iam.RolePolicy(name, role=role.id, policy=policy, opts=child)
    archive = pulumi.FileArchive(code_path)
    function = aws.lambda_.Function(
        name,
        name=fn_name,
        description=description,
        role=role.arn,
        runtime=settings["lambda_runtime"],
        architectures=[settings["lambda_architecture"]],
        handler=handler,
        code=archive,
        source_code_hash=_zip_hash(code_path),
        timeout=timeout,
        memory_size=memory_mb,
        reserved_concurrent_executions=reserved_concurrency if settings.get("reserved_concurrency", True) else None,
        tracing_config=aws.lambda_.FunctionTracingConfigArgs(mode=settings["worker_tracing"]),
        logging_config=aws.lambda_.FunctionLoggingConfigArgs(
            log_format=settings["log_format"], log_group=log_group.name
        ),
        environment=aws.lambda_.FunctionEnvironmentArgs(variables=environment),
        kms_key_arn=kms_key_arn,
        publish=True,  # a version per change: the `live` alias and warm pools apply to versions (warm_pool.py)
        # The log group exists (with retention) before the function can write its first line,
        # and the role can write to it.
        opts=pulumi.ResourceOptions(parent=owner, depends_on=[log_group, role_policy]),
    )
    return LambdaParts(log_group=log_group, role=role, role_policy=role_policy, function=function)


def _role_policy(log_group_arn: str, statements: list[dict[str, Any]]) -> str:
    base = [
        {
            "Sid": "OwnLogGroupOnly",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": [f"{log_group_arn}:*"],
        },
        {
            # X-Ray segments are not resource-scoped: AWS documents Resource "*" for these two.
            "Sid": "XRayTraces",
            "Effect": "Allow",
            "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
            "Resource": "*",
        },
    ]
    return json.dumps({"Version": "2012-10-17", "Statement": base + list(statements)})


def _zip_hash(code_path: str) -> str:
    import base64
    import hashlib
    from pathlib import Path

    path = Path(code_path)
    if not path.is_file():
        return ""
    return base64.b64encode(hashlib.sha256(path.read_bytes()).digest()).decode()
