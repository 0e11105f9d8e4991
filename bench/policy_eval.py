"""Benchmark of the policy pack: evaluation over 10,000 synthetic resources (target <= 1 s), and
render + evaluate for each of our stacks. Prints a table; a benchmark, not a test.

    .venv/bin/python bench/policy_eval.py [--resources N]
"""

import argparse
import json
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TAGS = {"cost-center": "cc-1", "environment": "dev", "team": "ai"}
TLS = json.dumps({"Statement": [{"Effect": "Deny", "Principal": "*", "Action": "sqs:*", "Resource": "*",
                                 "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]})  # fmt: skip

# A mix like a real async stack: mostly compliant, some resources breaking a rule.
KINDS = [
    ("aws:sqs/queue:Queue", lambda i: {"name": f"q{i}", "sqsManagedSseEnabled": True, "policy": TLS,
                                       "visibilityTimeoutSeconds": 360, "tags": TAGS}),
    ("aws:lambda/function:Function", lambda i: {
        "name": f"f{i}", "runtime": "python3.12" if i % 7 else "python3.8", "timeout": 60,
        "tracingConfig": {"mode": "Active"}, "reservedConcurrentExecutions": 5, "tags": TAGS,
        "environment": {"variables": {"QUEUE_URL": "https://sqs/x", "WEBHOOK_SECRET_ARN": "arn:aws:secretsmanager:x",
                                      "SKYRELAY_TIERS": '{"free": {"max_tokens_cap": 1024}}'}}}),
    ("aws:cloudwatch/logGroup:LogGroup", lambda i: {"name": f"/aws/lambda/f{i - 1}", "retentionInDays": 30, "tags": TAGS}),
    ("aws:dynamodb/table:Table", lambda i: {"name": f"t{i}", "pointInTimeRecovery": {"enabled": True},
                                            "serverSideEncryption": {"enabled": True}, "tags": TAGS,
                                            "ttl": {"enabled": True, "attributeName": "expires_at"}}),
    ("aws:iam/role:Role", lambda i: {"assumeRolePolicy": "{}", "tags": TAGS, "inlinePolicies": [
        {"name": "p", "policy": '{"Statement":[{"Effect":"Allow","Action":"sqs:ReceiveMessage","Resource":"*"}]}'}]}),
    ("aws:apigateway/method:Method", lambda i: {"httpMethod": "POST", "authorization": "NONE", "apiKeyRequired": i % 9 != 0}),
    ("aws:sns/topic:Topic", lambda i: {"name": f"s{i}", "tags": TAGS if i % 5 else {}}),
    ("azure-native:servicebus:Queue", lambda i: {"deadLetteringOnMessageExpiration": True, "maxDeliveryCount": 5}),
    ("azure-native:web:WebApp", lambda i: {"kind": "functionapp,linux", "httpsOnly": True, "tags": TAGS,
                                           "siteConfig": {"minTlsVersion": "1.2"}, "identity": {"type": "SystemAssigned"}}),
    ("gcp:cloudtasks/queue:Queue", lambda i: {"name": f"ct{i}", "retryConfig": {"maxAttempts": 5}}),
    ("gcp:cloudrunv2/service:Service", lambda i: {"name": f"run{i}", "labels": TAGS, "template": {"containers": [{"image": "x"}]}}),
    ("aws:kms/key:Key", lambda i: {"enableKeyRotation": True, "tags": TAGS}),
]  # fmt: skip


def synthetic_plan(n: int):
    from pulumi.runtime.proto import resource_pb2

    from skyrelay.plan.model import Plan, PlannedResource

    resources = []
    for i in range(n):
        type_token, make = KINDS[i % len(KINDS)]
        name, inputs = f"r{i}", make(i)
        request = resource_pb2.RegisterResourceRequest(type=type_token, name=name, custom=True)
        request.object.update(inputs)
        urn = f"urn:pulumi:bench::bench::{type_token}::{name}"
        resources.append(PlannedResource(urn, type_token, name, None, inputs, True, request=request))
    return Plan(stack="bench", project="bench", resources=resources)


def timed(fn, repeat: int = 1):
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--resources", type=int, default=10_000)
    args = parser.parse_args()

    from skyrelay.plan import render_stack
    from skyrelay.plan.policy import Evaluator

    plan = synthetic_plan(args.resources)
    direct, analyzer = Evaluator(), Evaluator(engine="analyzer")
    rows = []
    t_direct, found = timed(lambda: direct.evaluate(plan), repeat=3)
    rows.append((f"evaluate {args.resources:,} synthetic resources (public API, skyrelay plan)", t_direct, len(found)))
    t_replay, replayed = timed(lambda: analyzer.evaluate(plan))
    rows.append((f"evaluate {args.resources:,} synthetic resources (analyzer servicer replay)", t_replay, len(replayed)))

    for path in sorted((ROOT / "stacks").glob("Pulumi.*.yaml")):
        stack = path.name.removeprefix("Pulumi.").removesuffix(".yaml")
        t_cold, (stack_plan, _) = timed(lambda s=stack: render_stack(s, ROOT))
        t_render, (stack_plan, _) = timed(lambda s=stack: render_stack(s, ROOT), repeat=3)
        t_eval, violations = timed(lambda p=stack_plan: direct.evaluate(p), repeat=5)
        t_eval_replay, _ = timed(lambda p=stack_plan: analyzer.evaluate(p), repeat=3)
        n = len(stack_plan.resources)
        rows.append((f"{stack}: first render ({n} resources, includes SDK imports)", t_cold, None))
        rows.append((f"{stack}: render (warm)", t_render, None))
        rows.append((f"{stack}: evaluate (public API / analyzer replay {t_eval_replay * 1000:.1f} ms)", t_eval, len(violations)))
        rows.append((f"{stack}: render + evaluate (warm)", t_render + t_eval, None))

    width = max(len(r[0]) for r in rows)
    print(f"{'step':<{width}}  {'time':>10}  violations")
    print("-" * (width + 24))
    for label, seconds, count in rows:
        shown = f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"
        print(f"{label:<{width}}  {shown:>10}  {'' if count is None else count}")
    verdict = "meets" if t_direct <= 1.0 else "MISSES"
    print(f"\n{args.resources:,} resources in {t_direct:.3f} s: {verdict} the 1 s target")


if __name__ == "__main__":
    main()
