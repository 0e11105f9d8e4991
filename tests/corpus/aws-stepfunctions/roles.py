"""The function's and the state machine's roles (a sibling module, as the language host allows)."""

import json

import pulumi_aws as aws

LAMBDA_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "lambda.amazonaws.com"}}],
}

function_role = aws.iam.Role("task-role", assume_role_policy=json.dumps(LAMBDA_TRUST))
aws.iam.RolePolicy(
    "task-logs",
    role=function_role.id,
    policy=json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                    "Resource": "arn:aws:logs:*:*:*",
                }
            ],
        }
    ),
)

machine_role = aws.iam.Role(
    "machine-role",
    assume_role_policy=json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "sts:AssumeRole",
                    "Principal": {"Service": f"states.{aws.config.region}.amazonaws.com"},
                }
            ],
        }
    ),
)
aws.iam.RolePolicy(
    "machine-invoke",
    role=machine_role.id,
    policy=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["lambda:InvokeFunction"], "Resource": "*"}]}
    ),
)
