"""AWS rules: SQS, Lambda, DynamoDB, API Gateway, IAM. Imports nothing from the other clouds."""

from skyrelay.policies.aws import apigateway, dynamodb, iam, lambda_, sqs

POLICIES = [*sqs.POLICIES, *lambda_.POLICIES, *dynamodb.POLICIES, *apigateway.POLICIES, *iam.POLICIES]
