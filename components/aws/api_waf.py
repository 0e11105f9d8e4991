"""The JobsApi WAF: a regional web ACL on the stage that blocks request bodies over `max_body_bytes`."""

import json
from typing import Any

import pulumi
import pulumi_aws as aws

from skyrelay.errors import ConfigError

WAF_MAX_INSPECTION_BYTES = 65536


def check_max_body_bytes(max_bytes: int) -> None:
    if not 1024 <= max_bytes <= WAF_MAX_INSPECTION_BYTES:
        raise ConfigError(
            "JobsApi.overrides.max_body_bytes",
            f"must be 1024-{WAF_MAX_INSPECTION_BYTES} (the largest body WAF can inspect on API Gateway)",
        )


def web_acl(owner: pulumi.Resource, name: str, max_bytes: int,
            stage: aws.apigateway.Stage) -> tuple[aws.wafv2.WebAcl, aws.wafv2.WebAclAssociation]:
    child = pulumi.ResourceOptions(parent=owner)
    acl = aws.wafv2.WebAcl(
        f"{name}-waf",
        scope="REGIONAL",
        description=f"body size limit {max_bytes} bytes",
        default_action=aws.wafv2.WebAclDefaultActionArgs(allow=aws.wafv2.WebAclDefaultActionAllowArgs()),
        rule_json=json.dumps([body_size_rule(max_bytes)]),
        association_config=aws.wafv2.WebAclAssociationConfigArgs(
            request_bodies=[
                aws.wafv2.WebAclAssociationConfigRequestBodyArgs(
                    api_gateway=aws.wafv2.WebAclAssociationConfigRequestBodyApiGatewayArgs(
                        default_size_inspection_limit="KB_64"
                    )
                )
            ]
        ),
        visibility_config=aws.wafv2.WebAclVisibilityConfigArgs(
            cloudwatch_metrics_enabled=True, metric_name=f"{name}-waf", sampled_requests_enabled=True
        ),
        opts=child,
    )
    association = aws.wafv2.WebAclAssociation(
        f"{name}-waf", resource_arn=stage.arn, web_acl_arn=acl.arn, opts=child
    )
    return acl, association


def body_size_rule(max_bytes: int) -> dict[str, Any]:
    """Block requests whose body is larger than `max_bytes`. WAF inspects at most 64 KB of an API
    Gateway body (the association raises the 16 KB default); OversizeHandling MATCH blocks anything
    longer, so `max_bytes` is at most 64 KB here (the API enforces the same limit: deployment.MAX_BODY_BYTES)."""
    return {
        "Name": "max-body-size",
        "Priority": 0,
        "Action": {"Block": {}},
        "Statement": {
            "SizeConstraintStatement": {
                "FieldToMatch": {"Body": {"OversizeHandling": "MATCH"}},
                "ComparisonOperator": "GT",
                "Size": max_bytes,
                "TextTransformations": [{"Priority": 0, "Type": "NONE"}],
            }
        },
        "VisibilityConfig": {
            "SampledRequestsEnabled": True,
            "CloudWatchMetricsEnabled": True,
            "MetricName": "max-body-size",
        },
    }
