"""Beyond the eight points, the seed's cold-start section: warm pools, model keep-alive and
Enterprise dedicated capacity, with what they cost.

On AWS every function needs a published version and the `live` alias, and its callers (event
source mappings, EventBridge targets, API Gateway integrations) must invoke the alias, or a warm
pool on it would sit idle beside cold $LATEST invocations: a caller on $LATEST fails the row.
Provisioned concurrency and its autoscaling target are shown with their monthly cost, the keep-alive
schedule with its deployments and cost. An Enterprise tenant without a dedicated deployment warns.
"""

import json

from skyrelay import deployment as contract
from skyrelay.check.model import Row, judged
from skyrelay.check.subject import Subject

TITLE = "Warm pools, model keep-alive and dedicated capacity"
ALIAS = "aws:lambda/alias:Alias"
PROVISIONED = "aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig"
SCALING_TARGET = "aws:appautoscaling/target:Target"
# The fix and the dedicated capacity are each cloud's own: an AWS fix on an Azure stack points nowhere.
FIX = {"aws": "invoke every function through its `live` alias (AsyncJobs / JobsApi do); set skyrelay:aws.dedicatedCapacity "
              "for Enterprise tenants",
       "azure": "set alwaysReady instances (AsyncJobs `always_ready`) for the triggers that must answer fast; give "
                "Enterprise tenants a provisioned (PTU) Azure OpenAI deployment in the router config (`provisioned: true`, "
                "pinned by the tenant's `dedicated`)",
       "gcp": "set min instances (AsyncJobs `worker_min_instances`, JobsApi `api_min_instances`) where cold starts "
              "matter; give Enterprise tenants a Vertex AI Provisioned Throughput deployment in the router config "
              "(`provisioned: true`, pinned by the tenant's `dedicated`)"}
DEDICATED = {"aws": "Bedrock Provisioned Throughput", "azure": "Azure OpenAI provisioned throughput, PTU",
             "gcp": "Vertex AI Provisioned Throughput"}
# us-east-1 on-demand prices (USD): provisioned concurrency per GB-second, duration per GB-second, requests.
PROVISIONED_GB_S, DURATION_GB_S, PER_REQUEST = 0.0000041667, 0.0000166667, 0.0000002
SECONDS_PER_MONTH = 30 * 24 * 3600
PING_INPUT_TOKENS, PING_SECONDS = 10, 1.0  # a one-word prompt with its template; a warm model answers in ~1 s


def check(subject: Subject) -> Row:
    if subject.cloud in ("azure", "gcp"):
        return _serverless(subject)
    if subject.cloud != "aws":
        return judged(9, TITLE, [f"no warm-pool rule for {subject.cloud}"], [],
                      "map its warm-pool knob in skyrelay/check/p9_warm_pools.py")
    problems, warnings, evidence = [], [], []
    aliases = {a.inputs.get("functionName"): a for a in subject.of_type(ALIAS)}
    memory = {}
    for fn in subject.functions():
        name = fn.inputs.get("name")
        memory[name] = fn.inputs.get("memorySize", 128)
        alias = aliases.get(name)
        if alias is None or not fn.inputs.get("publish"):
            problems.append(f"function {name}: no published version and alias: a warm pool cannot apply")
            continue
        callers = _callers(subject, f"function:{name}")
        bare = [c for c, target in callers if not _on_alias(target, name, alias.inputs["name"])]
        if bare:
            problems.append(f"function {name}: {', '.join(bare)} invoke $LATEST, not the {alias.inputs['name']} alias")
        pool = next((p for p in subject.of_type(PROVISIONED) if p.inputs.get("functionName") == name), None)
        if pool is None:
            evidence.append(f"function {name}: alias {alias.inputs['name']} ({len(callers)} callers on it), on demand "
                            "(no provisioned concurrency: cold starts possible)")
            continue
        n = pool.inputs["provisionedConcurrentExecutions"]
        cost = n * memory[name] / 1024 * SECONDS_PER_MONTH * PROVISIONED_GB_S
        target = next((t for t in subject.of_type(SCALING_TARGET) if name in str(t.inputs.get("resourceId"))), None)
        scaling = (f", autoscaling {target.inputs['minCapacity']}-{target.inputs['maxCapacity']} on utilization"
                   if target else "")
        evidence.append(f"function {name}: alias {alias.inputs['name']} with {n} provisioned{scaling} "
                        f"(~{cost:,.2f} USD/month at the floor); {len(callers)} callers on the alias")
    _keep_alive(subject, memory, evidence)
    _dedicated(subject, warnings, evidence)
    return judged(9, TITLE, problems, evidence, FIX["aws"], warnings)


def _callers(subject: Subject, needle: str) -> list[tuple[str, str]]:
    out = []
    for r in subject.of_type("aws:lambda/eventSourceMapping:EventSourceMapping"):
        out.append((r.name, str(r.inputs.get("functionName"))))
    for r in subject.of_type("aws:cloudwatch/eventTarget:EventTarget"):
        out.append((r.name, str(r.inputs.get("arn"))))
    for r in subject.of_type("aws:apigateway/integration:Integration"):
        out.append((r.name, str(r.inputs.get("uri"))))
    return [(n, t) for n, t in out if needle + ":" in t or t.endswith(needle) or needle + "/" in t]


def _on_alias(target: str, name: str, alias: str) -> bool:
    return f"function:{name}:{alias}" in target


def _keep_alive(subject: Subject, memory: dict, evidence: list[str]) -> None:
    cfg = subject.router
    for t in subject.of_type("aws:cloudwatch/eventTarget:EventTarget"):
        try:
            event = json.loads(t.inputs.get("input") or "null")
        except ValueError:
            continue
        if not contract.is_keepalive(event):
            continue
        fn = str(t.inputs.get("arn", "")).split("function:", 1)[-1].split(":", 1)[0]
        lambda_cost = contract.KEEPALIVE_PINGS_PER_MONTH * (PER_REQUEST + memory.get(fn, 128) / 1024 * PING_SECONDS
                                                            * DURATION_GB_S)
        parts = []
        for name in event.get("deployments", []):
            dep = next((d for d in cfg.deployments if d.name == name), None) if cfg else None
            model_cost = (contract.KEEPALIVE_PINGS_PER_MONTH * (PING_INPUT_TOKENS * dep.price.input + dep.price.output)
                          / 1000) if dep else 0.0
            parts.append(f"{name} ~{model_cost:,.2f} USD/month")
        evidence.append(f"keep-alive {t.name}: every 5 minutes ({contract.KEEPALIVE_PINGS_PER_MONTH:,} pings/month "
                        f"each): {', '.join(parts)}, plus ~{lambda_cost:,.2f} "
                        "USD/month of worker invocations")
        return
    evidence.append("keep-alive: off (skyrelay:aws.keepAlive lists the deployments with a model-load cold start)")


def _dedicated(subject: Subject, warnings: list[str], evidence: list[str]) -> None:
    cfg = subject.router
    if cfg is None:
        return
    provisioned = {d.name for d in cfg.deployments if d.provisioned}
    for t in cfg.tenants:
        if t.tier != "enterprise":
            continue
        pinned = [d for d in t.dedicated if d in provisioned]
        if pinned:
            evidence.append(f"enterprise tenant {t.name}: dedicated capacity {', '.join(pinned)}")
        else:
            warnings.append(f"enterprise tenant {t.name}: no dedicated deployment ({DEDICATED[subject.cloud]}): "
                            "it shares on-demand capacity with every tier")


# Azure and GCP: the warm pool is the platform's own knob, read from the rendered resources (Flex
# `alwaysReady` per trigger group; Cloud Run `minInstanceCount` per service); there is no version or
# alias to route through, so nothing can bypass it. Keep-alive schedules are built on AWS only.
POOL_KNOBS = {"azure": "AsyncJobs `always_ready` (functions_always_ready)",
              "gcp": "AsyncJobs `worker_min_instances`, JobsApi `api_min_instances`"}


def _serverless(subject: Subject) -> Row:
    problems, warnings, evidence = [], [], []
    found = 0
    for r, _ in subject.runtimes():
        if r.type == "azure-native:web:WebApp":
            scale = ((r.inputs.get("functionAppConfig") or {}).get("scaleAndConcurrency")) or {}
            ready = {a.get("name"): a.get("instanceCount", 0) for a in scale.get("alwaysReady") or []}
            found += 1
            if any(ready.values()):
                evidence.append(f"Function App {r.name}: alwaysReady {', '.join(f'{k} {v}' for k, v in ready.items())} "
                                f"of at most {scale.get('maximumInstanceCount')} instances ({scale.get('instanceMemoryMB')} MB)")
            else:
                evidence.append(f"Function App {r.name}: no alwaysReady instances (scale to zero: cold starts possible)")
        elif r.type == "gcp:cloudrunv2/service:Service":
            scaling = ((r.inputs.get("template") or {}).get("scaling")) or r.inputs.get("scaling") or {}
            found += 1
            floor = scaling.get("minInstanceCount", 0)
            evidence.append(f"Cloud Run {r.name}: min instances {floor} of at most {scaling.get('maxInstanceCount')}"
                            + ("" if floor else " (scale to zero: cold starts possible)"))
    if not found:
        problems.append("no Function App or Cloud Run service runs the runtime")
    evidence.append(f"warm-pool knob: {POOL_KNOBS[subject.cloud]}")
    evidence.append(f"keep-alive: not built on {subject.cloud} (skyrelay:aws.keepAlive on AWS)")
    _dedicated(subject, warnings, evidence)
    return judged(9, TITLE, problems, evidence, FIX[subject.cloud], warnings)
