"""Reuse from other programs: examples/aws-consumer renders with minimal args, and the public AWS
components infer a Pulumi package schema through the component provider."""

import json

import pytest


def test_consumer_program_renders_async_jobs_with_minimal_args(project_root, render_program):
    plan = render_program(project_root / "examples" / "aws-consumer", {"aws-consumer:workerTimeoutSeconds": "240"})
    plan.one("skyrelay:aws:AsyncJobs")
    worker = plan.one("aws:lambda/function:Function")
    assert worker.inputs["timeout"] == 240
    queues = [q for q in plan.of_type("aws:sqs/queue:Queue") if "redrivePolicy" in q.inputs]
    assert sorted(q.inputs["visibilityTimeoutSeconds"] for q in queues) == [6 * 240, 6 * 240 + 5]
    alarms = plan.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
    topic = plan.one("aws:sns/topic:Topic")
    assert alarms and all(topic.urn in a.dependencies for a in alarms)
    assert set(plan.outputs) == {"queue_url", "table_name", "worker"}
    assert plan.outputs["queue_url"].startswith("https://sqs.us-east-1.amazonaws.com/")


@pytest.fixture(scope="module")
def schema():
    from pulumi.provider.experimental.component import ComponentProvider

    from skyrelay.components.aws import AsyncJobs, CostGuard, JobsApi

    return json.loads(ComponentProvider([AsyncJobs, JobsApi, CostGuard], "skyrelay", version="0.1.0").schema)


def test_async_jobs_schema_inputs_and_outputs(schema):
    res = schema["resources"]["skyrelay:index:AsyncJobs"]
    assert res["isComponent"] is True
    inputs = res["inputProperties"]
    assert {"workerTimeoutSeconds", "queueRetentionSeconds", "alarmTopicArn", "kmsKeyArn", "providerSecrets",
            "modelQuotaRpm", "reservedConcurrency", "codePath", "overrides"} <= set(inputs)
    assert inputs["workerTimeoutSeconds"]["type"] == "integer"
    assert inputs["providerSecrets"]["type"] == "array" and inputs["providerSecrets"]["items"]["type"] == "string"
    assert "900" in inputs["workerTimeoutSeconds"]["description"]
    assert res.get("requiredInputs", []) == []  # every input has a default: minimal args work
    outputs = res["properties"]
    assert outputs["table"]["$ref"].endswith("#/resources/aws:dynamodb%2Ftable:Table")
    assert outputs["worker"]["$ref"].endswith("#/resources/aws:lambda%2Ffunction:Function")
    assert {"interactiveQueueUrl", "batchQueueUrl", "interactiveDlqUrl", "batchDlqUrl"} <= set(outputs)


def test_jobs_api_schema_inputs_and_outputs(schema):
    res = schema["resources"]["skyrelay:index:JobsApi"]
    inputs = res["inputProperties"]
    assert {"tiers", "apiKeys", "jwtAuthorizer", "stageRateLimit", "policyStatements", "environment"} <= set(inputs)
    assert inputs["tiers"]["items"]["$ref"] == "#/types/skyrelay:index:TierLimits"
    tier = schema["types"]["skyrelay:index:TierLimits"]
    assert set(tier["properties"]) == {"name", "rpm", "monthlyRequestQuota"}
    assert sorted(tier["required"]) == ["monthlyRequestQuota", "name", "rpm"]
    assert set(res["properties"]) == {"restApi", "stage", "function", "url"}
    assert res["properties"]["restApi"]["$ref"].endswith("aws:apigateway%2FrestApi:RestApi")


def test_schema_depends_on_the_pinned_aws_provider(schema):
    assert any("/aws/v7.51.1/" in json.dumps(r) for r in schema["resources"].values())
