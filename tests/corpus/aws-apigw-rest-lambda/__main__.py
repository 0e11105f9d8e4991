"""One Lambda function behind a Swagger-defined REST API and an HTTP API (written for skyrelay's corpus)."""

import json

import pulumi
import pulumi_aws as aws

region = aws.config.region
stage_name = pulumi.Config().get("stageName") or "v1"

role = aws.iam.Role(
    "handler-role",
    assume_role_policy=json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "lambda.amazonaws.com"}}
            ],
        }
    ),
)
aws.iam.RolePolicyAttachment(
    "handler-logs",
    role=role.name,
    policy_arn="arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
)

handler = aws.lambda_.Function(
    "handler",
    role=role.arn,
    runtime="python3.12",
    handler="app.handler",
    code=pulumi.AssetArchive({".": pulumi.FileArchive("./handler")}),
)


def proxy_route(function_arn: pulumi.Output) -> dict:
    """A Swagger path item that sends every method to the function (AWS_PROXY)."""
    uri = pulumi.Output.format(
        "arn:aws:apigateway:{0}:lambda:path/2015-03-31/functions/{1}/invocations", region, function_arn
    )
    return {
        "x-amazon-apigateway-any-method": {
            "x-amazon-apigateway-integration": {
                "uri": uri,
                "passthroughBehavior": "when_no_match",
                "httpMethod": "POST",
                "type": "aws_proxy",
            }
        }
    }


rest_api = aws.apigateway.RestApi(
    "rest",
    body=pulumi.Output.json_dumps(
        {"swagger": "2.0", "info": {"title": "rest", "version": "1.0"}, "paths": {"/{proxy+}": proxy_route(handler.arn)}}
    ),
)
deployment = aws.apigateway.Deployment("rest-deployment", rest_api=rest_api.id)
stage = aws.apigateway.Stage("rest-stage", rest_api=rest_api.id, deployment=deployment.id, stage_name=stage_name)
aws.lambda_.Permission(
    "rest-invoke",
    action="lambda:InvokeFunction",
    function=handler.name,
    principal="apigateway.amazonaws.com",
    source_arn=stage.execution_arn.apply(lambda arn: arn + "/*/*"),
)

http_api = aws.apigatewayv2.Api("http", protocol_type="HTTP")
integration = aws.apigatewayv2.Integration(
    "http-lambda",
    api_id=http_api.id,
    integration_type="AWS_PROXY",
    integration_method="POST",
    integration_uri=handler.arn,
    payload_format_version="2.0",
)
route = aws.apigatewayv2.Route(
    "http-proxy",
    api_id=http_api.id,
    route_key="ANY /{proxy+}",
    target=integration.id.apply(lambda integration_id: "integrations/" + integration_id),
)
http_stage = aws.apigatewayv2.Stage(
    "http-stage",
    api_id=http_api.id,
    auto_deploy=True,
    default_route_settings={"throttling_burst_limit": 10, "throttling_rate_limit": 5},
)
# An HTTP API's execution ARN is computed by AWS: unknown at preview, so this apply does not run
# (with None it would raise TypeError).
aws.lambda_.Permission(
    "http-invoke",
    action="lambda:InvokeFunction",
    function=handler.name,
    principal="apigateway.amazonaws.com",
    source_arn=http_api.execution_arn.apply(lambda arn: arn + "/*/*"),
)

pulumi.export("rest_endpoint", stage.invoke_url.apply(lambda url: url + "/{proxy+}"))
pulumi.export("http_endpoint", pulumi.Output.all(http_api.api_endpoint, http_stage.name).apply(lambda v: f"{v[0]}/{v[1]}/"))
