"""The JobsApi stage and its logging: the region's API Gateway CloudWatch role (optional), the
access log group, the stage (JSON access logs, X-Ray) and stage-wide method settings (execution
logging, data trace off, throttles)."""

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from skyrelay.components.aws.statements import assume_role_policy

ACCESS_LOG_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "extendedRequestId": "$context.extendedRequestId",
        "ip": "$context.identity.sourceIp",
        "apiKeyId": "$context.identity.apiKeyId",
        "caller": "$context.identity.caller",
        "user": "$context.authorizer.claims.sub",
        "requestTime": "$context.requestTime",
        "httpMethod": "$context.httpMethod",
        "resourcePath": "$context.resourcePath",
        "status": "$context.status",
        "protocol": "$context.protocol",
        "responseLength": "$context.responseLength",
        "integrationLatency": "$context.integrationLatency",
        "latency": "$context.responseLatency",
        "wafStatus": "$context.waf.status",
        "xrayTraceId": "$context.xrayTraceId",
    },
    separators=(",", ":"),
)
PUSH_TO_CLOUDWATCH = "arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"


@dataclass
class StageParts:
    account_role: aws.iam.Role | None
    account_role_attachment: aws.iam.RolePolicyAttachment | None
    account: aws.apigateway.Account | None
    access_log_group: aws.cloudwatch.LogGroup
    stage: aws.apigateway.Stage
    method_settings: aws.apigateway.MethodSettings


def stage(owner: pulumi.Resource, name: str, rest_api: aws.apigateway.RestApi,
          deployment: aws.apigateway.Deployment, settings: dict[str, Any], kms: pulumi.Input[str] | None,
          rate_limit: float, burst_limit: int) -> StageParts:
    child = pulumi.ResourceOptions(parent=owner)
    role = attachment = account = None
    if settings["manage_account_logging_role"]:
        role = aws.iam.Role(
            f"{name}-apigw-logs",
            description="lets API Gateway write execution and access logs to CloudWatch (region-wide)",
            assume_role_policy=assume_role_policy("apigateway.amazonaws.com"),
            opts=child,
        )
        attachment = aws.iam.RolePolicyAttachment(
            f"{name}-apigw-logs", role=role.name, policy_arn=PUSH_TO_CLOUDWATCH, opts=child
        )
        account = aws.apigateway.Account(
            f"{name}-account",
            cloudwatch_role_arn=role.arn,
            opts=pulumi.ResourceOptions(parent=owner, depends_on=[attachment]),
        )

    log_group = aws.cloudwatch.LogGroup(
        f"{name}-access",
        name=f"/aws/apigateway/{pulumi.get_project()}-{pulumi.get_stack()}-{name}/access",
        retention_in_days=settings["access_log_retention_days"],
        kms_key_id=kms,
        opts=child,
    )
    api_stage = aws.apigateway.Stage(
        name,
        rest_api=rest_api.id,
        deployment=deployment.id,
        stage_name=settings["stage_name"],
        xray_tracing_enabled=settings["xray_tracing"],
        access_log_settings=aws.apigateway.StageAccessLogSettingsArgs(
            destination_arn=log_group.arn, format=ACCESS_LOG_FORMAT
        )
        if settings["access_logs"]
        else None,
        opts=pulumi.ResourceOptions(parent=owner, depends_on=[log_group] + ([account] if account else [])),
    )
    method_settings = aws.apigateway.MethodSettings(
        name,
        rest_api=rest_api.id,
        stage_name=api_stage.stage_name,
        method_path="*/*",
        settings=aws.apigateway.MethodSettingsSettingsArgs(
            logging_level=settings["logging_level"],
            data_trace_enabled=settings["data_trace"],
            metrics_enabled=settings["metrics_enabled"],
            throttling_rate_limit=rate_limit,
            throttling_burst_limit=burst_limit,
        ),
        opts=child,
    )
    return StageParts(account_role=role, account_role_attachment=attachment, account=account,
                      access_log_group=log_group, stage=api_stage, method_settings=method_settings)
