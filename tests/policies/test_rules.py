"""Every rule: its violating case is reported with the rule id and the resource URN, and its
compliant case is not. Cases are resources in small plain-SDK programs under fixtures/."""

import pytest

from tests.policies.conftest import urn_of

STACK = None  # a stack-wide finding (no resource to point at)

# rule id -> (violating fixture, resource reported or STACK, compliant fixture, compliant resource)
CASES = {
    "tags-required": ("aws_violating", "bad-table", "aws_compliant", "ok-table"),
    "aws-sqs-encryption": ("aws_violating", "bad-queue", "aws_compliant", "ok-batch"),
    "aws-sqs-dlq": ("aws_violating", "bad-queue", "aws_compliant", "ok-batch"),
    "aws-sqs-tls-only": ("aws_violating", "bad-queue", "aws_compliant", "ok-queue"),
    "aws-sqs-visibility-timeout": ("aws_violating", "bad-short-visibility", "aws_compliant", "ok-queue"),
    "aws-lambda-tracing": ("aws_violating", "bad-function", "aws_compliant", "ok-worker"),
    "aws-lambda-reserved-concurrency": ("aws_violating", "bad-function", "aws_compliant", "ok-worker"),
    "aws-lambda-log-retention": ("aws_violating", "bad-function", "aws_compliant", "ok-api-fn"),
    "aws-lambda-no-plaintext-secrets": ("aws_violating", "bad-function", "aws_compliant", "ok-worker"),
    "aws-lambda-runtime-supported": ("aws_violating", "bad-function", "aws_compliant", "ok-worker"),
    "aws-dynamodb-pitr": ("aws_violating", "bad-table", "aws_compliant", "ok-table"),
    "aws-dynamodb-encryption": ("aws_violating", "bad-table", "aws_compliant", "ok-table"),
    "aws-dynamodb-ttl": ("aws_violating", "bad-table", "aws_compliant", "ok-table"),
    "aws-apigw-access-logs": ("aws_violating", "bad-stage", "aws_compliant", "ok-stage"),
    "aws-apigw-data-trace-off": ("aws_violating", "bad-settings", "aws_compliant", "ok-settings"),
    "aws-apigw-method-auth": ("aws_violating", "bad-method", "aws_compliant", "ok-options"),
    "aws-apigw-usage-plan-throttle": ("aws_violating", "bad-api", "aws_compliant", "ok-plan"),
    "aws-apigw-integration-timeout": ("aws_violating", "bad-integration", "aws_compliant", "ok-integration"),
    "aws-iam-no-wildcard-actions": ("aws_violating", "bad-role", "aws_compliant", "ok-role-queue"),
    "aws-s3-encryption": ("aws_violating", "bad-bucket", "aws_compliant", "ok-bucket"),
    "aws-s3-tls-only": ("aws_violating", "bad-bucket", "aws_compliant", "ok-bucket"),
    "aws-s3-public-access-block": ("aws_violating", "bad-bucket", "aws_compliant", "ok-bucket"),
    "aws-s3-lifecycle": ("aws_violating", "bad-bucket", "aws_compliant", "ok-bucket"),
    "azure-servicebus-dead-lettering": ("azure_violating", "bad-sb-queue", "azure_compliant", "ok-sb-subscription"),
    "azure-servicebus-local-auth-disabled": ("azure_violating", "bad-namespace", "azure_compliant", "ok-namespace"),
    "azure-cosmos-continuous-backup": ("azure_violating", "bad-cosmos", "azure_compliant", "ok-cosmos"),
    "azure-cosmos-local-auth-disabled": ("azure_violating", "bad-cosmos", "azure_compliant", "ok-cosmos"),
    "azure-functionapp-https-only": ("azure_violating", "bad-functions", "azure_compliant", "ok-functions"),
    "azure-functionapp-min-tls": ("azure_violating", "bad-functions", "azure_compliant", "ok-functions"),
    "azure-functionapp-managed-identity": ("azure_violating", "bad-functions", "azure_compliant", "ok-functions"),
    "azure-keyvault-purge-protection": ("azure_violating", "bad-vault", "azure_compliant", "ok-vault"),
    "azure-keyvault-rbac": ("azure_violating", "bad-vault", "azure_compliant", "ok-vault"),
    "azure-storage-shared-key-off": ("azure_violating", "bad-storage", "azure_compliant", "ok-storage"),
    "azure-storage-min-tls": ("azure_violating", "bad-storage", "azure_compliant", "ok-storage"),
    "azure-storage-no-public-blobs": ("azure_violating", "bad-public-storage", "azure_compliant", "ok-private-container"),
    "azure-apim-operation-auth": ("azure_violating", "bad-api", "azure_compliant", "ok-jwt-api"),
    "azure-apim-product-limits": ("azure_violating", "bad-product", "azure_compliant", "ok-product"),
    "azure-servicebus-lock-renewal": ("azure_violating", "bad-lock-app", "azure_compliant", "ok-lock-app"),
    "gcp-cloudrun-not-public": ("gcp_violating", "bad-public-invoker", "gcp_compliant", "ok-invoker"),
    "gcp-cloudtasks-retry-config": ("gcp_violating", "bad-tasks", "gcp_compliant", "ok-tasks"),
    "gcp-firestore-pitr": ("gcp_violating", "bad-firestore", "gcp_compliant", "ok-firestore"),
    "gcp-firestore-delete-protection": ("gcp_violating", "bad-firestore", "gcp_compliant", "ok-firestore"),
    # issue 12: OIDC pushes, no plain secrets, the dispatch deadline and the TTL policy
    "gcp-tasks-oidc": ("gcp_violating", "bad-tasks", "gcp_compliant", "ok-tasks"),
    "gcp-cloudrun-no-plaintext-secrets": ("gcp_violating", "bad-secret-env", "gcp_compliant", "ok-worker"),
    "gcp-tasks-dispatch-deadline": ("gcp_violating", "bad-deadline-api", "gcp_compliant", "ok-worker"),
    "gcp-firestore-ttl": ("gcp_violating", "bad-firestore", "gcp_compliant", "ok-firestore"),
    "stack-budget-alerts": ("aws_violating", "bad-budget", "aws_compliant", "ok-budget"),
    "stack-cost-anomaly-alert": ("aws_violating", STACK, "aws_compliant", "ok-anomalies"),
    "stack-tier-max-tokens-cap": ("aws_violating", "bad-function", "aws_compliant", "ok-worker"),
}

# More violating cases of the same rules, on the other clouds or the other resource shapes.
EXTRA_VIOLATIONS = [
    ("aws-sqs-dlq", "aws_violating", "bad-short-visibility"),
    ("aws-iam-no-wildcard-actions", "aws_violating", "bad-role-policy"),
    ("aws-apigw-usage-plan-throttle", "aws_violating", "bad-plan"),
    ("azure-servicebus-dead-lettering", "azure_violating", "bad-sb-subscription"),
    ("azure-servicebus-lock-renewal", "azure_violating", "bad-lock-queue"),
    ("azure-storage-no-public-blobs", "azure_violating", "bad-public-container"),
    ("gcp-cloudrun-not-public", "gcp_violating", "bad-public-binding"),
    ("gcp-cloudrun-not-public", "gcp_violating", "bad-public-policy"),
    ("gcp-cloudrun-not-public", "gcp_violating", "bad-open-service"),
    ("gcp-cloudtasks-retry-config", "gcp_violating", "bad-tasks-unlimited"),
    ("gcp-tasks-oidc", "gcp_violating", "bad-tasks-no-oidc"),
    ("gcp-tasks-oidc", "gcp_violating", "bad-scheduler"),
    ("tags-required", "gcp_violating", "bad-worker"),
    ("tags-required", "azure_violating", "bad-cosmos"),
    ("stack-budget-alerts", "azure_violating", "bad-budget"),
    ("stack-budget-alerts", "gcp_violating", "bad-budget"),
    ("stack-cost-anomaly-alert", "azure_violating", STACK),
    ("stack-cost-anomaly-alert", "gcp_violating", STACK),
    ("stack-tier-max-tokens-cap", "gcp_violating", "bad-worker"),
    ("stack-tier-max-tokens-cap", "azure_violating", "bad-functions"),
]


def test_every_rule_has_a_case():
    from skyrelay.policies.registry import rules

    assert set(CASES) == set(rules())


def _reported(plan, violations, rule, name):
    urn = "" if name is STACK else urn_of(plan, name)
    return [v for v in violations if v.policy == rule and v.urn == urn]


@pytest.mark.parametrize("rule", list(CASES))
def test_violating_case_is_reported(judge, rule):
    fixture, name = CASES[rule][:2]
    plan, violations = judge(fixture)
    found = _reported(plan, violations, rule, name)
    assert found, f"{rule} did not report {name}: {[(v.policy, v.urn) for v in violations]}"
    assert all(v.message for v in found)


@pytest.mark.parametrize("rule", list(CASES))
def test_compliant_case_is_not_reported(judge, rule):
    fixture, name = CASES[rule][2:]
    plan, violations = judge(fixture)
    urn_of(plan, name)  # the compliant resource is really there
    assert [v for v in violations if v.policy == rule] == []


@pytest.mark.parametrize(("rule", "fixture", "name"), EXTRA_VIOLATIONS)
def test_other_violating_shapes(judge, rule, fixture, name):
    plan, violations = judge(fixture)
    assert _reported(plan, violations, rule, name)


@pytest.mark.parametrize("fixture", ["aws_compliant", "azure_compliant", "gcp_compliant"])
def test_compliant_programs_are_clean(judge, fixture):
    assert judge(fixture)[1] == []


def test_function_app_rules_leave_plain_web_apps_alone(judge):
    plan, violations = judge("azure_violating")
    urn = urn_of(plan, "plain-webapp")
    assert {v.policy for v in violations if v.urn == urn} == {"tags-required"}


def test_secret_detection_spares_references():
    from skyrelay.policies.aws.lambda_ import secret_env_names

    env = {
        "WEBHOOK_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:1:secret:x",
        "API_TOKEN_PARAM": "/prod/token",
        "GITHUB_TOKEN": "{{resolve:secretsmanager:gh}}",
        "LOG_LEVEL": "INFO",
        "CALLBACK": "AKIAABCDEFGHIJKLMNOP",  # an access key id, whatever the name
        "SERVICE_PASSWORD": "p4ssw0rd!",
    }
    assert secret_env_names(env) == ["CALLBACK", "SERVICE_PASSWORD"]


def test_iam_wildcards():
    from skyrelay.policies.aws.iam import wildcard_actions

    allow = {"Statement": [{"Effect": "Allow", "Action": ["sqs:SendMessage", "logs:*"], "Resource": "*"}]}
    deny = {"Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]}
    not_action = '{"Statement": {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}}'
    assert wildcard_actions(allow) == ["logs:*"]
    assert wildcard_actions(deny) == []
    assert wildcard_actions(not_action) == ["NotAction"]
