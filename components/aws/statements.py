"""IAM policy documents: the statement shape every skyrelay policy uses, the least-privilege
statements of the worker and API Lambdas (AsyncJobs.api_statements() feeds JobsApi), and the
resource-based permission that lets one AWS service invoke a function from one source."""

import json
from typing import Any

import pulumi
import pulumi_aws as aws

from skyrelay.components.aws.jobs_table import STATUS_INDEX, TENANT_INDEX


def allow(sid: str, actions: list[str], resources: Any) -> dict[str, Any]:
    """One Allow statement, keys in the order every rendered skyrelay policy uses."""
    return {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources}


def assume_role_policy(service: str) -> str:
    """A trust policy (JSON) that lets one AWS service principal assume the role."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
        }
    )


def bedrock_statement(model_arns: list[str]) -> list[dict[str, Any]]:
    if not model_arns:
        return []
    return [allow("InvokeConfiguredModels", ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"],
                  sorted(model_arns))]


def kms_statement(kms: str | None) -> list[dict[str, Any]]:
    if not kms:
        return []
    return [allow("KmsForData", ["kms:Decrypt", "kms:GenerateDataKey"], kms)]


def _read_secrets(secrets: list[str]) -> dict[str, Any]:
    return allow("ReadOwnSecrets", ["secretsmanager:GetSecretValue"], secrets)


def worker_policy(interactive: str, batch: str, table: str, secrets: list[str], kms: str | None,
                  dlqs: list[str] = ()) -> list[dict[str, Any]]:
    # On a job's last attempt the worker moves its message to the queue's DLQ itself
    # (send there, then delete from the queue); it never reads the DLQs.
    dead_letter = [allow("DeadLetterToOwnDlqs", ["sqs:SendMessage"], list(dlqs))] if dlqs else []
    return [
        allow("ConsumeOwnQueues",
              ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"],
              [interactive, batch]),
        # The scheduled sweep re-enqueues PENDING jobs that lost their message.
        allow("RequeueToOwnQueues", ["sqs:SendMessage"], [interactive, batch]),
        *dead_letter,
        allow("JobTableReadWrite", ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"],
              [table]),
        # The sweeper's query (`by_status`, keys only): a Query on an index needs the index ARN.
        allow("QueryStatusIndex", ["dynamodb:Query"], [f"{table}/index/{STATUS_INDEX}"]),
        _read_secrets(secrets),
        *kms_statement(kms),
    ]


def api_policy(interactive: str, batch: str, table: str, secrets: list[str], kms: str | None) -> list[dict[str, Any]]:
    return [
        allow("SubmitToOwnQueues", ["sqs:SendMessage", "sqs:GetQueueAttributes"], [interactive, batch]),
        allow("JobTableReadWrite",
              ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Query"],
              [table]),
        # GET /v1/jobs pages a tenant's jobs through `by_tenant`; a Query on an index needs its ARN.
        allow("QueryTenantIndex", ["dynamodb:Query"], [f"{table}/index/{TENANT_INDEX}"]),
        _read_secrets(secrets),
        *kms_statement(kms),
    ]


def invoke_permission(owner: pulumi.Resource, name: str, function: aws.lambda_.Function, principal: str,
                      source_arn: pulumi.Input[str], qualifier: pulumi.Input[str] | None = None) -> aws.lambda_.Permission:
    """Only `principal` (a service) calling from `source_arn` may invoke `function` (its alias `qualifier`)."""
    return aws.lambda_.Permission(
        name,
        action="lambda:InvokeFunction",
        function=function.name,
        qualifier=qualifier,
        principal=principal,
        source_arn=source_arn,
        opts=pulumi.ResourceOptions(parent=owner),
    )
