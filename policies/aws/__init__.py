"""AWS rules: SQS, Lambda, DynamoDB, API Gateway, IAM, S3. Imports nothing from the other clouds."""

from skyrelay.policies.aws import apigateway, dynamodb, iam, lambda_, s3, sqs

POLICIES = [*sqs.POLICIES, *lambda_.POLICIES, *dynamodb.POLICIES, *apigateway.POLICIES, *iam.POLICIES, *s3.POLICIES]
