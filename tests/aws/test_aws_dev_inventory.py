"""The aws-dev stack as `skyrelay plan` renders it: every item of the AWS defaults table
(research/iac-anchors.md) asserted on the inventory, and the usage plans against the tier table."""

import json
import math

import pytest

from skyrelay.config import load_stack_config

QUEUE = "aws:sqs/queue:Queue"
FUNCTION = "aws:lambda/function:Function"
ESM = "aws:lambda/eventSourceMapping:EventSourceMapping"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"


@pytest.fixture(scope="module")
def plan():
    from skyrelay.plan import render_stack

    return render_stack("aws-dev")[0]


@pytest.fixture(scope="module")
def config(project_root):
    return load_stack_config(project_root / "stacks" / "Pulumi.aws-dev.yaml")


def functions(plan):
    """The stack's two functions (worker and API): a loop over them never passes on an empty list."""
    found = plan.of_type(FUNCTION)
    assert sorted(f.name for f in found) == ["api-handler", "jobs-worker"]
    return found


def job_queues(plan):
    return [q for q in plan.of_type(QUEUE) if "redrivePolicy" in q.inputs]


def dlqs(plan):
    return [q for q in plan.of_type(QUEUE) if "redrivePolicy" not in q.inputs]


def test_every_job_queue_has_its_own_dlq_with_max_receive_count_from_config(plan, config):
    queues, dead = job_queues(plan), dlqs(plan)
    assert sorted(q.name for q in queues) == ["jobs-batch", "jobs-interactive"]
    targets = []
    for q in queues:
        redrive = json.loads(q.inputs["redrivePolicy"])
        assert redrive["maxReceiveCount"] == config.aws.max_receive_count
        assert redrive["deadLetterTargetArn"].split(":")[-1].startswith(f"{q.name}-dlq-")
        targets.append(redrive["deadLetterTargetArn"])
    assert len(set(targets)) == 2  # not shared
    assert len(dead) == 2
    for d in dead:
        assert d.inputs["messageRetentionSeconds"] == 14 * 24 * 3600


def test_dlq_redrive_is_allowed_only_from_its_own_queue(plan):
    allows = plan.of_type("aws:sqs/redriveAllowPolicy:RedriveAllowPolicy")
    assert len(allows) == 2
    for a in allows:
        doc = json.loads(a.inputs["redriveAllowPolicy"])
        assert doc["redrivePermission"] == "byQueue" and len(doc["sourceQueueArns"]) == 1
        source = doc["sourceQueueArns"][0].split(":")[-1]
        assert a.inputs["queueUrl"].rsplit("/", 1)[1].startswith(source.rsplit("-", 1)[0] + "-dlq-")


def test_visibility_timeout_is_at_least_six_times_worker_timeout_plus_batching_window(plan, config):
    worker = next(f for f in plan.of_type(FUNCTION) if f.name == "jobs-worker")
    assert worker.inputs["timeout"] == config.aws.worker_timeout_seconds
    queues = {q.name: q for q in job_queues(plan)}
    mappings = {m.name: m for m in plan.of_type(ESM)}
    for kind in ("interactive", "batch"):
        window = mappings[f"jobs-{kind}"].inputs["maximumBatchingWindowInSeconds"]
        visibility = queues[f"jobs-{kind}"].inputs["visibilityTimeoutSeconds"]
        assert visibility >= 6 * worker.inputs["timeout"] + window
    assert mappings["jobs-batch"].inputs["maximumBatchingWindowInSeconds"] == config.aws.batching_window_seconds
    assert queues["jobs-batch"].inputs["visibilityTimeoutSeconds"] == 6 * 120 + 5


def test_every_queue_is_encrypted_and_has_a_tls_only_owner_only_policy(plan):
    policies = plan.of_type("aws:sqs/queuePolicy:QueuePolicy")
    assert len(policies) == len(plan.of_type(QUEUE)) == 4
    for q in plan.of_type(QUEUE):
        assert q.inputs.get("sqsManagedSseEnabled") is True or q.inputs.get("kmsMasterKeyId")
    for p in policies:
        statements = json.loads(p.inputs["policy"])["Statement"]
        deny = [s for s in statements if s["Effect"] == "Deny"]
        assert deny and deny[0]["Action"] == "sqs:*" and deny[0]["Principal"] == "*"
        assert deny[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        allow = [s for s in statements if s["Effect"] == "Allow"]
        assert [s["Principal"] for s in allow] == [{"AWS": "arn:aws:iam::123456789012:root"}]


def test_event_source_mappings_report_batch_item_failures_with_concurrency_from_the_model_quota(plan, config):
    mappings = plan.of_type(ESM)
    assert len(mappings) == 2
    worker = next(f for f in plan.of_type(FUNCTION) if f.name == "jobs-worker")
    total = 0
    for m in mappings:
        assert m.inputs["functionResponseTypes"] == ["ReportBatchItemFailures"]
        assert m.inputs["functionName"].endswith(":function:" + worker.inputs["name"] + ":live")  # the warm pool's alias
        total += m.inputs["scalingConfig"]["maximumConcurrency"]
    little = math.ceil(config.aws.model_quota_rpm / 60 * config.aws.job_seconds_p50)
    assert total == min(little, config.aws.worker_reserved_concurrency)
    assert total <= worker.inputs["reservedConcurrentExecutions"]


def test_dlq_depth_alarms_and_oldest_message_alarms_go_to_the_cost_guard_topic(plan, config):
    topic_arn = plan.outputs["alert_topic_arn"]
    alarms = plan.of_type(ALARM)
    depth = [a for a in alarms if a.inputs["metricName"] == "ApproximateNumberOfMessagesVisible"]
    dlq_names = sorted(json.loads(q.inputs["redrivePolicy"])["deadLetterTargetArn"].split(":")[-1] for q in job_queues(plan))
    assert len(depth) == 2
    for a in depth:
        assert a.inputs["threshold"] == 0 and a.inputs["comparisonOperator"] == "GreaterThanThreshold"
        assert a.inputs["alarmActions"] == [topic_arn]
        assert "-dlq-" in a.inputs["dimensions"]["QueueName"]
    assert sorted(a.inputs["dimensions"]["QueueName"] for a in depth) == dlq_names
    age = [a for a in alarms if a.inputs["metricName"] == "ApproximateAgeOfOldestMessage"]
    assert len(age) == 2 and all(a.inputs["threshold"] == config.aws.alarm_oldest_message_seconds for a in age)
    lam = sorted(a.inputs["metricName"] for a in alarms if a.inputs["namespace"] == "AWS/Lambda")
    assert lam == ["Errors", "Throttles"]
    assert all(a.inputs["alarmActions"] == [topic_arn] for a in alarms)


def test_functions_have_xray_reserved_concurrency_json_logs_and_a_supported_runtime(plan):
    functions = plan.of_type(FUNCTION)
    assert sorted(f.name for f in functions) == ["api-handler", "jobs-worker"]
    for f in functions:
        assert f.inputs["tracingConfig"] == {"mode": "Active"}
        assert f.inputs["reservedConcurrentExecutions"] > 0
        assert f.inputs["runtime"] == "python3.12" and f.inputs["architectures"] == ["x86_64"]
        assert f.inputs["loggingConfig"]["logFormat"] == "JSON"


def test_log_group_is_created_first_with_retention(plan, config):
    groups = {g.urn: g for g in plan.of_type(LOG_GROUP)}
    for f in functions(plan):
        mine = [g for g in groups.values() if g.inputs["name"] == f"/aws/lambda/{f.inputs['name']}"]
        assert len(mine) == 1
        assert mine[0].urn in f.dependencies  # created before the function
        assert f.inputs["loggingConfig"]["logGroup"] == mine[0].inputs["name"]
        assert mine[0].inputs["retentionInDays"] == config.aws.log_retention_days


def policy_of(plan, function):
    """The inline policy of the function's role (the mock role id is its name, the ARN ends with it)."""
    role_name = function.inputs["role"].rsplit("/", 1)[1]
    policies = [p for p in plan.of_type("aws:iam/rolePolicy:RolePolicy") if p.inputs["role"] == role_name]
    assert len(policies) == 1
    return json.loads(policies[0].inputs["policy"])["Statement"]


def test_roles_are_least_privilege(plan):
    fns = {f.name: f for f in functions(plan)}
    for name, f in fns.items():
        table_arn = f"arn:aws:dynamodb:us-east-1:123456789012:table/{f.inputs['environment']['variables']['SKYRELAY_JOBS_TABLE']}"
        statements = policy_of(plan, f)
        for s in statements:
            actions = s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
            assert not any(a == "*" or a.endswith(":*") for a in actions), (name, s)
            resources = s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]]
            if s["Sid"] != "XRayTraces":
                assert "*" not in resources, (name, s)
        logs = next(s for s in statements if s["Sid"] == "OwnLogGroupOnly")
        assert logs["Resource"] == [f"arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/{f.inputs['name']}:*"]
        table = next(s for s in statements if s["Sid"] == "JobTableReadWrite")
        assert table["Resource"] == [table_arn]
    worker_actions = {a for s in policy_of(plan, fns["jobs-worker"]) for a in s["Action"]}
    api_actions = {a for s in policy_of(plan, fns["api-handler"]) for a in s["Action"]}
    assert "sqs:ReceiveMessage" in worker_actions
    assert "sqs:SendMessage" in api_actions and "sqs:ReceiveMessage" not in api_actions
    assert "dynamodb:DeleteItem" not in worker_actions  # the worker never deletes jobs


def test_worker_may_send_to_exactly_its_own_dlqs_and_reads_none(plan):
    """The worker dead-letters a job's message itself on its last attempt (send to the DLQ, delete
    from the queue): it needs sqs:SendMessage on its two DLQs, and nothing else there."""
    worker = next(f for f in plan.of_type(FUNCTION) if f.name == "jobs-worker")
    statements = policy_of(plan, worker)
    dlq_arns = sorted(json.loads(q.inputs["redrivePolicy"])["deadLetterTargetArn"] for q in job_queues(plan))
    assert len(dlq_arns) == 2
    dead = [s for s in statements if s["Sid"] == "DeadLetterToOwnDlqs"]
    assert len(dead) == 1 and dead[0]["Action"] == ["sqs:SendMessage"] and sorted(dead[0]["Resource"]) == dlq_arns
    for s in statements:  # no other statement touches a DLQ
        resources = s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]]
        if s is not dead[0]:
            assert not set(resources) & set(dlq_arns), s
    env = worker.inputs["environment"]["variables"]
    assert {env["SKYRELAY_DLQ_INTERACTIVE_URL"].rsplit("/", 1)[1], env["SKYRELAY_DLQ_BATCH_URL"].rsplit("/", 1)[1]} == {
        a.rsplit(":", 1)[1] for a in dlq_arns}
    # the runtime uses those URLs (no sqs:GetQueueUrl discovery, which the role does not allow)
    from skyrelay.runtime.platforms import bootstrap
    from skyrelay.runtime.platforms.aws_lambda.runtime import AWS
    from tests.routerkit import make_config

    _, q = bootstrap.store_and_queue(bootstrap.jobs_config(make_config(), env, AWS))
    assert q._dlq_urls == {"interactive": env["SKYRELAY_DLQ_INTERACTIVE_URL"], "batch": env["SKYRELAY_DLQ_BATCH_URL"]}
    assert not any("sqs:GetQueueUrl" in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
                   for s in statements)


def test_job_table_is_on_demand_with_pitr_ttl_deletion_protection_and_encryption(plan):
    table = plan.one("aws:dynamodb/table:Table")
    assert table.inputs["billingMode"] == "PAY_PER_REQUEST"
    assert table.inputs["pointInTimeRecovery"] == {"enabled": True}
    assert table.inputs["ttl"] == {"attributeName": "expires_at", "enabled": True}
    assert table.inputs["deletionProtectionEnabled"] is True
    assert table.inputs["serverSideEncryption"]["enabled"] is True
    # the key schema the runtime's DynamoJobStore uses (tests/contracts runs it against moto)
    assert (table.inputs["hashKey"], table.inputs["rangeKey"]) == ("pk", "sk")
    gsi = table.inputs["globalSecondaryIndexes"]
    assert [g["name"] for g in gsi] == ["by_tenant", "by_status"]
    assert [(k["attributeName"], k["keyType"]) for k in gsi[0]["keySchemas"]] == [("gsi1pk", "HASH"), ("gsi1sk", "RANGE")]
    # the sweeper's sparse index: keys only (small GSI writes), only PENDING items carry its keys
    assert [(k["attributeName"], k["keyType"]) for k in gsi[1]["keySchemas"]] == [("gsi2pk", "HASH"), ("gsi2sk", "RANGE")]
    assert (gsi[1]["projectionType"], gsi[1]["nonKeyAttributes"]) == ("INCLUDE", ["expires_at_exact"])
    from skyrelay.runtime.stores import dynamodb

    assert dynamodb.INDEX == "by_tenant" and table.inputs["ttl"]["attributeName"] == dynamodb.TTL_ATTRIBUTE
    assert dynamodb.STATUS_INDEX == "by_status"
    # the test tables (moto) have the deployed indexes
    calls = []
    dynamodb.create_table(type("C", (), {"create_table": lambda self, **kw: calls.append(kw)})(), "t")
    assert [(g["IndexName"], g["Projection"]["ProjectionType"], g["Projection"].get("NonKeyAttributes"))
            for g in calls[0]["GlobalSecondaryIndexes"]] == [
        (g["name"], g["projectionType"], g.get("nonKeyAttributes")) for g in gsi]


def test_secrets_are_arns_in_env_and_the_webhook_secret_is_a_secret_output(plan):
    secrets = plan.of_type("aws:secretsmanager/secret:Secret")
    assert len(secrets) == 2  # webhook + the openai provider key
    version = plan.one("aws:secretsmanager/secretVersion:SecretVersion")
    assert version.inputs["secretString"] == "[secret]"
    for f in functions(plan):
        env = f.inputs["environment"]["variables"]
        assert env["SKYRELAY_WEBHOOK_SECRET_ARN"].startswith("arn:aws:secretsmanager:")
        assert env["SKYRELAY_PROVIDER_OPENAI_SECRET_ARN"].startswith("arn:aws:secretsmanager:")
        assert not any("mock-random" in str(v) for v in env.values())
    assert plan.outputs["api_keys"] == "[secret]"


def test_api_is_rest_v1_and_every_method_requires_a_key_and_the_jwt(plan):
    assert plan.of_type("aws:apigatewayv2/api:Api") == []
    plan.one("aws:apigateway/restApi:RestApi")
    methods = plan.of_type("aws:apigateway/method:Method")
    routes = sorted((m.inputs["httpMethod"], m.name) for m in methods)
    assert routes == [
        ("DELETE", "api-delete-v1-jobs-id"),
        ("GET", "api-get-v1-batches"),
        ("GET", "api-get-v1-batches-id"),
        ("GET", "api-get-v1-files-id"),
        ("GET", "api-get-v1-files-id-content"),
        ("GET", "api-get-v1-jobs"),
        ("GET", "api-get-v1-jobs-id"),
        ("POST", "api-post-v1-batches"),
        ("POST", "api-post-v1-batches-id-cancel"),
        ("POST", "api-post-v1-chat-completions"),
        ("POST", "api-post-v1-files"),
        ("POST", "api-post-v1-jobs"),
    ]
    authorizer = plan.one("aws:apigateway/authorizer:Authorizer")
    assert authorizer.inputs["type"] == "COGNITO_USER_POOLS"
    for m in methods:
        assert m.inputs["apiKeyRequired"] is True
        assert m.inputs["authorization"] == "COGNITO_USER_POOLS"
    client = plan.one("aws:cognito/userPoolClient:UserPoolClient")
    assert client.inputs["accessTokenValidity"] == 15 and client.inputs["idTokenValidity"] == 15
    assert client.inputs["tokenValidityUnits"]["accessToken"] == "minutes"
    integrations = plan.of_type("aws:apigateway/integration:Integration")
    assert len(integrations) == len(methods) == 12
    for i in integrations:
        assert i.inputs["type"] == "AWS_PROXY" and i.inputs["timeoutMilliseconds"] <= 29000


def test_stage_logs_json_with_retention_xray_info_and_no_data_trace(plan, config):
    stage = plan.one("aws:apigateway/stage:Stage")
    assert stage.inputs["xrayTracingEnabled"] is True
    fmt = json.loads(stage.inputs["accessLogSettings"]["format"])
    assert {"requestId", "status", "apiKeyId", "latency"} <= set(fmt)
    destination = stage.inputs["accessLogSettings"]["destinationArn"]
    group = next(g for g in plan.of_type(LOG_GROUP) if destination.endswith(":log-group:" + g.inputs["name"]))
    assert group.inputs["retentionInDays"] == config.aws.log_retention_days
    settings = plan.one("aws:apigateway/methodSettings:MethodSettings").inputs
    assert settings["methodPath"] == "*/*"
    s = settings["settings"]
    assert s["loggingLevel"] == "INFO" and s["dataTraceEnabled"] is False and s["metricsEnabled"] is True
    assert s["throttlingRateLimit"] == config.aws.stage_rate_limit
    assert s["throttlingBurstLimit"] == config.aws.stage_burst_limit


def test_request_body_size_is_limited_by_waf_on_the_stage(plan, config):
    acl = plan.one("aws:wafv2/webAcl:WebAcl")
    rule = json.loads(acl.inputs["ruleJson"])[0]
    size = rule["Statement"]["SizeConstraintStatement"]
    assert size["FieldToMatch"] == {"Body": {"OversizeHandling": "MATCH"}}
    assert size["ComparisonOperator"] == "GT" and size["Size"] == config.aws.max_body_bytes
    assert rule["Action"] == {"Block": {}}
    assoc = plan.one("aws:wafv2/webAclAssociation:WebAclAssociation")
    assert "/webacl/api-waf-" in assoc.inputs["webAclArn"] and acl.inputs["scope"] == "REGIONAL"
    assert assoc.inputs["resourceArn"].startswith("arn:aws:apigateway:")


def test_usage_plans_throttle_and_quota_equal_the_tier_table(plan, config):
    plans = {p.name.removeprefix("api-"): p for p in plan.of_type("aws:apigateway/usagePlan:UsagePlan")}
    table = config.tier_table()
    assert set(plans) == {t.value for t in table}
    for name, tier in table.items():
        p = plans[name.value].inputs
        assert p["throttleSettings"]["rateLimit"] == pytest.approx(tier.rpm / 60, abs=1e-4)
        assert p["throttleSettings"]["burstLimit"] == tier.rpm
        assert p["quotaSettings"] == {"limit": tier.monthly_request_quota, "period": "MONTH"}
        assert p["apiStages"][0]["stage"] == "v1"
    # the enterprise override from the stack file reached the edge
    assert plans["enterprise"].inputs["throttleSettings"]["burstLimit"] == 1200
    keys = plan.of_type("aws:apigateway/usagePlanKey:UsagePlanKey")
    assert len(keys) == len(table)


def test_functions_get_the_stack_tier_table_and_the_runtime_limiter_reads_it(plan, config):
    from skyrelay.runtime.platforms.aws_lambda.runtime import AWS
    from tests.aws.test_api_key_auth import deployed_config, router_doc

    for f in functions(plan):
        tiers = json.loads(f.inputs["environment"]["variables"]["SKYRELAY_TIERS"])
        assert tiers["enterprise"]["rpm"] == config.tier_table()["enterprise"].rpm == 1200
        assert tiers["free"]["max_tokens_cap"] == config.tier_table()["free"].max_tokens_cap
        # the rendered router config carries no tier numbers: the runtime takes them from TIERS
        doc = router_doc(f)
        assert "tier_overrides" not in doc and "jobs" not in doc
        loaded = deployed_config(f, deployment=AWS).tiers()
        assert {t.value: loaded[t].model_dump() for t in config.tier_table()} == {
            t.value: tier.model_dump() for t, tier in config.tier_table().items()}


def test_dashboard_shows_the_weekly_review_metrics(plan):
    body = json.loads(plan.one("aws:cloudwatch/dashboard:Dashboard").inputs["dashboardBody"])
    titles = [w["properties"]["title"] for w in body["widgets"]]
    for wanted in ("Tokens per request", "Cost per tenant (USD)", "Cache hit rate", "Latency p50 / p99 (ms)",
                   "Batch vs on-demand jobs"):
        assert wanted in titles
    latency = next(w for w in body["widgets"] if w["properties"]["title"].startswith("Latency"))
    assert [m[-1]["stat"] for m in latency["properties"]["metrics"]] == ["p50", "p99"]


def test_lambda_code_is_the_packaged_zip_by_path(plan):
    for f in functions(plan):
        code = f.inputs["code"]
        path = code.get("path") if isinstance(code, dict) else str(code)
        assert path and path.endswith(".zip") and "/build/lambda/" in path
        assert f.inputs["sourceCodeHash"]


def test_the_policy_pack_finds_no_violation(plan):
    from skyrelay.plan.policy import evaluate

    assert [(v.policy, v.message) for v in evaluate(plan)] == []
