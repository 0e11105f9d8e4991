"""A counter API: DynamoDB + Lambda + REST API, IAM from policy documents (written for skyrelay's corpus)."""

import pulumi
import pulumi_aws as aws

config = pulumi.Config()
provisioned = config.get_int("provisionedConcurrency")
region = aws.config.region

table = aws.dynamodb.Table(
    "counters",
    attributes=[aws.dynamodb.TableAttributeArgs(name="Id", type="S")],
    hash_key="Id",
    billing_mode="PAY_PER_REQUEST",
)

trust = aws.iam.get_policy_document(
    statements=[
        aws.iam.GetPolicyDocumentStatementArgs(
            actions=["sts:AssumeRole"],
            principals=[aws.iam.GetPolicyDocumentStatementPrincipalArgs(type="Service", identifiers=["lambda.amazonaws.com"])],
        )
    ]
)
role = aws.iam.Role("counter-role", assume_role_policy=trust.json)

policy = aws.iam.RolePolicy(
    "counter-access",
    role=role.id,
    policy=pulumi.Output.json_dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
                    "Resource": table.arn,
                },
                {"Effect": "Allow", "Action": ["logs:*"], "Resource": "*"},
            ],
        }
    ),
)

function = aws.lambda_.Function(
    "counter",
    role=role.arn,
    runtime="python3.12",
    handler="counter.handler",
    code=pulumi.AssetArchive({".": pulumi.FileArchive("./app")}),
    timeout=30,
    publish=bool(provisioned),
    environment=aws.lambda_.FunctionEnvironmentArgs(variables={"COUNTER_TABLE": table.name}),
    opts=pulumi.ResourceOptions(depends_on=[policy]),
)
if provisioned:
    aws.lambda_.ProvisionedConcurrencyConfig(
        "counter-warm",
        function_name=function.name,
        qualifier=function.version,
        provisioned_concurrent_executions=provisioned,
    )

rest_api = aws.apigateway.RestApi(
    "counter-api",
    body=function.arn.apply(
        lambda arn: pulumi.Output.json_dumps(
            {
                "swagger": "2.0",
                "info": {"title": "counter", "version": "1.0"},
                "paths": {
                    "/{proxy+}": {
                        "x-amazon-apigateway-any-method": {
                            "x-amazon-apigateway-integration": {
                                "uri": f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{arn}/invocations",
                                "httpMethod": "POST",
                                "type": "aws_proxy",
                            }
                        }
                    }
                },
            }
        )
    ),
)
deployment = aws.apigateway.Deployment("counter-deployment", rest_api=rest_api.id)
stage = aws.apigateway.Stage("counter-stage", rest_api=rest_api.id, deployment=deployment.id, stage_name="api")
aws.lambda_.Permission(
    "counter-invoke",
    action="lambda:InvokeFunction",
    function=function.name,
    principal="apigateway.amazonaws.com",
    source_arn=stage.execution_arn.apply(lambda arn: arn + "/*/*"),
)

pulumi.export("endpoint", stage.invoke_url)
pulumi.export("trust_policy", trust.json)
